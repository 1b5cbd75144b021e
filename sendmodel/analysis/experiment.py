"""Run replications: demand -> model -> records -> KPIs (and frames when asked).

A replication depends only on (scenario, seed, replication number), so replications can run in any order and
in any process with identical results; ``workers > 1`` uses a process pool and gives the same frames.
"""

from __future__ import annotations

import pandas as pd

from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.analysis.overload import load_frame, load_rows
from sendmodel.analysis.periods import multi_year, period_frame
from sendmodel.analysis.results import Results, advice_frame, events_frame, kpi_frame
from sendmodel.analysis.warmup import WarmupSeries, replication_series
from sendmodel.common.parallel import map_pool
from sendmodel.engine.replication import run_replication
from sendmodel.scenario.config import Scenario


def _one(args) -> tuple:
    scenario, seed, rep, keep, warmup = args
    rec = run_replication(scenario, seed, rep)
    k = kpi_frame(kpis_from_records(rec, scenario), scenario.name, rep)
    periods = period_frame(rec, scenario, rep) if multi_year(scenario) else pd.DataFrame()
    series = replication_series(rec, scenario) if warmup else None
    load = load_frame(load_rows(rec, scenario), scenario.name, rep)
    if not keep:
        return k, pd.DataFrame(), pd.DataFrame(), None, periods, series, load
    return (k, events_frame(rec, scenario.name, rep), advice_frame(rec, scenario.name, rep), rec, periods, series,
            load)


def run(
    scenario: Scenario,
    replications: int = 10,
    seed: int = 0,
    *,
    workers: int = 1,
    keep_events: bool = True,
    first_replication: int = 0,
    warmup: bool | None = None,
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
    warmup : bool, optional
        Keep each replication's weekly series for the warm-up check (:mod:`sendmodel.analysis.warmup`);
        by default when the event log is kept.
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1 (got {replications})")
    reps = range(first_replication, first_replication + replications)
    warmup = keep_events if warmup is None else warmup
    args = [(scenario, seed, r, keep_events, warmup) for r in reps]
    out = map_pool(_one, args, workers)
    kpis = pd.concat([o[0] for o in out], ignore_index=True)
    events = pd.concat([o[1] for o in out], ignore_index=True) if keep_events else pd.DataFrame()
    advice = pd.concat([o[2] for o in out], ignore_index=True) if keep_events else pd.DataFrame()
    records = [o[3] for o in out] if keep_events else []
    periods = pd.concat([o[4] for o in out], ignore_index=True) if multi_year(scenario) else pd.DataFrame()
    series = WarmupSeries.stack([o[5] for o in out]) if warmup else None
    load = pd.concat([o[6] for o in out], ignore_index=True)
    return Results(scenario, seed, replications, kpis, events, advice, records, periods, series, load)
