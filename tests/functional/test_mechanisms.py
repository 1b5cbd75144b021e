"""One test per mechanism of the model, on small purpose-made scenarios.

Options are compared as paired runs (same seed and replication, so the same demand: common random numbers),
over a few replications, and every replication must move the way the mechanism says.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sendmodel
from sendmodel.engine.model import ADMIN, DMO_REVIEW, MISSED, RECORDS_CHECK, ROUTINE, TRIAGE
from sendmodel.scenario.loading import validate_mapping
from tests.functional.builders import (
    advice_turnaround,
    expo,
    fixed,
    kpi,
    records,
    task_count,
    tiny,
    tiny_mapping,
)

REPS = 4
SEED = 11
# A therapy service at ~90% utilisation with a routine backlog lasting the whole year, so queue order matters.
LOADED = {
    "services.therapy.routine_referrals_per_week_per_70k": 9,
    "services.therapy.routine_appointment_hours": fixed(2.0),
    "services.therapy.backlog": [{"n_per_70k": 150, "age_weeks": [10, 30]}],
}


def per_rep(sc, metric, reps=REPS, seed=SEED) -> np.ndarray:
    """metric(records, scenario) for each replication."""
    return np.array([metric(records(sc, seed, r), sc) for r in range(reps)])


def mean_advice(mask=None, service="therapy"):
    def f(rec, sc):
        a = rec["advice"][service]
        m = None if mask is None else mask(a)
        return float(np.nanmean(advice_turnaround(rec, service, m)))

    return f


def not_known(a):
    return ~a["known"]


def routine_wait(rec, sc):
    return kpi(rec, sc, "routine_wait_median_weeks", "therapy")


def _day(sc, date: str) -> int:
    return (dt.date.fromisoformat(date) - sc.simulation.start_date).days


# --- misrouting and triage ----------------------------------------------------------------------------------


def test_misrouted_requests_take_longer():
    """Within one run, requests first sent to the wrong service come back later, by about the delay."""
    sc = tiny({"services.therapy.advice.p_misrouted": 0.5, "ehc.misroute_delay_days": fixed(10)})
    for r in range(REPS):
        rec = records(sc, SEED, r)
        mis = rec["advice"]["therapy"]["misrouted"]
        t_mis = advice_turnaround(rec, mask=mis)
        t_ok = advice_turnaround(rec, mask=~mis)
        assert t_mis.size > 50 and t_ok.size > 50
        gap = np.nanmean(t_mis) - np.nanmean(t_ok)
        assert 8 < gap < 12, f"rep {r}: misrouted should take ~10 days longer, gap {gap:.2f} days"
        assert np.nanmin(t_mis) >= 10, "no misrouted request can beat its 10-day delay"


def test_more_misrouting_lengthens_turnaround_monotonically():
    means = [
        per_rep(tiny({"services.therapy.advice.p_misrouted": p}), mean_advice()).mean() for p in (0, 0.3, 1)
    ]
    assert means[0] < means[1] < means[2], f"turnaround by share misrouted 0/0.3/1: {means}"
    assert means[2] - means[0] == pytest.approx(10, abs=1.5), f"all misrouted adds ~10 days: {means}"


def test_triage_removes_misrouting_delay_and_the_records_check():
    base = {"services.therapy.advice.p_misrouted": 1.0, "services.therapy.advice.p_known": 0.4}
    off, on = tiny(base), tiny({**base, "ehc.triage.enabled": True})
    for r in range(REPS):
        rec_off, rec_on = records(off, SEED, r), records(on, SEED, r)
        a = rec_off["advice"]["therapy"]
        nk = int(
            (~a["known"] & (a["requested_day"] + 10 < rec_off["end_day"])).sum()
        )  # past the 10-day bounce
        assert task_count(rec_off, "therapy", RECORDS_CHECK) == nk, (
            "without triage every not-known child is checked"
        )
        assert task_count(rec_on, "therapy", RECORDS_CHECK) == 0, (
            "triage settles known/not known: no records check"
        )
        n_asked = int((~np.isnan(rec_on["ehc"]["advice_requested_day"])).sum())
        assert task_count(rec_on, "spa", TRIAGE) == n_asked, "one triage task per request sent for advice"
        t_off, t_on = np.nanmean(advice_turnaround(rec_off)), np.nanmean(advice_turnaround(rec_on))
        assert t_on < t_off - 8, (
            f"rep {r}: triage should remove the 10-day misrouting delay ({t_off:.1f} -> {t_on:.1f})"
        )
    # With triage, the misrouted flag has no effect at all: identical runs whatever its share.
    on0 = tiny({**base, "ehc.triage.enabled": True, "services.therapy.advice.p_misrouted": 0.0})
    a, b = records(on, SEED, 0), records(on0, SEED, 0)
    np.testing.assert_array_equal(
        a["advice"]["therapy"]["returned_day"], b["advice"]["therapy"]["returned_day"]
    )


# --- ring-fenced PAs and disciplines ------------------------------------------------------------------------


def test_ring_fenced_pas_shorten_not_known_turnaround_in_the_queue():
    """With triage (the assessment is the first task), reserved PAs take not-known assessments first."""
    base = {**LOADED, "ehc.triage.enabled": True}
    no_rf, rf = tiny(base), tiny({**base, "services.therapy.ring_fenced_pas_per_week": 2})
    a, b = per_rep(no_rf, mean_advice(not_known)), per_rep(rf, mean_advice(not_known))
    assert (b < a - 5).all(), (
        f"not-known turnaround without / with 2 ring-fenced PAs: {a.round(1)} / {b.round(1)}"
    )
    known = lambda a: a["known"]  # noqa: E731
    ka, kb = per_rep(no_rf, mean_advice(known)), per_rep(rf, mean_advice(known))
    assert kb.mean() > ka.mean(), (
        f"the reserved PAs come from the same clinicians: known advice waits longer "
        f"({ka.round(1)} -> {kb.round(1)})"
    )


def _not_known_turnaround(sc, reps=REPS):
    out = []
    for r in range(reps):
        rec = records(sc, SEED, r)
        t = advice_turnaround(rec, mask=~rec["advice"]["therapy"]["known"])
        out.append(t[~np.isnan(t)])
    return np.concatenate(out)


def test_reserved_slots_skip_the_booking_notice_only_for_children_seen_in_them():
    """A reserved short-notice slot needs no weeks of notice (NHSE quick guide, 6.2.2), but an ordinary appointment
    still does: with reserved PAs well above the not-known assessments' ~12 hours a week nearly every child is
    seen without the 21 days' notice; with one reserved PA most still wait for it."""
    base = {"services.therapy.advice.booking_lead_days": fixed(21)}
    none = _not_known_turnaround(tiny(base))
    one = _not_known_turnaround(tiny({**base, "services.therapy.ring_fenced_pas_per_week": 1}))
    six = _not_known_turnaround(tiny({**base, "services.therapy.ring_fenced_pas_per_week": 6}))
    assert (none >= 21).all(), "without reserved slots every appointment is booked with 21 days' notice"
    assert (one >= 21).mean() > 0.75, (
        f"one reserved PA (~4 h a week) cannot see most not-known children at short notice: "
        f"{(one >= 21).mean():.0%} still waited the notice"
    )
    assert (one < 21).any(), "but those it does see skip the notice"
    assert (six >= 21).mean() < 0.05 and six.mean() < none.mean() - 15, (
        f"six reserved PAs: mean {none.mean():.1f} -> {six.mean():.1f} days, "
        f"{(six >= 21).mean():.0%} waited the notice"
    )


