"""A service added or removed by adding or deleting a row: the scenario runs, and the KPIs show it."""

import pytest

import sendmodel
from sendmodel.scenario.loading import source_for
from sendmodel.scenario.workbook import WorkbookError, import_workbook
from tests.workbook.conftest import delete_rows_of, row_of, set_cell, set_field


def _short_run(wb) -> None:
    """A short run keeps the tests quick (the round-trip test runs the full baseline)."""
    set_field(wb["area"], "warm_up_days", 60)
    set_field(wb["area"], "horizon_days", 120)


def _kpi_services(sc) -> set[str]:
    return set(sendmodel.run(sc, replications=1, seed=1, keep_events=False).kpis["service"])


def test_added_service_runs_and_gives_advice(edit):
    with edit() as wb:
        _short_run(wb)
        ws = wb["services"]
        src = [c.value for c in ws[row_of(ws, "physio")]]  # copy a similar service's row, then change it
        ws.append(src)
        new = ws.max_row
        ws.cell(row=new, column=1).value = "dietetics"
        set_cell(ws, "dietetics", "label", "Dietetics")
        set_cell(ws, "dietetics", "kind", "health")
        set_cell(ws, "dietetics", "pas_per_week", 3)
        set_cell(ws, "dietetics", "p_requested", 0.10)
        set_cell(ws, "dietetics", "routine_referrals_per_week_per_70k", 0)
        wb["waiting_lists"].append(["dietetics", 20, 0, 18])
    imp = import_workbook(edit.path)
    sc = imp.scenario
    assert list(sc.services)[-1] == "dietetics"
    d = sc.services["dietetics"]
    assert (d.kind, d.pas_per_week, d.advice.p_requested, d.backlog[0].n_per_70k) == ("health", 3.0, 0.1, 20.0)
    assert "dietetics" in sc.advice_services()
    assert source_for(sc, "services.dietetics.pas_per_week") == "local data: area.xlsx, services"
    assert source_for(sc, "services.dietetics.backlog") == "local data: area.xlsx, waiting_lists"
    kpis = sendmodel.run(sc, replications=1, seed=1, keep_events=False).kpis
    mine = kpis[kpis["service"] == "dietetics"]
    assert not mine.empty
    assert "advice_within_6w_pct" in set(mine["kpi"])


def test_deleted_service_runs_and_is_gone(edit):
    with edit() as wb:
        _short_run(wb)
        wb["services"].delete_rows(row_of(wb["services"], "physio"))
        delete_rows_of(wb["waiting_lists"], "physio")
    imp = import_workbook(edit.path)
    sc = imp.scenario
    assert "physio" not in sc.services
    assert not any("physio" in k for k in sc.sources)  # its sources are left out, and said so
    assert any("services.physio.pas_per_week" in n for n in imp.notes)
    services = _kpi_services(sc)
    assert "physio" not in services
    assert {"slt", "ot", "community_paediatrics"} <= services


def test_deleted_service_still_named_elsewhere_is_a_clear_error(edit):
    with edit() as wb:
        wb["services"].delete_rows(row_of(wb["services"], "physio"))
        wl = wb["waiting_lists"]
        ref = f"waiting_lists!A{row_of(wl, 'physio')}"
        set_field(wb["demand"], "dmo_service", "physio")
    with pytest.raises(WorkbookError) as exc:
        import_workbook(edit.path)
    problems = exc.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(f"demand!B{row_of(wb['demand'], 'dmo_service')} (dmo_service): 'physio' is not "
                                  "on the services sheet")
    assert problems[1].startswith(f"{ref} (service): 'physio' is not on the services sheet")
    assert "slt" in problems[1]  # says which services there are


def test_deleting_the_dmo_service_names_the_reference(edit):
    with edit() as wb:
        wb["services"].delete_rows(row_of(wb["services"], "dmo"))
    with pytest.raises(WorkbookError) as exc:
        import_workbook(edit.path)
    (p,) = exc.value.problems
    assert p.startswith("demand!B") and "(dmo_service): 'dmo' is not on the services sheet" in p


def test_a_pool_naming_a_deleted_service_is_a_clear_error(edit):
    with edit() as wb:
        wb["pools"].append(["therapy", "Integrated therapy team", "slt, ot, physio", "yes", 0.25])
        wb["services"].delete_rows(row_of(wb["services"], "physio"))
        delete_rows_of(wb["waiting_lists"], "physio")
    with pytest.raises(WorkbookError) as exc:
        import_workbook(edit.path)
    assert exc.value.problems == [
        "pools!C2 (services): 'physio' not on the services sheet; services separated by commas named in the first "
        "column of the services sheet (community_paediatrics, slt, ot, camhs, educational_psychology, social_care, "
        "la_casework, dmo, dmo_admin, spa)"]


def test_a_changed_value_is_sourced_local_data(edit):
    """The sources sheet still says where the baseline's value came from; the value is the commissioner's."""
    with edit() as wb:
        set_cell(wb["services"], "slt", "pas_per_week", 20)
        set_cell(wb["services"], "ot", "pas_per_week", 12)
        ws = wb["sources"]
        ws.cell(row=row_of(ws, "services.ot.pas_per_week"), column=2).value = "OT provider contract 2025/26"
    imp = import_workbook(edit.path)
    sc = imp.scenario
    assert imp.sources.changed == ["services.slt.pas_per_week"]
    assert source_for(sc, "services.slt.pas_per_week") == "local data: area.xlsx, services"
    assert source_for(sc, "services.ot.pas_per_week") == "OT provider contract 2025/26"  # a new source: kept
    assert source_for(sc, "services.camhs.pas_per_week").startswith("calibrated to SEN2 2024")  # unchanged
