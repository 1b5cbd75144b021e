"""The business case dashboard: population and targets in; PAs needed, what they cost and who pays out.

It calls :func:`sendmodel.business_case` (the capacity solver plus benchmarks and costs) in the background
when asked, shows the runs as they happen, and offers the workbook (and the HTML report) as downloads. A
business case takes many runs (each PA level the solver tries), so it starts on a button, not on every key.
"""

from __future__ import annotations

import base64
import html
import tempfile
import time
from pathlib import Path

import ipywidgets as W
import pandas as pd

from sendmodel.scenario.config import Scenario
from sendmodel.scenario.errors import ScenarioError
from sendmodel.studies.business_case.case import business_case, service_target_specs
from sendmodel.studies.business_case.standards import DEFAULT_ADVICE_PCT, DEFAULT_ROUTINE, SCOPE
from sendmodel.widgets._base import Dashboard, figure, output, takes_settings, time_left
from sendmodel.widgets._engine import Stale
from sendmodel.widgets._sync import LOCK

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _money(x) -> str:
    return "" if pd.isna(x) else f"{'-' if x < 0 else ''}£{abs(x):,.0f}"


def _num(x, nd=1) -> str:
    return "" if pd.isna(x) else f"{x:,.{nd}f}"


def summary_html(bc) -> str:
    """PAs a week, WTE and cost a year per lever: funded today, the recommendation, what the model needs."""
    rows = [
        "<tr><th>Lever</th><th>Benchmark</th><th>PAs a week</th><th>WTE</th><th>Cost a year</th>"
        "<th>Note</th></tr>"
    ]
    for _, r in bc.summary.iterrows():
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{c}</td>"
                for c in (
                    html.escape(str(r["lever_label"])),
                    html.escape(str(r["benchmark"])),
                    _num(r["pas_per_week"]),
                    _num(r["wte"], 2),
                    _money(r["gbp_per_year"]),
                    html.escape(str(r.get("note", "") or ""))[:160],
                )
            )
            + "</tr>"
        )
    return f'<table class="sm-table sm-bc-summary">{"".join(rows)}</table>'


def cost_html(bc) -> str:
    """Cost a year today and with the plan, by funder (joint costs split) and in total."""
    c = bc.cost_by_commissioner
    c = c[c["basis"].isin(["funder (joint costs split)", "total"])]
    rows = ["<tr><th>Who pays</th><th>Today</th><th>With the plan</th><th>Extra a year</th></tr>"]
    for _, r in c.iterrows():
        extra = r["extra_gbp_per_year"]
        cls = "sm-worse" if extra > 0 else "sm-better" if extra < 0 else ""
        sign = "+" if extra > 0 else "-" if extra < 0 else ""
        rows.append(
            f"<tr><td>{html.escape(str(r['who_label']))}</td><td>{_money(r['gbp_per_year_today'])}</td>"
            f"<td>{_money(r['gbp_per_year_plan'])}</td>"
            f"<td><span class='{cls}'>{sign}£{abs(extra):,.0f}</span></td></tr>"
        )
    return f'<table class="sm-table sm-bc-cost">{"".join(rows)}</table>'


def download_link(data: bytes, filename: str, mime: str, text: str) -> str:
    """A link saving ``data`` as ``filename`` (a data URI: works in Jupyter and Voila, no server route)."""
    b64 = base64.b64encode(data).decode("ascii")
    return (
        f'<a class="sm-download" download="{html.escape(filename)}" href="data:{mime};base64,{b64}" '
        f'style="margin-right:18px">{html.escape(text)}</a>'
    )


_LABEL_WIDTH, _FIELD_WIDTH = "400px", "640px"  # the inputs' column: long labels, one width


def _field(description: str, value: float, css_class: str = "sm-field") -> W.FloatText:
    return output(
        css_class,
        W.FloatText,
        value=value,
        description=description,
        style={"description_width": _LABEL_WIDTH},
        layout=W.Layout(width=_FIELD_WIDTH),
    )