def test_short_notice_queue_unit():
    """A not-known assessment in a short-notice queue: a reserved session takes it at once, an ordinary one only
    after its notice has run; taken once, counted once."""
    import simpy

    from sendmodel.engine.model import ServiceQueue, Task

    q = ServiceQueue(simpy.Environment(), "ehc_first", True, routine_target_days=126.0, short_notice=True)
    routine = Task(q.key(0.0, False), 1.0, ROUTINE, False, False)
    a1 = Task(q.key(1.0, True), 3.0, 3, True, True)
    a2 = Task(q.key(2.0, True), 3.0, 3, True, True)
    for task in (routine, a1, a2):
        q.put(task)
    assert q.n == 3
    assert q.take(False) is routine, "an ordinary session cannot see an assessment before its notice"
    routine.started = 0.0
    assert q.take(False) is None and not q.eligible(False)
    q.open_to_all(a1)
    q.open_to_all(a2)
    assert q.take(False) is a1, "after the notice an ordinary session sees it (EHC work first)"
    a1.started = 0.0
    assert q.take(True) is a2, "the reserved session skips a1, already taken from the other heap"
    a2.started = 0.0
    assert q.take(True) is None and q.take(False) is None and q.n == 0, "each task is taken once"
    q.open_to_all(a2)  # a notice that runs out after the child was seen changes nothing
    assert not q.rest


def test_ring_fence_not_released_leaves_sessions_idle_for_routine_work():
    """Reserved sessions with no not-known assessment waiting take other work only when release is allowed."""
    base = {
        **LOADED,
        "ehc.triage.enabled": True,
        "services.therapy.advice.p_known": 0.9,  # few assessments: the reserved PAs are often free
        "services.therapy.ring_fenced_pas_per_week": 2,
    }
    released = tiny({**base, "services.therapy.ring_fence_release_unused": True})
    kept = tiny({**base, "services.therapy.ring_fence_release_unused": False})
    a, b = per_rep(released, routine_wait), per_rep(kept, routine_wait)
    assert (b > a + 1).all(), f"routine median wait (weeks) released / kept: {a.round(2)} / {b.round(2)}"


