"""A clinician working through their sessions: a small state machine driven by SimPy event callbacks.

Rather than a SimPy process per clinician (a generator resumed at every step), each clinician keeps
one alarm at a time: an ``env.timeout`` with the clinician's ``ring`` among its callbacks.
"""

from __future__ import annotations

from typing import Any

import simpy

from sendmodel.engine.queue import EPS, ServiceQueue
from sendmodel.engine.sessions import Sessions
from sendmodel.engine.tasks import Task


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
        "timeout",
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
        "at",
        "asleep",
        "ring",
        "team",
        "team_from",
    )

    def __init__(
        self, env: simpy.Environment, q: ServiceQueue, busy: list[float], sessions: Sessions, horizon: float
    ):
        self.env, self.q, self.busy, self.horizon = env, q, busy, horizon
        self.timeout = env.timeout  # looked up once: an alarm is set for every task
        self.starts, self.ends = sessions.start.tolist(), sessions.end.tolist()
        self.rfs = sessions.ring_fenced.tolist()
        self.n = len(self.starts)
        self.k = 0  # the session in hand, or the next one
        self.task: Task | None = None
        self.alarm: simpy.Timeout | None = None
        self.at = 0.0  # when the alarm rings
        self.asleep = False
        self.ring: Any = self._ring  # one bound method, reused for every alarm (None after the run)
        # A team from a date (a pool with a start): from ``team_from`` the clinician takes the best-placed task
        # of any of the team's queues (its own first on a tie), as one queue would give it.
        self.team: list[ServiceQueue] | None = None
        self.team_from = float("inf")

    def _set_alarm(self, t: float, now: float) -> None:
        """Ring at ``t``; ``now`` is the clock."""
        self.alarm = ev = self.timeout(t - now)
        ev.callbacks.append(self.ring)
        self.at = now + (t - now)  # the time SimPy gives the timeout, so env.now when it rings (cheaper)

    def _ring(self, ev) -> None:
        if ev is not self.alarm:
            return  # superseded: a put woke this clinician earlier
        self.alarm = None
        now = self.at
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
        sleep. A clinician of a team (from its start) looks at all the team's queues together."""
        q = self.q
        team = self.team if now >= self.team_from else None  # team_from is inf for a clinician of no team
        if team is None:
            if q.feed_next <= now:
                q.catch_up(now)
        else:
            for x in team:
                if x.feed_next <= now:
                    x.catch_up(now)
        starts, ends, rfs, n, k = self.starts, self.ends, self.rfs, self.n, self.k
        while k < n and ends[k] - now <= EPS:
            k += 1
        self.k = k
        if k >= n or starts[k] >= self.horizon:
            return  # no more sessions in the run
        rf = rfs[k]
        if starts[k] <= now:
            task = q.take(rf, now) if team is None else _take_from_team(team, rf, now)
            if task is not None:
                self.work(task, now)
                return
        elif q.eligible(rf) if team is None else any(x.eligible(rf) for x in team):
            self._set_alarm(starts[k], now)
            return
        if rf and any(not x.release_unused and x.rest_waiting() for x in (team or (q,))):
            j = k + 1  # other work waits for my next ordinary session
            while j < n and rfs[j]:
                j += 1
            if j < n and starts[j] < self.horizon:
                self._set_alarm(starts[j], now)
        q.sleep(self, now)
        if team is not None:  # a referral to any of the team's lists must wake a sleeping member
            for x in team:
                if x is not q and x.feed_alarm is None and x.feed_next < x.horizon:
                    x._set_feed_alarm(now)

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
            self.alarm = ev = self.timeout(done - now)  # self._set_alarm(done, now), inlined
            ev.callbacks.append(self.ring)
            self.at = now + (done - now)
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


def _take_from_team(team: list[ServiceQueue], ring_fenced: bool, now: float) -> Task | None:
    """The best-placed task for a (ring-fenced) session across a team's queues, in their shared discipline's
    order (keys less their tie-breaking sequence number); the first queue (the clinician's own) wins a tie."""
    best, best_key = None, None
    for q in team:
        key = q.head(ring_fenced, now)
        if key is not None and (best_key is None or key[:-2] < best_key[:-2]):
            best, best_key = q, key
    return None if best is None else best.take(ring_fenced, now)
