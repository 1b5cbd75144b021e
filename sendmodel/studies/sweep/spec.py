"""spec."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from scipy.stats import qmc

from sendmodel.scenario.config import Scenario
from sendmodel.scenario.errors import ScenarioError
from sendmodel.scenario.loading import _read_yaml, load_scenario

_LHS_SPAWN_KEY = 0x5EED  # keeps the design's random numbers apart from the replications' streams
_RESERVED = ("point", "replication", "kpi", "service", "value", "unit")


class SweepError(RuntimeError):
    """A sweep that cannot go on: a store holding another sweep, or workers running another sendmodel."""


# --- the spec -----------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SpecBase(_Strict):
    name: str | None = Field(None, description="short name (default: the spec file's name)")
    description: str = ""
    base: str = Field(description="base scenario file, relative to the spec file")
    replications: int = Field(ge=1, description="replications of every point")
    seed: int = Field(ge=0, description="base seed; every point uses it (common random numbers)")


def _check_path(p: str) -> str:
    parts = p.split(".")
    if (
        not p
        or not all(x.replace("_", "").isalnum() and not x[0].isdigit() for x in parts if x)
        or "" in parts
    ):
        raise ValueError(f"{p!r} is not a field path like services.slt.pas_per_week")
    if p in _RESERVED:
        raise ValueError(f"{p!r} is not a scenario field")
    return p


class GridSpec(_SpecBase):
    """Every combination of the listed values (the first parameter varies slowest)."""

    design: Literal["grid"]
    parameters: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)


class PointsSpec(_SpecBase):
    """Listed points, each a mapping of field path -> value (every point sets the same fields)."""

    design: Literal["points"]
    points: list[Annotated[dict[str, Any], Field(min_length=1)]] = Field(min_length=1)


class Range(_Strict):
    """A parameter's range in a Latin hypercube. ``[low, high]`` is short for ``{low: .., high: ..}``."""

    low: float
    high: float
    decimals: int | None = Field(None, ge=0, description="round sampled values (0: whole numbers)")

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, v):
        if isinstance(v, (list, tuple)):
            if len(v) != 2:
                raise ValueError(f"a range is [low, high] (got {len(v)} values)")
            return {"low": v[0], "high": v[1]}
        return v

    @model_validator(mode="after")
    def _ordered(self):
        if not self.high > self.low:
            raise ValueError(f"high ({self.high:g}) must be greater than low ({self.low:g})")
        return self


class LhsSpec(_SpecBase):
    """A Latin hypercube of ``n_points`` within the ranges (scipy.stats.qmc, seeded by ``seed``)."""

    design: Literal["lhs"]
    n_points: int = Field(ge=2, description="points in the hypercube")
    parameters: dict[str, Range] = Field(min_length=1)


SweepSpec = Annotated[Union[GridSpec, PointsSpec, LhsSpec], Field(discriminator="design")]
_SPEC = TypeAdapter(SweepSpec)
DESIGNS = ("grid", "points", "lhs")


