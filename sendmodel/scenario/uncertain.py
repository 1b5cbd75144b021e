"""Uncertain inputs: a numeric field given as a range instead of a value.

    services.ot.advice.p_known: {uncertain: triangular, low: 0.4, mode: 0.55, high: 0.7}
    ehc.p_exceptional_provision: {uncertain: uniform, low: 0.02, high: 0.08}

The scenario itself takes the central value (the mode, or the middle of a uniform range), so every command runs
as before; a study that carries the uncertainty through (``sendmodel compare --uncertainty N``) draws parameter
sets from the ranges. Standard library only at import: reading a file must stay cheap (the Sobol design below
imports numpy and SALib when it is called).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from sendmodel.scenario.errors import ScenarioError

KINDS = ("triangular", "uniform")


@dataclass(frozen=True)
class UncertainInput:
    """One field's range: ``kind`` triangular (low, mode, high) or uniform (low, high)."""

    path: str
    kind: str
    low: float
    mode: float
    high: float

    @property
    def central(self) -> float:
        return self.mode

    def ppf(self, u: float) -> float:
        """The value at quantile ``u`` of the range (inverse CDF)."""
        lo, hi = self.low, self.high
        if hi == lo:
            return lo
        if self.kind == "uniform":
            return lo + u * (hi - lo)
        c = (self.mode - lo) / (hi - lo)
        if u < c:
            return lo + math.sqrt(u * (hi - lo) * (self.mode - lo))
        return hi - math.sqrt((1 - u) * (hi - lo) * (hi - self.mode))

    def text(self) -> str:
        if self.kind == "uniform":
            return f"uncertain: uniform {self.low:g} to {self.high:g}"
        return f"uncertain: triangular {self.low:g} / {self.mode:g} / {self.high:g}"


def _number(spec: dict, key: str, file, path: str) -> float:
    v = spec.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ScenarioError(file, path, f"an uncertain value needs {key} as a finite number (got {v!r}); e.g. "
                            "{uncertain: triangular, low: 0.4, mode: 0.55, high: 0.7}")
    return float(v)


def parse(spec: dict, file, path: str) -> UncertainInput:
    kind = spec.get("uncertain")
    if kind not in KINDS:
        raise ScenarioError(file, path, f"uncertain must be one of {list(KINDS)} (got {kind!r})")
    allowed = {"uncertain", "low", "high", "source"} | ({"mode"} if kind == "triangular" else set())
    extra = sorted(set(spec) - allowed)
    if extra:
        raise ScenarioError(file, path, f"unknown keys {extra} in an uncertain value; allowed: {sorted(allowed)}")
    lo, hi = _number(spec, "low", file, path), _number(spec, "high", file, path)
    mode = _number(spec, "mode", file, path) if kind == "triangular" else (lo + hi) / 2
    if not lo <= mode <= hi:
        raise ScenarioError(file, path, f"need low <= mode <= high (got {lo:g}, {mode:g}, {hi:g})")
    return UncertainInput(path, kind, lo, mode, hi)


def extract(data: Any, file, prefix: str = "") -> tuple[Any, list[UncertainInput]]:
    """``data`` with every uncertain value replaced by its central value, and the uncertain inputs found."""
    found: list[UncertainInput] = []

    def walk(v, path):
        if isinstance(v, dict):
            if "uncertain" in v:
                u = parse(v, file, path)
                found.append(u)
                return u.central
            return {k: walk(x, f"{path}.{k}" if path else str(k)) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, f"{path}[{i}]") for i, x in enumerate(v)]
        return v

    if not isinstance(data, dict):
        return data, found
    return walk(copy.deepcopy(data), prefix), found


def unit_problem(inputs) -> dict:
    """SALib's problem over the inputs' quantiles (each on 0-1; values come from each input's ``ppf``)."""
    return {"num_vars": len(inputs), "names": [u.path for u in inputs], "bounds": [[0.0, 1.0]] * len(inputs)}


def sobol_design(inputs, samples: int, seed: int = 0):
    """Saltelli's design for Sobol indices over the inputs: ``samples * (d + 2)`` rows of input values (each
    input's quantiles of a scrambled Sobol' sequence through its distribution). The sensitivity study runs it
    and a sweep spec with ``design: sobol`` stores it, so the two give the same indices."""
    import numpy as np
    from SALib.sample import sobol as sample

    if samples < 2 or samples & (samples - 1):
        raise ValueError(f"samples must be a power of 2, at least 2 (got {samples}), e.g. 64")
    q = sample.sample(unit_problem(inputs), samples, calc_second_order=False, seed=seed)
    return np.column_stack([[u.ppf(float(p)) for p in q[:, j]] for j, u in enumerate(inputs)])
