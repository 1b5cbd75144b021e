"""Model benchmark: one simulated year of the baseline at several populations.

Prints seconds a replication, SimPy events a second, peak memory, and time per 70,000 children (flat = linear).
Each population runs in a fresh subprocess so peak memory (max RSS) is its own.
Usage: python benchmarks/bench_model.py [--populations 70000 250000 1000000] [--reps 3]
       python benchmarks/bench_model.py --memory-reps 100   # peak memory of 100 replications, KPIs only
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(population: float, reps: int, memory_reps: int) -> dict:
    import sendmodel
    from sendmodel.demand import sample_demand
    from sendmodel.model import SendModel

    sc = sendmodel.load_scenario(ROOT / "scenarios" / "baseline.yaml").override(
        {"population": population, "simulation.warm_up_days": 0, "simulation.horizon_days": 365}
    )
    times, events = [], 0
    for r in range(reps):
        t0 = time.perf_counter()
        m = SendModel(sc, sample_demand(sc, 1, r), 1, r)
        m.run()
        times.append(time.perf_counter() - t0)
        events = next(m.env._eid)  # SimPy's event counter: events scheduled in this run
    out = {"population": population, "seconds": min(times), "events": events}
    if memory_reps:
        sendmodel.run(sc, replications=memory_reps, seed=1, keep_events=False)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--populations", type=float, nargs="+", default=[70_000, 250_000, 1_000_000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--memory-reps", type=int, default=0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(_child(a.populations[0], a.reps, a.memory_reps)))
        return
    rows = []
    for p in a.populations:
        cmd = [sys.executable, __file__, "--child", "--populations", str(p), "--reps", str(a.reps),
               "--memory-reps", str(a.memory_reps)]
        rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    print(f"One simulated year of the baseline, best of {a.reps}" +
          (f"; peak memory includes {a.memory_reps} replications (KPIs only)" if a.memory_reps else ""))
    print(f"{'children':>10}{'s/replication':>15}{'events':>10}{'events/s':>11}{'s per 70k':>11}{'peak MB':>9}")
    for r in rows:
        print(f"{r['population']:>10,.0f}{r['seconds']:>15.3f}{r['events']:>10,}{r['events'] / r['seconds']:>11,.0f}"
              f"{r['seconds'] / (r['population'] / 70000):>11.3f}{r['peak_rss_mb']:>9.0f}")


if __name__ == "__main__":
    main()
