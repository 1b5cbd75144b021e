"""The SimPy model: EHC requests, advice, routine referrals and clinician sessions.

A service is a pool of clinician sessions (see :mod:`sendmodel.capacity`). While a session runs, its clinician
takes the next task in the service's order (first come first served by clock start, EHC work first, or nearest
due date first; ring-fenced sessions take not-known EHC assessments first) and works on it; a task longer than
what is left of the session carries its remaining hours to that clinician's next session, so work is
conserved.

Events happen only where something changes, and cost little Python (README, "Performance"). A clinician is a
small state machine driven by event callbacks: a task in hand has one event, at its finish (worked out across
the clinician's sessions); a free clinician with work waiting has one, at its next session start; one with
nothing it can take sleeps until new work wakes it. Pathways are generators driven by callbacks rather than
SimPy processes, so a finished task resumes its pathway without an event of its own; routine referrals join
their queue lazily, each at its own time, when anyone next looks at the queue. Python's cyclic garbage
collector is paused during a run.

The model emits plain records (NumPy arrays and lists); it knows nothing about pandas, KPIs or plots.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import math
import threading
from contextlib import contextmanager
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import simpy
from simpy.core import NORMAL

from sendmodel.engine.demand import Demand, end_day
from sendmodel.engine.sessions import Sessions, available_hours_by_day, build_sessions
from sendmodel.scenario.config import ADVICE_DUE_DAYS, Scenario

# Task kinds (codes in the task log)
(
    ROUTINE,
    ADVICE_RECORDS,
    RECORDS_CHECK,
    ASSESSMENT,
    MISSED,
    DECISION,
    DRAFT,
    FINALISE,
    DMO_REVIEW,
    ADMIN,
    TRIAGE,
) = range(11)
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

    __slots__ = (
        "key",
        "hours",
        "remaining",
        "kind",
        "ehc",
        "nk",
        "enqueued",
        "started",
        "finished",
        "on_done",
    )

    def __init__(self, key, hours, kind, ehc, nk, on_done=None):
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


class _Call:
    """The least a SimPy event needs to be processed (``Environment.step`` reads ``callbacks`` and ``_ok``).

    The model's own alarms and delays, which nothing else waits on, use this instead of a ``Timeout``: a
    fraction of the cost to create. Made as ``ev = _Call(); ev.callbacks = [fn]`` (no ``__init__``: calling
    one would double the cost) and scheduled on SimPy's calendar; then ``fn(ev)`` runs.
    """

    __slots__ = ("callbacks",)
    _ok = True
    callbacks: list[Any] | None  # None once processed (SimPy's convention)


class Signal:
    """Something several pathways wait for, such as the one triage of a request for advice from several
    services."""

    __slots__ = ("fired", "waiters")

    def __init__(self) -> None:
        self.fired = False
        self.waiters: list = []

    def fire(self, _=None) -> None:
        self.fired = True
        waiters, self.waiters = self.waiters, []
        for w in waiters:
            w()


class Pathway:
    """A pathway generator driven by callbacks on SimPy events rather than by a SimPy process (much lighter).

    The generator yields what it waits for: a :class:`Task` (queued now; resumes when the task is finished,
    inside the clinician's callback, so the next step is queued at the same instant without an event of its
    own), a delay in days (a float; one event), a :class:`Signal` (resumes once it has fired) or a list of
    pathways (runs them all; resumes when the last has ended). ``live`` is the set of unfinished pathways, so
    that the model can let go of them when the run ends.
    """

    __slots__ = ("env", "gen", "then", "left", "live", "res")

    def __init__(self, env: simpy.Environment, gen, then=None, live: set | None = None):
        self.env, self.gen, self.then = env, gen, then
        self.res = self.resume  # one bound method, reused for every wait
        self.left = 0
        self.live = set() if live is None else live
        self.live.add(self)

    def resume(self, _=None) -> None:
        gen = self.gen
        while True:
            try:
                w = gen.send(None)
            except StopIteration:
                self.gen = self.res = None  # res refers back to this pathway: break the cycle
                self.live.discard(self)
                if self.then is not None:
                    self.then()
                return
            kind = type(w)
            if kind is Task:  # already queued (SendModel.work)
                w.on_done = self.res
            elif kind is float:
                env = self.env  # env.schedule(ev, NORMAL, w), inlined
                ev = _Call()
                ev.callbacks = [self.res]
                cal: list[Any] = env._queue
                heapq.heappush(cal, (env._now + w, NORMAL, next(env._eid), ev))
            elif kind is Signal:
                if w.fired:
                    continue
                w.waiters.append(self.res)
            elif kind is list:
                if not w:
                    continue
                self.left = len(w)
                for child in w:
                    Pathway(self.env, child, self._joined, self.live).resume()
            else:
                raise TypeError(f"a pathway yielded {w!r}")
            return

    def _joined(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.resume()


class ServiceQueue:
    """The tasks waiting for one service, in its discipline's order, plus the idle clinicians asleep until
    work comes.

    An idle clinician with nothing it can take sleeps: no events at its session starts. ``put`` leaves the
    task in the queue (the discipline decides what is served first when someone takes work) and wakes the one
    sleeping clinician whose next session able to take this task starts earliest (now, if it is in such a
    session; ties: who fell asleep first). One put wakes at most one clinician.
    """

    def __init__(
        self,
        env: simpy.Environment,
        discipline: str,
        release_unused: bool,
        routine_target_days: float,
        horizon: float = math.inf,
        short_notice: bool = False,
    ):
        self.env = env
        self.discipline = discipline
        # Reserved short-notice slots (seed 004, 6.2.2): a not-known assessment can be seen at once in a
        # ring-fenced session, but an ordinary session can see it only once the usual booking notice has run
        # (``open_to_all``), when the task joins ``rest`` as well. A task in both heaps is taken once; its
        # other entry is dropped when it reaches the top (a taken task has a start time).
        self.short_notice = short_notice
        self.release_unused = release_unused
        self.routine_target_days = routine_target_days
        self.horizon = horizon
        self.nk: list = []  # not-known EHC assessments (the ring-fence can take these first)
        self.rest: list = []
        self.sleepers: list[Clinician] = []
        self.log_t: list[float] = [0.0]
        self.log_n: list[int] = [0]
        self.n = 0
        self._seq = itertools.count()
        # Routine referrals are queued lazily: ``catch_up`` queues those due (each at its own time) just
        # before anyone looks at or changes the queue, so a referral needs no event unless a clinician sleeps.
        self.feed_t: list[float] = [math.inf]  # referral times not yet queued, then an infinite sentinel
        self.feed_pos = 0
        self.feed_next = math.inf
        self.arrive: Any = None  # arrive(pos, t): queue feed entry pos, referred at t (negative: a backlog)
        self.feed_alarm: _Call | None = None

    def key(self, clock_start: float, ehc: bool) -> tuple:
        seq = next(self._seq)
        if self.discipline == "fcfs":
            return (clock_start, seq)
        if self.discipline == "ehc_first":
            return (0 if ehc else 1, clock_start, seq)
        due = clock_start + (ADVICE_DUE_DAYS if ehc else self.routine_target_days)
        return (due, seq)

    def put(self, task: Task) -> None:
        now = self.env._now
        if self.feed_next <= now:
            self.catch_up(now)
        self.put_at(task, now)
        if self.sleepers:
            if task.nk and self.short_notice:
                self._wake(True, reserved_only=True)
            else:
                self._wake(task.nk or self.release_unused)

    def open_to_all(self, task: Task) -> None:
        """The booking notice of a not-known assessment in a short-notice queue has run: ordinary sessions may
        take it too (unless a reserved session already has). It is already counted in the queue length."""
        if task.started == task.started:
            return
        heapq.heappush(self.rest, (*task.key, task))
        if self.sleepers:
            self._wake(True)

    def _drop_taken(self) -> None:
        """Short-notice queues: drop top entries whose task was taken from the other heap."""
        nk, rest = self.nk, self.rest
        while nk and nk[0][-1].started == nk[0][-1].started:
            heapq.heappop(nk)
        while rest and rest[0][-1].started == rest[0][-1].started:
            heapq.heappop(rest)

    def put_at(self, task: Task, t: float) -> None:
        """Queue a task as from ``t`` (no later than the clock) and log the queue length; wakes nobody."""
        task.enqueued = t
        heapq.heappush(self.nk if task.nk else self.rest, (*task.key, task))  # flat: cheaper to compare
        self.n += 1
        self.log_t.append(t)
        self.log_n.append(self.n)

    def set_feed(self, times: list[float], arrive) -> None:
        """Routine referrals (ascending times) to queue lazily; ``arrive(pos, t)`` queues entry ``pos``."""
        self.feed_t = [*times, math.inf]
        self.feed_pos = 0
        self.feed_next = self.feed_t[0]
        self.arrive = arrive

    def catch_up(self, now: float, wake: bool = True) -> None:
        """Queue the routine referrals made by ``now``, each as from its own time; then wake sleepers.

        Nobody took work from the queue since the last catch-up, so queueing them now changes nothing but the
        order of the log's appends (its times stay ascending). While a clinician sleeps, a feed alarm at each
        referral time makes this happen on time.
        """
        ft, pos, arrive = self.feed_t, self.feed_pos, self.arrive
        first = pos
        while ft[pos] <= now:
            t = ft[pos]
            pos += 1
            self.feed_pos, self.feed_next = pos, ft[pos]
            arrive(pos - 1, t)
        if wake:
            for _ in range(pos - first):
                if not self.sleepers:
                    break
                self._wake(self.release_unused)

    def sleep(self, c: Clinician, now: float) -> None:
        """A clinician with nothing it can take: no events until a put (or a referral) wakes it."""
        c.asleep = True
        self.sleepers.append(c)
        if self.feed_alarm is None and self.feed_next < self.horizon:
            self._set_feed_alarm(now)

    def _set_feed_alarm(self, now: float) -> None:
        self.feed_alarm = ev = _Call()
        ev.callbacks = [self._feed_ring]
        self.env.schedule(ev, NORMAL, self.feed_next - now)  # type: ignore[arg-type]

    def _feed_ring(self, ev) -> None:
        if ev is not self.feed_alarm:
            return
        self.feed_alarm = None
        now = self.env._now
        if self.feed_next <= now:
            self.catch_up(now)
        if self.sleepers and self.feed_next < self.horizon:
            self._set_feed_alarm(now)

    def _wake(self, any_session: bool, reserved_only: bool = False) -> None:
        """Wake the sleeper whose next session that can take the new task starts earliest (any session, only
        ordinary ones, or with ``reserved_only`` only ring-fenced ones)."""
        now, horizon = self.env._now, self.horizon
        best, best_t, best_i = None, math.inf, 0
        for i, c in enumerate(self.sleepers):
            starts, ends, rfs = c.starts, c.ends, c.rfs
            n, k = c.n, c.k
            while k < n and ends[k] - now <= EPS:
                k += 1
            c.k = k
            if reserved_only:
                while k < n and not rfs[k]:
                    k += 1
            elif not any_session:
                while k < n and rfs[k]:
                    k += 1
            if k < n and starts[k] < horizon:
                t = starts[k] if starts[k] > now else now
                if t < best_t:
                    best, best_t, best_i = c, t, i
                    if t == now:
                        break  # nobody can start earlier than now; the first asleep wins ties
        if best is not None:
            del self.sleepers[best_i]
            best.wake(best_t, now)

    def eligible(self, ring_fenced: bool) -> bool:
        """Is anything waiting that a (ring-fenced) session could take?"""
        if self.short_notice:
            self._drop_taken()
            if not ring_fenced:
                return bool(self.rest)
        return bool(self.nk) or (bool(self.rest) and (not ring_fenced or self.release_unused))

    def rest_waiting(self) -> bool:
        """Is anything other than a not-yet-bookable assessment waiting (work for ordinary sessions)?"""
        if self.short_notice:
            self._drop_taken()
        return bool(self.rest)

    def take(self, ring_fenced: bool, now: float | None = None) -> Task | None:
        """The next task a (ring-fenced) session takes at ``now`` (default: the clock), or None."""
        if now is None:
            now = self.env._now
        nk, rest = self.nk, self.rest
        if self.short_notice:
            self._drop_taken()
            if not ring_fenced:  # ordinary sessions see assessments only once their notice has run
                nk = []
        if ring_fenced:
            if nk:
                heap = nk
            elif rest and self.release_unused:
                heap = rest
            else:
                return None
        elif nk and (not rest or nk[0] < rest[0]):  # keys end with a unique number: tasks never compared
            heap = nk
        elif rest:
            heap = rest
        else:
            return None
        task = heapq.heappop(heap)[-1]
        self.n -= 1
        self.log_t.append(now)
        self.log_n.append(self.n)
        return task


class Clinician:
    """One clinician working through their sessions: a small state machine driven by event callbacks.

    In hand a task, it knows when the task will finish (unfinished work carries to its next sessions, so the
    finish time follows from the session list) and sets one alarm for then. Free, it takes the next task if it
    is in a session, sets an alarm for its next session if work it can take is waiting, and otherwise sleeps
    until a ``put`` wakes it. A clinician in a ring-fenced session with only routine work waiting also sets an
    alarm for its next ordinary session.
    """

    __slots__ = (
        "env",
        "cal",
        "eid",
        "q",
        "busy",
        "starts",
        "ends",
        "rfs",
        "n",
        "k",
        "task",
        "horizon",
        "alarm",
        "asleep",
        "ring",
    )

    def __init__(
        self, env: simpy.Environment, q: ServiceQueue, busy: list[float], sessions: Sessions, horizon: float
    ):
        self.env, self.q, self.busy, self.horizon = env, q, busy, horizon
        self.cal: list[Any] = env._queue
        self.eid: Any = env._eid  # SimPy's calendar and event counter (see schedule below)
        self.starts, self.ends = sessions.start.tolist(), sessions.end.tolist()
        self.rfs = sessions.ring_fenced.tolist()
        self.n = len(self.starts)
        self.k = 0  # the session in hand, or the next one
        self.task: Task | None = None
        self.alarm: _Call | None = None
        self.asleep = False
        self.ring = self._ring  # one bound method, reused for every alarm

    def _set_alarm(self, t: float, now: float) -> None:
        self.alarm = ev = _Call()
        ev.callbacks = [self.ring]
        heapq.heappush(self.cal, (self.env._now + (t - now), NORMAL, next(self.eid), ev))  # env.schedule inlined

    def _ring(self, ev) -> None:
        if ev is not self.alarm:
            return  # superseded: a put woke this clinician earlier
        self.alarm = None
        now = self.env._now
        task = self.task
        if task is not None:
            self.task = None
            task.finished = now
            if task.on_done is not None:
                task.on_done(task)
        elif self.asleep:
            self.asleep = False
            self.q.sleepers.remove(self)
        self.free(now)

    def wake(self, t: float, now: float) -> None:
        """Called by the queue (which has dropped this clinician from its sleepers): work at ``t``."""
        self.asleep = False
        if t > now:
            self._set_alarm(t, now)
        else:
            self.alarm = None
            self.free(now)

    def free(self, now: float) -> None:
        """Nothing in hand: take work, or set an alarm for the session that can take work waiting, or
        sleep."""
        q = self.q
        if q.feed_next <= now:
            q.catch_up(now)
        starts, ends, rfs, n, k = self.starts, self.ends, self.rfs, self.n, self.k
        while k < n and ends[k] - now <= EPS:
            k += 1
        self.k = k
        if k >= n or starts[k] >= self.horizon:
            return  # no more sessions in the run
        rf = rfs[k]
        if starts[k] <= now:
            task = q.take(rf, now)
            if task is not None:
                self.work(task, now)
                return
        elif q.eligible(rf):
            self._set_alarm(starts[k], now)
            return
        if rf and not q.release_unused and q.rest_waiting():  # other work waits for my next ordinary session
            j = k + 1
            while j < n and rfs[j]:
                j += 1
            if j < n and starts[j] < self.horizon:
                self._set_alarm(starts[j], now)
        q.sleep(self, now)

    def work(self, task: Task, now: float) -> None:
        """Start a task now, in session ``k``; book busy hours and set the alarm for its finish."""
        if task.started != task.started:  # NaN: first time anyone works on it
            task.started = now
        self.task = task
        rem = task.remaining
        step = rem / 24.0
        done = now + step
        if step <= self.ends[self.k] - now and done < self.horizon:  # the usual case: it fits this session
            self.busy[int(now)] += step * 24.0
            task.remaining = rem - step * 24.0  # the same arithmetic as the loop below
            self._set_alarm(done, now)
            return
        starts, ends, n, busy, horizon = self.starts, self.ends, self.n, self.busy, self.horizon
        k, t = self.k, now
        while True:
            step = rem / 24.0
            if step > ends[k] - t:
                step = ends[k] - t
            done = t + step
            if done >= horizon:
                task.remaining = rem  # still at work when the run ends: this piece is not done
                return
            busy[int(t)] += step * 24.0
            rem -= step * 24.0
            if rem <= 1e-9:
                break
            k += 1
            if k >= n or starts[k] >= horizon:
                task.remaining = rem
                return
            t = starts[k]
        task.remaining = rem
        self.k = k
        self._set_alarm(done, now)


class ServiceState:
    """One service's clinicians, the queue they serve (shared when pooled), and its own task record."""

    def __init__(self, name, queue: ServiceQueue, sessions: list[Sessions], n_days: int):
        self.name = name
        self.queue = queue
        self.sessions = sessions
        self.tasks: list[Task] = []
        self.busy_hours: Any = [0.0] * (n_days + 1)  # a list while running; then an array
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
                self.env,
                svc.discipline,
                svc.ring_fence_release_unused,
                svc.routine_target_weeks * 7,
                self.end,
            )
        for pool in scenario.pools.values():  # an integrated team: one queue served by all its clinicians
            for name in pool.services[1:]:
                queues[name] = queues[pool.services[0]]
        for name, svc in scenario.services.items():  # a queue with reserved sessions books at short notice
            if svc.ring_fenced_pas_per_week > 0:
                queues[name].short_notice = True
        self.services = {
            name: ServiceState(
                name, queues[name], build_sessions(scenario, name, seed, replication, self.end), n_days
            )
            for name in scenario.services
        }
        self.queues = list({id(q): q for q in queues.values()}.values())
        self.pathways: set[Pathway] = set()  # unfinished
        self.clinicians: list[Clinician] = []
        self.trusted_pools = [p for p in scenario.pools.values() if p.trusted_assessor]
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
        # (referral, its appointment task): seen_day is filled from the tasks' start times after the run
        self.routine_seen: dict[str, list[tuple[int, Task]]] = {s: [] for s in demand.routine}
        # The pathways read one request at a time: Python lists are much faster to index than NumPy arrays.
        self.ehc = (
            {} if e is None else {f: getattr(e, f).tolist() for f in e.__dataclass_fields__ if f != "advice"}
        )
        self.advice = (
            {}
            if e is None
            else {s: {f: getattr(a, f).tolist() for f in a.__dataclass_fields__} for s, a in e.advice.items()}
        )

    # --- the work a service does ----------------------------------------------------------------------------

    def work(
        self, service: str, hours: float, kind: int, clock_start: float, ehc: bool, nk: bool = False
    ) -> Task:
        """Queue a task for ``service`` now; a pathway yields it to resume when it is finished (which is
        always a later event, never during this call)."""
        st = self.services[service]
        q = st.queue
        task = Task(q.key(clock_start, ehc), float(hours), kind, ehc, nk)
        st.tasks.append(task)  # ServiceState.submit, inlined
        q.put(task)
        return task

    def assessment(self, service: str, hours: float, kind: int, clock_start: float, notice: float) -> Task:
        """Queue a not-known child's assessment (or its missed appointment). In a short-notice queue ordinary
        sessions may take it once ``notice`` days have passed; reserved sessions at once."""
        task = self.work(service, hours, kind, clock_start, True, nk=True)
        q = self.services[service].queue
        if q.short_notice:
            if notice > 0:
                ev = _Call()
                ev.callbacks = [lambda _ev: q.open_to_all(task)]
                self.env.schedule(ev, NORMAL, notice)  # type: ignore[arg-type]
            else:
                q.open_to_all(task)
        return task

    def start(self, pathway, then=None) -> None:
        """Run a pathway (a generator; see :class:`Pathway`) from now; ``then()`` is called when it ends."""
        Pathway(self.env, pathway, then, self.pathways).resume()

    # --- pathways -------------------------------------------------------------------------------------------

    def ehc_arrivals(self):
        env = self.env
        assert self.demand.ehc is not None  # started only when there is EHC demand
        for i, t in enumerate(self.demand.ehc.arrival_day.tolist()):
            if t > env._now:
                yield t - env._now
            self.start(self.ehc_pathway(i))

    def ehc_pathway(self, i: int):
        """One request for an EHC needs assessment, from request to final plan (or an earlier end)."""
        env, e, cfg, rec = self.env, self.ehc, self.sc.ehc, self.ehc_rec
        assert cfg is not None  # a pathway runs only for a scenario with EHC demand
        arrival = e["arrival_day"][i]
        if e["decision_lag_days"][i] > 0:
            yield e["decision_lag_days"][i]
        yield self.work(cfg.la_service, e["decision_hours"][i], DECISION, arrival, True)
        rec["decision_day"][i] = env._now
        if e["outcome"][i] != 0:
            rec["closed_day"][i] = env._now
            return
        asked = env._now
        rec["advice_requested_day"][i] = asked
        # A single point of access triages requests for *health* advice (seed 004, 6.2.1); the LA's own advice
        # services (educational psychology, social care) are asked directly and do not wait for it.
        triage = None
        if cfg.triage.enabled:
            triage = Signal()
            self.work(str(cfg.triage.service), e["triage_hours"][i], TRIAGE, asked, True).on_done = triage.fire
        asked_of = [s for s, a in self.advice.items() if a["requested"][i]]
        advice, joint = [], self.joint_assessments(i, asked_of)
        for s in asked_of:
            if s in joint and joint[s][0] != s:
                continue  # served by the trusted assessor's joint assessment (the lead's pathway records it)
            hours: float | None = None
            covered: list[str] = []
            if s in joint:
                hours = joint[s][1]
                covered = [f for f, (lead, _) in joint.items() if lead == s and f != s]
            via = triage if self.sc.services[s].kind == "health" else None
            advice.append(self.advice_pathway(i, s, asked, via, hours, covered))
        if advice:
            yield advice
        rec["advice_returned_day"][i] = env._now
        if e["exceptional"][i]:
            rec["dmo_requested_day"][i] = env._now
            yield self.work(cfg.dmo_service, e["dmo_review_hours"][i], DMO_REVIEW, arrival, True)
            admin = cfg.admin_service if cfg.admin_support and cfg.admin_service else cfg.dmo_service
            yield self.work(admin, e["dmo_admin_hours"][i], ADMIN, arrival, True)
            rec["dmo_signoff_day"][i] = env._now
        if not e["plan"][i]:
            rec["closed_day"][i] = env._now
            return
        yield self.work(cfg.la_service, e["draft_hours"][i], DRAFT, arrival, True)
        rec["draft_day"][i] = env._now
        yield float(cfg.family_consultation_days)
        yield self.work(cfg.la_service, e["finalise_hours"][i], FINALISE, arrival, True)
        rec["final_day"][i] = env._now
        rec["closed_day"][i] = env._now

    def joint_assessments(self, i: int, asked_of: list[str]) -> dict[str, tuple[str, float]]:
        """Trusted assessor: for each pool, the not-known services one joint assessment serves ->
        (lead, hours)."""
        out: dict[str, tuple[str, float]] = {}
        for pool in self.trusted_pools:
            members = [s for s in pool.services if s in asked_of and not self.advice[s]["known"][i]]
            if len(members) < 2:
                continue
            hours = [self.advice[s]["assessment_hours"][i] for s in members]
            lead = members[int(np.argmax(hours))]
            joint = max(hours) + pool.trusted_assessor_extra_share * (sum(hours) - max(hours))
            for s in members:
                out[s] = (lead, joint)
        return out

    def advice_pathway(
        self,
        i: int,
        s: str,
        asked: float,
        triage: Signal | None,
        joint_hours: float | None = None,
        covered=(),
    ):
        """Advice from one service: triage or misrouting, records, an assessment if the child is not known.

        ``covered``: pooled services whose advice this (trusted assessor's joint) assessment also gives.
        """
        env, a, rec = self.env, self.advice[s], self.advice_rec[s]
        assess_hours = a["assessment_hours"][i] if joint_hours is None else joint_hours
        rec["requested_day"][i] = asked
        for f in covered:
            self.advice_rec[f]["requested_day"][i] = asked
        triaged = triage is not None
        if triaged:
            yield triage
        if a["misrouted"][i] and not triaged:
            yield a["misroute_delay_days"][i]
        if a["admin_lag_days"][i] > 0:
            yield a["admin_lag_days"][i]
        if a["known"][i]:
            yield self.work(s, a["records_advice_hours"][i], ADVICE_RECORDS, asked, True)
        else:
            if (
                not triaged
            ):  # without a single point of access, finding out the child is not known takes a look
                yield self.work(s, a["records_check_hours"][i], RECORDS_CHECK, asked, True)
            # An ordinary appointment is booked with notice. With reserved short-notice slots (seed 004,
            # 6.2.2) a reserved session can see the child at once; an ordinary one still only after the
            # notice (ServiceQueue.open_to_all). A rebooked appointment after a miss is open to all.
            lead = a["booking_lead_days"][i]
            short = self.services[s].queue.short_notice
            if lead > 0 and not short:
                yield lead
            rec["assessment_started_day"][i] = env._now
            notice = lead if short else 0.0
            for _ in range(a["n_missed"][i]):
                yield self.assessment(s, assess_hours, MISSED, asked, notice)
                notice = 0.0
                yield a["rebook_delay_days"][i]
            yield self.assessment(s, assess_hours, ASSESSMENT, asked, notice)
        rec["returned_day"][i] = env._now
        for f in covered:
            self.advice_rec[f]["returned_day"][i] = env._now

    def routine_feed(self, q: ServiceQueue, names: list[str]) -> None:
        """Give a queue its services' routine referrals (merged in time order when a pool shares the
        queue)."""
        parts = [(s, self.demand.routine[s]) for s in names if s in self.demand.routine]
        if not parts:
            return
        t = np.concatenate([r.arrival_day for _, r in parts])
        src = np.concatenate([np.full(r.arrival_day.size, j) for j, (_, r) in enumerate(parts)])
        idx = np.concatenate([np.arange(r.arrival_day.size) for _, r in parts])
        order = np.argsort(t, kind="stable")
        src, idx = src[order].tolist(), idx[order].tolist()
        services = [self.services[s] for s, _ in parts]
        seen = [self.routine_seen[s] for s, _ in parts]
        hours = [r.appointment_hours.tolist() for _, r in parts]
        missed = [r.n_missed.tolist() for _, r in parts]
        names_ = [s for s, _ in parts]

        def arrive(pos: int, t: float) -> None:
            j, i = src[pos], idx[pos]
            st = services[j]
            if missed[j][i]:  # the first appointment is missed: the rest of the referral is a pathway
                s = names_[j]
                task = Task(q.key(t, False), hours[j][i], MISSED, False, False)
                task.on_done = lambda _task: self.start(self.routine_after_missed(s, i, t))
            else:
                task = Task(q.key(t, False), hours[j][i], ROUTINE, False, False)
                seen[j].append((i, task))
            st.tasks.append(task)
            q.put_at(task, t if t > 0.0 else 0.0)  # a backlog is queued at the start of the run

        q.set_feed(t[order].tolist(), arrive)

    def routine_after_missed(self, s: str, i: int, referred: float):
        """A routine referral after its first missed appointment: rebook, maybe miss again, then be seen."""
        r = self.demand.routine[s]
        hours, rebook = float(r.appointment_hours[i]), float(r.rebook_delay_days[i])
        yield rebook
        for _ in range(int(r.n_missed[i]) - 1):
            yield self.work(s, hours, MISSED, referred, False)
            yield rebook
        st = self.services[s]
        task = Task(st.queue.key(referred, False), hours, ROUTINE, False, False)
        self.routine_seen[s].append((i, task))
        st.submit(task)

    # --- run ------------------------------------------------------------------------------------------------

    def run(self) -> dict:
        with gc_paused():
            return self._run()

    def _run(self) -> dict:
        env = self.env
        for q in self.queues:
            self.routine_feed(q, [s for s, st in self.services.items() if st.queue is q])
        for st in self.services.values():
            for sess in st.sessions:
                if sess.start.size:
                    c = Clinician(env, st.queue, st.busy_hours, sess, self.end)
                    self.clinicians.append(c)
                    c.free(0.0)
        if self.demand.ehc is not None and self.demand.ehc.arrival_day.size:
            self.start(self.ehc_arrivals())
        simulate(env, self.end)
        last = math.nextafter(self.end, -math.inf)  # referrals before the end that nobody looked for yet
        for q in self.queues:
            if q.feed_next <= last:
                q.catch_up(last, wake=False)
        for st in self.services.values():
            st.busy_hours = np.asarray(st.busy_hours, dtype=float)
        for s, pairs in self.routine_seen.items():  # a referral is seen when its appointment task starts
            if pairs:
                n = len(pairs)
                i = np.fromiter(map(itemgetter(0), pairs), np.int64, n)
                started = np.fromiter((task.started for _, task in pairs), float, n)
                self.routine_rec[s]["seen_day"][i] = started
        rec = self.records()
        self._release()
        return rec

    def _release(self) -> None:
        """Break the run's reference cycles, so the model is freed as soon as its caller drops it.

        The garbage collector is paused during a run (:func:`gc_paused`), and a model is a web of objects that
        refer to each other (clinicians and queues, pending events and the environment, pathways and their
        tasks); left as it is, every finished replication would wait for a full collection, and a long series
        of replications would keep growing the process. What remains (tasks, sessions, queues) can still be
        read; the run cannot be continued.
        """
        pending = getattr(self.env, "_queue", None)  # SimPy's event heap: events after the end of the run
        if isinstance(pending, list):
            pending.clear()
        for p in self.pathways:  # unfinished pathways: drop their suspended generators (which refer to self)
            p.gen = p.res = None
        for c in self.clinicians:  # a clinician's cached bound method refers back to it
            c.ring = None
        self.clinicians.clear()
        self.pathways.clear()
        for q in self.queues:
            q.sleepers.clear()
            q.arrive = q.feed_alarm = None
        for st in self.services.values():
            for t in st.tasks:
                t.on_done = None

    def records(self) -> dict:
        """Plain records of the run: requests, advice, routine referrals, tasks, queue lengths, capacity."""
        services = {}
        for name, st in self.services.items():
            tasks, n = st.tasks, len(st.tasks)
            services[name] = {
                "task_enqueued": np.fromiter(map(attrgetter("enqueued"), tasks), float, n),
                "task_started": np.fromiter(map(attrgetter("started"), tasks), float, n),
                "task_finished": np.fromiter(map(attrgetter("finished"), tasks), float, n),
                "task_hours": np.fromiter(map(attrgetter("hours"), tasks), float, n),
                "task_kind": np.fromiter(map(attrgetter("kind"), tasks), np.int64, n),
                "task_ehc": np.fromiter(map(attrgetter("ehc"), tasks), bool, n),
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


def simulate(env: simpy.Environment, until: float) -> None:
    """``env.run(until=until)`` with SimPy's ``step`` inlined: the same order (time, priority, insertion) and
    the same clock, without a method call, a ``try`` and a failure check per event. Valid because every event
    the model schedules is a :class:`_Call`, which cannot fail; events at ``until`` itself do not run, as in
    SimPy (its stop event is URGENT)."""
    cal: list[Any] = env._queue
    pop = heapq.heappop
    while cal and cal[0][0] < until:
        env._now, _, _, ev = pop(cal)
        callbacks, ev.callbacks = ev.callbacks, None
        for cb in callbacks:
            cb(ev)
    env._now = until
