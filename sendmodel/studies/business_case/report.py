"""The business case as documents: an Excel workbook and a self-contained HTML report with its plots.

The workbook (openpyxl) has one sheet per table of :class:`~sendmodel.business_case.BusinessCase` plus an
``about`` sheet; the HTML report embeds its plots as PNG data, so it opens in any browser, with no Python and no
network. Every number carries its trace: the parameter (field path and source) or the run it comes from.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sendmodel.analysis.labels import COMMISSIONER_LABELS
from sendmodel.analysis.plotting import plt

SHEETS = ["summary", "targets", "PAs by year", "options compared", "capacity check", "cost by commissioner",
          "cost lines", "cost by year", "cost sensitivity", "input uncertainty", "assumptions", "runs", "about"]
_COLOURS = {"today": "#8c8c8c", "plan": "#1b7837", "bacd": "#2166ac", "target": "#b2182b", "kpi": "#5e3c99"}


# --- plots -----------------------------------------------------------------------------------------------------


def _lever_label(bc, r) -> str:
    from sendmodel.studies.business_case.standards import lever_label

    return lever_label(bc.scenario, r.lever, r.services)


def plot_kpi_against_pas(bc) -> plt.Figure:
    """Per lever: the target KPI's mean and 95% CI at every PA level run, the target line, today, need, BACD."""
    from sendmodel.analysis.labels import KPI_UNITS, label
    from sendmodel.studies.business_case.standards import BACD_PAS_PER_70K

    sols = bc.solutions
    n = max(len(sols), 1)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, sols):
        ev = r.evaluations.sort_values("pas_per_week")
        x = ev["pas_per_week"].to_numpy(float)
        ax.fill_between(x, ev["ci_low"], ev["ci_high"], color=_COLOURS["kpi"], alpha=0.2, lw=0,
                        label="95% CI of the mean")
        ax.plot(x, ev["mean"], "-", color=_COLOURS["kpi"], lw=1.5, label="mean across replications")
        met = ev["met"].to_numpy(bool)
        ax.plot(x[met], ev["mean"][met], "o", color=_COLOURS["kpi"], ms=6, label="level meets target")
        ax.plot(x[~met], ev["mean"][~met], "o", mfc="white", mec=_COLOURS["kpi"], ms=6, label="level misses")
        ax.axhline(r.target.threshold, color=_COLOURS["target"], ls="--", lw=1.3,
                   label=f"target {r.target.sense} {round(r.target.threshold, 1):g}")
        ax.axvline(r.funded_pas_per_week, color=_COLOURS["today"], ls=":", lw=1.5,
                   label=f"funded today {r.funded_pas_per_week:.1f} PAs")
        if r.reachable:
            ax.axvline(r.pas_per_week, color=_COLOURS["plan"], ls="-", lw=1.5,
                       label=f"needed (model) {r.pas_per_week:.1f} PAs")
        if r.lever == "dmo":
            bacd = BACD_PAS_PER_70K * bc.scenario.scale
            ax.axvline(bacd, color=_COLOURS["bacd"], ls="-.", lw=1.3, label=f"BACD/BACCH {bacd:.1f} PAs")
        title = f"{_lever_label(bc, r)}: {label(r.target.kpi)}" + (
            "" if r.reachable else "\nNOT REACHABLE by these PAs")  # its own line: a long title is not cut off
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_xlabel("PAs a week")
        unit = KPI_UNITS.get(r.target.kpi, "")
        ax.set_ylabel(f"{label(r.target.kpi)}\n({unit})", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6.5, loc="best", framealpha=0.85)
    fig.suptitle(f"KPI against PAs a week, {bc.scenario.population:,.0f} children 0-17 "
                 f"(up to {bc.settings['replications']} replications per level, seed {bc.settings['seed']})",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))  # room for the title, however many rows
    return fig


