"""Calibration and back-test figures. Functions return figures; nothing here calls ``show()``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendmodel.analysis.plotting import plt
from sendmodel.studies.calibration.compare import BASE_YEAR

BANDS = (("plans_issued_within_20w_pct", "within 20 weeks"), ("plans_issued_20_to_52w_pct", "20 to 52 weeks"),
         ("plans_issued_over_52w_pct", "over 52 weeks"))


def comparison(table: pd.DataFrame, title: str = "") -> plt.Figure:
    """Each target's error in units of its tolerance, with the 95% CI: inside the band = within tolerance."""
    t = table[table["target"].notna()].iloc[::-1]
    z = (t["model_mean"] - t["target"]) / t["tolerance"]
    half = (t["half_width"] / t["tolerance"]).fillna(0)
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(13, 0.38 * len(t) + 1.8))
    ax.axvspan(-1, 1, color="tab:green", alpha=0.12, label="within tolerance")
    ax.axvline(0, color="k", lw=0.8)
    colors = np.where(t["within_tolerance"].fillna(False).astype(bool), "tab:blue", "tab:red")
    ax.errorbar(z, y, xerr=half, fmt="none", ecolor="grey", capsize=3)
    ax.scatter(z, y, c=colors, zorder=3)
    labels = [f"{lab} [{r:.1f} vs {m:.1f} {u}]".replace(" %", "%") for lab, r, m, u in
              zip(t["label"], t["target"], t["model_mean"], t["unit"].fillna(""))]
    ax.set_yticks(y, labels, fontsize=8)
    lim = max(3.0, float(np.nanmax(np.abs(z) + half)) + 0.3) if len(t) else 3.0
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("(model mean - target) / tolerance; labels: [published vs model]")
    ax.set_title(title or "Model against published targets (95% CI)", loc="left", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def issue_time(table: pd.DataFrame, year: int) -> plt.Figure:
    """Plans issued in the year by weeks from request: published (DfE, excl. exceptions) against the model."""
    t = table.set_index("kpi")
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(BANDS))
    pub = [t["target"].get(k, np.nan) for k, _ in BANDS]
    mod = [t["model_mean"].get(k, np.nan) for k, _ in BANDS]
    err = [t["half_width"].get(k, np.nan) for k, _ in BANDS]
    ax.bar(x - 0.2, pub, 0.4, label=f"DfE SEN2 {year} (excl. exceptions)", color="0.35")
    ax.bar(x + 0.2, mod, 0.4, yerr=np.nan_to_num(err), capsize=4, label="model (95% CI)", color="tab:blue")
    ax.set_xticks(x, [b for _, b in BANDS])
    ax.set_ylabel("% of plans issued in the year")
    mw = t.loc["plan_weeks_mean"] if "plan_weeks_mean" in t.index else None
    sub = "" if mw is None else f"; mean weeks: DfE {mw['target']:.1f}, model {mw['model_mean']:.1f}"
    ax.set_title(f"EHC plans by weeks from request to issue, {year}{sub}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def backtest(bt: pd.DataFrame) -> plt.Figure:
    """Published against predicted 20-week share and mean weeks, by year (2024 calibration, demand of each year)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"capacity_2024": ("tab:blue", "o", "model: 2024 capacity"),
              "capacity_follows_demand": ("tab:orange", "s", "model: LA casework and EP follow demand")}
    for ax, (kpi, name) in zip(axes, (("plans_issued_within_20w_pct", "% of plans within 20 weeks"),
                                       ("plan_weeks_mean", "mean weeks from request to plan"))):
        k = bt[(bt["kpi"] == kpi) & (bt["service"] == "all")]
        pub = k.drop_duplicates("year").set_index("year")["target"].dropna()
        ax.plot(pub.index, pub.values, "k-", marker="D", label="DfE SEN2 (published)")
        for i, (variant, (color, marker, lab)) in enumerate(styles.items()):
            v = k[k["variant"] == variant].sort_values("year")
            if v.empty:
                continue
            dx = (i - 0.5) * 0.12
            ax.errorbar(v["year"] + dx, v["model_mean"], yerr=v["half_width"].fillna(0), fmt=marker, color=color,
                        capsize=3, label=lab)
        ax.axvline(BASE_YEAR, color="grey", ls=":", lw=1)
        ax.text(BASE_YEAR, ax.get_ylim()[1], " fitted", va="top", fontsize=8, color="grey")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("calendar year")
        years = sorted(k["year"].unique())
        ax.set_xticks(years)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Back-test: each year's published demand through the 2024 calibration", fontsize=11)
    fig.tight_layout()
    return fig
