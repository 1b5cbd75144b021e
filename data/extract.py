"""Refresh the small data extracts in this folder from the shared copies of the DfE and ONS files.

    python data/extract.py /work/shared/data

Copies, byte for byte, the header and the national rows (``geographic_level == National``) of three DfE SEN2
files; the header and the local authority, regional and national rows of the SEN2 files a local model needs
(``*_la.csv``: every breakdown, except in the large caseload file, where only the breakdowns named in
``LA_ROWS`` are kept); and whole the small files (a derived national time series, the ONS population and the
MoJ/DfE tribunal appeal-rate table, which is a spreadsheet layout with no ``geographic_level`` column). Prints
each source file's SHA-256 so the README's provenance table can be checked. Standard library only.
"""

# ruff: noqa: T201  (a script that reports what it copied)
from __future__ import annotations

import csv
import hashlib
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEN2_2025 = "sen2_ehcp/release_2025_reporting_year/data"
SUPPORT_2025 = "sen2_ehcp/release_2025_reporting_year/supporting-files"
SEN2_2022 = "sen2_ehcp/release_2022_reporting_year/data"
NATIONAL = ("National",)
GEOGRAPHIC = ("Local authority", "Regional", "National")
NATIONAL_ROWS = {  # source (relative to the shared data folder) -> extract in this folder
    f"{SEN2_2025}/requests.csv": "sen2/requests_national.csv",
    f"{SEN2_2025}/assessments.csv": "sen2/assessments_national.csv",
    f"{SEN2_2025}/timeliness_20_week.csv": "sen2/timeliness_20_week_national.csv",
}
#: source -> (extract, breakdowns kept): national rows of the files the plans-in-force caseload reads (plans
#: ceased and new plans, all and by age), without the ethnicity, sex and placement rows.
NATIONAL_TOPICS: dict[str, tuple[str, tuple[str, ...]]] = {
    f"{SEN2_2025}/ceased_plans.csv": ("sen2/ceased_plans_national.csv", ("All ceased EHC plans", "Age plan ceased")),
    f"{SEN2_2025}/newplans.csv": ("sen2/newplans_national.csv", ("New EHC plans", "Age when plan started")),
}
#: source -> (extract, the ``breakdown_topic`` values kept, or None for every breakdown). Only the breakdowns a
#: local model reads are kept (all rows, and by age; annual reviews also by years the plan has been in place):
#: ethnicity, sex and placement type are left in the source files, which keeps this folder a few MB.
AGE = "Child or young persons age"
LA_ROWS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    f"{SEN2_2025}/requests.csv": ("sen2/requests_la.csv", ("All requests for EHC needs assessments", AGE)),
    f"{SEN2_2025}/assessments.csv": ("sen2/assessments_la.csv", ("All EHC needs assessments", AGE)),
    f"{SEN2_2025}/timeliness_20_week.csv": ("sen2/timeliness_20_week_la.csv", ("All EHC plans issued", AGE)),
    f"{SEN2_2025}/caseload.csv": ("sen2/caseload_la.csv", ("All EHC plans", AGE)),
    f"{SEN2_2025}/annual_reviews.csv": ("sen2/annual_reviews_la.csv",
                                        ("All annual reviews", AGE, "Years EHC plan in place")),
    f"{SUPPORT_2025}/sen2_dmo_dco.csv": ("sen2/sen2_dmo_dco_la.csv", None),
    f"{SEN2_2022}/sen2_mi.csv": ("sen2/sen2_mi_la.csv", None),
    f"{SEN2_2022}/sen2_wbp_residential_dmo.csv": ("sen2/sen2_wbp_residential_dmo_la.csv", None),
}
WHOLE = {
    "sen2_ehcp/derived/national_timeseries_2014_2025.csv": "sen2/national_timeseries_2014_2025.csv",
    "ons_population/england_mid2023_single_year_age_0_25.csv": "ons/england_mid2023_single_year_age_0_25.csv",
    f"{SUPPORT_2025}/SEND Tribunals and appeal rate 2014-2024.csv": (
        "sen2/send_tribunal_appeal_rate_2014_2024.csv"
    ),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fields(line: bytes) -> list[str]:
    """One CSV record's fields (la_name can hold a quoted comma: "Bristol, City of")."""
    return next(csv.reader([line.decode("utf-8-sig")]))


def select_rows(src: Path, dst: Path, levels: tuple[str, ...], topics: tuple[str, ...] | None = None) -> int:
    """Header plus the rows whose ``geographic_level`` is in ``levels`` (and, if given, whose
    ``breakdown_topic`` is in ``topics``), each line copied byte for byte. Returns the number of rows kept."""
    lines = src.read_bytes().splitlines(keepends=True)
    header = _fields(lines[0])
    geo = header.index("geographic_level")
    top = header.index("breakdown_topic") if topics is not None else None
    keep = [lines[0]]
    for ln in lines[1:]:
        f = _fields(ln)
        if f[geo] in levels and (top is None or f[top] in topics):
            keep.append(ln)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b"".join(keep))
    return len(keep) - 1


def national_rows(src: Path, dst: Path) -> int:
    """Header plus the national rows, byte for byte."""
    return select_rows(src, dst, NATIONAL)


def main(shared: str) -> int:
    root = Path(shared)
    for rel, out in NATIONAL_ROWS.items():
        n = national_rows(root / rel, HERE / out)
        print(f"{out}: {n} national rows from {rel} (sha256 {sha256(root / rel)})")
    for rel, (out, topics) in NATIONAL_TOPICS.items():
        n = select_rows(root / rel, HERE / out, NATIONAL, topics)
        print(f"{out}: {n} national rows (breakdowns {' / '.join(topics)}) from {rel} (sha256 {sha256(root / rel)})")
    for rel, (out, topics) in LA_ROWS.items():
        n = select_rows(root / rel, HERE / out, GEOGRAPHIC, topics)
        what = "every breakdown" if topics is None else "breakdowns " + " / ".join(topics)
        same = " = the whole source file" if sha256(root / rel) == sha256(HERE / out) else ""
        print(f"{out}: {n} LA/regional/national rows ({what}){same} from {rel} (sha256 {sha256(root / rel)})")
    for rel, out in WHOLE.items():
        (HERE / out).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, HERE / out)
        print(f"{out}: copied from {rel} (sha256 {sha256(root / rel)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[1] / "shared" / "data")))
