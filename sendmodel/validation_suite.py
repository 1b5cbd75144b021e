"""The validation suite: the engine against queueing theory, Ciw and independent recursions.

``sendmodel validate --theory`` (or ``make validate``) runs every case in :data:`CASES` and prints one row
per check; ``tests/validation/`` asserts the same checks. Each case is a scenario in ``scenarios/validation/``
that reduces the model to a textbook queue (see ``docs/validation.md``). Two kinds of check:

* **statistical** (theory, Ciw, independent simulation): the mean over independent replications, a t-interval,
  and a pass when the reference lies inside the simulation's 99.9% interval. With about 40 such checks, the
  chance that a correct engine fails any of them is below 5% (Bonferroni), and the seeds are fixed, so the
  result is reproducible. The table prints the usual 95% interval, ``|error| / SE``, and the smallest error
  the check would detect with 80% power at that level (``(t_0.9995 + z_0.8) x SE``).
* **exact** (sample path): identities that hold for every run up to rounding, such as Little's law on the
  run's own queue log and task records, and start times equal to an independent event recursion on the same
  inputs.

The independent recursions (:func:`nonpreemptive_starts`, :func:`fcfs_on_sessions`, :func:`weekday_sessions`)
use none of the engine's code (model, capacity, demand): they are written from the queue's definition.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import stats

from . import theory
from .config import Exponential, Fixed, Scenario
from .model import TASK_KINDS
from .scenarios import load_scenario

ALPHA = 0.001  # per statistical check; about 40 checks -> family-wise false-alarm chance below 5%
POWER_Z = stats.norm.ppf(0.80)
DEFAULT_SEED = 2024
SIX_WEEKS_DAYS = 42.0
EXACT_TOL = 1e-6

ROUTINE = TASK_KINDS.index("routine_appointment")
ADVICE = TASK_KINDS.index("advice_from_records")
DMO_REVIEW = TASK_KINDS.index("dmo_review")


def scenario_dir() -> Path:
    """``scenarios/validation``: next to the package in a source checkout, else under the current folder."""
    for base in (Path(__file__).resolve().parents[1], Path.cwd()):
        d = base / "scenarios" / "validation"
        if d.is_dir():
            return d
    raise FileNotFoundError("scenarios/validation not found: run from the sendmodel repository")


@lru_cache(maxsize=None)
def load_case_scenario(key: str) -> Scenario:
    return load_scenario(scenario_dir() / f"{key}.yaml")


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
        return float(stats.t.ppf(1 - alpha / 2, self.df))

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


# --- independent recursions (no engine code) ----------------------------------------------------------------


def nonpreemptive_starts(enqueued, service_days, servers: int, classes=None) -> np.ndarray:
    """Start times of a c-server queue that serves, whenever a server frees, the waiting job of the lowest
    class (then the earliest arrival), never interrupting a job; with one class this is FCFS
    (the Kiefer-Wolfowitz recursion).

    Parameters
    ----------
    enqueued : array of float
        Arrival time of each job (days).
    service_days : array of float
        Service time of each job (days).
    servers : int
        Servers always on duty.
    classes : array of int, optional
        Priority class of each job (0 = first); all 0 when omitted.
    """
    a = np.asarray(enqueued, dtype=float)
    s = np.asarray(service_days, dtype=float)
    cls = np.zeros(a.size, dtype=np.int64) if classes is None else np.asarray(classes)
    order = np.argsort(a, kind="stable").tolist()
    a_l, s_l, c_l = a.tolist(), s.tolist(), cls.tolist()
    free = [0.0] * servers
    waiting: list = []
    start = np.full(a.size, np.nan)
    i, n = 0, a.size
    while i < n or waiting:
        t = free[0]
        while i < n and a_l[order[i]] <= t:
            j = order[i]
            heapq.heappush(waiting, (c_l[j], a_l[j], j))
            i += 1
        if waiting:
            j = heapq.heappop(waiting)[2]
            begin = t
        else:  # every server idle: the next arrival starts at once
            j = order[i]
            i += 1
            begin = a_l[j]
        heapq.heapreplace(free, begin + s_l[j])
        start[j] = begin
    return start


def weekday_sessions(start_date: dt.date, n_days: int, first_hour: float = 9.0, last_hour: float = 17.0):
    """One clinician's open hours: every weekday that is not an England bank holiday, first to last hour.

    Written from the definition of a 10-PA week (two 4-hour sessions each weekday), not from the engine's
    session layout. Returns (start, end) arrays in days from ``start_date``.
    """
    import holidays

    years = range(start_date.year, (start_date + dt.timedelta(days=n_days)).year + 1)
    hols = set(holidays.country_holidays("GB", subdiv="ENG", years=years))
    dates = (start_date + dt.timedelta(days=d) for d in range(n_days))
    days = [d for d, date in enumerate(dates) if date.weekday() < 5 and date not in hols]
    d = np.asarray(days, dtype=float)
    return d + first_hour / 24.0, d + last_hour / 24.0


def fcfs_on_sessions(enqueued, service_hours, sess_start, sess_end) -> np.ndarray:
    """Start times for one clinician serving first come first served only within sessions, carrying unfinished
    work over to the next session (preemptive-resume at session ends).

    In *operational time* (clinician hours offered so far) this is an ordinary single-server queue, so the
    Lindley recursion x_j = max(op(a_j), x_{j-1} + h_{j-1}) gives each job's start in clinician hours; mapping
    back to the calendar gives the start time (a job whose turn comes at a session's end starts when the next
    session opens).
    """
    a = np.asarray(enqueued, dtype=float)
    h = np.asarray(service_hours, dtype=float)
    order = np.argsort(a, kind="stable")
    a, h = a[order], h[order]
    length = (sess_end - sess_start) * 24.0
    cum1 = np.cumsum(length)
    cum0 = cum1 - length
    k = np.searchsorted(sess_start, a, side="right") - 1
    kk = np.maximum(k, 0)
    op = np.where(k < 0, 0.0, cum0[kk] + np.minimum(a - sess_start[kk], sess_end[kk] - sess_start[kk]) * 24.0)
    done_before = np.concatenate([[0.0], np.cumsum(h)[:-1]])
    x = done_before + np.maximum.accumulate(op - done_before)
    m = np.searchsorted(cum1, x, side="right")
    beyond = m >= sess_start.size  # not started within the calendar given
    mm = np.minimum(m, sess_start.size - 1)
    out = np.empty_like(a)
    out[order] = np.where(beyond, np.inf, sess_start[mm] + (x - cum0[mm]) / 24.0)
    return out


# --- measurements on one replication's records --------------------------------------------------------------


def _window(sc: Scenario, rec: dict, tail_days: float) -> tuple[float, float]:
    return sc.simulation.warm_up_days, rec["end_day"] - tail_days


def task_waits(rec: dict, service: str, kind: int, lo: float, hi: float) -> np.ndarray:
    """Waits (days) of the tasks of one kind that joined the service's queue in [lo, hi)."""
    s = rec["services"][service]
    m = (s["task_kind"] == kind) & (s["task_enqueued"] >= lo) & (s["task_enqueued"] < hi)
    w = s["task_started"][m] - s["task_enqueued"][m]
    if np.isnan(w).any():
        n = int(np.isnan(w).sum())
        raise RuntimeError(f"{service}: {n} measured tasks never started; lengthen the drain margin")
    return w


