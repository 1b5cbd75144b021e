"""Children who leave the routine list unseen (``routine_removal_per_week``): Erlang-A theory, Little's law with
departures from the queue, seeded and common-random-number behaviour, and the KPIs that count them.

With exponential patience the routine-only model is M/M/c+M (Erlang A): the number in the system is a
birth-death chain with birth rate lambda and death rate min(n, c) mu + max(n - c, 0) theta, which we solve
numerically on a truncated state space. Unlike M/M/c it is stable when lambda > c mu: the list settles where
the children leaving balance the excess demand, which is why published waiting lists grow slowly rather than
explode.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sendmodel.analysis.kpis import time_average
from sendmodel.scenario.loading import validate_mapping
from tests.functional.builders import kpi, mmc_scenario, records


def erlang_a(c: int, lam: float, mu: float, theta: float, n_max: int = 3000) -> dict:
    """Stationary M/M/c+M: mean number waiting, share who abandon, mean wait (served and abandoned)."""
    n = np.arange(n_max + 1)
    death = np.minimum(n, c) * mu + np.maximum(n - c, 0) * theta
    logp = np.zeros(n_max + 1)
    logp[1:] = np.cumsum(np.log(lam) - np.log(death[1:]))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    assert p[-1] < 1e-12, "truncation too short"
    lq = float((np.maximum(n - c, 0) * p).sum())
    return {"lq": lq, "p_abandon": theta * lq / lam, "wq": lq / lam}


def removal_scenario(c, lam, hours, theta_week, warm, horizon):
    sc = mmc_scenario(c, lam, hours, warm, horizon)
    return sc.override({"services.clinic.routine_removal_per_week": theta_week}, name="mmc+m")


def _waits(rec, warm, end):
    """(enqueued, left the queue, removed?) for referrals arriving in [warm, end - 60): all have left by the end."""
    t = rec["services"]["clinic"]
    enq, st, gone = t["task_enqueued"], t["task_started"], t["task_left_day"]
    out = np.where(np.isnan(st), gone, st)
    win = (enq >= warm) & (enq < end - 60)
    assert not np.isnan(out[win]).any(), "every referral two months before the end was seen or left"
    return enq[win], out[win], ~np.isnan(gone[win])


CASES = [
    (1, 1.5, 12.0, 0.7),  # rho 0.75, patience 10 days on average
    (3, 7.2, 12.0, 0.35),  # rho 1.2: unstable without removals, settles with them
]


@pytest.mark.parametrize("c, lam, hours, theta_week", CASES, ids=["M/M/1+M rho 0.75", "M/M/3+M rho 1.2"])
def test_erlang_a_queue_abandonment_and_wait(c, lam, hours, theta_week):
    warm, horizon, reps = 200.0, 4000.0, 8
    sc = removal_scenario(c, lam, hours, theta_week, warm, horizon)
    th = erlang_a(c, lam, 24.0 / hours, theta_week / 7.0)
    lq, pa, wq = [], [], []
    for r in range(reps):
        rec = records(sc, seed=11, rep=r)
        end = warm + horizon
        enq, out, removed = _waits(rec, warm, end)
        t = rec["services"]["clinic"]
        lq.append(time_average(t["queue_t"], t["queue_n"], warm, end))
        pa.append(removed.mean())
        wq.append((out - enq).mean())
    for name, xs, ref in (("mean waiting", lq, th["lq"]), ("share leaving", pa, th["p_abandon"]),
                          ("mean wait, days", wq, th["wq"])):
        xs = np.asarray(xs)
        half = stats.t.ppf(0.975, reps - 1) * xs.std(ddof=1) / np.sqrt(reps)
        # the CI, widened by 2% of the value for the start-up bias left after the warm-up
        assert abs(xs.mean() - ref) <= half + 0.02 * ref, (
            f"{name}: {xs.mean():.4f} +/- {half:.4f} against Erlang A {ref:.4f}")
        assert half < 0.1 * ref, f"{name}: CI half-width {half:.4f} too wide to be a real check"


def test_littles_law_holds_with_children_leaving_the_queue():
    warm, horizon = 100.0, 800.0
    sc = removal_scenario(3, 7.2, 12.0, 0.35, warm, horizon)
    rec = records(sc, seed=3, rep=0)
    end = warm + horizon
    t = rec["services"]["clinic"]
    enq, st, gone = t["task_enqueued"], t["task_started"], t["task_left_day"]
    out = np.where(np.isnan(st), np.where(np.isnan(gone), end, gone), st)
    w = np.clip(out, warm, end) - np.clip(enq, warm, end)
    L = time_average(t["queue_t"], t["queue_n"], warm, end)
    assert L == pytest.approx(w.sum() / (end - warm), rel=1e-9), "the queue log counts each child until it left"
    assert np.all(np.diff(t["queue_t"]) >= 0), "the queue log is in time order"
    assert np.all(np.abs(np.diff(t["queue_n"])) == 1), "each entry changes the count by one"
    assert t["queue_n"].min() >= 0


def test_removed_children_never_started_and_left_after_their_referral():
    sc = removal_scenario(1, 1.5, 12.0, 0.7, 0.0, 400.0)
    rec = records(sc, seed=5, rep=0)
    t = rec["services"]["clinic"]
    gone = ~np.isnan(t["task_left_day"])
    assert gone.sum() > 20
    assert np.isnan(t["task_started"][gone]).all()
    assert (t["task_left_day"][gone] >= t["task_enqueued"][gone]).all()
    assert (t["task_left_day"][gone] < rec["end_day"]).all()
    r = rec["routine"]["clinic"]
    assert np.array_equal(~np.isnan(r["removed_day"]), gone), "the referral record says who left, the same"
    assert np.isnan(r["seen_day"][~np.isnan(r["removed_day"])]).all()


def test_removal_kpis_count_the_children_who_left():
    warm, horizon = 0.0, 365.0
    sc = removal_scenario(1, 1.5, 12.0, 0.7, warm, horizon)
    rec = records(sc, seed=5, rep=0)
    r = rec["routine"]["clinic"]
    left = int((~np.isnan(r["removed_day"])).sum())
    assert kpi(rec, sc, "routine_removed_per_year", "clinic") == pytest.approx(left * 365.25 / horizon)
    assert 0 < kpi(rec, sc, "routine_removed_pct", "clinic") < 100


def test_same_seed_same_results_and_other_streams_untouched():
    sc = removal_scenario(3, 7.2, 12.0, 0.35, 50.0, 300.0)
    a, b = records(sc, seed=9, rep=2), records(sc, seed=9, rep=2)
    for k in ("task_enqueued", "task_started", "task_left_day", "queue_t", "queue_n"):
        assert np.array_equal(a["services"]["clinic"][k], b["services"]["clinic"][k], equal_nan=True), k
    # common random numbers: the referrals and their appointment hours do not depend on the removal rate
    base = records(sc.override({"services.clinic.routine_removal_per_week": 0.0}), seed=9, rep=2)
    assert np.array_equal(np.sort(a["services"]["clinic"]["task_enqueued"]),
                          np.sort(base["services"]["clinic"]["task_enqueued"]))
    assert "task_left_day" not in base["services"]["clinic"], "no removals: the records are as before"


def test_removal_rate_is_validated():
    from sendmodel.scenario.errors import ScenarioError

    sc = mmc_scenario(1, 1.5, 12.0, 0.0, 100.0)
    data = sc.model_dump(mode="json")
    data["services"]["clinic"]["routine_removal_per_week"] = 1.5
    with pytest.raises(ScenarioError, match="routine_removal_per_week"):
        validate_mapping(data, "bad")


def test_the_capacity_check_says_a_list_is_held_by_children_leaving():
    from sendmodel.analysis.overload import check_records

    sc = removal_scenario(3, 7.2, 12.0, 0.35, 200.0, 400.0)  # demand 20% above capacity, settled by leaving
    chk = check_records([records(sc, seed=4, rep=r) for r in range(3)], sc)
    u = chk.unit("clinic")
    assert u.status == "at capacity" and u.left_unseen > 0, u
    assert any("only because about" in n and "leave it unseen" in n for n in chk.notes())
    lines = chk.at_capacity()
    assert lines == ["At capacity, lists held steady only by children leaving them unseen (demand the PAs do not "
                     "meet): Clinic."], lines
    assert lines[0] in chk.brief()
