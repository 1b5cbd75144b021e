"""Annex A's decision process for a child a service does not know (NHS England quick guide): each branch by its
share, with its own clinician time; a declined request returns its written reply and is counted; asking the
LA for more information delays the assessment; switched off, every such request is assessed as before."""

from __future__ import annotations

import numpy as np
import pytest

from sendmodel.engine.demand import BRANCHES, MORE_INFORMATION, NOT_KNOWN_NO_NEED, PLAN_ACTION, REDIRECT
from sendmodel.engine.model import ANNEX_A_REPLY, ASSESSMENT
from tests.functional.builders import fixed, kpi, records, tiny

BASE = {"services.therapy.advice.p_known": 0.0, "services.therapy.advice.booking_lead_days": fixed(45),
        "services.therapy.pas_per_week": 20}
ANNEX = {**BASE, "services.therapy.advice.annex_a": {
    "p_more_information": 0.2, "more_information_days": fixed(10), "p_not_known_no_need": 0.2,
    "p_redirect": 0.1, "redirect_days": fixed(5), "p_plan_action": 0.1, "reply_hours": fixed(0.5)}}


def test_each_branch_by_its_share_with_its_own_time():
    sc = tiny(ANNEX)
    rec = records(sc)
    a = rec["advice"]["therapy"]
    asked = ~np.isnan(a["requested_day"]) & ~np.isnan(a["returned_day"])
    b, tt = a["branch"][asked], (a["returned_day"] - a["requested_day"])[asked]
    for code, share in ((MORE_INFORMATION, 0.2), (NOT_KNOWN_NO_NEED, 0.2), (REDIRECT, 0.1), (PLAN_ACTION, 0.1)):
        assert (b == code).mean() == pytest.approx(share, abs=0.06), BRANCHES[code]
    assert np.all(tt[b == MORE_INFORMATION] >= 55)  # 10 days for the LA, then the 45 days' booking
    assert np.median(tt[b == NOT_KNOWN_NO_NEED]) < 10  # a written reply, soon
    assert np.all(tt[b == REDIRECT] >= 5)
    th = rec["services"]["therapy"]
    n_reply = (th["task_kind"] == ANNEX_A_REPLY).sum()
    declined = np.isin(a["branch"], [NOT_KNOWN_NO_NEED, REDIRECT, PLAN_ACTION]) & ~np.isnan(a["requested_day"])
    answered = declined & ~np.isnan(a["returned_day"])
    assert answered.sum() <= n_reply <= declined.sum()  # one reply each (a few still in hand at the end)
    assert kpi(rec, sc, "annex_a_not_known_no_need_pct", "therapy") == pytest.approx(20, abs=6)


def test_fewer_assessments_and_faster_advice_than_assessing_every_request():
    full, annex = records(tiny(BASE)), records(tiny(ANNEX))
    n = lambda r: (r["services"]["therapy"]["task_kind"] == ASSESSMENT).sum()  # noqa: E731
    assert n(annex) < 0.75 * n(full)  # 40% of requests are answered without an assessment
    assert kpi(annex, tiny(ANNEX), "advice_within_6w_pct", "therapy") > kpi(full, tiny(BASE),
                                                                            "advice_within_6w_pct", "therapy")
    assert "branch" not in full["advice"]["therapy"]


def test_shares_over_one_are_a_clear_error():
    import sendmodel

    with pytest.raises(sendmodel.ScenarioError) as e:
        tiny({**BASE, "services.therapy.advice.annex_a": {"p_redirect": 0.7, "p_plan_action": 0.6}})
    assert "annex_a" in str(e.value) and "at most 1" in str(e.value)
