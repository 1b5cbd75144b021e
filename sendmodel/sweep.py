"""Batch parameter sweeps: scenario variants x replications, resumable, on local processes or a Dask cluster.

A *sweep spec* (YAML in ``scenarios/sweeps/``) names a base scenario, the fields to vary (dotted paths, as
:func:`sendmodel.override` takes them) and a design: a full ``grid``, listed ``points`` or a Latin hypercube
(``lhs``) of N points within ranges; plus replications and a seed. :func:`load_sweep_spec` validates all of
it, building every point's scenario, so a typo fails with a :class:`~sendmodel.ScenarioError` naming the spec
file and field before anything runs or is written.

:func:`run_sweep` runs every (point, replication) as an independent replication (the seed is shared by every
point, so points are compared on common random numbers). Replications are batched into tasks of about a second
each, so the scheduling cost of a task (pickling, Dask's bookkeeping) stays small against its work. Only KPIs
are kept. The calling process is the only writer of the store, a SQLite file: each finished task is one
transaction (its runs and all their KPI rows, or nothing), so a sweep killed at any moment resumes by running
again the same command, which skips the stored (point, replication) pairs. :func:`load_sweep` reads a store
into a tidy frame.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
import math
import os
import re
import socket
import sqlite3
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from scipy import stats
from scipy.stats import qmc

from . import __version__
from .analysis import kpis_from_records
from .config import Scenario
from .labels import KPI_UNITS
from .runner import run_replication
from .scenarios import ScenarioError, _read_yaml, config_hash, load_scenario

# Dask settings for the workers of a cluster this module starts (and recommended for `dask worker`, as the
# environment variables DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False and
# DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s): the statistical profiler samples the task's thread 100 times
# a second and the event loop checks itself 50 times a second, both taking the GIL from the simulation (runs
# took ~12% longer in a Dask worker than in a local process; ~3% without them, benchmarks/bench_sweep.py).
DASK_WORKER_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s"}
TARGET_TASK_SECONDS = 1.0  # batch replications so one task takes about this long (Dask's advice: >= ~1 s)
STORE_FORMAT = 1
_LHS_SPAWN_KEY = 0x5EED  # keeps the design's random numbers apart from the replications' streams
_RESERVED = ("point", "replication", "kpi", "service", "value", "unit")
# A run's KPIs come from these modules and what they import: a store is resumed, and a worker used, only with
# the same code.
_MODEL_ROOTS = ("runner", "analysis", "scenarios")


class SweepError(RuntimeError):
    """A sweep that cannot go on: a store holding another sweep, or workers running another sendmodel."""


# --- the spec -----------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SpecBase(_Strict):
    name: str | None = Field(None, description="short name (default: the spec file's name)")
    description: str = ""
    base: str = Field(description="base scenario file, relative to the spec file")
    replications: int = Field(ge=1, description="replications of every point")
    seed: int = Field(ge=0, description="base seed; every point uses it (common random numbers)")


def _check_path(p: str) -> str:
    parts = p.split(".")
    if (
        not p
        or not all(x.replace("_", "").isalnum() and not x[0].isdigit() for x in parts if x)
        or "" in parts
    ):
        raise ValueError(f"{p!r} is not a field path like services.slt.pas_per_week")
    if p in _RESERVED:
        raise ValueError(f"{p!r} is not a scenario field")
    return p


class GridSpec(_SpecBase):
    """Every combination of the listed values (the first parameter varies slowest)."""

    design: Literal["grid"]
    parameters: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)


class PointsSpec(_SpecBase):
    """Listed points, each a mapping of field path -> value (every point sets the same fields)."""

    design: Literal["points"]
    points: list[Annotated[dict[str, Any], Field(min_length=1)]] = Field(min_length=1)


class Range(_Strict):
    """A parameter's range in a Latin hypercube. ``[low, high]`` is short for ``{low: .., high: ..}``."""

    low: float
    high: float
    decimals: int | None = Field(None, ge=0, description="round sampled values (0: whole numbers)")

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, v):
        if isinstance(v, (list, tuple)):
            if len(v) != 2:
                raise ValueError(f"a range is [low, high] (got {len(v)} values)")
            return {"low": v[0], "high": v[1]}
        return v

    @model_validator(mode="after")
    def _ordered(self):
        if not self.high > self.low:
            raise ValueError(f"high ({self.high:g}) must be greater than low ({self.low:g})")
        return self


