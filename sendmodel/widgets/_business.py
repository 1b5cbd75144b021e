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

from sendmodel.scenario.errors import ScenarioError
from sendmodel.scenario.loading import load_scenario
from sendmodel.studies.business_case.case import business_case
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
from sendmodel.widgets._engine import LatestRunner, Stale
from sendmodel.widgets._render import CSS, message_html

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


class BusinessCaseDashboard(Dashboard):
    """See :func:`business_case`. Widgets are attributes: scripts and tests drive it without a browser."""

    def __init__(
        self,
        scenario: str = "baseline",
        *,
        scenarios_dir: str | Path | None = None,
        population: float | None = None,
        advice_target_pct: float = 85.0,
        dmo_target_working_days: float = 10.0,
        replications: int | None = None,
        seed: int = DEFAULT_SEED,
        workers: int = 2,
        quick: bool | None = None,
        run_now: bool = False,
    ):
        self.quick = resolve_quick(quick)
        self.seed, self.workers = seed, workers
        self.scenarios_dir = Path(scenarios_dir) if scenarios_dir else default_scenarios_dir()
        self.files = scenario_files(self.scenarios_dir) if self.scenarios_dir.is_dir() else {}
        if scenario not in self.files:
            raise ValueError(f"scenario {scenario!r} not found; choose from {sorted(self.files)}")
        reps = replications or (QUICK_REPLICATIONS if self.quick else DEFAULT_REPLICATIONS)
        self.case = None  # the latest BusinessCase
        self.outputs: dict[str, bytes] = {}  # file name -> bytes of the latest workbook and report
        self.timings: list[dict] = []
        self._runs = 0
        self.runner = LatestRunner(
            self._work, self._on_start, lambda d, n: None, self._on_result, self._on_error, delay=0
        )

        self.picker = W.Dropdown(
            options=list(self.files), value=scenario, description="Scenario", layout=W.Layout(width="420px")
        )
        first_pop = population if population is not None else self._file_population(scenario)
        style = {"description_width": "340px"}
        self.population = W.FloatText(
            value=first_pop,
            description="Children aged 0-17 in the area",
            style=style,
            layout=W.Layout(width="480px"),
        )
        self.population.add_class("sm-population")
        self.advice_on = W.Checkbox(value=True, indent=False, layout=W.Layout(width="30px"))
        self.advice_target = W.FloatText(
            value=advice_target_pct,
            style=style,
            layout=W.Layout(width="480px"),
            description="Health advice within 6 weeks, at least (%)",
        )
        self.advice_target.add_class("sm-advice-target")
        self.dmo_on = W.Checkbox(value=True, indent=False, layout=W.Layout(width="30px"))
        self.dmo_target = W.FloatText(
            value=dmo_target_working_days,
            style=style,
            layout=W.Layout(width="480px"),
            description="DMO/DCO sign-off median, at most (working days)",
        )
        self.replications = W.BoundedIntText(
            value=reps,
            min=2,
            max=200,
            description="Replications at each PA level",
            style=style,
            layout=W.Layout(width="480px"),
        )
        self.button = W.Button(
            description="Build the business case", button_style="primary", layout=W.Layout(width="240px")
        )
        self.button.add_class("sm-build")
        self.button.on_click(lambda _b: self.build())
        self.picker.observe(self._on_pick, names="value")
        self.message = W.HTML()
        self.message.add_class("sm-message")
        self.progress = W.IntProgress(value=0, min=0, max=1, bar_style="info", layout=W.Layout(width="260px"))
        self.progress.layout.visibility = "hidden"
        self.status = W.HTML("Set the population and targets, then build the business case.")
        self.status.add_class("sm-status")
        self.summary = W.HTML()
        self.summary.add_class("sm-bc-summary-table")
        self.cost = W.HTML()
        self.cost.add_class("sm-bc-cost-table")
        self.downloads = W.HTML()
        self.downloads.add_class("sm-downloads")
        self.plot_pas = W.Image(format="png", layout=W.Layout(max_width="760px"))
        self.plot_cost = W.Image(format="png", layout=W.Layout(max_width="760px"))

        header = W.HTML(
            CSS + "<h3 style='margin:4px 0'>DMO/DCO business case</h3>"
            "<div>For the population and targets below, the model finds the fewest PAs a week that "
            "meet each target with 95% confidence, sets them beside the BACD/BACCH recommendation "
            "(2 DMO/DCO PAs per 70,000 children) and what is funded today, and costs them by "
            "commissioner. It runs the model many times: a few minutes.</div>"
        )
        inputs = W.VBox(
            [
                self.picker,
                self.population,
                W.HBox([self.advice_on, self.advice_target]),
                W.HBox([self.dmo_on, self.dmo_target]),
                self.replications,
                W.HBox([self.button, self.progress]),
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
            return float(load_scenario(self.files[name]).population)
        except ScenarioError:
            return 70000.0

    def _on_pick(self, change) -> None:
        self.population.value = self._file_population(change["new"])

    def targets(self) -> list[str]:
        """The targets as :func:`sendmodel.business_case` takes them."""
        out = []
        if self.dmo_on.value:
            out.append(f"dmo:dmo_signoff_median_working_days<={self.dmo_target.value:g}")
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
        if not self.targets():
            return "Tick at least one target."
        return None

    def build(self) -> bool:
        """Check the inputs, start the business case in the background. False (and a message) if unusable."""
        problem = self._problem()
        if problem:
            self.message.value = message_html(problem, "error")
            return False
        try:
            sc = load_scenario(self.files[self.picker.value])
            if self.quick:
                sc = sc.override(QUICK_SIMULATION)
        except ScenarioError as exc:
            self.message.value = message_html(f"Cannot use this scenario file. {exc}", "error")
            return False
        self.message.value = ""
        payload = (
            sc,
            float(self.population.value),
            self.targets(),
            int(self.replications.value),
            time.perf_counter(),
        )
        self.runner.request(payload, immediate=True)
        return True

    def _work(self, payload, progress, is_stale):
        sc, population, targets, reps, asked = payload
        self._runs = 0
        t0 = time.perf_counter()

        def on_message(msg: str) -> None:
            if is_stale():
                raise Stale()
            if "PAs a week ->" in msg:
                self._runs += 1
                self.progress.max = max(self.progress.max, self._runs + 1)
                self.progress.value = self._runs
            self.status.value = html.escape(f"Running ({self._runs} PA levels tried): {msg.strip()}")[:300]

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
        return bc, files, population, time.perf_counter() - t0, asked

    def _on_start(self) -> None:
        self.progress.layout.visibility = "visible"
        self.progress.value, self.progress.max = 0, 10
        self.button.disabled = True
        self.status.value = "Running..."

    def _on_result(self, out) -> None:
        bc, files, population, compute, asked = out
        self.case, self.outputs = bc, files
        self.summary.value = summary_html(bc)
        self.cost.value = cost_html(bc)
        self.plot_pas.value = files.get("kpi_against_pas.png", b"")
        self.plot_cost.value = files.get("cost_by_commissioner.png", b"")
        links = []
        if "business_case.xlsx" in files:
            links.append(
                download_link(
                    files["business_case.xlsx"],
                    "business_case.xlsx",
                    XLSX_MIME,
                    "Download the workbook (Excel)",
                )
            )
        if "business_case.html" in files:
            links.append(
                download_link(
                    files["business_case.html"],
                    "business_case.html",
                    "text/html",
                    "Download the report (HTML)",
                )
            )
        self.downloads.value = "".join(links)
        felt = time.perf_counter() - asked
        self.timings.append({"compute_seconds": compute, "felt_seconds": felt})
        self.progress.layout.visibility = "hidden"
        self.button.disabled = False
        unmet = [r["lever_label"] for _, r in bc.targets.iterrows() if not r["reachable"]]
        note = f" Not reachable within the search cap: {', '.join(unmet)}." if unmet else ""
        self.status.value = html.escape(
            f"Done in {felt:.0f} s for {population:,.0f} children: {self._runs} PA levels tried, "
            f"{int(self.replications.value)} replications each, seed {self.seed}"
            + (" (quick mode)" if self.quick else "")
            + "."
            + note
        )

    def _on_error(self, exc: BaseException) -> None:
        self.progress.layout.visibility = "hidden"
        self.button.disabled = False
        self.status.value = "Stopped"
        self.message.value = message_html(f"The business case could not be built: {exc}", "error")

    def wait(self, timeout: float | None = 900) -> bool:
        """Block until the business case asked for has been built and shown (scripts and tests)."""
        return self.runner.wait(timeout)


def business_case_dashboard(
    scenario: str = "baseline",
    *,
    scenarios_dir: str | Path | None = None,
    population: float | None = None,
    advice_target_pct: float = 85.0,
    dmo_target_working_days: float = 10.0,
    replications: int | None = None,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
    quick: bool | None = None,
) -> BusinessCaseDashboard:
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
    replications, seed, workers, quick
        As :func:`sendmodel.widgets.explore`.

    Examples
    --------
    >>> from sendmodel.widgets import business_case
    >>> business_case(population=250_000)          # doctest: +SKIP
    """
    return BusinessCaseDashboard(
        scenario,
        scenarios_dir=scenarios_dir,
        population=population,
        advice_target_pct=advice_target_pct,
        dmo_target_working_days=dmo_target_working_days,
        replications=replications,
        seed=seed,
        workers=workers,
        quick=quick,
    )
