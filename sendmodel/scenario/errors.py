"""One error for every input that cannot be used, and the one translation of pydantic's errors into it.

:class:`ScenarioError` names the file (the file where the value is, parents of an ``extends`` chain included),
the line where known, the field path and what is allowed. :func:`from_validation_error` turns a pydantic
``ValidationError`` from any model (a scenario, a sweep spec) into one; the scenario loader and the sweep spec
reader both use it.
"""

from __future__ import annotations

import reprlib
import types
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError


class _RefError(ValueError):
    """A cross-field error raised inside a model's validator that knows its own field path (pydantic would
    report it at the model)."""

    def __init__(self, path: str, message: str, whole: bool = False):
        super().__init__(message)
        self.path = path
        self.message = message
        self.whole = whole  # about the scenario as a whole (sizes): report it against the file loaded


class ScenarioError(ValueError):
    """A scenario (or sweep) file that cannot be used, with the file and field at fault."""

    def __init__(self, file: str | Path | None, field: str, message: str, line: int | None = None):
        self.file = str(file) if file is not None else "<scenario>"
        self.field = field
        self.message = message
        self.line = line
        parts = [str(file)] if file is not None else []  # a scenario built in memory has no file to name
        where = ": ".join([*parts, field] if field else parts) or "scenario"
        where = where if line is None else f"{where} (line {line})"
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # picklable (errors cross process boundaries in a pool)
        return (type(self), (self.file, self.field, self.message, self.line))


# --- field paths ---------------------------------------------------------------------------------------------


def dotted(parts) -> str:
    """``('services', 'slt', 'backlog', 0, 'age_weeks')`` -> ``'services.slt.backlog[0].age_weeks'``."""
    out = ""
    for p in parts:
        if isinstance(p, int) and not isinstance(p, bool):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def parse_path(path: str) -> tuple:
    """The inverse of :func:`dotted` (for names without dots or brackets)."""
    parts: list = []
    for chunk in path.split("."):
        name, _, rest = chunk.partition("[")
        if name:
            parts.append(name)
        while rest:
            idx, _, rest = rest.partition("]")
            parts.append(int(idx) if idx.lstrip("-").isdigit() else idx)
            rest = rest.removeprefix("[")
    return tuple(parts)


def value_at_path(d: Any, path: str) -> Any:
    """The value at a field path (``advice.p_requested``, ``monthly_profile[3]``) of a dumped mapping, or None
    when there is no such field."""
    node = d
    for p in parse_path(path) if path else ():
        if isinstance(node, dict) and isinstance(p, str):
            node = node.get(p)
        elif isinstance(node, (list, tuple)) and isinstance(p, int) and 0 <= p < len(node):
            node = node[p]
        else:
            return None
    return node


_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxlist, _repr.maxtuple, _repr.maxdict, _repr.maxset = 2, 6, 6, 4, 4
_repr.maxstring, _repr.maxother, _repr.maxlong = 60, 60, 40


def short_repr(v: Any) -> str:
    """``repr`` cut short: a value in an error message is never longer than a line (aliases, huge lists)."""
    try:
        return _repr.repr(v)
    except Exception:  # noqa: BLE001 - a value whose repr fails still gets an error message
        return f"<{type(v).__name__}>"


# --- pydantic errors -----------------------------------------------------------------------------------------


def _unwrap(t):
    while True:
        if get_origin(t) is Annotated:
            t = get_args(t)[0]
        elif get_origin(t) in (Union, types.UnionType):
            args = [a for a in get_args(t) if a is not type(None)]
            if len(args) != 1:
                return t
            t = args[0]
        else:
            return t


def _members(t) -> list[type[BaseModel]]:
    t = _unwrap(t)
    if get_origin(t) in (Union, types.UnionType):
        return [_unwrap(a) for a in get_args(t) if isinstance(_unwrap(a), type) and issubclass(_unwrap(a), BaseModel)]
    return []


def _tag_of(model: type[BaseModel], tag: Any) -> bool:
    for f in model.model_fields.values():
        ann = _unwrap(f.annotation)
        if get_origin(ann) is Literal and tag in get_args(ann):
            return True
    return False


def _union_tags(t, disc: str) -> list[str]:
    tags: list[str] = []
    for m in _members(t):
        f = m.model_fields.get(disc)
        if f is not None and get_origin(_unwrap(f.annotation)) is Literal:
            tags += list(get_args(_unwrap(f.annotation)))
    return tags


