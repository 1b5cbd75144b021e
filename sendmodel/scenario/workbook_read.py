"""Reading a scenario workbook's cells: each checked against its column (what it may hold, in a commissioner's
words), put at its field path in the scenario mapping, and remembered, so that a problem found later by the schema
is reported against the cell it came from.

:class:`Reader` collects every problem rather than stopping at the first; :func:`check_parts` validates each
service, the pathway, each pool, the costs and the run with the schema's own models (so their problems come
together too) and :func:`schema_problem` maps a schema error's field path back to its sheet, row and column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from sendmodel.scenario.config import Costs, Ehc, Pool, Service, Simulation
from sendmodel.scenario.errors import dotted, explain, parse_path
from sendmodel.scenario.workbook_files import NO_VALUE, Grid
from sendmodel.scenario.workbook_layout import (
    AREA,
    CAPACITY_CHANGES,
    CHOICE,
    COSTS,
    DATE,
    DEMAND,
    DIST,
    DIST_PARAMS,
    EHC_TIMES,
    ID,
    KEYVALUE_HEADER,
    NUMBER,
    PARAM,
    PARTS,
    POOLS,
    RECURRING_COSTS,
    REQUIRED_SHEETS,
    SERVICE,
    SERVICE_LIST,
    SERVICES,
    SETUP_COSTS,
    SHARE,
    SOURCES,
    STEPS,
    WAITING_LISTS,
    YESNO,
    Col,
    Sheet,
    _num,
    param_rule,
)


@dataclass(frozen=True)
class Cell:
    """Where a value came from: a sheet (as named in messages), row and column (1-based), the column's name;
    ``others`` are the cells of its row (or sheet) an error about the whole row may really be about."""

    sheet: str
    row: int | None = None
    col: int | None = None
    column: str = ""
    spec: Col | None = None
    others: tuple[Cell, ...] = ()

    def ref(self) -> str:
        if self.row is None:
            return self.sheet
        if self.col is None:
            return f"{self.sheet}!{self.row}:{self.row}"
        from openpyxl.utils import get_column_letter

        return f"{self.sheet}!{get_column_letter(self.col)}{self.row}"

    def say(self, message: str) -> str:
        column = self.column
        if self.row is not None and self.col is None and self.row > 1 and column:
            column += ": the column is missing from row 1"
        where = self.ref() + (f" ({column})" if column else "")
        return f"{where}: {message}"


class _Bad:
    """A cell that failed its check (already reported)."""


BAD = _Bad()
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def _show(raw: Any) -> str:
    if isinstance(raw, str):
        return repr(raw.strip()) if len(raw) <= 60 else repr(raw.strip()[:57] + "...")
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, (int, float)):
        return _num(raw) if math.isfinite(raw) else str(raw)
    if isinstance(raw, (dt.date, dt.datetime)):
        return raw.isoformat()
    return repr(raw)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _number(raw: Any, col: Col) -> float | str:
    """The number in a cell, or what is wrong with it."""
    if isinstance(raw, bool):
        return f"{_show(raw)} is true/false, not a number"
    if isinstance(raw, (dt.date, dt.datetime)):
        return f"{_show(raw)} is a date, not a number"
    if isinstance(raw, (int, float)):
        v = float(raw)
    else:
        s = str(raw).strip().replace("_", "").replace("£", "").replace(" ", "")
        pct = s.endswith("%") and col.kind == SHARE
        s = s[:-1] if pct else s
        if _THOUSANDS.fullmatch(s):
            s = s.replace(",", "")
        try:
            v = float(s)
        except ValueError:
            return f"{_show(raw)} is not a number"
        v = v / 100 if pct else v
    if not math.isfinite(v):
        return f"{_show(raw)} is not a finite number"
    return v


def _in_range(v: float, col: Col) -> bool:
    lo = 0.0 if col.kind == SHARE else col.low
    hi = 1.0 if col.kind == SHARE else col.high
    if lo is not None and (v < lo or (col.low_open and v == lo)):
        return False
    return hi is None or v <= hi


def _date(raw: Any) -> dt.date | str:
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time(0):
            return f"{_show(raw)} has a time of day; give the date only"
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (bool, int, float)):
        return f"{_show(raw)} is not a date"
    s = str(raw).strip()
    m = _UK_DATE.fullmatch(s)
    try:
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            return dt.date.fromisoformat(s)
    except ValueError as exc:
        return f"{_show(raw)} is not a real date ({exc})"
    return f"{_show(raw)} is not a date"


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, (dt.date, dt.datetime)):
        return raw.isoformat()
    return str(raw).strip()


class Reader:
    """Turns the grids into a scenario mapping, remembering the cell of every field path and every problem."""

    def __init__(self, grids: dict[str, Grid], csv: bool):
        self.grids = grids
        self.csv = csv
        self.problems: list[tuple[Cell, str]] = []
        self.bad_cells: set[tuple[str, int | None, int | None]] = set()
        self.where: dict[str, Cell] = {}  # field path -> the cell it comes from
        self.filled: dict[str, str] = {}  # field path of a value read -> the sheet (as named in messages)
        self.services: tuple[str, ...] = ()
        self.data: dict[str, Any] = {}
        self.written_from: str | None = None
        self.said: set[tuple] = set()
        self.tables: dict[str, list] = {}
        self.sheet_sources: dict[str, str] = {}

    # -- reporting

    def label(self, sheet: str) -> str:
        return f"{sheet}.csv" if self.csv else sheet

    def problem(self, cell: Cell, message: str) -> None:
        key = (cell.sheet, cell.row, cell.col)
        if (cell.row is not None and key in self.bad_cells) or (key, message) in self.said:
            return
        self.bad_cells.add(key)
        self.said.add((key, message))
        self.problems.append((cell, message))

    # -- one cell

    def value(self, col: Col, raw: Any, cell: Cell) -> Any:
        """The cell's value checked against its column (None when empty; BAD after reporting it)."""
        if raw is NO_VALUE:
            self.problem(cell, "a formula with no saved value (the file was not saved by Excel): open and save "
                               "it in Excel, or type the value")
            return BAD
        if _blank(raw):
            return None
        kind = col.kind
        if kind in (NUMBER, SHARE, PARAM):
            v = _number(raw, col)
            if isinstance(v, str):
                self.problem(cell, f"{v}; {col.allowed()}")
                return BAD
            if not _in_range(v, col):
                self.problem(cell, f"{_show(v)} is out of range; {col.allowed()}")
                return BAD
            return int(v) if v.is_integer() and abs(v) < 2**53 else v
        if kind == DATE:
            v = _date(raw)
            if isinstance(v, str):
                self.problem(cell, f"{v}; {col.allowed()}")
                return BAD
            lo, hi = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
            if not lo <= v <= hi:
                self.problem(cell, f"{v} is out of range; {col.allowed()}")
                return BAD
            return v
        if kind == YESNO:
            s = _text(raw).lower() if not isinstance(raw, bool) else ("yes" if raw else "no")
            if s in _YES or s in _NO:
                return s in _YES
            self.problem(cell, f"{_show(raw)} is not yes or no")
            return BAD
        if kind in (CHOICE, DIST):
            s = _text(raw).lower().replace(" ", "_") if isinstance(raw, str) else _text(raw)
            if s in col.choices:
                return s
            self.problem(cell, f"{_show(raw)} is not allowed; {col.allowed()}")
            return BAD
        if kind == ID:
            s = _text(raw)
            if _NAME.fullmatch(s) and s.isascii():
                return s
            self.problem(cell, f"{_show(raw)} is not a name; {col.allowed()}")
            return BAD
        if kind == SERVICE:
            s = _text(raw)
            if s in self.services:
                return s
            self.problem(cell, f"{_show(raw)} is not on the services sheet; {col.allowed(self.services)}")
            return BAD
        if kind == SERVICE_LIST:
            names = [x.strip() for x in re.split(r"[,;]", _text(raw)) if x.strip()]
            unknown = [x for x in names if x not in self.services]
            if unknown:
                self.problem(cell, f"{', '.join(map(repr, unknown))} not on the services sheet; "
                                   f"{col.allowed(self.services)}")
                return BAD
            return names
        return str(raw) if col.name == "description" and isinstance(raw, str) else _text(raw)

    # -- sheets

    def grid(self, sheet: Sheet) -> Grid | None:
        g = self.grids.get(sheet.name)
        if g is None and sheet.name in REQUIRED_SHEETS:
            what = f"no file {sheet.name}.csv in the folder" if self.csv else f"no sheet named {sheet.name!r}"
            self.problem(Cell(self.label(sheet.name)), f"{what}; every workbook needs the sheets "
                         f"{' and '.join(REQUIRED_SHEETS)} (write a template with `sendmodel template`)")
        return g

    def keyvalue(self, sheet: Sheet) -> dict[str, tuple[Any, Cell]]:
        """A key-value sheet's cells by field: (value, cell); a missing row is (None, the sheet)."""
        g = self.grid(sheet)
        label = self.label(sheet.name)
        out: dict[str, tuple[Any, Cell]] = {}
        rows = g.rows if g is not None else []
        if rows:
            head = [_text(x).lower() if not _blank(x) else "" for x in rows[0][:2]]
            if head != ["field", "value"]:
                self.problem(Cell(label, 1, 1, "header"), f"row 1 must be the header {', '.join(KEYVALUE_HEADER)} "
                             "(the field's name in column A, its value in column B)")
                return {c.name: (None, Cell(label, column=c.name, spec=c)) for c in sheet.cols}
        first: dict[str, int] = {}
        for i, row in enumerate(rows[1:], start=2):
            name_raw = row[0] if row else None
            raw = row[1] if len(row) > 1 else None
            if _blank(name_raw):
                if not _blank(raw):
                    self.problem(Cell(label, i, 1, "field"), f"a value ({_show(raw)}) with no field name in "
                                 "column A")
                continue
            name = _text(name_raw).lower().replace(" ", "_")
            col = sheet.col(name)
            if col is None:
                self.problem(Cell(label, i, 1, "field"), f"unknown field {_show(name_raw)}; the fields of this "
                             f"sheet are {', '.join(c.name for c in sheet.cols)}")
                continue
            if name in first:
                self.problem(Cell(label, i, 1, "field"), f"{name} is given twice (first in row {first[name]}); "
                             "keep one row")
                continue
            first[name] = i
            out[name] = (raw, Cell(label, i, 2, name, col))
        for c in sheet.cols:
            out.setdefault(c.name, (None, Cell(label, column=f"no row {c.name}", spec=c)))
        return out

    def table(self, sheet: Sheet) -> list[tuple[int, dict[str, tuple[Any, Cell]]]]:
        """A table's rows with content: (row number, {column: (value, cell)}); a missing column is empty."""
        if sheet.name not in self.tables:
            self.tables[sheet.name] = self._table(sheet)
        return self.tables[sheet.name]

    def _table(self, sheet: Sheet) -> list[tuple[int, dict[str, tuple[Any, Cell]]]]:
        g = self.grid(sheet)
        label = self.label(sheet.name)
        if g is None or not g.rows:
            if g is not None and sheet.name in REQUIRED_SHEETS:
                self.problem(Cell(label), "the sheet is empty: row 1 must be the header (write a template with "
                             "`sendmodel template`)")
            return []
        header: dict[int, Col] = {}
        seen: dict[str, int] = {}
        from openpyxl.utils import get_column_letter

        for j, h in enumerate(g.rows[0], start=1):
            if _blank(h):
                continue
            name = _text(h).lower().replace(" ", "_")
            col = sheet.col(name)
            if col is None:
                shown = _text(h) if len(_text(h)) <= 40 else _text(h)[:37] + "..."
                self.problem(Cell(label, 1, j, shown), f"unknown column; the columns of this sheet are "
                             f"{', '.join(c.name for c in sheet.cols)} (see the notes sheet)")
                continue
            if name in seen:
                self.problem(Cell(label, 1, j, name), f"a second {name} column (the first is column "
                             f"{get_column_letter(seen[name])}); keep one")
                continue
            seen[name] = j
            header[j] = col
        key = sheet.cols[0].name
        if key not in seen:
            self.problem(Cell(label, 1, None, key), f"no column {key} in row 1 (the header); it names each row")
            return []
        out = []
        for i, row in enumerate(g.rows[1:], start=2):
            cells = {j: row[j - 1] for j in header if j - 1 < len(row)}
            if all(_blank(v) for v in cells.values()):
                continue
            got = {col.name: (cells.get(j), Cell(label, i, j, col.name, col)) for j, col in header.items()}
            for c in sheet.cols:
                got.setdefault(c.name, (None, Cell(label, i, None, c.name, c)))
            out.append((i, got))
        return out

    # -- building the mapping

    def put(self, target: dict, rel: str, full: str, value: Any, cell: Cell) -> None:
        """Register the cell of ``full`` and, for a value, set ``rel`` in ``target``."""
        self.where[full] = cell
        if value is None or value is BAD:
            return
        node = target
        parts = rel.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
        self.filled[full] = cell.sheet

    def dist(self, cells: dict[str, tuple[Any, Cell]], prefix: str, full: str) -> Any:
        """A distribution from its six cells (``prefix`` + part), or None (all empty), or BAD."""
        dcol = f"{prefix}dist"
        raw, cell = cells[dcol]
        self.where[full] = cell
        family = self.value(cell.spec, raw, cell) if cell.spec else None
        params = {p: cells[f"{prefix}{p}"] for p in PARTS}
        for p, (_, pcell) in params.items():
            if family not in (None, BAD) and p in DIST_PARAMS[family]:
                self.where[f"{full}.{DIST_PARAMS[family][p]}"] = pcell
        given = {p: rc for p, rc in params.items() if not _blank(rc[0])}
        if family is BAD:
            for p, (r, c) in given.items():
                self.value(c.spec, r, c)
            return BAD
        if family is None:
            if given:
                self.problem(cell, "empty, but the distribution's other cells are not: give the distribution, "
                                   f"{cell.spec.allowed() if cell.spec else ''}, or clear them")
                return BAD
            return None
        out: dict[str, Any] = {"dist": family}
        ok = True
        for p, (r, c) in params.items():
            used = p in DIST_PARAMS[family]
            if not used and not _blank(r):
                uses = ", ".join(f"_{x}" for x in DIST_PARAMS[family])
                self.problem(c, f"not used by a {family} distribution (which takes {uses}): leave it empty")
                ok = False
            elif used:
                rule = param_rule(c.spec, family) if c.spec else None
                if _blank(r):
                    self.problem(c, f"empty, but a {family} distribution needs it; {rule.allowed() if rule else ''}")
                    ok = False
                    continue
                v = self.value(rule, r, c) if rule else BAD
                if v is BAD:
                    ok = False
                else:
                    out[DIST_PARAMS[family][p]] = v
        if not ok:
            return BAD
        self.filled[full] = cell.sheet
        return out

    def read(self) -> None:
        self.read_services_names()
        self.read_area()
        self.read_demand()
        self.read_services()
        self.read_bands()
        self.read_changes()
        self.read_pools()
        self.read_costs()
        self.read_sources()

    def read_area(self) -> None:
        cells = self.keyvalue(AREA)
        self.where[""] = Cell(self.label("area"), others=tuple(c for _, c in cells.values()))
        self.where["simulation"] = self.where[""]
        for c in AREA.cols:
            raw, cell = cells[c.name]
            v = self.value(c, raw, cell)
            if c.name == "written_from":
                self.written_from = v if isinstance(v, str) else None
                continue
            self.put(self.data, c.path, c.path, v, cell)

    def read_demand(self) -> None:
        cells = self.keyvalue(DEMAND)
        times = self.table(EHC_TIMES)
        ehc: dict[str, Any] = {}
        label = self.label("demand")
        self.where["ehc"] = Cell(label, others=tuple(c for _, c in cells.values()))
        months = []
        for c in DEMAND.cols:
            raw, cell = cells[c.name]
            v = self.value(c, raw, cell)
            if c.name.startswith("monthly_profile_"):
                months.append((v, cell))
                self.where[f"ehc.{c.path}"] = cell
                continue
            self.put(ehc, c.path, f"ehc.{c.path}", v, cell)
        jan = months[0][1]
        self.where["ehc.monthly_profile"] = Cell(jan.sheet, jan.row, jan.col, "monthly_profile_jan..dec", jan.spec)
        a = cells["request_outcomes_assessed"][1]
        self.where["ehc.request_outcomes"] = Cell(a.sheet, a.row, a.col, "request_outcomes_assessed, _refused, "
                                                  "_withdrawn", a.spec)
        if any(v is not None for v, _ in months):
            if any(v is None for v, _ in months):
                for v, cell in months:
                    if v is None:
                        self.problem(cell, "empty: give all twelve months, or none (the same rate every month)")
            elif not any(v is BAD for v, _ in months):
                ehc["monthly_profile"] = [v for v, _ in months]
                self.filled["ehc.monthly_profile"] = label
        seen: dict[str, int] = {}
        for i, row in times:
            raw, cell = row["step"]
            step = self.value(EHC_TIMES.cols[0], raw, cell)
            if step is None:
                self.problem(cell, f"empty: name the step; {EHC_TIMES.cols[0].allowed()}")
                continue
            if step is BAD:
                continue
            if step in seen:
                self.problem(cell, f"{step} is given twice (first in row {seen[step]}); keep one row")
                continue
            seen[step] = i
            row = {k: (v, self._step_cell(c, step, k)) for k, (v, c) in row.items()}
            path = STEPS[step][0]
            d = self.dist(row, "", f"ehc.{path}")
            if d is not None and d is not BAD:
                node = ehc
                parts = path.split(".")
                for p in parts[:-1]:
                    node = node.setdefault(p, {})
                node[parts[-1]] = d
        for step, (path, _) in STEPS.items():
            self.where.setdefault(f"ehc.{path}", Cell(self.label("ehc_times"), column=f"no row for step {step}"))
        if any(k.startswith("ehc.") for k in self.filled):
            self.data["ehc"] = ehc

    @staticmethod
    def _step_cell(cell: Cell, step: str, part: str) -> Cell:
        """A cell of an ehc_times row, named for its step (``draft_hours_mean``) with the step's unit."""
        if part not in ("dist", *PARTS):
            return cell
        spec = cell.spec
        if spec is not None and spec.kind == PARAM and part != "cv":
            spec = replace(spec, unit=STEPS[step][1])
        return replace(cell, column=f"{step}_{part}", spec=spec)

    def read_services_names(self) -> None:
        """The services sheet's names first: the other sheets name services."""
        names = []
        for _i, row in self.table(SERVICES):
            raw, _cell = row["service"]
            if not _blank(raw) and raw is not NO_VALUE:
                names.append(_text(raw))
        self.services = tuple(dict.fromkeys(n for n in names if _NAME.fullmatch(n) and n.isascii()))

    def read_services(self) -> None:
        services: dict[str, dict] = {}
        rows = self.table(SERVICES)
        label = self.label("services")
        self.where["services"] = Cell(label)
        g = self.grids.get("services")
        if g is not None and g.rows and not rows:
            self.problem(Cell(label), "no services: add one row per service (see the notes sheet)")
        first: dict[str, int] = {}
        for i, row in rows:
            raw, cell = row["service"]
            name = self.value(SERVICES.cols[0], raw, cell)
            if name is None:
                self.problem(cell, f"empty: every service needs a name; {SERVICES.cols[0].allowed()}")
                continue
            if name is BAD:
                continue
            if name in first:
                self.problem(cell, f"{name!r} is given twice (first in row {first[name]}); service names are "
                             "unique")
                continue
            first[name] = i
            svc: dict[str, Any] = {}
            full = f"services.{name}"
            self.where[full] = Cell(cell.sheet, cell.row, cell.col, f"service {name}", cell.spec,
                                    tuple(c for _, c in row.values()))
            done: set[str] = set()
            for c in SERVICES.cols[1:]:
                if not c.path or c.group in done:
                    continue
                if c.group:
                    done.add(c.group)
                    d = self.dist(row, f"{c.group}_", f"{full}.{c.path}")
                    self.put(svc, c.path, f"{full}.{c.path}", d, row[f"{c.group}_dist"][1])
                    continue
                raw, ccell = row[c.name]
                self.put(svc, c.path, f"{full}.{c.path}", self.value(c, raw, ccell), ccell)
            self.where[f"{full}.advice"] = Cell(cell.sheet, cell.row, cell.col, f"service {name}", cell.spec,
                                                tuple(c for n, c in ((n, rc[1]) for n, rc in row.items())
                                                      if c.spec and c.spec.path.startswith("advice.")))
            services[name] = svc
        self.data["services"] = services

    def _rows_for(self, sheet: Sheet, attr: str, build) -> None:
        counts: dict[str, int] = {}
        for _i, row in self.table(sheet):
            raw, cell = row["service"]
            name = self.value(sheet.cols[0], raw, cell)
            if name is None:
                self.problem(cell, f"empty: name the service; {sheet.cols[0].allowed(self.services)}")
                continue
            svc = self.data["services"].get(name) if name is not BAD else None
            if svc is None:
                continue  # a bad name (reported), or a service whose own row is bad
            k = counts.get(name, 0)
            counts[name] = k + 1
            full = f"services.{name}.{attr}[{k}]"
            self.where[full] = Cell(cell.sheet, cell.row, cell.col, "service", cell.spec,
                                    tuple(c for _, c in row.values()))
            item = build(row, full)
            svc.setdefault(attr, []).append(item)
            self.filled[f"services.{name}.{attr}"] = cell.sheet

    def read_bands(self) -> None:
        def build(row, full):
            item: dict[str, Any] = {}
            raw, cell = row["n_per_70k"]
            self.put(item, "n_per_70k", f"{full}.n_per_70k", self.value(cell.spec, raw, cell), cell)
            ages = []
            for j, c in enumerate(("youngest_weeks", "oldest_weeks")):
                raw, cell = row[c]
                self.where[f"{full}.age_weeks[{j}]"] = cell
                v = self.value(cell.spec, raw, cell)
                if v is None:
                    self.problem(cell, f"empty; {cell.spec.allowed()}")
                ages.append(v)
            self.where[f"{full}.age_weeks"] = row["youngest_weeks"][1]
            if all(v is not None and v is not BAD for v in ages):
                item["age_weeks"] = ages
            return item

        self._rows_for(WAITING_LISTS, "backlog", build)

    def read_changes(self) -> None:
        def build(row, full):
            item: dict[str, Any] = {}
            for c in CAPACITY_CHANGES.cols[1:]:
                if c.path:
                    raw, cell = row[c.name]
                    self.put(item, c.path, f"{full}.{c.path}", self.value(c, raw, cell), cell)
            return item

        self._rows_for(CAPACITY_CHANGES, "capacity_changes", build)

    def read_pools(self) -> None:
        pools: dict[str, dict] = {}
        first: dict[str, int] = {}
        self.where["pools"] = Cell(self.label("pools"))
        for i, row in self.table(POOLS):
            raw, cell = row["pool"]
            name = self.value(POOLS.cols[0], raw, cell)
            if name is None:
                self.problem(cell, f"empty: every pool needs a name; {POOLS.cols[0].allowed()}")
                continue
            if name is BAD:
                continue
            if name in first:
                self.problem(cell, f"{name!r} is given twice (first in row {first[name]}); pool names are unique")
                continue
            first[name] = i
            full = f"pools.{name}"
            self.where[full] = Cell(cell.sheet, cell.row, cell.col, f"pool {name}", cell.spec,
                                    tuple(c for _, c in row.values()))
            pool: dict[str, Any] = {}
            for c in POOLS.cols[1:]:
                if c.path:
                    raw, ccell = row[c.name]
                    v = self.value(c, raw, ccell)
                    self.put(pool, c.path, f"{full}.{c.path}", v, ccell)
                    if c.name == "services" and isinstance(v, list):
                        for k in range(len(v)):
                            self.where[f"{full}.services[{k}]"] = ccell
            pools[name] = pool
        if pools:
            self.data["pools"] = pools

    def read_costs(self) -> None:
        cells = self.keyvalue(COSTS)
        costs: dict[str, Any] = {}
        label = self.label("costs")
        self.where["costs"] = Cell(label, others=tuple(c for _, c in cells.values()))
        a = cells["joint_split_nhs"][1]
        self.where["costs.joint_split"] = Cell(a.sheet, a.row, a.col, "joint_split_nhs, _la_education, "
                                               "_la_social_care", a.spec)
        for c in COSTS.cols:
            raw, cell = cells[c.name]
            self.put(costs, c.path, f"costs.{c.path}", self.value(c, raw, cell), cell)
        for key, sheet in (("setup", SETUP_COSTS), ("recurring", RECURRING_COSTS)):
            lines = []
            self.where[f"costs.{key}"] = Cell(self.label(sheet.name))
            for k, (_i, row) in enumerate(self.table(sheet)):
                item: dict[str, Any] = {}
                full = f"costs.{key}[{k}]"
                first = row["item"][1]
                self.where[full] = Cell(first.sheet, first.row, first.col, "item", first.spec,
                                        tuple(c for _, c in row.values()))
                for c in sheet.cols:
                    if c.path:
                        raw, cell = row[c.name]
                        self.put(item, c.path, f"{full}.{c.path}", self.value(c, raw, cell), cell)
                lines.append(item)
                self.filled[f"costs.{key}"] = first.sheet
            if lines:
                costs[key] = lines
        if costs:
            self.data["costs"] = costs

    def read_sources(self) -> None:
        sources: dict[str, str] = {}
        first: dict[str, int] = {}
        self.source_rows: dict[str, Cell] = {}
        for i, row in self.table(SOURCES):
            (kraw, kcell), (sraw, scell) = row["field_path"], row["source"]
            if _blank(kraw) or kraw is NO_VALUE:
                self.problem(kcell, "empty: give the field path the source is for (e.g. services.slt.pas_per_week), "
                             "or delete the row")
                continue
            key = _text(kraw)
            if _blank(sraw) or sraw is NO_VALUE:
                self.problem(scell, f"empty: say where {key} comes from, or delete the row")
                continue
            if key in first:
                self.problem(kcell, f"{key} is given twice (first in row {first[key]}); keep one row")
                continue
            first[key] = i
            sources[key] = _text(sraw)
            self.source_rows[key] = kcell
        self.sheet_sources = sources


