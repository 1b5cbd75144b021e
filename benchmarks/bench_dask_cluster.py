"""Dask cluster benchmark: sweeps on a real cluster of separate processes, with 1 and then 2 workers, and a large
sweep's memory and store time.

A ``dask scheduler`` and ``dask worker`` processes are started as the README says to start them across
machines (``--nworkers 1 --nthreads 1``, the Dask settings of ``DASK_WORKER_CONFIG`` in their environment,
:class:`sendmodel.studies.sweep.cluster.ProcessCluster`); this process is the client, as ``sendmodel sweep
--scheduler`` is, and writes the store. Workers import the model before any clock starts.

- *work sweep*: the baseline scenario (full length) at a few SLT capacities, the default batching (about a
  second of work a task), run with one worker and then, a second worker joined, with two. Prints the wall
  times and the ratio (target >= 1.8x on 2 cores), and checks that both stores hold the same rows. *busy* is
  the share of the workers' wall time spent simulating (the rest is the cluster's overhead and idle workers);
  *sim s/run* rising from 1 to 2 workers means the workers shared the cores with something else.
- *large sweep*: ``--runs`` runs (default 2,000) of a very short scenario (7 days, 5,000 children) on the two
  workers. Every ``--interval`` seconds prints the runs stored and this process's resident and peak memory
  (target: flat), then the store's share of the wall time: the time the runner spends in the store's
  transactions, writing finished tasks and claiming runs (``SweepRun.store_seconds`` and ``claim_seconds``;
  target < 2%). Checks every run is stored once.

Usage: python benchmarks/bench_dask_cluster.py [--points 6] [--reps 8] [--runs 2000] [--interval 2] [--batch N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from bench_sweep import add_work_options, bench_specs

from sendmodel.studies.sweep.cluster import ProcessCluster
from sendmodel.studies.sweep.run import run_sweep

TINY_POINTS = 10


def memory_mb() -> tuple[float, float]:
    """This process's resident memory now and its peak (VmRSS, VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def stored_runs(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=rw", uri=True, timeout=5) as c:
            return c.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


class MemoryLog(threading.Thread):
    """Prints, every ``interval`` seconds until stopped, the runs stored in ``store`` and the memory now."""

    def __init__(self, store: Path, interval: float):
        super().__init__(daemon=True)
        self.store, self.interval, self.stop = store, interval, threading.Event()
        self.rows: list[tuple[float, int, float, float]] = []
        self.t0 = time.perf_counter()

    def sample(self) -> None:
        rss, peak = memory_mb()
        self.rows.append((time.perf_counter() - self.t0, stored_runs(self.store), rss, peak))
        print(f"  {self.rows[-1][0]:>9.1f} {self.rows[-1][1]:>12,} {rss:>8.1f} {peak:>8.1f}", flush=True)

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.sample()


def store_share(info) -> float:
    """The share of a sweep's wall time this process spent in the store's transactions."""
    return (info.store_seconds + info.claim_seconds) / info.seconds


def same_rows(a: Path, b: Path) -> str:
    import pandas as pd

    from sendmodel import load_sweep

    x, y = load_sweep(a), load_sweep(b)
    try:
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    except AssertionError as exc:
        return f"DIFFERENT: {exc}"
    dup = x.duplicated(["point", "replication", "kpi", "service"]).sum()
    return f"identical ({len(x):,} KPI rows, {dup} duplicated)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_work_options(ap)
    ap.add_argument("--runs", type=int, default=2000, help="runs in the large sweep (default 2,000)")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between memory samples (default 2)")
    ap.add_argument("--batch", type=int, default=None,
                    help="runs a task in the large sweep (default: the sweep's own, about a second of work)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_dask_cluster_"))
    try:
        bench(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the stores


def bench(args, folder: Path) -> None:
    work, large = bench_specs(folder, args.points, args.reps, args.runs, TINY_POINTS)
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} (figures are only comparable on an "
          "idle machine)")
    with ProcessCluster(folder / "cluster") as cluster:
        t0 = time.perf_counter()
        cluster.add_workers(1)
        print(f"Scheduler at {cluster.address}; a worker's start (imports included): "
              f"{time.perf_counter() - t0:.1f} s (not in the timings)\n")
        one = run_sweep(work, folder / "work_1.sqlite", scheduler=cluster.address, progress=False)
        cluster.add_workers(1)
        two = run_sweep(work, folder / "work_2.sqlite", scheduler=cluster.address, progress=False)

        print(f"work sweep: baseline x {args.points} SLT capacities x {args.reps} replications, default batching")
        print(f"  {'workers':<8} {'runs':>5} {'tasks':>6} {'batch':>6} {'wall s':>7} {'runs/s':>7} {'sim s/run':>9} "
              f"{'busy %':>6} {'store %':>7}")
        for n, info in ((1, one), (2, two)):
            busy = info.compute_seconds / (n * info.seconds)  # the workers' time spent simulating
            print(f"  {n:<8} {info.runs:>5} {info.tasks:>6} {info.batch:>6} {info.seconds:>7.2f} "
                  f"{info.runs_per_second:>7.2f} {info.compute_seconds / info.runs:>9.3f} {100 * busy:>6.1f} "
                  f"{100 * store_share(info):>7.2f}")
        print(f"  2 workers vs 1: {one.seconds / two.seconds:.2f}x faster (target >= 1.8x); rows "
              f"{same_rows(folder / 'work_1.sqlite', folder / 'work_2.sqlite')}\n")

        n_runs = TINY_POINTS * max(1, args.runs // TINY_POINTS)
        store = folder / "large.sqlite"
        print(f"large sweep: {n_runs:,} runs of 7 days at 5,000 children ({TINY_POINTS} points), 2 workers; "
              "this process's memory")
        print(f"  {'seconds':>9} {'runs stored':>12} {'RSS MB':>8} {'peak MB':>8}")
        log = MemoryLog(store, args.interval)
        log.sample()
        log.start()
        info = run_sweep(large, store, scheduler=cluster.address, batch=args.batch, progress=False)
        log.stop.set()
        log.join()
        log.sample()
    first = next((r for r in log.rows if r[1] >= n_runs // 10), log.rows[-1])
    last = log.rows[-1]
    share = store_share(info)
    print(f"  peak memory from {first[1]:,} runs stored to all {last[1]:,}: {first[3]:.1f} -> {last[3]:.1f} MB "
          f"({last[3] - first[3]:+.1f} MB); resident {first[2]:.1f} -> {last[2]:.1f} MB")
    print(f"  {info.runs:,} runs in {info.tasks} tasks of up to {info.batch}, {info.seconds:.1f} s wall "
          f"({info.runs_per_second:.0f} runs/s); in the store: writing tasks {info.store_seconds:.2f} s, claiming "
          f"runs {info.claim_seconds:.2f} s = {100 * share:.2f}% of the wall time (target < 2%); "
          f"{1000 * (info.store_seconds + info.claim_seconds) / info.runs:.2f} ms a run, "
          f"{info.compute_seconds / info.runs:.3f} s of simulation a run")
    print(f"  every run stored once: {stored_runs(store) == n_runs == info.runs}; the store is "
          f"{store.stat().st_size / 1e6:.1f} MB")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
