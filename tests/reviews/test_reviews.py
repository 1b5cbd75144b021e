"""Plans in force and annual reviews: off by default, their own random stream, Little's law on the caseload,
the 12-month cadence, competition for the same PAs, cessation by 26, and the published caseload."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sendmodel
from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.engine.demand import sample_demand, years_until_ceased
from sendmodel.engine.tasks import REVIEW, REVIEW_INPUT
from sendmodel.scenario import caseload
from sendmodel.scenario.config import MAX_PLAN_AGE, REVIEW_DUE_DAYS
from tests.functional.builders import fixed, kpi, records, tiny

ON = {"ehc.reviews.enabled": True, "ehc.reviews.plans_in_force_per_70k": 300,
      "ehc.reviews.caseload_ages": {"6": 1, "10": 1, "14": 1}, "ehc.reviews.la_hours": fixed(1.0),
      "ehc.reviews.health_input": {"therapy": 0.5}, "ehc.reviews.health_hours": fixed(1.5)}


def test_off_by_default_and_on_its_own_stream():
    off, on = tiny(), tiny(ON)
    assert "plans" not in records(off) and "reviews" not in records(off)
    d0, d1 = sample_demand(off, 3, 0), sample_demand(on, 3, 0)
    assert d0.plans is None and d1.plans is not None
    np.testing.assert_array_equal(d0.ehc.arrival_day, d1.ehc.arrival_day)
    np.testing.assert_array_equal(d0.ehc.draft_hours, d1.ehc.draft_hours)
    for s in d0.ehc.advice:
        np.testing.assert_array_equal(d0.ehc.advice[s].assessment_hours, d1.ehc.advice[s].assessment_hours)
    assert d1.plans.n_initial == 300


def test_reviews_every_12_months_while_the_plan_is_in_force():
    sc = tiny({**ON, "simulation.horizon_days": 3 * 365, "services.la.pas_per_week": 40,
               "services.therapy.pas_per_week": 40})
    rec = records(sc)
    p, r = rec["plans"], rec["reviews"]
    n0 = p["n_initial"]
    issued = ~np.isnan(rec["ehc"]["final_day"])
    np.testing.assert_allclose(p["start_day"][n0:][issued], rec["ehc"]["final_day"][issued])  # in force on issue
    assert np.all(np.isnan(p["start_day"][n0:][~issued]))
    for j in np.unique(r["plan"]):
        mine = r["plan"] == j
        due, done = r["due_day"][mine], r["completed_day"][mine]
        if j >= n0:
            assert due[0] == pytest.approx(p["start_day"][j] + REVIEW_DUE_DAYS)
        else:
            assert 0 <= due[0] < REVIEW_DUE_DAYS  # the plans held today: anniversaries over the coming year
        on_time = done[:-1] <= due[:-1]
        gaps = np.diff(due)
        np.testing.assert_allclose(gaps[on_time], REVIEW_DUE_DAYS)  # on time: a year after it was due
        assert np.all(gaps[~on_time] > REVIEW_DUE_DAYS)  # late: a year after it was done
        assert np.all(due - sc.ehc.reviews.lead_weeks * 7 < p["end_day"][j])  # none starts after the plan ends
    # ample capacity: almost every review is done by its due date (only those due in the first 8 weeks may not)
    assert kpi(rec, sc, "reviews_within_12m_pct") > 97


def test_reviews_compete_for_the_same_pas():
    """Reviews take LA casework and clinician time from the same sessions that serve the assessments."""
    base = {"services.la.pas_per_week": 4, "simulation.horizon_days": 730}
    off, on = records(tiny(base), seed=5), records(tiny({**base, **ON}), seed=5)
    sc_on = tiny({**base, **ON})
    assert kpi(on, sc_on, "decisions_within_6w_pct") < kpi(off, tiny(base), "decisions_within_6w_pct")
    assert kpi(on, sc_on, "reviews_within_12m_pct") < 90  # an LA short of time is late with reviews too
    th = on["services"]["therapy"]
    inputs = th["task_kind"] == REVIEW_INPUT
    assert inputs.sum() == on["reviews"]["n_input"].sum()  # one input task per service asked
    assert (on["services"]["la"]["task_kind"] == REVIEW).sum() >= np.isfinite(on["reviews"]["completed_day"]).sum()
    hours = dict(((k, s), v) for k, s, v in kpis_from_records(on, sc_on) if k == "review_hours_per_year")
    finished = inputs & (th["task_finished"] < on["end_day"])
    assert hours[("review_hours_per_year", "therapy")] == pytest.approx(
        1.5 * finished.sum() * 365.25 / on["end_day"])
    share = on["reviews"]["n_input"].mean()
    assert 0.4 < share < 0.6  # half the reviews ask the therapy service


def test_littles_law_on_the_plan_caseload():
    """In steady state, plans in force = plans issued a year x the mean years a plan is held. A constant
    hazard (90% of plans cease within a year, so the caseload settles within months) gives the theory
    mean 1/mu years."""
    h = 0.9
    mu = -math.log(1 - h)
    sc = tiny({**ON, "ehc.reviews.plans_in_force_per_70k": 0, "ehc.reviews.cessation_by_age": {"0": h},
               "ehc.reviews.health_input": {}, "simulation.horizon_days": 3 * 365,
               "services.la.pas_per_week": 40})
    in_force, rates, held = [], [], []
    for rep in range(6):
        rec = records(sc, seed=11, rep=rep)
        p, end = rec["plans"], rec["end_day"]
        t = np.arange(2 * 365.0, end, 7.0)  # the last year, weekly
        start, stop = p["start_day"], p["end_day"]
        n = [(np.nan_to_num(start, nan=np.inf) <= x).sum() - (stop <= x).sum() for x in t]
        in_force.append(np.mean(n))
        issued = (start >= 365) & (start < end)
        rates.append(issued.sum() / ((end - 365) / 365.25))
        held.append(np.mean(stop[~np.isnan(start)] - start[~np.isnan(start)]) / 365.25)
    lam, w = np.mean(rates), np.mean(held)
    assert w == pytest.approx(1 / mu, rel=0.05)
    assert np.mean(in_force) == pytest.approx(lam * w, rel=0.05)
    assert np.mean(in_force) == pytest.approx(lam / mu, rel=0.06)


def test_plans_cease_by_26_and_at_the_published_rates():
    rng = np.random.default_rng(0)
    ages = rng.uniform(0, 25.9, 20000)
    hazard = np.array([caseload.published_cessation_by_age().get(a, 0.02) for a in range(26)])
    years = years_until_ceased(ages, hazard, rng.exponential(1.0, ages.size))
    assert np.all(ages + years <= MAX_PLAN_AGE + 1e-9)
    at19 = (ages >= 19) & (ages < 19.01)  # a plan held at 19 ceases within a year with the published share
    young = years_until_ceased(np.full(20000, 19.0), hazard, rng.exponential(1.0, 20000))
    assert (young < 1).mean() == pytest.approx(hazard[19], abs=0.015)
    assert at19.any()
    assert 0.25 < hazard[19] < 0.4 and hazard[10] < 0.05  # most plans end at 18-25, few before 16


def test_published_caseload_read_from_the_data():
    by_age = caseload.published_caseload_by_age()
    assert sum(by_age.values()) == 638_745  # January 2025, England (DfE SEN2)
    assert 3500 < caseload.published_plans_per_70k() < 4000
    assert sum(caseload.published_new_plan_ages().values()) == 97_747  # new plans in 2024
    sc = tiny({"ehc.reviews.enabled": True})
    assert sample_demand(sc, 1, 0).plans.n_initial == round(caseload.published_plans_per_70k())


def test_caseload_grows_with_demand_and_is_reported_by_year():
    sc = tiny({**ON, "ehc.growth_per_year": 0.3, "simulation.horizon_days": 3 * 365,
               "services.la.pas_per_week": 40, "services.therapy.pas_per_week": 40})
    by = sendmodel.run(sc, 2, seed=2).by_year("calendar")
    f = by[by["kpi"] == "plans_in_force_end"].set_index("period")["mean"]
    assert list(f) == sorted(f) and f.iloc[-1] > f.iloc[0] * 1.3


@pytest.mark.parametrize("changes, field, words", [
    ({"ehc.reviews.health_input": {"la": 0.5}}, "ehc.reviews.health_input.la", "runs the review"),
    ({"ehc.reviews.health_input": {"nope": 0.5}}, "ehc.reviews.health_input.nope", "unknown service"),
    ({"ehc.reviews.caseload_ages": {"30": 1}}, "caseload_ages", "0 to 25"),
    ({"ehc.reviews.cessation_by_age": {"10": 1.5}}, "cessation_by_age", "less than or equal to 1"),
])
def test_bad_review_settings_are_clear_errors(changes, field, words):
    with pytest.raises(sendmodel.ScenarioError) as e:
        tiny({"ehc.reviews.enabled": True, **changes})
    assert field in str(e.value) and words in str(e.value)
