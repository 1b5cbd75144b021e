"""The SimPy model: EHC requests, advice, routine referrals and clinician sessions.

A service is a pool of clinician sessions (see :mod:`sendmodel.capacity`). While a session runs, its clinician
takes the next task in the service's order (first come first served by clock start, EHC work first, or nearest
due date first; ring-fenced sessions take not-known EHC assessments first) and works on it; a task longer than
what is left of the session carries its remaining hours to that clinician's next session, so work is
conserved. Events happen only when something changes (a session starts or ends, a task arrives or finishes).

The model emits plain records (NumPy arrays and lists); it knows nothing about pandas, KPIs or plots.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import math
import threading
from contextlib import contextmanager
from collections import deque

import numpy as np
import simpy

from .capacity import Sessions, available_hours_by_day, build_sessions
from .config import ADVICE_DUE_DAYS, Scenario
from .demand import Demand, end_day

# Task kinds (codes in the task log)
ROUTINE, ADVICE_RECORDS, RECORDS_CHECK, ASSESSMENT, MISSED, DECISION, DRAFT, FINALISE, DMO_REVIEW, ADMIN, TRIAGE = (
    range(11)
)
TASK_KINDS = (
    "routine_appointment",
    "advice_from_records",
    "records_check",
    "assessment",
    "missed_appointment",
    "decision",
    "draft",
    "finalise",
    "dmo_review",
    "admin",
    "triage",
)
EPS = 1e-12


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector for the length of a run.

    A run allocates tens of thousands of small objects (tasks, queue keys, events) that live until its end, so
    the collector keeps firing, and each full collection walks every object in the process (pandas and SciPy
    included): that was about two thirds of a replication's time. Nothing the model allocates during a run
    needs the collector (reference counting frees it). Thread-safe and re-entrant: the collector comes back,
    if it was on, when the last run in the process ends.
    """
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


class Task:
    """A piece of clinician work waiting in, or being served by, one service."""

    __slots__ = ("key", "hours", "remaining", "kind", "ehc", "nk", "enqueued", "started", "finished", "on_done",
                 "on_start")

    def __init__(self, key, hours, kind, ehc, nk, on_done=None, on_start=None):
        self.key = key
        self.hours = hours
        self.remaining = hours
        self.kind = kind
        self.ehc = ehc
        self.nk = nk
        self.enqueued = math.nan
        self.started = math.nan
        self.finished = math.nan
        self.on_done = on_done
        self.on_start = on_start


class Sleeper:
    """An idle clinician with nothing it can take: no events until a ``put`` wakes it (see :class:`ServiceQueue`)."""

    __slots__ = ("starts", "ends", "rfs", "k", "ev")

    def __init__(self, starts: list, ends: list, rfs: list):
        self.starts, self.ends, self.rfs = starts, ends, rfs
        self.k = 0  # the first session not yet over
        self.ev = None


