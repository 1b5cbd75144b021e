"""The fewest PAs a week that meet a target, with stated confidence, in few simulation runs.

A DMO/DCO arguing for capacity needs one number per lever: "with N PAs a week, at least 90% of health advice is
returned within 6 weeks, and we are 95% sure of it". :func:`solve_capacity` finds the smallest N on a grid of
whole or half PAs (or whole clinicians, for the ``always_open`` validation calendar) such that the target holds.

How it stays cheap and honest:

- **Common random numbers.** Every PA level runs the same seed and the same replications, so demand, task times
  and leave weeks are identical at every level (see :mod:`sendmodel.rng`); only capacity differs. The KPI then
  moves with PAs alone and is monotone in practice, which is what makes a bisection valid. The search still
  checks what it saw (``SolveResult.monotone``) rather than assume it.
- **Every run once.** Replications are kept by scenario content, seed and replication number (:class:`Runs`),
  so a level another target on the same lever has run, or today's scenario the comparison runs, costs nothing,
  and a level that needs more replications runs only those it lacks.
- **Bracket from queueing theory.** The first level tried is the lever's offered load (the work its target
  depends on, in PAs) at 85% utilisation, inside what the levels already known say; the bracket then widens with
  doubling steps and is bisected on the grid.
- **Sequential replications.** A level is judged after a first batch of at least 3 replications and then one
  batch at a time: one clearly missed (even the hopeful CI bound misses the target) stops early, and so does one
  clearly met (even the cautious bound meets it), but a level met early only bounds the search: the answer is
  always met on every replication, since some KPIs collapse in a few replications only (an answer met early is
  run in full, and the search goes on above it if it then misses). ``SolveResult.runs`` says how many
  replications the levels used, ``simulated`` how many were new.
- **Today is known.** Today's PAs, run in full for the comparison, bound the search for free: met there, the
  answer is at most the grid level above; missed, at least the one below. A target held at today's figure
  starts there, with a step of 2% of today's PAs.
- **Stated confidence.** With ``confidence="ci"`` a level meets a target "at least X" when the lower bound of the
  95% confidence interval of the KPI's mean across replications is at least X (for "at most X", the upper bound).
  ``confidence="mean"`` uses the mean alone.
- **No made-up answers.** A target not met at the search cap, or one the KPI levels off short of once the queues
  keep up (half as many PAs again move it by less than half the gap left), comes back with ``reachable=False`` and
  ``pas_per_week=None``.

PAs here are absolute: PAs a week for the scenario's own population (what a commissioner funds), whatever basis
the scenario file uses; ``per_70k`` services are overridden with the value divided by ``scenario.scale``.

References
----------
Law, A. M. (2015) Simulation Modeling and Analysis, 5th ed., ch. 11 (common random numbers), 9.4.1 (sequential
replications) and 12.2 (choosing the best / smallest feasible system).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendmodel.analysis.intervals import Interval, mean_interval
from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.analysis.results import kpi_frame
from sendmodel.common.parallel import default_workers, map_pool, worker_pool
from sendmodel.engine.replication import run_replication
from sendmodel.scenario.config import HOURS_PER_PA, Scenario

CLINICIAN_PAS_ALWAYS_OPEN = 168.0 / HOURS_PER_PA  # 42 PAs a week = one clinician on the always_open calendar
DEFAULT_STEP_PAS = 0.5  # the PA grid on working-day calendars
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


def derived_kpis(rec: dict, sc: Scenario, window: tuple[float, float] | None = None
                 ) -> list[tuple[str, str, float]]:
    """KPIs the business case needs beyond :func:`sendmodel.analysis.kpis_from_records`.

    ``dmo_signoff_median_working_days``: the DMO/DCO sign-off median in working days, because DMO/DCO service
    standards are stated in working days (e.g. "within 10 working days"); same cohort as
    ``dmo_signoff_median_days`` (sign-offs requested in the measured window, or in ``window``, open ones counted
    to its end).
    """
    e = rec["ehc"]
    if sc.ehc is None or "dmo_requested_day" not in e:
        return []
    warm, end = (sc.simulation.warm_up_days, rec["end_day"]) if window is None else window
    dreq = e["dmo_requested_day"]
    c = ~np.isnan(dreq) & (dreq >= warm) & (dreq < end)
    done = e["dmo_signoff_day"][c]
    wd = working_days_between(sc, dreq[c], np.where(np.isnan(done), end - 1e-9, done))
    return [("dmo_signoff_median_working_days", "all", float(np.median(wd)) if wd.size else float("nan"))]


def _kpis_one(args) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replication's KPIs and its capacity measures (:mod:`sendmodel.analysis.overload`)."""
    from sendmodel.analysis.overload import load_frame, load_rows

    sc, seed, rep, window = args
    rec = run_replication(sc, seed, rep)
    return (kpi_frame(kpis_from_records(rec, sc, window) + derived_kpis(rec, sc, window), sc.name, rep),
            load_frame(load_rows(rec, sc), sc.name, rep))


