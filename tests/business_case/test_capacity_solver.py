"""The capacity solver: theory's answer on M/M/c, monotone in target and demand, unreachable targets said so."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sendmodel.studies.capacity.solver import Target, solve_capacity, with_pas, working_days_between

from .builders import fewest_servers, mmc_scenario, p_wait_within

LAM, MU, T_DAYS = 3.5, 1.0, 0.5  # 3.5 referrals a day, 1-day mean appointment, target: seen within half a day
REPS, SEED = 5, 3


def _solve(sc, pct, **kw):
    return solve_capacity(sc, "clinic", f"routine_seen_within_target_pct@clinic>={pct}", replications=REPS,
                          seed=SEED, **kw)


@pytest.mark.parametrize("pct", [75, 90, 97])
def test_mmc_fewest_clinicians_match_erlang_c(pct):
    sc = mmc_scenario(LAM, 1 / MU, clinicians=4, target_days=T_DAYS)
    want = fewest_servers(LAM, MU, T_DAYS, pct)
    res = _solve(sc, pct)
    assert res.reachable, f"expected {want} clinicians for {pct}%, got unreachable ({res.note})"
    got = res.pas_per_week / 42
    assert got == want, (
        f"Erlang C: fewest clinicians with P(wait <= {T_DAYS} day) >= {pct}% is {want}; solver said {got:g}\n"
        f"{res.evaluations}"
    )
    for _, r in res.evaluations.iterrows():
        c = int(round(r["pas_per_week"] / 42))
        theory = 100 * p_wait_within(c, LAM, MU, T_DAYS)
        if theory > 50:  # heavily loaded levels take long to settle; the answer's neighbours must be right
            assert abs(r["mean"] - theory) < 3.0, f"c={c}: theory {theory:.2f}%, simulated {r['mean']:.2f}%"
    assert res.runs == res.levels * REPS, f"runs should be levels x replications, got {res.runs} for {res.levels}"
    assert res.levels <= 5, f"bracket-and-bisect from 4 clinicians should need at most 5 levels, used {res.levels}"
    assert res.monotone


def test_mmc_answer_is_monotone_in_demand():
    answers = []
    for lam in (2.5, 3.5, 4.5, 5.5):
        res = _solve(mmc_scenario(lam, 1 / MU, clinicians=4, target_days=T_DAYS), 90)
        answers.append(res.pas_per_week / 42)
        assert answers[-1] == fewest_servers(lam, MU, T_DAYS, 90), f"lambda={lam}: {answers[-1]} clinicians"
    assert answers == sorted(answers), f"more demand must never need fewer clinicians: {answers}"


def test_unreachable_target_is_reported_not_a_number():
    sc = mmc_scenario(LAM, 1 / MU, clinicians=4, target_days=T_DAYS)
    res = _solve(sc, 97, cap=5 * 42)  # theory needs 7 clinicians
    assert not res.reachable and res.pas_per_week is None, f"expected unreachable, got {res.pas_per_week}"
    assert "not met at the search cap (210 PAs a week)" in res.note, res.note
    assert res.evaluations["pas_per_week"].max() == 210, "the cap itself must have been tried"
    assert res.summary()["pas_per_week_needed"] is None


def test_dmo_answer_monotone_in_target_and_demand(short_baseline):
    sc = short_baseline
    kw = dict(replications=4, seed=11)
    needed = [solve_capacity(sc, "dmo", f"dmo_signoff_median_working_days<={d}", **kw) for d in (10, 5, 2)]
    pas = [r.pas_per_week for r in needed]
    assert all(r.reachable for r in needed), [r.note for r in needed]
    assert pas == sorted(pas) and pas[-1] > pas[0], f"tighter sign-off targets must need more PAs: {pas}"
    more = sc.override({"ehc.requests_per_year_per_70k": 2 * sc.ehc.requests_per_year_per_70k})
    busier = solve_capacity(more, "dmo", "dmo_signoff_median_working_days<=5", **kw)
    assert busier.pas_per_week >= pas[1], f"twice the demand needed {busier.pas_per_week} PAs, less than {pas[1]}"
    for r in needed + [busier]:
        met = r.evaluations.set_index("pas_per_week")["met"]
        assert met[r.pas_per_week], "the answer must be a level that met the target"
        below = r.pas_per_week - r.step_pas
        assert below < r.floor_pas_per_week or (below in met.index and not met[below]), (
            f"the level one step below the answer ({below}) must have been run and missed the target"
        )


def test_target_parse_and_direction():
    t = Target.parse("advice_within_6w_pct@slt>=90")
    assert (t.kpi, t.service, t.sense, t.threshold) == ("advice_within_6w_pct", "slt", ">=", 90.0)
    assert t.met_by(95, 90.5, 99) and not t.met_by(95, 89.9, 99), "CI lower bound decides an 'at least' target"
    assert Target("advice_within_6w_pct", ">=", 90, confidence="mean").met_by(91, 80, 99)
    assert Target.parse("dmo_signoff_median_working_days<=10").met_by(8, 5, 10)
    with pytest.raises(ValueError, match="gets higher with more PAs"):
        Target("advice_within_6w_pct", "<=", 90)
    with pytest.raises(ValueError, match="not understood"):
        Target.parse("advice within 6 weeks > 90")


def test_with_pas_shares_and_population(baseline):
    big = baseline.override({"population": 250_000})
    sc = with_pas(big, ("slt", "ot"), 60.0)
    got = sc.service_pas_per_week("slt") + sc.service_pas_per_week("ot")
    assert got == pytest.approx(60.0), f"absolute PAs for the population should total 60, got {got}"
    ratio = sc.service_pas_per_week("slt") / sc.service_pas_per_week("ot")
    today = baseline.services["slt"].pas_per_week / baseline.services["ot"].pas_per_week
    assert ratio == pytest.approx(today), f"today's SLT:OT proportions ({today:.3f}) should be kept, got {ratio}"


def test_working_days_between_skips_weekends_and_bank_holidays(baseline):
    sc = baseline  # starts 2023-07-01
    day = lambda d: float((d - sc.simulation.start_date).days)  # noqa: E731
    fri, mon = day(dt.date(2024, 3, 22)), day(dt.date(2024, 3, 25))
    thu_easter, tue_easter = day(dt.date(2024, 3, 28)), day(dt.date(2024, 4, 2))  # Good Friday, Easter Monday
    got = working_days_between(sc, np.array([fri, thu_easter, fri + 0.3]), np.array([mon + 0.5, tue_easter, fri]))
    assert list(got) == [1.0, 1.0, 0.0], f"expected Fri->Mon 1, Thu->Tue over Easter 1, same day 0; got {got}"


def test_shared_cache_skips_runs_already_made():
    sc = mmc_scenario(LAM, 1 / MU, clinicians=4, target_days=T_DAYS)
    cache: dict = {}
    first = _solve(sc, 90, cache=cache)
    n = len(cache)
    assert n == first.levels, f"one cache entry per level run: {n} entries for {first.levels} levels"
    again = _solve(sc, 97, cache=cache)
    assert len(cache) == n + again.levels - len(set(again.evaluations["pas_per_week"]) &
                                                set(first.evaluations["pas_per_week"])), "shared levels reran"
    both = first.evaluations.merge(again.evaluations, on="pas_per_week")
    assert (both["mean_x"] == both["mean_y"]).all(), "a cached level must give the same KPI"
