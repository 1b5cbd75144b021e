"""Tables and pictures for dashboards: KPI summaries as small HTML tables, figures as PNG bytes."""

from __future__ import annotations

import html
import io
import threading

import numpy as np
import pandas as pd

from sendmodel.analysis.labels import ci_in_range, label

_PLOT_LOCK = threading.Lock()  # pyplot keeps global state; draw one figure at a time

HEADLINE_KPIS = [
    "advice_within_6w_pct",
    "advice_turnaround_median_days",
    "advice_turnaround_p90_days",
    "plans_within_20w_pct",
    "plan_weeks_mean",
    "dmo_signoff_median_days",
    "decisions_within_6w_pct",
    "requests_open_end",
]
SERVICE_KPIS = [
    "advice_within_6w_pct",
    "advice_turnaround_median_days",
    "routine_wait_median_weeks",
    "utilisation",
]
_SHORT = {
    "advice_within_6w_pct": "advice within 6 weeks",
    "advice_turnaround_median_days": "advice turnaround, median",
    "routine_wait_median_weeks": "routine wait, median",
    "utilisation": "utilisation",
}
# Which way is better, for colouring changes (+1 higher, -1 lower is better); labels.KPI_BETTER wins.
BETTER = {
    "advice_within_6w_pct": 1,
    "plans_within_20w_pct": 1,
    "decisions_within_6w_pct": 1,
    "routine_seen_within_target_pct": 1,
    "plans_issued_per_year": 1,
    "advice_turnaround_median_days": -1,
    "advice_turnaround_p90_days": -1,
    "plan_weeks_mean": -1,
    "dmo_signoff_median_days": -1,
    "requests_open_end": -1,
    "requests_open_mean_age_weeks": -1,
    "routine_wait_median_weeks": -1,
    "waiting_list_end": -1,
    "cost_total_gbp": -1,
    "cost_funded_gbp": -1,
    "cost_gbp": -1,
}
try:
    from sendmodel.analysis.labels import KPI_BETTER

    BETTER.update(KPI_BETTER)
except ImportError:  # older labels module
    pass
try:
    from sendmodel.analysis.labels import COMMISSIONER_LABELS
except ImportError:
    COMMISSIONER_LABELS = {}

STALE_CLASS = "sm-stale"  # on an output while a run for newer inputs goes: dimmed, so nobody reads it as current

CSS = """
<style>
.sm-table {border-collapse: collapse; font-size: 13px; margin: 4px 0 10px 0;}
.sm-table th, .sm-table td {padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right;}
.sm-table th:first-child, .sm-table td:first-child {text-align: left;}
.sm-table th {background: #f3f3f3;}
.sm-better {color: #1a7f37; font-weight: 600;} .sm-worse {color: #b42318; font-weight: 600;}
.sm-ci {color: #666; font-size: 11px;}
.sm-table td span {white-space: nowrap;}
.sm-bc-summary td:nth-child(2), .sm-bc-summary td:nth-child(6), .sm-bc-summary th {text-align: left;}
.sm-error {color: #b42318; background: #fdecea; padding: 6px 10px; border-left: 4px solid #b42318;}
.sm-warning {color: #7a4b00; background: #fff4e0; padding: 6px 10px; border-left: 4px solid #e8a33d;}
.sm-ok {color: #444; padding: 2px 0;}
.sm-stale {opacity: 0.45; transition: opacity 0.3s;}
</style>
"""