def _walk(root, loc: tuple) -> tuple[list, Any]:
    """Follow a pydantic location through the types: the field path (union tags and validator names left out)
    and the type found there (None when it cannot be told)."""
    t, parts = root, []
    for p in loc:
        if isinstance(p, str) and (p.startswith("function-") or p == "[key]"):
            continue
        if t is not None:
            members = _members(t)
            if members and isinstance(p, str):
                chosen = [m for m in members if _tag_of(m, p)]
                if chosen:
                    t = chosen[0]
                    continue  # pydantic's union-branch tag, not a field name
            t = _unwrap(t)
        parts.append(p)
        if t is None:
            continue
        if isinstance(t, type) and issubclass(t, BaseModel):
            f = t.model_fields.get(p) if isinstance(p, str) else None
            t = f.annotation if f is not None else None
        elif get_origin(t) is dict:
            t = get_args(t)[1]
        elif get_origin(t) is list:
            t = get_args(t)[0]
        elif get_origin(t) is tuple:
            args = get_args(t)
            t = args[p] if isinstance(p, int) and 0 <= p < len(args) else (args[0] if args else None)
        else:
            t = None
    return parts, t


def _fields(t) -> list[str]:
    t = _unwrap(t) if t is not None else None
    if isinstance(t, type) and issubclass(t, BaseModel):
        return list(t.model_fields)
    members = _members(t) if t is not None else []
    return sorted({f for m in members for f in m.model_fields})


def explain(err: dict, root) -> tuple[tuple, str]:
    """One pydantic error as (field path parts, what is wrong and what is allowed); ``root`` is the model (or
    type) validated, for the names of fields and union tags."""
    loc = tuple(err.get("loc", ()))
    ctx = err.get("ctx") or {}
    exc = ctx.get("error")
    if isinstance(exc, _RefError):
        return parse_path(exc.path), exc.message
    parts, _ = _walk(root, loc)
    typ = err.get("type", "")
    got = short_repr(err.get("input"))
    if typ == "extra_forbidden":
        _, there = _walk(root, loc[:-1])
        allowed = _fields(there)
        hint = f"; allowed: {allowed}" if allowed else " (check the spelling; `sendmodel params` lists every field)"
        return tuple(parts), f"unknown field {loc[-1]!r}{hint}"
    if typ == "missing":
        return tuple(parts), "required field is missing"
    if typ in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "")).strip("'")
        _, there = _walk(root, loc)
        tags = _union_tags(there if there is not None else root, disc) if disc else []
        if not tags and ctx.get("expected_tags"):
            tags = [x.strip().strip("'") for x in str(ctx["expected_tags"]).split(",")]
        if not parts:
            parts = [disc]
        if typ == "union_tag_not_found":
            return tuple(parts), f"{disc} is required: one of {tags}"
        return tuple(parts), f"{disc} must be one of {tags} (got {short_repr(ctx.get('tag'))})"
    if typ == "literal_error":
        return tuple(parts), f"{err['msg']} (got {got})"
    if typ == "finite_number":
        return tuple(parts), f"must be a finite number, not infinity or NaN (got {got})"
    if typ == "number_not_bool":
        return tuple(parts), err["msg"]
    msg = err["msg"].removeprefix("Value error, ")
    if typ.startswith("date") and typ != "date_not_number":
        detail = msg.split(", ", 1)[1] if ", " in msg else msg
        return tuple(parts), f"not a real date: {detail} (got {got}); write YYYY-MM-DD, e.g. 2024-01-31"
    if typ == "date_not_number":
        return tuple(parts), msg
    if typ.startswith("value_error") or typ == "assertion_error":
        return tuple(parts), msg
    if typ == "recursion_loop":
        return tuple(parts), "a value that contains itself"
    return tuple(parts), f"{msg} (got {got})"


Blame = Callable[[tuple], "tuple[str | None, int | None]"]


def from_validation_error(exc: ValidationError, file: str | Path | None, root,
                          blame: Blame | None = None, lines: dict[str, int] | None = None) -> ScenarioError:
    """The first of pydantic's errors as a :class:`ScenarioError` (saying how many more there are).

    ``blame(parts)`` gives the (file, line) where the value at a field path came from (a scenario's parents);
    without it the error names ``file``, and the line from ``lines`` (field path -> line) if given.
    """
    errs = exc.errors()
    parts, msg = explain(errs[0], root)
    if len(errs) > 1:
        msg += f" (and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''})"
    line = None
    ref = (errs[0].get("ctx") or {}).get("error")
    if isinstance(ref, _RefError) and ref.whole:
        blame = lines = None
    if blame is not None:
        where, line = blame(parts)
        file = where if where is not None else file
    elif lines:
        for n in range(len(parts), 0, -1):
            line = lines.get(dotted(parts[:n]))
            if line is not None:
                break
    return ScenarioError(file, dotted(parts), msg, line=line)
