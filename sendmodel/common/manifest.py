"""One manifest for every output sendmodel writes: what made it, from what, with which versions.

Every results folder (a run, a comparison, a business case, a calibration, a sweep report) holds a
``manifest.json`` with the same base fields, so a result can be traced to its code and inputs, and an output
folder can be recognised as sendmodel's before it is replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import subprocess
import sys
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sendmodel.common.paths import PACKAGE_DIR, SOURCE_ROOT
from sendmodel.common.version import __version__

MANIFEST = "manifest.json"
_VERSIONS = ("numpy", "pandas", "scipy", "simpy", "pydantic")


@lru_cache(maxsize=1)
def _git_commit() -> str | None:
    """The source checkout's commit (with "+changes" when the tree differs from it), or None outside git."""
    try:
        head = subprocess.run(["git", "-C", str(SOURCE_ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(SOURCE_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return head.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 of the package's Python source (every ``.py`` under ``sendmodel/``, by relative path): names the
    code that ran even outside a git checkout, such as an installed wheel."""
    h = hashlib.sha256()
    for f in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(f.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def code_identity() -> dict[str, str | None]:
    """The code that ran: the package version, the git commit (None outside a checkout) and the source hash."""
    return {"sendmodel": __version__, "git_commit": _git_commit(), "source_sha256": source_hash()}


def versions() -> dict[str, str]:
    """Python's and the libraries' versions, as every manifest records them."""
    return {"python": platform.python_version(), **{p: _version(p) for p in _VERSIONS}}


def _version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def manifest(kind: str, **fields: Any) -> dict:
    """The base fields (kind, sendmodel version, git commit, command, Python and library versions, time) and
    the caller's own."""
    base = {
        "sendmodel": __version__,
        "kind": kind,
        "git_commit": _git_commit(),
        "command": list(sys.argv),
        **versions(),
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return {**base, **fields}


def write_manifest(folder: str | Path, kind: str, **fields: Any) -> Path:
    """Write ``manifest.json`` (base fields plus ``fields``) into ``folder``."""
    path = Path(folder) / MANIFEST
    path.write_text(json.dumps(manifest(kind, **fields), indent=2, default=str), encoding="utf-8")
    return path
