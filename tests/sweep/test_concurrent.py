"""Two sweeps on one store at once share the work and store exactly one sweep's rows; a stopped sweep's claims
are taken over; a sweep with nothing left to claim waits for the other's; the store reads while written."""

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pandas as pd

import sendmodel
from sendmodel.studies.sweep.run import run_sweep
from sendmodel.studies.sweep.spec import load_sweep_spec
from sendmodel.studies.sweep.store import _open_store
from tests.conftest import ROOT
from tests.sweep.conftest import TINY_BASE, TINY_SPEC, write_spec

# A year measured instead of 60 days (~0.08 s a run): a task of 20 runs lasts far longer than a waiting sweep
# takes to look again (WAIT_SECONDS), so two sweeps let go at once both get a task.
YEAR_BASE = TINY_BASE.replace("horizon_days: 60", "horizon_days: 365")
N_RUNS = 40


def _count(store, table: str) -> int:
    with sqlite3.connect(f"file:{store}?mode=rw", uri=True, timeout=30) as c:
        try:
            return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            return 0


def _start_two(spec, store, batch: int) -> list[subprocess.Popen]:
    cmd = [sys.executable, "-m", "sendmodel", "sweep", str(spec), "--out", str(store), "--workers", "1",
           "--batch", str(batch), "--no-progress"]
    return [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]


def _finish(procs) -> list[str]:
    """Both sweeps' output, once both have ended with exit 0 saying the store is complete."""
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"a sweep failed (exit {p.returncode}):\n{out}\n{err}"
        assert f"all {N_RUNS} runs stored" in out, out
        outs.append(out)
    return outs


