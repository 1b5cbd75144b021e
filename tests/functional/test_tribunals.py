"""Appeals to the SEND Tribunal: a share of issued plans appealed (by default the published England rate), each
health service that gave advice responding within 5 weeks and, for a share, attending the hearing; their own
random stream, so switching them on changes no other draw."""

from __future__ import annotations

import numpy as np
import pytest

from sendmodel.engine.demand import sample_demand
from sendmodel.engine.model import HEARING, TRIBUNAL
from sendmodel.scenario.caseload import published_appeal_rate
from tests.functional.builders import fixed, kpi, records, tiny

ON = {"ehc.tribunals.enabled": True, "ehc.tribunals.p_appeal": 0.3, "ehc.tribunals.p_hearing": 0.5,
      "ehc.tribunals.registered_after_days": fixed(30), "services.therapy.pas_per_week": 20}


def test_published_appeal_rate():
    assert published_appeal_rate() == pytest.approx(22_276 / 689_739)  # England 2024
    d = sample_demand(tiny({"ehc.tribunals.enabled": True}), 1, 0).ehc
    assert 0.01 < d.appeal.mean() < 0.06


def test_appeals_ask_health_for_a_response_and_a_hearing():
    sc = tiny(ON)
    rec = records(sc)
    e, t = rec["ehc"], rec["tribunals"]
    appealed = ~np.isnan(t["registered_day"])
    assert 0.2 < appealed.sum() / np.sum(~np.isnan(e["final_day"])) < 0.4
    np.testing.assert_allclose(t["registered_day"][appealed], e["final_day"][appealed] + 30)
    th = rec["services"]["therapy"]
    assert (th["task_kind"] == TRIBUNAL).sum() == appealed.sum()  # every appeal asks the service (p_requested 1)
    assert 0.3 < (th["task_kind"] == HEARING).sum() / appealed.sum() < 0.7
    assert kpi(rec, sc, "tribunal_response_within_5w_pct", "therapy") > 90
    assert kpi(rec, sc, "tribunal_hours_per_year", "therapy") > 0
    slow = tiny({**ON, "services.therapy.pas_per_week": 2.5})
    assert kpi(records(slow), slow, "tribunal_response_within_5w_pct", "therapy") < kpi(
        rec, sc, "tribunal_response_within_5w_pct", "therapy")


def test_off_by_default_and_on_its_own_stream():
    off, on = records(tiny()), sample_demand(tiny(ON), 1, 0).ehc
    assert "tribunals" not in off
    base = sample_demand(tiny(), 1, 0).ehc
    np.testing.assert_array_equal(base.arrival_day, on.arrival_day)
    np.testing.assert_array_equal(base.draft_hours, on.draft_hours)
    assert not base.appeal.any()
