"""Reading and writing the cells of a scenario workbook: an Excel file (openpyxl) or a folder of CSV files, one
per sheet, with the same columns.

Reading gives each sheet as a :class:`Grid` (row 1 the header), with the values as typed: numbers, text, dates
and true/false from Excel, text from CSV. A formula Excel never calculated (a file written by a program, not
saved by Excel) is :data:`NO_VALUE`, so the reader can say so rather than take it as empty. Anything that
cannot be read at all (not a workbook, too big) is one :class:`ScenarioError` naming the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sendmodel.scenario.errors import ScenarioError
from sendmodel.scenario.workbook_layout import (
    BY_NAME,
    CHOICE,
    DATE,
    DIST,
    NOTES,
    SERVICE,
    YESNO,
    Sheet,
)

MAX_XLSX_BYTES = 20 * 1024 * 1024  # a filled-in template is about 30 kB
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000  # rows a sheet (a scenario has tens)
MAX_COLS = 500
SERVICE_ROWS = 500  # rows of the services sheet a drop-down list of service names covers


class _NoValue:
    def __repr__(self) -> str:
        return "<formula with no saved value>"


NO_VALUE = _NoValue()


@dataclass
class Grid:
    """One sheet's cells: ``rows[0]`` is row 1 (the header); ``label`` names the sheet in messages
    (``services`` in a workbook, ``services.csv`` in a folder)."""

    name: str
    label: str
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class OutSheet:
    """A sheet to write: its rows (the header first) and, for a sheet of the layout, its spec."""

    name: str
    rows: list[list[Any]]
    spec: Sheet | None = None
    comments: dict[int, str] = field(default_factory=dict)  # column (0-based) -> the header's note


def _trim(row: list[Any]) -> list[Any]:
    out = list(row)
    while out and (out[-1] is None or (isinstance(out[-1], str) and not out[-1].strip())):
        out.pop()
    return out


def _too_big(file: str, what: str) -> ScenarioError:
    return ScenarioError(file, "", f"{what}: refused (a scenario workbook has tens of rows)")


# --- reading -------------------------------------------------------------------------------------------------


def read_xlsx(path: Path, shown: str) -> dict[str, Grid]:
    """Every sheet of an Excel workbook (.xlsx) as a :class:`Grid`."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError(shown, "", f"cannot read the workbook: {exc.strerror or exc}") from None
    if size > MAX_XLSX_BYTES:
        raise _too_big(shown, f"the workbook is {size / 1e6:.0f} MB, more than {MAX_XLSX_BYTES // 2**20} MB")
    from openpyxl import load_workbook

    try:
        values = load_workbook(path, read_only=True, data_only=True)
        formulas = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        what = "not an Excel workbook (.xlsx)" if isinstance(exc, (zipfile.BadZipFile, KeyError)) else str(exc)
        raise ScenarioError(shown, "", f"cannot read the workbook: {what}; save it from Excel as .xlsx") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise ScenarioError(shown, "", f"cannot read the workbook ({type(exc).__name__}: {exc}); save it "
                            "from Excel as .xlsx") from None
    try:
        out: dict[str, Grid] = {}
        for ws in values.worksheets:
            if not hasattr(ws, "iter_rows"):  # a chart sheet
                continue
            fws = formulas[ws.title]
            for sheet in (ws, fws):  # read every row, whatever size the file says the sheet is
                if hasattr(sheet, "reset_dimensions"):
                    sheet.reset_dimensions()
            rows: list[list[Any]] = []
            for i, (vrow, frow) in enumerate(zip(ws.iter_rows(values_only=True), fws.iter_rows(values_only=True))):
                row = _trim([NO_VALUE if v is None and isinstance(f, str) and f.startswith("=") else v
                             for v, f in zip(vrow, frow)])
                if i >= MAX_ROWS and row:
                    raise _too_big(shown, f"sheet {ws.title!r} has more than {MAX_ROWS:,} rows")
                if len(row) > MAX_COLS:
                    raise _too_big(shown, f"sheet {ws.title!r} has more than {MAX_COLS} columns")
                rows.append(row)
            while rows and not rows[-1]:
                rows.pop()
            out[ws.title.strip()] = Grid(ws.title.strip(), ws.title.strip(), rows)
        return out
    finally:
        values.close()
        formulas.close()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Excel's "CSV (Comma delimited)" on Windows


def read_csv_folder(path: Path, shown: str) -> dict[str, Grid]:
    """The CSV files of a folder, one a sheet (``services.csv`` is the services sheet)."""
    out: dict[str, Grid] = {}
    try:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    except OSError as exc:
        raise ScenarioError(shown, "", f"cannot read the folder: {exc.strerror or exc}") from None
    for f in files:
        name = f.stem.strip()
        if name not in BY_NAME:
            continue
        size = f.stat().st_size
        if size > MAX_CSV_BYTES:
            raise _too_big(os.path.join(shown, f.name), f"the file is {size / 1e6:.0f} MB, more than "
                           f"{MAX_CSV_BYTES // 2**20} MB")
        try:
            text = _decode(f.read_bytes())
        except OSError as exc:
            raise ScenarioError(os.path.join(shown, f.name), "", f"cannot read: {exc.strerror or exc}") from None
        rows: list[list[Any]] = []
        try:
            for i, row in enumerate(csv.reader(io.StringIO(text, newline=""))):
                row = _trim([c if c.strip() else None for c in row])
                if i >= MAX_ROWS and row:
                    raise _too_big(os.path.join(shown, f.name), f"more than {MAX_ROWS:,} rows")
                if len(row) > MAX_COLS:
                    raise _too_big(os.path.join(shown, f.name), f"more than {MAX_COLS} columns")
                rows.append(row)
        except csv.Error as exc:
            raise ScenarioError(os.path.join(shown, f.name), "", f"not a CSV file: {exc}") from None
        while rows and not rows[-1]:
            rows.pop()
        out[name] = Grid(name, f.name, rows)
    return out