def _kill(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def _ran(stdout: str) -> int:
    """Runs a sweep says it ran itself (its "Ran N runs" line; none if it ran none)."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith("Ran ")), "Ran 0 runs")
    return int(line.split()[1])


def _check_one_sweeps_rows(store, ref_store) -> None:
    df = sendmodel.load_sweep(store)
    assert not df.duplicated(["point", "replication", "kpi", "service"]).any()
    pd.testing.assert_frame_equal(df, sendmodel.load_sweep(ref_store))
    assert _count(store, "runs") == N_RUNS, "each run stored once"
    assert _count(store, "claims") == 0 and _count(store, "owners") == 0, "both sweeps left no claims behind"


def test_two_sweeps_started_at_once_on_a_new_store(tiny_spec, reference_store, tmp_path):
    """Both create the store at the same moment (two threads, let go together): it is made once, neither fails,
    and each run is stored once."""
    store = tmp_path / "new.sqlite"
    go, infos, errors = threading.Barrier(2), [], []

    def sweep() -> None:
        go.wait()
        try:
            infos.append(run_sweep(tiny_spec, store, workers=1, batch=2, progress=False))
        except Exception as exc:  # reported below, with the other thread's outcome
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(i.runs for i in infos) == N_RUNS, infos
    _check_one_sweeps_rows(store, reference_store)


def test_two_sweeps_share_the_work_and_the_store_reads_while_written(tmp_path):
    spec = write_spec(tmp_path, TINY_SPEC)
    (tmp_path / "tiny_base.yaml").write_text(YEAR_BASE)
    store = tmp_path / "shared.sqlite"
    _open_store(store, load_sweep_spec(spec)).close()
    # This test holds every pair until both sweeps have joined the store and wait, then lets go.
    _add_owner(store, "gate", socket.gethostname(), os.getpid(), time.time(),
               [(p, r) for p in range(8) for r in range(5)])
    procs = _start_two(spec, store, batch=20)
    try:
        deadline = time.monotonic() + 90
        while _count(store, "owners") < 3:
            assert all(p.poll() is None for p in procs) and time.monotonic() < deadline, "a sweep stopped"
            time.sleep(0.02)
        _release(store, "gate")
        while _count(store, "runs") < 1:
            assert time.monotonic() < deadline, "no run stored"
            time.sleep(0.02)
        part = sendmodel.load_sweep(store)  # read while both write
        from sendmodel.cli.main import main

        assert main(["sweep-report", str(store), "--out", str(tmp_path / "report")]) == 0
        ref_store = tmp_path / "single.sqlite"
        run_sweep(spec, ref_store, workers=1, progress=False)
        outs = _finish(procs)
    finally:
        _kill(procs)
    ran = [_ran(out) for out in outs]
    assert ran == [20, 20], f"each sweep should run one task of the two: {ran}"
    assert all("Shared: another sweep on this store ran 20 of the runs" in out for out in outs), outs
    _check_one_sweeps_rows(store, ref_store)
    keys = ["point", "replication"]
    have = part[keys].drop_duplicates()
    assert len(have) in (20, 40), f"a task's runs are stored together: {len(have)}"
    want = sendmodel.load_sweep(ref_store).merge(have, on=keys)
    pd.testing.assert_frame_equal(part.reset_index(drop=True), want.reset_index(drop=True))


def _add_owner(store, owner: str, host: str, pid: int, heartbeat: float, pairs) -> None:
    with sqlite3.connect(store, timeout=30) as c:
        c.execute("INSERT INTO owners VALUES (?, ?, ?, '2026-01-01T00:00:00+00:00', ?)", (owner, host, pid, heartbeat))
        c.executemany("INSERT INTO claims VALUES (?, ?, ?)", [(p, r, owner) for p, r in pairs])


def _release(store, owner: str) -> None:
    """What a sweep does on leaving: its claims go, then it does."""
    with sqlite3.connect(store, timeout=30) as c:
        c.execute("DELETE FROM claims WHERE owner = ?", (owner,))
        c.execute("DELETE FROM owners WHERE owner = ?", (owner,))


def test_claims_of_a_stopped_sweep_are_taken_over(tiny_spec, reference_store, tmp_path):
    """A sweep killed on this machine (its process gone) and one on another machine silent for an hour."""
    store = tmp_path / "taken.sqlite"
    _open_store(store, load_sweep_spec(tiny_spec)).close()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _add_owner(store, "killed", socket.gethostname(), int(gone.stdout), time.time(), [(0, 0), (0, 1), (3, 4)])
    _add_owner(store, "silent", "elsewhere", 1, time.time() - 3600, [(7, 4), (5, 0)])
    info = run_sweep(tiny_spec, store, workers=1, progress=False)
    assert (info.runs, info.by_others) == (N_RUNS, 0), info
    pd.testing.assert_frame_equal(sendmodel.load_sweep(store), sendmodel.load_sweep(reference_store))
    assert _count(store, "claims") == 0 and _count(store, "owners") == 0


def test_a_sweep_waits_for_runs_another_live_sweep_claims(tiny_spec, reference_store, tmp_path):
    """The rest claimed by a live owner (this test process): the sweep runs all else, then waits; when the claim
    is released (as a sweep interrupted by Ctrl-C releases its claims) it runs that pair too."""
    store = tmp_path / "wait.sqlite"
    _open_store(store, load_sweep_spec(tiny_spec)).close()
    _add_owner(store, "live", socket.gethostname(), os.getpid(), time.time(), [(2, 3)])
    box = {}
    sweep = threading.Thread(target=lambda: box.update(info=run_sweep(tiny_spec, store, workers=1, progress=False)))
    sweep.start()
    deadline = time.monotonic() + 60
    while _count(store, "runs") < N_RUNS - 1:
        assert sweep.is_alive() and time.monotonic() < deadline, "the sweep stopped before waiting"
        time.sleep(0.02)
    sweep.join(timeout=1.0)
    assert sweep.is_alive(), "the sweep must wait for the pair another live sweep claims, not end"
    _release(store, "live")
    sweep.join(timeout=60)
    assert not sweep.is_alive() and box["info"].runs == N_RUNS, box
    pd.testing.assert_frame_equal(sendmodel.load_sweep(store), sendmodel.load_sweep(reference_store))
