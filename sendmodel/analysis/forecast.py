"""The breach forecast: for each case open at the start, how likely its plan and each advice are to be late.

An LA SEND team works from an at-risk list: which open cases will miss the 20-week plan deadline, and which
service's advice will miss its 6 weeks, so it can chase them now. Each replication plays the cases forward with
the unknowns drawn (whether a plan follows, how long an assessment takes, who else is waiting); the share of
replications in which a case is late is its probability of breach, with the expected week it finishes.

Definitions (per case, over replications):

- ``p_plan``: a plan is issued (or is on its way when the run ends).
- ``p_plan_late``: the case ends in a plan issued after 20 weeks from the request, or still without one at 20
  weeks (a case closed without a plan is not a late plan). Already past 20 weeks and open: 1.
- ``p_advice_late_<service>``: that service's advice, asked for this case, comes after 6 weeks from the LA's
  request to it (or has not come 6 weeks after it). A service not asked counts as not late.
- ``finish_week_mean`` / ``finish_date``: when the case closes (plan issued, or no plan), weeks from the start,
  over the replications in which it closes within the run; ``p_open_at_end`` says how often it does not.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sendmodel.common.parallel import map_pool
from sendmodel.engine.demand import STAGE_CODES
from sendmodel.engine.replication import run_replication
from sendmodel.scenario.config import ADVICE_DUE_DAYS, PLAN_DUE_DAYS, Scenario

STAGE_NAMES = {code: name for name, code in STAGE_CODES.items()}


def open_case_outcomes(rec: dict, sc: Scenario, rep: int = 0) -> pd.DataFrame:
    """One replication's fate of each case open at the start (one row a case; empty with no open cases)."""
    oc = rec.get("open_cases")
    if oc is None:
        return pd.DataFrame()
    n = oc["case_id"].size
    e, end = rec["ehc"], rec["end_day"]
    arr, fin, closed = e["arrival_day"][:n], e["final_day"][:n], e["closed_day"][:n]
    plan_bound = (e["outcome"][:n] == 0) & e["plan"][:n]
    due = arr + PLAN_DUE_DAYS
    on_time = ~np.isnan(fin) & (fin <= due)
    # late: plan-bound and not issued by the due date (issued late, or open past it; open before it: unknown)
    late = plan_bound & ~on_time & (~np.isnan(fin) | (end >= due))
    out = {
        "case_id": oc["case_id"],
        "replication": rep,
        "stage": [STAGE_NAMES[int(k)] for k in oc["stage"]],
        "request_day": arr,
        "plan": plan_bound,
        "plan_late": late,
        "closed_day": closed,
    }
    for s, a in rec["advice"].items():
        req, ret = a["requested_day"][:n], a["returned_day"][:n]
        asked = ~np.isnan(req)
        d = req + ADVICE_DUE_DAYS
        out[f"advice_late_{s}"] = asked & ((~np.isnan(ret) & (ret > d)) | (np.isnan(ret) & (end > d)))
    return pd.DataFrame(out)


def breach_forecast(outcomes: pd.DataFrame, sc: Scenario) -> pd.DataFrame:
    """The at-risk list: one row a case, most likely to breach first (see the module for the columns)."""
    if outcomes.empty:
        return pd.DataFrame()
    start = sc.simulation.start_date
    g = outcomes.groupby("case_id", sort=False)
    first = g.first()
    reps = g.size()
    closed = outcomes.assign(done=outcomes["closed_day"].notna())
    fin = closed[closed["done"]].groupby("case_id")["closed_day"].mean()
    table = pd.DataFrame({
        "case_id": first.index,
        "stage": first["stage"].to_numpy(),
        "request_date": [start + dt.timedelta(days=int(np.floor(d))) for d in first["request_day"]],
        "weeks_since_request": np.round(-first["request_day"].to_numpy() / 7.0, 1),
        "weeks_to_20w_deadline": np.round((PLAN_DUE_DAYS + first["request_day"].to_numpy()) / 7.0, 1),
        "p_plan": g["plan"].mean().to_numpy(),
        "p_plan_late": g["plan_late"].mean().to_numpy(),
    })
    for c in [c for c in outcomes.columns if c.startswith("advice_late_")]:
        if outcomes[c].any():
            table["p_" + c] = g[c].mean().to_numpy()
    wk = fin.reindex(first.index) / 7.0
    table["finish_week_mean"] = np.round(wk.to_numpy(), 1)
    table["finish_date"] = [None if np.isnan(w) else start + dt.timedelta(days=int(round(w * 7))) for w in wk]
    table["p_open_at_end"] = 1.0 - g["closed_day"].count().to_numpy() / reps.to_numpy()
    table["replications"] = reps.to_numpy()
    advice = [c for c in table.columns if c.startswith("p_advice_late_")]
    table["p_any_advice_late"] = (
        outcomes.assign(any=outcomes[[c[2:] for c in advice]].any(axis=1) if advice else False)
        .groupby("case_id", sort=False)["any"].mean().to_numpy()
    )
    return table.sort_values(["p_plan_late", "p_any_advice_late", "weeks_to_20w_deadline"],
                             ascending=[False, False, True], kind="stable").reset_index(drop=True)


def _outcomes_one(args) -> pd.DataFrame:
    sc, seed, rep = args
    return open_case_outcomes(run_replication(sc, seed, rep), sc, rep)


def forecast(sc: Scenario, replications: int = 20, seed: int = 2024, workers: int = 1) -> pd.DataFrame:
    """Run the scenario from its open cases and return the at-risk list (:func:`breach_forecast`)."""
    if sc.ehc is None or not (sc.ehc.open_cases or sc.ehc.open_case_list):
        raise ValueError(f"scenario {sc.name!r} has no open cases: give ehc.open_cases_file, ehc.open_case_list "
                         "or ehc.open_cases")
    parts = map_pool(_outcomes_one, [(sc, seed, r) for r in range(replications)], workers)
    return breach_forecast(pd.concat(parts, ignore_index=True), sc)
