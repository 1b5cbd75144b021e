"""Children's continuing care (CDC DMO/DCO handbook, section 9): a share of the children the LA decides to
assess referred then, decided by a health service within 28 days, reviewed 3 months after the decision; on a
stream of its own; a service of the wrong kind is a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import sendmodel
from sendmodel.engine.demand import sample_demand
from sendmodel.engine.model import CC_ASSESSMENT, CC_REVIEW
from tests.functional.builders import fixed, kpi, records, tiny

ON = {"ehc.continuing_care.enabled": True, "ehc.continuing_care.p_referral": 0.3,
      "ehc.continuing_care.service": "therapy", "ehc.continuing_care.assessment_hours": fixed(4.0),
      "services.therapy.pas_per_week": 20}


def test_referred_decided_and_reviewed():
    sc = tiny(ON)
    rec = records(sc)
    cc, e = rec["continuing_care"], rec["ehc"]
    ref = ~np.isnan(cc["referred_day"])
    assert 0.2 < ref.sum() / np.sum(~np.isnan(e["decision_day"])) < 0.4
    np.testing.assert_allclose(cc["referred_day"][ref], e["decision_day"][ref])  # at the decision to assess
    rev = ~np.isnan(cc["reviewed_day"])
    assert rev.any() and np.all(cc["reviewed_day"][rev] - cc["decided_day"][rev] >= 91)
    th = rec["services"]["therapy"]["task_kind"]
    assert (th == CC_ASSESSMENT).sum() == ref.sum() and (th == CC_REVIEW).sum() >= rev.sum()
    assert kpi(rec, sc, "cc_decisions_within_28d_pct") > 95
    slow = tiny({**ON, "services.therapy.pas_per_week": 2.2})
    assert kpi(records(slow), slow, "cc_decisions_within_28d_pct") < kpi(rec, sc, "cc_decisions_within_28d_pct")


def test_off_by_default_and_on_its_own_stream():
    assert "continuing_care" not in records(tiny())
    a, b = sample_demand(tiny(), 1, 0).ehc, sample_demand(tiny(ON), 1, 0).ehc
    np.testing.assert_array_equal(a.arrival_day, b.arrival_day)
    np.testing.assert_array_equal(a.decision_lag_days, b.decision_lag_days)


def test_the_service_must_be_a_health_service():
    with pytest.raises(sendmodel.ScenarioError) as e:
        tiny({**ON, "ehc.continuing_care.service": "la"})
    assert "ehc.continuing_care.service" in str(e.value) and "health" in str(e.value)