class Runs:
    """Every replication run so far, by (scenario content, seed, replication), and the processes that run more.

    Shared by every search of a business case and its comparison: a PA level one target has run is free for
    the next target on the same lever, today's scenario is run once, and a level that needs more replications
    runs only the ones it lacks (replications 0, 1, 2, ... are the same draws at every level). Use as a context
    manager to keep one worker pool open across the many small batches a search runs.
    """

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self.frames: dict[tuple[str, int, int], pd.DataFrame] = {}
        self.loads: dict[tuple[str, int, int], pd.DataFrame] = {}  # capacity measures, same keys
        self.simulated = 0  # replications actually simulated (not taken from here)
        self.levels: dict[tuple, set[float]] = {}  # (scenario, seed, lever's services) -> PA levels judged
        self._stack: ExitStack | None = None
        self._pool = None

    def __enter__(self) -> Runs:
        self._stack = ExitStack()
        self._pool = self._stack.enter_context(worker_pool(self.workers))
        return self

    def __exit__(self, *exc) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack = self._pool = None

    @staticmethod
    def key(scenario: Scenario) -> str:
        from sendmodel.scenario.loading import config_hash

        return config_hash(scenario)

    def _key(self, scenario: Scenario, window: tuple[float, float] | None) -> str:
        h = self.key(scenario)
        return h if window is None else f"{h}@{window[0]:g}-{window[1]:g}"

    def have(self, scenario: Scenario, seed: int, window: tuple[float, float] | None = None) -> int:
        """Replications 0..n-1 already run for this scenario and seed (measured over ``window``)."""
        h, n = self._key(scenario, window), 0
        while (h, seed, n) in self.frames:
            n += 1
        return n

    def kpis(self, scenario: Scenario, replications: int, seed: int,
             window: tuple[float, float] | None = None) -> pd.DataFrame:
        """Long KPI frame of replications 0..replications-1, running only those not run before; ``window``
        (model days [from, to)) measures part of the run, such as one financial year."""
        h = self._key(scenario, window)
        todo = [r for r in range(replications) if (h, seed, r) not in self.frames]
        for r, (df, load) in zip(todo, map_pool(_kpis_one, [(scenario, seed, r, window) for r in todo],
                                                self.workers, pool=self._pool)):
            self.frames[(h, seed, r)] = df
            self.loads[(h, seed, r)] = load
        self.simulated += len(todo)
        return pd.concat([self.frames[(h, seed, r)] for r in range(replications)], ignore_index=True)

    def capacity(self, scenario: Scenario, replications: int, seed: int):
        """The capacity check (:func:`sendmodel.analysis.overload.check_overload`) of replications already run."""
        from sendmodel.analysis.overload import check_overload

        self.kpis(scenario, replications, seed)  # runs any that are missing
        h = self.key(scenario)
        loads = [self.loads[(h, seed, r)] for r in range(replications)]
        return check_overload(pd.concat(loads, ignore_index=True), scenario)


