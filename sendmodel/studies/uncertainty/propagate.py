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

from sendmodel.analysis.compare import CE_COST, CE_EFFECT, CE_KPI, run_comparison
from sendmodel.analysis.intervals import t_quantile
from sendmodel.analysis.labels import KPI_BETTER, label
from sendmodel.scenario.config import Scenario
from sendmodel.scenario.errors import value_at_path


def uncertain_inputs(options: dict[str, Scenario]) -> list:
    """Every uncertain field of any option, once each (by path, the first option's range)."""
    seen = {}
    for sc in options.values():
        for u in sc.uncertain_inputs:
            seen.setdefault(u.path, u)
    return [seen[p] for p in sorted(seen)]


def value_at(sc: Scenario, path: str):
    """The value of a dotted field path in a scenario (None when it has no such field)."""
    return value_at_path(sc.model_dump(mode="json"), path)


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
        c = run_comparison(opts, baseline, replications, seed, workers=workers)
        t = c.table
        t = t[(t["option"] != baseline) & (t["kpi"] != CE_KPI)][["option", "kpi", "service", "diff"]].assign(set=j)
        rows.append(pd.concat([t, _cost_per_extra(c.kpis, baseline).assign(set=j)], ignore_index=True))
        if progress is not None:
            progress(j + 1, sets)
    per_set = pd.concat(rows, ignore_index=True).merge(draws.rename_axis("set").reset_index(), on="set")
    if kpis is not None:
        per_set = per_set[per_set["kpi"].isin(kpis)]
    out = []
    for (o, k, s), g in per_set[per_set["kpi"] != CE_KPI].groupby(["option", "kpi", "service"], sort=False):
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
            "noise_se": se, "noise_n": n,
        })
    return pd.DataFrame(out), per_set


def _cost_per_extra(kpis: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per option, one parameter set's cost per extra health advice within 6 weeks (mean extra cost over mean
    extra on-time advice, as the comparison's ratio; NaN when it gives no more on-time advice)."""
    k = kpis[(kpis["service"] == "all") & kpis["kpi"].isin([CE_COST, CE_EFFECT])]
    if set(k["kpi"]) != {CE_COST, CE_EFFECT}:
        return pd.DataFrame(columns=["option", "kpi", "service", "diff"])
    m = k.groupby(["scenario", "kpi"])["value"].mean().unstack()
    rows = []
    for opt in m.index:
        if opt == baseline:
            continue
        dc, de = m.loc[opt, CE_COST] - m.loc[baseline, CE_COST], m.loc[opt, CE_EFFECT] - m.loc[baseline, CE_EFFECT]
        rows.append({"option": opt, "kpi": CE_KPI, "service": "all", "diff": dc / de if de > 0 else np.nan,
                     "extra_cost": dc, "extra_on_time": de})
    return pd.DataFrame(rows)


def value_for_money(per_set: pd.DataFrame) -> pd.DataFrame:
    """Over the parameter sets, each option's cost per extra health advice within 6 weeks: its median and the
    2.5th-97.5th percentiles over the sets that give more on-time advice, the share of sets where it gives
    more on-time advice for no extra cost (dominant), and where it gives none more at all."""
    g = per_set[per_set["kpi"] == CE_KPI]
    rows = []
    for opt, s in g.groupby("option", sort=False):
        r = s["diff"].dropna().to_numpy(float)
        more = s["extra_on_time"].to_numpy(float) > 0
        rows.append({
            "option": opt, "sets": len(s),
            "gbp_per_extra_median": float(np.median(r)) if r.size else np.nan,
            "gbp_per_extra_low": float(np.percentile(r, 2.5)) if r.size else np.nan,
            "gbp_per_extra_high": float(np.percentile(r, 97.5)) if r.size else np.nan,
            "p_dominant": float(np.mean(more & (s["extra_cost"].to_numpy(float) <= 0))),
            "p_no_more_on_time": float(np.mean(~more)),
        })
    return pd.DataFrame(rows)


def option_against_option(summary: pd.DataFrame, per_set: pd.DataFrame) -> pd.DataFrame:
    """For each KPI and each ordered pair of options (baseline aside), the probability that the first beats the
    second: over the parameter sets (the same draws for both), the chance their difference is on the better side
    given the noise, each option's noise from its comparison with the baseline (added in quadrature: common
    random numbers make the real noise of the pair smaller, so this is conservative); and on cost per extra
    on-time advice, the share of sets where the first is cheaper (both giving more on-time advice)."""
    rows = []
    opts = list(dict.fromkeys(per_set["option"]))
    for (k, s), g in per_set.groupby(["kpi", "service"], sort=False):
        better = KPI_BETTER.get(k, 0)  # -1 for cost per extra on-time advice: cheaper is better
        if not better:
            continue
        d = g.pivot_table(index="set", columns="option", values="diff")
        for a in opts:
            for b in opts:
                if a == b or a not in d or b not in d:
                    continue
                x = (d[a] - d[b]).to_numpy(float)
                if k == CE_KPI:
                    ok = np.isfinite(x)
                    pb = float(np.mean(x[ok] < 0)) if ok.any() else np.nan
                else:
                    (se_a, n_a), (se_b, n_b) = _noise(summary, a, k, s), _noise(summary, b, k, s)
                    sd, n = float(np.hypot(se_a, se_b)), min(n_a, n_b)
                    x = x[np.isfinite(x)]
                    if not x.size:
                        continue
                    pb = float(np.mean(better * x > 0)) if sd == 0 or n < 2 else float(
                        np.mean(stdtr(n - 1, better * x / sd)))
                rows.append({"kpi": k, "service": s, "label": label(k) if k != CE_KPI else
                             "Cost per extra advice within 6 weeks", "option": a, "against": b, "p_better": pb})
    return pd.DataFrame(rows, columns=["kpi", "service", "label", "option", "against", "p_better"])


def _noise(summary: pd.DataFrame, option: str, kpi: str, service: str) -> tuple[float, int]:
    """An option's noise on a KPI against the baseline: the standard error and the replications behind it."""
    r = summary[(summary["option"] == option) & (summary["kpi"] == kpi) & (summary["service"] == service)]
    return (float(r["noise_se"].iloc[0]), int(r["noise_n"].iloc[0])) if len(r) else (0.0, 0)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    rx, ry = pd.Series(x[ok]).rank().to_numpy(), pd.Series(y[ok]).rank().to_numpy()
    return float(np.corrcoef(rx, ry)[0, 1])