class ServiceQueue:
    """The tasks waiting for one service, in its discipline's order, plus the idle clinicians asleep until work.

    An idle clinician with nothing it can take sleeps: no events at its session starts. ``put`` leaves the task in
    the queue (the discipline decides what is served first when someone takes work) and wakes the one sleeping
    clinician whose next session able to take this task starts earliest (now, if it is in such a session; ties:
    who fell asleep first). One put wakes at most one clinician.
    """

    def __init__(self, env: simpy.Environment, discipline: str, release_unused: bool, routine_target_days: float,
                 horizon: float = math.inf):
        self.env = env
        self.discipline = discipline
        self.release_unused = release_unused
        self.routine_target_days = routine_target_days
        self.horizon = horizon
        self.nk: list = []  # not-known EHC assessments (the ring-fence can take these first)
        self.rest: list = []
        self.sleepers: list[Sleeper] = []
        self.log_t: list[float] = [0.0]
        self.log_n: list[int] = [0]
        self.n = 0
        self._seq = itertools.count()

    def key(self, clock_start: float, ehc: bool) -> tuple:
        seq = next(self._seq)
        if self.discipline == "fcfs":
            return (clock_start, seq)
        if self.discipline == "ehc_first":
            return (0 if ehc else 1, clock_start, seq)
        due = clock_start + (ADVICE_DUE_DAYS if ehc else self.routine_target_days)
        return (due, seq)

    def _log(self):
        self.log_t.append(self.env.now)
        self.log_n.append(self.n)

    def put(self, task: Task) -> None:
        task.enqueued = self.env.now
        heapq.heappush(self.nk if task.nk else self.rest, (task.key, task))
        self.n += 1
        self._log()
        if self.sleepers:
            self._wake(task.nk or self.release_unused)

    def _wake(self, any_session: bool) -> None:
        """Wake the sleeper whose next session that can take the new task starts earliest."""
        now, horizon = self.env.now, self.horizon
        best, best_t, best_j, best_i = None, math.inf, 0, 0
        for i, s in enumerate(self.sleepers):
            starts, ends, rfs = s.starts, s.ends, s.rfs
            n, k = len(starts), s.k
            while k < n and ends[k] - now <= EPS:
                k += 1
            s.k = k
            if not any_session:
                while k < n and rfs[k]:
                    k += 1
            if k < n and starts[k] < horizon:
                t = starts[k] if starts[k] > now else now
                if t < best_t:
                    best, best_t, best_j, best_i = s, t, k, i
        if best is not None:
            del self.sleepers[best_i]
            best.ev.succeed(best_j)

    def eligible(self, ring_fenced: bool) -> bool:
        """Is anything waiting that a (ring-fenced) session could take?"""
        return bool(self.nk) or (bool(self.rest) and (not ring_fenced or self.release_unused))

    def take(self, ring_fenced: bool) -> Task | None:
        nk, rest = self.nk, self.rest
        if ring_fenced:
            if nk:
                heap = nk
            elif rest and self.release_unused:
                heap = rest
            else:
                return None
        elif nk and (not rest or nk[0][0] < rest[0][0]):
            heap = nk
        elif rest:
            heap = rest
        else:
            return None
        task = heapq.heappop(heap)[1]
        self.n -= 1
        self._log()
        return task

    def sleep(self, me: Sleeper, k: int) -> simpy.Event:
        me.k = k
        me.ev = self.env.event()
        self.sleepers.append(me)
        return me.ev

    def unsleep(self, me: Sleeper) -> None:
        self.sleepers.remove(me)


class ServiceState:
    """One service's clinicians, the queue they serve (shared when pooled), and its own task record."""

    def __init__(self, name, queue: ServiceQueue, sessions: list[Sessions], n_days: int):
        self.name = name
        self.queue = queue
        self.sessions = sessions
        self.tasks: list[Task] = []
        self.busy_hours = np.zeros(n_days + 1)
        self.available_hours = available_hours_by_day(sessions, n_days + 1)

    def submit(self, task: Task) -> None:
        self.tasks.append(task)
        self.queue.put(task)


