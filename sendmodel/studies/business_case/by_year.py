"""A plan by year: with demand growing, the PAs each financial year needs, each year's added from its first day.

The business case's main answer judges a target over every year the run measures together, so on a run of
several years with growing demand a target met on average can be missed in the last year. Here the years are
solved in turn on the same run: the first year's PAs from its start, then each later year's added as a dated
change from its 1 April, each year judged on its own KPIs, with the years before it already planned (so a
backlog left by one year is the next year's to clear). The plan only adds: no year cuts the PAs an earlier one
put in post, because those PAs also carry routine work and a recruitment cannot be undone in a month.
"""

from __future__ import annotations

import pandas as pd

from sendmodel.analysis.periods import multi_year, period_windows
from sendmodel.engine.demand import age_shares, daily_rate_profile
from sendmodel.scenario.config import Scenario
from sendmodel.studies.capacity.solver import Runs, SolveResult, Target, pas_in_effect, solve_capacity, with_pas

COLUMNS = ["financial_year", "days", "ehc_requests", "lever", "lever_label", "target", "reachable",
           "pas_per_week_at_start", "pas_per_week_needed", "extra_pas_per_week_this_year",
           "extra_pas_per_week_since_start", "levels_run", "runs", "note"]


def requests_in(sc: Scenario, a: float, b: float) -> float:
    """Expected EHC needs-assessment requests in model days [a, b) (the monthly profile and the trend)."""
    if sc.ehc is None:
        return 0.0
    covered = age_shares(sc)[1]  # children only (ehc.ages.covers 0-17): the requests the engine draws
    days = daily_rate_profile(sc, int(b) + 1, sc.ehc.requests_per_year_per_70k * sc.scale * covered)
    return float(days[int(a):int(b)].sum())


def _apply(plan: Scenario, sols: list[SolveResult], day: float) -> Scenario:
    """The plan with each service at the largest of the year's answers that move it, from ``day``."""
    want: dict[str, float] = {}
    for r in sols:
        if r.reachable:
            for s, p in r.per_service_pas.items():
                want[s] = max(want.get(s, pas_in_effect(plan, s, day)), p)
    for s, p in want.items():
        if p > pas_in_effect(plan, s, day) + 1e-9:
            plan = with_pas(plan, (s,), p, from_day=day)
    return plan


def plan_by_year(sc: Scenario, pairs: list[tuple[str, Target]], *, replications: int, seed: int, runs: Runs,
                 step: float | None = None, label=lambda lever, services: lever, progress=None
                 ) -> tuple[pd.DataFrame, Scenario]:
    """Each financial year's PAs for every (lever, target) pair, solved year after year (see the module).

    Returns the table (one row per year and target, :data:`COLUMNS`) and the plan: ``sc`` with each year's
    added PAs as dated changes, which the cost by year then prices year by year.
    """
    windows = period_windows(sc, "financial")
    if not multi_year(sc) or len(windows) < 2:
        raise ValueError(
            f"a plan by year needs a run that measures more than one financial year (this one measures "
            f"{sc.simulation.horizon_days:g} days from {sc.simulation.start_date}); set simulation.horizon_days, "
            "as scenarios/from_today.yaml does (three years)")
    plan, rows = sc, []
    start_pas: dict[str, float] = {}
    for year, a, b in windows:
        sols = []
        for lever, t in pairs:
            if progress is not None:
                progress(f"{year}: {lever}: {t.describe()}")

            def _p(pas, mean, judged, met, reps, lever=lever, t=t, year=year):
                if progress is not None:
                    progress(f"  {year} {lever}: {pas:g} PAs a week -> {t.kpi} mean {mean:.2f}, judged "
                             f"{judged:.2f}: {'met' if met else 'not met'} ({reps} replications)")

            r = solve_capacity(plan, lever, t, replications=replications, seed=seed, step=step, runs=runs,
                               window=(a, b), from_day=a, progress=_p)
            sols.append(r)
            key = "+".join(r.services)
            start_pas.setdefault(key, r.funded_pas_per_week)
            floor = r.note.startswith("met at the search floor")
            if floor:  # the grid's floor lies just below what is in post: what is in post is what is kept
                r.pas_per_week = max(r.pas_per_week, r.funded_pas_per_week)
            rows.append({
                "financial_year": year, "days": b - a, "ehc_requests": requests_in(sc, a, b), "lever": lever,
                "lever_label": label(lever, r.services), "target": t.describe(), "reachable": r.reachable,
                "pas_per_week_at_start": r.funded_pas_per_week, "pas_per_week_needed": r.pas_per_week,
                "extra_pas_per_week_this_year": (None if r.pas_per_week is None
                                                 else max(0.0, r.pas_per_week - r.funded_pas_per_week)),
                "extra_pas_per_week_since_start": (None if r.pas_per_week is None
                                                   else max(0.0, r.pas_per_week - start_pas[key])),
                "levels_run": r.levels, "runs": r.runs,
                "note": "met with the PAs in post at the year's start" if floor else r.note,
            })
        plan = _apply(plan, sols, a)
    return pd.DataFrame(rows, columns=COLUMNS), plan
