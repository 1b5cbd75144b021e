"""Targets read from the DfE SEN2, ONS and NHS files equal the published figures (data/figures.md)."""

from pathlib import Path

import pytest

import sendmodel.studies.calibration.targets as T
from sendmodel.studies.calibration.compare import p_plan_for, request_outcomes_for, year_overrides

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _t(year):
    df = T.targets(year)
    return {(k, s): v for k, s, v in zip(df["kpi"], df["service"], df["target"])}


def test_ons_denominator_is_children_0_17():
    assert T.children_0_17() == 11_998_646, "ONS mid-2023 England 0-17 should be 11,998,646 (data/figures.md s.3.1)"
    assert T.per_70k() == pytest.approx(0.005834, abs=1e-6)


@pytest.mark.parametrize(
    "kpi, expected, places",
    [
        ("requests_per_year", 901, 0),  # data/figures.md 7.2: 901 requests a year per 70,000 in 2024
        ("requests_refused_pct", 25.2, 1),
        ("requests_assessed_pct", 65.4, 1),
        ("requests_undecided_pct", 7.8, 1),
        ("decisions_made_within_6w_pct", 84.8, 1),
        ("assessments_plan_pct", 93.6, 1),
        ("not_to_issue_within_16w_pct", 34.1, 1),
        ("plans_issued_within_20w_pct", 46.4, 1),  # the headline: excluding exceptions
        ("plans_issued_20_to_52w_pct", 46.2, 1),  # timeliness_20_week.csv PC_plans_issued_gt20weeks_ltYear_ex
        ("plans_issued_over_52w_pct", 7.3, 1),
        ("plan_weeks_mean", 23.7, 1),  # excluding exceptions (25.5 including)
    ],
)
def test_2024_ehc_targets_equal_published_figures(kpi, expected, places):
    got = _t(2024)[(kpi, "all")]
    assert round(got, places) == expected, f"{kpi} 2024: expected {expected} (data/figures.md), read {got:.4f}"


def test_2024_routine_targets_scale_the_nhs_lists_to_70000():
    t = _t(2024)
    assert t[("routine_waiting_mean", "community_paediatrics")] == pytest.approx(1000, rel=0.02), \
        "community paediatrics: ~1,000 waiting per 70,000 (data/figures.md s.5)"
    assert t[("routine_wait_mean_weeks", "community_paediatrics")] == 33
    assert t[("routine_waiting_mean", "slt")] == pytest.approx(410, rel=0.02), "SLT: ~410 waiting per 70,000"
    assert round(t[("routine_waiting_within_18w_pct", "slt")]) == 63, "SLT: 63% waiting 18 weeks or less"


@pytest.mark.parametrize("year, within20, mean_weeks, requests", [
    (2019, 60.4, None, 480), (2021, 59.9, None, 544), (2023, 50.3, 23.1, 807), (2025, 46.1, 24.0, 949)])
def test_backtest_years_equal_published_figures(year, within20, mean_weeks, requests):
    t = _t(year)
    assert round(t[("plans_issued_within_20w_pct", "all")], 1) == within20
    assert round(t[("requests_per_year", "all")]) == pytest.approx(requests, abs=1)
    if mean_weeks is None:
        assert ("plan_weeks_mean", "all") not in t, f"no mean weeks to issue is published for {year}"
    else:
        assert t[("plan_weeks_mean", "all")] == mean_weeks


def test_every_target_has_a_tolerance_role_and_source():
    df = T.targets(2024)
    assert df["tolerance"].gt(0).all() and df["source"].notna().all()
    assert set(df["role"]) <= {"input", "fitted", "check"}
    assert set(T.targets(2023)["role"]) <= {"input", "predicted", "check"}, "other years are predictions"


def test_unknown_year_says_which_years_exist():
    with pytest.raises(KeyError, match="years available"):
        T.published(1999)


def test_year_demand_reproduces_the_baseline_inputs(baseline):
    o = year_overrides(2024)
    assert o["ehc.requests_per_year_per_70k"] == pytest.approx(baseline.ehc.requests_per_year_per_70k, abs=0.5)
    for k, v in request_outcomes_for(2024).items():
        assert v == pytest.approx(baseline.ehc.request_outcomes[k], abs=2e-4), k
    assert p_plan_for(2024) == pytest.approx(baseline.ehc.p_plan_after_assessment, abs=1e-3)
    # other years: more refusals -> a larger refused share of decided requests
    assert request_outcomes_for(2025)["refused"] > request_outcomes_for(2024)["refused"]
    assert sum(request_outcomes_for(2019).values()) == pytest.approx(1.0, abs=1e-3)


def test_missing_data_folder_says_where_to_look(tmp_path, monkeypatch):
    monkeypatch.setenv("SENDMODEL_DATA", str(tmp_path))
    T.children_0_17.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="data/README.md"):
            T.children_0_17()
    finally:
        monkeypatch.delenv("SENDMODEL_DATA")
        T.children_0_17.cache_clear()


@pytest.mark.skipif(not SHARED.exists(), reason="the shared data folder is not next to this clone")
def test_extracts_are_the_national_rows_of_the_shared_files():
    import csv

    pairs = [("requests.csv", "requests_national.csv"), ("assessments.csv", "assessments_national.csv"),
             ("timeliness_20_week.csv", "timeliness_20_week_national.csv")]
    src_dir = SHARED / "sen2_ehcp" / "release_2025_reporting_year" / "data"
    for src, dst in pairs:
        with open(src_dir / src, encoding="utf-8-sig") as f:
            want = [r for r in csv.reader(f) if r[2] in ("geographic_level", "National")]
        with open(T.data_dir() / "sen2" / dst, encoding="utf-8-sig") as f:
            got = list(csv.reader(f))
        assert got == want, f"data/sen2/{dst} differs from the national rows of {src}; run data/extract.py"