def run_kpis(scenario: Scenario, replications: int, seed: int, workers: int = 1,
             runs: Runs | None = None) -> pd.DataFrame:
    """Long KPI frame (as :attr:`sendmodel.Results.kpis`) plus :func:`derived_kpis`, events not kept.

    With ``runs``, replications already run (same content and seed) are taken from it and new ones kept there.
    """
    if runs is None:
        runs = Runs(workers)
    return runs.kpis(scenario, replications, seed)


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


def pas_in_effect(scenario: Scenario, service: str, day: float) -> float:
    """A service's PAs a week in post on model ``day`` (absolute): today's plus every dated change then in
    effect (after its recruitment lead, less its vacancy rate), as the engine lays out its sessions."""
    svc = scenario.services[service]
    scale = scenario.scale if svc.capacity_basis == "per_70k" else 1.0
    date = scenario.simulation.start_date + dt.timedelta(days=int(math.floor(day)))
    return max(svc.pas_per_week + sum(c.delta_on(date) for c in svc.capacity_changes), 0.0) * scale


def with_pas(scenario: Scenario, services: tuple[str, ...], total_pas: float,
             from_day: float | None = None) -> Scenario:
    """The scenario with ``total_pas`` (absolute, a week) shared among ``services`` in today's proportions.

    Services funded at zero today share equally. Ring-fenced PAs keep their share of each service's PAs; dated
    ``capacity_changes`` stay as they are. With ``from_day``, the PAs change on that model day instead, as a
    dated change from the level then in effect (a later year of a plan): earlier days are untouched.
    """
    if from_day is not None:
        return _with_pas_from(scenario, services, total_pas, from_day)
    now = np.array([scenario.service_pas_per_week(s) for s in services])
    if abs(total_pas - now.sum()) < 1e-9:
        return scenario
    shares = _shares(now)
    changes = {}
    for s, share in zip(services, shares):
        svc = scenario.services[s]
        scale = scenario.scale if svc.capacity_basis == "per_70k" else 1.0
        new = total_pas * float(share) / scale
        changes[f"services.{s}.pas_per_week"] = new
        if svc.ring_fenced_pas_per_week > 0 and svc.pas_per_week > 0:
            changes[f"services.{s}.ring_fenced_pas_per_week"] = new * svc.ring_fenced_pas_per_week / svc.pas_per_week
    return scenario.override(changes)


def _shares(now: np.ndarray) -> np.ndarray:
    """Each service's share of a lever's PAs: as they are now, or equal when none are funded."""
    return now / now.sum() if now.sum() > 0 else np.full(now.size, 1.0 / now.size)


def _with_pas_from(scenario: Scenario, services: tuple[str, ...], total_pas: float, from_day: float) -> Scenario:
    now = np.array([pas_in_effect(scenario, s, from_day) for s in services])
    if abs(total_pas - now.sum()) < 1e-9:
        return scenario
    shares = _shares(now)
    when = (scenario.simulation.start_date + dt.timedelta(days=int(round(from_day)))).isoformat()
    changes = {}
    for s, share, level in zip(services, shares, now):
        svc = scenario.services[s]
        scale = scenario.scale if svc.capacity_basis == "per_70k" else 1.0
        delta = (total_pas * float(share) - level) / scale
        if abs(delta) < 1e-12:
            continue
        dated = [c.model_dump(mode="json", exclude_defaults=True) for c in svc.capacity_changes]
        changes[f"services.{s}.capacity_changes"] = [*dated, {"start": when, "pas_per_week_delta": delta}]
    return scenario.override(changes)


# --- queueing approximation -----------------------------------------------------------------------------------


def _retries(p_missed: float) -> float:
    """Expected extra appointments per child when a missed one is rebooked (p + p^2 + ...)."""
    return p_missed / (1.0 - p_missed) if p_missed < 1 else 0.0


