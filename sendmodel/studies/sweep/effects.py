"""What a sweep shows: each point's KPIs with their intervals, main effects, sensitivity, and which points
are over capacity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendmodel.analysis.intervals import mean_interval, summarise_groups
from sendmodel.analysis.labels import KPI_UNITS
from sendmodel.analysis.overload import OverloadCheck, check_overload

# --- analysis of a sweep ------------------------------------------------------------------------------------


def _interval(x: np.ndarray, alpha: float = 0.05) -> tuple[int, float, float, float]:
    """n, mean and t-interval of independent values (NaN dropped)."""
    iv = mean_interval(x, alpha, dropna=True)
    return iv.n, iv.mean, iv.low, iv.high


def summarise_points(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mean and t-interval across replications for every (point, KPI, service), with the point's values."""
    names = df.attrs.get("parameters", [])
    out = summarise_groups(df.groupby(["point", "kpi", "service"], sort=True)["value"], alpha)
    out["unit"] = out["kpi"].map(KPI_UNITS).fillna("")
    out = out.merge(df.drop_duplicates("point")[["point", *names]], on="point", how="left")
    return out[["point", *names, "kpi", "service", "n", "mean", "sd", "ci_low", "ci_high", "unit"]]


def _levels(points: pd.DataFrame, p: str, max_levels: int, bins: int) -> pd.Series:
    """Each point's level of parameter ``p``: its value, or (many values) the mean of its quantile bin."""
    x = points[p]
    if x.nunique() <= max_levels or not pd.api.types.is_numeric_dtype(x):
        return x
    b = pd.qcut(x, bins, duplicates="drop")
    return x.groupby(b, observed=True).transform("mean")


def main_effects(
    df: pd.DataFrame, kpi: str, service: str = "all", max_levels: int = 12, bins: int = 6, alpha: float = 0.05
) -> pd.DataFrame:
    """KPI against each swept parameter, averaged over the other parameters, with a t-interval.

    For each level of a parameter, each replication's KPI is averaged over the points at that level; the
    interval is across replications (which are independent). Many distinct values (a Latin hypercube) are
    grouped into quantile bins, each plotted at the mean of its points' values; there the other parameters are
    only roughly balanced between bins, so read the trend rather than a single bin.
    """
    d = df[(df["kpi"] == kpi) & (df["service"] == service)]
    names = df.attrs.get("parameters", [])
    points = d.drop_duplicates("point").set_index("point")[names]
    rows = []
    for p in names:
        lv = _levels(points, p, max_levels, bins)
        per_rep = d.assign(level=d["point"].map(lv)).groupby(["level", "replication"])["value"].mean()
        for level, g in per_rep.groupby(level=0, sort=True):
            n, m, lo, hi = _interval(g.to_numpy(), alpha)
            rows.append((p, level, int((lv == level).sum()), n, m, lo, hi))
    out = pd.DataFrame(rows, columns=["parameter", "level", "points", "n", "mean", "ci_low", "ci_high"])
    out.insert(2, "kpi", kpi)
    out.insert(3, "service", service)
    return out


def sensitivity(
    df: pd.DataFrame, kpi: str, service: str = "all", alpha: float = 0.05, **levels
) -> pd.DataFrame:
    """Tornado data: the KPI at each parameter's lowest and highest level (other parameters averaged over).

    The swing (high minus low) has a paired t-interval: replication r at both ends shares random numbers, so
    the interval is narrower than comparing two independent means. Rows are sorted by the size of the swing.
    """
    d = df[(df["kpi"] == kpi) & (df["service"] == service)]
    names = df.attrs.get("parameters", [])
    points = d.drop_duplicates("point").set_index("point")[names]
    rows = []
    for p in names:
        lv = _levels(points, p, levels.get("max_levels", 12), levels.get("bins", 6))
        order = sorted(lv.unique(), key=lambda v: (isinstance(v, str), v))
        if len(order) < 2:
            continue
        lo_v, hi_v = order[0], order[-1]
        per_rep = d.assign(level=d["point"].map(lv)).groupby(["level", "replication"])["value"].mean()
        lo, hi = per_rep.loc[lo_v], per_rep.loc[hi_v]
        diff = (hi - lo).dropna()
        n, m, cl, ch = _interval(diff.to_numpy(), alpha)
        rows.append((p, lo_v, hi_v, float(lo.mean()), float(hi.mean()), m, cl, ch, n))
    out = pd.DataFrame(
        rows,
        columns=[
            "parameter",
            "low_level",
            "high_level",
            "kpi_at_low",
            "kpi_at_high",
            "swing",
            "swing_ci_low",
            "swing_ci_high",
            "n",
        ],
    )
    out.insert(1, "kpi", kpi)
    out.insert(2, "service", service)
    out["overall_mean"] = float(d["value"].mean())
    return out.reindex(out["swing"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def capacity_by_point(capacity: pd.DataFrame, base, params: dict[int, dict]
                      ) -> tuple[pd.DataFrame, dict[int, OverloadCheck]]:
    """Each point's capacity check (:func:`~sendmodel.analysis.overload.check_overload`) from the stored
    measures, on the base scenario with the point's values; the table has one row per (point, unit)."""
    checks, tables = {}, []
    for point, g in capacity.groupby("point", sort=True):
        sc = base.override(params.get(int(point), {})) if params.get(int(point)) else base
        chk = check_overload(g.drop(columns="point"), sc)
        checks[int(point)] = chk
        if chk.units:
            t = chk.table().drop(columns="scenario")
            t.insert(0, "point", int(point))
            tables.append(t)
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), checks
