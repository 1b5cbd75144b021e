"""errors."""

from __future__ import annotations

from pathlib import Path

from sendmodel.scenario.config import DIST_NAMES, Scenario, _RefError


class ScenarioError(ValueError):
    """A scenario (or sweep) file that cannot be used, with the file and field at fault."""

    def __init__(self, file: str | Path | None, field: str, message: str):
        self.file = str(file) if file is not None else "<scenario>"
        self.field = field
        self.message = message
        where = f"{self.file}: {field}" if field else self.file
        super().__init__(f"{where}: {message}")


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
