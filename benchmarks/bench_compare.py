"""Benchmark of `make demo`: the comparison of every option file for 70,000 children.

Runs the same comparison the demo runs (--reps auto --precision 1 --max-reps 40, seed 2024, 2 workers) and
prints wall time, CPU time (this process plus its workers), replications used and the precision reached. CPU
time / 2 is what the demo takes on 2 idle cores; wall time depends on what else the machine is doing.
Usage: python benchmarks/bench_compare.py [--reps auto|N] [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", default="auto")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import sendmodel
    from sendmodel.analysis.compare import run_comparison

    files = sorted((ROOT / "scenarios" / "options").glob("*.yaml"))
    opts = {sc.name: sc for sc in (sendmodel.load_scenario(f) for f in files)}
    reps = args.reps if args.reps == "auto" else int(args.reps)
    t0, c0 = time.perf_counter(), _cpu()
    c = run_comparison(opts, "status_quo", reps, 2024, workers=args.workers, precision=1.0, max_replications=40)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    n_runs = c.replications * len(opts)
    print(f"options: {len(opts)}; replications per option: {c.replications} (history {c.history})")
    print(f"precision: widest half-width {c.half_width:.2f} pp, met: {c.precision_met}")
    print(f"wall {wall:.1f} s; CPU {cpu:.1f} s ({cpu / n_runs:.2f} s per replication); "
          f"on {args.workers} idle cores about {cpu / args.workers:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
