"""Sweep specs: read (through the same reading path as scenarios), validated, sized and expanded to points.

A spec is refused before anything is built if it cannot be used: the file itself (see
:mod:`sendmodel.scenario.reading`), a field (the same translation of pydantic's errors as scenarios), or its
size: points (counted by multiplication for a grid, never by listing them) and points x replications.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from scipy.stats import qmc

from sendmodel.scenario.config import Int, Num, Scenario, _n, _RefError
from sendmodel.scenario.errors import ScenarioError, from_validation_error, short_repr
from sendmodel.scenario.loading import load_scenario
from sendmodel.scenario.reading import read_yaml

_LHS_SPAWN_KEY = 0x5EED  # keeps the design's random numbers apart from the replications' streams
_RESERVED = ("point", "replication", "kpi", "service", "value", "unit")
MAX_POINTS = 10_000  # points in one sweep (each is a scenario, checked before anything runs)
MAX_RUNS = 1_000_000  # points x replications (the committed sweep has 450)
MAX_SEED = 2**63 - 1  # stored as an SQLite integer


class SweepError(RuntimeError):
    """A sweep that cannot go on: a store holding another sweep, or workers running another sendmodel."""


# --- the spec -----------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _SpecBase(_Strict):
    name: str | None = Field(None, description="short name (default: the spec file's name)")
    description: str = ""
    base: str = Field(description="base scenario file, relative to the spec file")
    replications: Int = Field(ge=1, description="replications of every point")
    seed: Int = Field(ge=0, le=MAX_SEED, description="base seed; every point uses it (common random numbers)")

    def point_count(self) -> int:  # pragma: no cover - each design says
        raise NotImplementedError

    def _sized(self, where: str, how: str):
        n = self.point_count()
        if n > MAX_POINTS:
            raise _RefError(where, f"{how} gives {_n(n)} points; a sweep has at most {_n(MAX_POINTS)}")
        runs = n * self.replications
        if runs > MAX_RUNS:
            raise _RefError("replications", f"{_n(n)} points x {_n(self.replications)} replications = {_n(runs)} "
                            f"runs; a sweep has at most {_n(MAX_RUNS)} runs")
        return self


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

    def point_count(self) -> int:
        return math.prod(len(v) for v in self.parameters.values())  # counted, never listed

    @model_validator(mode="after")
    def _size(self):
        return self._sized("parameters", "the grid (" + " x ".join(str(len(v)) for v in self.parameters.values())
                           + " values)")


class PointsSpec(_SpecBase):
    """Listed points, each a mapping of field path -> value (every point sets the same fields)."""

    design: Literal["points"]
    points: list[Annotated[dict[str, Any], Field(min_length=1)]] = Field(min_length=1)

    def point_count(self) -> int:
        return len(self.points)

    @model_validator(mode="after")
    def _size(self):
        return self._sized("points", "the list")


class Range(_Strict):
    """A parameter's range in a Latin hypercube. ``[low, high]`` is short for ``{low: .., high: ..}``."""

    low: Num
    high: Num
    decimals: Int | None = Field(None, ge=0, le=15, description="round sampled values (0: whole numbers)")

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
    n_points: Int = Field(ge=2, description="points in the hypercube")
    parameters: dict[str, Range] = Field(min_length=1)

    def point_count(self) -> int:
        return self.n_points

    @model_validator(mode="after")
    def _size(self):
        return self._sized("n_points", "n_points")


class SobolSpec(_SpecBase):
    """Saltelli's design for Sobol indices over the base scenario's uncertain inputs (the fields it gives as
    ranges): ``samples`` (a power of 2) x (inputs + 2) points, each run on the same replications; `sendmodel
    sensitivity SPEC --sweep STORE` then reads the indices from the store. A big design runs as any sweep does:
    on every core or a Dask cluster, resumable after a crash."""

    design: Literal["sobol"]
    samples: Int = Field(ge=2, description="base samples, a power of 2 (points = samples x (inputs + 2))")

    def point_count(self) -> int:
        return self.samples  # at least; the inputs are the base scenario's, counted once it is loaded

    @model_validator(mode="after")
    def _size(self):
        if self.samples & (self.samples - 1):
            raise _RefError("samples", f"must be a power of 2 (got {_n(self.samples)}), e.g. 64")
        return self._sized("samples", "samples")


