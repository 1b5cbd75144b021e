"""The engine, run by run, against independent recursions and Little's law on its own records (fast).

Statistics can hide a small error in a large noise; these checks cannot. Given the same arrivals and task
times (read back from the engine's task log), an independent event recursion
(:mod:`sendmodel.studies.verification.recursions`, which uses none of the engine's code) must give every task the
same start
time, to rounding. One short replication each, so they run in ``make test-fast``; the long statistical runs
are in test_suite_cases.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import sendmodel
from sendmodel.studies.verification.cases import little_areas, load_case_scenario
from sendmodel.studies.verification.recursions import fcfs_on_sessions, nonpreemptive_starts, weekday_sessions

TOL_DAYS = 1e-6  # about 0.1 second


def _short(key: str, horizon: float, warm: float = 100.0):
    sc = load_case_scenario(key)
    return sc.override({"simulation.warm_up_days": warm, "simulation.horizon_days": horizon})


def _compare(started, ref, end, what):
    ran = ~np.isnan(started)
    assert ran.sum() > 100, f"{what}: expected many tasks, got {ran.sum()}"
    assert not (ref[~ran] < end - 1e-9).any(), f"{what}: tasks unstarted that the recursion starts"
    gap = np.max(np.abs(started[ran] - ref[ran]))
    assert gap <= TOL_DAYS, f"{what}: start times differ from the independent recursion by {gap:.3g} days"


@pytest.mark.parametrize("key, c", [("mm1_rho90", 1), ("mm3_rho90", 3), ("md1_rho80", 1)])
def test_fcfs_start_times_equal_the_recursion(key, c):
    rec = sendmodel.run_replication(_short(key, 2000), seed=7, replication=3)
    s = rec["services"]["clinic"]
    ref = nonpreemptive_starts(s["task_enqueued"], s["task_hours"] / 24, c)
    _compare(s["task_started"], ref, rec["end_day"], key)


def test_ehc_first_start_times_equal_the_priority_recursion():
    rec = sendmodel.run_replication(_short("priority_mm1", 2000), seed=7, replication=3)
    s = rec["services"]["clinic"]
    assert s["task_ehc"].any() and (~s["task_ehc"]).any(), "both classes reach the clinic"
    ref = nonpreemptive_starts(s["task_enqueued"], s["task_hours"] / 24, 1, (~s["task_ehc"]).astype(int))
    _compare(s["task_started"], ref, rec["end_day"], "EHC advice first")
    fcfs = nonpreemptive_starts(s["task_enqueued"], s["task_hours"] / 24, 1)
    assert np.nanmax(np.abs(s["task_started"] - fcfs)) > 1.0, "the priority order differs from FCFS somewhere"


def test_ehc_pathway_delivers_advice_and_dmo_work_at_arrival_and_in_series():
    """The reductions the Jackson cases rely on: advice is asked at the request's arrival (instant LA
    decision) and DMO/DCO review is queued at the moment advice returns; both stations are FCFS."""
    rec = sendmodel.run_replication(_short("tandem", 1500), seed=7, replication=1)
    e, h, d = rec["ehc"], rec["services"]["health"], rec["services"]["dmo"]
    done = ~np.isnan(e["dmo_requested_day"])
    arrived = e["arrival_day"][e["arrival_day"] < rec["end_day"]]
    assert np.array_equal(np.sort(h["task_enqueued"]), np.sort(arrived)), "advice asked at each arrival"
    assert np.allclose(np.sort(d["task_enqueued"]), np.sort(e["advice_returned_day"][done]))
    signed = e["dmo_signoff_day"][~np.isnan(e["dmo_signoff_day"])]
    finished = d["task_finished"][~np.isnan(d["task_finished"])]
    assert np.allclose(np.sort(signed), np.sort(finished)), "zero-hour admin: sign-off when the review ends"
    for name, s in (("health", h), ("dmo", d)):
        _compare(s["task_started"], nonpreemptive_starts(s["task_enqueued"], s["task_hours"] / 24, 1),
                 rec["end_day"], name)


def test_weekday_calendar_start_times_equal_the_operational_time_recursion():
    sc = _short("calendar_weekdays", 1500, warm=0)
    rec = sendmodel.run_replication(sc, seed=7, replication=2)
    s = rec["services"]["clinic"]
    ss, se = weekday_sessions(sc.simulation.start_date, int(rec["end_day"]) + 60)
    ref = fcfs_on_sessions(s["task_enqueued"], s["task_hours"], ss, se)
    _compare(s["task_started"], ref, rec["end_day"], "weekday sessions")
    avail = s["available_hours_by_day"][: int(rec["end_day"])].sum()
    inside = ss < int(rec["end_day"])
    assert avail == pytest.approx(((se - ss)[inside] * 24).sum()), "capacity = sessions counted independently"


def test_littles_law_holds_on_every_run_record(short_baseline):
    """Area under each service's queue-length log = total time its tasks spent waiting, in the window; on the
    full baseline (calendars, leave, ring-fences, missed appointments) as well as the validation cases."""
    pooled = {s for p in short_baseline.pools.values() for s in p.services}
    rec = sendmodel.run_replication(short_baseline, seed=1, replication=0)
    rec = {**rec, "services": {k: v for k, v in rec["services"].items() if k not in pooled}}
    a_log, a_tasks, gap = little_areas(rec, short_baseline.simulation.warm_up_days)
    assert a_tasks > 1.0, "some tasks waited"
    assert gap < 1e-9, f"queue log area {a_log:.6g} vs task waits {a_tasks:.6g} (relative gap {gap:.3g})"