def test_ehc_first_lengthens_routine_waits_and_shortens_advice():
    fcfs, first = tiny(LOADED), tiny({**LOADED, "services.therapy.discipline": "ehc_first"})
    wa, wb = per_rep(fcfs, routine_wait), per_rep(first, routine_wait)
    aa, ab = per_rep(fcfs, mean_advice()), per_rep(first, mean_advice())
    assert (wb > wa + 1).all(), f"routine median wait (weeks) fcfs / ehc_first: {wa.round(2)} / {wb.round(2)}"
    assert (ab < aa / 5).all(), f"advice turnaround (days) fcfs / ehc_first: {aa.round(1)} / {ab.round(1)}"


def test_deadline_discipline_serves_by_due_date():
    """EHC advice is due at 6 weeks and routine work at its target: the longer the routine target, the sooner
    EHC advice is served, and a 1-week routine target puts routine work ahead of advice (slower than fcfs)."""
    turn = {}
    for target in (1, 12, 52):
        sc = tiny(
            {
                **LOADED,
                "services.therapy.discipline": "deadline",
                "services.therapy.routine_target_weeks": target,
            }
        )
        turn[target] = per_rep(sc, mean_advice())
    fcfs = per_rep(tiny(LOADED), mean_advice())
    assert (turn[1] > turn[12]).all() and (turn[12] > turn[52]).all(), {
        k: v.round(1) for k, v in turn.items()
    }
    assert (turn[1] > fcfs).all() and (turn[52] < fcfs).all(), (turn, fcfs)


def test_deadline_queue_order_unit():
    """The queue key: nearest due date first; ties keep arrival order."""
    import simpy

    from sendmodel.engine.model import ServiceQueue, Task

    q = ServiceQueue(simpy.Environment(), "deadline", True, routine_target_days=28.0)
    tasks = {
        "routine day 0 (due 28)": (0.0, False),
        "ehc day 0 (due 42)": (0.0, True),
        "routine day 10 (due 38)": (10.0, False),
        "ehc day 20 (due 62)": (20.0, True),
        "ehc day 5 (due 47)": (5.0, True),
    }
    for name, (t, ehc) in tasks.items():
        task = Task(q.key(t, ehc), 1.0, ROUTINE, ehc, False)
        q.put(task)
        tasks[name] = task
    order = [q.take(False) for _ in range(len(tasks))]
    names = {id(t): n for n, t in tasks.items()}
    got = [names[id(t)] for t in order]
    assert got == [
        "routine day 0 (due 28)",
        "routine day 10 (due 38)",
        "ehc day 0 (due 42)",
        "ehc day 5 (due 47)",
        "ehc day 20 (due 62)",
    ], got
    assert q.take(False) is None


# --- DMO/DCO ------------------------------------------------------------------------------------------------


def test_admin_support_shortens_dmo_signoff():
    base = {"ehc.p_exceptional_provision": 0.5, "services.dmo.pas_per_week": 1}
    off, on = tiny(base), tiny({**base, "ehc.admin_support": True})
    med = lambda rec, sc: kpi(rec, sc, "dmo_signoff_median_days")  # noqa: E731
    a, b = per_rep(off, med), per_rep(on, med)
    assert (b < a).all() and b.mean() < a.mean() / 2, f"sign-off median days without / with admin: {a} / {b}"
    rec_off, rec_on = records(off, SEED, 0), records(on, SEED, 0)
    assert task_count(rec_off, "dmo", ADMIN) > 0 and task_count(rec_off, "admin", ADMIN) == 0
    d = rec_on["services"]["dmo"]
    reviewed = int(((d["task_kind"] == DMO_REVIEW) & ~np.isnan(d["task_finished"])).sum())
    assert task_count(rec_on, "dmo", ADMIN) == 0 and task_count(rec_on, "admin", ADMIN) == reviewed, (
        "each finished review sends its admin to the admin service"
    )
    u = lambda rec: kpi(rec, on, "utilisation", "dmo")  # noqa: E731
    assert u(rec_on) < u(rec_off), "admin moved off the DMO/DCO frees their PAs"


def test_dmo_signoff_only_for_exceptional_provision():
    sc = tiny(
        {
            "ehc.p_exceptional_provision": 0.3,
            "ehc.request_outcomes": {"assessed": 0.7, "refused": 0.2, "withdrawn": 0.1},
        }
    )
    e = records(sc, SEED, 0)["ehc"]
    asked = ~np.isnan(e["dmo_requested_day"])
    should = e["exceptional"] & (e["outcome"] == 0) & ~np.isnan(e["advice_returned_day"])
    np.testing.assert_array_equal(
        asked, should, err_msg="DMO/DCO asked exactly for assessed exceptional requests"
    )
    assert asked.sum() > 30
    signed = ~np.isnan(e["dmo_signoff_day"])
    assert (e["dmo_signoff_day"][signed] >= e["dmo_requested_day"][signed]).all()
    none = tiny({"ehc.p_exceptional_provision": 0.0})
    rec = records(none, SEED, 0)
    assert (
        rec["services"]["dmo"]["task_kind"].size == 0
        and rec["services"]["dmo"]["busy_hours_by_day"].sum() == 0
    )
    assert np.isnan(rec["ehc"]["dmo_requested_day"]).all()


