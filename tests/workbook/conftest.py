"""Helpers for the workbook tests: write a template, edit cells by sheet, row name and column name."""

from pathlib import Path

import openpyxl
import pytest

from sendmodel.scenario.workbook import write_template

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def column(ws, name: str) -> int:
    for c in ws[1]:
        if c.value == name:
            return c.column
    raise KeyError(name)


def row_of(ws, key: str) -> int:
    """The row whose first cell is ``key`` (a service, a field of a key-value sheet)."""
    for r in ws.iter_rows(min_row=2):
        if r[0].value == key:
            return r[0].row
    raise KeyError(key)


def set_cell(ws, key: str, col: str, value) -> str:
    """Set a table cell (row named ``key``, column ``col``); return its reference, e.g. 'services!E7'."""
    r, c = row_of(ws, key), column(ws, col)
    ws.cell(row=r, column=c).value = value
    return f"{ws.title}!{openpyxl.utils.get_column_letter(c)}{r}"


def set_field(ws, field: str, value) -> str:
    """Set a key-value sheet's value (column B of the field's row); return its reference."""
    r = row_of(ws, field)
    ws.cell(row=r, column=2).value = value
    return f"{ws.title}!B{r}"


def delete_rows_of(ws, key: str) -> None:
    """Delete every row whose first cell is ``key`` (a service's rows on waiting_lists, say)."""
    rows = [r[0].row for r in ws.iter_rows(min_row=2) if r[0].value == key]
    for r in reversed(rows):
        ws.delete_rows(r)


@pytest.fixture(scope="session")
def template_xlsx(tmp_path_factory) -> Path:
    """The template written from the baseline (read-only: copy it with ``edit``)."""
    path = tmp_path_factory.mktemp("template") / "area.xlsx"
    write_template(BASELINE, path)
    return path


@pytest.fixture
def edit(template_xlsx, tmp_path):
    """``with edit() as wb:`` opens a copy of the template; on leaving, it is saved as tmp_path/area.xlsx."""
    from contextlib import contextmanager

    @contextmanager
    def _edit(name: str = "area.xlsx"):
        wb = openpyxl.load_workbook(template_xlsx)
        yield wb
        wb.save(tmp_path / name)

    _edit.path = tmp_path / "area.xlsx"
    return _edit
