"""Benchmark of what the capacity check adds to a run of the baseline and of the +44% demand case.

Times, per replication (70,000 children, 730 days' warm-up and a year measured), the simulation itself and the
capacity measures every run now keeps (queue trends, offered load, open cases and their ages); then the check
over the replications. Prints CPU seconds (this process only) and the check's verdict.
Usage: python benchmarks/bench_overload.py [--reps 4]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=4)
    args = ap.parse_args()
    import pandas as pd

    import sendmodel
    from sendmodel.analysis.overload import check_overload, load_frame, load_rows
    from sendmodel.engine.replication import run_replication

    base = sendmodel.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    more = base.override({"ehc.requests_per_year_per_70k": round(base.ehc.requests_per_year_per_70k * 1.44)})
    for name, sc in (("baseline", base), ("+44% demand", more)):
        sim = load_t = 0.0
        frames = []
        for r in range(args.reps):
            t0 = time.process_time()
            rec = run_replication(sc, 2024, r)
            t1 = time.process_time()
            frames.append(load_frame(load_rows(rec, sc), sc.name, r))
            sim, load_t = sim + t1 - t0, load_t + time.process_time() - t1
        t0 = time.process_time()
        chk = check_overload(pd.concat(frames, ignore_index=True), sc)
        t1 = time.process_time()
        print(f"{name}, {args.reps} replications, CPU seconds a replication: simulation {sim / args.reps:.3f}, "
              f"capacity measures {load_t / args.reps:.4f} ({100 * load_t / sim:.1f}% of the simulation); check "
              f"{t1 - t0:.4f} s; over capacity: {', '.join(u.label for u in chk.over) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
