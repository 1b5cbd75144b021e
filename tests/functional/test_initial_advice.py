"""Initial advice for a child not known, a fuller assessment to follow (NHS England quick guide, 6.2.2): the
advice returns after the initial contact, not the booked assessment; the plan goes ahead on it; the fuller
assessment follows on its own due date with its own KPI; no clinician time is added."""

from __future__ import annotations

import numpy as np

from sendmodel.engine.model import ASSESSMENT, INITIAL_ADVICE
from tests.functional.builders import fixed, kpi, records, tiny

BASE = {"services.therapy.advice.p_known": 0.0, "services.therapy.advice.booking_lead_days": fixed(60),
        "services.therapy.pas_per_week": 20}
INITIAL = {**BASE, "services.therapy.advice.initial_advice": {"hours": fixed(1.0), "fuller_due_weeks": 13}}


def test_advice_returns_after_the_initial_contact_and_the_assessment_follows():
    full, init = records(tiny(BASE)), records(tiny(INITIAL))
    tt_full = full["advice"]["therapy"]["returned_day"] - full["advice"]["therapy"]["requested_day"]
    a = init["advice"]["therapy"]
    tt_init = a["returned_day"] - a["requested_day"]
    assert np.nanmin(tt_full) >= 60  # the booking notice runs past the 6 weeks
    assert np.nanmedian(tt_init) < 14  # initial advice well within the 6 weeks
    later = a["fuller_done_day"] - a["requested_day"]
    done = ~np.isnan(a["fuller_done_day"])
    assert done.sum() > 100 and np.all(later[done] >= 60)  # the fuller assessment still takes its notice
    assert np.all(a["fuller_done_day"][done] >= a["returned_day"][done])
    e = init["ehc"]
    plan = ~np.isnan(e["final_day"]) & done
    assert np.any(e["final_day"][plan] < a["fuller_done_day"][plan])  # the plan did not wait for it
    assert "fuller_done_day" not in full["advice"]["therapy"]


def test_no_clinician_time_is_added():
    """Each child not known: 3 hours of assessment in full, or 1 hour's initial contact plus 2 hours later."""
    full, init = records(tiny(BASE)), records(tiny(INITIAL))
    hours = lambda r, k: r["services"]["therapy"]["task_hours"][r["services"]["therapy"]["task_kind"] == k]  # noqa
    assert hours(init, INITIAL_ADVICE).size > 100
    np.testing.assert_allclose(hours(full, ASSESSMENT), 3.0)
    np.testing.assert_allclose(hours(init, INITIAL_ADVICE), 1.0)
    np.testing.assert_allclose(hours(init, ASSESSMENT), 2.0)


def test_fuller_assessment_kpis():
    sc = tiny(INITIAL)
    rec = records(sc)
    assert kpi(rec, sc, "advice_within_6w_pct", "therapy") > 95
    assert kpi(rec, sc, "fuller_assessment_within_due_pct", "therapy") > 90  # 60 days' notice < 13 weeks
    assert 60 <= kpi(rec, sc, "fuller_assessment_median_days", "therapy") < 91
    tight = tiny({**INITIAL, "services.therapy.advice.initial_advice.fuller_due_weeks": 6})
    rec = records(tight)
    assert kpi(rec, tight, "fuller_assessment_within_due_pct", "therapy") < 5  # 60 days' notice > 6 weeks
