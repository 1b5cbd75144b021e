"""The capacity solver: theory's answer on M/M/c, monotone in target and demand, unreachable targets said so."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sendmodel.studies.capacity.solver import (
    Runs,
    Target,
    replication_looks,
    sequential_verdict,
    solve_capacity,
    with_pas,
    working_days_between,
)

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
    assert res.runs == res.evaluations["reps"].sum() <= res.levels * REPS, "runs: the replications the levels used"
    assert res.simulated == res.runs, "a search on its own simulates every replication it uses"
    assert res.offered_load_pas == pytest.approx(LAM * 42), "offered load: 3.5 clinicians' worth of work"
    assert res.levels <= 4, f"a bracket from the offered load should need at most 4 levels, used {res.levels}"
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
    kw = dict(replications=8, seed=11)  # 4 leave a CI on the median sign-off wider than the gap to 5 days
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


def test_shared_runs_are_not_simulated_again():
    sc = mmc_scenario(LAM, 1 / MU, clinicians=4, target_days=T_DAYS)
    with Runs(workers=1) as runs:
        first = _solve(sc, 90, runs=runs)
        n = runs.simulated
        assert n == first.simulated == first.runs, "a first search simulates what it uses"
        again = _solve(sc, 90, runs=runs)
        assert again.simulated == 0 and runs.simulated == n, "the same search again simulates nothing"
        assert again.pas_per_week == first.pas_per_week
        other = _solve(sc, 97, runs=runs)
    both = first.evaluations.merge(other.evaluations, on="pas_per_week")
    assert not both.empty, "the second target should reuse levels the first ran"
    assert other.simulated < other.runs, "levels shared with the first target are not simulated again"
    same_n = both[both["reps_x"] == both["reps_y"]]
    assert (same_n["mean_x"] == same_n["mean_y"]).all(), "a shared level must give the same KPI"


def test_sequential_verdicts_miss_clear_levels_early_and_meet_only_on_every_replication():
    t = Target("advice_within_6w_pct", ">=", 80)
    assert sequential_verdict(t, 95, 92, 98, 3, 10) is None, "met only on every replication (rare collapses)"
    assert sequential_verdict(t, 95, 92, 98, 10, 10) is True
    assert sequential_verdict(t, 40, 30, 50, 3, 10) is False, "CI wholly below: clearly missed"
    assert sequential_verdict(t, 81, 76, 86, 4, 10) is None, "CI across the target: run more"
    assert sequential_verdict(t, 95, 92, 98, 2, 10) is None, "never on two replications"
    assert sequential_verdict(t, 81, 76, 86, 10, 10) is False, "all replications: the target's own rule"
    assert sequential_verdict(t, 95, 92, 98, 3, 10, provisional=True) is True, "a bound may be met early"
    assert sequential_verdict(t, 81, 76, 86, 4, 10, provisional=True) is None, "not when the CI crosses the target"
    assert sequential_verdict(t, 95, 92, 98, 2, 10, provisional=True) is None, "nor on two replications"
    w = Target("dmo_signoff_median_working_days", "<=", 10)
    assert sequential_verdict(w, 5, 4, 6, 3, 10) is None and sequential_verdict(w, 15, 12, 18, 3, 10) is False
    assert sequential_verdict(w, 5, 4, 6, 3, 10, provisional=True) is True
    assert replication_looks(10, 2) == [4, 6, 8, 10] and replication_looks(10, 1) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert replication_looks(10, 16) == [10] and replication_looks(2, 1) == [2]


def test_a_target_the_kpi_levels_off_below_is_found_unreachable_without_running_to_the_cap():
    sc = mmc_scenario(LAM, 1 / MU, clinicians=4, target_days=T_DAYS)
    res = solve_capacity(sc, "clinic", "routine_seen_within_target_pct@clinic>=100.5", replications=4, seed=SEED,
                         cap=100 * 42)
    assert not res.reachable and res.levelled_off, res.note
    assert "levels off" in res.note, res.note
    assert res.evaluations["pas_per_week"].max() < 20 * 42, "it should stop long before the cap of 100 clinicians"


class _FakeRuns(Runs):
    """Replications whose KPI is ``kpi(pas, rep)``: the search's logic without simulating anything."""

    def __init__(self, kpi):
        super().__init__(workers=1)
        self.kpi = kpi

    def kpis(self, scenario, replications, seed, window=None):
        import pandas as pd

        h, pas = self._key(scenario, window), scenario.service_pas_per_week("clinic")
        for r in range(replications):
            if (h, seed, r) not in self.frames:
                self.frames[(h, seed, r)] = pd.DataFrame({
                    "scenario": "fake", "replication": r, "kpi": ["routine_seen_within_target_pct", "utilisation"],
                    "service": "clinic", "value": [self.kpi(pas, r), 0.5]})
                self.simulated += 1
        return pd.concat([self.frames[(h, seed, r)] for r in range(replications)], ignore_index=True)


def _fake_solve(kpi, **kw):
    sc = mmc_scenario(LAM, 1 / MU, clinicians=4, target_days=T_DAYS)
    runs = _FakeRuns(lambda pas, r: kpi(pas / 42, r))  # one clinician = 42 PAs on this calendar
    return solve_capacity(sc, "clinic", "routine_seen_within_target_pct@clinic>=80", replications=10, seed=SEED,
                          runs=runs, **kw), runs


def _noise(r):
    return 0.5 if r % 2 else -0.5


def test_levels_met_early_bound_the_search_and_the_answer_is_met_on_every_replication():
    res, runs = _fake_solve(lambda c, r: 10.0 * c + _noise(r), start=12 * 42)
    ev = res.evaluations.set_index("pas_per_week")
    assert res.pas_per_week == 9 * 42, "the first level whose CI lower bound reaches 80: 9 clinicians"
    assert ev.loc[9 * 42, "reps"] == 10 and not ev.loc[9 * 42, "early"], "an answer is never decided early"
    assert ev["early"][ev["met"]].any(), "a level far above the target is met on fewer replications"
    assert runs.simulated < 10 * len(ev), "so the search runs fewer replications than every level in full"


def test_an_answer_met_early_that_misses_in_full_sends_the_search_above_it():
    def collapses(c, r):  # below 10 clinicians the last two replications collapse: the first eight hide it
        return 10.0 * c + _noise(r) - (60.0 if c < 10 and r >= 8 else 0.0)

    seen = []
    res, _ = _fake_solve(collapses, start=12 * 42, first_step=2 * 42,
                         progress=lambda pas, mean, judged, met, reps: seen.append((pas, met, reps)))
    ev = res.evaluations.set_index("pas_per_week")
    assert [(m, n < 10) for p, m, n in seen if p == 9 * 42] == [(True, True), (False, False)], seen
    assert res.pas_per_week == 10 * 42, res.evaluations
    assert not ev["met"][ev.index < 10 * 42].any(), "every level below 10 clinicians misses on all replications"
    assert ev.loc[9 * 42, "reps"] == 10, "9 clinicians looked met early, then missed in full"
    assert ev.loc[10 * 42, "reps"] == 10
