"""The local baseline's fit of the plan stage: when the educational psychology delay cannot bring plans within
20 weeks to an LA's figure, a lag before drafting (a slower LA) or a drafting deadline (a quicker one) does, by
the same bisection on common random numbers, and a figure out of reach is said, not forced."""

from __future__ import annotations

import pytest

from sendmodel.analysis.experiment import run
from sendmodel.studies.area.local import QUICKER, SLOWER, _value, fit_step
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


def test_a_plan_stage_figure_just_out_of_reach_takes_the_nearer_end_and_says_so():
    """The drafting deadline exists only because an LA is quicker than its advice allows: left unset, the LA
    would stay at the pathway's figure, far off; the nearer end of its range is the best the model gives."""
    sc = tiny({"simulation.horizon_days": 500})
    fitted, change, message, side = fit_step(sc, QUICKER, 0.5, replications=2, seed=5, workers=1, near_end=100.0)
    assert list(change) == [QUICKER.path] and side == "" and "just out of reach" in message, message
    nearer = min((QUICKER.lo, QUICKER.hi),
                 key=lambda x: abs(_within_20w(sc.override({QUICKER.path: _value(sc, QUICKER, x)})) - 0.5))
    assert f"set to {nearer:g}" in message
    _, none, _, _ = fit_step(sc, QUICKER, 0.5, replications=2, seed=5, workers=1, near_end=0.01)
    assert none == {}, "beyond near_end it is left, as without it"


def test_la_side_services_keep_the_national_margin_against_chance(baseline):
    """Square-root staffing: the spare share of an LA-side service's PAs grows as 1 / sqrt(its work), so the
    national baseline keeps its 85% and an area with a quarter of its requests gets twice its spare share."""
    import math

    from sendmodel.studies.calibration.fit import (
        AREA_UTILISATION,
        LA_SIDE,
        LA_SIDE_UTILISATION,
        la_side_utilisation,
        stable_capacity,
    )

    n = baseline.ehc.requests_per_year_per_70k
    assert stable_capacity(baseline, reference=baseline) == stable_capacity(baseline)
    quarter = baseline.override({"ehc.requests_per_year_per_70k": n / 4})
    half_pop = baseline.override({"population": 35_000})
    for s in LA_SIDE:
        assert la_side_utilisation(baseline, s, reference=baseline) == pytest.approx(LA_SIDE_UTILISATION)
        assert 1 - la_side_utilisation(quarter, s, reference=baseline) == pytest.approx(2 * (1 - LA_SIDE_UTILISATION))
        assert 1 - la_side_utilisation(half_pop, s, reference=baseline) == pytest.approx(
            math.sqrt(2) * (1 - LA_SIDE_UTILISATION)), "half the children: the same work per child, half the work"
    tiny_la = baseline.override({"ehc.requests_per_year_per_70k": n / 100})
    assert la_side_utilisation(tiny_la, "la_casework", reference=baseline) == AREA_UTILISATION[0], "bounded"
    pas = stable_capacity(quarter, reference=baseline)["services.la_casework.pas_per_week"]
    assert pas == pytest.approx(stable_capacity(quarter)["services.la_casework.pas_per_week"] * 0.85 / 0.70, rel=1e-3)