def fmt(value: float, unit: str) -> str:
    """A KPI value as a commissioner reads it (fractions as percentages)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    if unit == "fraction":
        return f"{100 * value:.0f}%"
    if unit == "%":
        return f"{value:.1f}%"
    if unit in ("requests", "children"):
        return f"{value:,.0f}"
    if unit.upper().startswith("GBP"):
        return f"£{value:,.0f}"
    return f"{value:.1f} {unit}"


def _ci(row) -> str:
    """The 95% CI, cut to what the KPI can take (no share below 0 or above 100%, no negative days or counts):
    with few replications a t-interval can reach past those, which reads as nonsense to a commissioner."""
    if pd.isna(row["half_width"]) or row["half_width"] == 0:
        return ""
    unit = row["unit"]
    lo, hi = ci_in_range(unit, row["ci_low"], row["ci_high"])
    if unit == "fraction":
        return f"{100 * lo:.0f} to {100 * hi:.0f}"
    if unit.upper().startswith("GBP"):
        return f"£{lo:,.0f} to £{hi:,.0f}"
    return f"{lo:.1f} to {hi:.1f}"


def _change(kpi: str, unit: str, now: float, before: float) -> str:
    if before is None or pd.isna(before) or pd.isna(now):
        return ""
    d = now - before
    if unit == "fraction":
        d, txt = 100 * d, f"{100 * d:+.0f} pts"
    elif unit.upper().startswith("GBP"):
        txt = f"{'+' if d >= 0 else '-'}£{abs(d):,.0f}"
    elif unit == "%":
        txt = f"{d:+.1f} pts"
    elif unit in ("requests", "children"):
        txt = f"{d:+,.0f}"
    else:
        txt = f"{d:+.1f}"
    if abs(d) < 1e-9:
        return "<span>no change</span>"
    better = BETTER.get(kpi, 0) * d
    cls = "sm-better" if better > 0 else "sm-worse" if better < 0 else ""
    return f'<span class="{cls}">{html.escape(txt)}</span>'


def _by_key(summary: pd.DataFrame | None) -> dict:
    """Summary rows by (kpi, service), built once a table (a filter per cell took most of a table's time)."""
    if summary is None:
        return {}
    out: dict = {}
    for r in summary.to_dict("records"):
        out.setdefault((r["kpi"], r["service"]), r)
    return out


def kpi_table_html(summary: pd.DataFrame, reference: pd.DataFrame | None = None, scenario=None,
                   reference_label: str = "As in the file") -> str:
    """Headline KPIs (mean and 95% CI), with the change from ``reference`` when given."""
    head = "<tr><th>KPI</th><th>Now</th><th>95% CI</th>"
    if reference is not None:
        head += f"<th>{html.escape(reference_label)}</th><th>Change</th>"
    rows = [head + "</tr>"]
    wanted = [
        (k, "all", label(k) + (" (health services)" if k.startswith("advice") else "")) for k in HEADLINE_KPIS
    ]
    wanted.append(("cost_total_gbp", "all", "Cost a year, all commissioners"))
    funders = summary.loc[summary["kpi"] == "cost_funded_gbp", "service"].tolist()
    wanted += [
        ("cost_funded_gbp", f, f"Cost a year, paid by {COMMISSIONER_LABELS.get(f, f)}") for f in funders
    ]
    now, before_by = _by_key(summary), _by_key(reference)
    for kpi, service, name in wanted:
        r = now.get((kpi, service))
        if r is None:
            continue
        cells = [
            html.escape(name),
            html.escape(fmt(r["mean"], r["unit"])),
            f'<span class="sm-ci">{_ci(r)}</span>',
        ]
        if reference is not None:
            b = before_by.get((kpi, service))
            before = None if b is None else b["mean"]
            cells += [
                html.escape(fmt(before, r["unit"])) if b is not None else "",
                _change(kpi, r["unit"], r["mean"], before),
            ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="sm-table sm-kpis">{"".join(rows)}</table>'


def service_table_html(summary: pd.DataFrame, scenario, reference: pd.DataFrame | None = None) -> str:
    """Per service: advice within 6 weeks, turnaround, routine wait, utilisation, each with its 95% CI below
    (change in brackets)."""
    now, before_by = _by_key(summary), _by_key(reference)
    services = [s for s in scenario.services if ("utilisation", s) in now]
    head = (
        "<tr><th>Service</th>" + "".join(f"<th>{html.escape(_SHORT[k])}</th>" for k in SERVICE_KPIS) + "</tr>"
    )
    rows = [head]
    for s in services:
        cells = [html.escape(scenario.services[s].label)]
        for k in SERVICE_KPIS:
            r = now.get((k, s))
            if r is None or pd.isna(r["mean"]):
                cells.append("")
                continue
            txt = html.escape(fmt(r["mean"], r["unit"]))
            b = before_by.get((k, s))
            if b is not None:
                ch = _change(k, r["unit"], r["mean"], b["mean"])
                if ch and "no change" not in ch:
                    txt += f" ({ch})"
            ci = _ci(r)
            cells.append(txt + (f'<br><span class="sm-ci">{ci}</span>' if ci else ""))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="sm-table sm-services">{"".join(rows)}</table>'


def capacity_html(check, spread: list[str] = (), title: str = "") -> str:
    """The capacity check as boxes: a warning box for each unit over capacity (with the open EHC requests), a
    quieter line for those at capacity, and a note for each per-service interval too wide to act on."""
    name = f"{title}: " if title else ""
    parts = [message_html(f"{name}OVERLOADED: {f}", "warning") for f in check.flags()]
    if check.overloaded and check.open_requests():
        parts.append(message_html(f"{name}{check.open_requests()}", "warning"))
    parts += [message_html(f"{name}{line}", "ok") for line in check.at_capacity()]
    parts += [message_html(f"{name}{n}", "warning") for n in spread]
    return f'<div class="sm-capacity">{"".join(parts)}</div>'


def message_html(text: str, kind: str = "error") -> str:
    """A message box (``kind``: error, warning, ok); the text is escaped, so a file's own words are safe."""
    return f'<div class="sm-{kind}">{html.escape(text)}</div>'


def figure_png(make_figure, *args, dpi: int = 90) -> bytes:
    """Draw a figure with ``make_figure(*args)`` and return it as PNG bytes (the figure is closed)."""
    from sendmodel.analysis.plotting import plt

    with _PLOT_LOCK:
        fig = make_figure(*args)
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi)
        finally:
            plt.close(fig)
    return buf.getvalue()
