"""Scenario files: YAML in, a validated :class:`~sendmodel.scenario.config.Scenario` out.

A file may say ``extends: other.yaml`` (relative to itself) and override any fields; mappings merge key by key,
lists and scalars replace. Every problem becomes one :class:`ScenarioError` naming the file where the value is
(a parent's own bad value is reported against the parent, with its line), the field path and what is allowed,
so a commissioner editing YAML knows exactly what to fix. Files are read by :mod:`sendmodel.scenario.reading`
(safe YAML, UTF-8, size and depth limits, duplicate keys refused).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sendmodel.scenario.config import Scenario
from sendmodel.scenario.errors import ScenarioError, short_repr
from sendmodel.scenario.open_cases import read_open_cases
from sendmodel.scenario.raw import Layer as _Layer
from sendmodel.scenario.raw import deep_merge as _deep_merge
from sendmodel.scenario.raw import validate
from sendmodel.scenario.reading import read_yaml

MAX_EXTENDS = 20  # files in one extends chain


def _read_yaml(path: Path, shown: str | None = None) -> dict:
    """A YAML file's top-level mapping (every failure a :class:`ScenarioError`)."""
    return read_yaml(path, shown).data


def _chain(path: str | Path) -> tuple[dict, list[_Layer]]:
    """The merged mapping of a file and everything it extends, and its layers (the file first, then its parents)."""
    shown = os.fspath(path)
    layers: list[_Layer] = []
    docs: list[dict] = []
    seen: list[Path] = []
    current, current_shown = Path(path), shown
    while True:
        try:
            real = current.resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # a name too long, a NUL byte, a symlink loop
            where = (layers[-1].file, "extends") if layers else (current_shown, "")
            raise ScenarioError(*where, f"cannot use the file name {short_repr(str(current))}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
        if real in seen:
            loop = " -> ".join(p.name for p in (*seen, real))
            raise ScenarioError(layers[-1].file, "extends", f"extends loop: {loop}")
        seen.append(real)
        doc = read_yaml(current, current_shown)
        data = dict(doc.data)
        layers.append(_Layer(current_shown, doc.lines))
        _read_open_cases(data, current, current_shown, doc.lines.get("ehc.open_cases_file"))
        parent = data.pop("extends", None)
        docs.append(data)
        if parent is None:
            break
        if not isinstance(parent, str):
            raise ScenarioError(current_shown, "extends", f"must be a file name (relative to this file), not "
                                f"{short_repr(parent)}", line=doc.lines.get("extends"))
        nxt = current.parent / parent
        nxt_shown = os.path.normpath(os.path.join(os.path.dirname(current_shown), parent))
        line = doc.lines.get("extends")
        try:
            is_dir, exists = nxt.is_dir(), nxt.exists()
        except (OSError, ValueError) as exc:
            raise ScenarioError(current_shown, "extends", f"cannot use the file name {short_repr(parent)}: "
                                f"{getattr(exc, 'strerror', None) or exc}", line=line) from None
        if not parent.strip() or is_dir:
            raise ScenarioError(current_shown, "extends", f"{parent!r} names a folder ({nxt_shown}), not a "
                                "scenario file; give the file, e.g. extends: baseline.yaml", line=line)
        if not exists:
            raise ScenarioError(current_shown, "extends", f"file not found: {nxt}", line=line)
        if len(seen) >= MAX_EXTENDS:
            raise ScenarioError(current_shown, "extends", f"more than {MAX_EXTENDS} files extend one another: "
                                "refused", line=line)
        current, current_shown = nxt, nxt_shown
    merged: dict = {}
    for d in reversed(docs):
        merged = _deep_merge(merged, d)
    return merged, layers


def _read_open_cases(data: dict, file: Path, shown: str, line: int | None) -> None:
    """A layer's ``ehc.open_cases_file`` (relative to that layer's file), read into ``ehc.open_case_list``."""
    ehc = data.get("ehc")
    name = ehc.get("open_cases_file") if isinstance(ehc, dict) else None
    if not isinstance(name, str):
        return  # absent, or a wrong type the schema reports
    if not name.strip():
        raise ScenarioError(shown, "ehc.open_cases_file", "is empty; give a CSV file name or remove the key",
                            line=line)
    csv_path = file.parent / name
    csv_shown = os.path.normpath(os.path.join(os.path.dirname(shown), name))
    if "open_case_list" in ehc:
        raise ScenarioError(shown, "ehc.open_cases_file", "give open cases either as open_cases_file or as "
                            "open_case_list, not both", line=line)
    data["ehc"] = {**ehc, "open_cases_file": csv_shown, "open_case_list": read_open_cases(csv_path, csv_shown)}


def _blame_csv(err: ScenarioError, sc_raw: dict) -> ScenarioError:
    """An error in a row read from an open-case CSV, named by that file and its row (header = row 1)."""
    m = re.match(r"ehc\.open_case_list\[(\d+)\](?:\.(\w+))?", err.field or "")
    csv_shown = (sc_raw.get("ehc") or {}).get("open_cases_file") if isinstance(sc_raw.get("ehc"), dict) else None
    if not m or not csv_shown:
        return err
    where = f"row {int(m.group(1)) + 2}" + (f", column {m.group(2)}" if m.group(2) else "")
    return ScenarioError(csv_shown, where, err.message)


def load_raw(path: str | Path) -> dict:
    """Read a scenario file and everything it extends into one merged mapping (not yet validated)."""
    return _chain(path)[0]


def validate_mapping(data: dict, file: str | Path | None = None, *, sources: tuple = ()) -> Scenario:
    """Validate a merged mapping into a :class:`Scenario`, raising :class:`ScenarioError`.

    ``sources`` (the layers the mapping came from, as :func:`load_scenario` finds them) lets an error name the
    file, and the line, where the bad value is; without it errors name ``file``.
    """
    return validate(Scenario, data, os.fspath(file) if file is not None else None, sources)


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (following ``extends``).

    Raises
    ------
    ScenarioError
        Naming the file where the bad value is (the file, or a parent it extends), the line where it is known,
        the field path and what is allowed.
    """
    raw, layers = _chain(path)
    try:
        return validate_mapping(raw, path, sources=tuple(layers))
    except ScenarioError as err:
        raise _blame_csv(err, raw) from None


# --- override ------------------------------------------------------------------------------------------------


def override(scenario: Scenario, changes: Mapping[str, Any], name: str | None = None) -> Scenario:
    """Return a new, re-validated scenario with fields changed by dotted path (``scenario.override`` does the
    same).

    Raises :class:`ScenarioError` for anything that does not make a valid scenario: a path that is not a field,
    a value the field cannot take, ``changes`` that is not a mapping of path -> value.

    Examples
    --------
    >>> sc2 = override(sc, {"services.slt.pas_per_week": 30})  # doctest: +SKIP
    """
    if not isinstance(scenario, Scenario):
        raise ScenarioError(None, "", f"override needs a Scenario (got {type(scenario).__name__})")
    return scenario.override(changes, name)


def raw_of(scenario: Scenario) -> dict:
    """The merged mapping a scenario was validated from (its fields, for one built in memory)."""
    raw = getattr(scenario, "_raw", None)
    if raw is None:
        raw = scenario.model_dump(mode="json", exclude_unset=True)
    return raw


def file_of(scenario: Scenario) -> str | None:
    """The file a scenario was loaded from (as given), or None."""
    return getattr(scenario, "_file", None)


def config_hash(scenario: Scenario) -> str:
    """A short stable hash of the scenario's content (for manifests and caches)."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def source_for(scenario: Scenario, path: str) -> str:
    """The source recorded for a field path (longest matching glob in ``sources``)."""
    best, best_len = None, -1
    for pattern, src in scenario.sources.items():
        if fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern + "."):
            if len(pattern) > best_len:
                best, best_len = src, len(pattern)
    return best or "assumption: replace with local data"
