"""A template written from a scenario imports back to the same scenario: same fields, same results."""

from pathlib import Path

import pandas as pd
import pytest

import sendmodel
from sendmodel.scenario.workbook import import_workbook, write_template
from tests.workbook.conftest import BASELINE, ROOT


def _fields(sc) -> dict:
    d = sc.model_dump()
    d.pop("sources")
    return d


def _imported_file(tmp_path: Path, workbook: Path) -> sendmodel.Scenario:
    """Import the workbook, write the scenario file and load that file, as a user would."""
    out = tmp_path / "imported.yaml"
    import_workbook(workbook).write(out)
    return sendmodel.load_scenario(out)


@pytest.fixture(scope="module")
def baseline():
    return sendmodel.load_scenario(BASELINE)


@pytest.fixture(scope="module")
def baseline_kpis(baseline):
    return sendmodel.run(baseline, replications=2, seed=1, keep_events=False).kpis


@pytest.mark.parametrize("csv", [False, True], ids=["xlsx", "csv"])
def test_baseline_round_trip_same_fields_and_results(baseline, baseline_kpis, tmp_path, csv):
    workbook = tmp_path / ("area" if csv else "area.xlsx")
    write_template(BASELINE, workbook, csv=csv)
    again = _imported_file(tmp_path, workbook)
    assert _fields(again) == _fields(baseline)  # name included: the area sheet keeps it
    assert "\nextends:" not in (tmp_path / "imported.yaml").read_text()
    a = baseline_kpis
    b = sendmodel.run(again, replications=2, seed=1, keep_events=False).kpis
    pd.testing.assert_frame_equal(a.drop(columns="scenario"), b.drop(columns="scenario"))


OTHERS = sorted((ROOT / "scenarios" / "options").glob("*.yaml")) + sorted(
    (ROOT / "scenarios" / "validation").glob("*.yaml"))


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_scenario_file_round_trips(path, tmp_path):
    """Options (pools, triage, ring fences, dated changes, set-up costs) and the validation cases (no leave,
    always_open, fixed and exponential times) too."""
    sc = sendmodel.load_scenario(path)
    write_template(sc, tmp_path / "w.xlsx", written_from=path)
    assert _fields(import_workbook(tmp_path / "w.xlsx").scenario) == _fields(sc)


def test_csv_round_trip_of_an_option_with_pools_and_setup_costs(tmp_path):
    path = ROOT / "scenarios" / "options" / "pooled_therapy.yaml"
    sc = sendmodel.load_scenario(path)
    write_template(sc, tmp_path / "pooled", csv=True, written_from=path)
    assert sorted(p.name for p in (tmp_path / "pooled").iterdir()) == sorted(
        f"{n}.csv" for n in ("notes", "area", "demand", "ehc_times", "services", "waiting_lists",
                             "capacity_changes", "pools", "costs", "setup_costs", "recurring_costs", "sources"))
    again = import_workbook(tmp_path / "pooled").scenario
    assert _fields(again) == _fields(sc)
    assert again.pools["therapy"].services == ["slt", "ot", "physio"]


@pytest.mark.parametrize("csv", [False, True], ids=["xlsx", "csv"])
def test_recurring_non_pay_costs_round_trip(tmp_path, baseline, csv):
    lines = [{"item": "powered wheelchairs", "gbp_each": 3500, "per_year": 6, "basis": "per_70k",
              "commissioner": "nhs"},
             {"item": "personal health budgets", "gbp_each": 12000, "per_year": 2, "commissioner": "joint"}]
    sc = baseline.override({"costs.recurring": lines})
    path = tmp_path / ("area" if csv else "area.xlsx")
    write_template(sc, path, csv=csv)
    again = import_workbook(path).scenario
    assert [r.model_dump() for r in again.costs.recurring] == [r.model_dump() for r in sc.costs.recurring]
    assert _fields(again) == _fields(sc)


def test_sources_kept_and_the_rest_marked_local_data(baseline, template_xlsx):
    imp = import_workbook(template_xlsx)
    src = imp.scenario.sources
    for pattern, text in baseline.sources.items():  # every source of the baseline is kept as it was
        assert src[pattern] == text
    assert imp.sources.changed == []
    from sendmodel.scenario.loading import source_for

    assert source_for(imp.scenario, "services.slt.pas_per_week") == baseline.sources["services.slt.pas_per_week"]
    assert source_for(imp.scenario, "services.slt.kind") == "local data: area.xlsx, services"
    assert source_for(imp.scenario, "services.physio.backlog") == "local data: area.xlsx, waiting_lists"
    assert source_for(imp.scenario, "ehc.decision_hours") == "local data: area.xlsx, ehc_times"
    assert source_for(imp.scenario, "simulation.horizon_days") == "local data: area.xlsx, area"
    # (ehc holds pathway settings taken from the baseline, so its local fields are listed one by one)
    assert len(src) < len(baseline.sources) + 60, "local data is written a service (or section) at a time"
