"""Benchmark of what the warm-up check and the STRESS-DES report add to a run of the baseline.

Times, per replication of the baseline (70,000 children, 730 days' warm-up and a year measured), the simulation
itself and the weekly series the warm-up check keeps; then MSER-5 over the run's series and the report. Prints
CPU seconds (this process only; it runs in one process).
Usage: python benchmarks/bench_warmup.py [--reps 4]
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
    import sendmodel
    from sendmodel.analysis.report import stress_des
    from sendmodel.analysis.warmup import WarmupSeries, check_warmup, replication_series
    from sendmodel.engine.replication import run_replication

    sc = sendmodel.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    sim = series_t = 0.0
    per = []
    for r in range(args.reps):
        t0 = time.process_time()
        rec = run_replication(sc, 2024, r)
        t1 = time.process_time()
        per.append(replication_series(rec, sc))
        sim, series_t = sim + t1 - t0, series_t + time.process_time() - t1
    t0 = time.process_time()
    chk = check_warmup(WarmupSeries.stack(per), sc)
    t1 = time.process_time()
    stress_des(kind="run", scenarios={sc.name: sc}, seed=2024, replications=args.reps, kpis=["advice_within_6w_pct"],
               warmup={sc.name: chk}, estimation=["-"], outputs=["-"])
    t2 = time.process_time()
    print(f"baseline, {args.reps} replications, CPU seconds a replication: simulation {sim / args.reps:.3f}, "
          f"warm-up series {series_t / args.reps:.4f} ({100 * series_t / sim:.1f}% of the simulation)")
    print(f"MSER-5 over {len(chk.findings)} series: {t1 - t0:.4f} s; STRESS-DES report: {t2 - t1:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