def queue_time_average(rec: dict, service: str, lo: float) -> float:
    s = rec["services"][service]
    t, n, end = s["queue_t"], s["queue_n"], rec["end_day"]
    edges = np.clip(np.append(t, end), lo, end)
    return float(np.sum(n * np.diff(edges)) / (end - lo))


def little_areas(rec: dict, lo: float) -> tuple[float, float, float]:
    """Little's law on the sample path, over [lo, end) and all services.

    The area under the engine's queue-length log must equal the sum over tasks of the time each spent waiting
    inside the window (H = lambda G, exact for any finite window). Returns (area from the log, area from the
    task records, worst relative gap over services), areas as time averages (tasks waiting).
    """
    end, worst, a_log, a_tasks = rec["end_day"], 0.0, 0.0, 0.0
    for name, s in rec["services"].items():
        from_log = queue_time_average(rec, name, lo) * (end - lo)
        started = np.where(np.isnan(s["task_started"]), end, s["task_started"])
        inside = np.minimum(started, end) - np.maximum(s["task_enqueued"], lo)
        from_tasks = float(np.clip(inside, 0, None).sum())
        worst = max(worst, abs(from_log - from_tasks) / max(from_tasks, 1.0))
        a_log += from_log
        a_tasks += from_tasks
    return a_log / (end - lo), a_tasks / (end - lo), worst


