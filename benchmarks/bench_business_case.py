"""Benchmark of the capacity solver behind `sendmodel business-case`: today's search against the previous one.

Both searches solve the same targets on the same scenario, seed and replications, in this one command, on the
same number of processes, so their ratio holds however busy the machine is. "previous" is the search the
business case used before: start at today's PAs, step with doubling steps until the target flips, bisect,
every level on every replication, runs reused only for an identical scenario, unreachable targets run to the
cap. "now" is :func:`sendmodel.studies.capacity.solver.solve_capacity` sharing one set of runs across targets.
Prints, per target, each search's answer (PAs a week), PA levels and replications, then wall time of each and
the ratio. Usage: python benchmarks/bench_business_case.py [--population 70000] [--reps 10] [--workers 2]
[--target LEVER:KPI>=X ...] [--now-only]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def previous_search(sc, lever, target, runs, replications, seed, cap=None):
    """The previous bracket-from-today-and-bisect search on full replications; returns (PAs or None, levels)."""
    from sendmodel.analysis.intervals import mean_interval
    from sendmodel.studies.capacity.solver import funded_pas, lever_services, with_pas

    services = lever_services(sc, lever)
    step, funded = 0.5, funded_pas(sc, services)
    cap = max(4.0 * funded, 10.0 * sc.scale, 2 * step) if cap is None else cap
    k_max = int(math.floor(cap / step + 1e-9))
    k0 = min(max(round(funded / step), 1), k_max)
    seen: dict[int, bool] = {}

    def met(k):
        if k not in seen:
            kp = runs.kpis(with_pas(sc, services, k * step), replications, seed)
            sel = kp[(kp["kpi"] == target.kpi) & (kp["service"] == target.service)]["value"]
            iv = mean_interval(sel, dropna=True)
            seen[k] = target.met_by(iv.mean, iv.low, iv.high)
        return seen[k]

    d = max(1, round(0.1 * k0))
    lo, hi = (None, k0) if met(k0) else (k0, None)
    while lo is None:
        k = max(hi - d, 1)
        if k == hi:
            lo = hi - 1
        elif met(k):
            hi, d = k, d * 2
        else:
            lo = k
    while hi is None:
        k = min(lo + d, k_max)
        if k == lo:
            return None, len(seen)
        if met(k):
            hi = k
        else:
            lo, d = k, d * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if met(mid):
            hi = mid
        else:
            lo = mid
    return hi * step, len(seen)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--population", type=float, default=70_000)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--target", action="append", help="LEVER:KPI>=X (default: the business case's defaults)")
    ap.add_argument("--now-only", action="store_true", help="skip the previous search")
    args = ap.parse_args()
    import sendmodel
    from sendmodel.studies.business_case.case import default_targets, parse_lever_target
    from sendmodel.studies.capacity.solver import Runs, solve_capacity

    sc = sendmodel.load_scenario(ROOT / "scenarios" / "baseline.yaml").override({"population": args.population})
    with Runs(args.workers) as runs:  # today's runs fix the default routine-wait targets (not timed)
        today = runs.kpis(sc, args.reps, args.seed)
    pairs = [parse_lever_target(t) for t in args.target] if args.target else default_targets(sc, today=today)
    rows, wall = [], {}
    for name in ("now",) if args.now_only else ("previous", "now"):
        t0 = time.perf_counter()
        with Runs(args.workers) as runs:
            runs.kpis(sc, args.reps, args.seed)  # today's runs: the business case makes them first for both
            for lever, t in pairs:
                if name == "now":
                    r = solve_capacity(sc, lever, t, replications=args.reps, seed=args.seed, runs=runs)
                    rows.append((name, lever, t.spec, r.pas_per_week, r.levels, r.runs))
                else:
                    before = runs.simulated
                    pas, levels = previous_search(sc, lever, t, runs, args.reps, args.seed)
                    rows.append((name, lever, t.spec, pas, levels, runs.simulated - before))
            simulated = runs.simulated
        wall[name] = (time.perf_counter() - t0, simulated)
    print(f"{args.population:,.0f} children, up to {args.reps} replications a level, seed {args.seed}, "
          f"{args.workers} processes")
    print(f"{'search':<9} {'lever':<22} {'target':<52} {'PAs':>7} {'levels':>6} {'reps':>5}")
    for name, lever, spec, pas, levels, reps in rows:
        shown = "unreach" if pas is None else f"{pas:g}"
        print(f"{name:<9} {lever:<22} {spec:<52} {shown:>7} {levels:>6} {reps:>5}")
    for name, (w, n) in wall.items():
        print(f"{name}: wall {w:.1f} s, {n} replications simulated (today's included)")
    if "previous" in wall:
        (wp, npv), (wn, nn) = wall["previous"], wall["now"]
        print(f"ratio previous / now: wall {wp / wn:.1f}x, replications {npv / nn:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
