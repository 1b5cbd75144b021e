"""The fewest PAs a week that meet a target, with stated confidence, in few simulation runs.

A DMO/DCO arguing for capacity needs one number per lever: "with N PAs a week, at least 90% of health advice is
returned within 6 weeks, and we are 95% sure of it". :func:`solve_capacity` finds the smallest N on a grid of
whole or half PAs (or whole clinicians, for the ``always_open`` validation calendar) such that the target holds.

How it stays cheap and honest:

- **Common random numbers.** Every PA level runs the same seed and the same replications, so demand, task times
  and leave weeks are identical at every level (see :mod:`sendmodel.rng`); only capacity differs. The KPI then
  moves with PAs alone and is monotone in practice, which is what makes a bisection valid. The search still
  checks what it saw (``SolveResult.monotone``) rather than assume it.
- **Bracket, then bisect.** Start at the PAs funded today, step up (or down) with doubling steps until the
  target changes from unmet to met, then bisect on the grid. A lever 10-30 PAs from its answer needs about 6-9
  levels. ``SolveResult.runs`` says how many replications were simulated in all.
- **Stated confidence.** With ``confidence="ci"`` a level meets a target "at least X" when the lower bound of the
  95% confidence interval of the KPI's mean across replications is at least X (for "at most X", the upper bound).
  ``confidence="mean"`` uses the mean alone.
- **No made-up answers.** A target not met at the search cap comes back with ``reachable=False`` and
  ``pas_per_week=None``.

PAs here are absolute: PAs a week for the scenario's own population (what a commissioner funds), whatever basis
the scenario file uses; ``per_70k`` services are overridden with the value divided by ``scenario.scale``.

References
----------
Law, A. M. (2015) Simulation Modeling and Analysis, 5th ed., ch. 11 (common random numbers) and 12.2 (choosing
the best / smallest feasible system).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendmodel.analysis.kpis import kpis_from_records, summarise
from sendmodel.analysis.results import kpi_frame
from sendmodel.common.parallel import map_pool
from sendmodel.engine.replication import run_replication
from sendmodel.scenario.config import HOURS_PER_PA, Scenario

CLINICIAN_PAS_ALWAYS_OPEN = 168.0 / HOURS_PER_PA  # 42 PAs a week = one clinician on the always_open calendar
DERIVED_KPIS = ("dmo_signoff_median_working_days",)  # computed by derived_kpis; labels and units in labels.py


# --- derived KPIs ----------------------------------------------------------------------------------------------


def working_days_between(sc: Scenario, start_day: np.ndarray, end_day: np.ndarray) -> np.ndarray:
    """Working days (Mon-Fri, not an English bank holiday) after ``start_day`` up to and including ``end_day``.

    Days are model days from ``simulation.start_date``; a request and sign-off on the same day count 0.
    """
    from sendmodel.engine.sessions import bank_holidays

    if start_day.size == 0:
        return np.empty(0)
    n_days = int(math.ceil(float(np.nanmax(end_day)))) + 2
    hols = np.array(sorted(bank_holidays(sc.simulation.start_date, n_days)), dtype="datetime64[D]")
    origin = np.datetime64(sc.simulation.start_date, "D")
    d0 = origin + np.floor(start_day).astype("timedelta64[D]") + np.timedelta64(1, "D")
    d1 = origin + np.floor(end_day).astype("timedelta64[D]") + np.timedelta64(1, "D")
    return np.busday_count(d0, d1, holidays=hols).astype(float)


def derived_kpis(rec: dict, sc: Scenario) -> list[tuple[str, str, float]]:
    """KPIs the business case needs beyond :func:`sendmodel.analysis.kpis_from_records`.

    ``dmo_signoff_median_working_days``: the DMO/DCO sign-off median in working days, because DMO/DCO service
    standards are stated in working days (e.g. "within 10 working days"); same cohort as
    ``dmo_signoff_median_days`` (sign-offs requested in the measured window, open ones counted to the end).
    """
    e = rec["ehc"]
    if sc.ehc is None or "dmo_requested_day" not in e:
        return []
    warm, end = sc.simulation.warm_up_days, rec["end_day"]
    dreq = e["dmo_requested_day"]
    c = ~np.isnan(dreq) & (dreq >= warm) & (dreq < end)
    done = e["dmo_signoff_day"][c]
    wd = working_days_between(sc, dreq[c], np.where(np.isnan(done), end - 1e-9, done))
    return [("dmo_signoff_median_working_days", "all", float(np.median(wd)) if wd.size else float("nan"))]


def _kpis_one(args) -> pd.DataFrame:
    sc, seed, rep = args
    rec = run_replication(sc, seed, rep)
    df = kpi_frame(kpis_from_records(rec, sc) + derived_kpis(rec, sc), sc.name, rep)
    return df


def run_kpis(scenario: Scenario, replications: int, seed: int, workers: int = 1,
             cache: dict | None = None) -> pd.DataFrame:
    """Long KPI frame (as :attr:`sendmodel.Results.kpis`) plus :func:`derived_kpis`, events not kept.

    With a ``cache`` dict, a scenario already run with the same content, replications and seed is not run again
    (the business case meets today's scenario once per lever).
    """
    key = None
    if cache is not None:
        from sendmodel.scenario.loading import config_hash

        key = (config_hash(scenario), replications, seed)
        if key in cache:
            return cache[key].copy()
    parts = map_pool(_kpis_one, [(scenario, seed, r) for r in range(replications)], workers)
    out = pd.concat(parts, ignore_index=True)
    if key is not None:
        cache[key] = out.copy()
    return out


# --- targets and levers ----------------------------------------------------------------------------------------


def higher_is_better(kpi: str) -> bool:
    """Whether more capacity pushes this KPI up (shares, throughput) or down (waits, times, lists)."""
    if kpi.endswith(("_pct", "_per_year")):
        return True
    if kpi.endswith(("_days", "_weeks", "_end")):
        return False
    raise ValueError(
        f"cannot tell which way {kpi!r} improves with capacity; use a KPI ending in _pct or _per_year (higher is "
        "better) or _days, _weeks or _end (lower is better)"
    )


_TARGET_RE = re.compile(r"^\s*([a-z0-9_]+)\s*(?:@\s*([a-z0-9_]+)\s*)?(>=|<=)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Target:
    """A KPI threshold to meet, e.g. ``Target("advice_within_6w_pct", ">=", 90)``.

    Parameters
    ----------
    kpi : str
        A KPI code (:data:`sendmodel.labels.KPI_UNITS`, or ``dmo_signoff_median_working_days``).
    sense : ">=" or "<="
        ">=" for "at least" (shares), "<=" for "at most" (waits). Must be the direction in which more PAs
        improve the KPI.
    threshold : float
        In the KPI's unit (% for shares, days, working days or weeks for waits).
    service : str
        The KPI row's service: "all" (all health services together, or the pathway) or one service's name.
    confidence : "ci" or "mean"
        "ci": the 95% CI bound on the safe side must meet the threshold; "mean": the mean must.
    """

    kpi: str
    sense: str
    threshold: float
    service: str = "all"
    confidence: str = "ci"

    def __post_init__(self):
        if self.sense not in (">=", "<="):
            raise ValueError(f"sense must be '>=' or '<=' (got {self.sense!r})")
        if self.confidence not in ("ci", "mean"):
            raise ValueError(f"confidence must be 'ci' or 'mean' (got {self.confidence!r})")
        if higher_is_better(self.kpi) != (self.sense == ">="):
            better = "higher" if higher_is_better(self.kpi) else "lower"
            raise ValueError(
                f"{self.kpi} gets {better} with more PAs, so a target on it reads "
                f"'{self.kpi} {'>=' if better == 'higher' else '<='} X' (got {self.sense!r})"
            )

    @classmethod
    def parse(cls, text: str, confidence: str = "ci") -> Target:
        """From ``"kpi[@service]>=value"`` or ``"kpi[@service]<=value"``, e.g. ``advice_within_6w_pct@slt>=90``."""
        m = _TARGET_RE.match(text)
        if not m:
            raise ValueError(
                f"target {text!r} not understood; write KPI[@SERVICE]>=VALUE or KPI[@SERVICE]<=VALUE, e.g. "
                "advice_within_6w_pct>=90 or dmo_signoff_median_working_days<=10"
            )
        kpi, service, sense, value = m.groups()
        return cls(kpi, sense, float(value), service or "all", confidence)

    @property
    def spec(self) -> str:
        at = "" if self.service == "all" else f"@{self.service}"
        return f"{self.kpi}{at}{self.sense}{self.threshold:g}"

    def describe(self) -> str:
        """A sentence a board can read."""
        from sendmodel.analysis.labels import KPI_UNITS, label

        name, unit = label(self.kpi), KPI_UNITS.get(self.kpi, "")
        where = "" if self.service == "all" else f" ({self.service})"
        word = "at least" if self.sense == ">=" else "at most"
        bound = {">=": "lower", "<=": "upper"}[self.sense]
        conf = f", {bound} 95% CI bound" if self.confidence == "ci" else ", mean"
        unit = "" if unit in ("", "%") else f" {unit}"
        pct = "%" if KPI_UNITS.get(self.kpi) == "%" else ""
        return f"{name}{where} {word} {self.threshold:g}{pct}{unit}{conf}"

    def judged_value(self, mean: float, ci_low: float, ci_high: float) -> float:
        """The number compared with the threshold at one PA level."""
        if self.confidence == "mean":
            return mean
        return ci_low if self.sense == ">=" else ci_high

    def met_by(self, mean: float, ci_low: float, ci_high: float) -> bool:
        v = self.judged_value(mean, ci_low, ci_high)
        if v is None or not np.isfinite(v):
            return False
        return v >= self.threshold if self.sense == ">=" else v <= self.threshold


def lever_services(scenario: Scenario, lever: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Service names a lever moves: a service, ``"a+b"`` or a list, ``"dmo"`` (the DMO/DCO role) or ``"health"``."""
    if isinstance(lever, (list, tuple)):
        names = tuple(lever)
    elif lever == "dmo" and scenario.ehc is not None:
        names = (scenario.ehc.dmo_service,)
    elif lever == "health":
        names = tuple(n for n, s in scenario.services.items() if s.kind == "health" and s.advice is not None)
    else:
        names = tuple(x.strip() for x in str(lever).split("+"))
    unknown = [n for n in names if n not in scenario.services]
    if unknown or not names:
        raise ValueError(
            f"lever {lever!r}: unknown service(s) {unknown}; use 'dmo', 'health', a service name or names joined "
            f"by '+' from {sorted(scenario.services)}"
        )
    return names


def funded_pas(scenario: Scenario, services: tuple[str, ...]) -> float:
    """PAs a week funded today for these services together, for the scenario's population (absolute)."""
    return float(sum(scenario.service_pas_per_week(s) for s in services))


def with_pas(scenario: Scenario, services: tuple[str, ...], total_pas: float) -> Scenario:
    """The scenario with ``total_pas`` (absolute, a week) shared among ``services`` in today's proportions.

    Services funded at zero today share equally. Ring-fenced PAs keep their share of each service's PAs; dated
    ``capacity_changes`` stay as they are.
    """
    now = np.array([scenario.service_pas_per_week(s) for s in services])
    if abs(total_pas - now.sum()) < 1e-9:
        return scenario
    shares = now / now.sum() if now.sum() > 0 else np.full(len(services), 1.0 / len(services))
    changes = {}
    for s, share in zip(services, shares):
        svc = scenario.services[s]
        scale = scenario.scale if svc.capacity_basis == "per_70k" else 1.0
        new = total_pas * float(share) / scale
        changes[f"services.{s}.pas_per_week"] = new
        if svc.ring_fenced_pas_per_week > 0 and svc.pas_per_week > 0:
            changes[f"services.{s}.ring_fenced_pas_per_week"] = new * svc.ring_fenced_pas_per_week / svc.pas_per_week
    return scenario.override(changes)


# --- the search ------------------------------------------------------------------------------------------------


@dataclass
class SolveResult:
    """What :func:`solve_capacity` found, with every level it ran.

    ``pas_per_week`` is absolute (the scenario's population) and ``None`` when the target was not met at the cap.
    ``evaluations`` has one row per PA level run: ``pas_per_week``, ``mean``, ``ci_low``, ``ci_high``, ``n``
    (replications with a value), ``judged`` (the number compared with the threshold), ``met`` and ``order``
    (the search step that ran it).
    """

    lever: str
    services: tuple[str, ...]
    target: Target
    pas_per_week: float | None
    reachable: bool
    funded_pas_per_week: float
    cap_pas_per_week: float
    floor_pas_per_week: float
    step_pas: float
    replications: int
    seed: int
    population: float
    evaluations: pd.DataFrame
    note: str = ""
    per_service_pas: dict[str, float] = field(default_factory=dict)

    @property
    def levels(self) -> int:
        """PA levels simulated."""
        return len(self.evaluations)

    @property
    def runs(self) -> int:
        """Replications simulated in all (levels x replications)."""
        return self.levels * self.replications

    @property
    def monotone(self) -> bool:
        """Whether the levels run agree with a target monotone in PAs: no level meets it below one that misses.

        This is what the bisection relies on. (KPI means may still wobble by less than their noise.)
        """
        met = self.evaluations.sort_values("pas_per_week")["met"].to_numpy(bool)
        return bool(not np.any(met[:-1] & ~met[1:]))

    @property
    def gap_pas_per_week(self) -> float | None:
        """PAs a week needed beyond those funded today (negative: funded above the need)."""
        return None if self.pas_per_week is None else self.pas_per_week - self.funded_pas_per_week

    def summary(self) -> dict:
        """One row for tables."""
        return {
            "lever": self.lever,
            "services": "+".join(self.services),
            "target": self.target.describe(),
            "target_spec": self.target.spec,
            "reachable": self.reachable,
            "pas_per_week_needed": self.pas_per_week,
            "pas_per_week_funded": self.funded_pas_per_week,
            "gap_pas_per_week": self.gap_pas_per_week,
            "search_cap_pas_per_week": self.cap_pas_per_week,
            "levels_run": self.levels,
            "runs": self.runs,
            "replications": self.replications,
            "seed": self.seed,
            "monotone": self.monotone,
            "note": self.note,
        }


def _grid_index(x: float, step: float) -> int:
    return int(round(x / step))


def solve_capacity(
    scenario: Scenario,
    lever: str | list[str] | tuple[str, ...],
    target: Target | str,
    *,
    replications: int = 10,
    seed: int = 2024,
    step: float | None = None,
    cap: float | None = None,
    floor: float | None = None,
    start: float | None = None,
    workers: int = 1,
    progress=None,
    cache: dict | None = None,
) -> SolveResult:
    """Fewest PAs a week for ``lever`` that meet ``target`` on ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The system; everything but the lever's PAs stays as it is.
    lever : str or list of str
        A service name, several joined by "+" (or a list) scaled together in today's proportions, "dmo" (the
        DMO/DCO role, ``ehc.dmo_service``) or "health" (every health service that gives advice).
    target : Target or str
        E.g. ``"advice_within_6w_pct>=90"`` or ``Target("dmo_signoff_median_working_days", "<=", 10)``.
    replications, seed : int
        The same at every PA level (common random numbers).
    step : float
        Grid spacing, PAs a week (absolute). Default 0.5; 42 (one clinician) on the always_open calendar.
    cap : float
        Most PAs a week to try (absolute). Default: the larger of 4 x today's PAs and 10 PAs per 70,000 children.
    floor : float
        Fewest PAs a week to try (absolute). Default one step.
    start : float
        Where the bracket starts. Default: today's PAs (clamped to [floor, cap]).
    workers : int
        Processes for the replications at each level.
    progress : callable, optional
        Called with ``(pas_per_week, mean, judged, met)`` after each level (for the CLI).
    cache : dict, optional
        Shared between calls to skip runs of a scenario already run (see :func:`run_kpis`); levels taken from
        it still count in ``runs`` (they are the same replications).

    Returns
    -------
    SolveResult
    """
    tgt = Target.parse(target) if isinstance(target, str) else target
    services = lever_services(scenario, lever)
    lever_name = lever if isinstance(lever, str) else "+".join(services)
    always_open = scenario.simulation.calendar == "always_open"
    if step is None:
        step = CLINICIAN_PAS_ALWAYS_OPEN if always_open else 0.5
    if step <= 0:
        raise ValueError(f"step must be > 0 PAs (got {step})")
    funded = funded_pas(scenario, services)
    if cap is None:
        cap = max(4.0 * funded, 10.0 * scenario.scale, 2 * step)
    if floor is None:
        floor = step
    k_min = max(1, math.ceil(floor / step - 1e-9))
    k_max = int(math.floor(cap / step + 1e-9))
    if k_max < k_min:
        raise ValueError(f"search cap ({cap:g} PAs) is below the floor ({floor:g} PAs)")
    k0 = _grid_index(start if start is not None else funded, step)
    k0 = min(max(k0, k_min), k_max)

    rows: dict[int, dict] = {}

    def met(k: int) -> bool:
        if k not in rows:
            pas = k * step
            sc = with_pas(scenario, services, pas)
            kp = run_kpis(sc, replications, seed, workers, cache)
            sel = kp[(kp["kpi"] == tgt.kpi) & (kp["service"] == tgt.service)]
            if sel.empty:
                have = sorted(set(kp["service"][kp["kpi"] == tgt.kpi]))
                raise ValueError(
                    f"the runs give no KPI {tgt.kpi!r} for service {tgt.service!r}"
                    + (f"; it exists for {have}" if have else "; check the KPI name")
                )
            s = summarise(sel[["kpi", "service", "value"]].dropna()).iloc[0] if sel["value"].notna().any() else None
            mean = float(s["mean"]) if s is not None else float("nan")
            lo = float(s["ci_low"]) if s is not None else float("nan")
            hi = float(s["ci_high"]) if s is not None else float("nan")
            n = int(s["n"]) if s is not None else 0
            ok = tgt.met_by(mean, lo, hi)
            rows[k] = dict(pas_per_week=pas, mean=mean, ci_low=lo, ci_high=hi, n=n,
                           judged=tgt.judged_value(mean, lo, hi), met=ok, order=len(rows) + 1)
            if progress is not None:
                progress(pas, mean, rows[k]["judged"], ok)
        return rows[k]["met"]

    # bracket: the first step is about a tenth of today's level, then steps double
    d = max(1, round(0.1 * k0))
    answer: int | None
    note = ""
    if met(k0):
        hi_k, lo_k = k0, None
        while lo_k is None:
            k = max(hi_k - d, k_min)
            if k == hi_k:
                break
            if met(k):
                hi_k = k
                d *= 2
            else:
                lo_k = k
        if lo_k is None:
            note = f"met at the search floor ({k_min * step:g} PAs a week); fewer PAs were not tried"
            lo_k = hi_k - 1
    else:
        lo_k, hi_k = k0, None
        while hi_k is None:
            k = min(lo_k + d, k_max)
            if k == lo_k:
                break
            if met(k):
                hi_k = k
            else:
                lo_k = k
                d *= 2
    if hi_k is None:
        answer = None
        at_cap = rows[max(rows)]
        note = (f"not met at the search cap ({k_max * step:g} PAs a week): there the KPI mean was "
                f"{at_cap['mean']:.2f} and the judged value {at_cap['judged']:.2f} against {tgt.threshold:g}")
    else:
        while hi_k - lo_k > 1:
            mid = (lo_k + hi_k) // 2
            if met(mid):
                hi_k = mid
            else:
                lo_k = mid
        answer = hi_k

    ev = pd.DataFrame(list(rows.values())).sort_values("order", ignore_index=True)
    pas = None if answer is None else answer * step
    per_service = {}
    if pas is not None:
        sc = with_pas(scenario, services, pas)
        per_service = {s: sc.service_pas_per_week(s) for s in services}
    res = SolveResult(
        lever=lever_name, services=services, target=tgt, pas_per_week=pas, reachable=answer is not None,
        funded_pas_per_week=funded, cap_pas_per_week=k_max * step, floor_pas_per_week=k_min * step,
        step_pas=step, replications=replications, seed=seed, population=scenario.population, evaluations=ev,
        note=note, per_service_pas=per_service,
    )
    if not res.monotone:
        res.note = (res.note + "; " if res.note else "") + (
            "a level met the target below one that missed it (the KPI is not monotone in PAs at this precision): "
            "run more replications"
        )
    return res