def path_gap(rec: dict, service: str, servers: int, priority: bool = False) -> float:
    """Largest |engine start - independent recursion start| over a service's tasks (days); inf if the engine
    left a task unstarted that the recursion starts before the end."""
    s = rec["services"][service]
    classes = (~s["task_ehc"]).astype(np.int64) if priority else None
    ref = nonpreemptive_starts(s["task_enqueued"], s["task_hours"] / 24.0, servers, classes)
    return _gap(s["task_started"], ref, rec["end_day"])


def _gap(engine: np.ndarray, ref: np.ndarray, end: float) -> float:
    started = ~np.isnan(engine)
    if (ref[~started] < end - 1e-9).any():
        return math.inf
    return float(np.max(np.abs(engine[started] - ref[started]), initial=0.0))


# --- scenario parameters ------------------------------------------------------------------------------------


def moments_days(dist) -> tuple[float, float]:
    """(E[S], E[S^2]) in days for a task-hours distribution (fixed or exponential only)."""
    if isinstance(dist, Exponential):
        m = dist.mean / 24.0
        return m, 2 * m * m
    if isinstance(dist, Fixed):
        m = dist.value / 24.0
        return m, m * m
    raise ValueError(f"validation needs fixed or exponential task times (got {dist.dist})")


def routine_rate(sc: Scenario, service: str) -> float:
    return sc.services[service].routine_referrals_per_week_per_70k * sc.scale / 7.0


def ehc_rate(sc: Scenario) -> float:
    return sc.ehc.requests_per_year_per_70k * sc.scale / 365.25


def servers(sc: Scenario, service: str) -> int:
    return int(round(sc.service_pas_per_week(service) * 4.0 / 168.0))


def _ciw_seed(seed: int, rep: int) -> int:
    return int(np.random.SeedSequence([seed, rep, 0xC1]).generate_state(1)[0])


def _ciw_dist(ciw, dist):
    m, _ = moments_days(dist)
    if isinstance(dist, Exponential):
        return ciw.dists.Exponential(rate=1.0 / m)
    return ciw.dists.Deterministic(m)


def ciw_waits(classes: dict, n_servers: int, end: float, lo: float, hi: float,
              seed: int) -> dict[str, np.ndarray]:
    """Run the same queue in Ciw: ``classes`` maps a class name to (arrival rate a day, task-hours dist);
    the first class has priority. Returns the waits of customers arriving in [lo, hi) per class."""
    import ciw

    names = list(classes)
    net = ciw.create_network(
        arrival_distributions={c: [ciw.dists.Exponential(rate=classes[c][0])] for c in names},
        service_distributions={c: [_ciw_dist(ciw, classes[c][1])] for c in names},
        number_of_servers=[n_servers],
        priority_classes={c: i for i, c in enumerate(names)},
    )
    ciw.seed(seed)
    q = ciw.Simulation(net)
    q.simulate_until_max_time(end)
    out: dict[str, list] = {c: [] for c in names}
    for r in q.get_all_records():
        if lo <= r.arrival_date < hi:
            out[r.customer_class].append(r.waiting_time)
    return {c: np.asarray(v) for c, v in out.items()}


# --- cases --------------------------------------------------------------------------------------------------


