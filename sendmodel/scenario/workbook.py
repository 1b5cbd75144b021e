"""A spreadsheet in, a scenario out: the workbook a commissioner fills in, and its import into a scenario file.

:func:`write_template` writes a workbook (or a folder of CSV files, one per sheet) pre-filled from a scenario:
the area, the EHC demand and pathway, one row per service, waiting lists by weeks waited, dated capacity
changes, pools, costs and sources, with a notes sheet saying what each column means, its unit and what it may
hold (the layout: :mod:`sendmodel.scenario.workbook_layout`).

:func:`import_workbook` reads it back into a validated :class:`~sendmodel.scenario.config.Scenario` and the
text of a complete, self-contained scenario file (:meth:`Imported.write`). It checks every cell first and
reports every bad one at once, by sheet, cell and column (``services!F7 (pas_per_week): 'lots' is not a
number; PAs a week, 0 to 2,000``); the values that pass are then validated by the schema itself (each service,
the pathway, each pool and the costs on their own, so their problems come together too, then the whole
scenario with :func:`~sendmodel.scenario.loading.validate_mapping`), each schema error mapped back to the cell
it came from. Any problem raises :class:`WorkbookError` (a :class:`ScenarioError`) listing them all.

The parts: :mod:`~sendmodel.scenario.workbook_layout` (sheets, columns, meanings), :mod:`~sendmodel.scenario.
workbook_files` (cells in and out of .xlsx and CSV), :mod:`~sendmodel.scenario.workbook_read` (cell checks and
mapping errors back to cells), :mod:`~sendmodel.scenario.workbook_sources` (the ``sources`` table).

Why a complete scenario and not ``extends:`` the one the workbook was written from: ``extends`` merges
services key by key, so a service deleted from the workbook would come back from the parent, and the result
would change whenever the parent does. The workbook records the scenario it was written from (area sheet,
``written_from``) only to tell which values were changed: those are sourced "local data" from the workbook.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sendmodel.scenario.config import Pool, Scenario, Service
from sendmodel.scenario.errors import ScenarioError, value_at_path
from sendmodel.scenario.loading import load_scenario, validate_mapping
from sendmodel.scenario.workbook_files import Grid, OutSheet, read_csv_folder, read_xlsx
from sendmodel.scenario.workbook_layout import (
    AREA,
    BY_NAME,
    CAPACITY_CHANGES,
    COSTS,
    DEMAND,
    DIST_PARAMS,
    EHC_TIMES,
    INTRO,
    KEYVALUE_HEADER,
    NOTES,
    NOTES_HEADER,
    NUMBER,
    PARAM,
    PARTS,
    POOLS,
    RECURRING_COSTS,
    SERVICES,
    SETUP_COSTS,
    SHARE,
    SHEETS,
    SOURCES,
    STEPS,
    TEXT,
    WAITING_LISTS,
    Col,
    Sheet,
    notes_rows,
    step_meaning,
)
from sendmodel.scenario.workbook_read import Reader, check_parts, schema_problem
from sendmodel.scenario.workbook_sources import SourcesResult, build_sources

MARKER = "by `sendmodel import`"  # in the first line of every scenario file the import writes


class WorkbookError(ScenarioError):
    """A workbook (or CSV folder) that cannot be imported: every problem found, one a line, each naming the
    sheet, cell and column (``problems``)."""

    def __init__(self, file: str | Path | None, problems: list[str]):
        self.problems = list(problems)
        n = len(self.problems)
        text = f"{n} problem{'s' if n != 1 else ''} in the workbook:\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(file, "", text)

    def __reduce__(self):
        return (type(self), (self.file, self.problems))


# --- the template --------------------------------------------------------------------------------------------


def _cell(v: Any) -> Any:
    """A value as the workbook shows it: yes/no, whole numbers without .0, dates as dates."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def _dist_cells(dist: dict | None) -> dict[str, Any]:
    """A distribution's cells by part (dist, mean, cv, low, mode, high)."""
    if not dist:
        return {}
    out = {"dist": dist["dist"]}
    for part, name in DIST_PARAMS[dist["dist"]].items():
        out[part] = _cell(dist.get(name))
    return out


def _comment(c: Col) -> str:
    unit = f"\nUnit: {c.unit}." if c.unit and c.kind in (NUMBER, SHARE, PARAM) else ""
    allowed = "" if c.kind == TEXT else f"\nAllowed: {c.allowed()}."
    return f"{c.name}: {c.meaning}.{unit}{allowed}"


