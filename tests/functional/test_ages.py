"""Ages 0-25: each request's age from the published requests by age, adult services for young adults, the LA's
assessment rate by age, plans starting at the request's age, and KPIs broken down by age band."""

from __future__ import annotations

import numpy as np
import pytest

import sendmodel
from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.engine.demand import age_shares, sample_demand
from sendmodel.engine.replication import run_replication
from sendmodel.scenario import caseload
from tests.conftest import SCENARIOS

LONG = {"simulation.warm_up_days": 0, "simulation.horizon_days": 3650}  # ten years of requests: ~9,000


@pytest.fixture(scope="module")
def ages(baseline):
    return sendmodel.load_scenario(SCENARIOS / "ages_0_25.yaml")


def _published_share_18_plus() -> float:
    r = caseload.published_requests_by_age()
    return sum(v for a, v in r.items() if a >= 18) / sum(r.values())


def test_each_request_gets_an_age_drawn_as_published(baseline):
    sc = baseline.override({**LONG, "ehc.ages.enabled": True})
    age = sample_demand(sc, 3, 0).ehc.age
    assert age.min() >= 0 and age.max() <= 25
    shares, covered = age_shares(sc)
    assert covered == 1.0 and shares.sum() == pytest.approx(1.0)
    counts = np.bincount(age, minlength=26)
    expected = shares * age.size
    big = expected > 50  # the well-populated ages: each within 5 standard deviations of its binomial count
    sd = np.sqrt(expected * (1 - shares))
    assert (np.abs(counts - expected)[big] < 5 * sd[big]).all(), (counts, expected.round())
    assert (age >= 18).mean() == pytest.approx(_published_share_18_plus(), abs=0.004)


def test_ages_off_leave_every_draw_as_it_was_and_ages_on_keep_the_other_streams(baseline):
    sc = baseline.override({**LONG, "ehc.ages.enabled": False})
    off, on = sample_demand(sc, 3, 0), sample_demand(sc.override({"ehc.ages.enabled": True}), 3, 0)
    assert (off.ehc.age == -1).all()
    np.testing.assert_array_equal(off.ehc.arrival_day, on.ehc.arrival_day)  # the arrivals' stream untouched
    np.testing.assert_array_equal(off.ehc.draft_hours, on.ehc.draft_hours)
    for s, a in off.ehc.advice.items():
        np.testing.assert_array_equal(a.assessment_hours, on.ehc.advice[s].assessment_hours)
    rec = run_replication(sc.override({"simulation.warm_up_days": 30, "simulation.horizon_days": 60}), 1, 0)
    assert "age" not in rec["ehc"]  # the golden results cover the rest: ages off is today's model exactly


def test_children_only_leaves_out_the_published_share_of_young_adults(baseline):
    sc = baseline.override({**LONG, "ehc.ages.enabled": True})
    kids = sc.override({"ehc.ages.covers": "0-17"})
    n_all = np.mean([sample_demand(sc, 3, r).ehc.arrival_day.size for r in range(3)])
    n_kids = np.mean([sample_demand(kids, 3, r).ehc.arrival_day.size for r in range(3)])
    assert age_shares(kids)[1] == pytest.approx(1 - _published_share_18_plus())
    # 0-25 raises demand by the published share of requests aged 18-25, over children only
    assert n_all / n_kids == pytest.approx(1 / (1 - _published_share_18_plus()), abs=0.01)
    assert sample_demand(kids, 3, 0).ehc.age.max() <= 17


def test_the_las_chance_of_assessing_follows_age_and_keeps_the_total(baseline):
    sc = baseline.override({**LONG, "ehc.ages.enabled": True})
    d = sample_demand(sc, 3, 0).ehc
    assessed = d.outcome == 0
    p = sc.ehc.request_outcomes["assessed"]
    assert assessed.mean() == pytest.approx(p, abs=0.015)
    assert assessed[(d.age >= 3) & (d.age <= 5)].mean() > assessed[d.age >= 16].mean() + 0.15
    flat = sample_demand(sc.override({"ehc.ages.assess_by_age": False}), 3, 0).ehc
    young, old = flat.outcome[flat.age <= 5] == 0, flat.outcome[flat.age >= 16] == 0
    assert abs(young.mean() - old.mean()) < 0.1  # off: one chance at every age


