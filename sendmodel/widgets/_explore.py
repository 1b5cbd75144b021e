"""The explore dashboard: pick a scenario, move the levers a commissioner controls, see the KPIs change.

Every lever maps to a scenario field (see :mod:`sendmodel.widgets.levers`); a change is validated at once
(a bad value shows a message, never a traceback) and then run in the background, debounced, with the newest
change winning, so the page never freezes. The first change to a scenario also runs the file as it stands,
with the same seed (common random numbers), so the table can say what the change did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as W

from sendmodel.analysis.plots import advice_turnaround
from sendmodel.scenario.checks import scenario_warnings
from sendmodel.scenario.config import Scenario
from sendmodel.widgets._base import Dashboard, figure, output, takes_settings
from sendmodel.widgets._engine import run_frames
from sendmodel.widgets._render import capacity_html, figure_png, kpi_table_html, service_table_html
from sendmodel.widgets._sync import LOCK
from sendmodel.widgets.levers import LeverError, apply_levers, levers_for, read_levers, service_rows

_SLIDERS = {"dmo_pas": "DMO/DCO PAs a week", "demand": "EHC requests a year per 70,000"}


def _css_key(key: str) -> str:
    return "sm-lever-" + key.replace(".", "-").replace("_", "-")


class ExploreDashboard(Dashboard):
    """See :func:`explore`. Attributes are the widgets: scripts and tests drive it without a browser."""

    @takes_settings(Dashboard.__init__)
    def __init__(
        self,
        scenario: str | Path | Scenario = "baseline",
        *,
        delay: float = 0.1,  # sliders fire on release (continuous_update=False): only typing needs more
        run_now: bool = True,
        **settings,
    ):
        super().__init__(delay=delay, **settings)
        first = self._register(scenario)
        self.results = None  # the latest Results shown
        self.summary = None  # its summary (mean and 95% CI per KPI)
        self.reference_summary = None  # the scenario file as it stands, when the table compares with it
        self.overload = None  # the latest run's capacity check (sendmodel.analysis.overload.OverloadCheck)
        self._references: dict[tuple, Any] = {}
        self._edits: dict[str, dict] = {}  # file -> lever edits kept aside when another file was picked
        self._note = ""  # said with the next run (what a pick did to the edits)

        self.picker = self._picker(first)
        self.table = output("sm-kpi-table")
        self.capacity = output("sm-capacity")  # who is over capacity, and intervals too wide to act on
        self.service_table = output("sm-service-table")
        self.plot = figure("sm-plot")
        self._outputs = (self.capacity, self.table, self.plot, self.service_table)
        self.controls: dict[str, W.ValueWidget] = {}
        self.controls_box = W.VBox()

        self.picker.observe(self._on_pick, names="value")
        self.replications.observe(self._on_change, names="value")
        self.widget = self._columns(
            "sendmodel-explore",
            "Explore a scenario",
            "Change a lever and the figures update by themselves (a run takes a few seconds). "
            "Numbers are means over replications with 95% confidence intervals.",
            W.HBox([self.picker, self.replications]),
            [self.controls_box],
            [self.capacity, self.table, self.plot, W.HTML("<b>By service</b>"), self.service_table],
            px=(500, 560),
        )
        self._load(first)
        self._start(run_now and self.base is not None)

    # --- scenarios and levers -------------------------------------------------------------------------------

    def _load(self, name: str) -> None:
        """Load a scenario and set every lever to its values (without starting runs for each one)."""
        self.base = self._scenario(name)
        if self.base is None:
            self.controls_box.children = []
            return
        sc = self.scenario = self.base
        self.levers = levers_for(sc)
        self.file_values = read_levers(sc, self.levers)
        with self._quietly():
            self.controls = {lv.key: self._make_control(lv, self.file_values[lv.key]) for lv in self.levers}
            self.controls_box.children = self._layout_controls(sc)
        self._say()

    def _make_control(self, lv, value) -> W.ValueWidget:
        tip = f"{lv.label} ({lv.unit}); sets {lv.path}" if lv.unit else f"{lv.label}; sets {lv.path}"
        if lv.kind == "toggle":
            w = W.Checkbox(
                value=bool(value),
                description=lv.label,
                indent=False,
                tooltip=tip,
                layout=W.Layout(width="auto"),
            )
        elif lv.key in _SLIDERS:
            top = lv.high if lv.high is not None else max(3 * value, 10 * lv.step)
            w = W.FloatSlider(
                value=value,
                min=lv.low or 0,
                max=max(top, value),
                step=lv.step,
                description=_SLIDERS[lv.key],
                continuous_update=False,
                readout_format=".1f" if lv.step < 1 else ".0f",
                tooltip=tip,
                style={"description_width": "220px"},
                layout=W.Layout(width="460px"),
            )
        elif lv.group == "services":
            w = W.FloatText(
                value=value, step=lv.step, continuous_update=False, tooltip=tip, layout=W.Layout(width="90px")
            )
        else:
            short = {
                "population": "Children aged 0-17",
                "admin_pas": "Admin support PAs a week",
                "triage_pas": "Triage PAs a week",
            }.get(lv.key, lv.label)
            w = W.FloatText(
                value=value,
                step=lv.step,
                description=short,
                continuous_update=False,
                tooltip=tip,
                style={"description_width": "220px"},
                layout=W.Layout(width="340px"),
            )
        w.add_class(_css_key(lv.key))
        w.observe(self._on_change, names="value")
        return w

    def _layout_controls(self, sc: Scenario) -> list:
        c = self.controls
        out = [W.HTML("<b>The area</b>")]
        out += [c[k] for k in ("population", "demand") if k in c]
        if "dmo_pas" in c:
            unit = next(lv.unit for lv in self.levers if lv.key == "dmo_pas")
            out += [
                W.HTML(f"<b>DMO/DCO</b> <span class='sm-ci'>({unit}; BACD/BACCH recommend 2)</span>"),
                c["dmo_pas"],
                c["admin_support"],
            ]
            out += [c["admin_pas"]] if "admin_pas" in c else []
        if "triage" in c:
            out += [W.HTML("<b>Front door</b>"), c["triage"], c["triage_pas"]]
        rows = service_rows(sc)
        if rows:
            cell = W.Layout(width="90px")
            grid = [
                W.HTML("<b>Service</b>", layout=W.Layout(width="190px")),
                W.HTML("PAs a week", layout=cell),
                W.HTML("reserved PAs", layout=cell),
                W.HTML("% known", layout=cell),
            ]
            for s in rows:
                grid.append(W.HTML(sc.services[s].label, layout=W.Layout(width="190px")))
                for key in (f"pas.{s}", f"ring_fenced.{s}", f"known.{s}"):
                    grid.append(c.get(key, W.HTML("", layout=cell)))
            out += [
                W.HTML(
                    "<b>Services</b> <span class='sm-ci'>(PAs per 70,000 children unless the file says "
                    "absolute; reserved PAs are short-notice slots for children not known)</span>"
                ),
                W.GridBox(
                    grid, layout=W.Layout(grid_template_columns="190px 95px 95px 95px", grid_gap="2px 4px")
                ),
            ]
        return out

    def values(self) -> dict[str, Any]:
        """Every lever's value as shown."""
        return {k: w.value for k, w in self.controls.items()}

    def set(self, **values: Any) -> None:
        """Set levers by key (``dmo_pas=2``, ``**{"pas.slt": 30}``); one update follows (scripts, tests)."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise KeyError(f"unknown lever(s) {sorted(unknown)}; levers: {sorted(self.controls)}")
        with self._quietly():
            for k, v in values.items():
                self.controls[k].value = v
        self.update()

    # --- running --------------------------------------------------------------------------------------------

    def _on_pick(self, change) -> None:
        """Another file: its values replace the levers'. Edits made to the file being left are kept aside and
        come back if it is picked again; the message says which, so nothing is dropped without a word."""
        old, new = change["old"], change["new"]
        edited = {} if self.base is None else {k: v for k, v in self.values().items() if v != self.file_values[k]}
        if edited:
            self._edits[old] = edited
        self._load(new)
        if self.base is None:
            return
        notes = []
        if edited:
            labels = [lv.label for lv in self.levers if lv.key in edited] or list(edited)
            notes.append(f"Your changes to {len(edited)} lever{'s' if len(edited) != 1 else ''} of {old} "
                         f"({', '.join(labels[:4])}{', ...' if len(labels) > 4 else ''}) are kept aside: pick "
                         f"{old} again to have them back. The levers now show {new} as the file gives it.")
        back = {k: v for k, v in self._edits.pop(new, {}).items() if k in self.controls}
        if back:
            with self._quietly():
                for k, v in back.items():
                    self.controls[k].value = v
            notes.append(f"Your earlier changes to {new} ({len(back)} lever{'s' if len(back) != 1 else ''}) are "
                         "back.")
        self._note = " ".join(notes)
        self.update()

    def _payload(self):
        if self.base is None:
            return None
        vals = self.values()
        try:
            sc = apply_levers(self.base, vals, self.levers)
        except LeverError as exc:
            self._say(exc.message)
            return None
        self._say(*([self._note] if self._note else []), *scenario_warnings(sc), kind="warning")
        self._note = ""  # said once, with the first run after the pick
        self.scenario = sc
        # Like for like: with the population changed, the file is compared at the same population, so a
        # bigger area's costs and counts do not read as rises; the population alone is then no change.
        base = self.base
        if sc.population != base.population:
            base = base.override({"population": sc.population})
        unchanged = all(v == self.file_values[k] for k, v in vals.items() if k != "population")
        return self.picker.value, base, sc, int(self.replications.value), self.seed, unchanged

    def _work(self, payload, progress, is_stale):
        """The change, and the first time also the file as it stands (same seed), so the table can compare."""
        name, base, sc, reps, seed, unchanged = payload
        key = (name, base.simulation.horizon_days, base.population, reps, seed)
        ref = self._references.get(key)
        total = reps if (unchanged or ref is not None) else 2 * reps
        if not unchanged and ref is None:
            ref = run_frames(
                base, reps, seed, self.workers, lambda d, n: progress(d, total), is_stale
            ).summary()
            self._references[key] = ref
        offset = total - reps

        def first_figures(part) -> None:  # the table from the replications in so far; the plot waits for all
            if not is_stale():
                html_table = kpi_table_html(part.summary(), ref, part.scenario, self._reference_label(sc))
                with LOCK:  # widgets changed off the widget thread: see _sync
                    self.table.value = html_table
                self._provisional(
                    f"First figures from {part.replications} of {reps} replications; the rest are running",
                    self.table,
                )

        res = run_frames(
            sc,
            reps,
            seed,
            self.workers,
            lambda d, n: progress(offset + d, total),
            is_stale,
            partial=first_figures,
            partial_at=max(2, (reps + 1) // 2) if reps >= 4 else None,
        )
        summary = res.summary()
        if unchanged:
            self._references[key] = summary
            ref = None
        return res, summary, ref, figure_png(advice_turnaround, res)

    def _show(self, out) -> dict:
        res, summary, ref, png = out
        self.results, self.summary, self.reference_summary = res, summary, ref
        self.overload = res.overload_check()
        self.capacity.value = capacity_html(self.overload, res.spread_notes())
        self.table.value = kpi_table_html(summary, ref, res.scenario, self._reference_label(res.scenario))
        self.service_table.value = service_table_html(summary, res.scenario, ref)
        self.plot.value = png
        return {"replications": res.replications, "first_felt_seconds": self.provisional_felt}

    def _reference_label(self, sc) -> str:
        """The comparison column's heading: the file, at the population shown when that was changed."""
        if self.base is not None and sc.population != self.base.population:
            return f"As in the file, at {sc.population:,.0f} children"
        return "As in the file"

    def _done_status(self, out, felt: float) -> str:
        res = out[0]
        sc = res.scenario
        return (
            f"Updated in {felt:.1f} s: {res.replications} replications, seed {res.seed}, "
            f"{sc.population:,.0f} children, {sc.simulation.horizon_days:g} days measured" + self._quick_words
        )


@takes_settings(ExploreDashboard, drop=("delay", "run_now"))
def explore(scenario: str | Path | Scenario = "baseline", **settings) -> ExploreDashboard:
    """The explore dashboard: a scenario, the levers a commissioner controls, KPIs with CIs, turnaround plot.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A name from the scenarios folder ("baseline", "options/triage"), a YAML file, or a Scenario.
    scenarios_dir : path, optional
        Folder the scenario picker lists (default: the project's ``scenarios/``).
    replications : int, optional
        Replications per update (default 10; 2 when ``SENDMODEL_QUICK=1``).
    seed : int
        Base seed; the same seed in every update, so a change is compared on the same demand.
    workers : int
        Processes for the replications (1 = in a background thread of this process).
    quick : bool, optional
        Small, short runs (default: from the ``SENDMODEL_QUICK`` environment variable).

    Examples
    --------
    >>> from sendmodel.widgets import explore
    >>> explore()          # doctest: +SKIP
    """
    return ExploreDashboard(scenario, **settings)
