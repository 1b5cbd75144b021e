"""Runs for dashboards: off the widget thread, debounced, newest request wins, with progress.

Nothing here imports ipywidgets, so worker processes start light. Replications run in a small process pool
that is started once and kept warm (forkserver, so a Jupyter kernel's threads are never forked); a run made
stale by a newer request stops at the next replication boundary and its remaining work is cancelled.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import pandas as pd

from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.analysis.overload import load_frame, load_rows
from sendmodel.analysis.results import Results, advice_frame, kpi_frame
from sendmodel.engine.replication import run_replication
from sendmodel.scenario.config import Scenario

QUICK_ENV = "SENDMODEL_QUICK"


def quick_mode() -> bool:
    """True when ``SENDMODEL_QUICK`` asks for small, fast runs (tests, notebook checks)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def replication_frames(scenario: Scenario, seed: int, rep: int) -> tuple[pd.DataFrame, ...]:
    """One replication's KPI, advice and capacity frames: all a dashboard needs, small to send between
    processes."""
    rec = run_replication(scenario, seed, rep)
    return (kpi_frame(kpis_from_records(rec, scenario), scenario.name, rep),
            advice_frame(rec, scenario.name, rep), load_frame(load_rows(rec, scenario), scenario.name, rep))


_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0
_POOL_LOCK = threading.Lock()


def _noop() -> int:
    return os.getpid()


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the kernel: "Interrupt kernel" (SIGINT to the group) must not kill them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def shared_pool(workers: int) -> ProcessPoolExecutor:
    """The process pool shared by every dashboard in this kernel (started once, reused)."""
    global _POOL, _POOL_WORKERS
    with _POOL_LOCK:
        if _POOL is None or _POOL_WORKERS != workers:
            if _POOL is not None:
                _POOL.shutdown(wait=False, cancel_futures=True)
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload([__name__])
            _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_interrupts)
            _POOL_WORKERS = workers
        return _POOL


def warm_pool(workers: int) -> None:
    """Start the pool's processes now, so the first update does not pay for it."""
    if workers > 1:
        pool = shared_pool(workers)
        for f in [pool.submit(_noop) for _ in range(workers)]:
            f.result()


def _reset_pool() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
        _POOL = None


class Stale(Exception):
    """A run overtaken by a newer request; its results are dropped."""


def run_frames(
    scenario: Scenario,
    replications: int,
    seed: int,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    is_stale: Callable[[], bool] = lambda: False,
    partial: Callable[[Results], None] | None = None,
    partial_at: int | None = None,
) -> Results:
    """Replications of ``scenario`` as a :class:`~sendmodel.Results` with KPIs, the advice frame and the
    capacity measures.

    The same (scenario, seed, replication) gives the same numbers in any process, so a dashboard run equals
    ``sendmodel.run(scenario, replications, seed)``. With ``partial``, it is called once with the replications
    done so far when ``partial_at`` of them are in (so a dashboard can show first figures before the last
    replication lands; replications are independent, so these are an honest, wider-CI estimate).

    Raises
    ------
    Stale
        When ``is_stale()`` turns true between replications.
    """
    done: dict[int, tuple[pd.DataFrame, ...]] = {}
    if progress:
        progress(0, replications)
    want_partial = partial is not None and partial_at is not None and 1 < partial_at < replications

    def maybe_partial() -> None:
        nonlocal want_partial
        if want_partial and len(done) >= partial_at:
            want_partial = False
            partial(_results(scenario, seed, done))

    if workers <= 1 or replications == 1:
        for r in range(replications):
            if is_stale():
                raise Stale()
            done[r] = replication_frames(scenario, seed, r)
            if progress:
                progress(len(done), replications)
            maybe_partial()
    else:
        pool = shared_pool(workers)
        try:
            futures = {pool.submit(replication_frames, scenario, seed, r): r for r in range(replications)}
        except BrokenProcessPool:
            _reset_pool()
            pool = shared_pool(workers)
            futures = {pool.submit(replication_frames, scenario, seed, r): r for r in range(replications)}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for f in finished:
                    done[futures[f]] = f.result()
                if finished and progress:
                    progress(len(done), replications)
                if is_stale():
                    raise Stale()
                if finished and pending:
                    maybe_partial()
        except BrokenProcessPool:
            _reset_pool()
            raise RuntimeError("a worker process died; the next update starts a fresh pool") from None
        finally:
            for f in pending:
                f.cancel()
    return _results(scenario, seed, done)


