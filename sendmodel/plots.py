"""Figures a commissioner reads at a glance. Functions return figures; nothing here calls ``show()``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .analysis import waiting_list_series  # noqa: E402
from .config import ADVICE_DUE_DAYS  # noqa: E402


def _label(sc, s: str) -> str:
    return sc.services[s].label if s in sc.services else s


def _window(results):
    sim = results.scenario.simulation
    return sim.warm_up_days, sim.warm_up_days + sim.horizon_days


def advice_turnaround(results) -> plt.Figure:
    """Distribution of health advice turnaround (days) by service, against the 6-week line."""
    sc, adv = results.scenario, results.advice
    lo, hi = _window(results)
    health = [s for s in sc.advice_services() if sc.services[s].kind == "health"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    due = adv["requested_day"] + ADVICE_DUE_DAYS
    a = adv[(due >= lo) & (due < hi)]
    tt = a["turnaround_days"].fillna(hi - a["requested_day"])
    bins = np.arange(0, max(126, float(np.nanmax(tt)) + 7 if len(tt) else 126), 7)
    data = [tt[a["service"] == s] for s in health]
    ax.hist(data, bins=bins, stacked=True, label=[_label(sc, s) for s in health])
    ax.axvline(ADVICE_DUE_DAYS, color="k", ls="--", lw=1.5)
    ax.text(ADVICE_DUE_DAYS + 1, ax.get_ylim()[1] * 0.92, "6-week deadline", fontsize=9)
    ax.set_xlabel("Days from request for advice to advice returned (open requests: age at end)")
    ax.set_ylabel("Advice requests (all replications)")
    ax.set_title(f"{sc.name}: health advice turnaround")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def within_6w_by_month(results) -> plt.Figure:
    """Share of health advice returned within 6 weeks, by month the advice fell due (mean over replications)."""
    sc, adv = results.scenario, results.advice
    lo, hi = _window(results)
    health = [s for s in sc.advice_services() if sc.services[s].kind == "health"]
    a = adv[adv["service"].isin(health)].copy()
    a["due"] = a["requested_day"] + ADVICE_DUE_DAYS
    a = a[(a["due"] >= lo) & (a["due"] < hi)]
    start = pd.Timestamp(sc.simulation.start_date)
    a["month"] = (start + pd.to_timedelta(a["due"], unit="D")).dt.to_period("M").dt.to_timestamp()
    ok = a["returned_day"].le(a["due"])
    a["ok"] = ok
    m = a.groupby(["month", "replication"])["ok"].mean().groupby("month").agg(["mean", "std", "count"])
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(m.index, 100 * m["mean"], marker="o", label="health advice within 6 weeks")
    if len(m) and (m["count"] > 1).any():
        half = 1.96 * 100 * m["std"] / np.sqrt(m["count"])
        ax.fill_between(m.index, 100 * m["mean"] - half, 100 * m["mean"] + half, alpha=0.2, label="95% CI")
    ax.set_ylim(0, 100)
    ax.set_ylabel("% within 6 weeks")
    ax.set_xlabel("Month the advice was due")
    ax.set_title(f"{sc.name}: health advice within 6 weeks, by month")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def waiting_lists(results) -> plt.Figure:
    """Children waiting for each service over time (routine plus EHC advice), mean over replications."""
    sc = results.scenario
    lo, hi = _window(results)
    start = dt.datetime.combine(sc.simulation.start_date, dt.time())
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for s, svc in sc.services.items():
        series = [waiting_list_series(r, s) for r in results.records]
        if not series:
            continue
        t = series[0][0]
        n = np.mean([x[1] for x in series], axis=0)
        if n.max() <= 0:
            continue
        dates = [start + dt.timedelta(days=float(x)) for x in t]
        ax.plot(dates, n, label=svc.label)
    ax.axvspan(start, start + dt.timedelta(days=lo), color="grey", alpha=0.15, label="warm-up (not measured)")
    ax.set_ylabel("Children waiting")
    ax.set_title(f"{sc.name}: waiting lists (routine and EHC advice)")
    ax.legend(fontsize=8, ncol=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def utilisation(results) -> plt.Figure:
    """Share of each service's PAs spent working, with 95% CI."""
    sc = results.scenario
    s = results.summary()
    u = s[(s["kpi"] == "utilisation") & s["mean"].notna()]
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [_label(sc, x) for x in u["service"]]
    err = u["half_width"].fillna(0).to_numpy()
    ax.barh(labels, 100 * u["mean"], xerr=100 * err, color="tab:blue", alpha=0.8)
    ax.axvline(85, color="k", ls=":", lw=1)
    ax.text(85.5, -0.6, "85%: queues grow fast above this", fontsize=8)
    ax.set_xlim(0, 105)
    ax.set_xlabel("Utilisation of PAs in the measured period (%)")
    ax.set_title(f"{sc.name}: utilisation")
    fig.tight_layout()
    return fig


STANDARD_PLOTS = {
    "advice_turnaround.png": advice_turnaround,
    "advice_within_6w_by_month.png": within_6w_by_month,
    "waiting_lists.png": waiting_lists,
    "utilisation.png": utilisation,
}


def save_standard_plots(results, folder: str | Path) -> list[Path]:
    """Write the standard run plots as PNG files into ``folder``."""
    out = []
    for name, fn in STANDARD_PLOTS.items():
        fig = fn(results)
        p = Path(folder) / name
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    return out
