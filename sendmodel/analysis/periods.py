"""KPIs by year: calendar years (January-December) and financial years (April-March) of a multi-year run.

A commissioner budgets by financial year and DfE reports by calendar year, so a run over several years is
measured in both. Each period is a window of the measured time; a period cut by the start or end of the run is
kept and marked partial (its days are given), never stretched to a year.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.analysis.labels import KPI_UNITS
from sendmodel.scenario.config import Scenario

PERIOD_COLUMNS = ["scenario", "replication", "period", "period_kind", "days", "kpi", "service", "value", "unit"]


def period_windows(sc: Scenario, kind: str = "financial") -> list[tuple[str, float, float]]:
    """(label, first day, end day) of each calendar (``calendar``) or financial (``financial``) year that the
    measured window [warm-up end, run end) touches, in model days."""
    if kind not in ("calendar", "financial"):
        raise ValueError(f"kind must be 'calendar' or 'financial' (got {kind!r})")
    start = sc.simulation.start_date
    lo = sc.simulation.warm_up_days
    hi = lo + sc.simulation.horizon_days
    first = start + dt.timedelta(days=lo)
    month = 1 if kind == "calendar" else 4
    year = first.year if (kind == "calendar" or first.month >= 4) else first.year - 1
    out = []
    while True:
        a = (dt.date(year, month, 1) - start).days
        b = (dt.date(year + 1, month, 1) - start).days
        if a >= hi:
            break
        label = str(year) if kind == "calendar" else f"{year}/{str(year + 1)[2:]}"
        out.append((label, max(float(a), lo), min(float(b), hi)))
        year += 1
    return out


def kpis_by_period(rec: dict, sc: Scenario, kind: str = "financial") -> list[tuple[str, float, str, str, float]]:
    """(period, days, kpi, service, value) rows for every period of the measured window."""
    rows = []
    for label, a, b in period_windows(sc, kind):
        for kpi, svc, v in kpis_from_records(rec, sc, (a, b)):
            rows.append((label, b - a, kpi, svc, v))
    return rows


def period_frame(rec: dict, sc: Scenario, replication: int) -> pd.DataFrame:
    """Long frame of KPIs by calendar and financial year for one replication (:data:`PERIOD_COLUMNS`)."""
    parts = []
    for kind in ("calendar", "financial"):
        df = pd.DataFrame(kpis_by_period(rec, sc, kind), columns=["period", "days", "kpi", "service", "value"])
        df.insert(1, "period_kind", kind)
        parts.append(df)
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "replication", replication)
    df.insert(0, "scenario", sc.name)
    df["unit"] = df["kpi"].map(KPI_UNITS).fillna("")
    return df[PERIOD_COLUMNS]


def multi_year(sc: Scenario) -> bool:
    """Whether a run measures more than one year (then results carry KPIs by year)."""
    return sc.simulation.horizon_days > 366.0
