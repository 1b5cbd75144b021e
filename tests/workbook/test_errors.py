"""Every bad cell is one clear error naming the sheet, cell and column and what is allowed: all at once."""

import re

import openpyxl
import pytest

from sendmodel.scenario.errors import ScenarioError
from sendmodel.scenario.workbook import WorkbookError, import_workbook, write_template
from tests.workbook.conftest import BASELINE, column, row_of, set_cell, set_field

REF = re.compile(r"^[a-z_]+(\.csv)?!([A-Z]+[0-9]+|[0-9]+:[0-9]+) \([^)]+\): ")


def _problems(path) -> list[str]:
    with pytest.raises(WorkbookError) as exc:
        import_workbook(path)
    return exc.value.problems


def test_ten_bad_cells_are_all_reported(edit):
    with edit() as wb:
        sv, area, demand = wb["services"], wb["area"], wb["demand"]
        want = {
            set_cell(sv, "slt", "pas_per_week", "lots"): "'lots' is not a number; PAs a week, 0 to 2,000",
            set_cell(sv, "ot", "kind", "hospital"): "'hospital' is not allowed; one of: health, education,",
            set_cell(sv, "physio", "p_known", 1.5): "1.5 is out of range; share of advice requests, 0 to 1",
            set_cell(sv, "camhs", "records_advice_hours_dist", "normal"): "'normal' is not allowed; one of: fixed,",
            set_cell(sv, "slt", "assessment_hours_low", 3): "not used by a lognormal distribution (which takes "
                                                            "_mean, _cv): leave it empty",
            set_cell(sv, "dmo", "ring_fence_release_unused", "maybe"): "'maybe' is not yes or no",
            set_field(area, "population", 12): "12 is out of range; children aged 0-17, 1,000 to 20,000,000",
            set_field(area, "start_date", "2024-02-30"): "'2024-02-30' is not a real date",
            set_field(demand, "la_service", "la_office"): "'la_office' is not on the services sheet",
            set_cell(wb["waiting_lists"], "ot", "youngest_weeks", -4): "-4 is out of range; weeks, 0 to 940",
        }
    problems = _problems(edit.path)
    assert len(problems) == 10, "\n".join(problems)
    for p in problems:
        assert REF.match(p), p
    for ref, text in want.items():
        hits = [p for p in problems if p.startswith(ref + " (")]
        assert len(hits) == 1 and text in hits[0], (ref, text, problems)
    assert problems[0].startswith("area!")  # in the order of the sheets, then rows


def test_schema_errors_come_back_to_their_cells(edit):
    """Values that pass the cell checks but not the schema: each service's, the pathway's, all at once."""
    with edit() as wb:
        sv = wb["services"]
        set_cell(sv, "community_paediatrics", "gbp_per_hour", 50)
        for c in ("records_advice_hours_dist", "records_advice_hours_mean", "records_advice_hours_cv"):
            set_cell(sv, "ot", c, None)
        set_cell(sv, "camhs", "commissioner", None)
        refs = {  # a message about the whole row goes to the first column it names
            set_cell(sv, "community_paediatrics", "gbp_per_pa", 560): "give gbp_per_pa or gbp_per_hour, not both",
            set_cell(sv, "slt", "ring_fenced_pas_per_week", 50): "cannot exceed pas_per_week",
            set_cell(sv, "physio", "rebook_delay_days_dist", "uniform"): "high (42.0) must be >= low (50.0)",
            set_cell(sv, "ot", "records_advice_hours_dist", None): "empty, but required; one of: fixed, exponential",
            set_cell(sv, "camhs", "commissioner", None): "a service with a unit cost needs its commissioner",
            set_field(wb["demand"], "request_outcomes_assessed", 0.5): "shares must sum to 1 (got 0.7907)",
        }
        set_cell(sv, "physio", "rebook_delay_days_low", 50)  # reported at the distribution's _dist cell
    problems = _problems(edit.path)
    assert len(problems) == len(refs), "\n".join(problems)
    for ref, text in refs.items():
        hits = [p for p in problems if p.startswith(ref + " (")]
        assert len(hits) == 1 and text in hits[0], (ref, text, problems)