def _keyvalue(sheet: Sheet, values: dict[str, Any]) -> OutSheet:
    rows: list[list[Any]] = [list(KEYVALUE_HEADER)]
    for c in sheet.cols:
        meaning = c.meaning if c.kind == TEXT else f"{c.meaning} ({c.allowed()})"
        rows.append([c.name, values.get(c.name), meaning])
    return OutSheet(sheet.name, rows, sheet)


def _table(sheet: Sheet, rows: list[list[Any]]) -> OutSheet:
    header = [c.name for c in sheet.cols]
    comments = {j: _comment(c) for j, c in enumerate(sheet.cols) if c.meaning}
    return OutSheet(sheet.name, [header, *rows], sheet, comments)


def template_sheets(scenario: Scenario, written_from: str | None = None) -> list[OutSheet]:
    """The sheets of a workbook pre-filled from ``scenario`` (notes first)."""
    d = scenario.model_dump()
    area = {c.name: _cell(value_at_path(d, c.path)) for c in AREA.cols if c.path}
    area["written_from"] = written_from
    ehc = d.get("ehc")
    demand = {c.name: _cell(value_at_path(ehc, c.path)) for c in DEMAND.cols} if ehc else {}
    times = []
    for step, (path, _unit) in STEPS.items():
        cells = _dist_cells(value_at_path(ehc, path)) if ehc else {}
        times.append([step, cells.get("dist"), *(cells.get(p) for p in PARTS), step_meaning(step)])
    services, bands, changes = [], [], []
    for name, s in d["services"].items():
        row = []
        for c in SERVICES.cols:
            if c.name == "service":
                row.append(name)
            elif c.group:
                row.append(_dist_cells(value_at_path(s, c.path)).get(c.part))
            else:
                row.append(_cell(value_at_path(s, c.path)) if c.path else None)
        services.append(row)
        for b in s["backlog"]:
            bands.append([name, _cell(b["n_per_70k"]), _cell(b["age_weeks"][0]), _cell(b["age_weeks"][1]), None])
        for ch in s["capacity_changes"]:
            changes.append([name, ch["start"], ch["end"], _cell(ch["pas_per_week_delta"]), None])
    pools = [[n, p["label"], ", ".join(p["services"]), _cell(p["trusted_assessor"]),
              _cell(p["trusted_assessor_extra_share"]), None] for n, p in d["pools"].items()]
    costs = {c.name: _cell(value_at_path(d["costs"], c.path)) for c in COSTS.cols}
    setup = [[x["item"], _cell(x["gbp"]), x["commissioner"], None] for x in d["costs"]["setup"]]
    recurring = [[x["item"], _cell(x["gbp_each"]), _cell(x["per_year"]), x["basis"], x["commissioner"], None]
                 for x in d["costs"]["recurring"]]
    sources = [[k, v] for k, v in d["sources"].items()]
    notes: list[list[Any]] = [["sendmodel scenario workbook" + (f", pre-filled from {written_from}"
                                                                if written_from else "")], []]
    notes += [[p] for p in INTRO]
    notes += [[], list(NOTES_HEADER), *[list(r) for r in notes_rows()]]
    return [
        OutSheet(NOTES, notes),
        _keyvalue(AREA, area),
        _keyvalue(DEMAND, demand),
        _table(EHC_TIMES, times),
        _table(SERVICES, services),
        _table(WAITING_LISTS, bands),
        _table(CAPACITY_CHANGES, changes),
        _table(POOLS, pools),
        _keyvalue(COSTS, costs),
        _table(SETUP_COSTS, setup),
        _table(RECURRING_COSTS, recurring),
        _table(SOURCES, sources),
    ]


def write_template(scenario: Scenario | str | Path, path: str | Path, *, csv: bool = False,
                   written_from: str | Path | None = None) -> Path:
    """Write a workbook (``csv=False``: an .xlsx file) or a folder of CSV files pre-filled from ``scenario`` (a
    :class:`Scenario` or a scenario file). ``written_from`` (default: the scenario's file) is recorded in the
    area sheet relative to the workbook's folder. Replaces what is at ``path`` (the CLI asks first)."""
    from sendmodel.scenario.workbook_files import write_csv_folder, write_xlsx

    if not isinstance(scenario, Scenario):
        written_from = written_from if written_from is not None else scenario
        scenario = load_scenario(scenario)
    path = Path(path)
    origin = written_from if written_from is not None else scenario.source_file
    shown = None
    if origin is not None:
        base = os.path.dirname(os.path.abspath(path))
        try:
            shown = os.path.relpath(os.path.abspath(origin), base)
        except ValueError:  # another drive (Windows)
            shown = os.path.abspath(origin)
        if shown.startswith(os.path.join(os.pardir, os.pardir)):  # far away: the absolute path is clearer
            shown = os.path.abspath(origin)
        shown = shown.replace(os.sep, "/")
    sheets = template_sheets(scenario, shown)
    return write_csv_folder(path, sheets) if csv else write_xlsx(path, sheets)


