"""Batch parameter sweeps: scenario variants x replications, resumable, on local processes or a Dask cluster.

A *sweep spec* (YAML in ``scenarios/sweeps/``) names a base scenario, the fields to vary (dotted paths, as
:func:`sendmodel.override` takes them) and a design: a full ``grid``, listed ``points`` or a Latin hypercube
(``lhs``) of N points within ranges; plus replications and a seed. :func:`load_sweep_spec` validates all of
it, building every point's scenario, so a typo fails with a :class:`~sendmodel.ScenarioError` naming the spec
file and field before anything runs or is written.

:func:`run_sweep` runs every (point, replication) as an independent replication (the seed is shared by every
point, so points are compared on common random numbers). Replications are batched into tasks of about a second
each, so the scheduling cost of a task (pickling, Dask's bookkeeping) stays small against its work. Only KPIs
are kept, with each run's capacity measures (:mod:`sendmodel.analysis.overload`). The calling process writes
the store, a SQLite file: each finished task is one transaction (its runs and all their KPI and capacity rows, or
nothing), so a sweep killed at any moment resumes by running again the same command, which skips the stored
(point, replication) pairs. Two sweeps of one spec on one store share the work: each claims a task's pairs
before running it (:mod:`sendmodel.studies.sweep.store`), and one with nothing left to claim waits for the
other's claims to be stored (or taken over, if the other stops). :func:`load_sweep` reads a store into a tidy
frame, also while sweeps write it.
"""

from __future__ import annotations

import collections
import itertools
import math
import os
import socket
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.analysis.overload import load_rows
from sendmodel.common.parallel import default_workers
from sendmodel.common.version import __version__
from sendmodel.engine.replication import run_replication
from sendmodel.scenario.config import Scenario
from sendmodel.studies.sweep.spec import Sweep, SweepError, load_sweep_spec
from sendmodel.studies.sweep.store import (
    _log_invocation,
    _open_store,
    _store_task,
    claim,
    code_fingerprint,
    owning,
)

# Dask settings for the workers of a cluster this module starts (and recommended for `dask worker`, as the
# environment variables DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False and
# DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s): the statistical profiler samples the task's thread 100 times
# a second and the event loop checks itself 50 times a second, both taking the GIL from the simulation (runs
# took ~12% longer in a Dask worker than in a local process; ~3% without them, benchmarks/bench_sweep.py).
DASK_WORKER_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s"}
# Dask settings for this process's client: Dask keeps the last messages it sent the scheduler for debugging,
# 1,000 by default, and every task's message holds its pickled scenarios (~25 kB each; up to 1 MB a message is
# kept), so the client grew by up to ~25 MB over a sweep's first 1,000 tasks, more with larger scenarios.
DASK_CLIENT_CONFIG = {"distributed.admin.low-level-log-length": 50}
TARGET_TASK_SECONDS = 1.0  # batch replications so one task takes about this long (Dask's advice: >= ~1 s)
WAIT_SECONDS = 0.5  # how often a sweep with nothing to claim looks whether the other sweep's claims are stored