# --- capacity: leave, bank holidays, dated changes ----------------------------------------------------------


def _available(sc, seed=SEED, rep=0):
    return records(sc, seed, rep)["services"]["therapy"]["available_hours_by_day"]


def test_zero_leave_gives_more_capacity_than_six_weeks():
    base = {"simulation.horizon_days": 364}  # 52 weeks from Monday 1 January 2024
    none, six = (
        tiny({**base, "services.therapy.leave_weeks_per_year": 0}),
        tiny({**base, "services.therapy.leave_weeks_per_year": 6}),
    )
    h0 = _available(none).sum()
    assert h0 == pytest.approx(8.0 * (52 * 5 - 8)), (
        "10 PAs: 8 hours on each of 252 working days (8 bank holidays)"
    )
    for r in range(REPS):
        h6 = _available(six, rep=r).sum()
        lost = h0 - h6
        assert 6 * 40 - 8 * 8 - 1e-6 <= lost <= 6 * 40 + 1e-6, (
            f"rep {r}: six weeks' leave removes 176-240 hours, removed {lost}"
        )
    a, b = (
        per_rep(tiny({**LOADED, **base, "services.therapy.leave_weeks_per_year": 0}), mean_advice()),
        per_rep(tiny({**LOADED, **base, "services.therapy.leave_weeks_per_year": 6}), mean_advice()),
    )
    assert a.mean() < b.mean(), f"less capacity, slower advice: {a} vs {b}"


def test_bank_holidays_and_weekends_have_no_sessions():
    sc = tiny(
        {
            "services.therapy.routine_referrals_per_week_per_70k": 30,
            "services.therapy.routine_appointment_hours": fixed(2.0),
        }
    )  # always work waiting
    rec = records(sc, SEED, 0)
    avail = rec["services"]["therapy"]["available_hours_by_day"]
    busy = rec["services"]["therapy"]["busy_hours_by_day"]
    for date in (
        "2024-12-25",
        "2024-12-26",
        "2024-03-29",
        "2024-04-01",
        "2024-08-26",
        "2024-12-28",
        "2024-12-29",
    ):
        d = _day(sc, date)
        assert avail[d] == 0 and busy[d] == 0, f"{date}: no session expected, got {avail[d]} hours available"
    for date in ("2024-12-24", "2024-12-27", "2024-08-27"):
        assert avail[_day(sc, date)] == pytest.approx(8.0), f"{date} is a working day"
    started = rec["services"]["therapy"]["task_started"]
    assert not ((started >= _day(sc, "2024-12-25")) & (started < _day(sc, "2024-12-27"))).any()


def test_dated_capacity_change_applies_only_from_its_date():
    change = {"services.therapy.capacity_changes": [{"start": "2024-04-01", "pas_per_week_delta": 2}]}
    d = _day(tiny(), "2024-04-01")
    for leave in (6, 0):
        base = {"services.therapy.leave_weeks_per_year": leave}
        a, b = _available(tiny(base)), _available(tiny({**base, **change}))
        np.testing.assert_array_equal(a[:d], b[:d], err_msg=f"leave {leave}: nothing changes before the date")
        if leave:  # the PAs are re-rostered over the clinicians from the date, whose leave weeks differ: in total
            assert b[d:].sum() > a[d:].sum()
        else:
            assert (b[d:] >= a[d:]).all() and (b[d:] > a[d:]).any()
    extra = (
        b[d:] - a[d:]
    ).sum()  # no leave: 2 PAs = 8 hours a week less bank holidays (at most 6 after 1 April)
    weeks = len(a[d:]) / 7
    assert 8 * weeks - 6 * 4 - 8 - 1e-6 <= extra <= 8 * weeks + 1e-6, (
        f"{extra} extra hours over {weeks:.1f} weeks"
    )


def test_vacancy_from_month_3_to_9_reduces_capacity_only_in_its_window():
    vacancy = {
        "services.therapy.capacity_changes": [
            {"start": "2024-03-01", "end": "2024-09-01", "pas_per_week_delta": -5}
        ]
    }
    s, e = _day(tiny(), "2024-03-01"), _day(tiny(), "2024-09-01")
    for leave in (6, 0):
        base = {"services.therapy.leave_weeks_per_year": leave}
        a, b = _available(tiny(base)), _available(tiny({**base, **vacancy}))
        np.testing.assert_array_equal(
            a[:s], b[:s], err_msg=f"leave {leave}: nothing changes before the vacancy"
        )
        np.testing.assert_array_equal(a[e:], b[e:], err_msg=f"leave {leave}: capacity is back after it")
        assert (a[s:e] >= b[s:e]).all()
    lost = (a[s:e] - b[s:e]).sum()  # no leave: 5 PAs x 4 hours a week, less bank holidays in the window (4)
    weeks = (e - s) / 7
    assert 20 * weeks - 4 * 8 - 8 <= lost <= 20 * weeks + 1e-6, f"{lost} hours lost over {weeks:.1f} weeks"