class Case:
    """A validation scenario, how to measure one replication, and the checks on all replications."""

    key: str = ""
    title: str = ""
    replications: int = 40
    reference_replications: int = 0  # Ciw or independent simulation; 0 = none
    tail_days: float = 200.0

    @property
    def scenario(self) -> Scenario:
        return load_case_scenario(self.key)

    def measure(self, rec: dict, sc: Scenario, rep: int) -> dict[str, float]:
        raise NotImplementedError

    def reference(self, sc: Scenario, seed: int, rep: int) -> dict[str, float]:
        return {}

    def checks(self, sc: Scenario, m: dict[str, np.ndarray], r: dict[str, np.ndarray]) -> list[Check]:
        raise NotImplementedError

    def little(self, rec: dict, sc: Scenario) -> dict[str, float]:
        a_log, a_tasks, gap = little_areas(rec, sc.simulation.warm_up_days)
        return {"little_log": a_log, "little_tasks": a_tasks, "little_gap": gap}

    def little_check(self, m) -> Check:
        return exact(self.title, "Little's law, sample path: queue log = task waits",
                     m["little_tasks"].mean(), m["little_log"].mean(), np.max(m["little_gap"]),
                     m["little_gap"].size)

    def path_check(self, m, what: str) -> Check:
        ok = ~np.isnan(m["path_gap"])
        return exact(self.title, f"start times = independent {what} recursion", 0.0,
                     float(np.max(m["path_gap"][ok])), float(np.max(m["path_gap"][ok])), int(ok.sum()))


class MMcCase(Case):
    """M/M/c (Erlang C) or M/D/1 (Pollaczek-Khinchine): routine referrals to one always-open service."""

    service = "clinic"
    threshold_days = 1.0

    def __init__(self, key, title, replications, ciw_replications=0):
        self.key, self.title, self.replications = key, title, replications
        self.reference_replications = ciw_replications

    def _params(self, sc):
        lam = routine_rate(sc, self.service)
        m, m2 = moments_days(sc.services[self.service].routine_appointment_hours)
        return lam, m, m2, servers(sc, self.service)

    def measure(self, rec, sc, rep):
        lo, hi = _window(sc, rec, self.tail_days)
        w = task_waits(rec, self.service, ROUTINE, lo, hi)
        c = servers(sc, self.service)
        return {"wait": w.mean(), "p_exceed": (w > self.threshold_days).mean(),
                "lq": queue_time_average(rec, self.service, lo),
                "path_gap": path_gap(rec, self.service, c) if rep == 0 else math.nan,
                **self.little(rec, sc)}

    def reference(self, sc, seed, rep):
        lam, _, _, c = self._params(sc)
        end = sc.simulation.warm_up_days + sc.simulation.horizon_days
        w = ciw_waits({"routine": (lam, sc.services[self.service].routine_appointment_hours)}, c, end,
                      sc.simulation.warm_up_days, end - self.tail_days, _ciw_seed(seed, rep))["routine"]
        return {"wait": w.mean()}

    def checks(self, sc, m, r):
        lam, mean, m2, c = self._params(sc)
        t = self.title
        exponential = isinstance(sc.services[self.service].routine_appointment_hours, Exponential)
        if exponential:
            wq = theory.mmc_mean_wait(lam, 1 / mean, c)
            out = [vs_theory(t, "mean wait Wq, Erlang C", wq, m["wait"]),
                   vs_theory(t, f"P(wait > {self.threshold_days:g} day), Erlang C",
                             theory.mmc_wait_exceeds(lam, 1 / mean, c, self.threshold_days), m["p_exceed"])]
        else:
            wq = theory.mg1_mean_wait(lam, mean, m2)
            out = [vs_theory(t, "mean wait Wq, Pollaczek-Khinchine", wq, m["wait"])]
        out.append(vs_theory(t, "mean queue Lq (time average) = lambda Wq", lam * wq, m["lq"]))
        if r:
            out.append(vs_reference(t, "mean wait Wq: sendmodel - Ciw", m["wait"], r["wait"], "ciw"))
        out += [self.little_check(m), self.path_check(m, "first-come-first-served")]
        return out