def offered_hours_per_week(scenario: Scenario, service: str, ehc_only: bool = False) -> float:
    """Clinician hours a week of work the service is offered on average (absolute), from the scenario's rates.

    Routine appointments (unless ``ehc_only``), EHC advice, DMO/DCO sign-off and its admin, LA casework. Missed
    appointments are rebooked, so they count again. Queueing theory's offered load: below it no capacity keeps
    up, which is where the search begins to look. Every routine referral counts, including those who would
    leave the list unseen (``routine_removal_per_week``): the PAs that see every child, an upper bracket.
    """
    svc, e = scenario.services[service], scenario.ehc
    scale, weeks = scenario.scale, 365.25 / 7
    hours = 0.0
    if not ehc_only and svc.routine_referrals_per_week_per_70k > 0 and svc.routine_appointment_hours is not None:
        hours += (svc.routine_referrals_per_week_per_70k * scale * svc.routine_appointment_hours.mean_value
                  * (1 + _retries(svc.p_missed_appointment)))
    if e is None:
        return hours
    requests = e.requests_per_year_per_70k * scale / weeks
    assessed = requests * e.request_outcomes["assessed"]
    plans = assessed * e.p_plan_after_assessment
    a = svc.advice
    if a is not None and a.p_requested > 0:
        unknown = (a.records_check_hours.mean_value if a.records_check_hours is not None else 0.0) + (
            a.assessment_hours.mean_value * (1 + _retries(svc.p_missed_appointment)))
        known = a.records_advice_hours.mean_value if a.records_advice_hours is not None else unknown
        hours += assessed * a.p_requested * (a.p_known * known + (1 - a.p_known) * unknown)
    exceptional = plans * e.p_exceptional_provision
    admin = e.admin_service if e.admin_support and e.admin_service else e.dmo_service
    if service == e.dmo_service:
        hours += exceptional * e.dmo_review_hours.mean_value
    if service == admin:
        hours += exceptional * e.dmo_admin_hours.mean_value
    if service == e.la_service:
        hours += requests * e.decision_hours.mean_value + plans * (e.draft_hours.mean_value
                                                                   + e.finalise_hours.mean_value)
    return hours


def offered_load_pas(scenario: Scenario, services: tuple[str, ...], target: Target) -> float:
    """PAs a week for the lever at which the work its target depends on fills every hour they give (absolute).

    The work counted is the target's: an advice target on a service that takes EHC work first counts the EHC
    work only (routine work waits behind it), anything else all of the service's work. The lever's PAs are
    shared in today's proportions, so the most loaded service sets the figure. 0 when nothing is known.
    """
    now = np.array([scenario.service_pas_per_week(s) for s in services])
    shares = now / now.sum() if now.sum() > 0 else np.full(len(services), 1.0 / len(services))
    weeks = 365.25 / 7
    need = 0.0
    for s, share in zip(services, shares):
        if target.service not in ("all", s) or share <= 0:
            continue
        svc = scenario.services[s]
        ehc_only = target.kpi.startswith("advice") and svc.discipline == "ehc_first"
        per_pa = HOURS_PER_PA * (1 - svc.leave_weeks_per_year / weeks)
        if scenario.simulation.calendar == "working_days":
            per_pa *= 1 - 8 / 253  # English bank holidays among ~261 weekdays
        need = max(need, offered_hours_per_week(scenario, s, ehc_only) / per_pa / float(share))
    return need


# --- the search ------------------------------------------------------------------------------------------------

#: Fewest replications at which a level may be called clearly missed before the full number.
MIN_EARLY_REPLICATIONS = 3
#: Utilisation the first guess aims at: the offered load divided by this.
GUESS_UTILISATION = 0.85


def replication_looks(replications: int, workers: int) -> list[int]:
    """Replication counts at which a level is judged: a first batch of at least 3 (whole batches of ``workers``,
    so no process idles), then one batch at a time, up to ``replications``."""
    w = max(1, workers)
    first = min(replications, w * math.ceil(MIN_EARLY_REPLICATIONS / w))
    looks = list(range(first, replications, w))
    return looks + [replications]