# --- writing -------------------------------------------------------------------------------------------------


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col)


def write_xlsx(path: Path, sheets: list[OutSheet]) -> Path:
    """Write the sheets to an Excel workbook, all or nothing (a temporary file, then a rename)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    wb.remove(wb.active)
    head_font, head_fill = Font(bold=True), PatternFill("solid", start_color="DDEBF7")
    for sh in sheets:
        ws = wb.create_sheet(sh.name)
        for row in sh.rows:
            ws.append(row)
        spec = sh.spec
        if sh.name == NOTES:
            _style_notes(ws, sh, head_font, head_fill)
            continue
        assert spec is not None
        header = sh.rows[0]
        for j, name in enumerate(header, start=1):
            cell = ws.cell(row=1, column=j)
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            note = sh.comments.get(j - 1)
            if note:
                c = Comment(note, "sendmodel")
                c.width, c.height = 320, 160
                cell.comment = c
        ws.freeze_panes = spec.freeze
        last = max(len(sh.rows) + 200, 500)
        if spec.layout == "table":
            ws.row_dimensions[1].height = 45
            for j, name in enumerate(header, start=1):
                col = spec.col(str(name))
                ws.column_dimensions[_letter(j)].width = col.width if col else 14
                if col is None:
                    continue
                rng = f"{_letter(j)}2:{_letter(j)}{last}"
                _validation(ws, DataValidation, col, rng)
                if col.kind == DATE:
                    for i in range(2, len(sh.rows) + 1):
                        ws.cell(row=i, column=j).number_format = "yyyy-mm-dd"
        else:
            for j, width in enumerate((32, 40, 100), start=1):
                ws.column_dimensions[_letter(j)].width = width
            for i, row in enumerate(sh.rows[1:], start=2):
                col = spec.col(str(row[0]))
                if col is None:
                    continue
                ws.cell(row=i, column=3).alignment = Alignment(wrap_text=False)
                _validation(ws, DataValidation, col, f"B{i}")
                if col.kind == DATE:
                    ws.cell(row=i, column=2).number_format = "yyyy-mm-dd"
    return _save_atomic(path, wb.save)


def _validation(ws, DataValidation, col, rng: str) -> None:
    if col.kind in (CHOICE, DIST):
        formula = '"' + ",".join(col.choices) + '"'
    elif col.kind == YESNO:
        formula = '"yes,no"'
    elif col.kind == SERVICE:
        formula = f"=services!$A$2:$A${SERVICE_ROWS}"
    else:
        return
    dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                        errorTitle=col.name, error=f"{col.name}: {col.allowed()}")
    ws.add_data_validation(dv)
    dv.add(rng)


def _style_notes(ws, sh: OutSheet, head_font, head_fill) -> None:
    from openpyxl.styles import Alignment, Font

    widths = (18, 44, 90, 30, 70)
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[_letter(j)].width = w
    header_row = next(i for i, r in enumerate(sh.rows, start=1) if r and r[0] == "sheet")
    for i in range(1, header_row - 1):
        if sh.rows[i - 1]:
            ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=len(widths))
            ws.cell(row=i, column=1).alignment = Alignment(wrap_text=True, vertical="top")
            ws.row_dimensions[i].height = 32 if i > 1 else 20
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    for j in range(1, len(widths) + 1):
        c = ws.cell(row=header_row, column=j)
        c.font, c.fill = head_font, head_fill
    for i in range(header_row + 1, len(sh.rows) + 1):
        for j in range(1, len(widths) + 1):
            ws.cell(row=i, column=j).alignment = Alignment(wrap_text=True, vertical="top")
        if sh.rows[i - 1] and not sh.rows[i - 1][1]:  # a sheet's own row
            ws.cell(row=i, column=1).font = head_font
            ws.cell(row=i, column=3).font = head_font
    ws.freeze_panes = f"A{header_row + 1}"


def _save_atomic(path: Path, save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save(tmp)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as an ordinary new file (mkstemp's would be private)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def write_csv_folder(path: Path, sheets: list[OutSheet]) -> Path:
    """Write one CSV file a sheet into ``path``, all or nothing: the files are written in a temporary folder
    beside it, then moved in (other files in the folder are left alone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        for sh in sheets:
            buf = io.StringIO(newline="")
            w = csv.writer(buf, lineterminator="\r\n")
            for row in sh.rows:
                w.writerow([_csv_cell(v) for v in row])
            (tmp / f"{sh.name}.csv").write_text(buf.getvalue(), encoding="utf-8-sig", newline="")
        if not path.exists():
            mask = os.umask(0o022)
            os.umask(mask)
            os.chmod(tmp, 0o777 & ~mask)
            os.replace(tmp, path)
        else:
            for sh in sheets:
                os.replace(tmp / f"{sh.name}.csv", path / f"{sh.name}.csv")
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
