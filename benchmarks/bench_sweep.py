"""Sweep benchmark: runs a second with 1 and 2 local workers and a Dask LocalCluster, and the cost of a task.

Two sweeps, each run by every backend into a fresh store:

- *work*: the baseline scenario (full length) at a few SLT capacities; the default batching (about a second
  of work a task). Prints runs a second and the ratio to the 1-worker run measured in this same process, so
  machine noise mostly cancels.
- *overhead*: a tiny scenario (a few days, a small area), one replication a task (``--batch 1``), so a task is
  nearly all overhead: pickling the scenario, scheduling, returning KPIs, one SQLite transaction. Prints the
  per-task overhead, ``(workers x wall time - simulation time) / tasks``, in milliseconds.

The Dask cluster is started once, before the timings (its start-up is printed apart).
Usage: python benchmarks/bench_sweep.py [--reps 8] [--points 6] [--tiny-tasks 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sendmodel.studies.sweep.run import run_sweep

ROOT = Path(__file__).resolve().parents[1]


def write_spec(folder: Path, name: str, base_text: str, values: list[float], reps: int) -> Path:
    (folder / f"{name}_base.yaml").write_text(base_text)
    spec = folder / f"{name}.yaml"
    spec.write_text(
        f"name: {name}\nbase: {name}_base.yaml\ndesign: grid\nparameters:\n"
        f"  services.slt.pas_per_week: {values}\nreplications: {reps}\nseed: 1\n"
    )
    return spec


def add_work_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--points", type=int, default=6, help="SLT capacities in the work sweep (default 6)")
    ap.add_argument("--reps", type=int, default=8, help="replications a point in the work sweep (default 8)")


def bench_specs(folder: Path, points: int, reps: int, tiny_runs: int, tiny_points: int = 10) -> tuple[Path, Path]:
    """The work sweep (the baseline, full length, at ``points`` SLT capacities x ``reps``) and the tiny one (7
    days at 5,000 children, ``tiny_points`` points, ``tiny_runs`` runs rounded down to a multiple of them)."""
    baseline = ROOT / "scenarios" / "baseline.yaml"
    work = write_spec(folder, "work", f"extends: {baseline}\n", [15 + 5 * i for i in range(points)], reps)
    tiny = write_spec(
        folder,
        "tiny",
        f"extends: {baseline}\npopulation: 5000\nsimulation: {{warm_up_days: 0, horizon_days: 7}}\n",
        [10 + i for i in range(tiny_points)],
        max(1, tiny_runs // tiny_points),
    )
    return work, tiny


def timed(spec: Path, folder: Path, label: str, **kw):
    store = folder / f"{spec.stem}_{label}.sqlite"
    info = run_sweep(spec, store, progress=False, **kw)
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_work_options(ap)
    ap.add_argument("--tiny-tasks", type=int, default=200, help="tasks in the overhead sweep (default 200)")
    ap.add_argument("--workers", type=int, default=2, help="workers for the parallel runs (default 2)")
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    w = args.workers
    folder = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    tiny_pts = 10
    work, tiny = bench_specs(folder, args.points, args.reps, args.tiny_tasks, tiny_pts)

    sweeps = (
        ("work sweep", work, {}, f"baseline x {args.points} SLT capacities x {args.reps} replications"),
        (
            "overhead sweep",
            tiny,
            {"batch": 1},
            f"7 days, 5,000 children x {tiny_pts} points, 1 replication a task",
        ),
    )
    print(
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} (figures are only comparable on an "
        "idle machine)"
    )
    # The local backends run before the Dask cluster exists: a LocalCluster's scheduler lives in this process
    # and its idle workers beside it, which would slow the 1-worker baseline and flatter every ratio.
    local = [("1 local worker", dict(workers=1)), (f"{w} local workers", dict(workers=w))]
    infos: dict[tuple[int, str], object] = {}
    for j, (_, spec, extra, _) in enumerate(sweeps):
        for label, kw in local:
            infos[j, label] = timed(spec, folder, f"{j}{label[:1]}", **kw, **extra)

    import dask

    from sendmodel.studies.sweep.run import DASK_WORKER_CONFIG

    t0 = time.perf_counter()
    with dask.config.set(DASK_WORKER_CONFIG):  # as `sendmodel sweep --dask local` starts its cluster
        cluster = LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.run(lambda: __import__("sendmodel.studies.sweep.run"))  # workers import the model before the clock starts
    startup = time.perf_counter() - t0
    dask_label = f"Dask LocalCluster, {w} workers"
    for j, (_, spec, extra, _) in enumerate(sweeps):
        infos[j, dask_label] = timed(spec, folder, f"{j}d", scheduler=cluster.scheduler_address, **extra)
    client.close()
    cluster.close()
    print(f"Dask LocalCluster start-up ({w} workers, imports included): {startup:.1f} s (not in the timings)\n")

    for j, (title, _, _, what) in enumerate(sweeps):
        print(f"{title}: {what}")
        base_rate = None
        print(
            f"  {'backend':<30} {'runs':>5} {'tasks':>6} {'wall s':>7} {'runs/s':>7} {'vs 1 worker':>11} "
            f"{'sim s/run':>9} {'overhead ms/task':>16}"
        )
        for label in [lb for lb, _ in local] + [dask_label]:
            info = infos[j, label]
            slots = 1 if label.startswith("1 ") else w
            overhead = (slots * info.seconds - info.compute_seconds) / info.tasks
            base_rate = base_rate or info.runs_per_second
            print(
                f"  {label:<30} {info.runs:>5} {info.tasks:>6} {info.seconds:>7.2f} "
                f"{info.runs_per_second:>7.2f} "
                f"{info.runs_per_second / base_rate:>10.2f}x {info.compute_seconds / info.runs:>9.3f} "
                f"{1000 * overhead:>16.1f}"
            )
        print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(
        "Overhead = (workers x wall - simulation time) / tasks: everything a task costs besides simulating "
        "(pickling, scheduling, the store's transaction, idle workers at the end). The first run of each "
        "sweep is timed in the calling process to size the batches, and counts as a task."
    )


if __name__ == "__main__":
    main()