# --- missed appointments, backlog ---------------------------------------------------------------------------


def test_missed_appointments_use_clinician_time_and_delay_the_child():
    base = {
        "services.therapy.routine_referrals_per_week_per_70k": 3,
        "ehc.requests_per_year_per_70k": 200,
        "services.therapy.routine_appointment_hours": fixed(2.0),
        "services.therapy.advice.p_known": 0.3,
        "services.therapy.rebook_delay_days": fixed(14),
    }
    none, some = tiny(base), tiny({**base, "services.therapy.p_missed_appointment": 0.3})
    for r in range(REPS):
        r0, r1 = records(none, SEED, r), records(some, SEED, r)
        t1 = r1["services"]["therapy"]
        missed = t1["task_kind"] == MISSED
        assert missed.sum() > 20 and task_count(r0, "therapy", MISSED) == 0
        done = missed & ~np.isnan(t1["task_finished"])
        # a missed appointment takes the whole slot
        assert set(t1["task_hours"][missed & ~t1["task_ehc"]]) == {2.0}
        assert set(t1["task_hours"][missed & t1["task_ehc"]]) == {3.0}
        busy0 = r0["services"]["therapy"]["busy_hours_by_day"].sum()
        busy1 = t1["busy_hours_by_day"].sum()
        missed_hours = t1["task_hours"][done].sum()
        fin = ~np.isnan(t1["task_finished"])
        in_progress = ~np.isnan(t1["task_started"]) & ~fin
        other = busy1 - t1["task_hours"][fin & ~missed].sum()  # clinician time not spent on attended work
        assert missed_hours - 1e-6 <= other <= missed_hours + t1["task_hours"][in_progress].sum() + 1e-6, (
            f"missed slots use clinician time: {other:.1f} h over attended work, {missed_hours:.1f} h missed"
        )
        assert busy1 - busy0 > 0.8 * missed_hours, (
            "the same demand with missed appointments keeps clinicians busier"
        )
        # the child waits at least one rebooking delay per missed appointment
        arr, seen, k = (
            r1["routine_arrival"]["therapy"],
            r1["routine"]["therapy"]["seen_day"],
            r1["routine_n_missed"]["therapy"],
        )
        ok = ~np.isnan(seen)
        assert ((seen - arr)[ok] >= 14 * k[ok] - 1e-9).all()
        a = r1["advice"]["therapy"]
        asked = ~np.isnan(a["returned_day"]) & ~a["known"]
        assert ((a["returned_day"] - a["requested_day"])[asked] >= 14 * a["n_missed"][asked] - 1e-9).all()
        assert (a["n_missed"][asked] > 0).any()
    w0, w1 = per_rep(none, routine_wait), per_rep(some, routine_wait)
    a0, a1 = per_rep(none, mean_advice(not_known)), per_rep(some, mean_advice(not_known))
    assert w1.mean() > w0.mean() and (a1 > a0).all(), (w0, w1, a0, a1)


def test_backlog_is_served_and_waits_include_its_age():
    sc = tiny(
        {
            "services.therapy.routine_appointment_hours": fixed(1.0),
            "services.therapy.backlog": [
                {"n_per_70k": 40, "age_weeks": [20, 30]},
                {"n_per_70k": 10, "age_weeks": [60, 70]},
            ],
        }
    )
    res = sendmodel.run(sc, replications=2, seed=SEED)
    ev = res.events[(res.events["kind"] == "routine") & (res.events["service"] == "therapy")]
    assert len(ev) == 2 * 50 and (ev["arrival_day"] < 0).all(), "every backlog child is a routine request"
    assert (ev["status"] == "closed").all(), "ample capacity: the whole backlog is seen"
    wait_weeks = (ev["seen_day"] - ev["arrival_day"]) / 7
    assert (wait_weeks >= 20).all() and (wait_weeks.max() >= 60), "waits include the time already waited"
    for rec in res.records:
        seen = rec["routine"]["therapy"]["seen_day"]
        assert (np.diff(seen) >= 0).all(), "first come first served: the oldest first"
    assert res.kpi("routine_wait_median_weeks", "therapy") > 20