def test_camhs_advises_children_and_the_adult_service_young_adults(ages):
    d = sample_demand(ages.override(LONG), 3, 0).ehc
    camhs, adult = d.advice["camhs"].requested, d.advice["adult_mental_health"].requested
    assert camhs.any() and adult.any()
    assert d.age[camhs].max() <= 17 and d.age[adult].min() >= 18
    assert not (camhs & adult).any()
    # the same share of each age group is asked as CAMHS asks of children
    assert adult.sum() / (d.age >= 18).sum() == pytest.approx(0.25, abs=0.08)


def test_advice_ages_need_ages_on_and_young_adults_need_0_25(baseline, ages):
    with pytest.raises(sendmodel.ScenarioError, match="services.camhs.advice.ages.*ehc.ages.enabled"):
        baseline.override({"ehc.ages.enabled": False, "services.camhs.advice.ages": [0, 17]})
    with pytest.raises(sendmodel.ScenarioError, match="adult_mental_health.advice.ages.*0-17"):
        ages.override({"ehc.ages.covers": "0-17"})
    with pytest.raises(sendmodel.ScenarioError, match="youngest <= oldest"):
        ages.override({"services.camhs.advice.ages": [17, 3]})


def test_plans_start_at_the_requests_age(ages):
    sc = ages.override({**LONG, "simulation.horizon_days": 730, "ehc.reviews.enabled": True})
    d = sample_demand(sc, 3, 0)
    n0 = d.plans.n_initial
    new_age, req_age = d.plans.age_years[n0:], d.ehc.age
    assert (new_age >= req_age).all() and (new_age < req_age + 1.5).all()
    assert new_age.max() < 26


def test_kpis_by_age_band_add_up_to_the_whole(ages):
    sc = ages.override({"simulation.warm_up_days": 365, "simulation.horizon_days": 365})
    rec = run_replication(sc, 4, 0)
    rows = kpis_from_records(rec, sc)
    by = {svc: v for k, svc, v in rows if k == "requests_by_age_per_year"}
    total = next(v for k, svc, v in rows if k == "requests_per_year" and svc == "all")
    assert list(by) == ["age 0-4", "age 5-10", "age 11-15", "age 16-19", "age 20-25"]
    e = rec["ehc"]
    made = (e["arrival_day"] >= 365) & (e["arrival_day"] < rec["end_day"])
    assert sum(by.values()) == pytest.approx(made.sum() * 365.25 / 365)
    assert total > 0
    plans = {svc: v for k, svc, v in rows if k == "plans_within_20w_by_age_pct"}
    assert all(0 <= v <= 100 for v in plans.values() if not np.isnan(v))


def test_the_published_20_week_shares_by_age_band_add_up_to_englands():
    """DfE SEN2 2024's 20-week timeliness by age, read by bands: the bands together are England's figure."""
    import csv

    from sendmodel.common.paths import data_file

    bands = caseload.published_20w_by_age_band()
    assert list(bands) == ["age 0-4", "age 5-10", "age 11-15", "age 16-19", "age 20-25"]
    assert bands["age 0-4"] == pytest.approx(50.1, abs=0.1) and bands["age 11-15"] == pytest.approx(41.3, abs=0.1)
    with open(data_file("sen2/timeliness_20_week_national.csv"), encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["time_period"] == "2024"]
    total = next(r for r in rows if r["breakdown_topic"] == "All EHC plans issued")
    by_age = [r for r in rows if r["breakdown_topic"] == "Child or young persons age"]
    den = {r["breakdown"]: float(r["plans_issued_den_ex"]) for r in by_age}
    weights = {"age 0-4": 0.0, "age 5-10": 0.0, "age 11-15": 0.0, "age 16-19": 0.0, "age 20-25": 0.0}
    for label, d in den.items():
        a = caseload._age(label)
        if a is not None:
            band = next(b for b in weights if int(b.split()[1].split("-")[0]) <= a <= int(b.split("-")[1]))
            weights[band] += d
    combined = sum(bands[b] * w for b, w in weights.items()) / sum(weights.values())
    england = 100.0 * float(total["plans_issued_20_weeks_ex"]) / float(total["plans_issued_den_ex"])
    assert combined == pytest.approx(england, abs=0.2)
