"""The compare dashboard: tick options, see the paired comparison with the baseline and cost against on-time.

Every option runs the same replications with the same seed (common random numbers), so the table's differences
and their 95% CIs are paired, as in :func:`sendmodel.compare` (whose table functions build it). Runs happen in
the background, debounced, newest choice winning; each option's runs are kept, so ticking one more option runs
only that one.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W
import pandas as pd

from sendmodel.analysis.compare import cost_effectiveness, paired_table
from sendmodel.analysis.labels import COMMISSIONER_LABELS, label, option_label
from sendmodel.analysis.overload import check_overload, spread_notes
from sendmodel.analysis.plots import cost_vs_within_6w
from sendmodel.scenario.loading import config_hash
from sendmodel.widgets._base import Dashboard, figure, output, takes_settings
from sendmodel.widgets._engine import Stale, run_frames
from sendmodel.widgets._render import capacity_html, figure_png, fmt
from sendmodel.widgets._sync import LOCK

TABLE_KPIS = [
    "advice_within_6w_pct",
    "advice_turnaround_median_days",
    "plans_within_20w_pct",
    "dmo_signoff_median_days",
    "cost_total_gbp",
]
CE_KPI = "cost_per_extra_advice_within_6w_gbp"
_HEADERS = {
    "advice_within_6w_pct": "Health advice within 6 weeks",
    "advice_turnaround_median_days": "Advice turnaround, median",
    "plans_within_20w_pct": "EHC plans within 20 weeks",
    "dmo_signoff_median_days": "DMO/DCO sign-off, median",
    "cost_total_gbp": "Cost a year",
}
_VERDICT_CLASS = {"better": "sm-better", "worse": "sm-worse"}


def _short(name: str) -> str:
    """A file's short name for tables: 'options/spa_triage' -> 'spa_triage'."""
    return name.split("/")[-1]


def _diff_text(r) -> str:
    unit = r["unit"]
    if unit.upper().startswith("GBP"):
        d = f"{'+' if r['diff'] >= 0 else '-'}£{abs(r['diff']):,.0f}"
        ci = f"£{r['diff_ci_low']:,.0f} to £{r['diff_ci_high']:,.0f}"
    else:
        d = f"{r['diff']:+.1f}"
        ci = f"{r['diff_ci_low']:+.1f} to {r['diff_ci_high']:+.1f}"
    return (
        d
        if pd.isna(r["diff_half_width"]) or r["diff_half_width"] == 0
        else f"{d} <span class='sm-ci'>({ci})</span>"
    )


def comparison_html(table: pd.DataFrame, baseline: str) -> str:
    """Options as rows, headline KPIs as columns: the mean, then the paired difference from the baseline."""
    t = table[table["service"] == "all"]
    opts = [baseline] + [o for o in dict.fromkeys(table["option"]) if o != baseline]
    kpis = [k for k in TABLE_KPIS if k in set(t["kpi"])]
    has_ce = CE_KPI in set(t["kpi"])
    head = "<tr><th>Option</th>" + "".join(f"<th>{html.escape(_HEADERS.get(k, label(k)))}</th>" for k in kpis)
    head += "<th>Cost per extra advice within 6 weeks</th>" if has_ce else ""
    rows = [head + "</tr>"]
    for opt in opts:
        cells = [
            f"<b>{html.escape(option_label(opt))}</b>"
            + (" <span class='sm-ci'>(baseline)</span>" if opt == baseline else "")
        ]
        for k in kpis:
            m = t[(t["option"] == opt) & (t["kpi"] == k)]
            if m.empty or pd.isna(m.iloc[0]["mean"]):
                cells.append("")
                continue
            r = m.iloc[0]
            txt = html.escape(fmt(r["mean"], r["unit"]))
            if opt != baseline and not pd.isna(r["diff"]):
                cls = _VERDICT_CLASS.get(r["verdict"], "")
                txt += f"<br><span class='{cls}'>{_diff_text(r)}</span>"
            cells.append(txt)
        if has_ce:
            m = t[(t["option"] == opt) & (t["kpi"] == CE_KPI)]
            if m.empty:
                cells.append("")
            else:
                r = m.iloc[0]
                val = "" if pd.isna(r["mean"]) else html.escape(fmt(r["mean"], "GBP")) + "<br>"
                cells.append(val + f"<span class='sm-ci'>{html.escape(r['verdict'])}</span>")
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="sm-table sm-comparison">{"".join(rows)}</table>'