def test_monthly_profile_gives_few_requests_in_august():
    prof = [1.0] * 12
    prof[7] = 0.2
    sc = tiny({"ehc.requests_per_year_per_70k": 1200, "ehc.monthly_profile": prof})
    res = sendmodel.run(sc, replications=2, seed=SEED)
    ehc = res.events[res.events["kind"] == "ehc"]
    month = ehc["arrival_day"].map(lambda d: (sc.simulation.start_date + dt.timedelta(days=int(d))).month)
    n_jul, n_aug = (month == 7).sum(), (month == 8).sum()
    assert n_aug < 0.4 * n_jul, f"{n_aug} requests in August vs {n_jul} in July"


# --- the pathway --------------------------------------------------------------------------------------------


def test_pathway_timings_add_up_exactly_when_nothing_queues():
    """Deterministic case: ten clinicians always on duty per service and fixed times, so every request's steps
    are the sum of its delays and task hours, to the second."""
    always = {f"services.{s}.pas_per_week": 420 for s in ("therapy", "la", "dmo", "admin", "spa")}
    sc = tiny(
        {
            **always,
            "simulation.calendar": "always_open",
            "ehc.requests_per_year_per_70k": 50,
            "ehc.p_exceptional_provision": 0.5,
            "ehc.decision_lag_days": fixed(3),
            "services.therapy.advice.p_misrouted": 0.5,
            "services.therapy.advice.admin_lag_days": fixed(2),
            "services.therapy.advice.booking_lead_days": fixed(7),
        }
    )
    rec = records(sc, SEED, 0)
    e, a = rec["ehc"], rec["advice"]["therapy"]
    h = 1 / 24  # one hour in days
    decision = e["arrival_day"] + 3 + 0.5 * h
    advice = decision + 10 * a["misrouted"] + 2 + np.where(a["known"], 1 * h, 0.5 * h + 7 + 3 * h)
    signoff = np.where(e["exceptional"], advice + 0.5 * h + 0.5 * h, np.nan)
    draft = np.fmax(advice, np.nan_to_num(signoff)) + 1 * h
    final = draft + 15 + 0.5 * h
    done = ~np.isnan(e["final_day"])
    assert done.sum() > 30 and (
        a["misrouted"][done].any() and a["known"][done].any() and e["exceptional"][done].any()
    )
    for name, got, want in (
        ("decision", e["decision_day"], decision),
        ("advice", a["returned_day"], advice),
        ("sign-off", e["dmo_signoff_day"], signoff),
        ("draft", e["draft_day"], draft),
        ("final", e["final_day"], final),
    ):
        np.testing.assert_allclose(got[done], want[done], rtol=0, atol=1e-9, err_msg=f"{name} day")


def test_refused_requests_get_no_advice():
    sc = tiny({"ehc.request_outcomes": {"assessed": 0.5, "refused": 0.4, "withdrawn": 0.1}})
    rec = records(sc, SEED, 0)
    e, a = rec["ehc"], rec["advice"]["therapy"]
    not_assessed = (e["outcome"] != 0) & ~np.isnan(e["decision_day"])
    assert not_assessed.sum() > 50
    assert np.isnan(e["advice_requested_day"][not_assessed]).all()
    assert np.isnan(a["requested_day"][not_assessed]).all()
    np.testing.assert_array_equal(e["closed_day"][not_assessed], e["decision_day"][not_assessed])
    assert np.isnan(e["final_day"][not_assessed]).all()
    # all refused: no advice work anywhere, and the KPIs say there was none
    sc = tiny({"ehc.request_outcomes": {"assessed": 0.0, "refused": 1.0, "withdrawn": 0.0}})
    rec = records(sc, SEED, 0)
    assert rec["services"]["therapy"]["task_kind"].size == 0
    assert kpi(rec, sc, "advice_requests", "therapy") == 0


def test_plan_comes_after_all_advice_signoff_and_15_days_consultation():
    data = tiny_mapping()
    data["services"]["ep"] = {
        **data["services"]["therapy"],
        "label": "EP",
        "kind": "education",
        "pas_per_week": 4,
    }
    data["services"]["ep"]["advice"] = {**data["services"]["ep"]["advice"], "assessment_hours": fixed(6.0)}
    data["ehc"]["p_exceptional_provision"] = 0.4
    data["ehc"]["p_plan_after_assessment"] = 0.8
    sc = validate_mapping(data, "two-services")
    rec = records(sc, SEED, 0)
    e = rec["ehc"]
    fin = ~np.isnan(e["final_day"])
    assert fin.sum() > 100
    last_advice = np.fmax(rec["advice"]["therapy"]["returned_day"], rec["advice"]["ep"]["returned_day"])
    assert (e["draft_day"][fin] >= last_advice[fin]).all(), "the draft waits for every service's advice"
    np.testing.assert_array_equal(e["advice_returned_day"][fin], last_advice[fin])
    dmo = fin & e["exceptional"]
    assert dmo.sum() > 20 and (e["draft_day"][dmo] >= e["dmo_signoff_day"][dmo]).all()
    np.testing.assert_array_equal(
        e["dmo_requested_day"][dmo],
        e["advice_returned_day"][dmo],
        err_msg="the DMO/DCO is asked once all advice is in",
    )
    assert (e["final_day"][fin] - e["draft_day"][fin] >= 15).all(), "15 days for the family to comment"
    la = rec["services"]["la"]
    from sendmodel.engine.model import DRAFT, FINALISE

    fz, dr = la["task_kind"] == FINALISE, la["task_kind"] == DRAFT
    np.testing.assert_allclose(
        np.sort(la["task_enqueued"][fz]),
        np.sort(la["task_finished"][dr][~np.isnan(la["task_finished"][dr])])[: fz.sum()] + 15,
    )
    no_plan = (e["outcome"] == 0) & ~e["plan"] & ~np.isnan(e["closed_day"])
    assert (
        no_plan.sum() > 10
        and np.isnan(e["final_day"][no_plan]).all()
        and np.isnan(e["draft_day"][no_plan]).all()
    )


