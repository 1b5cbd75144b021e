"""Figures of a parameter sweep: KPI against each swept parameter (with 95% CI bands) and a tornado chart.

Functions take the frames of :func:`sendmodel.sweep.main_effects` and :func:`sendmodel.sweep.sensitivity`
and return figures; nothing here calls ``show()``.
"""

from __future__ import annotations

import math
import textwrap

import pandas as pd

from sendmodel.analysis.labels import label
from sendmodel.analysis.plotting import plt

_FIELD_WORDS = {
    "requests_per_year_per_70k": "requests a year per 70,000",
    "pas_per_week": "PAs a week",
    "ring_fenced_pas_per_week": "ring-fenced PAs a week",
    "p_known": "share of children known",
    "p_requested": "share asked for advice",
    "p_misrouted": "share misrouted",
}


def param_label(path: str, base: dict | None = None) -> str:
    """A readable name for a field path, e.g. ``services.slt.pas_per_week`` -> 'Speech ...: PAs a week'."""
    parts = path.split(".")
    words = _FIELD_WORDS.get(parts[-1], parts[-1].replace("_", " "))
    if parts[0] == "services" and len(parts) >= 3:
        svc = (base or {}).get("services", {}).get(parts[1], {}).get("label", parts[1])
        return f"{svc}: {words}"
    if parts[0] == "ehc" and len(parts) == 2:
        return f"EHC {words}"
    return ".".join(parts[:-1] + [words]) if len(parts) > 1 else words


def _kpi_title(kpi: str, service: str, base: dict | None) -> str:
    who = "" if service == "all" else (base or {}).get("services", {}).get(service, {}).get("label", service)
    if service == "all" and kpi.startswith("advice"):
        who = "all health services"
    return f"{label(kpi)}" + (f" ({who})" if who else "")


def _numeric(levels: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(levels) and not pd.api.types.is_bool_dtype(levels)


def effects_figure(effects: pd.DataFrame, unit: str = "", base: dict | None = None) -> plt.Figure:
    """One panel per swept parameter: the KPI's mean (other parameters averaged over) with its 95% CI band."""
    params = list(dict.fromkeys(effects["parameter"]))
    ncols = min(3, len(params))
    nrows = math.ceil(len(params) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), sharey=True, squeeze=False)
    kpi, service = effects["kpi"].iloc[0], effects["service"].iloc[0]
    for ax, p in zip(axes.flat, params):
        e = effects[effects["parameter"] == p]
        lv = pd.Series(list(e["level"]))
        x = lv.astype(float).to_numpy() if _numeric(lv) else range(len(lv))
        ax.plot(x, e["mean"], marker="o", color="tab:blue", label="mean")
        ax.fill_between(x, e["ci_low"], e["ci_high"], color="tab:blue", alpha=0.2, label="95% CI")
        if not _numeric(lv):
            ax.set_xticks(list(x), [str(v) for v in lv])
        ax.set_xlabel(param_label(p, base), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(params) :]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel(unit)
    if kpi.endswith("_pct"):
        lo = min(effects["ci_low"].min(skipna=True), effects["mean"].min())
        axes[0][0].set_ylim(max(0.0, lo - 10), 100)
    axes[0][0].legend(fontsize=8)
    title = _kpi_title(kpi, service, base) + " by swept parameter (others averaged over; band: 95% CI)"
    fig.suptitle(textwrap.fill(title, width=55 * ncols), fontsize=10)
    fig.tight_layout()
    return fig


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


def tornado_figure(sens: pd.DataFrame, unit: str = "", base: dict | None = None) -> plt.Figure:
    """Tornado chart: the KPI at each parameter's lowest and highest value, largest swing on top."""
    s = sens.iloc[::-1].reset_index(drop=True)
    kpi, service = sens["kpi"].iloc[0], sens["service"].iloc[0]
    mid = float(sens["overall_mean"].iloc[0])
    fig, ax = plt.subplots(figsize=(9, 2.0 + 0.6 * len(s)))
    y = range(len(s))
    # Two half-height bars a row (lowest value above, highest below), so labels never overlap.
    ax.barh(
        [i + 0.2 for i in y],
        s["kpi_at_low"] - mid,
        left=mid,
        height=0.4,
        color="tab:blue",
        alpha=0.8,
        label="at the parameter's lowest value",
    )
    ax.barh(
        [i - 0.2 for i in y],
        s["kpi_at_high"] - mid,
        left=mid,
        height=0.4,
        color="tab:orange",
        alpha=0.8,
        label="at its highest value",
    )
    for i, r in s.iterrows():
        for dy, v, lv in ((0.2, r["kpi_at_low"], r["low_level"]), (-0.2, r["kpi_at_high"], r["high_level"])):
            ax.text(v, i + dy, f" {_fmt(lv)} ", va="center", ha="left" if v >= mid else "right", fontsize=8)
    ax.axvline(mid, color="k", lw=1)
    labels = [
        f"{param_label(r['parameter'], base)}\nswing {r['swing']:+.1f} [{r['swing_ci_low']:+.1f}, "
        f"{r['swing_ci_high']:+.1f}]"
        for _, r in s.iterrows()
    ]
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.set_xlabel(f"{unit} (vertical line: mean over the whole sweep)", fontsize=9)
    ax.set_title(
        textwrap.fill(
            f"Sensitivity of {_kpi_title(kpi, service, base)}: each parameter from its lowest "
            "to its highest value, others averaged over (95% CI of the swing)",
            90,
        ),
        fontsize=10,
    )
    ends = pd.concat([s["kpi_at_low"], s["kpi_at_high"], pd.Series([mid])]).dropna()
    if len(ends):
        lo, hi = float(ends.min()), float(ends.max())
        pad = 0.15 * (hi - lo) if hi > lo else 1.0
        ax.set_xlim(lo - pad, hi + pad)
    fig.legend(fontsize=8, ncol=2, loc="lower center", frameon=False)
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))
    return fig