class LhsSpec(_SpecBase):
    """A Latin hypercube of ``n_points`` within the ranges (scipy.stats.qmc, seeded by ``seed``)."""

    design: Literal["lhs"]
    n_points: int = Field(ge=2, description="points in the hypercube")
    parameters: dict[str, Range] = Field(min_length=1)


SweepSpec = Annotated[Union[GridSpec, PointsSpec, LhsSpec], Field(discriminator="design")]
_SPEC = TypeAdapter(SweepSpec)
DESIGNS = ("grid", "points", "lhs")


def _explain(err: dict) -> tuple[str, str]:
    loc = [
        x for x in err.get("loc", ()) if x not in DESIGNS and x not in ("function-after", "function-before")
    ]
    path = ""
    for x in loc:
        path += f"[{x}]" if isinstance(x, int) else ("." if path else "") + str(x)
    typ, got = err.get("type", ""), err.get("input")
    if typ == "union_tag_not_found":
        return "design", f"required: one of {list(DESIGNS)}"
    if typ == "union_tag_invalid":
        return "design", f"must be one of {list(DESIGNS)} (got {(err.get('ctx') or {}).get('tag')!r})"
    if typ == "extra_forbidden":
        raw = err.get("loc", ())
        model = {"grid": GridSpec, "points": PointsSpec, "lhs": LhsSpec}.get(raw[0] if raw else None)
        if model is not None and len(raw) == 2:
            return path, f"unknown field; allowed: {list(model.model_fields)}"
        return path, "unknown field"
    if typ == "missing":
        return path, "required field is missing"
    msg = err["msg"].removeprefix("Value error, ")
    if not typ.startswith("value_error"):
        msg = f"{msg} (got {got!r})"
    return path, msg


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its spec, base scenario and every point with its scenario."""

    spec: GridSpec | PointsSpec | LhsSpec
    file: Path
    base: Scenario
    parameters: list[str]
    points: list[dict[str, Any]]
    scenarios: list[Scenario] = field(repr=False)

    @property
    def name(self) -> str:
        return self.spec.name or self.file.stem

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def replications(self) -> int:
        return self.spec.replications

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replications


def _lhs_points(spec: LhsSpec) -> list[dict[str, Any]]:
    names = list(spec.parameters)
    rng = np.random.default_rng(np.random.SeedSequence(entropy=spec.seed, spawn_key=(_LHS_SPAWN_KEY,)))
    try:
        sampler = qmc.LatinHypercube(d=len(names), rng=rng)
    except TypeError:  # scipy < 1.15 calls it seed
        sampler = qmc.LatinHypercube(d=len(names), seed=rng)
    r = [spec.parameters[n] for n in names]
    x = qmc.scale(sampler.random(spec.n_points), [q.low for q in r], [q.high for q in r])
    pts = []
    for row in x:
        pt = {}
        for n, q, v in zip(names, r, row):
            v = float(v) if q.decimals is None else round(float(v), q.decimals)
            pt[n] = int(v) if q.decimals == 0 else v
        pts.append(pt)
    return pts


def _design_points(spec, file: Path) -> tuple[list[str], list[dict[str, Any]]]:
    for p in getattr(spec, "parameters", {}):
        try:
            _check_path(p)
        except ValueError as exc:
            raise ScenarioError(file, f"parameters.{p}", str(exc)) from None
    if isinstance(spec, GridSpec):
        for p, values in spec.parameters.items():
            keys = [json.dumps(x, sort_keys=True) for x in values]
            dup = next((j for j, k in enumerate(keys) if k in keys[:j]), None)
            if dup is not None:
                raise ScenarioError(file, f"parameters.{p}[{dup}]", f"value {values[dup]!r} is listed twice")
        names = list(spec.parameters)
        pts = [dict(zip(names, combo)) for combo in itertools.product(*spec.parameters.values())]
    elif isinstance(spec, PointsSpec):
        names = list(spec.points[0])
        for i, pt in enumerate(spec.points):
            for p in pt:
                try:
                    _check_path(p)
                except ValueError as exc:
                    raise ScenarioError(file, f"points[{i}].{p}", str(exc)) from None
            if list(pt) != names and set(pt) != set(names):
                missing, extra = sorted(set(names) - set(pt)), sorted(set(pt) - set(names))
                raise ScenarioError(
                    file,
                    f"points[{i}]",
                    f"every point must set the same fields as points[0] (missing {missing}, extra {extra})",
                )
        pts = [{n: pt[n] for n in names} for pt in spec.points]
    else:
        names = list(spec.parameters)
        pts = _lhs_points(spec)
    # Values as they will be stored (JSON), so a resumed sweep compares like with like.
    return names, [json.loads(json.dumps(p)) for p in pts]


def _path_problem(exc: ScenarioError) -> bool:
    """Whether a scenario error is about a field path (not its value)."""
    return exc.message.startswith(("unknown field", "unknown service")) or "not a section" in exc.message


def _blame(spec, names: list[str], i: int, pt: dict, exc: ScenarioError) -> str:
    """The spec field a failing point's scenario error comes from."""
    f = exc.field
    hit = next((p for p in names if f == p or f.startswith(p + ".") or p.startswith(f + ".")), None)
    if isinstance(spec, PointsSpec):
        return f"points[{i}]" + (f".{hit}" if hit else "")
    if hit is None:
        return "parameters"
    if isinstance(spec, GridSpec) and not _path_problem(exc):
        values = [json.dumps(v, sort_keys=True) for v in spec.parameters[hit]]
        return f"parameters.{hit}[{values.index(json.dumps(pt[hit], sort_keys=True))}]"
    return f"parameters.{hit}"


