"""What every dashboard does around a run, written once: the base class the three dashboards extend.

A dashboard turns its inputs into a payload (``_payload``, on the widget thread: a value it cannot use gives
a message, never a traceback), works it off that thread (``_work``, through :class:`~._engine.LatestRunner`:
debounced, newest request wins, progress reported) and shows what came back (``_show``). Around those three
the base owns the message area, the progress bar and status line, the outputs marked stale while a run goes,
the scenario files and their picker, failures as messages, and the timings the benchmark reads; so a change
to any of them (wording, a new state) is made once and all three dashboards follow.
"""

from __future__ import annotations

import html
import inspect
import time
from contextlib import contextmanager
from pathlib import Path
from types import EllipsisType
from typing import Any, Callable

import ipywidgets as W

from sendmodel.analysis.labels import option_label
from sendmodel.scenario.config import Scenario
from sendmodel.scenario.errors import ScenarioError
from sendmodel.scenario.loading import load_scenario
from sendmodel.widgets._common import (
    DEFAULT_REPLICATIONS,
    DEFAULT_SEED,
    QUICK_REPLICATIONS,
    QUICK_SIMULATION,
    default_scenarios_dir,
    resolve_quick,
    scenario_files,
)
from sendmodel.widgets._engine import LatestRunner, warm_pool
from sendmodel.widgets._render import CSS, STALE_CLASS, message_html
from sendmodel.widgets._sync import LOCK, synced

GIVEN = "(scenario given in Python)"  # the picker's name for a Scenario object passed in


def output(css_class: str, kind: type = W.HTML, **kw) -> W.DOMWidget:
    """A widget tagged with the CSS class the page's style and the browser test find it by."""
    w = kind(**kw)
    w.add_class(css_class)
    return w


def figure(css_class: str) -> W.Image:
    """A PNG figure, kept to a laptop's right-hand column; hidden while it has no picture (a browser would
    show a broken-image icon)."""
    img = output(css_class, W.Image, format="png", layout=W.Layout(max_width="760px", display="none"))
    img.observe(lambda change: setattr(img.layout, "display", "" if change["new"] else "none"), names="value")
    return img


