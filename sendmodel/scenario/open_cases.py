"""An LA's list of open EHC needs assessments (CSV, one row a case) into scenario rows.

A SEND team keeps its open cases in a spreadsheet; exported as CSV it can start a run "from today": each case
keeps its clock (see :class:`~sendmodel.scenario.config.OpenCase`). Every problem names the file, the row (as a
spreadsheet numbers it: the header is row 1) and the column, so it can be fixed where it was typed.

Columns: ``case_id``, ``request_date``, ``stage`` (required); ``stage_date``, ``advice_from``, ``advice_returned``
(service names separated by ``;``), ``exceptional`` (yes/no) (optional, empty = drawn per replication). Dates as
``YYYY-MM-DD`` or ``DD/MM/YYYY`` (Excel's UK format).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from pydantic import ValidationError

from sendmodel.scenario.config import OPEN_STAGES, OpenCase
from sendmodel.scenario.errors import ScenarioError, short_repr
from sendmodel.scenario.reading import decode, read_bytes

REQUIRED = ("case_id", "request_date", "stage")
OPTIONAL = ("stage_date", "advice_from", "advice_returned", "exceptional")
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}
MAX_CASES = 100_000  # an LA has a few hundred to a few thousand open at once


def _date(text: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"{short_repr(text)} is not a date; write YYYY-MM-DD (2024-03-31) or DD/MM/YYYY (31/03/2024)")


def _services(text: str) -> list[str]:
    return [s.strip() for s in text.replace(",", ";").split(";") if s.strip()]


def _flag(text: str) -> bool:
    t = text.strip().lower()
    if t in YES:
        return True
    if t in NO:
        return False
    raise ValueError(f"{short_repr(text)}: write yes or no (or leave it empty to draw it)")


PARSE = {"request_date": _date, "stage_date": _date, "advice_from": _services, "advice_returned": _services,
         "exceptional": _flag}


def read_open_cases(path: str | Path, shown: str | None = None) -> list[dict]:
    """The rows of an open-case CSV as mappings :class:`OpenCase` accepts (each one already checked)."""
    shown = str(path) if shown is None else shown
    text = decode(read_bytes(path, shown), shown)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ScenarioError(shown, "", f"not a readable CSV file: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ScenarioError(shown, "", f"is empty; the first row names the columns: {', '.join(REQUIRED)}")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if missing:
        raise ScenarioError(shown, "row 1", f"missing column(s) {missing}; the columns are {list(REQUIRED)} and "
                            f"optionally {list(OPTIONAL)}")
    if unknown:
        raise ScenarioError(shown, "row 1", f"unknown column(s) {unknown}; allowed: {list(REQUIRED + OPTIONAL)} "
                            "(no names or other personal data)")
    if len(rows) - 1 > MAX_CASES:
        raise ScenarioError(shown, "", f"{len(rows) - 1:,} cases; at most {MAX_CASES:,}: refused")
    out, seen = [], {}
    for n, row in enumerate(rows[1:], start=2):
        if len(row) > len(header):
            raise ScenarioError(shown, f"row {n}", f"{len(row)} cells for {len(header)} columns")
        rec: dict = {}
        for col, cell in zip(header, row):
            cell = cell.strip()
            if not cell:
                continue
            try:
                rec[col] = PARSE.get(col, str)(cell)
            except ValueError as exc:
                raise ScenarioError(shown, f"row {n}, column {col}", str(exc)) from None
        for col in REQUIRED:
            if col not in rec:
                allowed = f" (one of {list(OPEN_STAGES)})" if col == "stage" else ""
                raise ScenarioError(shown, f"row {n}, column {col}", f"is empty; every case needs one{allowed}")
        if rec["case_id"] in seen:
            raise ScenarioError(shown, f"row {n}, column case_id",
                                f"{short_repr(rec['case_id'])} is also on row {seen[rec['case_id']]}")
        seen[rec["case_id"]] = n
        try:
            OpenCase.model_validate(rec)
        except ValidationError as exc:
            err = exc.errors()[0]
            col = ".".join(str(x) for x in err["loc"]) or "row"
            msg = err["msg"].removeprefix("Value error, ")
            if col == "stage":
                msg = f"{short_repr(rec['stage'])} is not a stage; allowed: {list(OPEN_STAGES)}"
            raise ScenarioError(shown, f"row {n}, column {col}" if col != "row" else f"row {n}", msg) from None
        out.append({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in rec.items()})
    return out
