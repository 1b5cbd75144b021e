"""The whole DMO/DCO role: sign-off only for assessments going on to a plan (a switch), and a share of the
role's sessions for its other work, which lengthens sign-off while the PAs are still paid for."""

from __future__ import annotations

import numpy as np
import pytest

import sendmodel
from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.engine.model import DMO_REVIEW
from sendmodel.engine.sessions import build_sessions
from tests.functional.builders import fixed, kpi, records, tiny

EXC = {"ehc.p_exceptional_provision": 1.0, "ehc.p_plan_after_assessment": 0.5}


def test_signoff_only_for_plans():
    both, plans = records(tiny(EXC)), records(tiny({**EXC, "ehc.dmo_signoff_plans_only": True}))
    e = plans["ehc"]
    signed = ~np.isnan(e["dmo_requested_day"])
    assert signed.any() and np.all(e["plan"][signed])  # nobody without a plan is signed off
    n_both = (both["services"]["dmo"]["task_kind"] == DMO_REVIEW).sum()
    n_plans = (plans["services"]["dmo"]["task_kind"] == DMO_REVIEW).sum()
    assert 0.35 * n_both < n_plans < 0.65 * n_both  # about half the assessments end in a plan


def test_other_work_takes_sessions_and_lengthens_signoff():
    base = {**EXC, "services.dmo.pas_per_week": 1, "services.dmo.gbp_per_pa": 500,
            "services.dmo.commissioner": "nhs"}
    sc0, sc1 = tiny(base), tiny({**base, "ehc.dmo_other_work_share": 0.5})
    hours = lambda sc: sum(((s.end - s.start) * 24).sum() for s in build_sessions(sc, "dmo", 1, 0, 365.0))  # noqa
    assert abs(hours(sc1) - 0.5 * hours(sc0)) < 1e-6 * hours(sc0)
    r0, r1 = records(sc0), records(sc1)
    assert kpi(r1, sc1, "dmo_signoff_median_days") > kpi(r0, sc0, "dmo_signoff_median_days")
    cost = lambda r, sc: [v for k, s, v in kpis_from_records(r, sc) if k == "cost_total_gbp"][0]  # noqa: E731
    assert cost(r1, sc1) == cost(r0, sc0)  # the sessions are still paid for


ESC = {"ehc.escalation.enabled": True, "ehc.escalation.p_escalated": 0.2, "ehc.escalation.hours": fixed(2.0)}


def test_escalation_takes_dmo_time_after_the_advice_and_the_plan_waits_for_it():
    from sendmodel.engine.model import ESCALATION

    rec = records(tiny(ESC))
    a, e = rec["advice"]["therapy"], rec["ehc"]
    esc = ~np.isnan(a["escalated_day"])
    n_advice = (~np.isnan(a["returned_day"])).sum()
    assert 0.14 * n_advice < esc.sum() < 0.26 * n_advice  # about the share escalated
    assert np.all(a["escalated_day"][esc] >= a["returned_day"][esc])  # after the advice is back with the LA
    done = ~np.isnan(a["escalation_done_day"]) & ~np.isnan(e["draft_day"])
    assert done.any() and np.all(e["draft_day"][done] >= a["escalation_done_day"][done])  # the plan waited
    kinds = rec["services"]["dmo"]["task_kind"]
    assert (kinds == ESCALATION).sum() == esc.sum()
    assert kpi(rec, tiny(ESC), "dmo_escalations_per_year") > 0
    assert "escalated_day" not in records(tiny())["advice"]["therapy"]  # off: not modelled (goldens unchanged)


def test_escalation_competes_with_signoff_for_the_dmo():
    busy = {**EXC, "services.dmo.pas_per_week": 1, "ehc.dmo_review_hours": fixed(1.0),
            "ehc.dmo_admin_hours": fixed(0.0)}
    sc0, sc1 = tiny(busy), tiny({**busy, **ESC, "ehc.escalation.hours": fixed(4.0)})
    r0, r1 = records(sc0), records(sc1)
    assert kpi(r1, sc1, "dmo_signoff_median_days") > kpi(r0, sc0, "dmo_signoff_median_days")
    # its own stream: the advice draws are as they were
    np.testing.assert_array_equal(r0["advice"]["therapy"]["known"], r1["advice"]["therapy"]["known"])


def test_dmo_pas_come_out_of_the_service_they_are_taken_from_unless_backfilled():
    from sendmodel.analysis.costs import cost_lines

    base = {"services.dmo.pas_per_week": 2, "services.therapy.pas_per_week": 10, "services.dmo.gbp_per_pa": 500,
            "services.dmo.commissioner": "nhs", "services.therapy.gbp_per_pa": 260,
            "services.therapy.commissioner": "nhs", "ehc.dmo_from": "therapy"}
    filled, taken = tiny(base), tiny({**base, "ehc.dmo_backfilled": False})
    hours = lambda sc: sum(((s.end - s.start) * 24).sum() for s in build_sessions(sc, "therapy", 1, 0, 365.0))  # noqa
    # the therapy clinicians give up the DMO/DCO's 2 of their 10 PAs a week
    assert hours(taken) == pytest.approx(0.8 * hours(filled), rel=0.02)
    assert hours(filled) == pytest.approx(hours(tiny(base).override({"ehc.dmo_from": None})))
    r_filled, r_taken = records(filled), records(taken)
    assert kpi(r_taken, taken, "advice_turnaround_median_days") >= kpi(r_filled, filled,
                                                                        "advice_turnaround_median_days")
    # ... and cost nothing on top: they are PAs the service already pays for; backfilled, they cost their PAs
    dmo = {c: next(ln for ln in cost_lines(sc) if ln["line"] == "dmo")["gbp_per_year"] for c, sc in
           (("filled", filled), ("taken", taken))}
    assert dmo["taken"] == 0 and dmo["filled"] == pytest.approx(2 * 500 * 365 / 7, rel=0.01)


def test_dmo_from_must_be_a_health_service():
    with pytest.raises(sendmodel.ScenarioError, match="ehc.dmo_from"):
        tiny({"ehc.dmo_from": "la"})