class PriorityCase(Case):
    """Two-class non-preemptive priority M/G/1: EHC advice (class 1) before routine referrals (class 2)."""

    key, title, replications, reference_replications = "priority_mm1", "Priority M/M/1 (EHC first)", 40, 40
    service = "clinic"

    def _params(self, sc):
        svc = sc.services[self.service]
        lam = [ehc_rate(sc) * sc.ehc.request_outcomes["assessed"] * svc.advice.p_requested,
               routine_rate(sc, self.service)]
        mom = [moments_days(svc.advice.records_advice_hours), moments_days(svc.routine_appointment_hours)]
        return lam, mom

    def measure(self, rec, sc, rep):
        lo, hi = _window(sc, rec, self.tail_days)
        return {"w1": task_waits(rec, self.service, ADVICE, lo, hi).mean(),
                "w2": task_waits(rec, self.service, ROUTINE, lo, hi).mean(),
                "lq": queue_time_average(rec, self.service, lo),
                "path_gap": path_gap(rec, self.service, 1, priority=True) if rep == 0 else math.nan,
                **self.little(rec, sc)}

    def reference(self, sc, seed, rep):
        lam, _ = self._params(sc)
        svc = sc.services[self.service]
        end = sc.simulation.warm_up_days + sc.simulation.horizon_days
        w = ciw_waits({"ehc": (lam[0], svc.advice.records_advice_hours),
                       "routine": (lam[1], svc.routine_appointment_hours)}, 1, end,
                      sc.simulation.warm_up_days, end - self.tail_days, _ciw_seed(seed, rep))
        return {"w1": w["ehc"].mean(), "w2": w["routine"].mean()}

    def checks(self, sc, m, r):
        lam, mom = self._params(sc)
        w = theory.priority_mean_waits(lam, [x[0] for x in mom], [x[1] for x in mom])
        t = self.title
        out = [vs_theory(t, "EHC advice mean wait W1, Cobham", w[0], m["w1"]),
               vs_theory(t, "routine mean wait W2, Cobham", w[1], m["w2"]),
               vs_theory(t, "mean queue Lq = lambda1 W1 + lambda2 W2", lam[0] * w[0] + lam[1] * w[1],
                         m["lq"])]
        if r:
            out += [vs_reference(t, "EHC advice W1: sendmodel - Ciw", m["w1"], r["w1"], "ciw"),
                    vs_reference(t, "routine W2: sendmodel - Ciw", m["w2"], r["w2"], "ciw")]
        out += [self.little_check(m), self.path_check(m, "non-preemptive priority")]
        return out


class JacksonCase(Case):
    """Open Jackson networks of M/M/1 services fed by the EHC pathway: a tandem or a routing split."""

    def __init__(self, key, title, replications, nodes, tandem):
        self.key, self.title, self.replications = key, title, replications
        self.nodes = nodes  # [(service, task kind, hours field)]
        self.tandem = tandem

    def _network(self, sc):
        lam = ehc_rate(sc) * sc.ehc.request_outcomes["assessed"]
        mu, c = [], []
        for svc, _, field in self.nodes:
            dist = sc.ehc.dmo_review_hours if field == "dmo" else sc.services[svc].advice.records_advice_hours
            if not isinstance(dist, Exponential):
                raise ValueError(f"{self.key}: Jackson networks need exponential task times")
            mu.append(1.0 / moments_days(dist)[0])
            c.append(servers(sc, svc))
        n = len(self.nodes)
        routing = np.zeros((n, n))
        if self.tandem:  # advice from every request (p_requested 1), then DMO/DCO for every request
            external = [lam * sc.services[self.nodes[0][0]].advice.p_requested] + [0.0] * (n - 1)
            for i in range(n - 1):
                routing[i, i + 1] = sc.ehc.p_exceptional_provision
        else:  # each service asked independently: each sees a thinned Poisson stream
            external = [lam * sc.services[svc].advice.p_requested for svc, _, _ in self.nodes]
        return theory.jackson_network(external, routing, mu, c)

    def measure(self, rec, sc, rep):
        lo, hi = _window(sc, rec, self.tail_days)
        out = {}
        for i, (svc, kind, _) in enumerate(self.nodes):
            out[f"w{i}"] = task_waits(rec, svc, kind, lo, hi).mean()
            out[f"lq{i}"] = queue_time_average(rec, svc, lo)
        if self.tandem:
            e = rec["ehc"]
            m = (e["arrival_day"] >= lo) & (e["arrival_day"] < hi)
            through = e["dmo_signoff_day"][m] - e["arrival_day"][m]
            if np.isnan(through).any():
                raise RuntimeError("tandem: measured requests not signed off; lengthen the drain")
            out["sojourn"] = through.mean()
        out["path_gap"] = (max(path_gap(rec, svc, servers(sc, svc)) for svc, _, _ in self.nodes)
                           if rep == 0 else math.nan)
        return {**out, **self.little(rec, sc)}

    def checks(self, sc, m, r):
        nodes, through = self._network(sc)
        t, out = self.title, []
        for i, (svc, _, _) in enumerate(self.nodes):
            out.append(vs_theory(t, f"{svc}: mean wait Wq, Jackson", nodes[i].mean_wait, m[f"w{i}"]))
            out.append(vs_theory(t, f"{svc}: mean queue Lq = lambda Wq", nodes[i].mean_number_waiting,
                                 m[f"lq{i}"]))
        if self.tandem:
            out.append(vs_theory(t, "time through both services, Jackson", through, m["sojourn"]))
        out += [self.little_check(m), self.path_check(m, "first-come-first-served")]
        return out