def who_pays_html(table: pd.DataFrame, baseline: str) -> str:
    """Extra cost a year against the baseline, by funder (joint costs split), with the paired 95% CI."""
    t = table[table["kpi"] == "cost_funded_gbp"]
    if t.empty:
        return ""
    funders = list(dict.fromkeys(t["service"]))
    opts = [o for o in dict.fromkeys(table["option"]) if o != baseline]
    head = (
        "<tr><th>Option: extra cost a year</th>"
        + "".join(f"<th>{html.escape(COMMISSIONER_LABELS.get(f, f))}</th>" for f in funders)
        + "</tr>"
    )
    rows = [head]
    for opt in opts:
        cells = [html.escape(option_label(opt))]
        for f in funders:
            m = t[(t["option"] == opt) & (t["service"] == f)]
            cells.append("" if m.empty else _diff_text(m.iloc[0]))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="sm-table sm-who-pays">{"".join(rows)}</table>'


UNCERTAIN_KPIS = ("advice_within_6w_pct", "plans_within_20w_pct", "routine_waiting_weeks_per_year")
NO_RANGES = "none (the central values)"


def uncertainty_html(summary: pd.DataFrame, sets: int, reps: int) -> str:
    """Each option against the baseline with the inputs drawn over their ranges: the difference over noise and
    inputs together, and the chance the option is better."""
    t = summary[summary["kpi"].isin(UNCERTAIN_KPIS) & (summary["service"] == "all")]
    if t.empty:
        return ""
    kpis = [k for k in UNCERTAIN_KPIS if k in set(t["kpi"])]
    head = "<tr><th>Option</th>" + "".join(f"<th>{html.escape(label(k))}</th>" for k in kpis) + "</tr>"
    rows = [head]
    for opt, g in t.groupby("option", sort=False):
        cells = [f"<b>{html.escape(option_label(opt))}</b>"]
        for k in kpis:
            m = g[g["kpi"] == k]
            if m.empty:
                cells.append("")
                continue
            r = m.iloc[0]
            none = all(r[c] == 0 for c in ("diff_mean_over_sets", "noise_and_input_low", "noise_and_input_high"))
            pb = ("no difference in any set" if none else "" if pd.isna(r["p_better"]) else
                  f"<b>{100 * r['p_better']:.0f}%</b> chance better")
            num = (lambda v: f"{v:+,.0f}") if abs(r["diff_mean_over_sets"]) >= 100 else (lambda v: f"{v:+.1f}")
            cells.append(f"{num(r['diff_mean_over_sets'])} <span class='sm-ci'>({num(r['noise_and_input_low'])} to "
                         f"{num(r['noise_and_input_high'])})</span><br>{pb}"
                         + (f"<br><span class='sm-ci'>moves with {html.escape(r['main_driver'])}</span>"
                            if r["main_driver"] else ""))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<p><b>Under input uncertainty</b> ({sets} parameter sets drawn from the ranges, {reps} replications "
            "each, every option on the same draws): the difference from the baseline over simulation noise and "
            "the inputs together, and the chance the option is better.</p>"
            f'<table class="sm-table sm-uncertainty">{"".join(rows)}</table>')


def files_with_ranges(files: dict) -> list[str]:
    """The scenario files that give a field as a range (read as text: cheap, and enough to offer them)."""
    out = []
    for name, path in files.items():
        try:
            if isinstance(path, Path) and "uncertain:" in path.read_text():
                out.append(name)
        except OSError:
            continue
    return out


