"""A team from a date (``pools.*.start``): before it, two M/M/1 queues; from it, one M/M/2 (Erlang C).

Two services with one clinician each, always open, Poisson referrals at 0.8 a day each and exponential
appointments of a day: apart, each is an M/M/1 queue at rho 0.8 (mean wait 4 days); as one team from the start
date, an M/M/2 queue at the same load (mean wait 1.78 days).
"""

from __future__ import annotations

import numpy as np
import pytest

from sendmodel.engine.replication import run_replication
from sendmodel.scenario.loading import validate_mapping
from sendmodel.studies.verification.theory import mmc_mean_wait

LAM, MU = 0.8, 1.0  # referrals a day to each service; appointments a day per clinician
SWITCH = 1500.0  # the team starts on day 1500 (2028-02-09 from 2024-01-01)


def _two_services(start: str | None, pooled: bool = True, horizon: float = 3000.0):
    svc = {"label": "A", "kind": "health", "pas_per_week": 42, "leave_weeks_per_year": 0, "discipline": "fcfs",
           "routine_referrals_per_week_per_70k": LAM * 7, "routine_target_weeks": 18,
           "routine_appointment_hours": {"dist": "exponential", "mean": 24.0 / MU}}
    data = {"name": "two", "population": 70000,
            "simulation": {"start_date": "2024-01-01", "warm_up_days": 0, "horizon_days": horizon,
                           "calendar": "always_open"},
            "services": {"a": svc, "b": {**svc, "label": "B"}}}
    if pooled:
        data["pools"] = {"team": {"label": "team", "services": ["a", "b"], **({"start": start} if start else {})}}
    return validate_mapping(data, "two")


def _waits(rec, lo: float, hi: float) -> np.ndarray:
    out = []
    for s in ("a", "b"):
        arr, seen = rec["routine_arrival"][s], rec["routine"][s]["seen_day"]
        c = (arr >= lo) & (arr < hi) & ~np.isnan(seen)
        out.append(seen[c] - arr[c])
    return np.concatenate(out)


def test_two_queues_become_one_team_on_the_start_date():
    sc = _two_services("2028-02-09")  # day 1500
    before, after = [], []
    for rep in range(6):
        rec = run_replication(sc, 11, rep)
        before.append(_waits(rec, 300, SWITCH).mean())
        after.append(_waits(rec, SWITCH + 300, 3000).mean())
    apart, team = LAM / (MU * (MU - LAM)), mmc_mean_wait(2 * LAM, MU, 2)
    assert np.mean(before) == pytest.approx(apart, rel=0.3), (before, apart)
    assert np.mean(after) == pytest.approx(team, rel=0.3), (after, team)
    assert np.mean(after) < np.mean(before) / 1.5


def test_a_team_from_the_first_day_is_the_pool_of_one_queue():
    """The same system two ways (queues shared, or kept apart and served as a team from day 0): the same mean
    wait (here to the last digit: first come first served, the same draws) and Erlang C's."""
    shared, team = _two_services(None), _two_services("2024-01-01")
    w_shared = np.mean([_waits(run_replication(shared, 5, r), 200, 3000).mean() for r in range(6)])
    w_team = np.mean([_waits(run_replication(team, 5, r), 200, 3000).mean() for r in range(6)])
    assert w_team == pytest.approx(w_shared, rel=0.02)
    assert w_team == pytest.approx(mmc_mean_wait(2 * LAM, MU, 2), rel=0.15)


def test_without_the_pool_the_services_stay_apart_and_clinicians_serve_their_own():
    w = np.mean([_waits(run_replication(_two_services(None, pooled=False), 5, r), 200, 3000).mean()
                 for r in range(6)])
    assert w == pytest.approx(LAM / (MU * (MU - LAM)), rel=0.2)
