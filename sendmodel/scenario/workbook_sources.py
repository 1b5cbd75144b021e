"""The ``sources`` of a scenario read from a workbook: the sources sheet's rows, and "local data" for what the
workbook says that no row there accounts for (a value with no source, or one changed from the scenario the
workbook was written from while its source was left as that scenario's).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from sendmodel.scenario.config import Scenario


def _matches(path: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern + ".")


def _lookup(sources: dict[str, str], path: str) -> str | None:
    """The source for a field path: the longest matching pattern (as :func:`~sendmodel.scenario.loading.
    source_for` finds it), or None."""
    best, best_len = None, -1
    for pattern, src in sources.items():
        if _matches(path, pattern) and len(pattern) > best_len:
            best, best_len = src, len(pattern)
    return best


def leaves(model: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Every parameter of a scenario by field path, as ``sendmodel params`` lists them (a distribution, a list,
    a mapping of shares is one parameter), with its value as plain data."""
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name in ("sources", "description", "name"):
            continue
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel) and "dist" in type(value).model_fields:
            out[path] = value.model_dump(mode="json")
        elif isinstance(value, BaseModel):
            out.update(leaves(value, path + "."))
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            for k, v in value.items():
                out.update(leaves(v, f"{path}.{k}."))
        elif isinstance(value, list):
            out[path] = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
        elif isinstance(value, dict):
            out[path] = dict(value)
        else:
            out[path] = value.isoformat() if isinstance(value, dt.date) else value
    return out


def _entity(path: str) -> str:
    parts = path.split(".")
    return ".".join(parts[:2]) if parts[0] in ("services", "pools") and len(parts) > 2 else parts[0]


@dataclass
class SourcesResult:
    sources: dict[str, str]
    local: list[str]  # parameters sourced "local data" from the workbook
    changed: list[str]  # of those, parameters changed from the scenario the workbook was written from
    dropped: list[str]  # rows of the sources sheet that match no parameter (a deleted service, a typo)


def build_sources(sc: Scenario, sheet_sources: dict[str, str], filled: dict[str, str], local_text,
                  original: Scenario | None) -> SourcesResult:
    """The scenario's ``sources``: the sources sheet's rows (those matching a parameter), then "local data"
    for each parameter read from the workbook that has no source there, or that differs from ``original``
    while its source there is still ``original``'s. Written compactly (one line for a service or section whose
    every value is local data), then checked parameter by parameter against what each should say."""
    params = leaves(sc)
    kept = {}
    dropped = []
    for pattern, src in sheet_sources.items():
        if any(_matches(p, pattern) or pattern.startswith(p + ".") or pattern.startswith(p + "[") for p in params):
            kept[pattern] = src
        else:
            dropped.append(pattern)
    orig_params = leaves(original) if original is not None else {}
    orig_sources = dict(original.sources) if original is not None else {}
    read: dict[str, str] = {}
    for p in params:
        for f, sheet in filled.items():
            if f == p or f.startswith(p + ".") or f.startswith(p + "["):
                read[p] = sheet
                break
    want: dict[str, str | None] = {}
    local: list[str] = []
    changed: list[str] = []
    for p in params:
        src = _lookup(kept, p)
        if p in read:
            differs = original is not None and (p not in orig_params or orig_params[p] != params[p])
            if src is None or (differs and src == _lookup(orig_sources, p)):
                want[p] = local_text(read[p])
                local.append(p)
                if differs and src is not None:
                    changed.append(p)
                continue
        want[p] = src
    local_set = set(local)
    out = dict(kept)
    groups: dict[tuple[str, str], list[str]] = {}
    for p in local:
        groups.setdefault((_entity(p), want[p]), []).append(p)  # type: ignore[arg-type]
    used: set[str] = set()
    for (ent, text), ps in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if len(ps) > 1 and ent not in used and ent not in out:
            trial = {**out, ent: text}
            under = [p for p in params if p == ent or p.startswith(ent + ".")]
            # every other parameter under it keeps its source (one left empty has none to keep); a local one
            # shadowed by it gets its own line below
            if all(p in local_set or _lookup(trial, p) == want[p] or (want[p] is None and params[p] in (None, [], {}))
                   for p in under):
                out[ent] = text
                used.add(ent)
                continue
        for p in ps:
            out[p] = text
    order = list(params)

    def first(key: str) -> int:
        return min((i for i, p in enumerate(order) if p == key or p.startswith(key + ".")), default=len(order))

    out = {**kept, **dict(sorted(((k, v) for k, v in out.items() if k not in kept), key=lambda kv: first(kv[0])))}
    for attempt in range(3):
        wrong = [p for p in params if want[p] is not None and _lookup(out, p) != want[p]]
        if not wrong:
            break
        for p in wrong:
            out[p] = want[p]  # type: ignore[assignment]
        if attempt:  # a pattern as long as the path: the first one written wins
            out = {**{p: out[p] for p in wrong}, **{k: v for k, v in out.items() if k not in wrong}}
    return SourcesResult(out, local, changed, dropped)
