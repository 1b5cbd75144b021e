"""`sendmodel calibrate`: the table, the plots and the back-test files (on a short run)."""

import pandas as pd
import pytest

from sendmodel.cli.main import main
from sendmodel.common.manifest import write_manifest
from sendmodel.studies.calibration.fit import (
    DECISION_KNOBS,
    Knob,
    knob_changes,
    knob_values,
    routine_referral_rates,
)
from tests.conftest import SCENARIOS


@pytest.fixture
def short_file(tmp_path):
    f = tmp_path / "short.yaml"
    f.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nsimulation: {{warm_up_days: 60}}\n")
    return f


def test_calibrate_writes_the_comparison_and_backtest(short_file, tmp_path, capsys):
    out = tmp_path / "cal"
    assert main(["calibrate", str(short_file), "--reps", "2", "--out", str(out), "--backtest",
                 "--backtest-reps", "1"]) == 0
    text = capsys.readouterr().out
    assert "within tolerance" in text and "Plans issued in the year within 20 weeks" in text, text
    t = pd.read_csv(out / "calibration_2024.csv")
    for col in ("kpi", "target", "tolerance", "model_mean", "ci_low", "ci_high", "within_tolerance", "role"):
        assert col in t.columns, f"missing column {col}"
    assert t.loc[t["kpi"] == "plans_issued_within_20w_pct", "target"].round(1).item() == 46.4
    for png in ("calibration_2024.png", "issue_time_2024.png", "waiting_lists_2024.png", "backtest.png"):
        assert (out / png).stat().st_size > 10_000, f"{png} missing or empty"
    head = pd.read_csv(out / "backtest_headline.csv")
    assert list(head["year"]) == [2019, 2021, 2023, 2024, 2025]
    assert head["within_20w_pct_published"].round(1).tolist() == [60.4, 59.9, 50.3, 46.4, 46.1]
    assert head["within_20w_pct_model"].between(0, 100).all()
    bt = pd.read_csv(out / "backtest.csv")
    req = bt[(bt["kpi"] == "requests_per_year") & (bt["variant"] == "capacity_2024")].set_index("year")
    assert req.loc[2019, "model_mean"] < req.loc[2025, "model_mean"], "each year runs with its own demand"


def test_another_year_is_compared_with_that_years_figures(short_file, tmp_path):
    out = tmp_path / "y"
    assert main(["calibrate", str(short_file), "--year", "2023", "--reps", "1", "--out", str(out),
                 "--no-plots"]) == 0
    t = pd.read_csv(out / "calibration_2023.csv")
    assert t.loc[t["kpi"] == "plans_issued_within_20w_pct", "target"].round(1).item() == 50.3
    assert set(t["role"]) <= {"input", "predicted", "check"}, "2023 is a back-test, not fitted"
    assert "routine_waiting_mean" not in set(t["kpi"]), "the NHS list snapshots are 2024 targets only"


def test_routine_referrals_follow_littles_law_on_the_published_lists():
    r = routine_referral_rates()
    assert r["services.community_paediatrics.routine_referrals_per_week_per_70k"] == pytest.approx(1008.9 / 33, 0.01)
    assert r["services.slt.routine_referrals_per_week_per_70k"] == pytest.approx(0.6325 * 412.5 / 18, 0.01)


def test_knobs_round_trip_through_scenario_overrides(baseline):
    x = knob_values(DECISION_KNOBS, baseline)
    sc = baseline.override(knob_changes(DECISION_KNOBS, x * 1.1))
    assert knob_values(DECISION_KNOBS, sc) == pytest.approx(x * 1.1, rel=1e-3)
    assert sc.ehc.decision_lag_days.dist == "lognormal"
    k = Knob("services.slt.pas_per_week", 1, 100)
    assert knob_changes([k], [12.3456]) == {"services.slt.pas_per_week": 12.346}


@pytest.mark.parametrize("year", [2015, 2030])
def test_a_year_without_published_figures_is_a_clear_error_and_writes_nothing(year, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["calibrate", "--year", str(year), "--reps", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--year {year}" in err and "allowed: 2016-2025" in err, err
    assert not out.exists(), "a refused run must not create its output folder"


def test_a_missing_scenario_file_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["calibrate", str(tmp_path / "nope.yaml"), "--reps", "1", "--out", str(out)]) == 2
    assert "nope.yaml" in capsys.readouterr().err
    assert not out.exists()


def test_a_run_that_fails_leaves_the_earlier_results_as_they_were(short_file, tmp_path, monkeypatch):
    out = tmp_path / "cal"
    out.mkdir()
    (out / "calibration_2024.csv").write_text("the last good table\n")
    write_manifest(out, "calibration")  # an earlier sendmodel output, which a new run may replace

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure part-way")

    monkeypatch.setattr("sendmodel.studies.calibration.compare.compare", broken)
    assert main(["calibrate", str(short_file), "--reps", "1", "--out", str(out), "--no-plots"]) == 1  # internal
    assert (out / "calibration_2024.csv").read_text() == "the last good table\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".cal")] == [], "half-written folder left"
