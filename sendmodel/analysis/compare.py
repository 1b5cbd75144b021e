"""Compare commissioning options with a baseline on common random numbers (paired differences).

Every option runs the same replications with the same seed, so replication r of every option sees the same
children, the same requests and the same clinician leave (common random numbers, :mod:`sendmodel.rng`). The
difference an option makes is then estimated from the per-replication differences option - baseline, whose
spread is much smaller than that of two independent runs: the paired t-interval (Law 2007, Simulation Modeling
and Analysis, 4th ed., s. 10.2.1) is narrower for the same number of replications.

How many replications: give a number, or ``"auto"`` with a precision (the sequential procedure of Law 2007,
s. 9.4.1, as in Hoad, Robinson and Davies 2010): run a few, and add replications until the 95% CI half-width of
the precision KPI's paired difference (every option against the baseline) is at most the precision asked for,
or a cap is reached. The comparison always says how many replications it used and whether the precision is met.

Cost per extra on-time advice is a ratio of two paired mean differences (extra cost a year / extra health advice
returned within 6 weeks a year); its interval is Fieller's (Fieller 1954; Willan and O'Brien 1996 for
cost-effectiveness ratios), which is unbounded, and left empty, when the gain in on-time advice is not clear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendmodel.analysis.experiment import run
from sendmodel.analysis.intervals import mean_interval, precision_verdict, replications_for, t_quantile
from sendmodel.analysis.labels import KPI_BETTER, KPI_UNITS, PRECISION_KPI, label
from sendmodel.analysis.overload import OverloadCheck, check_overload, spread_notes
from sendmodel.analysis.warmup import WarmupCheck, WarmupSeries, check_warmup
from sendmodel.scenario.config import Scenario

CE_KPI = "cost_per_extra_advice_within_6w_gbp"
CE_COST = "cost_total_gbp"
CE_EFFECT = "advice_within_6w_per_year"

TABLE_COLUMNS = [
    "option", "baseline", "kpi", "service", "label", "unit", "n", "mean", "ci_low", "ci_high", "half_width",
    "baseline_mean", "diff", "diff_ci_low", "diff_ci_high", "diff_half_width", "ci_excludes_zero", "verdict",
]


def _mean_ci(x: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Mean, the t-interval's half-width (NaN with one value) and the standard deviation."""
    iv = mean_interval(x, alpha)
    return iv.mean, iv.half_width, iv.sd


def _verdict(kpi: str, diff: float, excludes_zero: bool) -> str:
    """"better" / "worse" when the CI excludes zero and the KPI has a direction; "no clear difference" otherwise."""
    if not excludes_zero:
        return "no clear difference"
    d = KPI_BETTER.get(kpi)
    if d is None:
        return "higher" if diff > 0 else "lower"
    return "better" if diff * d > 0 else "worse"


