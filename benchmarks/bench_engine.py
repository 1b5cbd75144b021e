"""Engine benchmark: an M/M/c queue through sendmodel, bare SimPy and Ciw, same customers, one process.

Prints customers a second and the ratios to bare SimPy (measured in this same run, the engines in turn, so
machine noise mostly cancels).
Usage: python benchmarks/bench_engine.py [--customers 200000] [--servers 3] [--rho 0.9] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import simpy

from sendmodel.engine.replication import run_replication
from sendmodel.scenario.loading import validate_mapping


def mmc_scenario(lam_per_hour: float, servers: int, n_customers: int):
    days = n_customers / (lam_per_hour * 24)
    return validate_mapping(
        {
            "name": "bench_mmc",
            "population": 70000,
            "simulation": {"warm_up_days": 0, "horizon_days": days, "calendar": "always_open"},
            "services": {
                "s": {
                    "label": "M/M/c",
                    "kind": "health",
                    "pas_per_week": 42 * servers,
                    "leave_weeks_per_year": 0,
                    "routine_referrals_per_week_per_70k": lam_per_hour * 24 * 7,
                    "routine_appointment_hours": {"dist": "exponential", "mean": 1.0},
                }
            },
        }
    )


def bare_simpy(lam_per_hour: float, servers: int, n_customers: int, seed: int) -> float:
    """The reference: one Resource, one generator per customer (times in hours)."""
    rng = np.random.default_rng(seed)
    inter = rng.exponential(1 / lam_per_hour, n_customers)
    service = rng.exponential(1.0, n_customers)
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=servers)
    waits = np.empty(n_customers)

    def customer(i):
        arrive = env.now
        with res.request() as req:
            yield req
            waits[i] = env.now - arrive
            yield env.timeout(service[i])

    def source():
        for i in range(n_customers):
            yield env.timeout(inter[i])
            env.process(customer(i))

    env.process(source())
    env.run()
    return float(waits.mean())


def ciw_run(lam_per_hour: float, servers: int, n_customers: int, seed: int) -> float:
    import ciw

    ciw.seed(seed)
    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(lam_per_hour)],
        service_distributions=[ciw.dists.Exponential(1.0)],
        number_of_servers=[servers],
    )
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(n_customers / lam_per_hour)
    recs = sim.get_all_records()
    return float(np.mean([r.waiting_time for r in recs]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--rho", type=float, default=0.9)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    lam = a.rho * a.servers  # per hour, mean service 1 hour
    sc = mmc_scenario(lam, a.servers, a.customers)

    def t_sendmodel(seed):
        rec = run_replication(sc, seed, 0)
        s = rec["services"]["s"]
        return float(np.nanmean((s["task_started"] - s["task_enqueued"]) * 24))

    engines = {
        "bare SimPy": lambda seed: bare_simpy(lam, a.servers, a.customers, seed),
        "sendmodel": t_sendmodel,
        "Ciw": lambda seed: ciw_run(lam, a.servers, a.customers, seed),
    }
    best = dict.fromkeys(engines, float("inf"))
    waits = {}
    for r in range(a.repeat):  # engines in turn, so that a slower spell of the machine hits them all
        for name, fn in engines.items():
            t0 = time.perf_counter()
            waits[name] = fn(r)
            best[name] = min(best[name], time.perf_counter() - t0)
    base = a.customers / best["bare SimPy"]
    print(f"M/M/{a.servers}, rho={a.rho}, {a.customers:,} customers, best of {a.repeat}")
    print(f"{'engine':<12}{'seconds':>10}{'customers/s':>14}{'x bare SimPy':>14}{'mean wait (h)':>15}")
    for name in engines:
        cps = a.customers / best[name]
        print(f"{name:<12}{best[name]:>10.2f}{cps:>14,.0f}{cps / base:>14.2f}{waits[name]:>15.3f}")


if __name__ == "__main__":
    main()
