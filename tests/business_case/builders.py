"""Small scenarios with known answers for the capacity solver's tests."""

from __future__ import annotations

from sendmodel.scenario.loading import validate_mapping
from sendmodel.studies.verification.theory import mmc_wait_exceeds


def mmc_scenario(arrivals_per_day: float, mean_service_days: float, clinicians: int, target_days: float,
                 horizon_days: float = 1000.0, name: str = "mmc"):
    """A routine-only M/M/c queue: one service, always open, 42 PAs a week per clinician, Poisson referrals and
    exponential appointments, no leave, no missed appointments; ``routine_seen_within_target_pct`` is then
    P(wait <= target_days) of an M/M/c queue."""
    return validate_mapping({
        "name": name,
        "population": 70000,
        "simulation": {"start_date": "2024-01-01", "warm_up_days": 50, "horizon_days": horizon_days,
                       "calendar": "always_open"},
        "services": {
            "clinic": {
                "label": "Clinic",
                "kind": "health",
                "pas_per_week": 42 * clinicians,
                "leave_weeks_per_year": 0,
                "routine_referrals_per_week_per_70k": arrivals_per_day * 7.0,
                "routine_appointment_hours": {"dist": "exponential", "mean": 24.0 * mean_service_days},
                "routine_target_weeks": target_days / 7.0,
            }
        },
    }, name)


def p_wait_within(servers: int, arrival_rate: float, service_rate: float, t: float) -> float:
    """P(W_q <= t) for M/M/c from :mod:`sendmodel.studies.verification.theory` (Erlang C); 0 when the queue is
    unstable."""
    if arrival_rate >= servers * service_rate:
        return 0.0
    return 1.0 - mmc_wait_exceeds(arrival_rate, service_rate, servers, t)


def fewest_servers(arrival_rate: float, service_rate: float, t: float, pct: float, c_max: int = 200) -> int:
    """Theory's answer: the fewest servers with P(W_q <= t) >= pct / 100."""
    for c in range(1, c_max + 1):
        if 100.0 * p_wait_within(c, arrival_rate, service_rate, t) >= pct:
            return c
    raise ValueError("no c up to c_max meets the target")
