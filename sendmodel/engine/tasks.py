"""Tasks, task kinds, signals and pathways: what flows through the model, apart from who serves it.

Kept apart from the queue and the clinicians so that each can be read (and tested) on its own; it depends only
on SimPy's public API.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import simpy

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
    REVIEW,
    REVIEW_INPUT,
    INITIAL_ADVICE,
    TRIBUNAL,
    HEARING,
    ANNEX_A_REPLY,
    CC_ASSESSMENT,
    CC_REVIEW,
    MISROUTED,
    ESCALATION,
) = range(21)
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
    "annual_review",
    "review_input",
    "initial_advice",
    "tribunal_response",
    "tribunal_hearing",
    "annex_a_reply",
    "continuing_care_assessment",
    "continuing_care_review",
    "misrouted_request",
    "dmo_escalation",
)


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
        "leaves",
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
        self.leaves = math.inf  # a routine referral leaves the list unseen at this time (see ServiceQueue.purge)

    def left_unseen_by(self, end: float) -> bool:
        """Whether the child left the list unseen before ``end``: never taken, and its time to leave came."""
        return self.started != self.started and self.leaves < end


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
    own), a delay in days (a float: one ``env.timeout``, with this pathway's ``resume`` among its callbacks),
    a :class:`Signal` (resumes once it has fired) or a list of pathways (runs them all; resumes when the last
    has ended). ``live`` is the set of unfinished pathways, so that the model can let go of them when the run
    ends.

    A delay that would end at or after ``end`` is not scheduled: ``env.run(until=end)`` never processes an
    event at or after ``end`` (its stop event is URGENT), so the pathway simply stays unfinished, and the run
    leaves nothing on SimPy's calendar to hold the model in a reference cycle.
    """

    __slots__ = ("env", "gen", "then", "left", "live", "res", "end")

    gen: Any  # the generator, and ``resume`` bound: both None once it has ended
    res: Any

    def __init__(
        self,
        env: simpy.Environment,
        gen: Generator[Any, None, None],
        then: Callable[[], None] | None = None,
        live: set | None = None,
        end: float = math.inf,
    ):
        self.env, self.gen, self.then, self.end = env, gen, then, end
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
                env = self.env
                if env.now + w < self.end:  # the time SimPy gives the timeout (now + delay)
                    env.timeout(w).callbacks.append(self.res)
            elif kind is Signal:
                if w.fired:
                    continue
                w.waiters.append(self.res)
            elif kind is list:
                if not w:
                    continue
                self.left = len(w)
                for child in w:
                    Pathway(self.env, child, self._joined, self.live, self.end).resume()
            else:
                raise TypeError(f"a pathway yielded {w!r}")
            return

    def _joined(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.resume()