def _results(scenario: Scenario, seed: int, done: dict) -> Results:
    reps = sorted(done)
    kpis = pd.concat([done[r][0] for r in reps], ignore_index=True)
    advice = pd.concat([done[r][1] for r in reps], ignore_index=True)
    load = pd.concat([done[r][2] for r in reps], ignore_index=True)
    return Results(scenario, seed, len(reps), kpis, pd.DataFrame(), advice, [], load=load)


class LatestRunner:
    """Debounced background work where only the newest request matters.

    ``request(payload)`` returns at once. After ``delay`` seconds without another request, a background thread
    calls ``work(payload, progress, is_stale)``. A request that arrives while work runs makes that work stale
    (``is_stale()`` turns true, the work may stop early) and is run next. Callbacks are called from the
    background thread, and only for the newest request: ``on_start()``, ``on_progress(done, total)``,
    ``on_result(result)``, ``on_error(exc)``.
    """

    def __init__(
        self,
        work: Callable[[Any, Callable[[int, int], None], Callable[[], bool]], Any],
        on_start: Callable[[], None] = lambda: None,
        on_progress: Callable[[int, int], None] = lambda d, n: None,
        on_result: Callable[[Any], None] = lambda r: None,
        on_error: Callable[[BaseException], None] = lambda e: None,
        delay: float = 0.25,
    ):
        self.work = work
        self.on_start, self.on_progress = on_start, on_progress
        self.on_result, self.on_error = on_result, on_error
        self.delay = delay
        self._lock = threading.Lock()
        self._gen = 0  # newest request
        self._kicked = 0  # newest request whose debounce delay has passed
        self._done = 0  # newest request finished (or dropped)
        self._payload: Any = None
        self._timer: threading.Timer | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.runs_started = 0

    def request(self, payload: Any, immediate: bool = False) -> None:
        with self._lock:
            self._gen += 1
            self._payload = payload
            self._idle.clear()
            if self._timer is not None:
                self._timer.cancel()
            if immediate or self.delay <= 0:
                self._timer = None
                self._kick_locked()
            else:
                self._timer = threading.Timer(self.delay, self._kick)
                self._timer.daemon = True
                self._timer.start()

    def _kick(self) -> None:
        with self._lock:
            self._kick_locked()

    def _kick_locked(self) -> None:
        self._kicked = self._gen
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sendmodel-dashboard-run", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._kicked <= self._done:
                    self._thread = None
                    if self._done >= self._gen:
                        self._idle.set()
                    return
                gen, payload = self._kicked, self._payload
            self.runs_started += 1
            newest = lambda: self._gen == gen  # noqa: E731
            try:
                if newest():
                    self.on_start()
                result = self.work(
                    payload, lambda d, n: self.on_progress(d, n) if newest() else None, lambda: not newest()
                )
            except Stale:
                pass
            except BaseException as exc:  # shown in the dashboard, never raised into the kernel
                if newest():
                    self._safe(self.on_error, exc)
            else:
                if newest():
                    self._safe(self.on_result, result)
            with self._lock:
                self._done = max(self._done, gen)

    def _safe(self, fn, arg) -> None:
        try:
            fn(arg)
        except BaseException as exc:  # a failing renderer must not kill the loop
            if fn is not self.on_error:
                try:
                    self.on_error(exc)
                except BaseException:
                    pass

    def cancel(self) -> bool:
        """Drop the pending request and the running one (its work sees ``is_stale()`` at its next check and
        stops; no callback is called for it). True if there was one to drop."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            had = self._done < self._gen
            self._gen += 1
            self._kicked = self._done = self._gen
            if self._thread is None:
                self._idle.set()
        return had

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every request so far has run (for scripts and tests). True if idle."""
        return self._idle.wait(timeout)