def not_carried(scenario: Scenario, path: str | Path) -> list[str]:
    """The scenario's settings the workbook at ``path`` (just written from it) does not hold: the dotted fields
    whose value differs after importing it back (multi-year demand, open cases, plans and reviews, tribunals...).
    A commissioner is told, so nothing is dropped silently."""
    back = import_workbook(path).scenario

    def diff(a, b, at=""):
        if isinstance(a, dict) and isinstance(b, dict):
            return [p for k in sorted(set(a) | set(b)) for p in diff(a.get(k), b.get(k), f"{at}{k}.")]
        return [] if a == b else [at.rstrip(".")]

    a, b = scenario.model_dump(exclude={"sources"}), back.model_dump(exclude={"sources"})
    out: list[str] = []
    for p in diff(a, b):  # report a block once (ehc.reviews, not each of its fields)
        top = ".".join(p.split(".")[:2])
        if top not in out:
            out.append(top)
    return out


# --- the scenario file ---------------------------------------------------------------------------------------


class _Flow(dict):
    pass


class _FlowList(list):
    pass


def _yaml_text(doc: dict) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                                                   flow_style=True))
    Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v,
                                                                        flow_style=True))

    def flow(v: Any, inside_list: bool = False) -> Any:
        if isinstance(v, dict):
            if "dist" in v or inside_list or (v and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                        for x in v.values())):
                return _Flow({k: flow(x) for k, x in v.items()})
            return {k: flow(x) for k, x in v.items()}
        if isinstance(v, list):
            if all(not isinstance(x, (dict, list)) for x in v):
                return _FlowList(v)
            return [flow(x, True) for x in v]
        return v

    return yaml.dump(flow(doc), Dumper=Dumper, sort_keys=False, width=120, allow_unicode=True)


def _ordered(data: dict, model: type[BaseModel]) -> dict:
    """``data``'s keys in the schema's order (sub-sections too), so the file reads like the others."""
    out = {}
    for name, f in model.model_fields.items():
        if name not in data:
            continue
        v = data[name]
        sub = _submodel(f.annotation)
        if sub is not None and isinstance(v, dict) and "dist" not in v:
            v = _ordered(v, sub)
        elif name in ("services", "pools") and isinstance(v, dict):
            inner = Service if name == "services" else Pool
            v = {k: _ordered(x, inner) for k, x in v.items()}
        out[name] = v
    return out


