"""Figures a commissioner reads at a glance. Functions return figures; nothing here calls ``show()``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox

from sendmodel.analysis.intervals import half_width
from sendmodel.analysis.kpis import waiting_list_series
from sendmodel.analysis.labels import COMMISSIONER_LABELS, KPI_UNITS, label, option_label
from sendmodel.analysis.plotting import plt
from sendmodel.analysis.warmup import series_label, welch
from sendmodel.scenario.config import ADVICE_DUE_DAYS


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
    # Stacked histogram drawn as one filled outline per service (ax.stairs), not a bar per bin (ax.hist):
    # the dashboard redraws it on every update, and hundreds of bar patches took most of its plot time.
    svc, days = a["service"].to_numpy(), tt.to_numpy(dtype=float)
    bottom = np.zeros(len(bins) - 1)
    for i, s in enumerate(health):
        counts, _ = np.histogram(days[svc == s], bins=bins)
        ax.stairs(bottom + counts, bins, baseline=bottom, fill=True, color=f"C{i}", label=_label(sc, s))
        bottom = bottom + counts
    ax.set_xlim(bins[0], bins[-1])
    ax.set_ylim(0, max(1.0, float(bottom.max())) * 1.05)
    ax.axvline(ADVICE_DUE_DAYS, color="k", ls="--", lw=1.5)
    ax.text(ADVICE_DUE_DAYS + 1, ax.get_ylim()[1] * 0.92, "6-week deadline", fontsize=9)
    ax.set_xlabel("Days from request for advice to advice returned (open requests: age at end)")
    ax.set_ylabel("Advice requests (all replications)")
    ax.set_title(f"{sc.name}: health advice turnaround")
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.92)  # fixed margins: tight_layout costs a draw
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
        half = 100 * half_width(m["std"], m["count"])
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


def warm_up(check, series, scenario) -> plt.Figure:
    """Each warm-up series (mean over replications, grey), Welch's moving average (5 weeks either side), MSER-5's
    truncation point (red dashes; none where the series does not settle) and the scenario's warm-up (shaded)."""
    found = {f.name: f.truncation_days for f in check.findings}
    cols = 4
    rows = max(1, -(-len(found) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.4 * rows), squeeze=False)
    for ax, (name, cut) in zip(axes.flat, found.items()):
        y = series.mean(name)
        t = np.arange(y.size) * series.step_days
        ax.plot(t, y, color="0.7", lw=0.8)
        ax.plot(t, welch(y), color="tab:blue", lw=1.2)
        ax.axvspan(0, scenario.simulation.warm_up_days, color="grey", alpha=0.15)
        if cut is not None:
            ax.axvline(cut, color="tab:red", ls="--", lw=1)
        ax.set_title(series_label(name) + ("" if cut is not None else " (not settled)"), fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(found):]:
        ax.axis("off")
    fig.suptitle(f"{scenario.name}: warm-up check (days from the start; shaded: warm-up used; red: MSER-5)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def save_warm_up(check, series, scenario, folder: str | Path) -> list[Path]:
    """Write ``warm_up.png`` (see :func:`warm_up`) into ``folder`` when any series was long enough to check."""
    if not check.findings:
        return []
    fig = warm_up(check, series, scenario)
    p = Path(folder) / "warm_up.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return [p]


STANDARD_PLOTS = {
    "advice_turnaround.png": advice_turnaround,
    "advice_within_6w_by_month.png": within_6w_by_month,
    "waiting_lists.png": waiting_lists,
    "utilisation.png": utilisation,
}


#: What a multi-year run shows by year: (kpi, service, title).
YEAR_PANELS = (
    ("advice_within_6w_pct", "all", "Health advice within 6 weeks"),
    ("plans_within_20w_pct", "all", "EHC plans within 20 weeks"),
    ("requests_open_end", "all", "EHC requests open at the year end"),
    ("cost_funded_gbp", None, "Cost a year by who pays"),
)


def over_years(results, kind: str = "financial") -> plt.Figure:
    """Key KPIs by financial (or calendar) year with 95% CI bands; cost by funder as stacked bars."""
    by = results.by_year(kind)
    panels = YEAR_PANELS
    if not by.empty and (by["kpi"] == "plans_in_force_end").any():
        panels = (*YEAR_PANELS[:-1], ("plans_in_force_end", "all", "EHC plans in force at the year end"),
                  YEAR_PANELS[-1])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    if by.empty:
        for ax in axes:
            ax.axis("off")
        axes[0].text(0, 0.5, "one measured year: nothing to show by year", fontsize=10)
        return fig
    periods = list(dict.fromkeys(by["period"]))
    x = np.arange(len(periods))
    for ax, (kpi, svc, title) in zip(axes, panels):
        d = by[by["kpi"] == kpi]
        if svc is None:
            bottom = np.zeros(len(periods))
            for funder, g in d.groupby("service", sort=False):
                v = g.set_index("period").reindex(periods)["mean"].fillna(0.0).to_numpy() / 1e6
                if v.any():
                    ax.bar(x, v, bottom=bottom, label=COMMISSIONER_LABELS.get(funder, funder))
                    bottom += v
            ax.set_ylabel("GBP million a year")
            ax.legend(fontsize=7)
        else:
            g = d[d["service"] == svc].set_index("period").reindex(periods)
            ax.plot(x, g["mean"], marker="o")
            ax.fill_between(x, g["ci_low"], g["ci_high"], alpha=0.2, label="95% CI")
            ax.set_ylabel(KPI_UNITS.get(kpi, ""))
            if KPI_UNITS.get(kpi) == "%":
                ax.set_ylim(0, 100)
        part = [p for p, days in zip(by.drop_duplicates("period")["period"], by.drop_duplicates("period")["days"])
                if days < 360]
        ax.set_xticks(x, [p + (" (part)" if p in part else "") for p in periods], rotation=30, fontsize=8)
        ax.set_title(title, fontsize=10)
    fig.suptitle(f"{results.scenario.name}: by {kind} year ({results.replications} replications)", fontsize=11)
    fig.tight_layout()
    return fig


def save_standard_plots(results, folder: str | Path) -> list[Path]:
    """Write the standard run plots as PNG files into ``folder`` (and the by-year plot for a multi-year run)."""
    out = []
    if not results.periods.empty:
        fig = over_years(results)
        fig.savefig(Path(folder) / "over_years.png", dpi=110)
        plt.close(fig)
        out.append(Path(folder) / "over_years.png")
    chk = results.warmup_check()
    if chk is not None:
        out += save_warm_up(chk, results.warmup_series, results.scenario, folder)
    for name, fn in STANDARD_PLOTS.items():
        fig = fn(results)
        p = Path(folder) / name
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    return out


# --- option comparisons (sendmodel compare) ---------------------------------------------------------------------

COMPARISON_KPIS = (
    "advice_within_6w_pct",
    "advice_turnaround_median_days",
    "advice_not_known_turnaround_median_days",
    "advice_misrouted_turnaround_median_days",
    "dmo_signoff_median_days",
    "plans_within_20w_pct",
    "routine_waiting_weeks_per_year",
)
_VERDICT_COLOURS = {"better": "tab:green", "worse": "tab:red"}


def _options_in_order(table: pd.DataFrame) -> list[str]:
    """Baseline first, then the options in the order they were given."""
    opts = list(dict.fromkeys(table["option"]))
    base = table["baseline"].iloc[0]
    return [base] + [o for o in opts if o != base]


def comparison_kpis(table: pd.DataFrame, kpis=COMPARISON_KPIS) -> plt.Figure:
    """Each option's mean with its 95% CI, one panel per KPI; colour = paired verdict against the baseline.

    The dashed line is the baseline's mean; the text beside each option is its paired difference and 95% CI.
    """


    t = table[(table["service"] == "all") & table["kpi"].isin(kpis)]
    kpis = [k for k in kpis if k in set(t["kpi"])]
    opts = _options_in_order(table)
    base = opts[0]
    ncol = 2
    nrow = max(1, -(-len(kpis) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(13, 2.2 + 0.42 * len(opts) * nrow), squeeze=False)
    for ax, kpi in zip(axes.flat, kpis):
        k = t[t["kpi"] == kpi].set_index("option").reindex(opts)
        y = np.arange(len(opts))[::-1]
        for yi, (opt, r) in zip(y, k.iterrows()):
            if pd.isna(r["mean"]):
                continue
            colour = "k" if opt == base else _VERDICT_COLOURS.get(r["verdict"], "grey")
            err = 0 if pd.isna(r["half_width"]) else r["half_width"]
            ax.errorbar(r["mean"], yi, xerr=err, fmt="o", color=colour, capsize=3)
            big = abs(r["mean"]) >= 1000  # counts in thousands read best as whole numbers with commas
            num = (lambda v: f"{v:+,.0f}") if big else (lambda v: f"{v:+.1f}")  # noqa: E731
            note = "baseline" if opt == base else (
                f"{num(r['diff'])} [{num(r['diff_ci_low'])}, {num(r['diff_ci_high'])}]")
            ax.annotate(note, (1.0, yi), xycoords=("axes fraction", "data"), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=7, color=colour)
        if base in k.index and pd.notna(k.loc[base, "mean"]):
            ax.axvline(k.loc[base, "mean"], color="k", ls="--", lw=0.8)
        ax.set_yticks(y, [option_label(o) for o in opts], fontsize=8)
        ax.set_title(f"{label(kpi)} ({KPI_UNITS.get(kpi, '')})", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}"))
        ax.xaxis.set_major_locator(MaxNLocator(6))  # few enough that thousands do not run into each other
    for ax in list(axes.flat)[len(kpis):]:
        ax.set_visible(False)
    fig.suptitle(f"Options against {option_label(base)}: mean and 95% CI; green better, red worse, grey no clear "
                 f"difference (paired, common random numbers)", fontsize=10)
    fig.tight_layout()
    fig.subplots_adjust(wspace=0.75)
    return fig


def efficient_options(points: pd.DataFrame) -> list[str]:
    """Options no other option beats on both cost (lower) and on-time advice (higher): the efficient frontier."""
    out = []
    for opt, r in points.iterrows():
        beaten = (
            (points["cost"] <= r["cost"]) & (points["effect"] >= r["effect"])
            & ((points["cost"] < r["cost"]) | (points["effect"] > r["effect"]))
        )
        if not beaten.any():
            out.append(opt)
    return out


def cost_vs_within_6w(table: pd.DataFrame) -> plt.Figure:
    """Cost a year against % of health advice within 6 weeks: up and to the left is better value.

    Efficient options (none is both cheaper and better) are joined by the frontier line; the others are grey.
    """
    t = table[table["service"] == "all"]
    cost = t[t["kpi"] == "cost_total_gbp"].set_index("option")
    eff = t[t["kpi"] == "advice_within_6w_pct"].set_index("option")
    opts = [o for o in _options_in_order(table) if o in cost.index and o in eff.index]
    # Error bars: the CI of each option's paired difference from the baseline (what the comparison rests on).
    pts = pd.DataFrame({"cost": cost.loc[opts, "mean"] / 1000.0, "effect": eff.loc[opts, "mean"],
                        "err": eff.loc[opts, "diff_half_width"].fillna(0)})
    front = efficient_options(pts)
    waits = t[t["kpi"] == "routine_waiting_weeks_per_year"].set_index("option")  # what each option displaces
    fig, ax = plt.subplots(figsize=(11, 5.5))
    notes, key = [], []
    for opt, r in pts.iterrows():
        good = opt in front
        ax.errorbar(r["cost"], r["effect"], yerr=r["err"], fmt="o", capsize=3,
                    color="tab:blue" if good else "grey", ms=8 if good else 6)
        notes.append((option_label(opt), (r["cost"], r["effect"]), "k" if good else "grey"))
        if opt in waits.index and waits.loc[opt, "baseline"] != opt:
            w = waits.loc[opt]
            key.append((option_label(opt), f"{w['diff']:+,.0f}" + ("" if w["ci_excludes_zero"] else " (not clear)")))
    ax.margins(x=0.15, y=0.1)  # room for the labels
    f = pts.loc[front].sort_values("cost")
    ax.plot(f["cost"], f["effect"], color="tab:blue", lw=1, alpha=0.6, label="efficient options")
    ax.set_xlabel("Cost a year, GBP thousands (PAs modelled plus set-up spread over the amortisation years)")
    ax.set_ylabel("Health advice returned within 6 weeks (%)\nbars: 95% CI of the difference from the baseline")
    ax.set_title("Value for money: on-time health advice against cost (up and left is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout(rect=(0, 0, 0.7, 1))
    if key:  # what each option displaces, beside the plot: one line each, so nothing crowds the points
        fig.text(0.72, 0.9, "Routine waiting each option adds (+)\nor removes (-) on the health services'\n"
                 "lists, child-weeks a year,\nagainst " + option_label(table["baseline"].iloc[0]) + ":",
                 fontsize=9, va="top")
        for i, (name, value) in enumerate(key):
            y = 0.72 - i * 0.045
            fig.text(0.72, y, name, fontsize=9, va="top")
            fig.text(0.985, y, value, fontsize=9, va="top", ha="right")
    place_labels(ax, notes)
    return fig


# Where a label may go, in points from its point: beside it first, then above and below, then further out
# (with a line back to the point). Tried in order; the first that overlaps nothing already drawn is kept.
_NEAR = [(6, 3), (6, -3), (-6, 3), (-6, -3), (0, 10), (0, -10)]
_FAR = [(dx, dy) for dy in (22, -22, 40, -40, 60, -60) for dx in (10, -10)]


def place_labels(ax, notes: list[tuple[str, tuple[float, float], str]], fontsize: int = 8) -> None:
    """Label points so that no label covers another label, a point or its error bar, or leaves the axes.

    ``notes``: (text, (x, y) in data units, colour). Each label tries the places in ``_NEAR`` then ``_FAR``
    and keeps the first free one; one with no free place goes where it overlaps least, with a line to its
    point. Call after the axes' limits are final (after ``tight_layout``)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    taken = [line.get_window_extent(renderer) for line in ax.lines]  # markers and error bars
    for c in ax.collections:  # error bars: a collection's own extent is empty, so box each segment
        for seg in getattr(c, "get_segments", list)():
            (x0, y0), (x1, y1) = ax.transData.transform(np.asarray(seg)[[0, -1]])
            taken.append(Bbox.from_extents(min(x0, x1) - 2, min(y0, y1), max(x0, x1) + 2, max(y0, y1)))
    taken += [a.get_window_extent(renderer) for a in ax.texts]
    legend = ax.get_legend()
    if legend is not None:
        taken.append(legend.get_window_extent(renderer))

    def overlap(box) -> float:
        area = 0.0
        for t in taken:
            w = min(box.x1, t.x1) - max(box.x0, t.x0)
            h = min(box.y1, t.y1) - max(box.y0, t.y0)
            if w > 0 and h > 0:
                area += w * h
        out = box.width * box.height - max(0.0, min(box.x1, inside.x1) - max(box.x0, inside.x0)) * max(
            0.0, min(box.y1, inside.y1) - max(box.y0, inside.y0))
        return area + 10 * out  # leaving the axes is worse than touching another label

    # the most crowded first would be better still; top to bottom keeps a reading order
    def draw(text, xy, colour, dx, dy, line=False):
        return ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                           color=colour, ha="left" if dx >= 0 else "right",
                           va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                           arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6} if line else None)

    for text, xy, colour in sorted(notes, key=lambda n: -n[1][1]):  # top to bottom: a reading order
        best = None
        for dx, dy in _NEAR + _FAR:
            a = draw(text, xy, colour, dx, dy)
            box = a.get_window_extent(renderer).expanded(1.04, 1.1)
            a.remove()
            cost = overlap(box)
            if (dx, dy) in _FAR:  # a line back to the point must not cross another point's bar or label
                px, py = ax.transData.transform(xy)
                ex = box.x0 if dx >= 0 else box.x1
                ey = box.y0 if dy > 0 else box.y1
                for f in np.linspace(0.25, 1.0, 8):
                    qx, qy = px + f * (ex - px), py + f * (ey - py)
                    cost += 50 * sum(t.x0 <= qx <= t.x1 and t.y0 <= qy <= t.y1 for t in taken)
            if best is None or cost < best[0]:
                best = (cost, dx, dy, box)
            if cost == 0:
                break
        _cost, dx, dy, box = best
        draw(text, xy, colour, dx, dy, line=(dx, dy) in _FAR)
        taken.append(box)


def who_pays(table: pd.DataFrame) -> plt.Figure:
    """Extra cost a year of each option against the baseline, stacked by funder (joint costs split)."""


    t = table[table["kpi"] == "cost_funded_gbp"]
    opts = [o for o in _options_in_order(table)[1:] if o in set(t["option"])]
    funders = list(dict.fromkeys(t["service"]))
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.5 * max(len(opts), 1)))
    left_pos = np.zeros(len(opts))
    left_neg = np.zeros(len(opts))
    for f in funders:
        v = t[t["service"] == f].set_index("option").reindex(opts)["diff"].fillna(0).to_numpy() / 1000.0
        start = np.where(v >= 0, left_pos, left_neg)
        ax.barh([option_label(o) for o in opts], v, left=start, label=COMMISSIONER_LABELS.get(f, f))
        left_pos += np.where(v >= 0, v, 0)
        left_neg += np.where(v < 0, v, 0)
    ax.axvline(0, color="k", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel(f"Extra cost a year against {option_label(table['baseline'].iloc[0])}, GBP thousands")
    ax.set_title("Who pays: extra cost a year by funder")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


COMPARISON_PLOTS = {
    "comparison_kpis.png": comparison_kpis,
    "cost_vs_within_6w.png": cost_vs_within_6w,
    "who_pays.png": who_pays,
}


def save_comparison_plots(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write the option-comparison plots as PNG files into ``folder`` (cost plots only when costs are given)."""
    out = []
    kpis = set(table["kpi"])
    for name, fn in COMPARISON_PLOTS.items():
        if fn is not comparison_kpis and "cost_total_gbp" not in kpis:
            continue
        fig = fn(table)
        p = Path(folder) / name
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    return out
