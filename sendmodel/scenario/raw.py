"""The mapping behind a scenario: merging files, applying overrides, and validating with the error pointing at
where each value came from.

A scenario remembers the merged mapping it was validated from and its *layers*: the file loaded, the files it
``extends``, and any overrides (each a file name and the line of every field path in it). When validation
fails, the error names the layer that set the bad value (a parent's own value is reported against the parent,
with its line). This module knows nothing of the schema: the model class is passed in, so the schema
(:mod:`sendmodel.scenario.config`) can use it for ``Scenario.override`` without an import cycle.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from sendmodel.scenario.errors import ScenarioError, dotted, from_validation_error, short_repr
from sendmodel.scenario.reading import MAX_DEPTH, MAX_VALUES


@dataclass(frozen=True)
class Layer:
    """Where values came from: a file and the line of each field path in it, or an override of a scenario
    (``lines`` then holds the changed paths, line None) reported against the scenario's file."""

    file: str | None
    lines: Mapping[str, int | None]
    override: bool = False


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` on top of ``base``: mappings merge key by key; lists, values and a distribution of another
    family replace."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        base_v = out.get(k)
        merge = isinstance(v, dict) and isinstance(base_v, dict)
        if merge and "dist" in v and v["dist"] != base_v.get("dist"):
            merge = False  # a distribution of another family replaces the base's (its parameters would not fit)
        if merge:
            out[k] = deep_merge(base_v, v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _present(data: Any, parts: tuple) -> int:
    """How many leading parts of a field path exist in ``data``."""
    node = data
    for i, p in enumerate(parts):
        if isinstance(node, dict) and p in node:
            node = node[p]
        elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
            node = node[p]
        else:
            return i
    return len(parts)


def blamer(data: dict, layers: tuple[Layer, ...], default: str | None):
    """A function giving, for a field path, the (file, line) its value came from: the first layer (overrides,
    the file loaded, then its parents) that sets the longest part of the path that exists."""

    def blame(parts: tuple) -> tuple[str | None, int | None]:
        for k in range(_present(data, parts), 0, -1):
            key = dotted(parts[:k])
            for layer in layers:
                if key in layer.lines:
                    return layer.file, layer.lines[key]
        return default, None

    return blame


def validate(cls: type[BaseModel], data: dict, file: str | None, sources: tuple = ()):
    """Validate a merged mapping into ``cls``, keeping the mapping, file and layers on the result; raises
    :class:`ScenarioError` naming the layer where the bad value is."""
    if not isinstance(data, dict):
        raise ScenarioError(file, "", f"a scenario is a mapping of fields (key: value), not {short_repr(data)}")
    uncertain: list = []
    point = data
    if "_uncertain" in getattr(cls, "__private_attributes__", {}):  # ranges: validate at their central values
        from sendmodel.scenario.uncertain import extract

        point, uncertain = extract(data, file)
    try:
        sc = cls.model_validate(point)
    except ValidationError as exc:
        raise from_validation_error(exc, file, cls, blame=blamer(data, tuple(sources), file)) from None
    except RecursionError:
        raise ScenarioError(file, "", "a value is nested too deeply to be a scenario") from None
    sc._raw = copy.deepcopy(data)
    sc._file = file
    sc._sources = tuple(sources)
    if uncertain:
        sc._uncertain = tuple(uncertain)
    return sc


def plain(value: Any, file, path: str, depth: int = 0, budget: list | None = None) -> Any:
    """``value`` as plain data (numbers, text, true/false, dates, lists, mappings), or a ScenarioError."""
    budget = budget if budget is not None else [MAX_VALUES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ScenarioError(file, path, f"the value holds more than {MAX_VALUES:,} items: refused")
    if depth > MAX_DEPTH:
        raise ScenarioError(file, path, f"the value is nested more than {MAX_DEPTH} levels deep: refused")
    if value is None or isinstance(value, (bool, int, float, str, dt.date)):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump()
    if type(value).__module__ == "numpy" and callable(getattr(value, "tolist", None)):
        return plain(value.tolist(), file, path, depth + 1, budget)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ScenarioError(file, path, f"a mapping's keys must be text (got {short_repr(k)})")
            out[k] = plain(v, file, f"{path}.{k}", depth + 1, budget)
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v, file, f"{path}[{i}]", depth + 1, budget) for i, v in enumerate(value)]
    raise ScenarioError(file, path, f"cannot use a value of type {type(value).__name__} ({short_repr(value)}); "
                        "give a number, text, true/false, a date, a list or a mapping")


def set_path(data: dict, dotted_path: str, value: Any, file) -> None:
    """Set ``data[a][b][c] = value`` for ``a.b.c``, creating missing sections (validation rejects unknown
    names)."""
    keys = dotted_path.split(".")
    node = data
    for i, k in enumerate(keys[:-1]):
        nxt = node.setdefault(k, {})
        if not isinstance(nxt, dict):
            raise ScenarioError(file, dotted_path, f"{'.'.join(keys[: i + 1])!r} is a value, not a section")
        node = nxt
    node[keys[-1]] = value


def with_override(layers: tuple, file: str | None, changed: Mapping[str, None]) -> tuple:
    """The layers with an override of ``file`` on top (merged into the top one if that is an override too)."""
    layers = tuple(layers)
    if layers and layers[0].override and layers[0].file == file:
        return (Layer(file, {**layers[0].lines, **changed}, True), *layers[1:])
    return (Layer(file, dict(changed), True), *layers)


def apply_changes(raw: dict, layers: tuple, file: str | None, changes: Any,
                  name: Any = None) -> tuple[dict, tuple]:
    """A copy of ``raw`` with ``changes`` (dotted path -> value) applied, and the layers with the override on
    top; every problem with ``changes`` itself is a :class:`ScenarioError`."""
    if not isinstance(changes, Mapping):
        raise ScenarioError(file, "", "changes must be a mapping of field path -> value, e.g. "
                            f"{{'services.slt.pas_per_week': 30}} (got {type(changes).__name__})")
    raw = copy.deepcopy(raw)
    changed: dict[str, None] = {}
    for path, value in changes.items():
        if not isinstance(path, str):
            raise ScenarioError(file, short_repr(path), "a field path must be text, like "
                                f"services.slt.pas_per_week (got {type(path).__name__})")
        parts = path.split(".")
        if "" in parts:
            raise ScenarioError(file, path, "not a field path (like services.slt.pas_per_week)")
        if parts[0] == "services" and len(parts) >= 2:
            services = raw.get("services") if isinstance(raw.get("services"), dict) else {}
            if parts[1] not in services:
                raise ScenarioError(file, path, f"unknown service {parts[1]!r}; allowed: one of {sorted(services)}")
        set_path(raw, path, plain(value, file, path), file)
        for k in range(1, len(parts) + 1):
            changed[".".join(parts[:k])] = None
    if name is not None:
        raw["name"] = plain(name, file, "name")
        changed["name"] = None
    return raw, with_override(layers, file, changed)
