"""The caseload back-test: published plans in force and new plans read from data/, a start from January's
published caseload with the assessments open that day, and a projection within a few per cent of the next
January's published caseload."""

from __future__ import annotations

import pytest

import sendmodel
from sendmodel.studies.calibration.caseload import backtest_scenario, caseload_backtest, published_caseload
from sendmodel.studies.calibration.targets import per_70k
from tests.conftest import SCENARIOS


def test_published_series_read_from_the_data():
    p = published_caseload().set_index("year")
    assert p.loc[2019, "plans_january_after"] == 390_109  # January 2020, England
    assert p.loc[2024, "new_plans"] == 97_747
    assert p.loc[2024, "plans_january_after_per_70k"] == pytest.approx(638_745 * per_70k())


def test_the_run_starts_from_januarys_caseload_and_open_cases():
    sc = backtest_scenario(sendmodel.load_scenario(SCENARIOS / "baseline.yaml"), 2019, 2020)
    assert sc.simulation.start_date.isoformat() == "2019-01-01" and sc.simulation.warm_up_days == 0
    assert sc.ehc.reviews.enabled
    assert sc.ehc.reviews.plans_in_force_per_70k == pytest.approx(353_995 * per_70k(), abs=0.1)  # January 2019
    assert len(sc.ehc.open_case_list) > 100  # the assessment pipeline is full on day one


def test_next_january_projected_within_a_few_per_cent():
    t = caseload_backtest(sendmodel.load_scenario(SCENARIOS / "baseline.yaml"), replications=2, first=2019,
                          last=2021)
    assert list(t["january"]) == [2020, 2021]
    row = t.iloc[0]
    assert abs(row["plans_error_pct"]) < 6  # measured: -1.7% (4 replications)
    assert row["plans_ci_low"] <= row["plans_model"] <= row["plans_ci_high"]
