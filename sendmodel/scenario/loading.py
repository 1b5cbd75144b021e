"""Scenario files: YAML in, a validated :class:`~sendmodel.config.Scenario` out.

A file may say ``extends: other.yaml`` (relative to itself) and override any fields; mappings merge key by key,
lists and scalars replace. Every problem becomes one :class:`ScenarioError` naming the file, the field path and
what is allowed, so a commissioner editing YAML knows exactly what to fix.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sendmodel.scenario.config import Scenario
from sendmodel.scenario.errors import ScenarioError, _explain


def _deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        base_v = out.get(k)
        merge = isinstance(v, dict) and isinstance(base_v, dict)
        if merge and "dist" in v and v["dist"] != base_v.get("dist"):
            merge = False  # a distribution of another family replaces the base's (its parameters would not fit)
        if merge:
            out[k] = _deep_merge(base_v, v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        raise ScenarioError(path, "", "file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(path, "", f"not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(path, "", "the file must hold a mapping of fields (key: value)")
    return data


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read a scenario file and everything it extends into one merged mapping (not yet validated)."""
    path = Path(path).resolve()
    if path in _chain:
        loop = " -> ".join(p.name for p in (*_chain, path))
        raise ScenarioError(_chain[-1], "extends", f"extends loop: {loop}")
    data = _read_yaml(path) if not _chain else _read_yaml_for_parent(path, _chain[-1])
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", "must be a file name (relative to this file)")
    base = load_raw(path.parent / parent, (*_chain, path))
    return _deep_merge(base, data)


def _read_yaml_for_parent(path: Path, child: Path) -> dict:
    if not path.exists():
        raise ScenarioError(child, "extends", f"file not found: {path}")
    return _read_yaml(path)


def validate_mapping(data: dict, file: str | Path | None = None) -> Scenario:
    """Validate a merged mapping into a :class:`Scenario`, raising :class:`ScenarioError`."""
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        errs = exc.errors()
        path, msg = _explain(errs[0])
        if len(errs) > 1:
            msg += f" (and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''})"
        raise ScenarioError(file, path, msg) from None
    object.__setattr__(sc, "_raw", copy.deepcopy(data))
    object.__setattr__(sc, "_file", str(file) if file is not None else None)
    return sc


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (following ``extends``).

    Raises
    ------
    ScenarioError
        Naming the file, the field path and what is allowed.
    """
    raw = load_raw(path)
    return validate_mapping(raw, path)


def _set_path(data: dict, dotted: str, value: Any, file) -> None:
    keys = dotted.split(".")
    node = data
    for i, k in enumerate(keys[:-1]):
        nxt = node.setdefault(k, {})  # a missing section is created; validation rejects unknown names
        if not isinstance(nxt, dict):
            raise ScenarioError(file, dotted, f"{'.'.join(keys[: i + 1])!r} is a value, not a section")
        node = nxt
    node[keys[-1]] = copy.deepcopy(value)


def override(scenario: Scenario, changes: dict[str, Any], name: str | None = None) -> Scenario:
    """Return a new, re-validated scenario with fields changed by dotted path.

    Examples
    --------
    >>> sc2 = override(sc, {"services.slt.pas_per_week": 30})  # doctest: +SKIP
    """
    raw = copy.deepcopy(raw_of(scenario))
    file = getattr(scenario, "_file", None)
    for path, value in changes.items():
        if path.split(".")[0] == "services" and len(path.split(".")) >= 2:
            svc = path.split(".")[1]
            if svc not in raw.get("services", {}):
                raise ScenarioError(
                    file, path, f"unknown service {svc!r}; allowed: one of {sorted(raw.get('services', {}))}"
                )
        _set_path(raw, path, value, file)
    if name is not None:
        raw["name"] = name
    return validate_mapping(raw, file)


def raw_of(scenario: Scenario) -> dict:
    """The merged mapping a scenario was validated from."""
    raw = getattr(scenario, "_raw", None)
    if raw is None:
        raw = scenario.model_dump(mode="json", exclude_unset=True)
    return raw


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


# Attach the override method so widgets and sweeps can write `scenario.override({...})`.
Scenario.override = override  # type: ignore[attr-defined]