def _submodel(ann) -> type[BaseModel] | None:
    from typing import Union, get_args, get_origin

    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    if get_origin(ann) is Union or type(ann).__name__ == "UnionType":
        models = [a for a in get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None


@dataclass
class Imported:
    """A workbook read into a scenario: the validated scenario, the mapping behind it, and what to tell."""

    scenario: Scenario
    data: dict
    file: str
    written_from: str | None
    sources: SourcesResult
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The scenario file: a header saying where it came from, then the scenario, complete in itself."""
        when = dt.date.today().isoformat()
        head = [f"# Scenario {self.scenario.name!r}, imported from {os.path.basename(self.file)} {MARKER} "
                f"on {when}.",
                "# Complete in itself (it extends no other file): to change it, edit the workbook and import it "
                "again (this file is replaced), or edit this file."]
        if self.written_from:
            head.append(f"# The workbook was pre-filled from {self.written_from}; values changed from it, and "
                        "values with no source, are sourced 'local data'.")
        return "\n".join(head) + "\n" + _yaml_text(self.data)

    def write(self, out: str | Path) -> Path:
        """Write the scenario file (all or nothing), after checking it reads back as the same scenario."""
        import yaml

        from sendmodel.common.io import atomic_write_text

        text = self.text()
        again = validate_mapping(yaml.safe_load(text), out)
        if again.model_dump() != self.scenario.model_dump():  # pragma: no cover - a fault in this module
            raise RuntimeError("the scenario file written would not read back as the workbook's scenario")
        return atomic_write_text(out, text)


def read_grids(path: str | Path) -> tuple[dict[str, Grid], bool]:
    """The sheets of a workbook (.xlsx) or a CSV folder, and whether it is the folder."""
    p, shown = Path(path), os.fspath(path)
    if p.is_dir():
        return read_csv_folder(p, shown), True
    if not p.exists():
        raise ScenarioError(shown, "", "no such file or folder")
    if p.suffix.lower() != ".xlsx":
        hint = "give the folder that holds the CSV files" if p.suffix.lower() == ".csv" else (
            "save it from Excel as .xlsx" if p.suffix.lower() in (".xls", ".xlsm", ".ods") else
            "give an Excel workbook (.xlsx) or a folder of CSV files")
        raise ScenarioError(shown, "", f"not a workbook (.xlsx) or a folder of CSV files: {hint}")
    return read_xlsx(p, shown), False


#: The statutory pathway's settings (how the guidance's process runs), which a commissioner's workbook does
#: not hold: an import takes them from the scenario the workbook was written from (its area sheet's
#: written_from), as they were there. Per service: Annex A's branches, for a service of the same name.
PATHWAY_EHC = ("misroute_hours", "dmo_signoff_plans_only", "dmo_other_work_share", "dmo_from", "dmo_backfilled",
               "escalation", "tribunals", "continuing_care", "ages")
PATHWAY_ADVICE = ("annex_a", "ages")


def _pathway_from(original: Scenario, data: dict) -> None:
    """Fill ``data`` (a workbook's scenario mapping) with ``original``'s pathway settings that it lacks."""
    d = original.model_dump(exclude={"sources"})
    ehc = data.get("ehc")
    if isinstance(ehc, dict) and d.get("ehc"):
        for k in PATHWAY_EHC:
            if k not in ehc:
                ehc[k] = d["ehc"][k]
    for name, svc in (data.get("services") or {}).items():
        was = d["services"].get(name)
        if not isinstance(svc, dict) or not was or not was.get("advice") or not isinstance(svc.get("advice"), dict):
            continue
        for k in PATHWAY_ADVICE:
            if k not in svc["advice"] and was["advice"].get(k) is not None:
                svc["advice"][k] = was["advice"][k]


def import_workbook(path: str | Path) -> Imported:
    """Read a workbook (.xlsx) or a folder of CSV files into a validated scenario.

    Raises :class:`WorkbookError` listing every problem (each naming its sheet, cell and column), or a
    :class:`ScenarioError` for a file that cannot be read at all.
    """
    shown = os.fspath(path)
    grids, is_csv = read_grids(path)
    reader = Reader(grids, is_csv)
    reader.read()
    notes = []
    original = None
    if reader.written_from:
        base = os.path.dirname(os.path.abspath(os.path.normpath(shown)))
        origin = os.path.normpath(os.path.join(base, reader.written_from))
        try:
            original = load_scenario(origin)
        except (ScenarioError, OSError):
            notes.append(f"written_from {reader.written_from}: not found or not a valid scenario, so changed "
                         "values could not be told from unchanged ones (only values with no source are marked "
                         "local data), and the pathway's settings the workbook does not hold are the defaults")
    if original is not None and not reader.problems:
        _pathway_from(original, reader.data)
    if not reader.problems:
        check_parts(reader)
    sc = None
    if not reader.problems:
        try:
            sc = validate_mapping(reader.data, shown)
        except ScenarioError as exc:
            schema_problem(reader, exc.field, exc.message)
    if reader.problems or sc is None:
        order = {s.name: i for i, s in enumerate(SHEETS)}

        def key(item):
            cell = item[0]
            return (order.get(cell.sheet.removesuffix(".csv"), 99), cell.row or 0, cell.col or 0)

        raise WorkbookError(shown, [c.say(m) for c, m in sorted(reader.problems, key=key)])
    name = os.path.basename(os.path.normpath(shown))

    def local_text(sheet: str) -> str:
        return f"local data: {name}/{sheet}" if is_csv else f"local data: {name}, {sheet}"

    res = build_sources(sc, reader.sheet_sources, reader.filled, local_text, original)
    data = dict(reader.data)
    data["sources"] = res.sources
    data = _ordered(data, Scenario)
    sc = validate_mapping(data, shown)
    for p in res.dropped:
        notes.append(f"sources: {p!r} matches no parameter of the scenario (a deleted service or pool, or a typo): "
                     "left out")
    return Imported(sc, data, shown, reader.written_from, res, notes)


def sheet_names() -> list[str]:
    """The sheets of a workbook, in order (notes first)."""
    return [NOTES, *BY_NAME]
