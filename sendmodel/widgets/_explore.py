"""The explore dashboard: pick a scenario, move the levers a commissioner controls, see the KPIs change.

Every lever maps to a scenario field (see :mod:`sendmodel.widgets.levers`); a change is validated at once
(a bad value shows a message, never a traceback) and then run in the background, debounced, with the newest
change winning, so the page never freezes. The first change to a scenario also runs the file as it stands,
with the same seed (common random numbers), so the table can say what the change did.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import ipywidgets as W

from sendmodel.analysis.plots import advice_turnaround
from sendmodel.scenario.checks import scenario_warnings
from sendmodel.scenario.config import Scenario
from sendmodel.scenario.errors import ScenarioError
from sendmodel.scenario.loading import load_scenario
from sendmodel.widgets._common import (
    DEFAULT_REPLICATIONS,
    DEFAULT_SEED,
    QUICK_REPLICATIONS,
    QUICK_SIMULATION,
    Dashboard,
    default_scenarios_dir,
    resolve_quick,
    scenario_files,
)
from sendmodel.widgets._engine import LatestRunner, run_frames, warm_pool
from sendmodel.widgets._render import CSS, figure_png, kpi_table_html, message_html, service_table_html
from sendmodel.widgets.levers import LeverError, apply_levers, levers_for, read_levers, service_rows

_GIVEN = "(scenario given in Python)"
_SLIDERS = {"dmo_pas": "DMO/DCO PAs a week", "demand": "EHC requests a year per 70,000"}


def _css_key(key: str) -> str:
    return "sm-lever-" + key.replace(".", "-").replace("_", "-")


class ExploreDashboard(Dashboard):
    """See :func:`explore`. Attributes are the widgets: scripts and tests drive it without a browser."""

    def __init__(
        self,
        scenario: str | Path | Scenario = "baseline",
        *,
        scenarios_dir: str | Path | None = None,
        replications: int | None = None,
        seed: int = DEFAULT_SEED,
        workers: int = 2,
        delay: float = 0.1,  # sliders fire on release (continuous_update=False): only typing needs more
        quick: bool | None = None,
        run_now: bool = True,
    ):
        self.quick = resolve_quick(quick)
        self.seed = seed
        self.workers = workers
        self.scenarios_dir = Path(scenarios_dir) if scenarios_dir else default_scenarios_dir()
        self.files: dict[str, Any] = (
            dict(scenario_files(self.scenarios_dir)) if self.scenarios_dir.is_dir() else {}
        )
        first = self._register(scenario)
        reps = replications or (QUICK_REPLICATIONS if self.quick else DEFAULT_REPLICATIONS)

        self.results = None  # the latest Results shown
        self.summary = None  # its summary (mean and 95% CI per KPI)
        self.reference_summary = None  # the scenario file as it stands, when the table compares with it
        self.timings: list[dict] = []  # one per update shown: compute and felt seconds
        self._references: dict[tuple, Any] = {}
        self._first_felt: float | None = None
        self._suspend = False
        self.runner = LatestRunner(
            self._work, self._on_start, self._on_progress, self._on_result, self._on_error, delay=delay
        )

        self.picker = W.Dropdown(
            options=list(self.files), value=first, description="Scenario", layout=W.Layout(width="420px")
        )
        self.picker.add_class("sm-scenario")
        self.replications = W.BoundedIntText(
            value=reps, min=1, max=500, description="Replications", layout=W.Layout(width="200px")
        )
        self.replications.add_class("sm-replications")
        self.message = W.HTML()
        self.message.add_class("sm-message")
        self.progress = W.IntProgress(
            value=0, min=0, max=reps, description="", layout=W.Layout(width="260px")
        )
        self.progress.add_class("sm-progress")
        self.status = W.HTML("Starting...")
        self.status.add_class("sm-status")
        self.table = W.HTML()
        self.table.add_class("sm-kpi-table")
        self.service_table = W.HTML()
        self.service_table.add_class("sm-service-table")
        self.plot = W.Image(format="png", layout=W.Layout(max_width="760px"))
        self.plot.add_class("sm-plot")
        self.controls: dict[str, W.ValueWidget] = {}
        self.controls_box = W.VBox()

        self.picker.observe(self._on_pick, names="value")
        self.replications.observe(self._on_change, names="value")
        header = W.HTML(
            CSS + "<h3 style='margin:4px 0'>Explore a scenario</h3>"
            "<div>Change a lever and the figures update by themselves (a run takes a few seconds). "
            "Numbers are means over replications with 95% confidence intervals.</div>"
        )
        right = W.VBox(
            [
                self.message,
                W.HBox([self.progress, self.status]),
                self.table,
                self.plot,
                W.HTML("<b>By service</b>"),
                self.service_table,
            ],
            layout=W.Layout(flex="1 1 560px", min_width="480px"),
        )
        left = W.VBox([self.controls_box], layout=W.Layout(flex="0 0 500px", margin="0 16px 0 0"))
        self.widget = W.VBox(
            [
                header,
                W.HBox([self.picker, self.replications]),
                W.HBox([left, right], layout=W.Layout(flex_flow="row wrap")),
            ]
        )
        self.widget.add_class("sendmodel-explore")

        self._load(first)
        if run_now and self.base is not None:
            if self.workers > 1:
                warm_pool(self.workers)
            self.update(immediate=True)

    # --- scenarios and levers -------------------------------------------------------------------------------

    def _register(self, scenario) -> str:
        if isinstance(scenario, Scenario):
            self.files[_GIVEN] = scenario
            return _GIVEN
        s = str(scenario)
        if s in self.files:
            return s
        p = Path(s)
        if p.suffix in (".yaml", ".yml") and p.exists():
            name = p.stem if p.stem not in self.files else str(p)
            self.files[name] = p
            return name
        raise ValueError(f"scenario {s!r} not found; give a file path or one of {sorted(self.files)}")

    def _load(self, name: str) -> None:
        """Load a scenario and set every lever to its values (without starting runs for each one)."""
        self.base = None
        src = self.files[name]
        try:
            sc = src if isinstance(src, Scenario) else load_scenario(src)
            if self.quick:
                sc = sc.override(QUICK_SIMULATION)
        except ScenarioError as exc:
            self._show_error(f"Cannot use this scenario file. {exc}")
            self.controls_box.children = []
            return
        self.base = sc
        self.scenario = sc
        self.levers = levers_for(sc)
        self.file_values = read_levers(sc, self.levers)
        self._suspend = True
        try:
            self.controls = {lv.key: self._make_control(lv, self.file_values[lv.key]) for lv in self.levers}
            self.controls_box.children = self._layout_controls(sc)
        finally:
            self._suspend = False
        self.message.value = ""

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
        self._suspend = True
        try:
            for k, v in values.items():
                self.controls[k].value = v
        finally:
            self._suspend = False
        self.update()

    # --- running --------------------------------------------------------------------------------------------

    def _on_pick(self, change) -> None:
        self._load(change["new"])
        if self.base is not None:
            self.update()

    def _on_change(self, change=None) -> None:
        if not self._suspend:
            self.update()

    def update(self, immediate: bool = False) -> bool:
        """Validate the levers and ask for a run. False (and a message shown) when a value cannot be used."""
        if self.base is None:
            return False
        vals = self.values()
        try:
            sc = apply_levers(self.base, vals, self.levers)
        except LeverError as exc:
            self._show_error(exc.message)
            return False
        warn = scenario_warnings(sc)
        self.message.value = "".join(message_html(w, "warning") for w in warn)
        self.scenario = sc
        unchanged = vals == self.file_values
        payload = (
            self.picker.value,
            self.base,
            sc,
            int(self.replications.value),
            self.seed,
            unchanged,
            time.perf_counter(),
        )
        self.runner.request(payload, immediate=immediate)
        return True

    def _work(self, payload, progress, is_stale):
        name, base, sc, reps, seed, unchanged, asked = payload
        t0 = time.perf_counter()
        key = (name, base.simulation.horizon_days, reps, seed)
        ref = self._references.get(key)
        total = reps if (unchanged or ref is not None) else 2 * reps
        if not unchanged and ref is None:
            ref = run_frames(
                base, reps, seed, self.workers, lambda d, n: progress(d, total), is_stale
            ).summary()
            self._references[key] = ref
        offset = total - reps

        self._first_felt = None

        def first_figures(part) -> None:  # the table from the replications in so far; the plot waits for all
            if not is_stale():
                self._first_felt = time.perf_counter() - asked
                self.table.value = kpi_table_html(part.summary(), ref, part.scenario)
                self.status.value = (
                    f"First figures from {part.replications} of {reps} replications; the rest are running"
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
        png = figure_png(advice_turnaround, res)
        return res, summary, ref, png, time.perf_counter() - t0, asked

    def _on_start(self) -> None:
        self.progress.layout.visibility = "visible"
        self.status.value = "Running..."

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max = total
        self.progress.value = done
        if not self.status.value.startswith("First figures"):
            self.status.value = f"Running: {done} of {total} replications done"

    def _on_result(self, out) -> None:
        res, summary, ref, png, compute, asked = out
        self.results, self.summary, self.reference_summary = res, summary, ref
        self.table.value = kpi_table_html(summary, ref, res.scenario)
        self.service_table.value = service_table_html(summary, res.scenario, ref)
        self.plot.value = png
        felt = time.perf_counter() - asked
        self.timings.append(
            {
                "compute_seconds": compute,
                "felt_seconds": felt,
                "replications": res.replications,
                "first_felt_seconds": self._first_felt,
            }
        )
        sc = res.scenario
        self.progress.value = self.progress.max
        self.progress.layout.visibility = "hidden"
        self.status.value = (
            f"Updated in {felt:.1f} s: {res.replications} replications, seed {res.seed}, "
            f"{sc.population:,.0f} children, {sc.simulation.horizon_days:g} days measured"
            + (" (quick mode)" if self.quick else "")
        )

    def _on_error(self, exc: BaseException) -> None:
        self.progress.layout.visibility = "hidden"
        self.status.value = "Run failed"
        self._show_error(f"The run failed: {exc}")

    def _show_error(self, text: str) -> None:
        self.message.value = message_html(text, "error")

    def wait(self, timeout: float | None = 120) -> bool:
        """Block until the latest change has been run and shown (scripts and tests). True if it finished."""
        return self.runner.wait(timeout)


def explore(
    scenario: str | Path | Scenario = "baseline",
    *,
    scenarios_dir: str | Path | None = None,
    replications: int | None = None,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
    quick: bool | None = None,
) -> ExploreDashboard:
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
    return ExploreDashboard(
        scenario,
        scenarios_dir=scenarios_dir,
        replications=replications,
        seed=seed,
        workers=workers,
        quick=quick,
    )
