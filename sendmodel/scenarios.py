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

from .config import DIST_NAMES, Scenario, _RefError


class ScenarioError(ValueError):
    """A scenario (or sweep) file that cannot be used, with the file and field at fault."""

    def __init__(self, file: str | Path | None, field: str, message: str):
        self.file = str(file) if file is not None else "<scenario>"
        self.field = field
        self.message = message
        where = f"{self.file}: {field}" if field else self.file
        super().__init__(f"{where}: {message}")


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


def _loc_to_path(loc: tuple) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p in DIST_NAMES or p in ("function-after", "function-before"):
            continue  # pydantic's union-branch tags, not field names
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def _fields_at(loc: tuple) -> list[str]:
    """Field names allowed in the section at pydantic location ``loc`` (empty if it cannot be told)."""
    import types
    from typing import Annotated, Union, get_args, get_origin

    from pydantic import BaseModel

    def unwrap(t, tag=None):
        while True:
            if get_origin(t) is Annotated:
                t = get_args(t)[0]
            elif get_origin(t) in (Union, types.UnionType):
                models = [a for a in get_args(t) if isinstance(a, type) and issubclass(a, BaseModel)]
                if tag is not None:
                    models = [m for m in models if "dist" in m.model_fields
                              and tag in get_args(m.model_fields["dist"].annotation)] or models
                if not models:
                    return t
                t = models[0]
            else:
                return t

    t = Scenario
    parts = list(loc)
    while parts:
        p = parts.pop(0)
        t = unwrap(t, p if p in DIST_NAMES else None)
        if isinstance(t, type) and issubclass(t, BaseModel):
            if p in DIST_NAMES and "dist" in t.model_fields:
                continue  # pydantic's union-branch tag, already chosen
            if p not in t.model_fields:
                return []
            t = t.model_fields[p].annotation
        elif get_origin(t) is dict:
            t = get_args(t)[1]
        elif get_origin(t) is list:
            t = get_args(t)[0]
        else:
            return []
    t = unwrap(t)
    if isinstance(t, type) and issubclass(t, BaseModel):
        return list(t.model_fields)
    return []


def _explain(err: dict) -> tuple[str, str]:
    loc = tuple(err.get("loc", ()))
    ctx = err.get("ctx") or {}
    exc = ctx.get("error")
    if isinstance(exc, _RefError):
        return exc.path, exc.message
    path = _loc_to_path(loc)
    typ = err.get("type", "")
    got = err.get("input")
    if typ == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        hint = f"; allowed: {allowed}" if allowed else " (check the spelling; `sendmodel params` lists every field)"
        return path, f"unknown field {loc[-1]!r}{hint}"
    if typ == "missing":
        return path, "required field is missing"
    if typ == "union_tag_invalid" or typ == "union_tag_not_found":
        return path, f"dist must be one of {list(DIST_NAMES)} (got {got!r})"
    if typ == "literal_error":
        return path, f"{err['msg']} (got {got!r})"
    msg = err["msg"].removeprefix("Value error, ")
    if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") or typ.endswith("_type") or (
        typ.endswith("_parsing")
    ):
        msg = f"{msg} (got {got!r})"
    return path, msg


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


def scenario_warnings(scenario: Scenario) -> list[str]:
    """Settings that run but are probably not what was meant: work sent to a service with no PAs, which then
    waits for ever (the run still finishes; its KPIs show that work as open). The CLI prints these and the
    dashboards show them beside the levers."""

    def no_capacity(name: str) -> bool:
        s = scenario.services[name]
        return scenario.service_pas_per_week(name) <= 0 and not any(
            c.pas_per_week_delta > 0 for c in s.capacity_changes
        )

    out = []
    ehc = scenario.ehc
    if ehc is not None and ehc.requests_per_year_per_70k > 0:
        if ehc.admin_support and ehc.admin_service and no_capacity(ehc.admin_service):
            out.append("Admin support is on but has no PAs a week: DMO/DCO admin will wait for ever. "
                       "Give admin support some PAs.")
        if ehc.triage.enabled and ehc.triage.service and no_capacity(ehc.triage.service):
            out.append("Triage is on but has no PAs a week: health advice requests will wait at the front door. "
                       "Give triage some PAs.")
        if ehc.p_exceptional_provision > 0 and no_capacity(ehc.dmo_service):
            out.append("The DMO/DCO has no PAs a week: exceptional provision is never signed off.")
        if no_capacity(ehc.la_service):
            out.append(f"{scenario.services[ehc.la_service].label} has no PAs a week: no request is ever decided.")
        for name in scenario.advice_services():
            if no_capacity(name):
                out.append(f"{scenario.services[name].label} is asked for EHC advice but has no PAs a week: "
                           "its advice never comes.")
    for name, s in scenario.services.items():
        routine = s.routine_referrals_per_week_per_70k > 0 or any(b.n_per_70k > 0 for b in s.backlog)
        if routine and no_capacity(name) and name not in scenario.advice_services():
            out.append(f"{s.label} has routine referrals but no PAs a week: nobody is ever seen.")
    return out


# Attach the override method so widgets and sweeps can write `scenario.override({...})`.
Scenario.override = override  # type: ignore[attr-defined]
