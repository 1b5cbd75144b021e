"""checks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sendmodel.analysis.intervals import t_critical

ALPHA = 0.001  # per statistical check; about 40 checks -> family-wise false-alarm chance below 5%
POWER_Z = stats.norm.ppf(0.80)
EXACT_TOL = 1e-6


# --- checks -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One row of the validation table.

    ``reference`` is the theory value (or 0 for a difference between two simulators, or the independent
    recursion's value for an exact check); ``estimate`` the engine's value; ``se`` and ``df`` its standard
    error and degrees of freedom (None for exact checks, which pass when ``gap <= tol``).
    """

    case: str
    measure: str
    reference: float
    estimate: float
    replications: str
    kind: str  # "theory", "ciw", "independent" (statistical) or "exact"
    se: float | None = None
    df: float | None = None
    gap: float | None = None
    tol: float | None = None
    scale: float | None = None  # for a difference: the reference simulator's mean (errors relative to it)

    @property
    def statistical(self) -> bool:
        return self.se is not None

    def t_crit(self, alpha: float) -> float:
        return t_critical(self.df, alpha)

    def ci(self, alpha: float = 0.05) -> tuple[float, float]:
        h = self.t_crit(alpha) * self.se
        return self.estimate - h, self.estimate + h

    @property
    def z(self) -> float:
        """|error| in standard errors."""
        return abs(self.estimate - self.reference) / self.se if self.se else math.inf

    @property
    def mde(self) -> float:
        """Smallest true error detected with 80% power by this check (same unit as the estimate)."""
        return (self.t_crit(ALPHA) + POWER_Z) * self.se

    @property
    def relative_mde(self) -> float:
        """:attr:`mde` as a share of the value checked (theory, or the reference simulator's mean)."""
        base = self.scale if self.scale is not None else self.reference
        return self.mde / abs(base) if base else math.inf

    @property
    def passed(self) -> bool:
        if self.statistical:
            return bool(abs(self.estimate - self.reference) <= self.t_crit(ALPHA) * self.se)
        return bool(self.gap <= self.tol)

    def describe(self) -> str:
        """One line for an assertion message: what was expected and what was observed."""
        if self.statistical:
            lo, hi = self.ci(ALPHA)
            return (f"{self.case} / {self.measure}: expected {self.reference:.4g}, "
                    f"simulated {self.estimate:.4g} (99.9% CI {lo:.4g} to {hi:.4g}, {self.z:.1f} SE off, "
                    f"{self.replications} replications)")
        return (f"{self.case} / {self.measure}: independent value {self.reference:.6g}, "
                f"engine {self.estimate:.6g}, largest discrepancy {self.gap:.3g} (tolerance {self.tol:g})")


def vs_theory(case: str, measure: str, theory_value: float, values, kind: str = "theory") -> Check:
    v = np.asarray(values, dtype=float)
    return Check(case, measure, float(theory_value), float(v.mean()), str(v.size), kind,
                 se=float(v.std(ddof=1) / math.sqrt(v.size)), df=float(v.size - 1))


def vs_reference(case: str, measure: str, model_values, ref_values, kind: str) -> Check:
    """The engine minus another simulator (reference 0), with a Welch interval for the difference."""
    a, b = np.asarray(model_values, dtype=float), np.asarray(ref_values, dtype=float)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if va + vb > 0 else float(a.size - 1)
    return Check(case, measure, 0.0, float(a.mean() - b.mean()), f"{a.size}+{b.size}", kind,
                 se=float(math.sqrt(va + vb)), df=float(df), scale=float(b.mean()))


def exact(case: str, measure: str, reference: float, estimate: float, gap: float, n: int,
          tol: float = EXACT_TOL) -> Check:
    return Check(case, measure, float(reference), float(estimate), str(n), "exact", gap=float(gap), tol=tol)


# --- the table ----------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) < 1e-3:
        return f"{x:.1e}"
    return f"{x:.4f}" if abs(x) < 10 else f"{x:.3f}"


def format_table(checks: list[Check]) -> str:
    """Plain-text table: case, measure, theory (or reference), simulation, 95% CI, reps, error in SE, smallest
    error detected with 80% power, pass/fail."""
    head = ["case", "measure", "theory", "simulation", "95% CI", "reps", "|err|/SE", "detects", "result"]
    rows = []
    for c in checks:
        if c.statistical:
            lo, hi = c.ci(0.05)
            ci = f"[{_num(lo)}, {_num(hi)}]"
            det = f"{c.relative_mde:.1%}"
            z = f"{c.z:.2f}"
        else:
            ci, z, det = f"gap {c.gap:.1e}", "exact", f"> {c.tol:g}"
        rows.append([c.case, c.measure, _num(c.reference), _num(c.estimate), ci, c.replications, z, det,
                     "pass" if c.passed else "FAIL"])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    right = {2, 3, 5, 6, 7}

    def fmt(r):
        cells = [str(v).rjust(w) if i in right else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths))]
        return "  ".join(cells)

    lines = [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