# --- overload, open requests, warm-up -----------------------------------------------------------------------


def test_demand_above_capacity_finishes_and_reports_open_requests():
    sc = tiny(
        {
            "services.therapy.pas_per_week": 1.5,
            "services.therapy.routine_referrals_per_week_per_70k": 20,
            "services.therapy.routine_appointment_hours": expo(2.0),
        }
    )
    res = sendmodel.run(sc, replications=2, seed=SEED)
    rec = res.records[0]
    q = rec["services"]["therapy"]
    end = rec["end_day"]
    n_at = lambda t: q["queue_n"][np.searchsorted(q["queue_t"], t, side="right") - 1]  # noqa: E731
    assert n_at(end / 3) < n_at(2 * end / 3) < n_at(end), "the queue grows all year"
    wl = res.kpi("waiting_list_end", "therapy")
    assert wl > 500, f"waiting_list_end {wl}: most of a year's ~1,400 requests are still waiting"
    ev = res.events[res.events["replication"] == 0]
    open_ = ev[ev["status"] == "open"]
    assert len(open_) > 500
    np.testing.assert_allclose(open_["age_at_end_days"], end - open_["arrival_day"])
    assert ev.loc[ev["status"] == "closed", "age_at_end_days"].isna().all()
    adv = res.advice[res.advice["replication"] == 0]
    assert (adv.loc[adv["status"] == "open", "within_6w"] == False).all()  # noqa: E712
    # the on-time KPI counts open requests in the cohort as late
    a = rec["advice"]["therapy"]
    due = a["requested_day"] + 42
    cohort = ~np.isnan(a["requested_day"]) & (due < end)
    on_time = (a["returned_day"][cohort] <= due[cohort]).sum()  # NaN compares False: open is never on time
    assert kpi(rec, sc, "advice_within_6w_pct", "therapy") == pytest.approx(100 * on_time / cohort.sum())
    assert kpi(rec, sc, "advice_within_6w_pct", "therapy") < 30


def test_zero_capacity_nothing_served_nothing_on_time():
    sc = tiny({"services.therapy.pas_per_week": 0})
    rec = records(sc, SEED, 0)
    a = rec["advice"]["therapy"]
    asked = ~np.isnan(a["requested_day"])
    assert asked.sum() > 100 and np.isnan(a["returned_day"][asked]).all()
    assert kpi(rec, sc, "advice_within_6w_pct", "therapy") == 0
    assert kpi(rec, sc, "plans_within_20w_pct") == 0
    assert kpi(rec, sc, "waiting_list_end", "therapy") == asked.sum()
    open_ehc = kpi(rec, sc, "requests_open_end")
    assert open_ehc == np.isnan(rec["ehc"]["closed_day"]).sum() >= asked.sum()
    assert kpi(rec, sc, "requests_open_mean_age_weeks") > 10