# --- mapping schema errors back to cells ---------------------------------------------------------------------


def _mentioned(message: str, cells: tuple[Cell, ...]) -> Cell | None:
    """The cell whose column the message names first (``give gbp_per_pa or gbp_per_hour`` -> gbp_per_pa)."""
    best, at = None, None
    for c in cells:
        if c.spec is not None and c.spec.kind == ID:
            continue  # the row's name ("a service with a unit cost...")
        names = {c.column}
        if c.spec is not None:
            names |= {c.spec.name, c.spec.path} | ({c.spec.group} if c.spec.group else set())
        for n in names:
            if not n:
                continue
            m = re.search(rf"(?<![A-Za-z0-9_.]){re.escape(n)}(?![A-Za-z0-9_])", message)
            if m and (at is None or m.start() < at or (m.start() == at and c.spec and c.spec.part == "dist")):
                best, at = c, m.start()
    return best


def _locate(reader: Reader, path: str, message: str) -> Cell:
    parts = parse_path(path) if path else ()
    for k in range(len(parts), -1, -1):
        key = dotted(parts[:k])
        cell = reader.where.get(key)
        if cell is not None:
            if cell.others:
                hit = _mentioned(message, cell.others)
                if hit is not None:
                    return hit
            return cell
    return Cell(reader.label("area"))