def load_sweep_spec(path: str | Path) -> Sweep:
    """Load and validate a sweep spec, building (and so checking) every point's scenario.

    Raises
    ------
    ScenarioError
        Naming the spec file and the field at fault (a bad path, range, design or value), before any run.
    """
    path = Path(path)
    data = _read_yaml(path)
    try:
        spec = _SPEC.validate_python(data)
    except ValidationError as exc:
        errs = exc.errors()
        where, msg = _explain(errs[0])
        if len(errs) > 1:
            msg += f" (and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''})"
        raise ScenarioError(path, where, msg) from None
    base_file = path.resolve().parent / spec.base
    if not base_file.exists():
        raise ScenarioError(path, "base", f"scenario file not found: {base_file}")
    base = load_scenario(base_file)
    names, pts = _design_points(spec, path)
    scenarios = []
    for i, pt in enumerate(pts):
        try:
            scenarios.append(base.override(pt))
        except ScenarioError as exc:
            where = _blame(spec, names, i, pt, exc)
            if _path_problem(exc):
                msg = f"{exc.message} (in {exc.field} of the base scenario {base_file.name})"
            else:
                values = ", ".join(f"{k}={v!r}" for k, v in pt.items())
                msg = f"point {i} ({values}) is not a valid scenario: {exc.field}: {exc.message}"
            raise ScenarioError(path, where, msg) from None
    return Sweep(spec, path, base, names, pts, scenarios)


# --- running ------------------------------------------------------------------------------------------------