class CalendarCase(Case):
    """One clinician on weekday sessions: utilisation, every start time, the share waiting over 6 weeks."""

    key, title = "calendar_weekdays", "Weekday sessions (10 PAs)"
    replications, reference_replications, tail_days = 100, 400, 365.0
    service = "clinic"

    def _calendar(self, sc):
        end = sc.simulation.warm_up_days + sc.simulation.horizon_days
        return _sessions_cached(sc.simulation.start_date, int(math.ceil(end)) + 60)

    def _waits_stats(self, w):
        return {"share_6w": float((w > SIX_WEEKS_DAYS).mean()), "wait": float(w.mean())}

    def measure(self, rec, sc, rep):
        lo, hi = _window(sc, rec, self.tail_days)
        s = rec["services"][self.service]
        d0, d1 = int(math.floor(lo)), int(math.ceil(rec["end_day"]))
        util = s["busy_hours_by_day"][d0:d1].sum() / s["available_hours_by_day"][d0:d1].sum()
        gap = math.nan
        if rep == 0:
            ss, se = self._calendar(sc)
            gap = _gap(s["task_started"], fcfs_on_sessions(s["task_enqueued"], s["task_hours"], ss, se),
                       rec["end_day"])
        w = task_waits(rec, self.service, ROUTINE, lo, hi)
        return {"util": util, "path_gap": gap, **self._waits_stats(w), **self.little(rec, sc)}

    def reference(self, sc, seed, rep):
        """An independent simulation of the same system: own random numbers, own calendar, own queue."""
        rng = np.random.default_rng(np.random.SeedSequence([seed, rep, 0xCA1]))
        end = sc.simulation.warm_up_days + sc.simulation.horizon_days
        lam = routine_rate(sc, self.service)
        n = rng.poisson(lam * end)
        arrivals = np.sort(rng.uniform(0.0, end, n))  # a Poisson process on [0, end), by order statistics
        hours = rng.exponential(sc.services[self.service].routine_appointment_hours.mean, n)
        ss, se = self._calendar(sc)
        start = fcfs_on_sessions(arrivals, hours, ss, se)
        lo, hi = sc.simulation.warm_up_days, end - self.tail_days
        m = (arrivals >= lo) & (arrivals < hi)
        return self._waits_stats(start[m] - arrivals[m])

    def checks(self, sc, m, r):
        lo = sc.simulation.warm_up_days
        end = lo + sc.simulation.horizon_days
        ss, se = self._calendar(sc)
        d0, d1 = math.floor(lo), math.ceil(end)
        inside = (ss >= d0) & (ss < d1)
        capacity_per_day = float(((se - ss)[inside] * 24.0).sum() / (d1 - d0))
        offered = routine_rate(sc, self.service) * sc.services[self.service].routine_appointment_hours.mean
        t = self.title
        return [
            vs_theory(t, "utilisation = offered load / average capacity", offered / capacity_per_day,
                      m["util"]),
            vs_reference(t, "share waiting > 6 weeks: sendmodel - independent", m["share_6w"], r["share_6w"],
                         "independent"),
            vs_reference(t, "mean wait: sendmodel - independent", m["wait"], r["wait"], "independent"),
            self.little_check(m),
            self.path_check(m, "session-calendar FCFS"),
        ]


@lru_cache(maxsize=8)
def _sessions_cached(start: dt.date, n_days: int):
    return weekday_sessions(start, n_days)


