"""Small purpose-made scenarios for fast tests, and helpers to read a run's records.

``tiny()`` is one therapy service giving EHC advice plus the LA casework, DMO/DCO, admin and triage services
the pathway needs, with fixed task times and ample capacity, so each mechanism can be switched on by itself
with ``override`` paths exactly as in a scenario file.
"""

from __future__ import annotations

import numpy as np

import sendmodel
from sendmodel.scenario.loading import validate_mapping


def fixed(v: float) -> dict:
    return {"dist": "fixed", "value": v}


def expo(mean: float) -> dict:
    return {"dist": "exponential", "mean": mean}


def _support(kind: str, pas: float) -> dict:
    return {"label": kind, "kind": kind, "pas_per_week": pas, "leave_weeks_per_year": 0}


def tiny_mapping() -> dict:
    """The raw mapping behind :func:`tiny` (a plain dict, as a YAML file would give)."""
    return {
        "name": "tiny",
        "population": 70000,
        "simulation": {"start_date": "2024-01-01", "warm_up_days": 0, "horizon_days": 365},
        "ehc": {
            "requests_per_year_per_70k": 400,
            "request_outcomes": {"assessed": 1.0, "refused": 0.0, "withdrawn": 0.0},
            "p_plan_after_assessment": 1.0,
            "p_exceptional_provision": 0.0,
            "la_service": "la",
            "decision_lag_days": fixed(0),
            "decision_hours": fixed(0.5),
            "draft_hours": fixed(1.0),
            "family_consultation_days": 15,
            "finalise_hours": fixed(0.5),
            "dmo_service": "dmo",
            "dmo_review_hours": fixed(0.5),
            "dmo_admin_hours": fixed(0.5),
            "admin_support": False,
            "admin_service": "admin",
            "misroute_delay_days": fixed(10),
            "triage": {"enabled": False, "service": "spa", "hours": fixed(0.25)},
        },
        "services": {
            "therapy": {
                "label": "Therapy",
                "kind": "health",
                "pas_per_week": 10,
                "discipline": "fcfs",
                "leave_weeks_per_year": 0,
                "advice": {
                    "p_requested": 1.0,
                    "p_known": 0.5,
                    "p_misrouted": 0.0,
                    "records_advice_hours": fixed(1.0),
                    "records_check_hours": fixed(0.5),
                    "assessment_hours": fixed(3.0),
                },
            },
            "la": _support("local_authority", 20),
            "dmo": _support("designated_officer", 4),
            "admin": _support("admin", 4),
            "spa": _support("triage", 4),
        },
    }


def tiny(changes: dict | None = None, name: str = "tiny") -> sendmodel.Scenario:
    """The tiny scenario with ``changes`` applied by dotted path (as ``scenario.override`` takes them)."""
    sc = validate_mapping(tiny_mapping(), "tiny")
    return sc.override(dict(changes or {}), name=name)


def mmc_scenario(
    clinicians: int, arrivals_per_day: float, mean_hours: float, warm_up: float, horizon: float
) -> sendmodel.Scenario:
    """Routine-only M/M/c: Poisson referrals, exponential appointment hours, c clinicians always on, fcfs."""
    data = {
        "name": f"mm{clinicians}",
        "population": 70000,
        "simulation": {"warm_up_days": warm_up, "horizon_days": horizon, "calendar": "always_open"},
        "services": {
            "clinic": {
                "label": "Clinic",
                "kind": "health",
                "pas_per_week": 42 * clinicians,
                "discipline": "fcfs",
                "leave_weeks_per_year": 0,
                "routine_referrals_per_week_per_70k": arrivals_per_day * 7,
                "routine_appointment_hours": expo(mean_hours),
            }
        },
    }
    return validate_mapping(data, "mmc")


def records(sc: sendmodel.Scenario, seed: int = 1, rep: int = 0) -> dict:
    return sendmodel.run_replication(sc, seed, rep)


def advice_turnaround(rec: dict, service: str = "therapy", mask=None) -> np.ndarray:
    """Days from advice request to advice returned (NaN where not returned)."""
    a = rec["advice"][service]
    tt = a["returned_day"] - a["requested_day"]
    asked = ~np.isnan(a["requested_day"])
    if mask is not None:
        asked &= mask
    return tt[asked]


def task_count(rec: dict, service: str, kind: int) -> int:
    return int((rec["services"][service]["task_kind"] == kind).sum())


def kpi(rec: dict, sc, name: str, service: str = "all") -> float:
    from sendmodel.analysis.kpis import kpis_from_records

    for k, s, v in kpis_from_records(rec, sc):
        if k == name and s == service:
            return v
    raise KeyError((name, service))