def paired_table(kpis: pd.DataFrame, baseline: str, alpha: float = 0.05) -> pd.DataFrame:
    """Per option and KPI: mean with CI, and the paired difference from the baseline with its CI.

    Parameters
    ----------
    kpis : DataFrame
        Long KPIs (``scenario, replication, kpi, service, value``) of every option, the same replications each.
    baseline : str
        The ``scenario`` value to compare against.
    alpha : float
        1 - confidence level (0.05: 95% intervals).

    Returns
    -------
    DataFrame
        :data:`TABLE_COLUMNS`; the baseline's own rows have a difference of exactly zero. Replications where
        either value is missing (e.g. no routine referrals seen) are left out of that pair's ``n``.
    """
    if baseline not in set(kpis["scenario"]):
        raise ValueError(f"baseline {baseline!r} is not among the options {sorted(set(kpis['scenario']))}")
    wide = kpis.pivot(index=["kpi", "service", "replication"], columns="scenario", values="value")
    options = list(dict.fromkeys(kpis["scenario"]))
    rows = []
    for kpi, service in kpis[["kpi", "service"]].drop_duplicates().itertuples(index=False):
        g = wide.loc[(kpi, service)]
        if g.isna().all().all():
            continue
        base = g[baseline].to_numpy(float)
        for opt in options:
            x = g[opt].to_numpy(float)
            own = x[~np.isnan(x)]
            m, hw, _ = _mean_ci(own, alpha)
            ok = ~np.isnan(x) & ~np.isnan(base)
            d = x[ok] - base[ok]
            dm, dhw, _ = _mean_ci(d, alpha)
            excl = bool(d.size > 1 and (dm - dhw > 0 or dm + dhw < 0))
            rows.append({
                "option": opt, "baseline": baseline, "kpi": kpi, "service": service, "label": label(kpi),
                "unit": KPI_UNITS.get(kpi, ""), "n": int(d.size), "mean": m, "ci_low": m - hw, "ci_high": m + hw,
                "half_width": hw, "baseline_mean": float(base[ok].mean()) if ok.any() else float("nan"),
                "diff": dm, "diff_ci_low": dm - dhw, "diff_ci_high": dm + dhw, "diff_half_width": dhw,
                "ci_excludes_zero": excl, "verdict": "" if opt == baseline else _verdict(kpi, dm, excl),
            })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def fieller_ratio(cost: np.ndarray, effect: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """Ratio of mean paired differences (cost / effect) and Fieller's interval (NaN bounds when unbounded).

    Parameters
    ----------
    cost, effect : ndarray
        Per-replication differences option - baseline (GBP a year; on-time advices a year).
    """
    n = cost.size
    a, b = float(cost.mean()), float(effect.mean())
    ratio = a / b if b != 0 else float("nan")
    if n < 2:
        return ratio, float("nan"), float("nan")
    t2 = t_quantile(n, alpha) ** 2
    va, vb = cost.var(ddof=1) / n, effect.var(ddof=1) / n
    cov = float(np.cov(cost, effect, ddof=1)[0, 1]) / n
    qa = b * b - t2 * vb
    if qa <= 0:  # the gain in on-time advice is not clearly non-zero: the interval is unbounded
        return ratio, float("nan"), float("nan")
    qb = a * b - t2 * cov
    disc = qb * qb - qa * (a * a - t2 * va)
    root = math.sqrt(max(disc, 0.0))
    return ratio, (qb - root) / qa, (qb + root) / qa


def cost_effectiveness(kpis: pd.DataFrame, baseline: str, alpha: float = 0.05) -> pd.DataFrame:
    """Cost per extra health advice within 6 weeks, each option against the baseline (table rows)."""
    k = kpis[(kpis["service"] == "all") & kpis["kpi"].isin([CE_COST, CE_EFFECT])]
    if k.empty or set(k["kpi"]) != {CE_COST, CE_EFFECT}:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    w = k.pivot_table(index=["scenario", "replication"], columns="kpi", values="value")
    rows = []
    for opt in dict.fromkeys(kpis["scenario"]):
        if opt == baseline:
            continue
        pair = w.loc[opt].merge(w.loc[baseline], left_index=True, right_index=True, suffixes=("", "_base")).dropna()
        dc = (pair[CE_COST] - pair[CE_COST + "_base"]).to_numpy(float)
        de = (pair[CE_EFFECT] - pair[CE_EFFECT + "_base"]).to_numpy(float)
        if dc.size == 0:
            continue
        ratio, lo, hi = fieller_ratio(dc, de, alpha)
        _, ehw, _ = _mean_ci(de, alpha)
        more_effect = de.mean() - ehw > 0 if de.size > 1 else de.mean() > 0
        less_effect = de.mean() + ehw < 0 if de.size > 1 else de.mean() < 0
        extra = dc.mean()
        if more_effect and extra <= 0:
            verdict = "dominant: more on-time advice for no extra cost"
        elif less_effect and extra >= 0:
            verdict = "dominated: less on-time advice for no saving"
        elif more_effect:
            verdict = "more on-time advice for more money"
        elif less_effect:
            verdict = "less on-time advice, saves money"
        else:
            verdict = "no clear change in on-time advice"
        rows.append({
            "option": opt, "baseline": baseline, "kpi": CE_KPI, "service": "all", "label": label(CE_KPI),
            "unit": KPI_UNITS.get(CE_KPI, ""), "n": int(dc.size), "mean": ratio, "ci_low": lo, "ci_high": hi,
            "half_width": (hi - lo) / 2 if not math.isnan(lo) else float("nan"), "baseline_mean": float("nan"),
            "diff": float("nan"), "diff_ci_low": float("nan"), "diff_ci_high": float("nan"),
            "diff_half_width": float("nan"), "ci_excludes_zero": bool(not math.isnan(lo) and (lo > 0 or hi < 0)),
            "verdict": verdict,
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def precision_half_width(table: pd.DataFrame, kpi: str = PRECISION_KPI, service: str = "all",
                         on: str = "diff") -> float:
    """The widest 95% CI half-width of ``kpi``: of the paired differences (``on="diff"``, every option but the
    baseline) or of the option means (``on="mean"``). With only the baseline, its mean's half-width."""
    t = table[(table["kpi"] == kpi) & (table["service"] == service)]
    if t.empty:  # no replication has a value (e.g. no advice due in a short run): no precision to speak of
        return float("nan")
    others = t[t["option"] != t["baseline"]]
    if on == "diff" and not others.empty:
        hw = others["diff_half_width"]
    else:
        hw = t["half_width"]
    return float(hw.max()) if hw.notna().any() else float("inf")


@dataclass
class Comparison:
    """What :func:`run_comparison` returns: the table plus what it was computed from."""

    table: pd.DataFrame
    kpis: pd.DataFrame
    baseline: str
    seed: int
    replications: int
    scenarios: dict[str, Scenario] = field(repr=False)
    precision: float | None = None
    precision_kpi: str = PRECISION_KPI
    precision_on: str = "diff"
    half_width: float = float("nan")
    history: list[tuple[int, float]] = field(default_factory=list)
    warmup_series: dict[str, WarmupSeries] = field(default_factory=dict, repr=False)
    load: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)  # capacity measures per option
    periods: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)  # every option's KPIs by year

    def by_year(self, kind: str = "financial", alpha: float = 0.05) -> pd.DataFrame:
        """The paired comparison year by year (``financial``: April-March, or ``calendar``) for a run measuring
        more than a year: :func:`paired_table` per year, with ``period`` and ``days`` (< 365: a part year)
        first. Empty for a one-year run."""
        if self.periods.empty:
            return pd.DataFrame()
        p = self.periods[self.periods["period_kind"] == kind]
        parts = []
        for (period, days), g in p.groupby(["period", "days"], sort=False):
            t = paired_table(g, self.baseline, alpha)
            t.insert(0, "days", days)
            t.insert(0, "period", period)
            parts.append(t)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def warmup_checks(self) -> dict[str, WarmupCheck]:
        """MSER-5 per option over its replications' weekly series (:mod:`sendmodel.analysis.warmup`)."""
        return {n: check_warmup(s, self.scenarios[n]) for n, s in self.warmup_series.items()}

    def overload_checks(self) -> dict[str, OverloadCheck]:
        """Per option, which service, LA casework or DMO/DCO is over capacity (:mod:`sendmodel.analysis.overload`)."""
        return {n: check_overload(x, self.scenarios[n]) for n, x in self.load.items()}

    def spread_notes(self) -> dict[str, list[str]]:
        """Per option, the per-service shares whose 95% CI is too wide to act on, and the replications to narrow
        them."""
        t = self.table
        return {n: spread_notes(t[t["option"] == n], sc, self.replications) for n, sc in self.scenarios.items()}

    @property
    def precision_met(self) -> bool | None:
        """Whether the widest half-width is within the precision (None when no precision was asked for)."""
        if self.precision is None:
            return None
        return bool(self.half_width <= self.precision)

    def replications_needed(self) -> int:
        """Estimated replications for the precision (half-width shrinks as 1 / sqrt(n))."""
        if self.precision is None:
            return self.replications
        return replications_for(self.half_width, self.replications, self.precision)

    def stress_des(self, outputs: list[str], workers: int = 1) -> str:
        """The comparison's STRESS-DES report (Monks et al. 2019) as Markdown; ``outputs`` are the folder's files."""
        from sendmodel.analysis.report import stress_des

        estimation = [
            "Every option runs the same replications with the same seed (common random numbers); each KPI's "
            "difference from the baseline is the mean of the per-replication differences with a paired 95% Student "
            "t-interval (Law 2007, Simulation Modeling and Analysis, s. 10.2.1), and the cost per extra on-time "
            "advice has Fieller's interval (Fieller 1954).", "", self.summary_text() + ".",
        ]
        if len(self.history) > 1:
            steps = ", ".join(f"{n} ({hw:.2f})" for n, hw in self.history)
            estimation.append(f"Replications added sequentially until the precision was met or the cap reached (Law "
                              f"2007, s. 9.4.1): replications (widest half-width) {steps}.")
        return stress_des(kind="comparison", scenarios=self.scenarios, seed=self.seed,
                          replications=self.replications, kpis=list(dict.fromkeys(self.kpis["kpi"])),
                          warmup=self.warmup_checks(), estimation=estimation, outputs=outputs,
                          baseline=self.baseline, workers=workers, capacity=self.overload_checks())

    def summary_text(self) -> str:
        """One paragraph on replications and precision, for the command line and the manifest."""
        txt = f"{self.replications} replications per option, seed {self.seed}, common random numbers"
        what = "paired differences" if self.precision_on == "diff" else "means"
        if math.isnan(self.half_width):
            return txt + f"; {self.precision_kpi} has no value in the measured period (nothing of it falls due)"
        txt += f"; widest 95% CI half-width of {self.precision_kpi} ({what}): {self.half_width:.2f}"
        if self.precision is not None:
            txt += precision_verdict(self.half_width, self.replications, self.precision)
        return txt


def _as_dict(scenarios) -> dict[str, Scenario]:
    if isinstance(scenarios, dict):
        out = dict(scenarios)
    else:
        out = {}
        for sc in scenarios:
            if sc.name in out:
                raise ValueError(f"two options are named {sc.name!r}; give them different names")
            out[sc.name] = sc
    if not out:
        raise ValueError("no options to compare")
    return out


def run_comparison(
    scenarios,
    baseline: str,
    replications: int | str = 10,
    seed: int = 0,
    *,
    workers: int = 1,
    alpha: float = 0.05,
    precision: float | None = None,
    precision_kpi: str = PRECISION_KPI,
    precision_on: str = "diff",
    min_replications: int = 5,
    max_replications: int = 100,
    progress=None,
) -> Comparison:
    """Run every option on common random numbers and compare it with the baseline.

    Parameters
    ----------
    scenarios : dict of name -> Scenario, or list of Scenario
        The options (the baseline among them). Names label the table.
    baseline : str
        Name of the option the others are compared with.
    replications : int or "auto"
        Replications per option; ``"auto"`` adds replications until ``precision`` is met (sequential
        procedure), starting from ``min_replications`` and stopping at ``max_replications``.
    seed : int
        Base seed; the same for every option (common random numbers).
    workers : int
        Processes for :func:`sendmodel.run`.
    precision : float, optional
        Target 95% CI half-width of ``precision_kpi`` (service "all"), in the KPI's unit (percentage points for
        ``advice_within_6w_pct``); required with ``replications="auto"``.
    precision_on : {"diff", "mean"}
        Whether the precision applies to the paired differences (default) or to each option's mean.
    progress : callable, optional
        Called with a short message after each batch (the CLI prints it).
    """
    opts = _as_dict(scenarios)
    if baseline not in opts:
        raise ValueError(f"baseline {baseline!r} is not among the options {sorted(opts)}")
    if precision_on not in ("diff", "mean"):
        raise ValueError(f"precision_on must be 'diff' or 'mean' (got {precision_on!r})")
    auto = replications == "auto"
    if auto:
        if precision is None or precision <= 0:
            raise ValueError("replications='auto' needs a positive precision")
        if not 2 <= min_replications <= max_replications:
            raise ValueError(f"need 2 <= min_replications ({min_replications}) <= max_replications "
                             f"({max_replications})")
        target = min_replications
    else:
        target = int(replications)
        if target < 1:
            raise ValueError(f"replications must be >= 1 or 'auto' (got {replications!r})")

    frames: list[pd.DataFrame] = []
    years: list[pd.DataFrame] = []
    done, history = 0, []
    series: dict[str, list[WarmupSeries]] = {}
    load: dict[str, list[pd.DataFrame]] = {}
    while True:
        for name, sc in opts.items():
            res = run(sc, replications=target - done, seed=seed, workers=workers, keep_events=False,
                      first_replication=done, warmup=True)
            series.setdefault(name, []).append(res.warmup_series)
            load.setdefault(name, []).append(res.load.assign(scenario=name))
            k = res.kpis
            k["scenario"] = name
            frames.append(k)
            if not res.periods.empty:
                years.append(res.periods.assign(scenario=name))
        done = target
        kpis = pd.concat(frames, ignore_index=True)
        table = paired_table(kpis, baseline, alpha)
        hw = precision_half_width(table, precision_kpi, on=precision_on)
        if auto and math.isnan(hw):
            from sendmodel.scenario.errors import ScenarioError

            raise ScenarioError(None, "--precision-kpi", f"{precision_kpi} has no value in any replication (nothing "
                                "of it falls in the measured period), so replications cannot be sized on it; "
                                "measure a longer period (simulation.horizon_days) or give --reps a number")
        history.append((done, hw))
        if progress is not None:
            progress(f"{done} replications: widest half-width of {precision_kpi} = {hw:.2f}")
        if not auto or hw <= precision or done >= max_replications:
            break
        # Aim for the n that would meet the precision at the current sd, at most doubling (the sd is uncertain).
        need = replications_for(hw, done, precision, alpha)
        target = min(max_replications, max(done + 1, min(need, 2 * done)))
    table = pd.concat([table, cost_effectiveness(kpis, baseline, alpha)], ignore_index=True)
    return Comparison(table=table, kpis=kpis, baseline=baseline, seed=seed, replications=done, scenarios=opts,
                      precision=precision, precision_kpi=precision_kpi, precision_on=precision_on, half_width=hw,
                      history=history, warmup_series={n: WarmupSeries.concat(p) for n, p in series.items()},
                      periods=pd.concat(years, ignore_index=True) if years else pd.DataFrame(),
                      load={n: pd.concat(p, ignore_index=True) for n, p in load.items()})


def compare(scenarios, baseline: str, replications: int | str = 10, seed: int = 0, **kwargs) -> pd.DataFrame:
    """Compare options with a baseline on common random numbers; returns the comparison table.

    One row per option and KPI (and service, commissioner or funder): the option's ``mean`` with its 95% CI,
    the paired difference from the baseline (``diff``) with its 95% CI, ``ci_excludes_zero`` and a ``verdict``
    (better / worse / no clear difference). Rows for ``cost_per_extra_advice_within_6w_gbp`` give extra cost a
    year per extra health advice within 6 weeks, with Fieller's interval. ``table.attrs`` records the
    replications used, the seed and the precision reached. Keyword arguments as :func:`run_comparison`.

    Examples
    --------
    >>> opts = {n: sendmodel.load_scenario(f"scenarios/options/{n}.yaml")
    ...         for n in ("status_quo", "spa_triage")}                            # doctest: +SKIP
    >>> t = sendmodel.compare(opts, baseline="status_quo", replications=10, seed=1)  # doctest: +SKIP
    """
    c = run_comparison(scenarios, baseline, replications, seed, **kwargs)
    t = c.table
    t.attrs.update(baseline=c.baseline, seed=c.seed, replications=c.replications, precision=c.precision,
                   precision_kpi=c.precision_kpi, half_width=c.half_width, precision_met=c.precision_met)
    return t