def sequential_verdict(target: Target, mean: float, lo: float, hi: float, n: int, replications: int,
                       provisional: bool = False) -> bool | None:
    """Met, missed, or not yet known (None) after ``n`` of ``replications`` replications.

    With all of them, the target's own rule (:meth:`Target.met_by`). Before that, a level is clearly missed
    when even the 95% CI bound on the hopeful side misses the threshold; otherwise more replications are run.
    A level is called met early only when ``provisional`` (it bounds a search, it is not an answer) and even
    the cautious bound meets the threshold: some KPIs collapse in a few replications only (CAMHS advice at full
    utilisation, the DMO/DCO sign-off median), and four good replications would hide that, while a level that
    misses on four rarely recovers. (Sequential replications: Law 2015, s. 9.4.1.)
    """
    if n >= replications:
        return target.met_by(mean, lo, hi)
    if n < MIN_EARLY_REPLICATIONS or not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    best, worst = (hi, lo) if target.sense == ">=" else (lo, hi)
    if (best < target.threshold) if target.sense == ">=" else (best > target.threshold):
        return False
    if provisional and ((worst >= target.threshold) if target.sense == ">=" else (worst <= target.threshold)):
        return True
    return None


@dataclass
class SolveResult:
    """What :func:`solve_capacity` found, with every level it judged.

    ``pas_per_week`` is absolute (the scenario's population) and ``None`` when the target was not met (at the
    cap, or the KPI levelled off short of it). ``evaluations`` has one row per PA level judged:
    ``pas_per_week``, ``mean``, ``ci_low``, ``ci_high``, ``n`` (replications with a value), ``reps``
    (replications run at the level), ``judged`` (the number compared with the threshold), ``met``,
    ``early`` (decided before the full replications) and ``order`` (the search step that judged it).
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
    offered_load_pas: float = 0.0
    simulated: int = 0
    levelled_off: bool = False

    @property
    def levels(self) -> int:
        """PA levels judged."""
        return len(self.evaluations)

    @property
    def runs(self) -> int:
        """Replications the levels judged rest on (some shared with other targets, see ``simulated``)."""
        return int(self.evaluations["reps"].sum()) if self.levels else 0

    @property
    def monotone(self) -> bool:
        """Whether the levels run agree with a target monotone in PAs: no level meets it below one that misses.

        This is what the bisection relies on. (KPI means may still wobble by less than their noise.)
        """
        met = self.evaluations.sort_values("pas_per_week")["met"].to_numpy(bool)
        return bool(not np.any(met[:-1] & ~met[1:]))

    @property
    def gap_pas_per_week(self) -> float | None:
        """PAs a week needed beyond those funded today (negative: the target alone is met with fewer)."""
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
            "offered_load_pas_per_week": self.offered_load_pas,
            "search_cap_pas_per_week": self.cap_pas_per_week,
            "levels_run": self.levels,
            "runs": self.runs,
            "simulated": self.simulated,
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
    first_step: float | None = None,
    workers: int | None = None,
    progress=None,
    runs: Runs | None = None,
    window: tuple[float, float] | None = None,
    from_day: float | None = None,
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
        The replications at a level, and the seed, the same at every PA level (common random numbers). A level
        clearly missed is decided on fewer (:func:`sequential_verdict`).
    step : float
        Grid spacing, PAs a week (absolute). Default 0.5; 42 (one clinician) on the always_open calendar.
    cap : float
        Most PAs a week to try (absolute). Default: the larger of 4 x today's PAs and 10 PAs per 70,000 children.
    floor : float
        Fewest PAs a week to try (absolute). Default one step.
    start : float
        The first level to try. Default: the offered load (:func:`offered_load_pas`) at 85% utilisation, if it
        lies between the levels already known to meet and to miss the target.
    first_step : float
        PAs a week between the first level and the next when the first does not settle the bracket; it doubles
        after. Default 10% of the first level. A target close to today's figure needs a small one.
    workers : int
        Processes for the replications (default every core); ignored when ``runs`` is given.
    progress : callable, optional
        Called with ``(pas_per_week, mean, judged, met, reps)`` after each level is judged (for the CLI).
    runs : Runs, optional
        Replications shared between calls (see :class:`Runs`); levels taken from it still count in ``runs``
        of the result, not in ``simulated``.
    window : (float, float), optional
        Judge the target on this part of the run (model days [from, to), e.g. one financial year).
    from_day : float, optional
        Change the lever's PAs from this model day (a dated change from the level then in effect) rather than
        from the start; "funded" is then that level and, unless ``floor`` says otherwise, the search does not
        go below it (a plan by year adds, it does not cut staff mid-plan).

    Returns
    -------
    SolveResult
    """
    if runs is None:
        with Runs(default_workers() if workers is None else workers) as own:
            return solve_capacity(scenario, lever, target, replications=replications, seed=seed, step=step,
                                  cap=cap, floor=floor, start=start, first_step=first_step, progress=progress,
                                  runs=own, window=window, from_day=from_day)
    tgt = Target.parse(target) if isinstance(target, str) else target
    services = lever_services(scenario, lever)
    lever_name = lever if isinstance(lever, str) else "+".join(services)
    always_open = scenario.simulation.calendar == "always_open"
    if step is None:
        step = CLINICIAN_PAS_ALWAYS_OPEN if always_open else DEFAULT_STEP_PAS
    if step <= 0:
        raise ValueError(f"step must be > 0 PAs (got {step})")
    funded = (funded_pas(scenario, services) if from_day is None
              else float(sum(pas_in_effect(scenario, s, from_day) for s in services)))
    if cap is None:
        cap = max(4.0 * funded, 10.0 * scenario.scale, 2 * step)
    if floor is None:
        floor = step if from_day is None else max(step, math.floor(funded / step + 1e-9) * step)
    k_min = max(1, math.ceil(floor / step - 1e-9))
    k_max = int(math.floor(cap / step + 1e-9))
    if k_max < k_min:
        raise ValueError(f"search cap ({cap:g} PAs) is below the floor ({floor:g} PAs)")
    clamp = lambda k: min(max(k, k_min), k_max)  # noqa: E731
    load = offered_load_pas(scenario, services, tgt)
    simulated_before = runs.simulated
    looks = replication_looks(replications, runs.workers)

    rows: dict[int, dict] = {}
    values_at: dict[int, np.ndarray] = {}  # the target KPI in each replication, by level

    def stats(kp: pd.DataFrame) -> tuple[Interval, np.ndarray, float]:
        """The target KPI's interval, its value in each replication (in order) and the lever's busiest
        utilisation."""
        sel = kp[(kp["kpi"] == tgt.kpi) & (kp["service"] == tgt.service)]
        if sel.empty:
            have = sorted(set(kp["service"][kp["kpi"] == tgt.kpi]))
            raise ValueError(
                f"the runs give no KPI {tgt.kpi!r} for service {tgt.service!r}"
                + (f"; it exists for {have}" if have else "; check the KPI name")
            )
        values = sel.sort_values("replication")["value"].to_numpy(float)
        u = kp[(kp["kpi"] == "utilisation") & kp["service"].isin(services)].groupby("service")["value"].mean()
        return mean_interval(values, dropna=True), values, float(u.max()) if u.notna().any() else float("nan")

    def judge(k: int, known_only: bool = False, full: bool = False) -> bool | None:
        """Level k's verdict, running replications a look at a time until it is clear (None: ``known_only`` and
        the replications already run do not settle it). A level met early is provisional (it bounds the
        search); ``full`` runs it on every replication and judges it again."""
        if k in rows and not (full and rows[k]["early"] and rows[k]["met"]):
            return rows[k]["met"]
        order = rows.pop(k)["order"] if k in rows else len(rows) + 1
        sc = with_pas(scenario, services, k * step, from_day)
        have = min(runs.have(sc, seed, window), replications)
        ready = have >= min(MIN_EARLY_REPLICATIONS, replications)
        points = ([have] if ready else []) + ([] if known_only else [n for n in looks if n > have])
        for n in points:
            iv, values, util = stats(runs.kpis(sc, n, seed, window))
            mean, lo, hi = iv.mean, iv.low, iv.high
            verdict = sequential_verdict(tgt, mean, lo, hi, n, replications, provisional=not full)
            if verdict is not None:
                runs.levels.setdefault(lever_key, set()).add(k * step)
                rows[k] = dict(pas_per_week=k * step, mean=mean, ci_low=lo, ci_high=hi, n=iv.n, reps=n,
                               judged=tgt.judged_value(mean, lo, hi), met=verdict, early=n < replications,
                               utilisation=util, order=order)
                values_at[k] = values
                if progress is not None:
                    progress(k * step, mean, rows[k]["judged"], verdict, n)
                return verdict
        return None

    # levels another target or the comparison already ran cost nothing: judge them first
    lever_key = (runs.key(scenario), seed, services, window, from_day)
    known = {_grid_index(funded, step)} | {_grid_index(p, step) for p in runs.levels.get(lever_key, ())}
    for k in sorted(known):
        if k_min <= k <= k_max:
            judge(k, known_only=True)
    met_k = [k for k, r in rows.items() if r["met"]]
    hi_k = min(met_k) if met_k else None
    miss_k = [k for k, r in rows.items() if not r["met"] and (hi_k is None or k < hi_k)]
    lo_k = max(miss_k) if miss_k else None

    guess = start if start is not None else (load / GUESS_UTILISATION if load > 0 else funded)
    g = clamp(_grid_index(guess, step))
    if (lo_k is None or g > lo_k) and (hi_k is None or g < hi_k) and g not in rows:
        if judge(g):
            hi_k = g
        else:
            lo_k = g
    first = first_step / step if first_step is not None else 0.1 * (hi_k if hi_k is not None else lo_k)
    d = max(1, round(first))
    note = ""
    levelled = False
    if hi_k is None:  # step up until met, the cap, or the KPI levels off
        while hi_k is None:
            k = min(lo_k + d, k_max)
            if k == lo_k:
                break
            if judge(k):
                hi_k = k
            else:
                lo_k = k
                d *= 2
                flat = _levelled_off(rows, values_at, tgt, k)
                if flat:
                    levelled = True
                    note = flat
                    break
    elif lo_k is None:  # step down until missed or the floor
        while lo_k is None:
            k = max(hi_k - d, k_min)
            if k == hi_k:
                break
            if judge(k):
                hi_k = k
                d *= 2
            else:
                lo_k = k
        if lo_k is None:
            note = f"met at the search floor ({k_min * step:g} PAs a week); fewer PAs were not tried"
            lo_k = hi_k - 1
    if hi_k is None:
        answer = None
        if not levelled:
            at_cap = rows[max(rows)]
            note = (f"not met at the search cap ({k_max * step:g} PAs a week): there the KPI mean was "
                    f"{at_cap['mean']:.2f} and the judged value {at_cap['judged']:.2f} against {tgt.threshold:g}")
    else:
        answer = _close_in(judge, rows, tgt, lo_k, hi_k)
        while not judge(answer, full=True):  # met early, missed on every replication: look above it
            lo_k = answer
            above = [k for k, r in rows.items() if r["met"] and k > answer]
            if above:
                hi_k = min(above)
            else:
                k = answer
                while k < k_max and not judge(k := min(k + d, k_max)):
                    lo_k = k
                if not rows[k]["met"]:
                    answer = None
                    note = f"not met at the search cap ({k_max * step:g} PAs a week)"
                    break
                hi_k = k
            answer = _close_in(judge, rows, tgt, lo_k, hi_k)

    ev = pd.DataFrame(list(rows.values())).sort_values("order", ignore_index=True)
    pas = None if answer is None else answer * step
    per_service = {}
    if pas is not None:
        sc = with_pas(scenario, services, pas, from_day)
        per_service = {s: (sc.service_pas_per_week(s) if from_day is None else pas_in_effect(sc, s, from_day))
                       for s in services}
    res = SolveResult(
        lever=lever_name, services=services, target=tgt, pas_per_week=pas, reachable=answer is not None,
        funded_pas_per_week=funded, cap_pas_per_week=k_max * step, floor_pas_per_week=k_min * step,
        step_pas=step, replications=replications, seed=seed, population=scenario.population, evaluations=ev,
        note=note, per_service_pas=per_service, offered_load_pas=load, simulated=runs.simulated - simulated_before,
        levelled_off=levelled,
    )
    if not res.monotone:
        res.note = (res.note + "; " if res.note else "") + (
            "a level met the target below one that missed it (the KPI is not monotone in PAs at this precision): "
            "run more replications"
        )
    return res