def schema_problem(reader: Reader, path: str, message: str) -> None:
    cell = _locate(reader, path, message)
    if (cell.sheet, cell.row, cell.col) in reader.bad_cells and cell.row is not None:
        return  # the cell's own check already said what is wrong
    if message.startswith("required field is missing"):
        if cell.row is not None and cell.col is not None and cell.spec is not None:
            message = f"empty, but required; {cell.spec.allowed(reader.services)}"
        else:
            message = f"{path} is required" + message.removeprefix("required field is missing")
    elif (cell.column == "" or cell.col is None) and path and path != cell.sheet.removesuffix(".csv"):
        message = f"{path}: {message}"
    reader.problem(cell, message)


def _check_part(reader: Reader, model: type[BaseModel], data: Any, prefix: tuple) -> None:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            parts, msg = explain(err, model)
            ctx_err = (err.get("ctx") or {}).get("error")
            full = tuple(parts) if isinstance(getattr(ctx_err, "path", None), str) else (*prefix, *parts)
            schema_problem(reader, dotted(full), msg)


def check_parts(reader: Reader) -> None:
    """Each service, the pathway, each pool, the costs and the run on their own (the real schema), so that
    their problems are all found at once; cross-references and sizes wait for the whole scenario."""
    data = reader.data
    for name, svc in data.get("services", {}).items():
        _check_part(reader, Service, svc, ("services", name))
    if "ehc" in data:
        _check_part(reader, Ehc, data["ehc"], ("ehc",))
    for name, pool in data.get("pools", {}).items():
        _check_part(reader, Pool, pool, ("pools", name))
    if "costs" in data:
        _check_part(reader, Costs, data["costs"], ("costs",))
    if "simulation" in data:
        _check_part(reader, Simulation, data["simulation"], ("simulation",))
