"""params."""

from __future__ import annotations

from sendmodel.scenario.loading import source_for


def _walk(model, prefix=""):
    from pydantic import BaseModel

    for name, field in type(model).model_fields.items():
        if name in ("sources", "description"):
            continue
        value = getattr(model, name)
        path = f"{prefix}{name}"
        desc = field.description or ""
        if isinstance(value, BaseModel) and "dist" in type(value).model_fields:
            yield path, value.model_dump(), desc
        elif isinstance(value, BaseModel):
            yield from _walk(value, path + ".")
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            for k, v in value.items():
                yield from _walk(v, f"{path}.{k}.")
        else:
            yield path, value, desc


def _source(sc, path: str, value) -> str:
    src = source_for(sc, path)
    if src.startswith("assumption") and isinstance(value, (str, bool)) and not any(
        p == path or path.startswith(p + ".") for p in sc.sources
    ):
        return "scenario choice"
    return src


def _short(v) -> str:
    if isinstance(v, dict) and "dist" in v:
        return v["dist"] + "(" + ", ".join(f"{k}={x:g}" for k, x in v.items() if k != "dist") + ")"
    if isinstance(v, list) and len(v) > 5 and hasattr(v[0], "model_dump"):  # a case list: counted, not listed
        return f"{len(v):,} {type(v[0]).__name__} rows"
    if isinstance(v, list) and v and hasattr(v[0], "model_dump"):
        return "; ".join(str(x.model_dump(mode="json")) for x in v)
    return str(v)