def plot_cost_by_commissioner(bc) -> plt.Figure:
    """GBP a year today and with the plan, by responsible commissioner and by funder (joint costs split)."""
    t = bc.cost_by_commissioner
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for ax, basis, title in zip(axes, ["responsible commissioner", "funder (joint costs split)"],
                                ["By responsible commissioner", "By funder (joint budget split)"]):
        d = t[t["basis"] == basis]
        y = np.arange(len(d))
        h = 0.38
        ax.barh(y + h / 2, d["gbp_per_year_today"] / 1e3, h, color=_COLOURS["today"], label="today")
        ax.barh(y - h / 2, d["gbp_per_year_plan"] / 1e3, h, color=_COLOURS["plan"], label="plan (model-needed PAs)")
        for yi, (a, b) in enumerate(zip(d["gbp_per_year_today"], d["gbp_per_year_plan"])):
            if b - a:
                ax.text(max(a, b) / 1e3, yi - h / 2, f"  {b - a:+,.0f}", va="center", fontsize=7)
        ax.set_yticks(y, d["who_label"])
        ax.invert_yaxis()
        ax.set_xlabel("GBP thousand a year")
        ax.set_title(title, fontsize=10, loc="left")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Cost a year of the services modelled (labels: extra GBP a year with the plan)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_options(bc) -> plt.Figure | None:
    """Cost a year against health advice within 6 weeks, today, the plan and each option (95% CIs)."""
    o = bc.options
    a = o[(o["kpi"] == "advice_within_6w_pct") & (o["service"] == "all")].set_index("option")
    c = o[(o["kpi"] == "cost_total_gbp") & (o["service"] == "all")].set_index("option")
    names = [n for n in a.index if n in c.index]
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for n in names:
        col = _COLOURS.get(n, "#d95f02")
        ax.errorbar(c.loc[n, "mean"] / 1e3, a.loc[n, "mean"],
                    yerr=[[a.loc[n, "mean"] - a.loc[n, "ci_low"]], [a.loc[n, "ci_high"] - a.loc[n, "mean"]]],
                    fmt="o", color=col, capsize=3)
        ax.annotate(n, (c.loc[n, "mean"] / 1e3, a.loc[n, "mean"]), textcoords="offset points", xytext=(5, 4),
                    fontsize=8)
    ax.set_xlabel("Cost a year of the services modelled, GBP thousand")
    ax.set_ylabel("Health advice within 6 weeks (%)")
    ax.set_title("Options: what each buys (up and left is better value)", fontsize=10, loc="left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


# --- workbook --------------------------------------------------------------------------------------------------


#: Plain-English column headers of the workbook, and the decimals each figure is rounded to (None: as is).
HEADERS: dict[str, tuple[str, int | None]] = {
    "lever": ("Lever (code)", None), "lever_label": ("Lever", None), "benchmark": ("Benchmark", None),
    "pas_per_week": ("PAs a week", 1), "pas_per_week_per_70k": ("PAs a week per 70,000 children", 2),
    "wte": ("WTE (10 PAs a week = 1)", 2), "gbp_per_year": ("Cost a year (GBP)", 0),
    "trace": ("Where it comes from", None), "note": ("Note", None), "services": ("Services (codes)", None),
    "target": ("Target", None), "target_spec": ("Target (as typed)", None), "reachable": ("Reachable", None),
    "pas_per_week_funded": ("PAs a week funded today", 1), "pas_per_week_needed": ("PAs a week needed", 1),
    "extra_pas_per_week": ("Extra PAs a week needed beyond funded (0: none for this target)", 1),
    "pas_per_week_needed_by_service": ("PAs a week needed, by service", None),
    "offered_load_pas_per_week": ("Offered load, PAs a week (queueing estimate)", 1),
    "search_cap_pas_per_week": ("Search cap, PAs a week", 1), "levels_run": ("PA levels judged", None),
    "runs": ("Replications used", None), "simulated": ("Replications simulated for this target", None),
    "replications": ("Replications", None), "seed": ("Seed", None), "monotone": ("Monotone in PAs", None),
    "run_ids": ("Runs", None), "option": ("Option", None), "baseline": ("Compared with", None),
    "kpi": ("KPI (code)", None), "service": ("Service", None), "label": ("KPI", None), "unit": ("Unit", None),
    "n": ("Replications with a value", None), "mean": ("Mean", 2), "ci_low": ("95% CI low", 2),
    "ci_high": ("95% CI high", 2), "half_width": ("95% CI half-width", 2), "baseline_mean": ("Mean today", 2),
    "diff": ("Difference from today", 2), "diff_ci_low": ("Difference, 95% CI low", 2),
    "diff_ci_high": ("Difference, 95% CI high", 2), "diff_half_width": ("Difference, 95% CI half-width", 2),
    "ci_excludes_zero": ("Clear difference", None), "verdict": ("Verdict", None), "basis": ("Basis", None),
    "who": ("Who (code)", None), "who_label": ("Who", None), "gbp_per_year_today": ("Today, GBP a year", 0),
    "gbp_per_year_plan": ("With the plan, GBP a year", 0), "extra_gbp_per_year": ("Extra, GBP a year", 0),
    "line": ("Line (code)", None), "kind": ("Kind", None), "commissioner": ("Commissioner (code)", None),
    "commissioner_label": ("Commissioner", None), "gbp_per_pa": ("GBP per PA", 0),
    "pas_per_week_today": ("PAs a week today", 1), "pas_per_week_plan": ("PAs a week with the plan", 1),
    "run_id": ("Run", None), "scenario": ("Scenario", None), "what": ("What", None), "judged": ("Judged value", 2),
    "financial_year": ("Financial year", None), "days": ("Days", 0), "gbp_today": ("Today, GBP", 0),
    "gbp_plan": ("With the plan, GBP", 0), "extra_gbp": ("Extra, GBP", 0), "extra_gbp_nhs": ("Extra, NHS, GBP", 0),
    "extra_gbp_la_education": ("Extra, LA education, GBP", 0),
    "extra_gbp_la_social_care": ("Extra, LA social care, GBP", 0),
    "extra_gbp_nhs_england": ("Extra, NHS England, GBP", 0),
    "extra_gbp_la_public_health": ("Extra, LA public health, GBP", 0),
    "extra_gbp_schools": ("Extra, schools, GBP", 0),
    "extra_gbp_per_year_nhs_england": ("Extra, NHS England, GBP a year", 0),
    "extra_gbp_per_year_la_public_health": ("Extra, LA public health, GBP a year", 0),
    "extra_gbp_per_year_schools": ("Extra, schools, GBP a year", 0),
    "split": ("Joint split (this line)", None), "line_label": ("Line", None),
    "case": ("Case", None), "extra_gbp_per_year_nhs": ("Extra, NHS, GBP a year", 0),
    "extra_gbp_per_year_la_education": ("Extra, LA education, GBP a year", 0),
    "extra_gbp_per_year_la_social_care": ("Extra, LA social care, GBP a year", 0),
    "met": ("Met", None), "decided": ("Decided", None), "parameter": ("Parameter", None), "value": ("Value", None),
    "meaning and unit": ("Meaning and unit", None), "source": ("Source", None), "item": ("Item", None),
    # the capacity check (sendmodel.analysis.overload): what keeps up, today and with the plan
    "role": ("Role", None), "status": ("Keeps up?", None), "utilisation": ("Share of PAs busy", 2),
    "offered_load": ("Work arriving, share of PAs", 2), "offered_load_ci_low": ("Work arriving, 95% CI low", 2),
    "offered_load_ci_high": ("Work arriving, 95% CI high", 2),
    "queue_growth_per_month": ("Queue growth a month", 1), "queue_growth_ci_low": ("Queue growth, 95% CI low", 1),
    "queue_growth_ci_high": ("Queue growth, 95% CI high", 1), "queue_start": ("Queue at the start", 0),
    "queue_end": ("Queue at the end", 0), "open_end": ("Open at the end", 0),
    "open_age_median_weeks": ("Open: median weeks waited", 1), "open_age_p90_weeks": ("Open: 90th percentile weeks",
                                                                                       1),
    "measured_months": ("Months measured", 1),
    "set": ("Input set", None),  # the business case under input uncertainty
    # the plan by year (by_year.py)
    "ehc_requests": ("EHC requests expected in the year", 0),
    "pas_per_week_at_start": ("PAs a week in post at the year's start", 1),
    "extra_pas_per_week_this_year": ("PAs a week added this year", 1),
    "extra_pas_per_week_since_start": ("PAs a week added since the first year's start", 1),
}
SUMMARY_TABLE_ROW = 9  # the summary sheet's table starts here (1-based); above it, the scope and the norm


COST_KINDS = {"pas": "PAs (staff)", "recurring": "recurring, not staff", "setup": "one-off set-up"}


def plain_table(df: pd.DataFrame) -> pd.DataFrame:
    """A table as the workbook shows it: figures rounded as :data:`HEADERS` says, headers in plain English."""
    out = df.copy()
    if "kind" in out and "line" in out:  # cost lines: what each line is, in words
        out["kind"] = out["kind"].map(lambda k: COST_KINDS.get(k, k))
        out = out.rename(columns={"label": "line_label"})
    if "split" in out:  # a joint matrix cell's own split, as a finance officer reads it
        out["split"] = out["split"].map(lambda d: "; ".join(f"{COMMISSIONER_LABELS.get(f, f)} {v:.0%}"
                                                            for f, v in d.items()) if isinstance(d, dict) else "")
    for col, (_, nd) in HEADERS.items():
        if nd is not None and col in out and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].round(nd)
        elif nd is not None and col in out:
            out[col] = out[col].map(lambda v, nd=nd: round(v, nd) if isinstance(v, (int, float)) else v)
    return out.rename(columns={c: HEADERS[c][0] for c in out.columns if c in HEADERS})


