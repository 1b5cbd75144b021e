"""The sweep store: one SQLite file holding a sweep's spec, points and every run's KPI rows.

Several sweeps may write one store at once (two ``sendmodel sweep`` commands, on one machine or more): each
process joins the store's *owners*, with a heartbeat, and *claims* the (point, replication) pairs it runs before
running them, so that they share the work instead of running it twice. A claim of an owner that has stopped
(its process is gone from this machine, or its heartbeat is older than :data:`STALE_SECONDS`) is taken over.
Readers never block: the store is a write-ahead log, so ``load_sweep`` reads it while sweeps write.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import hashlib
import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sendmodel.analysis.labels import KPI_UNITS
from sendmodel.analysis.overload import LOAD_COLUMNS
from sendmodel.common.paths import PACKAGE_DIR
from sendmodel.common.version import __version__
from sendmodel.scenario.loading import config_hash
from sendmodel.studies.sweep.spec import Sweep, SweepError

STORE_FORMAT = 1
# A run's KPIs come from these modules and what they import at their top level: a store is resumed, and a worker
# used, only with the same code (and the same NumPy and SimPy, whose releases could change a draw or an order).
_MODEL_ROOTS = ("sendmodel.engine.replication", "sendmodel.analysis.kpis", "sendmodel.analysis.overload",
                "sendmodel.scenario.loading")


def _model_modules() -> list[str]:
    """The package modules a run uses: the roots and, transitively, their top-level ``from sendmodel.x import``s
    (an import inside a function, such as plots for a results folder, does not change KPIs)."""
    seen: set[str] = set()
    todo = list(_MODEL_ROOTS)
    while todo:
        m = todo.pop()
        f = _module_file(m)
        if m in seen or f is None:
            continue
        seen.add(m)
        todo += re.findall(r"^from (sendmodel[\w.]*) import", f.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return sorted(seen)


def _module_file(module: str) -> Path | None:
    rel = Path(*module.split(".")[1:])
    for f in (PACKAGE_DIR / rel.with_suffix(".py"), PACKAGE_DIR / rel / "__init__.py"):
        if f.is_file():
            return f
    return None


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the model's source and of the NumPy and SimPy versions: the version number alone misses
    changes made between releases."""
    import numpy
    import simpy

    h = hashlib.sha256(f"numpy {numpy.__version__}\0simpy {simpy.__version__}\0".encode())
    for m in _model_modules():
        f = _module_file(m)
        assert f is not None
        h.update(m.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


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
CREATE TABLE IF NOT EXISTS load (
    point INTEGER NOT NULL, replication INTEGER NOT NULL, service TEXT NOT NULL, measure TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (point, replication, service, measure),
    FOREIGN KEY (point, replication) REFERENCES runs(point, replication));
CREATE TABLE invocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, spec_file TEXT NOT NULL, spec TEXT NOT NULL,
    sendmodel TEXT NOT NULL, seed INTEGER NOT NULL, replications INTEGER NOT NULL, backend TEXT NOT NULL,
    workers INTEGER);
"""
# Added to a store when it is opened, so that stores made before there were claims take them too.
_CLAIM_SCHEMA = """
CREATE TABLE IF NOT EXISTS owners (
    owner TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started TEXT NOT NULL,
    heartbeat REAL NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
    point INTEGER NOT NULL, replication INTEGER NOT NULL, owner TEXT NOT NULL,
    PRIMARY KEY (point, replication));