SweepSpec = Annotated[Union[GridSpec, PointsSpec, LhsSpec, SobolSpec], Field(discriminator="design")]
_SPEC = TypeAdapter(SweepSpec)
DESIGNS = ("grid", "points", "lhs", "sobol")


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its spec, base scenario and every point with its scenario."""

    spec: GridSpec | PointsSpec | LhsSpec | SobolSpec
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


def _line(lines: dict[str, int], where: str) -> int | None:
    """The line of a spec field, or of the nearest section holding it."""
    while where:
        if where in lines:
            return lines[where]
        cut = max(where.rfind("."), where.rfind("["))
        where = where[:cut] if cut > 0 else ""
    return None


def _design_points(spec, file: str) -> tuple[list[str], list[dict[str, Any]]]:
    for p in getattr(spec, "parameters", {}):
        try:
            _check_path(p)
        except ValueError as exc:
            raise ScenarioError(file, f"parameters.{p}", str(exc)) from None
    if isinstance(spec, GridSpec):
        for p, values in spec.parameters.items():
            keys = [json.dumps(x, sort_keys=True, default=str) for x in values]
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
    return names, [json.loads(json.dumps(p, default=str)) for p in pts]


def _sobol_points(spec: SobolSpec, base: Scenario, file: str, lines: dict) -> tuple[list[str], list[dict]]:
    """The Saltelli design over the base's uncertain inputs, as the sensitivity study draws it."""
    from sendmodel.scenario.uncertain import sobol_design

    inputs = list(base.uncertain_inputs)
    if not inputs:
        raise ScenarioError(file, "base", f"design sobol needs the base scenario ({spec.base}) to give fields as "
                            "ranges, e.g. p_known: {uncertain: triangular, low: 0.4, mode: 0.55, high: 0.7}",
                            line=lines.get("base"))
    n = spec.samples * (len(inputs) + 2)
    if n > MAX_POINTS or n * spec.replications > MAX_RUNS:
        raise ScenarioError(file, "samples", f"{_n(spec.samples)} samples x ({len(inputs)} inputs + 2) = {_n(n)} "
                            f"points x {_n(spec.replications)} replications is more than a sweep holds "
                            f"({_n(MAX_POINTS)} points, {_n(MAX_RUNS)} runs)", line=lines.get("samples"))
    x = sobol_design(inputs, spec.samples, spec.seed)
    names = [u.path for u in inputs]
    return names, [json.loads(json.dumps({p: float(v) for p, v in zip(names, row)})) for row in x]


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
        values = [json.dumps(json.loads(json.dumps(v, default=str)), sort_keys=True) for v in spec.parameters[hit]]
        got = json.dumps(pt[hit], sort_keys=True)
        return f"parameters.{hit}[{values.index(got)}]" if got in values else f"parameters.{hit}"
    return f"parameters.{hit}"


def load_sweep_spec(path: str | Path) -> Sweep:
    """Load and validate a sweep spec, building (and so checking) every point's scenario.

    Raises
    ------
    ScenarioError
        Naming the spec file and the field at fault (a bad path, range, design or value), before any run.
    """
    shown = os.fspath(path)
    path = Path(path)
    doc = read_yaml(path, shown)
    try:
        spec = _SPEC.validate_python(doc.data)
    except ValidationError as exc:
        raise from_validation_error(exc, shown, SweepSpec, lines=doc.lines) from None
    except RecursionError:
        raise ScenarioError(shown, "", "a value is nested too deeply") from None
    line = doc.lines.get("base")
    try:
        base_file = path.resolve().parent / spec.base
        is_dir, exists = base_file.is_dir(), base_file.exists()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ScenarioError(shown, "base", f"cannot use the file name {short_repr(spec.base)}: "
                            f"{getattr(exc, 'strerror', None) or exc}", line=line) from None
    if not spec.base.strip() or is_dir:
        raise ScenarioError(shown, "base", f"{spec.base!r} names a folder ({base_file}), not a scenario file",
                            line=line)
    if not exists:
        raise ScenarioError(shown, "base", f"scenario file not found: {base_file}", line=line)
    base = load_scenario(base_file)
    if isinstance(spec, SobolSpec):
        names, pts = _sobol_points(spec, base, shown, doc.lines)
    else:
        names, pts = _design_points(spec, shown)
    scenarios = []
    for i, pt in enumerate(pts):
        try:
            scenarios.append(base.override(pt))
        except ScenarioError as exc:
            where = _blame(spec, names, i, pt, exc)
            if _path_problem(exc):
                msg = f"{exc.message} (in {exc.field} of the base scenario {base_file.name})"
            else:
                values = ", ".join(f"{k}={short_repr(v)}" for k, v in pt.items())
                msg = f"point {i} ({values}) is not a valid scenario: {exc.field}: {exc.message}"
            raise ScenarioError(shown, where, msg, line=_line(doc.lines, where)) from None
    return Sweep(spec, path, base, names, pts, scenarios)
