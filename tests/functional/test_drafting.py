"""Two LA-side mechanisms of the plan stage, used to fit a local baseline to its published timeliness: a lag
before drafting starts (every plan waits it, after the advice is in) and a drafting deadline (the LA drafts
with the advice it has at N weeks after the request; late advice is still written and counted). Off, neither
draws a random number, so results are as before."""

from __future__ import annotations

import numpy as np

from sendmodel.engine.demand import sample_demand
from tests.functional.builders import fixed, records, tiny

SLOW_ADVICE = {"services.therapy.advice.booking_lead_days": fixed(120), "services.therapy.advice.p_known": 0.0}


def _plans(rec):
    e = rec["ehc"]
    done = ~np.isnan(e["final_day"])
    return e, done


def test_off_changes_nothing():
    a, b = records(tiny()), records(tiny({"ehc.draft_lag_days": None, "ehc.draft_deadline_weeks": None}))
    assert all(np.array_equal(a["ehc"][k], b["ehc"][k], equal_nan=True) for k in a["ehc"])
    assert not sample_demand(tiny(), 1, 0).ehc.draft_lag_days.any()


def test_every_plan_waits_the_lag_after_its_advice_and_sign_off():
    base, lag = records(tiny()), records(tiny({"ehc.draft_lag_days": fixed(30)}))
    for rec, days in ((base, 0.0), (lag, 30.0)):
        e, done = _plans(rec)
        ready = np.fmax(e["advice_returned_day"], np.nan_to_num(e["dmo_signoff_day"], nan=-np.inf))[done]
        gap = e["draft_day"][done] - ready
        assert done.sum() > 100 and gap.min() >= days - 1e-9
        assert np.median(gap) < days + 5  # then the drafting itself, queued at once
    e0, d0 = _plans(base)
    e1, d1 = _plans(lag)
    weeks = [np.median((e["final_day"] - e["arrival_day"])[d]) for e, d in ((e0, d0), (e1, d1))]
    assert weeks[1] > weeks[0] + 25


def test_the_deadline_drafts_with_the_advice_in_hand_and_the_late_advice_still_comes():
    slow = records(tiny(SLOW_ADVICE))
    due = records(tiny({**SLOW_ADVICE, "ehc.draft_deadline_weeks": fixed(10)}))
    e0, d0 = _plans(slow)
    e1, d1 = _plans(due)
    wait0 = (e0["draft_day"] - e0["arrival_day"])[d0]
    wait1 = (e1["draft_day"] - e1["arrival_day"])[d1]
    assert wait0.min() > 120  # without a deadline the draft waits for the 120-day booking
    assert wait1.max() < 10 * 7 + 15 and np.median(wait1) >= 10 * 7 - 1e-9  # drafted at (just after) 10 weeks
    late = (e1["advice_returned_day"] - e1["arrival_day"])[d1]
    assert np.nanmin(late) > 120  # the advice is still written, after the plan's draft
    early = e1["arrival_day"][d1] < np.nanmax(e1["final_day"]) - 130  # their advice is due before the run ends
    assert early.sum() > 50 and np.isfinite(late[early]).all()
