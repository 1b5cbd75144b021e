"""Conservation: tasks and requests are neither lost nor invented, and clinician work adds up.

Work done (busy hours) must equal the hours of finished tasks plus the partial work on tasks in progress at
the end; no day is busier than its sessions; utilisation never exceeds 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.engine.demand import sample_demand
from sendmodel.engine.model import SendModel
from sendmodel.scenario.loading import validate_mapping
from tests.functional.builders import expo, fixed, tiny, tiny_mapping

SEED = 3


def _run(sc, rep=0):
    m = SendModel(sc, sample_demand(sc, SEED, rep), SEED, rep)
    return m, m.run()


def _groups(m: SendModel) -> list[list[str]]:
    """Services sharing one queue (a pool), or a team from a date, are checked together: any of their
    clinicians serves any task."""
    by_queue: dict[int, list[str]] = {}
    for name, st in m.services.items():
        by_queue.setdefault(id(st.queue), []).append(name)
    groups = list(by_queue.values())
    for pool in m.sc.pools.values():
        if pool.start is not None:
            groups = [g for g in groups if not set(g) & set(pool.services)] + [list(pool.services)]
    return groups


def _scenarios(short_baseline):
    busy = tiny(
        {
            "services.therapy.routine_referrals_per_week_per_70k": 12,
            "services.therapy.routine_appointment_hours": expo(2.0),
            "services.therapy.p_missed_appointment": 0.2,
            "services.therapy.rebook_delay_days": fixed(10),
            "services.therapy.ring_fenced_pas_per_week": 2,
            "services.therapy.leave_weeks_per_year": 6,
            "services.therapy.advice.assessment_hours": {"dist": "lognormal", "mean": 5.0, "cv": 0.6},
            "ehc.p_exceptional_provision": 0.3,
            "ehc.triage.enabled": True,
            "services.therapy.capacity_changes": [
                {"start": "2024-05-01", "end": "2024-08-01", "pas_per_week_delta": -4}
            ],
        }
    )
    data = tiny_mapping()  # an integrated team: two services, one queue, a trusted assessor
    data["services"]["ot"] = {
        **data["services"]["therapy"],
        "label": "OT",
        "pas_per_week": 6,
        "routine_referrals_per_week_per_70k": 5,
        "routine_appointment_hours": expo(1.5),
    }
    data["pools"] = {"team": {"label": "0-25 team", "services": ["therapy", "ot"], "trusted_assessor": True}}
    pooled = validate_mapping(data, "pooled")
    return {
        "short baseline": short_baseline,
        "busy tiny": busy,
        "overloaded": tiny({"services.therapy.pas_per_week": 2, "simulation.warm_up_days": 60}),
        "pooled": pooled,
        "pooled from May": pooled.override({"pools.team.start": "2024-05-01"}),
    }


@pytest.mark.parametrize("which", ["short baseline", "busy tiny", "overloaded", "pooled", "pooled from May"])
def test_task_times_are_ordered_and_work_is_conserved(short_baseline, which):
    sc = _scenarios(short_baseline)[which]
    for rep in range(2):
        m, rec = _run(sc, rep)
        if which == "pooled":
            assert ["therapy", "ot"] in _groups(m), "pooled services share one queue"
        for group in _groups(m):
            tasks = [t for s in group for t in m.services[s].tasks]
            enq = np.array([t.enqueued for t in tasks])
            st = np.array([t.started for t in tasks])
            fin = np.array([t.finished for t in tasks])
            hours = np.array([t.hours for t in tasks])
            rem = np.array([t.remaining for t in tasks])
            started, finished = ~np.isnan(st), ~np.isnan(fin)
            assert not np.isnan(enq).any(), f"{group}: every task recorded was queued"
            assert not (finished & ~started).any(), f"{group}: a task finished without being started"
            assert (st[started] >= enq[started]).all() and (fin[finished] >= st[finished]).all(), group
            assert np.allclose(rem[finished], 0, atol=1e-8), f"{group}: finished tasks have no work left"
            assert np.array_equal(rem[~started], hours[~started]), (
                f"{group}: nobody worked on unstarted tasks"
            )
            in_progress = started & ~finished
            n_clin = sum(len(m.services[s].sessions) for s in group)
            assert in_progress.sum() <= n_clin, f"{group}: more tasks in hand than clinicians"
            busy = sum(m.services[s].busy_hours.sum() for s in group)
            done = hours[finished].sum() + (hours - rem)[in_progress].sum()
            assert busy == pytest.approx(done, rel=1e-9, abs=1e-6), (
                f"{which} rep {rep} {group}: busy hours {busy:.3f} vs work done on tasks {done:.3f}"
            )
            # and the same from the records alone (partial work is between 0 and the task's hours)
            t = {
                k: np.concatenate([rec["services"][s][k] for s in group])
                for k in ("task_hours", "task_finished", "task_started")
            }
            f_h = t["task_hours"][~np.isnan(t["task_finished"])].sum()
            p_h = t["task_hours"][~np.isnan(t["task_started"]) & np.isnan(t["task_finished"])].sum()
            assert f_h - 1e-6 <= busy <= f_h + p_h + 1e-6
        for s, r in rec["services"].items():
            assert (r["busy_hours_by_day"] <= r["available_hours_by_day"] + 1e-9).all(), (
                f"{which} {s}: a day busier than its sessions"
            )
        for kpi, s, v in kpis_from_records(rec, sc):
            if kpi == "utilisation" and not np.isnan(v):
                assert 0 <= v <= 1 + 1e-12, f"{which} {s}: utilisation {v}"


@pytest.mark.parametrize("which", ["short baseline", "busy tiny", "overloaded", "pooled", "pooled from May"])
def test_requests_are_neither_lost_nor_invented(short_baseline, which):
    sc = _scenarios(short_baseline)[which]
    m, rec = _run(sc)
    end = rec["end_day"]
    e = rec["ehc"]
    arr = e["arrival_day"]
    assert (arr < end).all()
    closed = ~np.isnan(e["closed_day"])
    assert (e["closed_day"][closed] >= arr[closed]).all()
    decided = ~np.isnan(e["decision_day"])
    assert (closed <= decided).all(), "nothing closes before its decision"
    # a closed request ended one of three ways
    refused = closed & (e["outcome"] != 0)
    planned = closed & ~np.isnan(e["final_day"])
    no_plan = closed & (e["outcome"] == 0) & ~e["plan"]
    assert (refused | planned | no_plan)[closed].all()
    for s, a in rec["advice"].items():
        asked = ~np.isnan(a["requested_day"])
        np.testing.assert_array_equal(
            asked,
            ~np.isnan(e["advice_requested_day"]) & (sample_demand(sc, SEED, 0).ehc.advice[s].requested),
            err_msg=s,
        )
        ret = ~np.isnan(a["returned_day"])
        assert (ret <= asked).all() and (a["returned_day"][ret] >= a["requested_day"][ret]).all()
    for s in rec["routine"]:
        arr_r = rec["routine_arrival"][s]
        seen = rec["routine"][s]["seen_day"]
        ok = ~np.isnan(seen)
        assert (seen[ok] >= np.maximum(arr_r[ok], 0)).all()
        routine_tasks = rec["services"][s]["task_kind"] == 0
        assert routine_tasks.sum() <= arr_r.size
        assert ok.sum() == (~np.isnan(rec["services"][s]["task_started"][routine_tasks])).sum(), (
            f"{s}: each child seen once, when their appointment starts"
        )