def _explain(err: dict) -> tuple[str, str]:
    loc = [
        x for x in err.get("loc", ()) if x not in DESIGNS and x not in ("function-after", "function-before")
    ]
    path = ""
    for x in loc:
        path += f"[{x}]" if isinstance(x, int) else ("." if path else "") + str(x)
    typ, got = err.get("type", ""), err.get("input")
    if typ == "union_tag_not_found":
        return "design", f"required: one of {list(DESIGNS)}"
    if typ == "union_tag_invalid":
        return "design", f"must be one of {list(DESIGNS)} (got {(err.get('ctx') or {}).get('tag')!r})"
    if typ == "extra_forbidden":
        raw = err.get("loc", ())
        model = {"grid": GridSpec, "points": PointsSpec, "lhs": LhsSpec}.get(raw[0] if raw else None)
        if model is not None and len(raw) == 2:
            return path, f"unknown field; allowed: {list(model.model_fields)}"
        return path, "unknown field"
    if typ == "missing":
        return path, "required field is missing"
    msg = err["msg"].removeprefix("Value error, ")
    if not typ.startswith("value_error"):
        msg = f"{msg} (got {got!r})"
    return path, msg


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its spec, base scenario and every point with its scenario."""

    spec: GridSpec | PointsSpec | LhsSpec
    file: Path
    base: Scenario
    parameters: list[str]
    points: list[dict[str, Any]]
    scenarios: list[Scenario] = field(repr=False)

    @property
    def name(self) -> str:
        return self.spec.name or self.file.stem

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def replications(self) -> int:
        return self.spec.replications

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replications


def _lhs_points(spec: LhsSpec) -> list[dict[str, Any]]:
    names = list(spec.parameters)
    rng = np.random.default_rng(np.random.SeedSequence(entropy=spec.seed, spawn_key=(_LHS_SPAWN_KEY,)))
    try:
        sampler = qmc.LatinHypercube(d=len(names), rng=rng)
    except TypeError:  # scipy < 1.15 calls it seed
        sampler = qmc.LatinHypercube(d=len(names), seed=rng)
    r = [spec.parameters[n] for n in names]
    x = qmc.scale(sampler.random(spec.n_points), [q.low for q in r], [q.high for q in r])
    pts = []
    for row in x:
        pt = {}
        for n, q, v in zip(names, r, row):
            v = float(v) if q.decimals is None else round(float(v), q.decimals)
            pt[n] = int(v) if q.decimals == 0 else v
        pts.append(pt)
    return pts


def _design_points(spec, file: Path) -> tuple[list[str], list[dict[str, Any]]]:
    for p in getattr(spec, "parameters", {}):
        try:
            _check_path(p)
        except ValueError as exc:
            raise ScenarioError(file, f"parameters.{p}", str(exc)) from None
    if isinstance(spec, GridSpec):
        for p, values in spec.parameters.items():
            keys = [json.dumps(x, sort_keys=True) for x in values]
            dup = next((j for j, k in enumerate(keys) if k in keys[:j]), None)
            if dup is not None:
                raise ScenarioError(file, f"parameters.{p}[{dup}]", f"value {values[dup]!r} is listed twice")
        names = list(spec.parameters)
        pts = [dict(zip(names, combo)) for combo in itertools.product(*spec.parameters.values())]
    elif isinstance(spec, PointsSpec):
        names = list(spec.points[0])
        for i, pt in enumerate(spec.points):
            for p in pt:
                try:
                    _check_path(p)
                except ValueError as exc:
                    raise ScenarioError(file, f"points[{i}].{p}", str(exc)) from None
            if list(pt) != names and set(pt) != set(names):
                missing, extra = sorted(set(names) - set(pt)), sorted(set(pt) - set(names))
                raise ScenarioError(
                    file,
                    f"points[{i}]",
                    f"every point must set the same fields as points[0] (missing {missing}, extra {extra})",
                )
        pts = [{n: pt[n] for n in names} for pt in spec.points]
    else:
        names = list(spec.parameters)
        pts = _lhs_points(spec)
    # Values as they will be stored (JSON), so a resumed sweep compares like with like.
    return names, [json.loads(json.dumps(p)) for p in pts]


def _path_problem(exc: ScenarioError) -> bool:
    """Whether a scenario error is about a field path (not its value)."""
    return exc.message.startswith(("unknown field", "unknown service")) or "not a section" in exc.message


def _blame(spec, names: list[str], i: int, pt: dict, exc: ScenarioError) -> str:
    """The spec field a failing point's scenario error comes from."""
    f = exc.field
    hit = next((p for p in names if f == p or f.startswith(p + ".") or p.startswith(f + ".")), None)
    if isinstance(spec, PointsSpec):
        return f"points[{i}]" + (f".{hit}" if hit else "")
    if hit is None:
        return "parameters"
    if isinstance(spec, GridSpec) and not _path_problem(exc):
        values = [json.dumps(v, sort_keys=True) for v in spec.parameters[hit]]
        return f"parameters.{hit}[{values.index(json.dumps(pt[hit], sort_keys=True))}]"
    return f"parameters.{hit}"


def load_sweep_spec(path: str | Path) -> Sweep:
    """Load and validate a sweep spec, building (and so checking) every point's scenario.

    Raises
    ------
    ScenarioError
        Naming the spec file and the field at fault (a bad path, range, design or value), before any run.
    """
    path = Path(path)
    data = _read_yaml(path)
    try:
        spec = _SPEC.validate_python(data)
    except ValidationError as exc:
        errs = exc.errors()
        where, msg = _explain(errs[0])
        if len(errs) > 1:
            msg += f" (and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''})"
        raise ScenarioError(path, where, msg) from None
    base_file = path.resolve().parent / spec.base
    if not base_file.exists():
        raise ScenarioError(path, "base", f"scenario file not found: {base_file}")
    base = load_scenario(base_file)
    names, pts = _design_points(spec, path)
    scenarios = []
    for i, pt in enumerate(pts):
        try:
            scenarios.append(base.override(pt))
        except ScenarioError as exc:
            where = _blame(spec, names, i, pt, exc)
            if _path_problem(exc):
                msg = f"{exc.message} (in {exc.field} of the base scenario {base_file.name})"
            else:
                values = ", ".join(f"{k}={v!r}" for k, v in pt.items())
                msg = f"point {i} ({values}) is not a valid scenario: {exc.field}: {exc.message}"
            raise ScenarioError(path, where, msg) from None
    return Sweep(spec, path, base, names, pts, scenarios)