def _close_in(judge, rows: dict[int, dict], tgt: Target, lo_k: int, hi_k: int) -> int:
    """The fewest grid steps meeting the target between ``lo_k`` (missed) and ``hi_k`` (met).

    Each step tries where the KPI's mean, drawn straight between the bracket's ends, reaches the threshold
    (shifted by the CI half-width the last full level showed, since the CI bound is what is judged), then the
    neighbour on the far side: when the line is good, two levels settle it. Where it is not (no slope, a guess
    at an end), the midpoint, so it never takes more steps than about twice a bisection.
    """
    while hi_k - lo_k > 1:
        a, b = rows[lo_k], rows[hi_k]
        full = [r for r in rows.values() if not r["early"] and np.isfinite(r["ci_high"] - r["ci_low"])]
        shift = (full[-1]["ci_high"] - full[-1]["ci_low"]) / 2 if full and tgt.confidence == "ci" else 0.0
        goal = tgt.threshold + (shift if tgt.sense == ">=" else -shift)
        slope = b["mean"] - a["mean"]
        guess = None
        if np.isfinite(slope) and abs(slope) > 1e-12:
            guess = lo_k + (goal - a["mean"]) / slope * (hi_k - lo_k)
        mid = (lo_k + hi_k) // 2 if guess is None or not np.isfinite(guess) else int(
            min(max(round(guess), lo_k + 1), hi_k - 1))
        if judge(mid):
            hi_k = mid
            if mid - 1 > lo_k:
                lo_k, hi_k = (lo_k, mid - 1) if judge(mid - 1) else (mid - 1, hi_k)
        else:
            lo_k = mid
            if mid + 1 < hi_k:
                lo_k, hi_k = (lo_k, mid + 1) if judge(mid + 1) else (mid + 1, hi_k)
    return hi_k


