"""A plan by year: each financial year solved in turn, its added PAs from its 1 April, judged on that year alone."""

from __future__ import annotations

import pytest

from sendmodel.analysis.periods import period_windows
from sendmodel.studies.business_case.by_year import plan_by_year, requests_in
from sendmodel.studies.business_case.case import business_case
from sendmodel.studies.capacity.solver import Runs, Target, pas_in_effect, solve_capacity, with_pas

# LA casework first meets every request, so its decisions feel growth at once (the DMO/DCO, at the end of the
# pathway, sees it only as far as the health services upstream let it through)
DECIDE = Target("decisions_within_6w_pct", ">=", 80)


def _two_years(baseline, growth: float):
    """The baseline measured over two financial years from 1 April 2024 (a year of warm-up before)."""
    return baseline.override({"simulation.start_date": "2023-04-01", "simulation.warm_up_days": 366,
                              "simulation.horizon_days": 730, "ehc.growth_per_year": growth})


def test_a_dated_lever_changes_the_pas_from_its_day_only(baseline):
    sc = _two_years(baseline, 0.0)
    day = period_windows(sc)[1][1]
    later = with_pas(sc, ("dmo",), 3.0, from_day=day)
    assert pas_in_effect(later, "dmo", day - 1) == pytest.approx(pas_in_effect(sc, "dmo", day - 1))
    assert pas_in_effect(later, "dmo", day) == pytest.approx(3.0)
    assert later.services["dmo"].pas_per_week == sc.services["dmo"].pas_per_week  # today's level untouched
    assert with_pas(later, ("dmo",), 3.0, from_day=day) is later  # already there: no change
    # a change recruited with a lead time and a vacancy rate counts as the engine applies it
    lead = sc.override({"services.dmo.capacity_changes": [
        {"start": "2024-04-01", "pas_per_week_delta": 1.0, "recruitment_lead_weeks": 10, "vacancy_rate": 0.2}]})
    d0 = period_windows(sc)[0][1]  # 1 April 2024
    base = pas_in_effect(sc, "dmo", d0)
    assert pas_in_effect(lead, "dmo", d0 + 69) == pytest.approx(base)
    assert pas_in_effect(lead, "dmo", d0 + 70) == pytest.approx(base + 0.8 * lead.scale)


def test_growing_demand_needs_more_pas_in_the_later_year_and_level_demand_does_not(baseline):
    with Runs(1) as runs:
        grow = _two_years(baseline, 0.3)
        table, plan = plan_by_year(grow, [("la_casework", DECIDE)], replications=4, seed=5, runs=runs)
        level, _ = plan_by_year(_two_years(baseline, 0.0), [("la_casework", DECIDE)], replications=4, seed=5, runs=runs)
    y1, y2 = table.iloc[0], table.iloc[1]
    assert list(table["financial_year"]) == ["2024/25", "2025/26"]
    assert y2["ehc_requests"] == pytest.approx(1.3 * y1["ehc_requests"], rel=0.05)
    assert y1["reachable"] and y2["reachable"], list(table["note"])
    assert y2["pas_per_week_at_start"] == pytest.approx(y1["pas_per_week_needed"])  # year 1's plan carried on
    assert y2["pas_per_week_needed"] > y1["pas_per_week_needed"], table
    assert y2["extra_pas_per_week_this_year"] > 0
    # the plan: year 2's PAs added from 1 April 2025, not before
    a2 = period_windows(grow)[1][1]
    assert pas_in_effect(plan, "la_casework", a2 - 1) == pytest.approx(y1["pas_per_week_needed"])
    assert pas_in_effect(plan, "la_casework", a2) == pytest.approx(y2["pas_per_week_needed"])
    # with level demand, the second year keeps the first year's PAs
    assert level.iloc[1]["extra_pas_per_week_this_year"] == 0, level
    assert level.iloc[1]["note"] == "met with the PAs in post at the year's start"


def test_a_year_is_judged_on_its_own_figures(baseline):
    """Year 2 of a growing run misses at year 1's answer what year 1 met: the window, not the whole run."""
    sc = _two_years(baseline, 0.3)
    (_, a1, b1), (_, a2, b2) = period_windows(sc)
    with Runs(1) as runs:
        r1 = solve_capacity(sc, "la_casework", DECIDE, replications=4, seed=5, runs=runs, window=(a1, b1), from_day=a1)
        at = with_pas(sc, ("la_casework",), r1.pas_per_week, from_day=a1)
        k1 = runs.kpis(at, 4, 5, (a1, b1))
        k2 = runs.kpis(at, 4, 5, (a2, b2))
    m = lambda k: k[(k["kpi"] == DECIDE.kpi) & (k["service"] == "all")]["value"].mean()  # noqa: E731
    assert m(k2) < m(k1) - 5, "the later, busier year must decide fewer in time at the same PAs"
    assert requests_in(sc, a2, b2) > requests_in(sc, a1, b1)


def test_the_business_case_by_year_prices_the_year_plan_and_refuses_a_single_year(baseline):
    sc = _two_years(baseline, 0.3)
    bc = business_case(sc, targets=[("la_casework", DECIDE)], replications=3, seed=5, workers=1, by_year=True)
    assert "PAs by year" in bc.tables()
    added = bc.by_year["extra_pas_per_week_this_year"]
    years = bc.cost_by_year.set_index("financial_year")
    if added.iloc[1] > 0:  # year 2's added PAs cost money in year 2 and not in year 1
        assert years.loc["2025/26", "extra_gbp"] > years.loc["2024/25", "extra_gbp"]
    with pytest.raises(ValueError, match="more than one financial year"):
        business_case(baseline.override({"simulation.horizon_days": 200, "simulation.warm_up_days": 60}),
                      targets=[("la_casework", DECIDE)], replications=2, seed=5, workers=1, by_year=True)
