"""suite."""

from __future__ import annotations

import numpy as np

from sendmodel.common.parallel import map_pool
from sendmodel.studies.verification.cases import CASES, DEFAULT_SEED, Case
from sendmodel.studies.verification.checks import Check

# --- running ------------------------------------------------------------------------------------------------


def _one(job: tuple[str, str, int, int]) -> tuple[str, str, int, dict]:
    """One replication of one case, engine or reference side (top level so a process pool can call it)."""
    from sendmodel.engine.replication import run_replication

    key, side, seed, rep = job
    case = CASES[key]
    sc = case.scenario
    if side == "model":
        return key, side, rep, case.measure(run_replication(sc, seed, rep), sc, rep)
    return key, side, rep, case.reference(sc, seed, rep)


def _jobs(case: Case, seed: int) -> list[tuple[str, str, int, int]]:
    jobs = [(case.key, "model", seed, r) for r in range(case.replications)]
    return jobs + [(case.key, "reference", seed, r) for r in range(case.reference_replications)]


def _collect(case: Case, results) -> list[Check]:
    by_side: dict[str, dict[int, dict]] = {"model": {}, "reference": {}}
    for _, side, rep, out in results:
        by_side[side][rep] = out

    def stack(d):
        if not d:
            return {}
        reps = sorted(d)
        return {k: np.array([d[r][k] for r in reps]) for k in d[reps[0]]}

    return case.checks(case.scenario, stack(by_side["model"]), stack(by_side["reference"]))


def run_case(key: str, seed: int = DEFAULT_SEED, workers: int = 1) -> list[Check]:
    """Run one validation case and return its checks."""
    return run_suite([key], seed, workers)


def run_suite(keys=None, seed: int = DEFAULT_SEED, workers: int = 1, progress=None) -> list[Check]:
    """Run the named cases (all when None) and return their checks, in case order."""
    keys = list(CASES) if keys is None else list(keys)
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        raise KeyError(f"unknown validation case(s) {unknown}; choose from {list(CASES)}")
    jobs = [j for k in keys for j in _jobs(CASES[k], seed)]
    results = map_pool(_one, jobs, workers, progress=progress)
    return [c for k in keys for c in _collect(CASES[k], [r for r in results if r[0] == k])]