CASES: dict[str, Case] = {c.key: c for c in [
    MMcCase("mm1_rho50", "M/M/1 rho=0.5", 40),
    MMcCase("mm1_rho70", "M/M/1 rho=0.7", 40),
    MMcCase("mm1_rho90", "M/M/1 rho=0.9", 40),
    MMcCase("mm3_rho50", "M/M/3 rho=0.5", 40),
    MMcCase("mm3_rho70", "M/M/3 rho=0.7", 40, ciw_replications=40),
    MMcCase("mm3_rho90", "M/M/3 rho=0.9", 40),
    MMcCase("md1_rho80", "M/D/1 rho=0.8", 40),
    PriorityCase(),
    JacksonCase("tandem", "Tandem M/M/1 -> M/M/1", 40,
                [("health", ADVICE, "advice"), ("dmo", DMO_REVIEW, "dmo")], tandem=True),
    JacksonCase("split", "Routing split p=0.5", 40,
                [("slt", ADVICE, "advice"), ("ot", ADVICE, "advice")], tandem=False),
    CalendarCase(),
]}


# --- running ------------------------------------------------------------------------------------------------


def _one(job: tuple[str, str, int, int]) -> tuple[str, str, int, dict]:
    """One replication of one case, engine or reference side (top level so a process pool can call it)."""
    from .runner import run_replication

    key, side, seed, rep = job
    case = CASES[key]
    sc = case.scenario
    if side == "model":
        return key, side, rep, case.measure(run_replication(sc, seed, rep), sc, rep)
    return key, side, rep, case.reference(sc, seed, rep)


def _jobs(case: Case, seed: int) -> list[tuple[str, str, int, int]]:
    jobs = [(case.key, "model", seed, r) for r in range(case.replications)]
    return jobs + [(case.key, "reference", seed, r) for r in range(case.reference_replications)]


def _collect(case: Case, results) -> list[Check]:
    by_side: dict[str, dict[int, dict]] = {"model": {}, "reference": {}}
    for _, side, rep, out in results:
        by_side[side][rep] = out

    def stack(d):
        if not d:
            return {}
        reps = sorted(d)
        return {k: np.array([d[r][k] for r in reps]) for k in d[reps[0]]}

    return case.checks(case.scenario, stack(by_side["model"]), stack(by_side["reference"]))


def run_case(key: str, seed: int = DEFAULT_SEED, workers: int = 1) -> list[Check]:
    """Run one validation case and return its checks."""
    return run_suite([key], seed, workers)


def run_suite(keys=None, seed: int = DEFAULT_SEED, workers: int = 1, progress=None) -> list[Check]:
    """Run the named cases (all when None) and return their checks, in case order."""
    keys = list(CASES) if keys is None else list(keys)
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        raise KeyError(f"unknown validation case(s) {unknown}; choose from {list(CASES)}")
    jobs = [j for k in keys for j in _jobs(CASES[k], seed)]
    results: list = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for res in pool.map(_one, jobs, chunksize=1):
                results.append(res)
                if progress:
                    progress(len(results), len(jobs))
    else:
        for j in jobs:
            results.append(_one(j))
            if progress:
                progress(len(results), len(jobs))
    return [c for k in keys for c in _collect(CASES[k], [r for r in results if r[0] == k])]


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


def run_from_cli(args, out) -> int:
    """``sendmodel validate --theory``: run, print the table and a verdict; exit status 1 on any failure."""
    keys = args.case or None
    t0 = time.time()
    try:
        checks = run_suite(keys, seed=args.seed, workers=args.workers)
    except KeyError as exc:
        out.write(f"error: {exc.args[0]}\n")
        return 2
    n_stat = sum(c.statistical for c in checks)
    failed = [c for c in checks if not c.passed]
    out.write(format_table(checks) + "\n\n")
    out.write(f"{len(checks) - len(failed)} of {len(checks)} checks pass ({n_stat} statistical at the "
              f"{1 - ALPHA:.1%} level, {len(checks) - n_stat} exact to {EXACT_TOL:g}); seed {args.seed}, "
              f"{time.time() - t0:.0f} s.\n")
    for c in failed:
        out.write(f"FAIL {c.describe()}\n")
    return 1 if failed else 0
