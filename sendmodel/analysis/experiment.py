"""Run replications: demand -> model -> records -> KPIs (and frames when asked).

A replication depends only on (scenario, seed, replication number), so replications can run in any order and
in any process with identical results; ``workers > 1`` uses a process pool and gives the same frames.
"""

from __future__ import annotations

import pandas as pd

from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.analysis.periods import multi_year, period_frame
from sendmodel.analysis.results import Results, advice_frame, events_frame, kpi_frame
from sendmodel.common.parallel import map_pool
from sendmodel.engine.replication import run_replication
from sendmodel.scenario.config import Scenario


def _one(args) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict | None, pd.DataFrame]:
    scenario, seed, rep, keep = args
    rec = run_replication(scenario, seed, rep)
    k = kpi_frame(kpis_from_records(rec, scenario), scenario.name, rep)
    periods = period_frame(rec, scenario, rep) if multi_year(scenario) else pd.DataFrame()
    if not keep:
        return k, pd.DataFrame(), pd.DataFrame(), None, periods
    return k, events_frame(rec, scenario.name, rep), advice_frame(rec, scenario.name, rep), rec, periods


def run(
    scenario: Scenario,
    replications: int = 10,
    seed: int = 0,
    *,
    workers: int = 1,
    keep_events: bool = True,
    first_replication: int = 0,
) -> Results:
    """Run ``replications`` independent replications of ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`sendmodel.load_scenario` (or ``scenario.override(...)``).
    replications : int
        Number of replications (independent runs), each with its own random streams.
    seed : int
        Base seed of the experiment. The same seed gives the same demand in every scenario (common random
        numbers) and identical results in any process.
    workers : int
        Processes to use (1 = in this process).
    keep_events : bool
        Keep the per-request event log (set False in sweeps to bound memory; KPIs are always kept).
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1 (got {replications})")
    reps = range(first_replication, first_replication + replications)
    args = [(scenario, seed, r, keep_events) for r in reps]
    out = map_pool(_one, args, workers)
    kpis = pd.concat([o[0] for o in out], ignore_index=True)
    events = pd.concat([o[1] for o in out], ignore_index=True) if keep_events else pd.DataFrame()
    advice = pd.concat([o[2] for o in out], ignore_index=True) if keep_events else pd.DataFrame()
    records = [o[3] for o in out] if keep_events else []
    periods = pd.concat([o[4] for o in out], ignore_index=True) if multi_year(scenario) else pd.DataFrame()
    return Results(scenario, seed, replications, kpis, events, advice, records, periods)