class CompareDashboard(Dashboard):
    """See :func:`compare`. Widgets are attributes, so scripts and tests can drive it without a browser."""

    progress_unit = "option replications"
    failed_message = "The comparison failed"
    wait_seconds = 300
    min_replications = 2

    @takes_settings(Dashboard.__init__)
    def __init__(
        self,
        options: list[str] | None = None,
        baseline: str | None = None,
        *,
        delay: float = 0.5,
        run_now: bool = True,
        **settings,
    ):
        super().__init__(delay=delay, **settings)
        if not self.files:
            raise ValueError(f"no scenario files in {self.scenarios_dir}")
        names = list(self.files)
        if baseline is None:
            baseline = next((n for n in ("options/status_quo", "baseline") if n in self.files), names[0])
        if options is None:
            options = [n for n in names if n.startswith("options/")] or names
        baseline = self._register(baseline)
        options = [self._register(n) for n in options]
        names = list(self.files)  # with any file given by its path

        self.table = None  # the latest comparison table (sendmodel.compare's columns)
        self._cache: dict[tuple, tuple] = {}  # (content hash, replications, seed) -> (KPIs, capacity measures)
        self.overload: dict = {}  # option -> its capacity check (sendmodel.analysis.overload.OverloadCheck)

        self.baseline = self._picker(baseline, "Baseline", "sm-baseline", width="380px")
        self.choices = {
            n: output(
                "sm-option-" + n.replace("/", "-").replace("_", "-"),
                W.Checkbox,
                value=n in options,
                description=option_label(n),
                tooltip=option_tooltip(n, self.files.get(n)),
                indent=False,
                layout=W.Layout(width="auto"),
            )
            for n in names
        }
        for c in self.choices.values():
            c.observe(self._on_change, names="value")
        self.baseline.observe(self._on_change, names="value")
        self.replications.observe(self._on_change, names="value")
        self.ranges = output("sm-ranges", W.Dropdown, options=[NO_RANGES, *files_with_ranges(self.files)],
                             value=NO_RANGES, description="Input ranges", layout=W.Layout(width="380px"),
                             style={"description_width": "initial"},
                             tooltip="a file whose fields given as ranges are drawn for every option that keeps "
                                     "them at their central value")
        self.input_sets = output("sm-input-sets", W.BoundedIntText, value=8, min=3, max=100,
                                 description="Input sets", layout=W.Layout(width="200px"))
        self.ranges.observe(self._on_change, names="value")
        self.input_sets.observe(self._on_change, names="value")
        self.uncertainty = output("sm-uncertainty-table")
        self.comparison = output("sm-comparison-table")
        self.capacity = output("sm-capacity")
        self.who_pays = output("sm-who-pays-table")
        self.plot = figure("sm-plot")
        self._outputs = (self.capacity, self.comparison, self.who_pays, self.plot, self.uncertainty)

        self.widget = self._columns(
            "sendmodel-compare",
            "Compare options",
            "Tick the options to compare with the baseline. Every option sees the same children "
            "and requests, so each difference (below each mean, with its 95% CI) is the option's own "
            "effect: <span class='sm-better'>green</span> is clearly better, "
            "<span class='sm-worse'>red</span> clearly worse, black not clearly different.",
            W.VBox([W.HBox([self.baseline, self.replications]), W.HBox([self.ranges, self.input_sets])]),
            [W.HTML("<b>Options</b>"), *self.choices.values()],
            [self.capacity, self.comparison, self.uncertainty, W.HTML("<b>Who pays</b>"), self.who_pays,
             self.plot],
            px=(300, 600),
        )
        self._start(run_now)

    def selected(self) -> list[str]:
        """The baseline then the ticked options (each once)."""
        base = self.baseline.value
        return [base] + [n for n, c in self.choices.items() if c.value and n != base]

    def set(self, options: list[str] | None = None, baseline: str | None = None) -> None:
        """Choose options and/or the baseline in one go (one update follows). For scripts and tests."""
        with self._quietly():
            if baseline is not None:
                self.baseline.value = baseline
            if options is not None:
                for n, c in self.choices.items():
                    c.value = n in options
        self.update()

    def _payload(self):
        """The chosen files, loaded (a bad one gives a message), with the keys their runs are kept under."""
        chosen = self.selected()
        if len(chosen) < 2:
            self._say("Tick at least one option to compare with the baseline.", kind="warning")
            return None
        scenarios = {}
        for n in chosen:
            scenarios[n] = self._scenario(n, f"Cannot use {n}:")
            if scenarios[n] is None:
                return None
        self._say()
        reps = int(self.replications.value)
        keys = {n: (config_hash(sc), reps, self.seed) for n, sc in scenarios.items()}
        ranges = None
        if self.ranges.value != NO_RANGES:
            ranges = self._scenario(self.ranges.value, f"Cannot use {self.ranges.value} for the ranges:")
            if ranges is None:
                return None
        return chosen, scenarios, keys, reps, (ranges, int(self.input_sets.value))

    def _work(self, payload, progress, is_stale):
        chosen, scenarios, keys, reps, (ranges, sets) = payload
        todo = [n for n in chosen if keys[n] not in self._cache]
        total, done = max(len(todo) * reps + (sets * (len(chosen) * reps) if ranges else 0), 1), 0
        for n in todo:
            res = run_frames(
                scenarios[n],
                reps,
                self.seed,
                self.workers,
                lambda d, _n, base=done: progress(base + d, total),
                is_stale,
            )
            self._cache[keys[n]] = (res.kpis.copy(), res.load)
            done += reps
        frames = []
        for n in chosen:
            k = self._cache[keys[n]][0].copy()
            k["scenario"] = _short(n)
            frames.append(k)
        kpis = pd.concat(frames, ignore_index=True)
        base = _short(chosen[0])
        table = pd.concat([paired_table(kpis, base), cost_effectiveness(kpis, base)], ignore_index=True)
        png = figure_png(cost_vs_within_6w, table) if "cost_total_gbp" in set(table["kpi"]) else b""
        over = {_short(n): check_overload(self._cache[keys[n]][1], scenarios[n]) for n in chosen}
        spread = {_short(n): spread_notes(table[table["option"] == _short(n)], scenarios[n], reps) for n in chosen}
        uncertain = self._under_uncertainty(chosen, scenarios, ranges, sets, reps, done, total, progress, is_stale,
                                            (table, base, png, over, spread)) if ranges is not None else ""
        return table, base, png, len(todo), reps, over, spread, uncertain

    def _under_uncertainty(self, chosen, scenarios, ranges, sets, reps, done, total, progress, is_stale, first):
        """The comparison with the ranges' inputs drawn (after the central one is shown): its table's HTML."""
        from sendmodel.studies.uncertainty.propagate import compare_uncertain, with_ranges

        if not is_stale():
            with LOCK:  # widgets changed off the widget thread: see _sync
                self._show_comparison(*first)
            self._provisional(f"Comparison shown; now under input uncertainty: {sets} parameter sets",
                              self.capacity, self.comparison, self.who_pays, self.plot)
        opts, _kept = with_ranges({_short(n): scenarios[n] for n in chosen}, ranges)
        if not any(sc.uncertain_inputs for sc in opts.values()):
            return (f"<p class='sm-warning'>No option keeps a field of {html.escape(self.ranges.value)} at its "
                    "central value, so there is nothing to draw.</p>")

        def step(j, n):
            if is_stale():
                raise Stale()
            progress(done + j * len(chosen) * reps, total)

        summary, _sets = compare_uncertain(opts, _short(chosen[0]), sets=sets, replications=reps, seed=self.seed,
                                           workers=self.workers, progress=step)
        return uncertainty_html(summary, sets, reps)

    def _show_comparison(self, table, base, png, over, spread) -> None:
        self.table, self.overload = table, over
        self.capacity.value = "".join(capacity_html(c, spread.get(n, []), option_label(n))
                                      for n, c in over.items())
        self.comparison.value = comparison_html(table, base)
        self.who_pays.value = who_pays_html(table, base)
        self.plot.value = png

    def _show(self, out) -> dict:
        table, base, png, ran, reps, over, spread, uncertain = out
        self._show_comparison(table, base, png, over, spread)
        self.uncertainty.value = uncertain
        return {"options_run": ran}

    def _done_status(self, out, felt: float) -> str:
        table, base, _png, ran, reps, _over, _spread, _uncertain = out
        n_opts = table["option"].nunique() - 1
        return (
            f"Updated in {felt:.1f} s: {n_opts} option{'s' if n_opts != 1 else ''} against {option_label(base)}, "
            f"{reps} replications each, seed {self.seed}{self._quick_words}; ran {ran}, reused the rest"
        )


