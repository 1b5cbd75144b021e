"""The LA's decision not to issue a plan waits for a panel after the advice (ehc.not_to_issue_lag_days)."""

from __future__ import annotations

import numpy as np

import sendmodel
from tests.conftest import SCENARIOS

SHORT = {"simulation.warm_up_days": 0, "simulation.horizon_days": 400}


def _no_plan_wait(sc) -> np.ndarray:
    rec = sendmodel.run_replication(sc, 3, 0)
    e = rec["ehc"]
    done = ~e["plan"] & ~np.isnan(e["closed_day"]) & ~np.isnan(e["advice_returned_day"])
    return e["closed_day"][done] - e["advice_returned_day"][done]


def test_a_decision_not_to_issue_waits_for_its_lag_and_only_that():
    base = sendmodel.load_scenario(SCENARIOS / "baseline.yaml").override(SHORT)
    at_once = _no_plan_wait(base.override({"ehc.not_to_issue_lag_days": None}))
    fixed = _no_plan_wait(base.override({"ehc.not_to_issue_lag_days": {"dist": "fixed", "value": 21}}))
    assert at_once.size > 20 and fixed.size > 20
    np.testing.assert_allclose(at_once, 0.0, atol=1e-9)  # no DMO/DCO sign-off for a no-plan case (plans only)
    np.testing.assert_allclose(fixed, 21.0, atol=1e-9)
    k = sendmodel.run(base.override({"ehc.not_to_issue_lag_days": {"dist": "fixed", "value": 60}}), 2, 4,
                      keep_events=False).summary()
    k0 = sendmodel.run(base.override({"ehc.not_to_issue_lag_days": None}), 2, 4, keep_events=False).summary()
    pick = lambda s: s[(s.kpi == "not_to_issue_within_16w_pct") & (s.service == "all")]["mean"].iloc[0]  # noqa: E731
    assert pick(k) < pick(k0)