class BusinessCaseDashboard(Dashboard):
    """See :func:`business_case`. Widgets are attributes: scripts and tests drive it without a browser."""

    failed_status = "Stopped"
    failed_message = "The business case could not be built"
    wait_seconds = 900
    min_replications, max_replications = 2, 200
    replications_label = "Replications at each PA level"

    @takes_settings(Dashboard.__init__, drop=("delay",))
    def __init__(
        self,
        scenario: str | Path | Scenario = "baseline",
        *,
        population: float | None = None,
        advice_target_pct: float = 85.0,
        dmo_target_working_days: float = 10.0,
        service_advice_pct: float = DEFAULT_ADVICE_PCT,
        routine: str = DEFAULT_ROUTINE,
        run_now: bool = False,
        **settings,
    ):
        super().__init__(delay=0, **settings)  # a build starts on the button: nothing to wait for
        scenario = self._register(scenario)
        self.case = None  # the latest BusinessCase
        self.outputs: dict[str, bytes] = {}  # file name -> bytes of the latest workbook and report
        self._runs = 0

        self.picker = self._picker(scenario)
        first_pop = population if population is not None else self._file_population(scenario)
        self.population = _field("Children aged 0-17 in the area", first_pop, "sm-population")
        self.advice_on = W.Checkbox(value=True, indent=False, layout=W.Layout(width="30px"))
        self.advice_target = _field("Health advice within 6 weeks, at least (%)", advice_target_pct, "sm-advice-target")
        self.dmo_on = W.Checkbox(value=True, indent=False, layout=W.Layout(width="30px"))
        self.dmo_target = _field("DMO/DCO sign-off median, at most (working days)", dmo_target_working_days)
        self.service_on = W.Checkbox(value=True, indent=False, layout=W.Layout(width="30px"))
        self.service_advice = _field("Each health service's advice within 6 weeks, at least (%)", service_advice_pct,
                                     "sm-service-advice")
        self.routine = output(
            "sm-routine",
            W.Dropdown,
            options=[("held at today's level", "today"), ("held at the 18-week standard", "18w"),
                     ("not held", "none")],
            value=routine,
            description="... with its routine waits",
            style={"description_width": _LABEL_WIDTH},
            layout=W.Layout(width=_FIELD_WIDTH),
        )
        self.replications.style.description_width = _LABEL_WIDTH
        self.replications.layout.width = _FIELD_WIDTH
        self.button = output(
            "sm-build",
            W.Button,
            description="Build the business case",
            button_style="primary",
            layout=W.Layout(width="240px"),
        )
        self.button.on_click(lambda _b: self.build())
        self.picker.observe(self._on_pick, names="value")
        self.progress.bar_style = "info"
        self.progress.layout.visibility = "hidden"
        self.status.value = "Set the population and targets, then build the business case."
        self.summary = output("sm-bc-summary-table")
        self.cost = output("sm-bc-cost-table")
        self.downloads = output("sm-downloads")
        self.plot_pas = figure("sm-plot-pas")
        self.plot_cost = figure("sm-plot-cost")
        self._outputs = (self.downloads, self.summary, self.cost, self.plot_pas, self.plot_cost)

        header = self._header(
            "DMO/DCO business case",
            "For the population and targets below, the model finds the fewest PAs a week that "
            "meet each target with 95% confidence, sets them beside the BACD/BACCH recommendation "
            "(2 DMO/DCO PAs per 70,000 children) and what is funded today, and costs them by "
            "commissioner. It runs the model many times: a few minutes.",
        )
        inputs = W.VBox(
            [
                self.picker,
                self.population,
                W.HBox([self.advice_on, self.advice_target]),
                W.HBox([self.dmo_on, self.dmo_target]),
                W.HBox([self.service_on, W.VBox([self.service_advice, self.routine])]),
                self.replications,
                W.HBox([self.button, self.progress, self.cancel_button]),
            ]
        )
        self.widget = W.VBox(
            [
                header,
                inputs,
                self.message,
                self.status,
                self.downloads,
                W.HTML("<b>PAs a week: funded, recommended, needed</b>"),
                self.summary,
                W.HTML(f"<p style='font-size:12px;color:#555;max-width:900px'><b>Scope.</b> {html.escape(SCOPE)}</p>"),
                W.HTML("<b>Cost a year by who pays</b>"),
                self.cost,
                self.plot_pas,
                self.plot_cost,
            ]
        )
        self.widget.add_class("sendmodel-business-case")
        if run_now:
            self.build()

    def _file_population(self, name: str) -> float:
        try:
            return float(self._read(name).population)
        except ScenarioError:
            return 70000.0

    def _on_pick(self, change) -> None:
        self.population.value = self._file_population(change["new"])

    def targets(self, scenario: Scenario | None = None) -> list[str]:
        """The targets as :func:`sendmodel.business_case` takes them; the per-service ones need the scenario
        (its health services), and name routine waits held at today's as ``<=today``."""
        out = []
        if self.dmo_on.value:
            out.append(f"dmo:dmo_signoff_median_working_days<={self.dmo_target.value:g}")
        if self.service_on.value and scenario is not None:
            out += service_target_specs(scenario, self.service_advice.value, self.routine.value)
        if self.advice_on.value:
            out.append(f"health:advice_within_6w_pct>={self.advice_target.value:g}")
        return out

    def _problem(self) -> str | None:
        if not self.population.value > 0:
            return f"Children aged 0-17: must be more than 0 (got {self.population.value:g})"
        if self.advice_on.value and not 0 < self.advice_target.value <= 100:
            got = self.advice_target.value
            return f"Health advice target: a percentage above 0, at most 100 (got {got:g})"
        if self.dmo_on.value and not self.dmo_target.value > 0:
            return f"DMO/DCO sign-off target: more than 0 working days (got {self.dmo_target.value:g})"
        if self.service_on.value and not 0 < self.service_advice.value <= 100:
            got = self.service_advice.value
            return f"Each health service's advice target: a percentage above 0, at most 100 (got {got:g})"
        if not (self.dmo_on.value or self.advice_on.value or self.service_on.value):
            return "Tick at least one target."
        return None

    def build(self) -> bool:
        """Check the inputs, start the business case in the background. False (and a message) if unusable."""
        return self.update(immediate=True)

    def _payload(self):
        problem = self._problem()
        if problem:
            self._say(problem)
            return None
        sc = self._scenario(self.picker.value)
        if sc is None:
            return None
        self._say()
        return sc, float(self.population.value), self.targets(sc), int(self.replications.value)

    def _work(self, payload, progress, is_stale):
        """The solver's runs, then the workbook and report as bytes (for the download links)."""
        sc, population, targets, reps = payload
        self._runs = 0
        # The steps, known before the run: today's commissioning, each target's search, the comparison. A
        # search's PA levels are not known in advance, so the bar counts steps and the levels are said in words.
        total, step = len(targets) + 2, [0]
        started = time.perf_counter()

        def on_message(msg: str) -> None:  # the solver says what it tries
            if is_stale():
                raise Stale()
            if "PAs a week ->" in msg:
                self._runs += 1
            elif not msg.startswith(" "):  # a new step: today's runs, a target, the comparison
                step[0] += 1
            done = max(step[0] - 1, 0)
            left = time_left(time.perf_counter() - started, done, total)
            with LOCK:  # widgets changed off the widget thread: see _sync
                self._bar(done, total)
                self.status.value = html.escape(
                    f"Running: step {min(step[0], total)} of {total}, {self._runs} PA levels tried{left}: "
                    f"{msg.strip()}")[:300]

        bc = business_case(
            sc,
            population=population,
            targets=targets,
            replications=reps,
            seed=self.seed,
            workers=self.workers,
            progress=on_message,
        )
        with tempfile.TemporaryDirectory() as tmp:
            paths = bc.to_dir(tmp)
            files = {Path(p).name: Path(p).read_bytes() for p in paths.values()}
        return bc, files, population, reps

    def _on_start(self) -> None:
        super()._on_start()
        self.button.disabled = True

    def _finish(self, status: str) -> None:
        super()._finish(status)
        self.button.disabled = False

    def _show(self, out) -> dict:
        bc, files, _population, _reps = out
        self.case, self.outputs = bc, files
        self.summary.value = summary_html(bc)
        self.cost.value = cost_html(bc)
        self.plot_pas.value = files.get("kpi_against_pas.png", b"")
        self.plot_cost.value = files.get("cost_by_commissioner.png", b"")
        links = [
            download_link(files[name], name, mime, text)
            for name, mime, text in (
                ("business_case.xlsx", XLSX_MIME, "Download the workbook (Excel)"),
                ("business_case.html", "text/html", "Download the report (HTML)"),
            )
            if name in files
        ]
        self.downloads.value = "".join(links)
        return {}

    def _done_status(self, out, felt: float) -> str:
        bc, _files, population, reps = out
        unmet = [r["lever_label"] for _, r in bc.targets.iterrows() if not r["reachable"]]
        note = f" Not reachable within the search cap: {', '.join(unmet)}." if unmet else ""
        return (
            f"Done in {felt:.0f} s for {population:,.0f} children: {self._runs} PA levels tried, "
            f"up to {reps} replications each, seed {self.seed}{self._quick_words}.{note}"
        )


