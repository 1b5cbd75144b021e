"""``sendmodel template`` and ``sendmodel import``: a spreadsheet in, a scenario out.

    sendmodel template area.xlsx [--from SCENARIO]       # a workbook to fill in, pre-filled from a scenario
    sendmodel template area/ --csv [--from SCENARIO]     # the same as a folder of CSV files, one per sheet
    sendmodel import area.xlsx --out scenarios/area.yaml # the filled-in workbook (or CSV folder) as a scenario

The scenario written is complete in itself (it extends no other file), so a service deleted from the workbook
stays deleted. Every bad cell is reported at once, by sheet, cell and column, and nothing is written until
there are none (exit status 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sendmodel.common.paths import SOURCE_ROOT

DEFAULT_FROM = SOURCE_ROOT / "scenarios" / "baseline.yaml"


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _user_errors():
    from sendmodel.common.io import OutputError
    from sendmodel.scenario.errors import ScenarioError

    return (ScenarioError, OutputError)


def cmd_template(args) -> int:
    from sendmodel.scenario.loading import load_scenario
    from sendmodel.scenario.workbook import not_carried, sheet_names, write_template

    out = Path(args.workbook)
    if args.csv:
        if out.exists() and not out.is_dir():
            return _fail(f"{out} is a file: give a folder for the CSV files (or leave out --csv for a workbook)")
        if out.is_dir() and any(out.iterdir()) and not args.force:
            return _fail(f"{out} already holds files: give a new folder, or --force to replace its sheets' CSV "
                         "files (other files are left alone)")
    else:
        if out.suffix.lower() != ".xlsx" or out.is_dir():
            return _fail(f"{out}: give a workbook file name ending .xlsx (or a folder with --csv)")
        if out.exists() and not args.force:
            return _fail(f"{out} already exists (perhaps filled in): give another name, or --force to replace it")
    try:
        sc = load_scenario(args.from_scenario)
        write_template(sc, out, csv=args.csv, written_from=args.from_scenario)
        missing = not_carried(sc, out)
    except _user_errors() as exc:
        return _fail(str(exc))
    if missing:
        print(f"warning: {args.from_scenario}: the {'folder' if args.csv else 'workbook'} does not hold "
              f"{', '.join(missing)}; after `sendmodel import`, add them to the imported scenario (or to a file "
              "that extends it)", file=sys.stderr)
    what = "folder of CSV files" if args.csv else "workbook"
    print(f"Wrote {out} ({what}: {', '.join(sheet_names())}), pre-filled from {args.from_scenario} "
          f"({sc.name}: {len(sc.services)} services, population {sc.population:,.0f}).")
    print(f"Fill it in (the notes {'file' if args.csv else 'sheet'} says what each column means), then:\n"
          f"  sendmodel import {out} --out scenarios/{_stem(out)}.yaml")
    return 0


def _stem(path: Path) -> str:
    name = path.stem if path.suffix else path.name
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name.lower()) or "area"


def _ours(path: Path) -> bool:
    """Whether a file is a scenario an earlier import wrote (so it may be replaced)."""
    from sendmodel.scenario.workbook import MARKER

    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return MARKER in f.readline()
    except OSError:
        return False


def cmd_import(args) -> int:
    from sendmodel.scenario.checks import scenario_warnings
    from sendmodel.scenario.workbook import WorkbookError, import_workbook

    out = Path(args.out)
    if out.suffix.lower() not in (".yaml", ".yml") or out.is_dir():
        return _fail(f"--out {out}: give a scenario file name ending .yaml")
    if out.exists() and not args.force and not _ours(out):
        return _fail(f"--out {out} already exists and was not written by `sendmodel import`: give another name, or "
                     "--force to replace it")
    try:
        imp = import_workbook(args.workbook)
    except WorkbookError as exc:
        print(f"error: {exc.file}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}; nothing "
              "written:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    except _user_errors() as exc:
        return _fail(f"{exc}; nothing written")
    try:
        imp.write(out)
    except _user_errors() as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or out}: {exc.strerror or exc}")
    sc = imp.scenario
    for w in scenario_warnings(sc):
        print(f"warning: {out}: {w}", file=sys.stderr)
    for n in imp.notes:
        print(f"note: {n}", file=sys.stderr)
    res = imp.sources
    print(f"Wrote {out}: scenario {sc.name} ({len(sc.services)} services, population {sc.population:,.0f}), "
          f"complete in itself, from {args.workbook}.")
    changed = (f" ({len(res.changed)} of them changed from {imp.written_from} with its source left as it was)"
               if res.changed else "")
    print(f"Sources: the sources sheet's rows, and 'local data' from the workbook for {len(res.local)} values with "
          f"no source there{changed}; `sendmodel params {out}` lists every value with its source.")
    print(f"Next: sendmodel run {out} --reps 10 --seed 1")
    return 0


def register(sub) -> None:
    t = sub.add_parser("template", help="write a workbook (or CSV folder) to fill in, pre-filled from a scenario",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("workbook", help="the workbook to write (.xlsx), or with --csv a folder of CSV files")
    t.add_argument("--from", dest="from_scenario", metavar="SCENARIO", default=os.path.relpath(DEFAULT_FROM)
                   if _near(DEFAULT_FROM) else str(DEFAULT_FROM),
                   help="the scenario to pre-fill it from (default: scenarios/baseline.yaml)")
    t.add_argument("--csv", action="store_true", help="write a folder of CSV files, one per sheet")
    t.add_argument("--force", action="store_true", help="replace a workbook (or the sheets' CSV files) already there")
    t.set_defaults(func=cmd_template)

    i = sub.add_parser("import", help="turn a filled-in workbook (or CSV folder) into a scenario file",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("workbook", help="the workbook (.xlsx) or folder of CSV files")
    i.add_argument("--out", required=True, metavar="FILE.yaml", help="the scenario file to write (.yaml)")
    i.add_argument("--force", action="store_true",
                   help="replace --out even if an import did not write it (an import's own file is always replaced)")
    i.set_defaults(func=cmd_import)


def _near(path: Path) -> bool:
    """Whether a path is under the working folder (then shown relative to it)."""
    try:
        return not os.path.relpath(path).startswith(os.pardir)
    except ValueError:
        return False