def _run_task(groups: list[tuple[int, Scenario, tuple[int, ...]]], seed: int) -> dict:
    """Worker side of one task: run its replications and return their KPI and capacity rows (no event logs)."""
    runs, load = [], []
    for point, scenario, reps in groups:
        for rep in reps:
            t0 = time.perf_counter()
            rec = run_replication(scenario, seed, rep)
            rows = kpis_from_records(rec, scenario)
            runs.append((point, rep, time.perf_counter() - t0, rows))
            load.append((point, rep, load_rows(rec, scenario)))
    return {
        "load": load,
        "version": __version__,
        "code": code_fingerprint(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "runs": runs,
    }


def _tasks(missing: list[tuple[int, int]], batch: int, scenarios: list[Scenario]) -> list[list]:
    """Chunk (point, replication) pairs, in order, into tasks of ``batch`` runs each."""
    out = []
    for i in range(0, len(missing), batch):
        groups = []
        for point, pairs in itertools.groupby(missing[i : i + batch], key=lambda pr: pr[0]):
            groups.append((point, scenarios[point], tuple(r for _, r in pairs)))
        out.append(groups)
    return out


@dataclass
class SweepRun:
    """What :func:`run_sweep` did (for the CLI's closing line and the benchmark)."""

    store: Path
    backend: str
    workers: int
    total_runs: int
    stored_before: int
    runs: int = 0
    tasks: int = 0
    batch: int = 0
    seconds: float = 0.0
    compute_seconds: float = 0.0  # summed over runs, as measured on the workers
    by_others: int = 0  # runs another sweep on the same store stored meanwhile
    store_seconds: float = 0.0  # in this process, writing finished tasks into the store
    claim_seconds: float = 0.0  # in this process, claiming runs in the store before sending them

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds if self.seconds > 0 else float("nan")


def run_sweep(
    sweep: Sweep | str | Path,
    store: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    batch: int | None = None,
    progress: bool = True,
) -> SweepRun:
    """Run every (point, replication) of a sweep not yet in ``store``.

    Parameters
    ----------
    sweep : Sweep or path
        From :func:`load_sweep_spec`, or the spec file.
    store : path
        SQLite file; created if missing, resumed if it holds this sweep.
    workers : int, optional
        Local processes (default: the cores; 1 runs in this process), or the LocalCluster's workers.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); its workers run the tasks.
    dask_local : bool
        Start a Dask LocalCluster with ``workers`` single-threaded worker processes.
    batch : int, optional
        Replications per task (default: enough for about a second a task, from one timed run).
    progress : bool
        Show a progress bar (on stderr).

    Raises
    ------
    ScenarioError
        The spec is invalid (nothing is written).
    SweepError
        ``store`` holds a different sweep, or a worker runs a different sendmodel version.
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep_spec(sweep)
    if scheduler and dask_local:
        raise ValueError("give a scheduler address or dask_local, not both")
    if batch is not None and batch < 1:
        raise ValueError(f"batch must be >= 1 (got {batch})")
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    store = Path(store)
    conn = _open_store(store, sweep)
    try:
        return _run(conn, store, sweep, workers, scheduler, dask_local, batch, progress)
    finally:
        conn.close()


def _run(conn, store, sweep, workers, scheduler, dask_local, batch, progress) -> SweepRun:
    from tqdm.auto import tqdm

    backend = "dask" if (scheduler or dask_local) else ("processes" if workers > 1 else "serial")
    _log_invocation(conn, sweep, backend, workers if backend != "dask" or dask_local else None)
    done = {(p, r) for p, r in conn.execute("SELECT point, replication FROM runs")}
    todo = collections.deque(
        (p, r) for p in range(len(sweep.points)) for r in range(sweep.replications) if (p, r) not in done
    )
    per_point = {p: 0 for p in range(len(sweep.points))}
    for p, r in done:
        if r < sweep.replications:
            per_point[p] += 1
    info = SweepRun(store, backend, workers, sweep.n_runs, sweep.n_runs - len(todo))
    bar = tqdm(
        total=sweep.n_runs,
        initial=info.stored_before,
        unit="run",
        desc=sweep.name,
        disable=not progress,
        dynamic_ncols=True,
        smoothing=0.1,
    )

    def points_done() -> str:
        return f"points {sum(n >= sweep.replications for n in per_point.values())}/{len(per_point)}"

    def save(result: dict) -> None:
        if (result["version"], result["code"]) != (__version__, code_fingerprint()):
            raise SweepError(
                f"worker {result['host']} runs sendmodel {result['version']} (model code {result['code']}), "
                f"this is {__version__} (model code {code_fingerprint()}): install the same sendmodel on "
                "every worker"
            )
        t = time.perf_counter()
        info.runs += _store_task(conn, result)
        info.store_seconds += time.perf_counter() - t
        for point, _rep, secs, _rows in result["runs"]:
            per_point[point] += 1
            info.compute_seconds += secs
        info.tasks += 1
        bar.update(len(result["runs"]))
        bar.set_postfix_str(points_done(), refresh=False)

    held_by: list[str] = []

    def next_task(owner: str, n: int) -> list | None:
        """A task of up to ``n`` pairs claimed for this sweep, or None if there is none to claim now."""
        t = time.perf_counter()
        got = claim(conn, owner, todo, n)
        info.claim_seconds += time.perf_counter() - t
        if got.stored_elsewhere:
            info.by_others += got.stored_elsewhere
            bar.update(got.stored_elsewhere)
        held_by[:] = got.held_by
        return _tasks(got.pairs, n, sweep.scenarios)[0] if got.pairs else None

    def idle() -> None:
        bar.set_postfix_str(f"{points_done()}, waiting for {', '.join(held_by)}", refresh=True)
        time.sleep(WAIT_SECONDS)

    def size_batches(firsts: list[dict], slots: int) -> int:
        """Runs a task, from the timed first runs (real runs, stored like any other): about
        TARGET_TASK_SECONDS of work, and at least two tasks a worker so that the last ones balance."""
        if not firsts:
            return 1
        per_run = max(sum(r["runs"][0][2] for r in firsts) / len(firsts), 1e-3)
        return max(1, min(math.ceil(TARGET_TASK_SECONDS / per_run), math.ceil(len(todo) / (2 * slots))))

    bar.set_postfix_str(points_done(), refresh=False)
    t0 = time.perf_counter()
    try:
        with owning(store, conn) as owner, _executor(backend, workers, scheduler) as (submit, wait, slots):
            if todo and batch is None:  # one timed run on every worker at once: none sits idle
                firsts = [t for t in (next_task(owner, 1) for _ in range(slots)) if t is not None]
                futures = [submit(t, sweep.seed) for t in firsts]
                results = [f.result() for f in futures]
                for r in results:
                    save(r)
                batch = size_batches(results, slots)
            info.batch = batch or 1
            window = 1 if backend == "serial" else 2 * slots
            _drain(lambda: next_task(owner, info.batch), lambda t: submit(t, sweep.seed), wait, window, save,
                   lambda: bool(todo), idle)
    finally:
        info.seconds = time.perf_counter() - t0
        bar.close()
    return info


def _drain(next_task, submit, wait, window: int, save, pending, idle) -> None:
    """Keep up to ``window`` claimed tasks in flight; store each result as it arrives (in completion order).
    With nothing in flight and nothing to claim while ``pending()`` (another sweep holds the rest), ``idle()``."""
    inflight: set = set()
    try:
        while True:
            while len(inflight) < window and (t := next_task()) is not None:
                inflight.add(submit(t))
            if not inflight:
                if not pending():
                    return
                idle()
                continue
            finished, rest = wait(inflight, return_when=FIRST_COMPLETED)
            inflight = set(rest)
            for f in finished:
                save(f.result())
    except BaseException:
        for f in inflight:
            f.cancel()
        raise


def _now_future(fn, *args) -> Future:
    """Run ``fn`` here and now, as a finished future (the serial backend)."""
    f: Future = Future()
    try:
        f.set_result(fn(*args))
    except Exception as exc:
        f.set_exception(exc)
    return f


@contextmanager
def _executor(backend: str, workers: int, scheduler: str | None):
    """``(submit(task, seed) -> future, wait, slots)`` for this process, a local process pool or a Dask cluster
    (the one at ``scheduler``, or a LocalCluster of ``workers`` processes started here and closed afterwards)."""
    if backend == "serial":
        yield (lambda t, seed: _now_future(_run_task, t, seed)), wait_futures, 1
        return
    if backend == "processes":
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield (lambda t, seed: pool.submit(_run_task, t, seed)), wait_futures, workers
        return
    try:
        from distributed import Client, KilledWorker, LocalCluster
        from distributed import wait as dask_wait
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise SweepError("Dask is not installed: pip install 'dask[distributed]'") from exc
    import dask

    cluster = None
    if scheduler is None:
        with dask.config.set(DASK_WORKER_CONFIG):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
    with dask.config.set(DASK_CLIENT_CONFIG):  # read as the client connects
        client = Client(cluster if cluster is not None else scheduler, timeout="30s")
    try:
        slots = sum(client.nthreads().values()) or 1
        yield (lambda t, seed: client.submit(_run_task, t, seed, pure=False)), dask_wait, slots
    except KilledWorker as exc:  # a worker lost is rerun elsewhere; this is a task that lost several
        raise SweepError(f"{exc} The runs stored so far are kept: run the same command to resume.") from exc
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