@takes_settings(BusinessCaseDashboard, drop=("run_now",))
def business_case_dashboard(scenario: str | Path | Scenario = "baseline", **settings) -> BusinessCaseDashboard:
    """The business case dashboard: population and targets in; PAs needed and cost by commissioner out.

    Parameters
    ----------
    scenario : str
        A name from the scenarios folder ("baseline").
    population : float, optional
        Children aged 0-17 (default: the scenario's).
    advice_target_pct : float
        At least this % of all health advice within 6 weeks (lower 95% CI bound), by scaling the health
        services' PAs together. With the baseline's booking lead times and misrouting, PAs alone level
        off near 89%, so 90% or more is reported as not reachable; triage and reserved slots lift that.
    dmo_target_working_days : float
        DMO/DCO sign-off median within this many working days (upper 95% CI bound).
    service_advice_pct : float
        Each health service: at least this % of its own advice within 6 weeks (its own PAs).
    routine : "today", "18w" or "none"
        Each health service's median routine wait held at today's level, at the 18-week standard, or not held,
        beside its advice target, so a service is never "needed" below today while its routine list grows.
    replications, seed, workers, quick
        As :func:`sendmodel.widgets.explore`.

    Examples
    --------
    >>> from sendmodel.widgets import business_case
    >>> business_case(population=250_000)          # doctest: +SKIP
    """
    return BusinessCaseDashboard(scenario, **settings)
