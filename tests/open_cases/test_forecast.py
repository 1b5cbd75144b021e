"""The breach forecast ranks sensibly and its probabilities are calibrated; the CLI writes the at-risk list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendmodel.analysis.forecast import _outcomes_one, breach_forecast, forecast
from sendmodel.cli.main import main
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def awaiting(baseline):
    """Cases awaiting advice, requested 6 to 19 weeks before the start: from plenty of clock left to nearly none."""
    return baseline.override({
        "simulation.warm_up_days": 0, "simulation.horizon_days": 240,
        "ehc.open_cases": [{"stage": "awaiting_advice", "weeks_since_request": [6, 19], "n_per_70k": 150}],
    })


def test_cases_with_more_of_their_clock_used_are_more_at_risk(awaiting):
    table = forecast(awaiting, replications=12, seed=7, workers=2)
    assert len(table) == 150
    rho = table["weeks_since_request"].corr(table["p_plan_late"], method="spearman")
    assert rho > 0.4, rho
    old = table[table["weeks_since_request"] > 16]["p_plan_late"].mean()
    young = table[table["weeks_since_request"] < 9]["p_plan_late"].mean()
    assert old > young + 0.15, (old, young)
    assert table["p_plan_late"].is_monotonic_decreasing  # most at risk first


def test_forecast_probabilities_are_calibrated(awaiting):
    """Of cases forecast at 60-90% risk, about as many breach in replications the forecast never saw."""
    seen = pd.concat([_outcomes_one((awaiting, 7, r)) for r in range(20)], ignore_index=True)
    table = breach_forecast(seen, awaiting).set_index("case_id")
    unseen = pd.concat([_outcomes_one((awaiting, 7, r)) for r in range(20, 40)], ignore_index=True)
    band = table[(table["p_plan_late"] >= 0.6) & (table["p_plan_late"] <= 0.9)]
    if len(band) < 5:
        pytest.skip(f"only {len(band)} cases forecast at 60-90%")
    real = unseen[unseen["case_id"].isin(band.index)]["plan_late"].mean()
    said = band["p_plan_late"].mean()
    se = np.sqrt(said * (1 - said) / (len(band) * 20))
    assert abs(real - said) < max(0.1, 4 * se), (said, real)


def test_the_cli_writes_the_at_risk_list(tmp_path, capsys):
    out = tmp_path / "at_risk"
    assert main(["forecast", str(SCENARIOS / "from_today.yaml"), "--reps", "3", "--top", "5",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "open cases on 2025-04-01" in printed and "P(plan late)" in printed
    table = pd.read_csv(out / "at_risk.csv")
    assert {"case_id", "p_plan_late", "p_any_advice_late", "finish_date"} <= set(table.columns)
    assert table["case_id"].str.startswith("EX").all()
    xl = pd.read_excel(out / "at_risk.xlsx", sheet_name=None)
    assert set(xl) == {"at risk", "about"} and len(xl["at risk"]) == len(table)


def test_the_cli_says_when_there_is_nothing_to_forecast(capsys):
    assert main(["forecast", str(SCENARIOS / "baseline.yaml"), "--reps", "2"]) == 2
    assert "no open cases to forecast" in capsys.readouterr().err
