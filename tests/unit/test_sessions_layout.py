"""A service's PAs laid out as clinicians' weekly sessions: shared evenly by the fewest clinicians of at most 10
PAs, so no clinician holds only a sliver of a session (who would carry a 4-hour assessment over weeks)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

import sendmodel
from sendmodel.engine.sessions import weekly_layout
from sendmodel.scenario.config import HOURS_PER_PA
from tests.conftest import SCENARIOS


@pytest.mark.parametrize("pas", [0.3, 1.0, 5.48, 9.73, 10.0, 10.73, 20.0, 27.29, 30.29, 31.05, 99.6])
def test_pas_are_shared_evenly_by_the_fewest_clinicians(pas):
    hours: dict[int, float] = defaultdict(float)
    per_slot = []
    for slot in weekly_layout(pas, 0.0):
        per_slot.append([j for j, _, _ in slot])
        for j, h, _ in slot:
            hours[j] += h
    n = math.ceil(pas / 10 - 1e-9)
    assert sorted(hours) == list(range(n))
    assert sum(hours.values()) == pytest.approx(pas * HOURS_PER_PA)
    assert all(h == pytest.approx(pas * HOURS_PER_PA / n) for h in hours.values())
    assert all(h <= 10 * HOURS_PER_PA + 1e-9 for h in hours.values())
    assert all(len(js) == len(set(js)) for js in per_slot), "a clinician in one slot twice"


def test_ring_fenced_sessions_are_whole_and_counted():
    layout = weekly_layout(27.29, 3.0)
    rf = [(j, h) for slot in layout for j, h, r in slot if r]
    assert len(rf) == 3 and all(h == HOURS_PER_PA for _, h in rf)


def test_more_pas_do_not_slow_ehc_first_advice():
    """With one clinician of 0.29 PA a week (the old layout at 30.29 PAs), CAMHS's not-known assessments
    started in that sliver took weeks, and 3 more PAs lowered its advice within 6 weeks by 2.0 [1.5, 2.6]."""
    sc = sendmodel.load_scenario(SCENARIOS / "baseline.yaml")
    more = sc.override({"services.camhs.capacity_changes": [{"start": "2023-07-01", "pas_per_week_delta": 3}]})
    t = sendmodel.compare({"base": sc, "more": more}, baseline="base", replications=6, seed=2024)
    r = t[(t["option"] == "more") & (t["kpi"] == "advice_within_6w_pct") & (t["service"] == "camhs")].iloc[0]
    assert r["diff"] > -1.0 and r["diff_ci_high"] > 0, (r["diff"], r["diff_ci_low"], r["diff_ci_high"])
    assert np.isfinite(r["diff"])
