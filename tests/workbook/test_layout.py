"""The workbook a commissioner opens: notes first, frozen headers, widths, drop-down lists, notes on every
column."""

import openpyxl

from sendmodel.scenario.workbook_layout import SHEETS


def test_sheets_and_their_columns(template_xlsx):
    wb = openpyxl.load_workbook(template_xlsx)
    assert wb.sheetnames == ["notes", "area", "demand", "ehc_times", "services", "waiting_lists",
                             "capacity_changes", "pools", "costs", "setup_costs", "recurring_costs", "sources"]
    sv = wb["services"]
    header = [c.value for c in sv[1]]
    assert header[:6] == ["service", "label", "kind", "commissioner", "pas_per_week", "capacity_basis"]
    for group in ("routine_appointment_hours", "records_advice_hours", "booking_lead_days"):
        assert [h for h in header if h.startswith(group)] == [f"{group}_{p}" for p in
                                                             ("dist", "mean", "cv", "low", "mode", "high")]
    assert [c.value for c in sv["A"]][1:] == ["community_paediatrics", "slt", "ot", "physio", "camhs",
                                              "educational_psychology", "social_care", "la_casework", "dmo",
                                              "dmo_admin", "spa"]
    assert [c.value for c in wb["waiting_lists"][1]] == ["service", "n_per_70k", "youngest_weeks", "oldest_weeks",
                                                          "notes"]
    assert [c.value for c in wb["capacity_changes"][1]] == ["service", "start", "end", "pas_per_week_delta", "notes"]
    assert [c.value for c in wb["sources"][1]] == ["field_path", "source"]
    assert [c.value for c in wb["recurring_costs"][1]] == ["item", "gbp_each", "per_year", "basis", "commissioner",
                                                            "notes"]
    assert [c.value for c in wb["area"]["A"]][:5] == ["field", "name", "description", "population", "start_date"]


def test_frozen_headers_widths_lists_and_notes(template_xlsx):
    wb = openpyxl.load_workbook(template_xlsx)
    sv = wb["services"]
    assert sv.freeze_panes == "B2" and wb["area"].freeze_panes == "B2" and wb["sources"].freeze_panes == "A2"
    assert sv.column_dimensions["A"].width == 24
    lists = {str(dv.sqref): dv.formula1 for dv in sv.data_validations.dataValidation}
    kind = next(f for r, f in lists.items() if r.startswith("C2:"))
    assert kind == '"health,education,social_care,local_authority,designated_officer,admin,triage"'
    who = '"nhs,la_education,la_social_care,joint,nhs_england,la_public_health,schools"'
    assert any(f == who for f in lists.values())
    assert any(f == '"fcfs,ehc_first,deadline"' for f in lists.values())
    wl = {str(dv.sqref): dv.formula1 for dv in wb["waiting_lists"].data_validations.dataValidation}
    assert wl["A2:A500"] == "=services!$A$2:$A$500"  # a service named on the services sheet
    note = sv["E1"].comment.text
    assert note.startswith("pas_per_week: PAs a week (1 PA = 4 hours)") and "Allowed: PAs a week, 0 to 2,000" in note


def test_notes_sheet_explains_every_column(template_xlsx):
    ws = openpyxl.load_workbook(template_xlsx)["notes"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    start = next(i for i, r in enumerate(rows) if r[:2] == ["sheet", "column"])
    table = rows[start + 1:]
    explained = {(r[0], name.strip()) for r in table if r[1] for name in str(r[1]).split(",")}
    for sheet in SHEETS:
        for col in sheet.cols:
            if col.group and sheet.name != "ehc_times":
                assert (sheet.name, f"{col.group}_dist") in explained, col.name
            elif not col.group:
                assert (sheet.name, col.name) in explained, (sheet.name, col.name)
    pas = next(r for r in table if r[:2] == ["services", "pas_per_week"])
    assert pas[2].startswith("PAs a week (1 PA = 4 hours)") and pas[3] == "PAs a week" and pas[4] == \
        "PAs a week, 0 to 2,000"