def test_cross_references_are_checked_by_the_whole_scenario(edit):
    with edit() as wb:
        ref = set_field(wb["demand"], "la_service", "slt")
    (p,) = _problems(edit.path)
    assert p.startswith(f"{ref} (la_service): 'slt' is a service of kind health; LA SEND casework must be a service "
                        "of kind local_authority")


def test_pool_of_services_with_different_disciplines(edit):
    with edit() as wb:
        sv = wb["services"]
        sv.cell(row=row_of(sv, "ot"), column=column(sv, "discipline")).value = "fcfs"  # slt: ehc_first
        wb["pools"].append(["therapy", "Integrated therapy team", "slt, ot", "yes", 0.25])
    (p,) = _problems(edit.path)
    assert p.startswith("pools!C2 (services): pooled services share one queue, so they need the same discipline")


def test_structure_problems(edit):
    with edit() as wb:
        sv = wb["services"]
        sv.cell(row=1, column=column(sv, "pas_per_week")).value = "pas_per_wek"  # a typo in a heading
        sv.cell(row=row_of(sv, "ot"), column=1).value = "slt"  # a name twice
        sv.cell(row=row_of(sv, "camhs"), column=1).value = "Child mental health"  # not a name
        ws = wb["area"]
        ws.append(["colour", "blue"])  # an unknown field
        ws.append(["population", 5000])  # a field twice
    problems = _problems(edit.path)
    text = "\n".join(problems)
    assert "services!E1 (pas_per_wek): unknown column; the columns of this sheet are service, label" in text
    assert "(service): 'slt' is given twice (first in row 3)" in text
    assert "(service): 'Child mental health' is not a name; letters, digits and underscores" in text
    assert "(field): unknown field 'colour'" in text
    assert "(field): population is given twice (first in row 4)" in text


def test_an_uncalculated_formula_is_not_taken_as_empty(edit):
    with edit() as wb:
        ref = set_cell(wb["services"], "slt", "pas_per_week", "=10+4")
    (p,) = _problems(edit.path)
    assert p.startswith(f"{ref} (pas_per_week): a formula with no saved value")


def test_friendly_spellings_are_read(edit):
    """Percentages, thousands separators, pounds, UK dates, Yes/TRUE, capitals in choices."""
    with edit() as wb:
        sv = wb["services"]
        set_cell(sv, "slt", "p_known", "45%")
        set_cell(sv, "slt", "gbp_per_pa", "£1,250")
        set_cell(sv, "slt", "kind", "Health")
        set_cell(sv, "slt", "ring_fence_release_unused", True)
        wb["capacity_changes"].append(["slt", "01/04/2024", "2024-09-30", 2])
    s = import_workbook(edit.path).scenario.services["slt"]
    assert (s.advice.p_known, s.gbp_per_pa, s.kind, s.ring_fence_release_unused) == (0.45, 1250.0, "health", True)
    assert [(c.start.isoformat(), c.end.isoformat(), c.pas_per_week_delta) for c in s.capacity_changes] == [
        ("2024-04-01", "2024-09-30", 2.0)]


def test_csv_folder_errors_name_the_file(tmp_path):
    folder = tmp_path / "area"
    write_template(BASELINE, folder, csv=True)
    import csv

    path = folder / "services.csv"
    rows = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
    h = rows[0]
    rows[2][h.index("pas_per_week")] = "lots"
    rows[5][h.index("p_requested")] = "1.2"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    problems = _problems(folder)
    assert problems == [
        "services.csv!E3 (pas_per_week): 'lots' is not a number; PAs a week, 0 to 2,000",
        f"services.csv!{openpyxl.utils.get_column_letter(h.index('p_requested') + 1)}6 (p_requested): 1.2 is out "
        "of range; share of assessments, 0 to 1 (e.g. 0.25, or 25%)",
    ]


def test_what_cannot_be_read_at_all(tmp_path):
    (tmp_path / "x.xlsx").write_text("not a workbook")
    with pytest.raises(ScenarioError, match="not an Excel workbook"):
        import_workbook(tmp_path / "x.xlsx")
    with pytest.raises(ScenarioError, match="no such file or folder"):
        import_workbook(tmp_path / "missing.xlsx")
    (tmp_path / "a.csv").write_text("a,b\n")
    with pytest.raises(ScenarioError, match="give the folder that holds the CSV files"):
        import_workbook(tmp_path / "a.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorkbookError, match="no file area.csv in the folder"):
        import_workbook(tmp_path / "empty")
