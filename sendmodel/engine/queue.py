"""A service's queue: the tasks waiting, in its discipline's order, and the clinicians asleep until work comes.

Separate from the clinicians (:mod:`sendmodel.engine.clinician`), who take work from it: the queue knows of a
clinician only what it needs to wake the right one (:class:`Sleeper`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import Any, Protocol

import numpy as np
import simpy

from sendmodel.engine.tasks import Task
from sendmodel.scenario.config import ADVICE_DUE_DAYS

EPS = 1e-12  # a session with less than this left (in days) is over


class Sleeper(Protocol):
    """What the queue reads of an idle clinician (:class:`sendmodel.engine.clinician.Clinician`): its session
    starts and ends, which are ring-fenced, how many there are and the one in hand or next (``k``)."""

    starts: list[float]
    ends: list[float]
    rfs: list[bool]
    n: int
    k: int
    asleep: bool

    def wake(self, t: float, now: float) -> None: ...


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
        # Reserved short-notice slots (NHS England quick guide, 6.2.2): a not-known assessment can be seen at once in a
        # ring-fenced session, but an ordinary session can see it only once the usual booking notice has run
        # (``open_to_all``), when the task joins ``rest`` as well. A task in both heaps is taken once; its
        # other entry is dropped when it reaches the top (a taken task has a start time).
        self.short_notice = short_notice
        self.short_from = -math.inf  # the day reserved sessions start (before it, bookings take the usual notice)
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
        # Routine referrals are queued lazily: ``catch_up`` queues those due (each at its own time) just
        # before anyone looks at or changes the queue, so a referral needs no event unless a clinician sleeps.
        self.feed_t: list[float] = [math.inf]  # referral times not yet queued, then an infinite sentinel
        self.feed_pos = 0
        self.feed_next = math.inf
        self.arrive: Any = None  # arrive(pos, t): queue feed entry pos, referred at t (negative: a backlog)
        self.feed_alarm: simpy.Timeout | None = None
        # Children who leave the routine list unseen (``routine_removal_per_week``) are dropped lazily: a task
        # whose ``leaves`` time has passed is taken off the top of the heap before anyone looks at it, and its
        # log entry is written at the time it left (``log_in_order`` puts the log back in time order).
        self.removals = False
        self.removed: list[Task] = []

    def key(self, clock_start: float, ehc: bool) -> tuple:
        seq = next(self._seq)
        if self.discipline == "fcfs":
            return (clock_start, seq)
        if self.discipline == "ehc_first":
            return (0 if ehc else 1, clock_start, seq)
        due = clock_start + (ADVICE_DUE_DAYS if ehc else self.routine_target_days)
        return (due, seq)

    def put(self, task: Task) -> None:
        now = self.env.now
        if self.feed_next <= now:
            self.catch_up(now)
        self.put_at(task, now)
        if self.sleepers:
            if task.nk and self.short_notice:
                self._wake(now, True, reserved_only=True)
            else:
                self._wake(now, task.nk or self.release_unused)

    def open_to_all(self, task: Task) -> None:
        """The booking notice of a not-known assessment in a short-notice queue has run: ordinary sessions may
        take it too (unless a reserved session already has). It is already counted in the queue length."""
        if task.started == task.started:
            return
        heapq.heappush(self.rest, (*task.key, task))
        if self.sleepers:
            self._wake(self.env.now, True)

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
            arrive(pos, ft[pos])  # queues the task; looks at nothing else in the queue
            pos += 1
        self.feed_pos, self.feed_next = pos, ft[pos]
        if wake:
            for _ in range(pos - first):
                if not self.sleepers:
                    break
                self._wake(now, self.release_unused)

    def sleep(self, c: Sleeper, now: float) -> None:
        """A clinician with nothing it can take: no events until a put (or a referral) wakes it."""
        c.asleep = True
        self.sleepers.append(c)
        if self.feed_alarm is None and self.feed_next < self.horizon:
            self._set_feed_alarm(now)

    def _set_feed_alarm(self, now: float) -> None:
        self.feed_alarm = ev = self.env.timeout(self.feed_next - now)
        ev.callbacks.append(self._feed_ring)

    def _feed_ring(self, ev) -> None:
        if ev is not self.feed_alarm:
            return
        self.feed_alarm = None
        now = self.env.now
        if self.feed_next <= now:
            self.catch_up(now)
        if self.sleepers and self.feed_next < self.horizon:
            self._set_feed_alarm(now)

    def _wake(self, now: float, any_session: bool, reserved_only: bool = False) -> None:
        """Wake the sleeper whose next session that can take the new task starts earliest (any session, only
        ordinary ones, or with ``reserved_only`` only ring-fenced ones); ``now`` is the clock."""
        horizon = self.horizon
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

    def purge(self, now: float) -> None:
        """Take off the top of the routine heap the children who left the list unseen by ``now``.

        Only the top matters: a session takes (or asks about) the first task in the discipline's order, so a
        child who left deeper in the heap is dropped when it comes to the top, at the time it left. Every task
        that can leave is in ``rest`` only (routine referrals are never not-known assessments).
        """
        rest = self.rest
        while rest:
            task = rest[0][-1]
            if task.started == task.started:  # taken from the other heap (short-notice queues)
                heapq.heappop(rest)
            elif task.leaves <= now:
                heapq.heappop(rest)
                self.n -= 1
                self.removed.append(task)
                self.log_t.append(task.leaves)
                self.log_n.append(self.n)
            else:
                return

    def log_in_order(self, end: float) -> None:
        """After the run: log the children who left the list after anyone last looked (still in the heap), then
        put the log in time order (each entry changed the count by one)."""
        if not self.removals:
            return
        for entry in self.rest:
            task = entry[-1]
            if task.left_unseen_by(end):
                self.n -= 1
                self.removed.append(task)
                self.log_t.append(task.leaves)
                self.log_n.append(self.n)
        if not self.removed:
            return
        t = np.asarray(self.log_t)
        step = np.diff(np.asarray(self.log_n), prepend=0)
        order = np.argsort(t, kind="stable")
        self.log_t, self.log_n = t[order].tolist(), np.cumsum(step[order]).tolist()

    def eligible(self, ring_fenced: bool) -> bool:
        """Is anything waiting that a (ring-fenced) session could take?"""
        if self.removals:
            self.purge(self.env.now)
        if self.short_notice:
            self._drop_taken()
            if not ring_fenced:
                return bool(self.rest)
        return bool(self.nk) or (bool(self.rest) and (not ring_fenced or self.release_unused))

    def rest_waiting(self) -> bool:
        """Is anything other than a not-yet-bookable assessment waiting (work for ordinary sessions)?"""
        if self.removals:
            self.purge(self.env.now)
        if self.short_notice:
            self._drop_taken()
        return bool(self.rest)

    def head(self, ring_fenced: bool, now: float) -> tuple | None:
        """The key of the task :meth:`take` would give a (ring-fenced) session now, without taking it (None:
        nothing it can take); a pooled clinician compares its team's queues by it."""
        if self.removals:
            self.purge(now)
        nk, rest = self.nk, self.rest
        if self.short_notice:
            self._drop_taken()
            if not ring_fenced:
                nk = []
        if ring_fenced:
            return nk[0] if nk else (rest[0] if rest and self.release_unused else None)
        if nk and (not rest or nk[0] < rest[0]):
            return nk[0]
        return rest[0] if rest else None

    def take(self, ring_fenced: bool, now: float | None = None) -> Task | None:
        """The next task a (ring-fenced) session takes at ``now`` (default: the clock), or None."""
        if now is None:
            now = self.env.now
        if self.removals:
            self.purge(now)
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