class SendModel:
    """One replication of one scenario. Build, call :meth:`run`, read the records."""

    def __init__(self, scenario: Scenario, demand: Demand, seed: int, replication: int):
        self.sc = scenario
        self.demand = demand
        self.env = simpy.Environment()
        self.end = end_day(scenario)
        n_days = int(math.ceil(self.end))
        queues = {}
        for name, svc in scenario.services.items():
            queues[name] = ServiceQueue(
                self.env, svc.discipline, svc.ring_fence_release_unused, svc.routine_target_weeks * 7, self.end
            )
        for pool in scenario.pools.values():  # an integrated team: one queue served by all its clinicians
            for name in pool.services[1:]:
                queues[name] = queues[pool.services[0]]
        self.services = {
            name: ServiceState(name, queues[name], build_sessions(scenario, name, seed, replication, self.end), n_days)
            for name in scenario.services
        }
        self.trusted_pools = [p for p in scenario.pools.values() if p.trusted_assessor]
        self.short_notice = {name: svc.ring_fenced_pas_per_week > 0 for name, svc in scenario.services.items()}
        e = demand.ehc
        n = 0 if e is None else e.arrival_day.size
        nan = lambda: np.full(n, np.nan)  # noqa: E731
        self.ehc_rec = {
            "decision_day": nan(),
            "advice_requested_day": nan(),
            "advice_returned_day": nan(),
            "dmo_requested_day": nan(),
            "dmo_signoff_day": nan(),
            "draft_day": nan(),
            "final_day": nan(),
            "closed_day": nan(),
        }
        self.advice_rec = {
            s: {"requested_day": nan(), "returned_day": nan(), "assessment_started_day": nan()}
            for s in (e.advice if e is not None else {})
        }
        self.routine_rec = {
            s: {"seen_day": np.full(r.arrival_day.size, np.nan)} for s, r in demand.routine.items()
        }

    # --- the work a service does -------------------------------------------------------------------------------

    def work(self, service: str, hours: float, kind: int, clock_start: float, ehc: bool, nk: bool = False):
        """Queue a task; returns an event that fires when it is finished."""
        st = self.services[service]
        ev = self.env.event()
        task = Task(st.queue.key(clock_start, ehc), float(hours), kind, ehc, nk, on_done=ev.succeed)
        st.submit(task)
        return ev

    def clinician(self, st: ServiceState, sessions: Sessions):
        """A clinician working through their sessions, carrying unfinished work to the next one.

        A clinician with nothing to do sleeps (no events at its session starts) until a ``put`` wakes it, or until
        the first of its sessions that can take work already waiting (a ring-fenced session cannot take routine
        work unless released, so a clinician in one waits for its next ordinary session).
        """
        env, q, busy, horizon = self.env, st.queue, st.busy_hours, self.end
        starts, ends, rfs = sessions.start.tolist(), sessions.end.tolist(), sessions.ring_fenced.tolist()
        n = len(starts)
        me = Sleeper(starts, ends, rfs)
        current: Task | None = None
        k = 0  # the first session not yet over
        while k < n and starts[k] < horizon:
            if current is None and not q.eligible(rfs[k]):
                # Nothing session k can take. Sleep until a put wakes me, or until my first session that can take
                # work already waiting (only routine work waiting and ring-fenced sessions before it).
                j = k + 1
                if q.rest:
                    while j < n and rfs[j] and not q.release_unused:
                        j += 1
                else:
                    j = n
                ev = q.sleep(me, k)
                if j < n and starts[j] < horizon:
                    yield ev | env.timeout(starts[j] - env.now)
                    if not ev.triggered:
                        q.unsleep(me)
                        k = j
                        continue
                else:
                    yield ev
                k = ev.value
            start, end, rf = starts[k], ends[k], rfs[k]
            if env.now < start:
                yield env.timeout(start - env.now)
            idle = False
            while True:
                left = end - env.now
                if left <= EPS:
                    break
                if current is None:
                    current = q.take(rf)
                    if current is None:
                        idle = True
                        break
                    if current.started != current.started:  # NaN: first time anyone works on it
                        current.started = env.now
                        if current.on_start is not None:
                            current.on_start(env.now)
                step = min(current.remaining / 24.0, left)
                yield env.timeout(step)
                current.remaining -= step * 24.0
                busy[int(env.now - step)] += step * 24.0
                if current.remaining <= 1e-9:
                    current.finished = env.now
                    if current.on_done is not None:
                        current.on_done(current)
                    current = None
            if not idle:
                k += 1

    # --- pathways -----------------------------------------------------------------------------------------------

    def ehc_arrivals(self):
        e = self.demand.ehc
        env = self.env
        for i, t in enumerate(e.arrival_day.tolist()):
            if t > env.now:
                yield env.timeout(t - env.now)
            env.process(self.ehc_pathway(i))

    def ehc_pathway(self, i: int):
        """One request for an EHC needs assessment, from request to final plan (or an earlier end)."""
        env, e, cfg, rec = self.env, self.demand.ehc, self.sc.ehc, self.ehc_rec
        arrival = float(e.arrival_day[i])
        if e.decision_lag_days[i] > 0:
            yield env.timeout(float(e.decision_lag_days[i]))
        yield self.work(cfg.la_service, e.decision_hours[i], DECISION, arrival, True)
        rec["decision_day"][i] = env.now
        if e.outcome[i] != 0:
            rec["closed_day"][i] = env.now
            return
        asked = env.now
        rec["advice_requested_day"][i] = asked
        # A single point of access triages requests for *health* advice (seed 004, 6.2.1); the LA's own advice
        # services (educational psychology, social care) are asked directly and do not wait for it.
        triage = None
        if cfg.triage.enabled:
            triage = self.work(cfg.triage.service, e.triage_hours[i], TRIAGE, asked, True)
        asked_of = [s for s, a in e.advice.items() if a.requested[i]]
        advice, joint = [], self.joint_assessments(i, asked_of)
        for s in asked_of:
            if s in joint and joint[s][0] != s:
                continue  # served by the trusted assessor's joint assessment, started below
            hours = joint[s][1] if s in joint else None
            via = triage if self.sc.services[s].kind == "health" else None
            advice.append(env.process(self.advice_pathway(i, s, asked, via, hours)))
            if s in joint:
                lead = advice[-1]
                advice += [env.process(self.follow_joint(i, f, asked, lead)) for f, (ld, _) in joint.items()
                           if ld == s and f != s]
        if advice:
            yield env.all_of(advice)
        rec["advice_returned_day"][i] = env.now
        if e.exceptional[i]:
            rec["dmo_requested_day"][i] = env.now
            yield self.work(cfg.dmo_service, e.dmo_review_hours[i], DMO_REVIEW, arrival, True)
            admin = cfg.admin_service if cfg.admin_support else cfg.dmo_service
            yield self.work(admin, e.dmo_admin_hours[i], ADMIN, arrival, True)
            rec["dmo_signoff_day"][i] = env.now
        if not e.plan[i]:
            rec["closed_day"][i] = env.now
            return
        yield self.work(cfg.la_service, e.draft_hours[i], DRAFT, arrival, True)
        rec["draft_day"][i] = env.now
        yield env.timeout(cfg.family_consultation_days)
        yield self.work(cfg.la_service, e.finalise_hours[i], FINALISE, arrival, True)
        rec["final_day"][i] = env.now
        rec["closed_day"][i] = env.now

    def joint_assessments(self, i: int, asked_of: list[str]) -> dict[str, tuple[str, float]]:
        """Trusted assessor: for each pool, the not-known services a joint assessment serves -> (lead, hours)."""
        out: dict[str, tuple[str, float]] = {}
        e = self.demand.ehc
        for pool in self.trusted_pools:
            members = [s for s in pool.services if s in asked_of and not e.advice[s].known[i]]
            if len(members) < 2:
                continue
            hours = [float(e.advice[s].assessment_hours[i]) for s in members]
            lead = members[int(np.argmax(hours))]
            joint = max(hours) + pool.trusted_assessor_extra_share * (sum(hours) - max(hours))
            for s in members:
                out[s] = (lead, joint)
        return out

    def follow_joint(self, i: int, s: str, asked: float, lead):
        """Advice from a pooled service that the lead's joint assessment covers."""
        self.advice_rec[s]["requested_day"][i] = asked
        yield lead
        self.advice_rec[s]["returned_day"][i] = self.env.now

    def advice_pathway(self, i: int, s: str, asked: float, triage: simpy.Event | None,
                       joint_hours: float | None = None):
        """Advice from one service: triage or misrouting, records, an assessment if the child is not known."""
        env, a, rec = self.env, self.demand.ehc.advice[s], self.advice_rec[s]
        assess_hours = a.assessment_hours[i] if joint_hours is None else joint_hours
        rec["requested_day"][i] = asked
        triaged = triage is not None
        if triaged:
            yield triage
        if a.misrouted[i] and not triaged:
            yield env.timeout(float(a.misroute_delay_days[i]))
        if a.admin_lag_days[i] > 0:
            yield env.timeout(float(a.admin_lag_days[i]))
        if a.known[i]:
            yield self.work(s, a.records_advice_hours[i], ADVICE_RECORDS, asked, True)
        else:
            if not triaged:  # without a single point of access, finding out the child is not known takes a look
                yield self.work(s, a.records_check_hours[i], RECORDS_CHECK, asked, True)
            # An ordinary appointment is booked with notice; reserved short-notice slots (seed 004, 6.2.2) skip it.
            if a.booking_lead_days[i] > 0 and not self.short_notice[s]:
                yield env.timeout(float(a.booking_lead_days[i]))
            rec["assessment_started_day"][i] = env.now
            for _ in range(int(a.n_missed[i])):
                yield self.work(s, assess_hours, MISSED, asked, True, nk=True)
                yield env.timeout(float(a.rebook_delay_days[i]))
            yield self.work(s, assess_hours, ASSESSMENT, asked, True, nk=True)
        rec["returned_day"][i] = env.now

    def routine_arrivals(self, s: str):
        env, r = self.env, self.demand.routine[s]
        st = self.services[s]
        q = st.queue
        seen = self.routine_rec[s]["seen_day"]
        for i, t in enumerate(r.arrival_day.tolist()):
            if t > env.now:
                yield env.timeout(t - env.now)
            if r.n_missed[i]:
                env.process(self.routine_with_missed(s, i, t))
            else:
                st.submit(Task(q.key(t, False), float(r.appointment_hours[i]), ROUTINE, False, False,
                               on_start=_setter(seen, i)))

    def routine_with_missed(self, s: str, i: int, referred: float):
        env, r = self.env, self.demand.routine[s]
        for _ in range(int(r.n_missed[i])):
            yield self.work(s, r.appointment_hours[i], MISSED, referred, False)
            yield env.timeout(float(r.rebook_delay_days[i]))
        st = self.services[s]
        st.submit(Task(st.queue.key(referred, False), float(r.appointment_hours[i]), ROUTINE, False, False,
                       on_start=_setter(self.routine_rec[s]["seen_day"], i)))

    # --- run ----------------------------------------------------------------------------------------------------

    def run(self) -> dict:
        with gc_paused():
            return self._run()

    def _run(self) -> dict:
        env = self.env
        for st in self.services.values():
            for sess in st.sessions:
                if sess.start.size:
                    env.process(self.clinician(st, sess))
        if self.demand.ehc is not None and self.demand.ehc.arrival_day.size:
            env.process(self.ehc_arrivals())
        for s in self.demand.routine:
            env.process(self.routine_arrivals(s))
        env.run(until=self.end)
        return self.records()

    def records(self) -> dict:
        """Plain records of the run: requests, advice, routine referrals, tasks, queue lengths, capacity."""
        services = {}
        for name, st in self.services.items():
            tasks = st.tasks
            services[name] = {
                "task_enqueued": np.fromiter((t.enqueued for t in tasks), float, len(tasks)),
                "task_started": np.fromiter((t.started for t in tasks), float, len(tasks)),
                "task_finished": np.fromiter((t.finished for t in tasks), float, len(tasks)),
                "task_hours": np.fromiter((t.hours for t in tasks), float, len(tasks)),
                "task_kind": np.fromiter((t.kind for t in tasks), np.int64, len(tasks)),
                "task_ehc": np.fromiter((t.ehc for t in tasks), bool, len(tasks)),
                "queue_t": np.asarray(st.queue.log_t),
                "queue_n": np.asarray(st.queue.log_n),
                "busy_hours_by_day": st.busy_hours,
                "available_hours_by_day": st.available_hours,
            }
        e = self.demand.ehc
        ehc = dict(self.ehc_rec)
        advice = {s: dict(r) for s, r in self.advice_rec.items()}
        if e is not None:
            ehc.update(arrival_day=e.arrival_day, outcome=e.outcome, plan=e.plan, exceptional=e.exceptional)
            for s, a in e.advice.items():
                advice[s].update(known=a.known, misrouted=a.misrouted, n_missed=a.n_missed)
        return {
            "end_day": self.end,
            "ehc": ehc,
            "advice": advice,
            "routine": self.routine_rec,
            "routine_arrival": {s: r.arrival_day for s, r in self.demand.routine.items()},
            "routine_n_missed": {s: r.n_missed for s, r in self.demand.routine.items()},
            "services": services,
        }


def _setter(arr: np.ndarray, i: int):
    def _set(now: float) -> None:
        arr[i] = now

    return _set