def _shown_command(command: str) -> str:
    """The command as typed, with folders dropped from file arguments (no server path leaves the machine)."""
    import shlex

    if not command:
        return ""
    words = shlex.split(command)
    return " ".join(shlex.quote(Path(w).name if "/" in w and not w.startswith("-") else w) for w in words)


def _about(bc) -> pd.DataFrame:
    from sendmodel.studies.business_case.standards import SCOPE, prices_phrase

    s = bc.settings
    file = s.get("scenario_file")
    rows = [
        ("what", "DMO/DCO resource business case from sendmodel: PAs a week needed to meet each target, beside the "
                 "BACD/BACCH recommendation and the PAs funded today, with cost by commissioner"),
        ("scenario", f"{bc.scenario.name} ({Path(str(file)).name if file else 'in memory'})"),
        ("population", f"{bc.scenario.population:,.0f} children aged 0-17"),
        ("replications per level, at most", s["replications"]),
        ("replications simulated", f"{s.get('replications_simulated', '')} (a replication is run once and shared by "
                                   "every target and the comparison that needs it; a PA level that clearly misses or, "
                                   "short of the answer, clearly meets its target is decided on fewer than the full "
                                   "replications; every answer is met on all of them)"),
        ("seed", s["seed"]),
        ("prices", prices_phrase(s)),
        ("confidence", "lower (upper) 95% CI bound must meet an 'at least' ('at most') target"
         if s["confidence"] == "ci" else "mean must meet the target"),
        *([("input uncertainty", f"every target solved again at {s['input_sets']} parameter sets of the "
                                 "uncertain inputs (seeded Latin hypercube, the same replications); the summary's "
                                 "90th percentile is the PAs that meet the targets at 9 in 10 of the sets")]
          if s.get("input_sets") else []),
        ("written", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")),
        ("command", _shown_command(s.get("command", ""))),
        ("how to read", "summary: benchmarks per lever in PAs a week, WTE and GBP a year; every figure's 'where it "
                        "comes from' names the parameter (see assumptions) or the run (see runs)"),
        ("scope", SCOPE),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def _dmo_side_by_side(bc) -> list[tuple[str, str]]:
    """The DMO/DCO's PAs as the model needs them beside the BACD/BACCH norm and today's (the summary sheet)."""
    s = bc.summary[bc.summary["lever"] == "dmo"].set_index("benchmark")
    if s.empty:
        return []

    def pas(bench):
        return "not reachable" if bench not in s.index or pd.isna(s.loc[bench, "pas_per_week"]) else (
            f"{s.loc[bench, 'pas_per_week']:.1f}")

    return [("DMO/DCO, PAs a week", "Funded today", "Model: the statutory sign-off work it simulates",
             "BACD/BACCH norm: the whole role (2 PAs per 70,000 children)"),
            ("", pas("Funded today"), pas("Needed (model)"), pas("BACD/BACCH recommendation"))]


def write_workbook(bc, path: Path) -> Path:
    """The workbook: one sheet per table, plain headers bold and frozen, rounded figures, sensible widths; the
    summary sheet opens with the scope and the DMO/DCO's need beside the BACD/BACCH norm."""
    from openpyxl.styles import Alignment, Font

    from sendmodel.studies.business_case.standards import NO_EXTRA_PAS, SCOPE

    tables = dict(bc.tables())
    tables["about"] = _about(bc)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name in [n for n in SHEETS if n in tables]:
            raw = tables[name]
            start = SUMMARY_TABLE_ROW - 1 if name == "summary" else 0
            plain_table(raw).to_excel(xw, sheet_name=name, index=False, startrow=start)
            ws = xw.sheets[name]
            ws.freeze_panes = f"A{start + 2}"
            for cell in ws[start + 1]:
                cell.font = Font(bold=True)
            for j, col in enumerate(raw.columns, start=1):
                letter = ws.cell(row=start + 1, column=j).column_letter
                values = raw[col].head(200).map(lambda v: "" if v is None else str(v))
                head = HEADERS.get(col, (str(col), None))[0]
                width = min(max([len(head) if len(head) < 30 else 30] + [len(v) for v in values]) + 2, 70)
                ws.column_dimensions[letter].width = width
                nd = HEADERS.get(col, ("", None))[1]
                fmt = None if nd is None else ('"£"#,##0' if nd == 0 and "gbp" in str(col) else
                                               "0" if nd == 0 else "0." + "0" * nd)
                for row in ws.iter_rows(min_row=start + 2, min_col=j, max_col=j):
                    for cell in row:
                        if fmt and isinstance(cell.value, (int, float)):
                            cell.number_format = fmt
                        if width >= 70:
                            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if name == "summary":
                ws["A1"] = (f"DMO/DCO and health advice capacity: business case, {bc.scenario.population:,.0f} "
                            "children aged 0-17")
                ws["A1"].font = Font(bold=True, size=13)
                ws["A2"], ws["B2"] = "Scope", SCOPE
                ws["A3"], ws["B3"] = "Extra PAs", ("never shown below 0: where a target is met with fewer PAs than "
                                                   f"today, {NO_EXTRA_PAS}")
                for r, vals in enumerate(_dmo_side_by_side(bc), start=5):
                    for c, v in enumerate(vals, start=1):
                        ws.cell(row=r, column=c, value=v).font = Font(bold=r == 5)
                for cell in (ws["A2"], ws["A3"]):
                    cell.font = Font(bold=True)
                for cell in (ws["B2"], ws["B3"]):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                ws.merge_cells("B2:H2")
                ws.merge_cells("B3:H3")
                ws.row_dimensions[2].height = 62
                ws.row_dimensions[3].height = 32
    return path


# --- HTML ------------------------------------------------------------------------------------------------------


def _fmt(v, kind: str = "num") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "&ndash;"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if not isinstance(v, (int, float, np.integer, np.floating)):
        return html.escape(str(v))
    if kind == "int":
        return f"{int(v):,}"
    if kind == "gbp":
        return ("&minus;" if v < 0 else "") + f"£{abs(v):,.0f}"
    if kind == "pas":
        return f"{v:,.1f}"
    if kind == "wte":
        return f"{v:,.2f}"
    return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"


def _table(df: pd.DataFrame, cols: list[tuple[str, str, str]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in cols)
    body = []
    for _, r in df.iterrows():
        cells = "".join(f"<td class='{k}'>{_fmt(r[c], k)}</td>" for c, _, k in cols)
        body.append(f"<tr>{cells}</tr>")
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;color:#222;
line-height:1.4;padding:0 16px}
h1{font-size:24px;margin-bottom:2px}
h2{font-size:18px;border-bottom:2px solid #1b7837;padding-bottom:3px;margin-top:30px}
.sub{color:#555;margin-top:0}
.headline{background:#f1f8f2;border-left:5px solid #1b7837;padding:10px 14px;margin:14px 0}
.warn{background:#fdf0ef;border-left:5px solid #b2182b;padding:8px 14px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px;width:100%}
th{background:#eef0f3;text-align:left;padding:5px 7px;border-bottom:2px solid #ccc}
td{padding:4px 7px;border-bottom:1px solid #e3e3e3;vertical-align:top}
td.num,td.int,td.gbp,td.pas,td.wte{text-align:right;white-space:nowrap}
td.trace{font-size:11px;color:#555}
tr.gap td{font-weight:600}
img{max-width:100%;border:1px solid #ddd;margin:6px 0}
.small{font-size:12px;color:#555}
.wide{overflow-x:auto}
table.options{font-size:12px}
table.options td:first-child{min-width:200px}
table.options td.num{white-space:normal;min-width:64px}
.note{font-size:11px;color:#555}
"""


def _headline(bc) -> str:
    from sendmodel.studies.business_case.standards import NO_EXTRA_PAS

    s = bc.summary
    out = []
    for lever, g in s.groupby("lever", sort=False):
        g = g.set_index("benchmark")
        name = g["lever_label"].iloc[0]
        today = g.loc["Funded today"]
        need = g.loc["Needed (model)"]
        if pd.isna(need["pas_per_week"]):
            txt = (f"<b>{html.escape(name)}</b>: funded {_fmt(today['pas_per_week'], 'pas')} PAs a week today; "
                   f"<span style='color:#b2182b'>the target is not reachable within the search cap</span> "
                   f"({html.escape(str(need['note']))}).")
        else:
            extra = g.loc["Extra PAs needed beyond funded"]
            more = (f"<b>{_fmt(extra['pas_per_week'], 'pas')} extra PAs a week</b> "
                    f"({_fmt(extra['gbp_per_year'], 'gbp')} a year)" if extra["pas_per_week"] > 0 else
                    html.escape(NO_EXTRA_PAS))
            txt = (f"<b>{html.escape(name)}</b>: the model needs <b>{_fmt(need['pas_per_week'], 'pas')} PAs a week"
                   f"</b> ({_fmt(need['wte'], 'wte')} WTE, {_fmt(need['gbp_per_year'], 'gbp')} a year) for the "
                   f"targets set; funded today {_fmt(today['pas_per_week'], 'pas')}: {more}.")
        q = [b for b in g.index if b.startswith("Needed at the 90th percentile")]
        if q:
            row = g.loc[q[0]]
            txt += (" With the uncertain inputs drawn over their ranges, " + (
                f"<b>{_fmt(row['pas_per_week'], 'pas')} PAs a week</b> meet the targets at 9 in 10 of the "
                f"input sets" if pd.notna(row["pas_per_week"]) else
                "<span style='color:#b2182b'>the targets are not reachable at more than 1 in 10 of the input "
                "sets</span>") + f" ({html.escape(q[0][q[0].index('(') + 1:-1])}; sheet 'input uncertainty').")
        if "BACD/BACCH recommendation" in g.index:
            b = g.loc["BACD/BACCH recommendation"]
            txt += (f" BACD/BACCH recommend <b>{_fmt(b['pas_per_week'], 'pas')} PAs a week</b> "
                    f"({_fmt(b['wte'], 'wte')} WTE, {_fmt(b['gbp_per_year'], 'gbp')} a year).")
            if pd.notna(need["pas_per_week"]) and need["pas_per_week"] < b["pas_per_week"]:
                txt += (" The model counts only the statutory sign-off work it simulates; the recommendation covers "
                        "the whole role (see Scope).")
        out.append(f"<li>{txt}</li>")
    plan = _plan_sentence(bc)
    return "<ul>" + "".join(out) + "</ul>" + (f"<p>{plan}</p>" if plan else "")


def _opt(bc, option: str, kpi: str, service: str = "all"):
    o = bc.options
    r = o[(o["option"] == option) & (o["kpi"] == kpi) & (o["service"] == service)]
    return None if r.empty else r.iloc[0]


def _plan_sentence(bc) -> str:
    """What the plan buys and what it costs whom, from the comparison runs and the cost table."""
    today, plan = _opt(bc, "today", "advice_within_6w_pct"), _opt(bc, "plan", "advice_within_6w_pct")
    if today is None or plan is None:
        return ""
    c = bc.cost_by_commissioner
    tot = c[c["basis"] == "total"].iloc[0]
    funders = c[(c["basis"] == "funder (joint costs split)") & (c["extra_gbp_per_year"].abs() > 0.5)]
    who = ", ".join(f"{html.escape(r['who_label'])} {_fmt(r['extra_gbp_per_year'], 'gbp')}"
                    for _, r in funders.iterrows())
    txt = (f"<b>The plan</b> (every reachable lever at the PAs the model needs): health advice within 6 weeks "
           f"{_fmt(today['mean'])}% today, {_fmt(plan['mean'])}% with the plan (difference "
           f"{plan['diff']:+.1f} points, 95% CI {plan['diff_ci_low']:+.1f} to {plan['diff_ci_high']:+.1f})")
    p20 = _opt(bc, "plan", "plans_within_20w_pct")
    if p20 is not None and pd.notna(p20["diff"]):
        txt += (f"; EHC plans within 20 weeks {_fmt(p20['baseline_mean'])}% to {_fmt(p20['mean'])}%")
    txt += (f". Extra cost {_fmt(tot['extra_gbp_per_year'], 'gbp')} a year"
            + (f" ({who}, joint budgets split by <code>costs.joint_split</code>)." if who else "."))
    return txt


def _options_wide(bc) -> str:
    """KPIs down, options across: mean, and the paired difference from today with its 95% CI underneath."""
    from sendmodel.analysis.labels import label as kpi_label

    o = bc.options
    names = list(dict.fromkeys(o["option"]))
    keys = list(dict.fromkeys(zip(o["kpi"], o["service"])))
    head = "<th>KPI</th><th>Unit</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = []
    for kpi, svc in keys:
        who = "" if svc == "all" else f" ({html.escape(COMMISSIONER_LABELS.get(svc, svc))})"
        first = o[(o["kpi"] == kpi) & (o["service"] == svc)].iloc[0]
        cells = [f"<td>{html.escape(kpi_label(kpi))}{who}</td><td>{html.escape(str(first['unit']))}</td>"]
        for n in names:
            r = _opt(bc, n, kpi, svc)
            if r is None or pd.isna(r["mean"]):
                cells.append("<td class='num'>&ndash;</td>")
                continue
            kind = "gbp" if "gbp" in kpi else "num"
            txt = _fmt(r["mean"], kind)
            if kpi.startswith("cost_per_extra"):
                # a ratio means something only when the option clearly buys more on-time advice
                if not str(r["verdict"]).startswith(("more on-time", "dominant")):
                    txt = f"<span class='note'>{html.escape(str(r['verdict']))}</span>"
                elif pd.notna(r["ci_low"]):
                    txt += f"<br><span class='note'>[{_fmt(r['ci_low'], kind)}, {_fmt(r['ci_high'], kind)}]</span>"
            elif n != "today" and pd.notna(r["diff"]):
                colour = {"better": "#1b7837", "worse": "#b2182b"}.get(r["verdict"], "#555")
                lo, hi = r["diff_ci_low"], r["diff_ci_high"]
                exact = pd.isna(lo) or abs(hi - lo) < 1e-9 * max(1.0, abs(r["diff"]))
                ci = "" if exact else f"<br>[{_fmt(lo, kind)}, {_fmt(hi, kind)}]"
                txt += (f"<br><span class='note' style='color:{colour}'>{'+' if r['diff'] > 0 else ''}"
                        f"{_fmt(r['diff'], kind)}{ci}</span>")
            cells.append(f"<td class='num'>{txt}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class='wide'><table class='options'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
            "</tbody></table></div>")


def write_html(bc, path: Path, figures: dict[str, bytes]) -> Path:
    """A self-contained HTML report (plots embedded as PNG data URIs)."""
    sc = bc.scenario
    s = bc.settings

    def img(key, alt):
        if key not in figures:
            return ""
        b64 = base64.b64encode(figures[key]).decode()
        return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{b64}'>"

    summary = _table(bc.summary, [
        ("lever_label", "Lever", "txt"), ("benchmark", "Benchmark", "txt"), ("pas_per_week", "PAs a week", "pas"),
        ("pas_per_week_per_70k", "per 70,000", "pas"), ("wte", "WTE", "wte"), ("gbp_per_year", "GBP a year", "gbp"),
        ("trace", "Where it comes from", "trace"), ("note", "Note", "txt"),
    ])
    targets = _table(bc.targets, [
        ("lever_label", "Lever", "txt"), ("target", "Target", "txt"), ("reachable", "Reachable", "txt"),
        ("pas_per_week_funded", "Funded", "pas"), ("pas_per_week_needed", "Needed", "pas"),
        ("extra_pas_per_week", "Extra needed", "pas"), ("search_cap_pas_per_week", "Search cap", "pas"),
        ("levels_run", "PA levels run", "int"), ("runs", "Replications run", "int"),
        ("monotone", "Monotone", "txt"), ("note", "Note", "txt"),
    ])
    cost = _table(bc.cost_by_commissioner, [
        ("basis", "Basis", "txt"), ("who_label", "Who", "txt"), ("gbp_per_year_today", "Today, GBP a year", "gbp"),
        ("gbp_per_year_plan", "Plan, GBP a year", "gbp"), ("extra_gbp_per_year", "Extra, GBP a year", "gbp"),
        ("trace", "Where it comes from", "trace"),
    ])
    lines = _table(bc.cost_lines, [
        ("label", "Line", "txt"), ("commissioner_label", "Commissioner", "txt"), ("gbp_per_pa", "GBP per PA", "gbp"),
        ("pas_per_week_today", "PAs today", "pas"), ("pas_per_week_plan", "PAs plan", "pas"),
        ("gbp_per_year_today", "Today", "gbp"), ("gbp_per_year_plan", "Plan", "gbp"),
        ("extra_gbp_per_year", "Extra", "gbp"), ("trace", "Where it comes from", "trace"),
    ])
    sens = "" if bc.cost_sensitivity is None else _table(bc.cost_sensitivity, [
        ("case", "Case", "txt"), ("what", "What changes", "txt"), ("extra_gbp_per_year", "Extra, GBP a year", "gbp"),
        ("extra_gbp_per_year_nhs", "NHS", "gbp"), ("extra_gbp_per_year_la_education", "LA education", "gbp"),
        ("extra_gbp_per_year_la_social_care", "LA social care", "gbp"),
    ])
    by_year = "" if bc.by_year is None else (
        "<h3>PAs by year</h3><p class='small'>Each financial year solved in turn on the same run: the first "
        "year's PAs from its start, each later year's added from its 1 April, each judged on that year's own "
        "figures with the years before already planned. The plan only adds; the cost by year below prices it.</p>"
        + _table(bc.by_year.astype(object).where(bc.by_year.notna(), ""), [
            ("financial_year", "Financial year", "txt"), ("lever_label", "Lever", "txt"),
            ("ehc_requests", "EHC requests", "int"), ("target", "Target", "txt"),
            ("pas_per_week_at_start", "PAs in post at the start", "pas"),
            ("pas_per_week_needed", "PAs needed", "pas"), ("extra_pas_per_week_this_year", "Added", "pas"),
            ("note", "Note", "txt")]))
    years = "" if bc.cost_by_year is None else _table(bc.cost_by_year, [
        ("financial_year", "Financial year", "txt"), ("days", "Days", "int"), ("gbp_today", "Today", "gbp"),
        ("gbp_plan", "With the plan", "gbp"), ("extra_gbp", "Extra", "gbp"), ("extra_gbp_nhs", "NHS", "gbp"),
        ("extra_gbp_la_education", "LA education", "gbp"), ("extra_gbp_la_social_care", "LA social care", "gbp"),
    ])
    options = _options_wide(bc)
    runs = _table(bc.runs.astype(object).where(bc.runs.notna(), ""), [
        ("run_id", "Run", "txt"), ("what", "What", "txt"), ("target", "Target", "txt"), ("mean", "KPI mean", "num"),
        ("ci_low", "CI low", "num"), ("ci_high", "CI high", "num"), ("met", "Met", "txt"),
        ("replications", "Replications", "int"), ("seed", "Seed", "int"),
    ])
    assumptions = _table(bc.assumptions, [
        ("parameter", "Parameter", "txt"), ("value", "Value", "txt"), ("meaning and unit", "Meaning and unit", "txt"),
        ("source", "Source", "trace"),
    ])
    unreachable = bc.targets[~bc.targets["reachable"]]
    warn = ""
    if not unreachable.empty:
        names = ", ".join(html.escape(x) for x in unreachable["lever_label"])
        warn = (f"<p class='warn'>Not reachable within the search cap: {names}. No number is given for these; "
                f"see the targets table.</p>")
    about = _about(bc).set_index("item")["value"]
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Business case: {html.escape(sc.name)}, {sc.population:,.0f} children</title>
<style>{_CSS}</style></head><body>
<h1>DMO/DCO and health advice capacity: business case</h1>
<p class="sub">{sc.population:,.0f} children aged 0-17 &middot; scenario <code>{html.escape(sc.name)}</code> &middot;
up to {s['replications']} replications per PA level, seed {s['seed']}, common random numbers &middot; written
{html.escape(str(about['written']))}</p>
<div class="headline">{_headline(bc)}<p class="small"><b>Scope.</b> {html.escape(str(about['scope']))}</p></div>
{warn}
<h2>1. Benchmarks: PAs a week, WTE and GBP a year</h2>
<p class="small">"Needed (model)": the fewest PAs a week (on a grid of {s['step']:g} PAs) at which the target is met
with 95% confidence (the confidence-interval bound on the safe side meets it), every other service as today.
10 PAs = 1 WTE. GBP a year = PAs a week &times; unit cost per PA &times; 52.18 weeks (leave included).</p>
{summary}
<h2>2. KPI against PAs a week</h2>
<p class="small">Each point is one PA level the solver judged (up to {s['replications']} replications, fewer where the
level clearly missed the target or, above the answer,
clearly met it; the same seed at every level). Band: 95% confidence interval of the mean.
Dashed red: the target.</p>
{img('kpi_against_pas', 'KPI against PAs a week with 95% CI band and target line')}
<h3>Targets and the search</h3>
{targets}
{by_year}
<h2>3. Cost by commissioner</h2>
<p class="small">Plan = every reachable lever at the PAs the model says are needed. Responsible commissioner from
the scenario (CDC joint commissioning bulletin, Appendix 2); joint (pooled) lines split between funders by
<code>costs.joint_split</code>.</p>
{img('cost_by_commissioner', 'Cost a year by commissioner, today and with the plan')}
{cost}
<h3>Cost lines</h3>
{lines}
<h3>By financial year</h3>
<p class="small">The money in each financial year (April-March) the run measures; a year cut by the run's start
or end is partial (its days are given). Dated capacity changes count in the year they apply.</p>
{years}
<h3>If the costs are not as estimated</h3>
<p class="small">The plan's extra cost a year, by funder, as the prices move. The PAs needed do not change with
what they cost; more demand would need more PAs, which only a new run can say (change the demand, or give it a
range and use <code>--input-sets</code>).</p>
{sens}
<h2>4. Options compared</h2>
<p class="small">Today, the plan and each option scenario, the same replications and seed (common random numbers).
Each cell: the mean across replications and, underneath, the paired difference from today with its 95% confidence
interval (green: better, red: worse, grey: no clear difference). Cost per extra advice: Fieller interval. The
workbook's "options compared" sheet has every interval.</p>
{img('options', 'Options: cost a year against health advice within 6 weeks')}
{options}
<h2>5. Scope</h2>
<p>{html.escape(str(about['scope']))}</p>
<h2>6. Assumptions and sources</h2>
{assumptions}
<h2>7. Runs</h2>
{runs}
<p class="small">Reproduce: <code>{html.escape(str(s.get('command', '')))}</code></p>
</body></html>
"""
    path.write_text(doc, encoding="utf-8")
    return path


def write_business_case(bc, out: Path) -> dict[str, Path]:
    """Workbook, HTML report and PNG plots into ``out``, all or nothing; returns their paths by name."""
    from sendmodel.common.io import atomic_dir

    figs = {"kpi_against_pas": _png(plot_kpi_against_pas(bc)),
            "cost_by_commissioner": _png(plot_cost_by_commissioner(bc))}
    f = plot_options(bc)
    if f is not None:
        figs["options"] = _png(f)
    with atomic_dir(out) as tmp:
        for key, data in figs.items():
            (tmp / f"{key}.png").write_bytes(data)
        write_workbook(bc, tmp / "business_case.xlsx")
        write_html(bc, tmp / "business_case.html", figs)
    paths = {key: out / f"{key}.png" for key in figs}
    paths["workbook"] = out / "business_case.xlsx"
    paths["html"] = out / "business_case.html"
    return paths
