"""A comparison under input uncertainty.

Each uncertain input (a field given as a range, :mod:`sendmodel.scenario.uncertain`) is drawn by a seeded Latin
hypercube; every parameter set runs every option on the same replications, and every option sees the same draws
of a field it shares (common random numbers at both levels). For each option and KPI it reports the paired
difference from the baseline with two intervals: over simulation noise alone (the comparison at the central
values), over the inputs (the 2.5th-97.5th percentiles of the parameter sets' mean differences: the sets share
their replications, so their spread is the inputs' share) and over both (the two half-widths in quadrature);
the probability that the option beats the baseline (over the sets, the chance its difference is on the better
side given the noise); and which input drives the difference most (Spearman's rank correlation of each input
with the difference over the sets).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import stdtr

from sendmodel.analysis.compare import run_comparison
from sendmodel.analysis.intervals import t_quantile
from sendmodel.analysis.labels import KPI_BETTER, label
from sendmodel.scenario.config import Scenario


def uncertain_inputs(options: dict[str, Scenario]) -> list:
    """Every uncertain field of any option, once each (by path, the first option's range)."""
    seen = {}
    for sc in options.values():
        for u in sc.uncertain_inputs:
            seen.setdefault(u.path, u)
    return [seen[p] for p in sorted(seen)]


def value_at(sc: Scenario, path: str):
    """The value of a dotted field path in a scenario (None when it has no such field)."""
    v = sc.model_dump(mode="json")
    for part in path.split("."):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return v


def with_ranges(options: dict[str, Scenario], ranges: Scenario) -> tuple[dict[str, Scenario], dict[str, list]]:
    """Every option given the uncertain inputs of ``ranges`` (a file such as ``scenarios/baseline_ranges.yaml``)
    where it keeps the field at the range's central value: what nobody has measured is the same world for every
    option, while an option that sets the field itself (its lever) keeps its own value. Returns the options and,
    per option, the paths it kept as its own."""
    out, kept = {}, {}
    for name, sc in options.items():
        mine = {u.path for u in sc.uncertain_inputs}
        add, own = {}, []
        for u in ranges.uncertain_inputs:
            if u.path in mine:
                continue
            v = value_at(sc, u.path)
            if isinstance(v, (int, float)) and abs(float(v) - u.central) <= 1e-12 * max(1.0, abs(u.central)):
                add[u.path] = ({"uncertain": "uniform", "low": u.low, "high": u.high} if u.kind == "uniform" else
                               {"uncertain": u.kind, "low": u.low, "mode": u.mode, "high": u.high})
            else:
                own.append(u.path)
        out[name] = sc.override(add, name=sc.name) if add else sc
        kept[name] = own
    return out, kept


def parameter_sets(inputs: list, n: int, seed: int) -> pd.DataFrame:
    """``n`` parameter sets (rows) by a Latin hypercube over the inputs' ranges, seeded."""
    from scipy.stats import qmc

    if not inputs:
        raise ValueError("no uncertain inputs: give a field as a range, e.g. {uncertain: triangular, low: 0.4, "
                         "mode: 0.55, high: 0.7}")
    u = qmc.LatinHypercube(d=len(inputs), seed=seed).random(n)
    return pd.DataFrame({x.path: [x.ppf(float(q)) for q in u[:, j]] for j, x in enumerate(inputs)})


def compare_uncertain(options: dict[str, Scenario], baseline: str, sets: int = 20, replications: int = 5,
                      seed: int = 0, workers: int = 1, kpis=None, progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (summary, per_set): per option and KPI the differences with both intervals, the probability of
    beating the baseline and the main driver; and every parameter set's mean difference with its inputs."""
    inputs = uncertain_inputs(options)
    draws = parameter_sets(inputs, sets, seed)
    point = run_comparison(options, baseline, replications, seed, workers=workers).table
    rows = []
    for j, draw in draws.iterrows():
        opts = {}
        for name, sc in options.items():
            mine = {u.path for u in sc.uncertain_inputs}
            opts[name] = sc.override({p: float(v) for p, v in draw.items() if p in mine}) if mine else sc
        t = run_comparison(opts, baseline, replications, seed, workers=workers).table
        t = t[t["option"] != baseline][["option", "kpi", "service", "diff"]].assign(set=j)
        rows.append(t)
        if progress is not None:
            progress(j + 1, sets)
    per_set = pd.concat(rows, ignore_index=True).merge(draws.rename_axis("set").reset_index(), on="set")
    if kpis is not None:
        per_set = per_set[per_set["kpi"].isin(kpis)]
    out = []
    for (o, k, s), g in per_set.groupby(["option", "kpi", "service"], sort=False):
        d = g["diff"].to_numpy(float)
        if np.isnan(d).all():
            continue
        p = point[(point["option"] == o) & (point["kpi"] == k) & (point["service"] == s)]
        better = KPI_BETTER.get(k, 0)
        ok = d[~np.isnan(d)]
        drivers = {x.path: _spearman(g[x.path].to_numpy(float), d) for x in inputs}
        top = max(drivers, key=lambda q: abs(drivers[q]) if np.isfinite(drivers[q]) else -1)
        if not np.isfinite(drivers[top]):
            top = ""  # the difference does not move with any input
        # Every set runs the same replications, so the sets' spread is the inputs' share; the noise is the
        # central comparison's (its half-width hw, standard error se), added in quadrature.
        hw = float(p["diff_half_width"].iloc[0]) if len(p) else np.nan
        n = int(p["n"].iloc[0]) if len(p) else 0
        se = hw / t_quantile(n) if n > 1 and np.isfinite(hw) else 0.0
        lo_in, hi_in = float(np.percentile(ok, 2.5)), float(np.percentile(ok, 97.5))
        both = float(np.hypot(hw if np.isfinite(hw) else 0.0, (hi_in - lo_in) / 2))
        m = float(ok.mean())
        if not better or (se == 0 and not np.any(ok)):
            pb = np.nan  # no direction, or no difference at all
        elif se == 0:
            pb = float(np.mean(ok * better > 0))
        else:  # over the input draws, the chance the true difference is on the better side, given the noise
            pb = float(np.mean(stdtr(n - 1, better * ok / se)))  # Student t, as the noise-only interval
        out.append({
            "option": o, "kpi": k, "service": s, "label": label(k),
            "diff_central": float(p["diff"].iloc[0]) if len(p) else np.nan,
            "noise_ci_low": float(p["diff_ci_low"].iloc[0]) if len(p) else np.nan,
            "noise_ci_high": float(p["diff_ci_high"].iloc[0]) if len(p) else np.nan,
            "diff_mean_over_sets": m, "input_low": lo_in, "input_high": hi_in,
            "noise_and_input_low": m - both, "noise_and_input_high": m + both,
            "p_better": pb, "main_driver": top, "main_driver_rank_corr": drivers.get(top, np.nan),
        })
    return pd.DataFrame(out), per_set


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    rx, ry = pd.Series(x[ok]).rank().to_numpy(), pd.Series(y[ok]).rank().to_numpy()
    return float(np.corrcoef(rx, ry)[0, 1])
