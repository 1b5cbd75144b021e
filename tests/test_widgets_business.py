"""The business case dashboard without a browser: set population and target in Python, check the output."""

from __future__ import annotations

import base64
import io
import re

import pytest

pytest.importorskip("ipywidgets")

import pandas as pd  # noqa: E402

from sendmodel.widgets import BusinessCaseDashboard  # noqa: E402
from tests.conftest import SCENARIOS  # noqa: E402


@pytest.fixture(scope="module")
def short_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("scenarios")
    (d / "short.yaml").write_text(
        f"extends: {SCENARIOS / 'baseline.yaml'}\nname: short\n"
        "simulation: {warm_up_days: 60, horizon_days: 120}\n"
    )
    return d


def _dash(short_dir):
    return BusinessCaseDashboard("short", scenarios_dir=short_dir, replications=2, workers=1, quick=False)


def test_bad_inputs_give_messages_and_run_nothing(short_dir):
    d = _dash(short_dir)
    assert d.population.value == 70000, "the population starts at the scenario's"
    for widget, value, words in [
        (d.population, 0, "Children aged 0-17: must be more than 0"),
        (d.advice_target, 150, "at most 100"),
        (d.dmo_target, -1, "more than 0 working days"),
        (d.service_advice, 0, "advice target: a percentage above 0"),
    ]:
        old = widget.value
        widget.value = value
        assert d.build() is False
        assert words in d.message.value and "sm-error" in d.message.value, d.message.value
        widget.value = old
    d.advice_on.value = d.dmo_on.value = d.service_on.value = False
    assert d.build() is False and "Tick at least one target" in d.message.value
    assert d.runner.runs_started == 0 and d.case is None


def test_a_file_that_cannot_be_used_gives_a_message(short_dir, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: broken\npopulation: -1\n")
    d = BusinessCaseDashboard(broken, scenarios_dir=short_dir, replications=2, workers=1, quick=False)
    assert d.picker.value == "broken" and {v for _, v in d.picker.options} == {"short", "broken"}, d.picker.options
    assert d.build() is False
    assert "Cannot use this scenario file" in d.message.value and "population" in d.message.value, d.message.value
    assert "Traceback" not in d.message.value and d.runner.runs_started == 0


def test_population_and_target_give_pas_costs_and_a_workbook(short_dir):
    d = _dash(short_dir)
    d.population.value = 140000
    d.advice_on.value = d.service_on.value = False  # the DMO/DCO target alone keeps this test to a few runs
    d.dmo_target.value = 10
    assert d.targets() == ["dmo:dmo_signoff_median_working_days<=10"]
    assert d.build()
    assert d.wait(900), "the business case did not finish"
    assert d.message.value == "", d.message.value
    assert d.case is not None and d.case.scenario.population == 140000
    text = re.sub("<[^>]+>", " ", d.summary.value)
    assert "BACD/BACCH recommendation" in text and "4.0" in text, (
        "2 PAs per 70,000 children is 4 PAs a week for 140,000: " + text[:400]
    )
    assert "Needed (model)" in text and "Funded today" in text
    assert "Total" in d.cost.value and "NHS (ICB/CCG)" in d.cost.value
    assert d.plot_pas.value[:4] == b"\x89PNG" and d.plot_cost.value[:4] == b"\x89PNG"
    assert d.status.value.startswith("Done in"), d.status.value
    m = re.search(r'download="business_case.xlsx" href="data:[^;]+;base64,([^"]+)"', d.downloads.value)
    assert m, "no workbook download link"
    sheets = pd.read_excel(io.BytesIO(base64.b64decode(m.group(1))), sheet_name=None)
    assert {"summary", "targets", "cost by commissioner"} <= set(sheets), sorted(sheets)
    needed = sheets["targets"].iloc[0]["PAs a week needed"]
    assert needed == d.case.targets.iloc[0]["pas_per_week_needed"], (
        "the workbook should hold the shown answer"
    )


def test_per_service_advice_and_routine_targets_as_the_command_line_takes_them(short_dir):
    d = _dash(short_dir)
    sc = d._read("short")
    d.service_advice.value = 75
    got = d.targets(sc)
    assert "slt:advice_within_6w_pct@slt>=75" in got and "slt:routine_wait_median_weeks@slt<=today" in got, got
    d.routine.value = "18w"
    assert "ot:routine_wait_median_weeks@ot<=18" in d.targets(sc)
    d.routine.value = "none"
    assert not any("routine" in t for t in d.targets(sc))
    d.service_on.value = False
    assert not any("@slt" in t for t in d.targets(sc))