def _model_modules(pkg: Path) -> list[str]:
    """The package modules a run uses: the roots and, transitively, their top-level ``from .x import``s (an
    import inside a function, such as plots for a results folder, does not change KPIs)."""
    seen: set[str] = set()
    todo = list(_MODEL_ROOTS)
    while todo:
        m = todo.pop()
        f = pkg / f"{m}.py"
        if m in seen or not f.exists():
            continue
        seen.add(m)
        todo += re.findall(r"^from \.(\w+) import", f.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return sorted(seen)


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the model's source: the version number alone misses changes made between releases."""
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    for m in _model_modules(pkg):
        h.update(m.encode() + b"\0" + (pkg / f"{m}.py").read_bytes())
    return h.hexdigest()[:16]


def _run_task(groups: list[tuple[int, Scenario, tuple[int, ...]]], seed: int) -> dict:
    """Worker side of one task: run its replications and return their KPI rows (no event logs)."""
    runs = []
    for point, scenario, reps in groups:
        for rep in reps:
            t0 = time.perf_counter()
            rows = kpis_from_records(run_replication(scenario, seed, rep), scenario)
            runs.append((point, rep, time.perf_counter() - t0, rows))
    return {
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


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
    missing = [
        (p, r) for p in range(len(sweep.points)) for r in range(sweep.replications) if (p, r) not in done
    ]
    per_point = {p: 0 for p in range(len(sweep.points))}
    for p, r in done:
        if r < sweep.replications:
            per_point[p] += 1
    info = SweepRun(store, backend, workers, sweep.n_runs, sweep.n_runs - len(missing))
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
        _store_task(conn, result)
        for point, _rep, secs, _rows in result["runs"]:
            per_point[point] += 1
            info.compute_seconds += secs
        info.runs += len(result["runs"])
        info.tasks += 1
        bar.update(len(result["runs"]))
        bar.set_postfix_str(points_done(), refresh=False)

    bar.set_postfix_str(points_done(), refresh=False)
    t0 = time.perf_counter()
    def size_batches(firsts: list[dict], slots: int) -> int:
        """Runs a task, from the timed first runs (real runs, stored like any other): about
        TARGET_TASK_SECONDS of work, and at least two tasks a worker so that the last ones balance."""
        per_run = max(sum(r["runs"][0][2] for r in firsts) / len(firsts), 1e-3)
        left = len(missing) - len(firsts)
        return max(1, min(math.ceil(TARGET_TASK_SECONDS / per_run), math.ceil(left / (2 * slots))))

    def singles(n: int) -> list[list]:
        return [_tasks([m], 1, sweep.scenarios)[0] for m in missing[:n]]

    try:
        if backend == "serial":
            if missing and batch is None:  # one run, timed, sets the batch size
                firsts = [_run_task(t, sweep.seed) for t in singles(1)]
                save(firsts[0])
                batch = size_batches(firsts, 1)
                missing = missing[1:]
            info.batch = batch or 1
            for t in _tasks(missing, info.batch, sweep.scenarios):
                save(_run_task(t, sweep.seed))
        else:
            with _executor(backend, workers, scheduler) as (submit, wait, slots):
                if missing and batch is None:  # one timed run on every worker at once: none sits idle
                    futures = [submit(t, sweep.seed) for t in singles(min(slots, len(missing)))]
                    firsts = [f.result() for f in futures]
                    for r in firsts:
                        save(r)
                    batch = size_batches(firsts, slots)
                    missing = missing[len(firsts) :]
                info.batch = batch or 1
                tasks = _tasks(missing, info.batch, sweep.scenarios)
                _drain(tasks, lambda t: submit(t, sweep.seed), wait, 2 * slots, save)
    finally:
        info.seconds = time.perf_counter() - t0
        bar.close()
    return info


def _drain(tasks, submit, wait, window: int, save) -> None:
    """Keep ``window`` tasks in flight; store each result as it arrives (in completion order)."""
    it = iter(tasks)
    inflight = set()
    for t in itertools.islice(it, window):
        inflight.add(submit(t))
    try:
        while inflight:
            finished, inflight = wait(inflight, return_when=FIRST_COMPLETED)
            inflight = set(inflight)
            for f in finished:
                save(f.result())
                nxt = next(it, None)
                if nxt is not None:
                    inflight.add(submit(nxt))
    except BaseException:
        for f in inflight:
            f.cancel()
        raise


@contextmanager
def _executor(backend: str, workers: int, scheduler: str | None):
    """``(submit(task, seed) -> future, wait, slots)`` for a local process pool or a Dask cluster (the one at
    ``scheduler``, or a LocalCluster of ``workers`` processes started here and closed afterwards)."""
    if backend == "processes":
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield (lambda t, seed: pool.submit(_run_task, t, seed)), wait_futures, workers
        return
    try:
        from distributed import Client, LocalCluster
        from distributed import wait as dask_wait
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise SweepError("Dask is not installed: pip install 'dask[distributed]'") from exc
    cluster = None
    if scheduler is None:
        import dask

        with dask.config.set(DASK_WORKER_CONFIG):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
    else:
        client = Client(scheduler, timeout="30s")
    try:
        slots = sum(client.nthreads().values()) or 1
        yield (lambda t, seed: client.submit(_run_task, t, seed, pure=False)), dask_wait, slots
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --- the store ----------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE points (point INTEGER PRIMARY KEY, params TEXT NOT NULL, config_hash TEXT NOT NULL);
CREATE TABLE runs (
    point INTEGER NOT NULL REFERENCES points(point), replication INTEGER NOT NULL,
    seconds REAL NOT NULL, host TEXT NOT NULL, sendmodel TEXT NOT NULL, stored_at TEXT NOT NULL,
    PRIMARY KEY (point, replication));
CREATE TABLE kpis (
    point INTEGER NOT NULL, replication INTEGER NOT NULL, kpi TEXT NOT NULL, service TEXT NOT NULL,
    seq INTEGER NOT NULL, value REAL,
    PRIMARY KEY (point, replication, kpi, service),
    FOREIGN KEY (point, replication) REFERENCES runs(point, replication));
CREATE TABLE invocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, spec_file TEXT NOT NULL, spec TEXT NOT NULL,
    sendmodel TEXT NOT NULL, seed INTEGER NOT NULL, replications INTEGER NOT NULL, backend TEXT NOT NULL,
    workers INTEGER);
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _connect(store: Path) -> sqlite3.Connection:
    """The writer's connection.

    Autocommit mode: every transaction below is an explicit BEGIN ... COMMIT, DDL included. Write-ahead log
    with synchronous=NORMAL: a commit costs ~1 ms instead of ~30 ms of fsyncs (the single writer must keep up
    with every worker), a killed writer loses nothing committed, and a power cut can lose the last few tasks
    but never leaves a partial one (uncommitted WAL frames are ignored); readers never block the writer. A WAL
    needs a local disk (not a network share), which is where the store belongs: workers never touch it.
    """
    conn = sqlite3.connect(store, timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _identity(sweep: Sweep) -> list[tuple[int, str, str]]:
    return [
        (i, json.dumps(p, sort_keys=True), config_hash(s))
        for i, (p, s) in enumerate(zip(sweep.points, sweep.scenarios))
    ]


def _spec_json(sweep: Sweep) -> str:
    return json.dumps(sweep.spec.model_dump(mode="json"), sort_keys=True)


def _open_store(store: Path, sweep: Sweep) -> sqlite3.Connection:
    """Open (creating if new) a store for ``sweep``; refuse one that holds another sweep."""
    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = _connect(store)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise SweepError(f"{store}: not a sweep store ({exc})") from None
    if not tables:
        meta = {
            "format": STORE_FORMAT,
            "name": sweep.name,
            "spec_file": str(sweep.file),
            "spec": json.loads(_spec_json(sweep)),
            "spec_sha256": hashlib.sha256(sweep.file.read_bytes()).hexdigest(),
            "parameters": sweep.parameters,
            "seed": sweep.seed,
            "replications": sweep.replications,
            "sendmodel": __version__,
            "model_code": code_fingerprint(),
            "base_scenario": sweep.base.model_dump(mode="json"),
            "created": _now(),
        }
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in filter(str.strip, _SCHEMA.split(";")):  # not executescript: that commits first
                conn.execute(stmt)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
            conn.executemany("INSERT INTO points VALUES (?, ?, ?)", _identity(sweep))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        return conn
    if "meta" not in tables:
        conn.close()
        raise SweepError(f"{store}: not a sweep store (no meta table); give another --out")
    meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    problems = []
    if meta.get("format") != STORE_FORMAT:
        problems.append(f"store format {meta.get('format')}, this sendmodel writes {STORE_FORMAT}")
    if meta.get("sendmodel") != __version__:
        problems.append(f"written by sendmodel {meta.get('sendmodel')}, this is {__version__}")
    if meta.get("model_code") != code_fingerprint():
        problems.append(
            f"the model's code has changed since (model code {meta.get('model_code')}, now "
            f"{code_fingerprint()})"
        )
    if meta.get("seed") != sweep.seed:
        problems.append(f"seed {meta.get('seed')}, the spec says {sweep.seed}")
    stored = conn.execute("SELECT point, params, config_hash FROM points ORDER BY point").fetchall()
    ours = _identity(sweep)
    if len(stored) != len(ours):
        problems.append(f"{len(stored)} points, the spec has {len(ours)}")
    else:
        for (i, sp, sh), (_, op, oh) in zip(stored, ours):
            if sp != op:
                problems.append(f"point {i} is {sp}, the spec's is {op}")
                break
            if sh != oh:
                problems.append(f"point {i}'s scenario has changed (the base scenario or the model's fields)")
                break
    if problems:
        conn.close()
        raise SweepError(
            f"{store} holds a different sweep ({'; '.join(problems)}): give another --out, or delete it to "
            "start again"
        )
    if sweep.replications > meta.get("replications", 0):  # more replications extend a sweep
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'replications'", (json.dumps(sweep.replications),)
        )
    return conn


def _log_invocation(conn, sweep: Sweep, backend: str, workers: int | None) -> None:
    conn.execute(
        "INSERT INTO invocations (started, spec_file, spec, sendmodel, seed, replications, backend, workers) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            _now(),
            str(sweep.file),
            _spec_json(sweep),
            __version__,
            sweep.seed,
            sweep.replications,
            backend,
            workers,
        ),
    )