#: A level's queue keeps up when its busiest service is busy less than this share of the time.
KEEPS_UP_UTILISATION = 0.95


def _levelled_off(rows: dict[int, dict], values_at: dict[int, np.ndarray], tgt: Target, k: int) -> str:
    """Why level ``k`` (just missed) shows the target cannot be reached by PAs alone, or "".

    It has when a level with at most two thirds of its PAs, whose queues already kept up (utilisation below
    95%), missed too, and the extra half or more of PAs moved the KPI by less than half the gap still left, even
    at the hopeful end of the paired 95% CI of the difference (common random numbers): if each further step of
    as many PAs moves it by at most two thirds of the step before, all of them together move it by at most twice
    as much again, which falls short; the rest of the pathway (booking
    lead times, misrouting), not this capacity, sets the KPI there.
    """
    below = [j for j, r in rows.items()
             if j <= k * 2 / 3 and not r["met"] and r["utilisation"] < KEEPS_UP_UTILISATION]
    if not below:
        return ""
    j = max(below)
    n = min(len(values_at[j]), len(values_at[k]))
    diff = mean_interval(values_at[k][:n] - values_at[j][:n], dropna=True)
    sign = 1.0 if tgt.sense == ">=" else -1.0
    hopeful = sign * diff.mean + (diff.half_width if np.isfinite(diff.half_width) else 0.0)
    if not np.isfinite(hopeful) or 2.0 * hopeful >= sign * (tgt.threshold - rows[k]["judged"]):
        return ""  # diminishing returns could still close the gap: keep searching
    a, b = rows[j], rows[k]
    return (f"not reachable by PAs alone: the KPI levels off short of the target (mean {a['mean']:.2f} at "
            f"{a['pas_per_week']:g} PAs a week, {b['mean']:.2f} at {b['pas_per_week']:g}; judged {b['judged']:.2f} "
            f"against {tgt.threshold:g}); levels above {b['pas_per_week']:g} PAs were not tried")