def test_warm_up_results_are_dropped():
    """KPIs use only the measurement window: rewriting what happened before it changes nothing."""
    sc = tiny(
        {
            **LOADED,
            "simulation.warm_up_days": 120,
            "simulation.horizon_days": 200,
            "ehc.p_exceptional_provision": 0.3,
        }
    )
    rec = records(sc, SEED, 0)
    warm, end = 120.0, 320.0
    k0 = {(k, s): v for k, s, v in _kpis(rec, sc)}
    a = rec["advice"]["therapy"]
    due = a["requested_day"] + 42
    assert k0[("advice_requests", "therapy")] == (~np.isnan(due) & (due >= warm) & (due < end)).sum()
    seen, arr = rec["routine"]["therapy"]["seen_day"], rec["routine_arrival"]["therapy"]
    w = seen >= warm
    assert k0[("routine_wait_median_weeks", "therapy")] == pytest.approx(np.median((seen[w] - arr[w]) / 7))
    # tamper with everything that finished before the window: the window's KPIs must not move
    early = due < warm
    a["returned_day"][early] = a["requested_day"][early] + 1000
    e = rec["ehc"]
    early_plans = e["arrival_day"] + 140 < warm
    e["final_day"][early_plans & ~np.isnan(e["final_day"])] += 1000
    for k in ("busy_hours_by_day", "available_hours_by_day"):
        rec["services"]["therapy"][k][: int(warm)] *= 3
    seen_early = seen < warm
    seen[seen_early] = seen[seen_early] - 50  # seen earlier still, but before the window
    k1 = {(k, s): v for k, s, v in _kpis(rec, sc)}
    for key in (
        ("advice_within_6w_pct", "therapy"),
        ("advice_turnaround_median_days", "therapy"),
        ("routine_wait_median_weeks", "therapy"),
        ("utilisation", "therapy"),
        ("plans_within_20w_pct", "all"),
        ("advice_requests", "therapy"),
    ):
        assert k1[key] == pytest.approx(k0[key], nan_ok=True), f"{key}: {k0[key]} -> {k1[key]}"


def _kpis(rec, sc):
    from sendmodel.analysis.kpis import kpis_from_records

    return kpis_from_records(rec, sc)


def test_demand_grows_by_the_trend_and_follows_given_years(short_baseline):
    """10% growth a year gives about 10% more requests in the second year than the first; a year given in
    requests_by_year has that year's rate; no trend leaves demand exactly as it was."""
    from sendmodel.engine.demand import sample_demand

    sc = short_baseline.override({"simulation.warm_up_days": 0, "simulation.horizon_days": 730.0,
                                  "simulation.start_date": "2025-01-01"})
    level = sample_demand(sc, 3, 0).ehc.arrival_day
    assert np.array_equal(level, sample_demand(sc.override({"ehc.growth_per_year": 0.0}), 3, 0).ehc.arrival_day)
    ratios = []
    for rep in range(6):
        a = sample_demand(sc.override({"ehc.growth_per_year": 0.10}), 3, rep).ehc.arrival_day
        ratios.append(((a >= 365) & (a < 730)).sum() / (a < 365).sum())
    assert 1.05 < float(np.mean(ratios)) < 1.16
    base = sc.ehc.requests_per_year_per_70k
    a = sample_demand(sc.override({"ehc.requests_by_year": {"2026": 2 * base}}), 3, 0).ehc.arrival_day
    assert 1.8 < ((a >= 365) & (a < 730)).sum() / (a < 365).sum() < 2.2


def test_added_pas_arrive_after_recruitment_and_net_of_vacancies(short_baseline):
    """+10 PAs from 1 February with 12 weeks' recruitment and a 20% vacancy rate: 8 PAs more from late April, none
    before; costs follow the same PAs."""
    import datetime as dt

    from sendmodel.analysis.costs import service_pa_weeks
    from sendmodel.engine.sessions import available_hours_by_day, build_sessions, weekly_layout, working_days

    ch = {"start": "2024-02-01", "pas_per_week_delta": 10, "recruitment_lead_weeks": 12, "vacancy_rate": 0.2}
    sc = short_baseline.override({"simulation.warm_up_days": 0, "simulation.horizon_days": 200.0,
                                  "simulation.start_date": "2024-01-01", "services.slt.leave_weeks_per_year": 0,
                                  "services.slt.capacity_changes": [ch]})
    c = sc.services["slt"].capacity_changes[0]
    assert c.applies_from == dt.date(2024, 4, 25) and c.delta == 8.0
    hours = available_hours_by_day(build_sessions(sc, "slt", 1, 0, 200.0), 200)
    base = sc.services["slt"].pas_per_week * sc.scale
    early, late = hours[35:112].sum() / 11, hours[126:196].sum() / 10  # whole weeks before and after
    # what the layout gives on each working day (bank holidays take a whole day's sessions)
    days, weekdays = working_days(sc.simulation.start_date, 200)

    def expected(pas, lo, hi, weeks):
        per_day = [sum(h for slot in weekly_layout(pas, 0.0)[2 * wd:2 * wd + 2] for _, h, _ in slot) for wd in range(5)]
        return sum(per_day[w] for d, w in zip(days, weekdays) if lo <= d < hi) / weeks

    assert early == pytest.approx(expected(base, 35, 112, 11), rel=1e-9)
    assert late == pytest.approx(expected(base + 8 * sc.scale, 126, 196, 10), rel=1e-9)
    assert abs(early - 4 * base) < 0.05 * 4 * base and abs(late - 4 * (base + 8 * sc.scale)) < 0.06 * late
    plain = sc.override({"services.slt.capacity_changes": []})
    extra = service_pa_weeks(sc, "slt") - service_pa_weeks(plain, "slt")
    assert abs(extra - 8 * sc.scale * (200 - 115) / 7) < 1.0
