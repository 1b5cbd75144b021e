"""Model benchmark: one simulated year of the baseline at several populations.

Prints, per replication (best of ``--reps``): CPU seconds (what an idle core would take; wall seconds are
shown too but depend on what else the machine runs), SimPy events processed, events a CPU second, CPU seconds
per 70,000 children (flat = time linear in population), and peak memory. Each population runs in a fresh
subprocess so its peak memory (max RSS) is its own. A replication here is what ``run_replication`` does:
sample the demand, lay out the sessions, simulate, build the records (no KPIs), free the model. The first row also
splits
that time. Targets: < 0.1 s a replication at 70,000 children; peak memory of 100 replications (KPIs only,
``sendmodel.run(..., keep_events=False)``) < 1 GB.

Usage: python benchmarks/bench_model.py [--populations 70000 250000 1000000] [--reps 3]
       python benchmarks/bench_model.py --memory-reps 100   # the first row also runs 100 replications
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _events(sc, r: int) -> int:
    """SimPy events processed in replication ``r``: the same run, stepped with ``env.step()`` and counted
    (in a run of its own, not timed)."""
    from sendmodel.engine.demand import sample_demand
    from sendmodel.engine.model import SendModel, gc_paused

    with gc_paused():
        m = SendModel(sc, sample_demand(sc, 1, r), 1, r)
        m.setup()
        env, n = m.env, 0
        while env.peek() < m.end:  # as env.run(until=m.end): events at the end itself do not run
            env.step()
            n += 1
        m.finish()
        del m
    return n


def _child(population: float, reps: int, memory_reps: int) -> dict:
    import sendmodel
    from sendmodel.engine.demand import sample_demand
    from sendmodel.engine.model import SendModel, gc_paused

    sc = sendmodel.load_scenario(ROOT / "scenarios" / "baseline.yaml").override(
        {"population": population, "simulation.warm_up_days": 0, "simulation.horizon_days": 365}
    )
    cpu, wall, parts = [], [], []
    for r in range(reps + 1):  # the first is a warm-up (imports, caches) and is not counted
        w0, c0 = time.perf_counter(), time.process_time()
        with gc_paused():  # as run_replication: the collector comes back once the model is freed
            demand = sample_demand(sc, 1, r)
            c1 = time.process_time()
            m = SendModel(sc, demand, 1, r)
            c2 = time.process_time()
            m.run()
            del m, demand
        c3 = time.process_time()
        if r:
            cpu.append(c3 - c0)
            wall.append(time.perf_counter() - w0)
            parts.append((c1 - c0, c2 - c1, c3 - c2))
    events = _events(sc, reps)
    best = min(range(reps), key=lambda i: cpu[i])
    out = {"population": population, "cpu": cpu[best], "wall": min(wall), "events": events,
           "parts": parts[best]}
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
    for i, p in enumerate(a.populations):
        cmd = [sys.executable, __file__, "--child", "--populations", str(p), "--reps", str(a.reps),
               "--memory-reps", str(a.memory_reps if i == 0 else 0)]
        rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    print(f"One simulated year of the baseline, best of {a.reps}; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} (wall time is only meaningful on an idle machine)"
          + (f"; the first row's peak memory includes {a.memory_reps} replications (KPIs only)"
             if a.memory_reps else ""))
    print(f"{'children':>10}{'CPU s/rep':>11}{'wall s/rep':>12}{'events':>10}{'events/CPU s':>14}"
          f"{'CPU s per 70k':>15}{'peak MB':>9}")
    for r in rows:
        per70 = r["cpu"] / (r["population"] / 70000)
        print(f"{r['population']:>10,.0f}{r['cpu']:>11.3f}{r['wall']:>12.3f}{r['events']:>10,}"
              f"{r['events'] / r['cpu']:>14,.0f}{per70:>15.3f}{r['peak_rss_mb']:>9.0f}")
    r = rows[0]
    d, b, s = r["parts"]
    print(f"{r['population']:,.0f} children, CPU split: demand {d:.3f} s, sessions and set-up {b:.3f} s, "
          f"simulation and records {s:.3f} s. Target < 0.1 s a replication at 70,000 children")
    if a.memory_reps:
        verdict = "met" if r["peak_rss_mb"] < 1024 else "missed"
        print(f"Peak memory with {a.memory_reps} replications (KPIs only): {r['peak_rss_mb']:.0f} MB; "
              f"target < 1 GB {verdict}")


if __name__ == "__main__":
    main()
