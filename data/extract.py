"""Refresh the small data extracts in this folder from the shared copies of the DfE and ONS files.

    python data/extract.py /work/shared/data

Copies, byte for byte, the header and the national rows (``geographic_level == National``) of three DfE SEN2
files, and whole the two small files (a derived national time series and the ONS population). Prints each
source file's SHA-256 so the README's provenance table can be checked. Standard library only.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEN2_2025 = "sen2_ehcp/release_2025_reporting_year/data"
NATIONAL_ROWS = {  # source (relative to the shared data folder) -> extract in this folder
    f"{SEN2_2025}/requests.csv": "sen2/requests_national.csv",
    f"{SEN2_2025}/assessments.csv": "sen2/assessments_national.csv",
    f"{SEN2_2025}/timeliness_20_week.csv": "sen2/timeliness_20_week_national.csv",
}
WHOLE = {
    "sen2_ehcp/derived/national_timeseries_2014_2025.csv": "sen2/national_timeseries_2014_2025.csv",
    "ons_population/england_mid2023_single_year_age_0_25.csv": "ons/england_mid2023_single_year_age_0_25.csv",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def national_rows(src: Path, dst: Path) -> int:
    """Header plus rows whose third column is ``National`` (the files have no quoted commas before it)."""
    lines = src.read_bytes().splitlines(keepends=True)
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.split(b",")[2] == b"National"]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b"".join(keep))
    return len(keep) - 1


def main(shared: str) -> int:
    root = Path(shared)
    for rel, out in NATIONAL_ROWS.items():
        n = national_rows(root / rel, HERE / out)
        print(f"{out}: {n} national rows from {rel} (sha256 {sha256(root / rel)})")
    for rel, out in WHOLE.items():
        (HERE / out).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, HERE / out)
        print(f"{out}: copied from {rel} (sha256 {sha256(root / rel)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[1] / "shared" / "data")))
