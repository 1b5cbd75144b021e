"""Pre-sampled demand: Poisson arrivals with the school-year profile, attribute shares, backlog, and CRN."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import numpy as np
import pytest

from sendmodel.engine.demand import daily_rate_profile, sample_demand
from tests.functional.builders import expo, tiny

AUG = 7  # month index (Jan = 0)


def _month_of(sc, days: np.ndarray) -> np.ndarray:
    start = sc.simulation.start_date
    return np.array([(start + dt.timedelta(days=int(d))).month - 1 for d in days])


def _assert_demand_equal(d1, d2, what: str):
    for part in ("ehc",):
        a, b = getattr(d1, part), getattr(d2, part)
        for f in fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(x, dict):
                assert x.keys() == y.keys()
                for s in x:
                    for g in fields(x[s]):
                        np.testing.assert_array_equal(
                            getattr(x[s], g.name),
                            getattr(y[s], g.name),
                            err_msg=f"{what}: ehc.advice[{s}].{g.name} differs",
                        )
            else:
                np.testing.assert_array_equal(x, y, err_msg=f"{what}: ehc.{f.name} differs")
    assert d1.routine.keys() == d2.routine.keys()
    for s in d1.routine:
        for g in fields(d1.routine[s]):
            np.testing.assert_array_equal(
                getattr(d1.routine[s], g.name),
                getattr(d2.routine[s], g.name),
                err_msg=f"{what}: routine[{s}].{g.name} differs",
            )


def test_request_count_is_poisson_with_the_annual_rate():
    sc = tiny({"ehc.requests_per_year_per_70k": 2000, "simulation.horizon_days": 365.25})
    counts = np.array([sample_demand(sc, 5, r).ehc.arrival_day.size for r in range(30)])
    assert abs(counts.mean() - 2000) < 3 * np.sqrt(2000 / 30), f"mean count {counts.mean()} vs 2000"
    assert 0.5 * 2000 < counts.var() < 1.6 * 2000, f"count variance {counts.var():.0f}: Poisson has 2000"
    d = sample_demand(sc, 5, 0).ehc.arrival_day
    assert (np.diff(d) >= 0).all() and d.min() >= 0 and d.max() < 365.25


def test_population_scales_demand():
    small = tiny({"ehc.requests_per_year_per_70k": 1000})
    big = small.override({"population": 140000})
    n_small = np.mean([sample_demand(small, 1, r).ehc.arrival_day.size for r in range(5)])
    n_big = np.mean([sample_demand(big, 1, r).ehc.arrival_day.size for r in range(5)])
    assert n_big / n_small == pytest.approx(2.0, rel=0.05), (n_small, n_big)


def test_monthly_profile_gives_few_requests_in_august():
    profile = [1.2] * 7 + [0.3] + [1.0] * 4
    sc = tiny(
        {
            "ehc.requests_per_year_per_70k": 3000,
            "ehc.monthly_profile": profile,
            "simulation.horizon_days": 366,
        }
    )  # 2024: Jan 1 .. Dec 31
    counts = np.zeros(12)
    for r in range(4):
        counts += np.bincount(_month_of(sc, sample_demand(sc, 9, r).ehc.arrival_day), minlength=12)
    days = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    expected = 4 * 3000 / 365.25 * np.asarray(profile) / np.mean(profile) * days
    z = (counts - expected) / np.sqrt(expected)
    assert np.abs(z).max() < 4, f"monthly counts {counts} vs expected {expected.round()}"
    assert counts[AUG] < 0.35 * counts[AUG - 1], f"August {counts[AUG]} vs July {counts[AUG - 1]}"


def test_a_zero_month_has_no_requests():
    profile = [1.0] * 12
    profile[AUG] = 0.0
    sc = tiny({"ehc.requests_per_year_per_70k": 3000, "ehc.monthly_profile": profile})
    months = _month_of(sc, sample_demand(sc, 2, 0).ehc.arrival_day)
    assert (months == AUG).sum() == 0 and (months == AUG - 1).sum() > 100


def test_daily_rate_profile_integrates_to_the_annual_rate():
    sc = tiny({"ehc.monthly_profile": [2.0] * 6 + [1.0] * 6, "simulation.start_date": "2023-01-01"})
    rate = daily_rate_profile(sc, 365, 900.0)
    # weights normalised to mean 1 across months, so a whole year gives ~900 (months differ in length)
    assert rate.sum() == pytest.approx(900 * 365 / 365.25, rel=0.01)
    assert rate[0] == pytest.approx(2 * rate[-1])


def test_attribute_shares():
    sc = tiny(
        {
            "ehc.requests_per_year_per_70k": 20000,
            "ehc.request_outcomes": {"assessed": 0.6, "refused": 0.3, "withdrawn": 0.1},
            "ehc.p_exceptional_provision": 0.2,
            "ehc.p_plan_after_assessment": 0.9,
            "services.therapy.advice.p_requested": 0.4,
            "services.therapy.advice.p_known": 0.7,
            "services.therapy.advice.p_misrouted": 0.15,
        }
    )
    e = sample_demand(sc, 3, 0).ehc
    n = e.arrival_day.size
    tol = 4 / np.sqrt(n)
    for code, p in ((0, 0.6), (1, 0.3), (2, 0.1)):
        assert abs((e.outcome == code).mean() - p) < tol, (
            f"outcome {code}: {(e.outcome == code).mean()} vs {p}"
        )
    assert abs(e.exceptional.mean() - 0.2) < tol and abs(e.plan.mean() - 0.9) < tol
    a = e.advice["therapy"]
    assert abs(a.requested.mean() - 0.4) < tol and abs(a.known.mean() - 0.7) < tol
    assert abs(a.misrouted.mean() - 0.15) < tol
    assert (a.assessment_hours == 3.0).all() and (a.misroute_delay_days == 10.0).all()


def test_routine_referrals_and_backlog():
    sc = tiny(
        {
            "services.therapy.routine_referrals_per_week_per_70k": 70,
            "services.therapy.routine_appointment_hours": expo(2.0),
            "services.therapy.backlog": [
                {"n_per_70k": 40, "age_weeks": [0, 10]},
                {"n_per_70k": 60, "age_weeks": [52, 104]},
            ],
        }
    )
    r = sample_demand(sc, 4, 0).routine["therapy"]
    assert r.n_backlog == 100
    back = r.arrival_day[:100]
    assert (back <= 0).all() and (np.diff(back) >= 0).all(), "backlog first, oldest first"
    ages_w = -back / 7
    assert ((ages_w >= 0) & (ages_w <= 10)).sum() == 40 and ((ages_w >= 52) & (ages_w <= 104)).sum() == 60
    new = r.arrival_day[100:]
    assert (new >= 0).all() and abs(new.size - 3650) < 4 * np.sqrt(3650), f"{new.size} new referrals vs ~3650"
    assert r.appointment_hours.mean() == pytest.approx(2.0, rel=0.1)


def test_crn_demand_identical_when_only_capacity_differs():
    sc = tiny(
        {
            "services.therapy.routine_referrals_per_week_per_70k": 20,
            "services.therapy.routine_appointment_hours": expo(2.0),
            "services.therapy.p_missed_appointment": 0.1,
            "services.therapy.rebook_delay_days": {"dist": "uniform", "low": 7, "high": 21},
            "services.therapy.backlog": [{"n_per_70k": 30, "age_weeks": [0, 20]}],
        }
    )
    more = sc.override(
        {
            "services.therapy.pas_per_week": 30,
            "services.therapy.ring_fenced_pas_per_week": 4,
            "services.dmo.pas_per_week": 8,
            "services.therapy.discipline": "ehc_first",
            "ehc.admin_support": True,
        }
    )
    for rep in (0, 3):
        _assert_demand_equal(sample_demand(sc, 21, rep), sample_demand(more, 21, rep), f"rep {rep}")


def test_crn_request_k_keeps_its_attributes_when_demand_rises():
    """A 10% demand rise moves arrivals smoothly; request k keeps its outcome, services and task times."""
    sc = tiny(
        {
            "ehc.requests_per_year_per_70k": 500,
            "services.therapy.advice.p_known": 0.4,
            "services.therapy.advice.assessment_hours": expo(3.0),
        }
    )
    up = sc.override({"ehc.requests_per_year_per_70k": 550})
    a, b = sample_demand(sc, 8, 0).ehc, sample_demand(up, 8, 0).ehc
    k = min(a.arrival_day.size, b.arrival_day.size)
    assert b.arrival_day.size > a.arrival_day.size
    np.testing.assert_allclose(
        b.arrival_day[:k],
        a.arrival_day[:k] * 500 / 550,
        rtol=1e-9,
        err_msg="with a flat profile, arrival k moves by the rate ratio",
    )
    np.testing.assert_array_equal(a.outcome[:k], b.outcome[:k])
    np.testing.assert_array_equal(a.advice["therapy"].known[:k], b.advice["therapy"].known[:k])
    np.testing.assert_array_equal(
        a.advice["therapy"].assessment_hours[:k], b.advice["therapy"].assessment_hours[:k]
    )


def test_different_replications_differ():
    sc = tiny()
    a, b = sample_demand(sc, 1, 0).ehc.arrival_day, sample_demand(sc, 1, 1).ehc.arrival_day
    assert a.size != b.size or not np.array_equal(a, b)