def takes_settings(source: Callable, drop: tuple[str, ...] = ()) -> Callable:
    """Name the keywords ``**settings`` passes on to ``source`` in the decorated function's signature.

    The settings every dashboard takes are spelt once, in :meth:`Dashboard.__init__`; the classes and the
    one-line functions pass them on. This keeps ``help(explore)`` and a notebook's tab completion listing them
    by name (own keywords of the same name win, ``drop`` leaves some out).
    """

    def decorate(fn: Callable) -> Callable:
        own = inspect.signature(fn)
        mine = {n: p for n, p in own.parameters.items() if p.kind is p.KEYWORD_ONLY}
        first = [p for p in own.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        passed = [
            mine.pop(n, p)
            for n, p in inspect.signature(source).parameters.items()
            if p.kind is p.KEYWORD_ONLY and n not in drop
        ]
        fn.__signature__ = own.replace(parameters=[*first, *passed, *mine.values()])
        return fn

    return decorate


def time_left(elapsed: float, done: int, total: int) -> str:
    """", about N s left" from the pace so far (nothing until a step is done, or when little is left)."""
    if done <= 0 or done >= total or elapsed <= 0:
        return ""
    left = elapsed / done * (total - done)
    if left < 1.5:
        return ""
    return f", about {left:.0f} s left" if left < 90 else f", about {left / 60:.0f} min left"


class Dashboard:
    """Base of the dashboards. It displays as its root widget (so a notebook cell can end with ``explore()``).

    A subclass builds its own inputs and outputs (``self.widget`` is the root), names the outputs a run makes
    stale (``self._outputs``), and implements ``_payload()`` (inputs -> payload, or None with a message shown),
    ``_work(payload, progress, is_stale)`` (in the background), ``_show(out)`` (the outputs; returns its own
    timing fields) and ``_done_status(out, felt)``.
    """

    widget: W.Widget | None = None
    progress_unit = "replications"  # "Running: 3 of 10 replications done"
    failed_status = "Run failed"  # the status line after a failed run ...
    failed_message = "The run failed"  # ... and the message, before the error's own words
    wait_seconds: float = 120  # wait()'s default: about the longest a run should take
    min_replications, max_replications = 1, 500
    replications_label = "Replications"

    def __init__(
        self,
        *,
        scenarios_dir: str | Path | None = None,
        replications: int | None = None,
        seed: int = DEFAULT_SEED,
        workers: int = 2,
        delay: float = 0.25,
        quick: bool | None = None,
    ):
        self.quick = resolve_quick(quick)
        self.seed, self.workers = seed, workers
        self.scenarios_dir = Path(scenarios_dir) if scenarios_dir else default_scenarios_dir()
        self.files: dict[str, Path | Scenario] = (
            dict(scenario_files(self.scenarios_dir)) if self.scenarios_dir.is_dir() else {}
        )
        self.timings: list[dict] = []  # one per result shown: compute and felt seconds, and the dashboard's own
        self.provisional_felt: float | None = None  # seconds from the ask to the first figures of the latest run
        self.runner = LatestRunner(  # the callbacks change widgets from the background: see _sync
            self._run, synced(self._on_start), synced(self._on_progress), synced(self._on_result),
            synced(self._on_error), delay=delay,
        )
        self._outputs: tuple[W.DOMWidget, ...] = ()
        self._quiet = False  # set while several inputs change at once: one update after, not one each
        self._held = False  # the status line says what a provisional result is until the run ends
        self._asked = 0.0

        reps = replications or (QUICK_REPLICATIONS if self.quick else DEFAULT_REPLICATIONS)
        self.replications = output(
            "sm-replications",
            W.BoundedIntText,
            value=reps,
            min=self.min_replications,
            max=self.max_replications,
            description=self.replications_label,
            layout=W.Layout(width="200px"),
        )
        self.message = output("sm-message")
        self.progress = output("sm-progress", W.IntProgress, value=0, min=0, max=1, layout=W.Layout(width="260px"))
        self.status = output("sm-status", value="Starting...")
        self.cancel_button = output("sm-cancel", W.Button, description="Cancel", tooltip="stop this run; the "
                                    "figures shown stay those of the last finished run",
                                    layout=W.Layout(width="80px", visibility="hidden"))
        self.cancel_button.on_click(lambda _b: self.cancel())

    # --- display ---------------------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _header(self, title: str, intro: str) -> W.HTML:
        """The page's style, title and a sentence or two on how to read it."""
        return W.HTML(CSS + f"<h3 style='margin:4px 0'>{title}</h3><div>{intro}</div>")

    def _columns(self, css_class: str, title: str, intro: str, top, left: list, right: list, px=(300, 600)):
        """Header and top row, then inputs on the left and results on the right (``px``: their widths; the
        right wraps below on a narrow window); the message and the progress line head the results."""
        left_px, right_px = px
        header = self._header(title, intro)
        left_box = W.VBox(left, layout=W.Layout(flex=f"0 0 {left_px}px", margin="0 16px 0 0"))
        right_box = W.VBox(
            [self.message, W.HBox([self.progress, self.cancel_button, self.status]), *right],
            layout=W.Layout(flex=f"1 1 {right_px}px", min_width="480px"),
        )
        root = W.VBox([header, top, W.HBox([left_box, right_box], layout=W.Layout(flex_flow="row wrap"))])
        root.add_class(css_class)
        return root

    def _say(self, *texts: str, kind: str = "error") -> None:
        """Messages above the results, in plain words (no texts: clear them)."""
        self.message.value = "".join(message_html(t, kind) for t in texts)

    def _stale(self, stale: bool, *widgets: W.DOMWidget) -> None:
        """Mark outputs (default: all of ``_outputs``) as from an earlier request, or current again."""
        for w in widgets or self._outputs:
            if stale:
                w.add_class(STALE_CLASS)
            else:
                w.remove_class(STALE_CLASS)

    @property
    def _quick_words(self) -> str:
        return " (quick mode)" if self.quick else ""

    # --- scenario files --------------------------------------------------------------------------------------

    def _register(self, scenario: str | Path | Scenario) -> str:
        """The picker's name for a scenario: a name in the folder, a YAML file (added), or a Scenario object."""
        if isinstance(scenario, Scenario):
            self.files[GIVEN] = scenario
            return GIVEN
        s = str(scenario)
        if s in self.files:
            return s
        p = Path(s)
        if p.suffix in (".yaml", ".yml") and p.exists():
            name = p.stem if p.stem not in self.files else str(p)
            self.files[name] = p
            return name
        raise ValueError(f"scenario {s!r} not found; give a file path or one of {sorted(self.files)}")

    def _picker(self, value: str, description: str = "Scenario", css_class: str = "sm-scenario", width="420px"):
        """A drop-down of the scenario files, each shown by its name in words; its value is the file's name."""
        return output(
            css_class,
            W.Dropdown,
            options=[(n if n == GIVEN else option_label(n), n) for n in self.files],
            value=value,
            description=description,
            layout=W.Layout(width=width),
        )

    def _read(self, name: str) -> Scenario:
        """The named scenario, shortened in quick mode. Raises ScenarioError for a file that cannot be used."""
        src = self.files[name]
        sc = src if isinstance(src, Scenario) else load_scenario(src)
        return sc.override(QUICK_SIMULATION) if self.quick else sc

    def _scenario(self, name: str, failure: str = "Cannot use this scenario file.") -> Scenario | None:
        """:meth:`_read`, or None with the file's problem shown as a message after ``failure``."""
        try:
            return self._read(name)
        except ScenarioError as exc:
            self._say(f"{failure} {exc}")
            return None

    # --- running ---------------------------------------------------------------------------------------------

    def update(self, immediate: bool = False) -> bool:
        """Check the inputs and ask for a run. False (and a message shown) when an input cannot be used."""
        payload = self._payload()
        if payload is None:
            return False
        self.runner.request((time.perf_counter(), payload), immediate=immediate)
        return True

    def _start(self, run_now: bool) -> None:
        """The constructor's first run; the pool's processes start first, so the first update does not pay."""
        if run_now:
            if self.workers > 1:
                warm_pool(self.workers)
            self.update(immediate=True)

    def _on_change(self, change=None) -> None:
        if not self._quiet:
            self.update()

    @contextmanager
    def _quietly(self):
        """Change several inputs with no update for each (the caller asks for one after, if it wants one)."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def wait(self, timeout: float | None | EllipsisType = ...) -> bool:
        """Block until the newest request has been run and shown (scripts and tests). True if it finished.

        ``timeout`` defaults to the dashboard's ``wait_seconds``; None waits as long as it takes.
        """
        return self.runner.wait(self.wait_seconds if timeout is ... else timeout)

    def _run(self, job, progress, is_stale):
        """The runner's work: the dashboard's ``_work``, timed; the ask's time rides along for the felt time."""
        asked, payload = job
        self._asked, self.provisional_felt = asked, None
        t0 = time.perf_counter()
        out = self._work(payload, progress, is_stale)
        return out, time.perf_counter() - t0, asked

    def cancel(self) -> bool:
        """Stop the run going (or about to start): the outputs keep the last finished run's figures, still
        marked as answering an older ask, and the status line says so. True if there was a run to stop."""
        if not self.runner.cancel():
            return False
        with LOCK:
            self._finish("Cancelled: the figures shown (greyed) are from the last run that finished; change "
                         "an input to run again")
        return True

    def _bar(self, done: int, total: int) -> None:
        self.progress.max = total
        self.progress.value = done

    def _on_start(self) -> None:
        self._held = False
        self._started = time.perf_counter()
        self.progress.value = 0
        self.progress.layout.visibility = "visible"
        self.cancel_button.layout.visibility = "visible"
        self.status.value = "Running..."
        self._stale(True)

    def _on_progress(self, done: int, total: int) -> None:
        self._bar(done, total)
        if not self._held:
            self.status.value = f"Running: {done} of {total} {self.progress_unit} done" + time_left(
                time.perf_counter() - getattr(self, "_started", time.perf_counter()), done, total)

    def _provisional(self, status: str, *shown: W.DOMWidget) -> None:
        """Part of the result is in (say, the first figures): those outputs are current and the status line
        says what they are until the run ends. Call from ``_work``, for the newest request only."""
        with LOCK:
            self.provisional_felt = time.perf_counter() - self._asked
            self._held = True
            self._stale(False, *shown)
            self.status.value = status

    def _on_result(self, done) -> None:
        out, compute, asked = done
        extra = self._show(out)
        felt = time.perf_counter() - asked
        self.timings.append({"compute_seconds": compute, "felt_seconds": felt, **extra})
        self._stale(False)
        self._finish(self._done_status(out, felt))

    def _on_error(self, exc: BaseException) -> None:
        """A failed run: said in the message area. The outputs stay marked stale: they answer an older ask."""
        self._finish(self.failed_status)
        self._say(f"{self.failed_message}: {exc}")

    def _finish(self, status: str) -> None:
        self.progress.value = self.progress.max
        self.progress.layout.visibility = "hidden"
        self.cancel_button.layout.visibility = "hidden"
        self.status.value = html.escape(status)

    # --- what each dashboard says for itself -----------------------------------------------------------------

    def _payload(self) -> Any | None:
        raise NotImplementedError

    def _work(self, payload, progress: Callable[[int, int], None], is_stale: Callable[[], bool]):
        raise NotImplementedError

    def _show(self, out) -> dict:
        raise NotImplementedError

    def _done_status(self, out, felt: float) -> str:
        raise NotImplementedError