def option_tooltip(name: str, source) -> str:
    """The file's own description (what the option models), or its name; cheap: the YAML is read, not validated."""
    import yaml

    try:
        if hasattr(source, "description"):
            desc = source.description
        elif Path(source).stat().st_size < 1_000_000:  # a huge file is refused when it is run, not read here
            desc = (yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}).get("description")
        else:
            desc = None
    except Exception:  # noqa: BLE001 - a tooltip must never stop the dashboard; the file is checked when run
        desc = None
    return f"{name}: {' '.join(str(desc).split())}" if desc else name


@takes_settings(CompareDashboard, drop=("delay", "run_now"))
def compare(options: list[str] | None = None, baseline: str | None = None, **settings) -> CompareDashboard:
    """The compare dashboard: options against a baseline, paired on common random numbers.

    Parameters
    ----------
    options : list of str, optional
        Scenario names (as in the scenarios folder: "options/spa_triage") ticked at the start; default: every
        file in ``scenarios/options/``.
    baseline : str, optional
        The option the others are compared with (default "options/status_quo", else "baseline").
    scenarios_dir, replications, seed, workers, quick
        As :func:`sendmodel.widgets.explore`.

    Examples
    --------
    >>> from sendmodel.widgets import compare
    >>> compare()          # doctest: +SKIP
    """
    return CompareDashboard(options, baseline, **settings)
