"""The local baseline's fit of the plan stage: when the educational psychology delay cannot bring plans within
20 weeks to an LA's figure, a lag before drafting (a slower LA) or a drafting deadline (a quicker one) does, by
the same bisection on common random numbers, and a figure out of reach is said, not forced."""

from __future__ import annotations

import pytest

from sendmodel.analysis.experiment import run
from sendmodel.studies.area.local import QUICKER, SLOWER, fit_step
from tests.functional.builders import fixed, tiny

KPI = "plans_issued_within_20w_pct"
SLOW_ADVICE = {"services.therapy.advice.booking_lead_days": fixed(150), "services.therapy.advice.p_known": 0.0}


def _within_20w(sc) -> float:
    s = run(sc, 2, 5, keep_events=False).summary()
    return float(s[(s["kpi"] == KPI) & (s["service"] == "all")]["mean"].iloc[0])


@pytest.mark.parametrize("changes, step, target", [
    ({"simulation.horizon_days": 500}, SLOWER[0], 30.0),  # an LA slower than the pathway: a lag before drafting
    ({**SLOW_ADVICE, "simulation.horizon_days": 500}, QUICKER, 60.0),  # quicker than its advice: a deadline
])
def test_the_plan_stage_reaches_a_figure_the_ep_delay_cannot(changes, step, target):
    sc = tiny(changes)
    before = _within_20w(sc)
    assert (before > target + 20) if step is SLOWER[0] else (before < target - 20), before
    fitted, change, message, side = fit_step(sc, step, target, replications=2, seed=5, workers=1)
    assert message == "fitted" and side == "" and list(change) == [step.path]
    assert abs(_within_20w(fitted) - target) < 5  # the bisection's 7 halvings on the same replications


def test_a_figure_out_of_reach_is_said_and_nothing_changes():
    sc = tiny({"simulation.horizon_days": 500})
    fitted, change, message, side = fit_step(sc, QUICKER, 0.5, replications=2, seed=5, workers=1)
    assert change == {} and side == "above" and "not reachable" in message and fitted is sc
