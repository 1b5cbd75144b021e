"""A run's state on a day, as the inputs of a run that starts there: open cases with their clocks, waiting lists.

This is how a run "from today" is shown to be sound: restarting from a snapshot of a warmed-up run's own state
(its open EHC cases by stage, each with its request date, and its routine waiting lists by age) must give that
run's KPIs over the rest of its horizon (tests/unit/test_open_cases.py). It is also how a calibrated baseline's
steady state can become the starting caseload of a scenario that needs no warm-up.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sendmodel.analysis.kpis import routine_left_day
from sendmodel.scenario.config import REFERENCE_POPULATION, Scenario


def _at(x: np.ndarray, day: float) -> np.ndarray:
    """Done before ``day`` (a NaN or a later day: not yet)."""
    return ~np.isnan(x) & (x < day)


def open_cases_at(rec: dict, sc: Scenario, day: float) -> list[dict]:
    """The EHC cases open on ``day`` (model days) as ``ehc.open_case_list`` rows, dates on the scenario's
    calendar; the snapshot's start date is ``start_date + day``."""
    e, start = rec["ehc"], sc.simulation.start_date
    if "arrival_day" not in e:
        return []
    arr = e["arrival_day"]
    today = start + dt.timedelta(days=int(day))
    date = lambda d: (start + dt.timedelta(days=int(np.floor(d)))).isoformat()  # noqa: E731
    open_ = (arr < day) & ~_at(e["closed_day"], day)
    rows = []
    for i in np.flatnonzero(open_):
        row: dict = {"case_id": f"c{i}", "request_date": min(date(arr[i]), today.isoformat())}
        if not _at(e["decision_day"], day)[i]:
            row["stage"] = "awaiting_decision"
        elif not _at(e["advice_returned_day"], day)[i]:
            asked = e["advice_requested_day"][i]
            row.update(stage="awaiting_advice", stage_date=date(asked))
            row["advice_from"] = [s for s, a in rec["advice"].items() if a["requested_day"][i] == asked]
            row["advice_returned"] = [s for s in row["advice_from"] if _at(rec["advice"][s]["returned_day"], day)[i]]
        elif (e["exceptional"][i] and not np.isnan(e["dmo_requested_day"][i])
              and not _at(e["dmo_signoff_day"], day)[i]):
            row.update(stage="awaiting_dmo", stage_date=date(e["dmo_requested_day"][i]))
        elif not e["plan"][i]:
            # the advice is in and the LA will not issue (its decision waits for a panel: not_to_issue_lag_days);
            # open-case stages have none for that, so such a case is left out of the snapshot
            continue
        elif not _at(e["draft_day"], day)[i]:
            row.update(stage="drafting", stage_date=date(e["advice_returned_day"][i]))
        else:
            row.update(stage="consultation", stage_date=date(e["draft_day"][i]))
        if row["stage"] in ("awaiting_decision", "awaiting_advice"):
            row["exceptional"] = bool(e["exceptional"][i])
        rows.append(row)
    return rows


def waiting_lists_at(rec: dict, sc: Scenario, day: float) -> dict[str, list[dict]]:
    """Each service's routine waiting list on ``day`` as ``backlog`` bands of one week (per 70,000)."""
    out = {}
    for s, arr in rec["routine_arrival"].items():
        waiting = (arr < day) & ~_at(routine_left_day(rec, s), day)
        weeks = np.floor((day - arr[waiting]) / 7.0).astype(int)
        counts = np.bincount(weeks) if weeks.size else np.zeros(0, int)
        out[s] = [{"n_per_70k": float(k) * REFERENCE_POPULATION / sc.population, "age_weeks": [w, w + 1]}
                  for w, k in enumerate(counts) if k]
    return out


def restart_scenario(sc: Scenario, rec: dict, day: int) -> Scenario:
    """``sc`` from ``day`` on, starting from that day's state of the run ``rec`` (no warm-up)."""
    day = int(day)
    end = sc.simulation.warm_up_days + sc.simulation.horizon_days
    if not 0 < day < end:
        raise ValueError(f"the snapshot day must be inside the run (0 < day < {end:g}; got {day})")
    changes: dict = {
        "simulation.start_date": (sc.simulation.start_date + dt.timedelta(days=day)).isoformat(),
        "simulation.warm_up_days": 0.0,
        "simulation.horizon_days": end - day,
    }
    for s, bands in waiting_lists_at(rec, sc, day).items():
        changes[f"services.{s}.backlog"] = bands
    if sc.ehc is not None:
        changes["ehc.open_cases"] = []
        changes["ehc.open_case_list"] = open_cases_at(rec, sc, day)
        if sc.ehc.growth_per_year:  # growth compounds from the start date: carry on from the level reached
            changes["ehc.requests_per_year_per_70k"] = (
                sc.ehc.requests_per_year_per_70k * (1.0 + sc.ehc.growth_per_year) ** (day / 365.25))
    return sc.override(changes, name=f"{sc.name} from day {day}")