"""
HEARTBEAT_SECONDS = 5.0  # how often a sweep says it is alive
STALE_SECONDS = 60.0  # an owner silent this long (on another machine) has stopped; its claims are taken over


_LOAD_TABLE = next(t for t in _SCHEMA.split(";") if "IF NOT EXISTS load" in t)


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
    # Switching a new file to WAL needs it to itself, and SQLite answers "database is locked" at once rather
    # than waiting (no busy handler for it) when another process is opening the same new store: wait here.
    deadline = time.monotonic() + 60
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.05)
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
    """Open (creating if new) a store for ``sweep``; refuse one that holds another sweep.

    The check for an empty file and its creation are one transaction, so two sweeps starting on a new store at
    once make it once (the second waits, then finds it made).
    """
    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = _connect(store)
        conn.execute("BEGIN IMMEDIATE")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise SweepError(f"{store}: not a sweep store ({exc})") from None
    try:
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
            for stmt in filter(str.strip, _SCHEMA.split(";")):  # not executescript: that commits first
                conn.execute(stmt)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
            conn.executemany("INSERT INTO points VALUES (?, ?, ?)", _identity(sweep))
        if "meta" in tables or not tables:
            for stmt in filter(str.strip, _CLAIM_SCHEMA.split(";")):
                conn.execute(stmt)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        raise
    if not tables:
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
    if "load" not in tables:  # a store from before capacity measures were kept: its new runs keep them
        conn.execute(_LOAD_TABLE)
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


def _store_task(conn: sqlite3.Connection, result: dict) -> int:
    """One task's runs and KPI rows in one transaction: all stored, or (killed part-way) none; their claims
    released. A run already stored (by a sweep that took over a claim it thought abandoned) is kept as it is:
    runs are determined by their point, replication and seed, so both are the same. Returns the runs stored."""
    now = _now()
    stored = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for point, rep, secs, rows in result["runs"]:
            cur = conn.execute(
                "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                (point, rep, secs, result["host"], result["version"], now),
            )
            conn.execute("DELETE FROM claims WHERE point = ? AND replication = ?", (point, rep))
            if cur.rowcount != 1:
                continue
            stored += 1
            conn.executemany(
                "INSERT INTO kpis VALUES (?, ?, ?, ?, ?, ?)",
                [(point, rep, kpi, svc, i, float(v)) for i, (kpi, svc, v) in enumerate(rows)],
            )
        for point, rep, rows in result.get("load", []):
            conn.executemany("INSERT INTO load VALUES (?, ?, ?, ?, ?)",
                             [(point, rep, svc, m, float(v)) for svc, m, v in rows])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return stored


# --- sharing a store between sweeps -------------------------------------------------------------------------

_HOST = socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


@contextmanager
def owning(store: Path, conn: sqlite3.Connection):
    """Join the store's owners for the duration (yielding this owner's name), a thread keeping the heartbeat;
    on leaving, whatever this owner still claims (a task interrupted) is released for others to run."""
    owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def beat(c: sqlite3.Connection) -> None:
        c.execute(
            "INSERT INTO owners VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner) DO UPDATE SET heartbeat = "
            "excluded.heartbeat",
            (owner, _HOST, os.getpid(), _now(), time.time()),
        )

    beat(conn)
    stop = threading.Event()

    def keep_beating() -> None:
        c = _connect(store)
        try:
            while not stop.wait(HEARTBEAT_SECONDS):
                try:
                    beat(c)
                except sqlite3.Error:  # busy for a minute: the next beat tries again
                    pass
        finally:
            c.close()

    thread = threading.Thread(target=keep_beating, name="sweep-heartbeat", daemon=True)
    thread.start()
    try:
        yield owner
    finally:
        stop.set()
        thread.join()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM claims WHERE owner = ?", (owner,))
        conn.execute("DELETE FROM owners WHERE owner = ?", (owner,))
        conn.execute("COMMIT")


@dataclass
class Claimed:
    """What one claim found: the pairs now ours, those another sweep has stored meanwhile, and the owners
    (host and pid) whose claims hold the rest back."""

    pairs: list[tuple[int, int]]
    stored_elsewhere: int
    held_by: list[str]


def claim(conn: sqlite3.Connection, owner: str, todo: collections.deque, n: int) -> Claimed:
    """Claim up to ``n`` pairs of ``todo`` (the pairs this sweep still wants, in order), in one transaction.

    Pairs stored meanwhile leave ``todo``; pairs claimed by a live owner stay in it (at the front, to be tried
    again); claims of stopped owners are released first.
    """
    if not todo:
        return Claimed([], 0, [])
    conn.execute("BEGIN IMMEDIATE")
    try:
        now = time.time()
        stale = [
            o
            for o, host, pid, hb in conn.execute("SELECT owner, host, pid, heartbeat FROM owners")
            if o != owner and (now - hb > STALE_SECONDS or (host == _HOST and not _alive(pid)))
        ]
        conn.executemany("DELETE FROM owners WHERE owner = ?", [(o,) for o in stale])
        conn.execute("DELETE FROM claims WHERE owner NOT IN (SELECT owner FROM owners)")
        held = {
            (p, r): f"{host} pid {pid}"
            for p, r, host, pid in conn.execute(
                "SELECT point, replication, host, pid FROM claims JOIN owners USING (owner) WHERE owner != ?",
                (owner,),
            )
        }
        mine, skipped, elsewhere = [], [], 0
        while todo and len(mine) < n:
            pr = todo.popleft()
            if conn.execute("SELECT 1 FROM runs WHERE point = ? AND replication = ?", pr).fetchone():
                elsewhere += 1
            elif pr in held:
                skipped.append(pr)
            else:
                mine.append(pr)
        conn.executemany("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)", [(p, r, owner) for p, r in mine])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        todo.extendleft(reversed(mine + skipped))
        raise
    todo.extendleft(reversed(skipped))
    return Claimed(mine, elsewhere, sorted({held[pr] for pr in skipped}))


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


def load_sweep_capacity(store: str | Path) -> pd.DataFrame:
    """The capacity measures of every stored run (:func:`sendmodel.analysis.overload.load_rows`), one row per
    (point, replication, service) as :func:`~sendmodel.analysis.overload.load_frame` makes them; empty for a
    store written before they were kept."""
    with _read_only(store) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "load" not in tables:
            return pd.DataFrame(columns=["point", *LOAD_COLUMNS])
        df = pd.read_sql_query("SELECT point, replication, service, measure, value FROM load", conn)
    if df.empty:
        return pd.DataFrame(columns=["point", *LOAD_COLUMNS])
    wide = df.pivot_table(index=["point", "replication", "service"], columns="measure", values="value",
                          sort=False, dropna=False).reset_index()
    wide["scenario"] = ""
    return wide.reindex(columns=["point", *LOAD_COLUMNS]).sort_values(["point", "replication"], kind="stable")


def sweep_points(store: str | Path) -> dict[int, dict]:
    """Each point's swept values (field path -> value), by point."""
    with _read_only(store) as conn:
        return {p: json.loads(v) for p, v in conn.execute("SELECT point, params FROM points ORDER BY point")}


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