def _store_task(conn: sqlite3.Connection, result: dict) -> None:
    """One task's runs and KPI rows in one transaction: all stored, or (killed part-way) none."""
    now = _now()
    conn.execute("BEGIN IMMEDIATE")
    try:
        for point, rep, secs, rows in result["runs"]:
            conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                (point, rep, secs, result["host"], result["version"], now),
            )
            conn.executemany(
                "INSERT INTO kpis VALUES (?, ?, ?, ?, ?, ?)",
                [(point, rep, kpi, svc, i, float(v)) for i, (kpi, svc, v) in enumerate(rows)],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def sweep_meta(store: str | Path) -> dict:
    """The store's record of its sweep: spec, parameters, seed, replications, versions, base scenario."""
    with _read_only(store) as conn:
        meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        meta["invocations"] = pd.read_sql_query("SELECT * FROM invocations ORDER BY id", conn)
    return meta


class _read_only:
    """Open a store for reading, never creating one.

    Read-write if possible: a writer killed mid-transaction leaves its log behind, and only a connection that
    may write can recover it (SQLite then serves the last committed state); read-only otherwise.
    """

    def __init__(self, store):
        self.store = Path(store)

    def __enter__(self) -> sqlite3.Connection:
        if not self.store.exists():
            raise FileNotFoundError(f"no sweep store at {self.store}")
        uri = f"file:{self.store.resolve()}?mode="
        try:
            self.conn = sqlite3.connect(uri + "rw", uri=True, timeout=60)
        except sqlite3.OperationalError:
            self.conn = sqlite3.connect(uri + "ro", uri=True, timeout=60)
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()


def load_sweep(store: str | Path) -> pd.DataFrame:
    """A sweep store as a tidy frame: one row per (point, replication, KPI, service).

    Columns: ``point``, one column per swept field (named by its path), ``replication``, ``kpi``, ``service``,
    ``value`` and ``unit``. ``df.attrs`` holds the spec, parameters, seed and sendmodel version.
    """
    with _read_only(store) as conn:
        meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        pts = conn.execute("SELECT point, params FROM points ORDER BY point").fetchall()
        k = pd.read_sql_query(
            "SELECT point, replication, kpi, service, value FROM kpis ORDER BY point, replication, seq", conn
        )
    names = meta["parameters"]
    cols = {n: [] for n in names}
    for _, params in pts:
        p = json.loads(params)
        for n in names:
            v = p[n]
            cols[n].append(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
    pf = pd.DataFrame({"point": [p for p, _ in pts], **cols})
    df = k.merge(pf, on="point", how="left", validate="many_to_one")
    df["value"] = df["value"].astype(float)
    df["unit"] = df["kpi"].map(KPI_UNITS).fillna("")
    df = df[["point", *names, "replication", "kpi", "service", "value", "unit"]]
    df.attrs.update(
        {
            k: meta.get(k)
            for k in ("name", "spec", "parameters", "seed", "replications", "sendmodel", "model_code")
        }
    )
    return df


# --- analysis of a sweep ------------------------------------------------------------------------------------


def _interval(x: np.ndarray, alpha: float = 0.05) -> tuple[int, float, float, float]:
    """n, mean and t-interval of independent values (NaN dropped)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return 0, float("nan"), float("nan"), float("nan")
    m = float(x.mean())
    if n < 2:
        return n, m, float("nan"), float("nan")
    h = float(stats.t.ppf(1 - alpha / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return n, m, m - h, m + h


def summarise_points(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mean and t-interval across replications for every (point, KPI, service), with the point's values."""
    names = df.attrs.get("parameters", [])
    g = df.groupby(["point", "kpi", "service"], sort=True)["value"]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    half = stats.t.ppf(1 - alpha / 2, np.maximum(out["n"] - 1, 1)) * out["sd"] / np.sqrt(out["n"])
    half = half.where(out["n"] > 1)
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    out["unit"] = out["kpi"].map(KPI_UNITS).fillna("")
    out = out.merge(df.drop_duplicates("point")[["point", *names]], on="point", how="left")
    return out[["point", *names, "kpi", "service", "n", "mean", "sd", "ci_low", "ci_high", "unit"]]


def _levels(points: pd.DataFrame, p: str, max_levels: int, bins: int) -> pd.Series:
    """Each point's level of parameter ``p``: its value, or (many values) the mean of its quantile bin."""
    x = points[p]
    if x.nunique() <= max_levels or not pd.api.types.is_numeric_dtype(x):
        return x
    b = pd.qcut(x, bins, duplicates="drop")
    return x.groupby(b, observed=True).transform("mean")


def main_effects(
    df: pd.DataFrame, kpi: str, service: str = "all", max_levels: int = 12, bins: int = 6, alpha: float = 0.05
) -> pd.DataFrame:
    """KPI against each swept parameter, averaged over the other parameters, with a t-interval.

    For each level of a parameter, each replication's KPI is averaged over the points at that level; the
    interval is across replications (which are independent). Many distinct values (a Latin hypercube) are
    grouped into quantile bins, each plotted at the mean of its points' values; there the other parameters are
    only roughly balanced between bins, so read the trend rather than a single bin.
    """
    d = df[(df["kpi"] == kpi) & (df["service"] == service)]
    names = df.attrs.get("parameters", [])
    points = d.drop_duplicates("point").set_index("point")[names]
    rows = []
    for p in names:
        lv = _levels(points, p, max_levels, bins)
        per_rep = d.assign(level=d["point"].map(lv)).groupby(["level", "replication"])["value"].mean()
        for level, g in per_rep.groupby(level=0, sort=True):
            n, m, lo, hi = _interval(g.to_numpy(), alpha)
            rows.append((p, level, int((lv == level).sum()), n, m, lo, hi))
    out = pd.DataFrame(rows, columns=["parameter", "level", "points", "n", "mean", "ci_low", "ci_high"])
    out.insert(2, "kpi", kpi)
    out.insert(3, "service", service)
    return out


def sensitivity(
    df: pd.DataFrame, kpi: str, service: str = "all", alpha: float = 0.05, **levels
) -> pd.DataFrame:
    """Tornado data: the KPI at each parameter's lowest and highest level (other parameters averaged over).

    The swing (high minus low) has a paired t-interval: replication r at both ends shares random numbers, so
    the interval is narrower than comparing two independent means. Rows are sorted by the size of the swing.
    """
    d = df[(df["kpi"] == kpi) & (df["service"] == service)]
    names = df.attrs.get("parameters", [])
    points = d.drop_duplicates("point").set_index("point")[names]
    rows = []
    for p in names:
        lv = _levels(points, p, levels.get("max_levels", 12), levels.get("bins", 6))
        order = sorted(lv.unique(), key=lambda v: (isinstance(v, str), v))
        if len(order) < 2:
            continue
        lo_v, hi_v = order[0], order[-1]
        per_rep = d.assign(level=d["point"].map(lv)).groupby(["level", "replication"])["value"].mean()
        lo, hi = per_rep.loc[lo_v], per_rep.loc[hi_v]
        diff = (hi - lo).dropna()
        n, m, cl, ch = _interval(diff.to_numpy(), alpha)
        rows.append((p, lo_v, hi_v, float(lo.mean()), float(hi.mean()), m, cl, ch, n))
    out = pd.DataFrame(
        rows,
        columns=[
            "parameter",
            "low_level",
            "high_level",
            "kpi_at_low",
            "kpi_at_high",
            "swing",
            "swing_ci_low",
            "swing_ci_high",
            "n",
        ],
    )
    out.insert(1, "kpi", kpi)
    out.insert(2, "service", service)
    out["overall_mean"] = float(d["value"].mean())
    return out.reindex(out["swing"].abs().sort_values(ascending=False).index).reset_index(drop=True)
