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
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from sendmodel.common.paths import SOURCE_ROOT
from sendmodel.engine.model import TASK_KINDS
from sendmodel.scenario.config import Exponential, Fixed, Scenario
from sendmodel.scenario.loading import load_scenario
from sendmodel.studies.verification import theory
from sendmodel.studies.verification.checks import Check, exact, vs_reference, vs_theory
from sendmodel.studies.verification.recursions import fcfs_on_sessions, nonpreemptive_starts, weekday_sessions

DEFAULT_SEED = 2024
SIX_WEEKS_DAYS = 42.0

ROUTINE = TASK_KINDS.index("routine_appointment")
ADVICE = TASK_KINDS.index("advice_from_records")
DMO_REVIEW = TASK_KINDS.index("dmo_review")


def scenario_dir() -> Path:
    """``scenarios/validation``: next to the package in a source checkout, else under the current folder."""
    for base in (SOURCE_ROOT, Path.cwd()):
        d = base / "scenarios" / "validation"
        if d.is_dir():
            return d
    raise FileNotFoundError("scenarios/validation not found: run from the sendmodel repository")


@lru_cache(maxsize=None)
def load_case_scenario(key: str) -> Scenario:
    return load_scenario(scenario_dir() / f"{key}.yaml")


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
        # a task waits until it starts, or until its child left the list unseen, or to the end
        gone = s.get("task_left_day")
        out = s["task_started"] if gone is None else np.fmin(s["task_started"], gone)
        started = np.where(np.isnan(out), end, out)
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
