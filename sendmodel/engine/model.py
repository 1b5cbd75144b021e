"""The SimPy model: EHC requests, advice, routine referrals and clinician sessions.

A service is a pool of clinician sessions (see :mod:`sendmodel.engine.sessions`). While a session runs, its
clinician takes the next task in the service's order (first come first served by clock start, EHC work first,
or nearest due date first; ring-fenced sessions take not-known EHC assessments first) and works on it; a task
longer than what is left of the session carries its remaining hours to that clinician's next session, so work
is conserved.

It is a SimPy model on SimPy's public API only: one ``simpy.Environment``, run with ``env.run(until=end)``;
every wait is an ``env.timeout`` whose ``callbacks`` list resumes the model. Events happen only where
something changes, and cost little Python (README, "Performance"). A clinician
(:mod:`sendmodel.engine.clinician`) is a small state machine driven by event callbacks: a task in hand has one
event, at its finish (worked out across the clinician's sessions); a free clinician with work waiting has
one, at its next session start; one with nothing it can take sleeps until new work wakes it. Pathways
(:mod:`sendmodel.engine.tasks`) are generators driven by callbacks rather than SimPy processes, so a finished
task resumes its pathway without an event of its own; routine referrals join their queue
(:mod:`sendmodel.engine.queue`) lazily, each at its own time, when anyone next looks at the queue. Python's
cyclic garbage collector is paused during a run. Other SimPy processes (``env.process``) can run alongside on
``model.env``: build the model, ``setup()``, add them, ``env.run(until=model.end)``, ``finish()``.

The model emits plain records (NumPy arrays and lists); it knows nothing about pandas, KPIs or plots.
"""

from __future__ import annotations

import gc
import math
import threading
from contextlib import contextmanager
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import simpy

from sendmodel.engine.clinician import Clinician
from sendmodel.engine.demand import (
    ASSESS,
    AWAITING_ADVICE,
    AWAITING_DECISION,
    AWAITING_DMO,
    DRAFTING,
    MORE_INFORMATION,
    REDIRECT,
    Demand,
    EhcDemand,
    end_day,
)
from sendmodel.engine.queue import EPS, ServiceQueue
from sendmodel.engine.sessions import Sessions, available_hours_by_day, build_sessions
from sendmodel.engine.tasks import (
    ADMIN,
    ADVICE_RECORDS,
    ANNEX_A_REPLY,
    ASSESSMENT,
    CC_ASSESSMENT,
    CC_REVIEW,
    DECISION,
    DMO_REVIEW,
    DRAFT,
    ESCALATION,
    FINALISE,
    HEARING,
    INITIAL_ADVICE,
    MISROUTED,
    MISSED,
    RECORDS_CHECK,
    REVIEW,
    REVIEW_INPUT,
    ROUTINE,
    TASK_KINDS,
    TRIAGE,
    TRIBUNAL,
    Pathway,
    Signal,
    Task,
)
from sendmodel.scenario.config import CC_REVIEW_DAYS, REVIEW_DUE_DAYS, Scenario

__all__ = [  # the model, and the engine's parts others import from here
    "ADMIN",
    "ANNEX_A_REPLY",
    "ADVICE_RECORDS",
    "ASSESSMENT",
    "CC_ASSESSMENT",
    "CC_REVIEW",
    "DECISION",
    "DMO_REVIEW",
    "DRAFT",
    "EPS",
    "FINALISE",
    "HEARING",
    "INITIAL_ADVICE",
    "MISROUTED",
    "MISSED",
    "RECORDS_CHECK",
    "REVIEW",
    "REVIEW_INPUT",
    "ROUTINE",
    "TASK_KINDS",
    "TRIAGE",
    "TRIBUNAL",
    "Clinician",
    "Pathway",
    "SendModel",
    "ServiceQueue",
    "ServiceState",
    "Signal",
    "Task",
    "gc_paused",
]

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
    """One replication of one scenario. Build, call :meth:`run`, read the records.

    ``run`` is :meth:`setup`, ``env.run(until=end)`` and :meth:`finish`; call them yourself to add SimPy
    processes of your own to ``env`` in between (they see the model's state; tests/unit/test_event_loop.py).
    """

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
            if pool.start is not None:
                continue  # a team from a date keeps its queues; its clinicians share them from then (setup)
            for name in pool.services[1:]:
                queues[name] = queues[pool.services[0]]
        for name, svc in scenario.services.items():  # a queue with reserved sessions books at short notice
            if svc.ring_fenced_pas_per_week > 0:
                q = queues[name]
                q.short_from = scenario.day_of(svc.ring_fence_from) if not q.short_notice else min(
                    q.short_from, scenario.day_of(svc.ring_fence_from))
                q.short_notice = True
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
        cfg = scenario.ehc  # levers that start on a date (-inf: from the start)
        self.triage_from = -math.inf if cfg is None else scenario.day_of(cfg.triage.start)
        self.admin_from = -math.inf if cfg is None else scenario.day_of(cfg.admin_support_from)
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
        # services giving initial advice to a child not known, a fuller assessment to follow
        self.initial = {s for s in self.advice_rec if scenario.services[s].advice.initial_advice is not None}
        for s in self.initial:
            self.advice_rec[s]["fuller_done_day"] = nan()
        self.annex_a = {s for s in self.advice_rec if scenario.services[s].advice.annex_a is not None}
        for s in self.advice_rec:  # escalations to the DMO/DCO after a health service's advice
            if e.advice[s].escalated is not None:
                self.advice_rec[s]["escalated_day"] = nan()
                self.advice_rec[s]["escalation_done_day"] = nan()
        self.routine_rec = {
            s: {"seen_day": np.full(r.arrival_day.size, np.nan)} for s, r in demand.routine.items()
        }
        # (referral, its appointment task): seen_day is filled from the tasks' start times after the run
        self.routine_seen: dict[str, list[tuple[int, Task]]] = {s: [] for s in demand.routine}
        # (referral, its first task) for the services whose children may leave the list unseen
        self.routine_first: dict[str, list[tuple[int, Task]]] = {
            s: [] for s, r in demand.routine.items() if r.leaves_day is not None}
        for s in self.routine_first:
            self.routine_rec[s]["removed_day"] = np.full(demand.routine[s].arrival_day.size, np.nan)
        # The pathways read one request at a time: Python lists are much faster to index than NumPy arrays.
        per_request = [f for f in EhcDemand.__dataclass_fields__ if f not in ("advice", "n_open", "case_id")]
        self.tribunals = scenario.ehc is not None and scenario.ehc.tribunals.enabled
        self.cc = scenario.ehc is not None and scenario.ehc.continuing_care.enabled
        if self.cc:  # continuing care: referred (at the decision to assess), decided, reviewed
            self.cc_rec = {"referred_day": nan(), "decided_day": nan(), "reviewed_day": nan()}
        if self.tribunals:  # appeals: when each was registered, and when each health service responded
            self.tribunal_rec = {"registered_day": nan(), "response_day": {
                s: nan() for s in self.advice_rec if scenario.services[s].kind == "health"}}
        self.ehc = {} if e is None else {f: getattr(e, f).tolist() for f in per_request}
        self.advice = (
            {}
            if e is None
            else {s: {f: getattr(a, f).tolist() for f in a.__dataclass_fields__
                      if f != "done" and getattr(a, f) is not None}
                  for s, a in e.advice.items()}
        )
        self.n_open = 0 if e is None else e.n_open
        p = demand.plans  # plans in force and their reviews (None: not modelled)
        self.plans = None if p is None else {
            "years_held": p.years_held.tolist(), "first_due_day": p.first_due_day.tolist(),
            "la_hours": p.la_hours.tolist(), "health_hours": p.health_hours.tolist(),
            "health": {s: h.tolist() for s, h in p.health.items()},
        }
        if p is not None:
            m = p.age_years.size
            self.plan_rec = {"start_day": np.full(m, np.nan), "end_day": np.full(m, np.nan)}
            self.reviews: list[list[float]] = []  # [plan, due day, started day, completed day, services giving input]
        self.advice_done = {} if e is None or not e.n_open else {s: a.done.tolist() for s, a in e.advice.items()}

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
                if self.env.now + notice < self.end:  # else it would never run (see Pathway)
                    self.env.timeout(notice).callbacks.append(lambda _ev: q.open_to_all(task))
            else:
                q.open_to_all(task)
        return task

    def start(self, pathway, then=None) -> None:
        """Run a pathway (a generator; see :class:`Pathway`) from now; ``then()`` is called when it ends."""
        Pathway(self.env, pathway, then, self.pathways, self.end).resume()

    # --- pathways -------------------------------------------------------------------------------------------

    def ehc_arrivals(self):
        env = self.env
        assert self.demand.ehc is not None  # started only when there is EHC demand
        stage = self.ehc["stage"]
        for i, t in enumerate(self.demand.ehc.arrival_day.tolist()):
            now = env.now
            if t > now:
                yield t - now
            self.start(self.ehc_pathway(i) if not stage[i] else self.open_case_pathway(i))

    def ehc_pathway(self, i: int, spent: float = 0.0):
        """One request for an EHC needs assessment, from request to final plan (or an earlier end).

        ``spent``: days the request has already been gathering information (an open case awaiting a decision).
        """
        env, e, cfg, rec = self.env, self.ehc, self.sc.ehc, self.ehc_rec
        assert cfg is not None  # a pathway runs only for a scenario with EHC demand
        arrival = e["arrival_day"][i]
        lag = e["decision_lag_days"][i] - spent
        if lag > 0:
            yield lag
        yield self.work(cfg.la_service, e["decision_hours"][i], DECISION, arrival, True)
        rec["decision_day"][i] = env.now
        if e["outcome"][i] != 0:
            rec["closed_day"][i] = env.now
            return
        if self.cc and e["continuing_care"][i]:
            self.start(self.continuing_care(i))
        yield from self.ehc_advice(i, env.now)
        yield from self.after_advice(i)

    def open_case_pathway(self, i: int):
        """A case open at the start, from the stage it has reached, its clocks running from its request.

        Time already spent in a stage counts against that stage's fixed delays (information gathering, the
        family's 15 days); work not yet done (a decision, an assessment, a draft) is queued now, by its request
        date like any EHC task. A step done before the start is recorded at the day the case entered its stage
        (a day <= 0), so a KPI of a cohort due in the run counts it as done on time, as it was.
        """
        env, e, cfg, rec = self.env, self.ehc, self.sc.ehc, self.ehc_rec
        assert cfg is not None
        arrival, stage, since = e["arrival_day"][i], e["stage"][i], e["stage_day"][i]
        if stage == AWAITING_DECISION:
            yield from self.ehc_pathway(i, env.now - arrival)
            return
        rec["decision_day"][i] = since
        if stage == AWAITING_ADVICE:
            yield from self.ehc_advice(i, since, open_=True)
            yield from self.after_advice(i)
            return
        rec["advice_requested_day"][i] = rec["advice_returned_day"][i] = since
        yield from self.after_advice(i, stage, since)

    def ehc_advice(self, i: int, asked: float, open_: bool = False):
        """Ask every service due to give advice, and wait for them all (an open case: those still owed)."""
        env, e, cfg, rec = self.env, self.ehc, self.sc.ehc, self.ehc_rec
        rec["advice_requested_day"][i] = asked
        # A single point of access triages requests for *health* advice (NHSE quick guide, 6.2.1); the LA's own advice
        # services (educational psychology, social care) are asked directly and do not wait for it. An open case
        # was triaged before the start.
        triage = None
        if cfg.triage.enabled and not open_ and env.now >= self.triage_from:
            triage = Signal()
            self.work(str(cfg.triage.service), e["triage_hours"][i], TRIAGE, asked, True).on_done = triage.fire
        asked_of = [s for s, a in self.advice.items() if a["requested"][i]]
        if open_:
            asked_of = [s for s in asked_of if not self.advice_done[s][i]]
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
            advice.append(self.advice_pathway(i, s, asked, via, hours, covered, open_))
        if advice and cfg.draft_deadline_weeks is not None:
            # the LA drafts with what it has at the deadline; the late advice is still written, and counted
            go = Signal()
            self.start(self._all_advice(i, advice, go))
            wait = e["arrival_day"][i] + e["draft_deadline_days"][i] - env.now
            if wait > 0:
                self.start(self._after(wait, go))
                yield go
            return
        if advice:
            yield advice
        rec["advice_returned_day"][i] = env.now

    def _all_advice(self, i: int, advice: list, go: Signal):
        yield advice
        self.ehc_rec["advice_returned_day"][i] = self.env.now
        go.fire()

    @staticmethod
    def _after(days: float, go: Signal):
        yield days
        go.fire()

    def after_advice(self, i: int, stage: int = AWAITING_DMO, since: float = 0.0):
        """DMO/DCO sign-off where the provision is exceptional, then the plan: draft, consultation, final.

        ``stage`` and ``since``: an open case that has reached the DMO/DCO, the draft or the consultation.
        """
        env, e, cfg, rec = self.env, self.ehc, self.sc.ehc, self.ehc_rec
        arrival = e["arrival_day"][i]
        if stage <= AWAITING_DMO:
            if e["exceptional"][i] and (e["plan"][i] or not cfg.dmo_signoff_plans_only):
                rec["dmo_requested_day"][i] = since if e["stage"][i] == AWAITING_DMO else env.now
                yield self.work(cfg.dmo_service, e["dmo_review_hours"][i], DMO_REVIEW, arrival, True)
                supported = cfg.admin_support and cfg.admin_service and env.now >= self.admin_from
                admin = cfg.admin_service if supported else cfg.dmo_service
                yield self.work(admin, e["dmo_admin_hours"][i], ADMIN, arrival, True)
                rec["dmo_signoff_day"][i] = env.now
            if not e["plan"][i]:
                if e["not_to_issue_lag_days"][i] > 0:  # the LA's decision not to issue (a panel date)
                    yield e["not_to_issue_lag_days"][i]
                rec["closed_day"][i] = env.now
                return
        if stage <= DRAFTING:
            if stage < DRAFTING and e["draft_lag_days"][i] > 0:
                yield e["draft_lag_days"][i]
            yield self.work(cfg.la_service, e["draft_hours"][i], DRAFT, arrival, True)
            rec["draft_day"][i] = env.now
            yield float(cfg.family_consultation_days)
        else:  # in consultation since ``since``: the family has what is left of its days
            rec["draft_day"][i] = since
            left = float(cfg.family_consultation_days) - (env.now - since)
            if left > 0:
                yield left
        yield self.work(cfg.la_service, e["finalise_hours"][i], FINALISE, arrival, True)
        rec["final_day"][i] = env.now
        rec["closed_day"][i] = env.now
        if self.plans is not None:  # the plan is in force from today: its first review is due in 12 months
            self.start(self.plan_pathway(self.demand.plans.n_initial + i))
        if self.tribunals and e["appeal"][i]:
            self.start(self.tribunal(i))

    def continuing_care(self, i: int):
        """A continuing care assessment (due 28 days after the referral), then its review 3 months later."""
        env, e, rec, svc = self.env, self.ehc, self.cc_rec, self.sc.ehc.continuing_care.service
        rec["referred_day"][i] = env.now
        yield self.work(svc, e["cc_assessment_hours"][i], CC_ASSESSMENT, env.now, True)
        rec["decided_day"][i] = env.now
        yield CC_REVIEW_DAYS
        yield self.work(svc, e["cc_review_hours"][i], CC_REVIEW, env.now, True)
        rec["reviewed_day"][i] = env.now

    def tribunal(self, i: int):
        """An appeal against the plan: once registered, each health service that gave advice responds (due in
        5 weeks) and, for a share, attends the hearing; the family's and the LA's side are not modelled."""
        env, e, rec = self.env, self.ehc, self.tribunal_rec
        yield e["appeal_after_days"][i]
        asked = env.now
        rec["registered_day"][i] = asked
        gave = [s for s in rec["response_day"] if self.advice[s]["requested"][i]]
        yield [self._respond(i, s, asked) for s in gave]
        if e["hearing"][i]:
            for s in gave:
                self.work(s, e["hearing_hours"][i], HEARING, asked, True)

    def _respond(self, i: int, s: str, asked: float):
        yield self.work(s, self.ehc["tribunal_response_hours"][i], TRIBUNAL, asked, True)
        self.tribunal_rec["response_day"][s][i] = self.env.now

    def plan_pathway(self, j: int):
        """A plan in force, from its issue (or the start, for one held then) until it ceases, and its annual
        reviews: each starts ``lead_weeks`` before it is due, asks the services that give input and waits for
        them, then takes LA casework (the meeting and the decision); it is on time when done by its due date.
        The next is due 12 months after this one was due, or after it was done if that was late (SEND
        Regulations 2014 reg. 18: within 12 months of the previous review).
        """
        env, p, cfg = self.env, self.plans, self.sc.ehc
        assert p is not None and cfg is not None
        start = env.now
        ends = start + p["years_held"][j] * 365.25
        self.plan_rec["start_day"][j], self.plan_rec["end_day"][j] = start, ends
        due, lead, la = start + p["first_due_day"][j], cfg.reviews.lead_weeks * 7.0, cfg.la_service
        hours, la_hours, health = p["health_hours"][j], p["la_hours"][j], p["health"]
        for k in range(len(la_hours)):
            begin = max(due - lead, env.now)
            if begin >= ends or begin >= self.end:
                return
            if begin > env.now:
                yield begin - env.now
            row = [float(j), due, env.now, np.nan, 0.0]
            self.reviews.append(row)
            asks = [self._task(self.work(s, hours[k], REVIEW_INPUT, begin, True)) for s in health if health[s][j][k]]
            row[4] = float(len(asks))
            if asks:
                yield asks
            yield self.work(la, la_hours[k], REVIEW, begin, True)
            row[3] = env.now
            due = due + REVIEW_DUE_DAYS if env.now <= due else env.now + REVIEW_DUE_DAYS

    @staticmethod
    def _task(task: Task):
        """A pathway that waits for one task (to wait for several at once, as a list)."""
        yield task

    def joint_assessments(self, i: int, asked_of: list[str]) -> dict[str, tuple[str, float]]:
        """Trusted assessor: for each pool, the not-known services one joint assessment serves ->
        (lead, hours)."""
        out: dict[str, tuple[str, float]] = {}
        for pool in self.trusted_pools:
            if pool.start is not None and self.env.now < self.sc.day_of(pool.start):
                continue  # not one team yet
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
        open_: bool = False,
    ):
        """Advice from one service: triage or misrouting, records, an assessment if the child is not known.

        ``covered``: pooled services whose advice this (trusted assessor's joint) assessment also gives.
        ``open_``: advice still owed, at the start, for a case open then (asked on day ``asked`` <= 0).
        """
        env, a, rec = self.env, self.advice[s], self.advice_rec[s]
        assess_hours = a["assessment_hours"][i] if joint_hours is None else joint_hours
        rec["requested_day"][i] = asked
        for f in covered:
            self.advice_rec[f]["requested_day"][i] = asked
        spent = 0.0
        if open_:  # asked before the start, triaged (or redirected) then: the time since counts against its delays
            spent = env.now - asked
            if a["admin_lag_days"][i] > spent:
                yield a["admin_lag_days"][i] - spent
            spent = max(0.0, spent - a["admin_lag_days"][i])
            triaged = True
        else:
            triaged = triage is not None
            if triaged:
                yield triage
            if a["misrouted"][i] and not triaged:
                wrong = self.wrong_service(i, s)
                if wrong is not None:  # the wrong service looks it up and passes it on, then it moves
                    yield self.work(wrong, self.ehc["misroute_hours"][i], MISROUTED, asked, True)
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
            branch = a["branch"][i]
            if branch != ASSESS and not open_:  # Annex A: a request about a child not known need not be assessed
                if branch == MORE_INFORMATION:
                    yield a["branch_days"][i]  # the LA's further information, then as below
                else:  # a written reply (not known and no need; redirected; an assessment in the plan)
                    yield self.work(s, a["reply_hours"][i], ANNEX_A_REPLY, asked, True)
                    if branch == REDIRECT:
                        yield a["branch_days"][i]
                    self._returned(i, s, covered, "returned_day")
                    return
            if s in self.initial:  # initial advice now; the fuller assessment follows on its own due date
                yield self.work(s, a["initial_hours"][i], INITIAL_ADVICE, asked, True)
                self._returned(i, s, covered, "returned_day")
                rest = max(assess_hours - a["initial_hours"][i], 0.0)  # the initial contact is its first part
                self.start(self.fuller_assessment(i, s, asked, spent, rest, covered))
                return
            yield from self.full_assessment(i, s, asked, spent, assess_hours)
        self._returned(i, s, covered, "returned_day")
        if "escalated" in a and a["escalated"][i]:
            # the need is one the services commissioned will not meet: the DMO/DCO arranges specialist or
            # bespoke provision before the plan goes on (the advice itself is back with the LA)
            self.advice_rec[s]["escalated_day"][i] = env.now
            yield self.work(self.sc.ehc.dmo_service, a["escalation_hours"][i], ESCALATION, asked, True)
            self.advice_rec[s]["escalation_done_day"][i] = env.now

    def wrong_service(self, i: int, s: str) -> str | None:
        """The health service a misrouted request about request ``i`` first went to (the next one in the
        scenario's order), when misrouting costs clinician time (``ehc.misroute_hours``); else None."""
        if self.sc.ehc.misroute_hours is None:
            return None
        others = [x for x in self.advice_rec if x != s and self.sc.services[x].kind == "health"]
        return others[i % len(others)] if others else None

    def _returned(self, i: int, s: str, covered, what: str) -> None:
        """Record advice (or a fuller assessment) as done now, for ``s`` and the pooled services it covers."""
        now = self.env.now
        self.advice_rec[s][what][i] = now
        for f in covered:
            if what in self.advice_rec[f]:
                self.advice_rec[f][what][i] = now

    def fuller_assessment(self, i: int, s: str, asked: float, spent: float, hours: float, covered):
        """The fuller assessment after initial advice (its own pathway: the plan does not wait for it)."""
        yield from self.full_assessment(i, s, asked, spent, hours)
        self._returned(i, s, covered, "fuller_done_day")

    def full_assessment(self, i: int, s: str, asked: float, spent: float, hours: float):
        """Book and hold the assessment of a child not known (with any missed appointments and rebookings).

        An ordinary appointment is booked with notice. With reserved short-notice slots (NHS England quick
        guide, 6.2.2) a reserved session can see the child at once; an ordinary one still only after the
        notice (ServiceQueue.open_to_all). A rebooked appointment after a miss is open to all.
        """
        env, a = self.env, self.advice[s]
        lead = a["booking_lead_days"][i] - spent
        q = self.services[s].queue
        short = q.short_notice and env.now >= q.short_from  # reserved slots (from their start date)
        if lead > 0 and not short:
            yield lead
        self.advice_rec[s]["assessment_started_day"][i] = env.now
        notice = max(0.0, lead) if short else 0.0
        for _ in range(a["n_missed"][i]):
            yield self.assessment(s, hours, MISSED, asked, notice)
            notice = 0.0
            yield a["rebook_delay_days"][i]
        yield self.assessment(s, hours, ASSESSMENT, asked, notice)

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
        # Per referral, in time order: read by index while running (Python lists are cheaper than arrays)
        src, idx = src[order].tolist(), idx[order].tolist()
        hours = np.concatenate([r.appointment_hours for _, r in parts])[order].tolist()
        missed = np.concatenate([r.n_missed for _, r in parts])[order].tolist()
        tasks = [self.services[parts[j][0]].tasks for j in src]
        seen = [self.routine_seen[parts[j][0]] for j in src]
        key, put_at = q.key, q.put_at
        if any(r.leaves_day is not None for _, r in parts):
            q.removals = True  # some children leave the list unseen: the first task of each carries when
            leaves = np.concatenate([r.leaves_day if r.leaves_day is not None else np.full(r.arrival_day.size, np.inf)
                                     for _, r in parts])[order].tolist()
            first = [self.routine_first.get(parts[j][0]) for j in src]
        else:
            leaves = first = None

        def arrive(pos: int, t: float) -> None:
            if missed[pos]:  # the first appointment is missed: the rest of the referral is a pathway
                s, i = parts[src[pos]][0], idx[pos]
                task = Task(key(t, False), hours[pos], MISSED, False, False)
                task.on_done = lambda _task: self.start(self.routine_after_missed(s, i, t))
            else:
                task = Task(key(t, False), hours[pos], ROUTINE, False, False)
                seen[pos].append((idx[pos], task))
            tasks[pos].append(task)
            if leaves is not None and first[pos] is not None:
                task.leaves = leaves[pos]  # until its first appointment is booked (taken)
                first[pos].append((idx[pos], task))
            put_at(task, t if t > 0.0 else 0.0)  # a backlog is queued at the start of the run

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
        """Simulate from day 0 to the end and return the records: :meth:`setup`, ``env.run(until=end)``,
        :meth:`finish`."""
        with gc_paused():
            self.setup()
            if self.end > self.env.now:
                self.env.run(until=self.end)  # events at the end itself do not run (SimPy's stop is URGENT)
            return self.finish()

    def setup(self) -> None:
        """Give the queues their routine referrals, put the clinicians to work and start the EHC arrivals."""
        env = self.env
        for q in self.queues:
            self.routine_feed(q, [s for s, st in self.services.items() if st.queue is q])
        by_service: dict[str, list[Clinician]] = {}
        for name, st in self.services.items():
            for sess in st.sessions:
                if sess.start.size:
                    c = Clinician(env, st.queue, st.busy_hours, sess, self.end)
                    self.clinicians.append(c)
                    by_service.setdefault(name, []).append(c)
        for pool in self.sc.pools.values():  # a team from a date
            if pool.start is not None:
                self._team(pool, by_service)
        for c in self.clinicians:
            c.free(0.0)
        if self.demand.ehc is not None and self.demand.ehc.arrival_day.size:
            self.start(self.ehc_arrivals())
        if self.plans is not None:  # the plans held at the start
            for j in range(self.demand.plans.n_initial):
                self.start(self.plan_pathway(j))

    def _team(self, pool, by_service: dict[str, list[Clinician]]) -> None:
        """From the pool's start, its clinicians take the best-placed task of any of its services' queues, and
        a task put on any of them may wake any of its clinicians (the queues share one list of sleepers)."""
        qs = [self.services[s].queue for s in pool.services]
        day = max(self.sc.day_of(pool.start), 0.0)
        for s in pool.services:
            own = self.services[s].queue
            for c in by_service.get(s, []):
                c.team = [own] + [q for q in qs if q is not own]
                c.team_from = day

        def join(_ev=None) -> None:
            sleepers = [c for q in qs for c in q.sleepers]
            for q in qs:
                q.sleepers = sleepers
            now = self.env.now
            for c in list(sleepers):  # each looks at the whole team's work now
                if c.asleep:
                    sleepers.remove(c)
                    c.wake(now, now)

        if day <= 0:
            join()
        elif day < self.end:
            self.env.timeout(day).callbacks.append(join)

    def finish(self) -> dict:
        """After the run: queue the referrals nobody looked for, build the records, let go of the run."""
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
        end = self.end
        for s, pairs in self.routine_first.items():  # left unseen: never taken, and its time came before the end
            removed = self.routine_rec[s]["removed_day"]
            for i, task in pairs:
                if task.left_unseen_by(end):
                    removed[i] = task.leaves
        for q in self.queues:
            q.log_in_order(end)
        rec = self.records()
        self._release()
        return rec

    def _release(self) -> None:
        """Break the run's reference cycles, so the model is freed as soon as its caller drops it.

        The garbage collector is paused during a run (:func:`gc_paused`), and a model is a web of objects that
        refer to each other (clinicians and queues, pathways and their tasks); left as it is, every finished
        replication would wait for a full collection, and a long series of replications would keep growing
        the process. SimPy's calendar holds nothing of the model after the run: nothing is scheduled at or
        after the end (clinicians and queues check their horizon, pathways and notices their end). What
        remains (tasks, sessions, queues) can still be read; the run cannot be continued.
        """
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
                **({"task_left_day": np.fromiter(
                    (t.leaves if t.left_unseen_by(self.end) else math.nan for t in tasks),
                    float, n)} if st.queue.removals else {}),
                "busy_hours_by_day": st.busy_hours,
                "available_hours_by_day": st.available_hours,
            }
        e = self.demand.ehc
        ehc = dict(self.ehc_rec)
        advice = {s: dict(r) for s, r in self.advice_rec.items()}
        if e is not None:
            ehc.update(arrival_day=e.arrival_day, outcome=e.outcome, plan=e.plan, exceptional=e.exceptional)
            if self.sc.ehc.ages.enabled:  # each request's age in years (ages 0-25)
                ehc["age"] = e.age
            for s, a in e.advice.items():
                # owed: the request needs this service's advice and it was not already in at the start (an open
                # case's returned advice), whether or not the LA got as far as asking for it in the run
                owed = a.requested if a.done is None else a.requested & ~a.done
                advice[s].update(known=a.known, misrouted=a.misrouted, n_missed=a.n_missed, owed=owed)
                if s in self.annex_a:  # Annex A's answer (used for children not known)
                    advice[s]["branch"] = a.branch
        extra = {}
        if e is not None and e.n_open:  # the cases open at the start: rows 0..n_open-1 of the EHC records
            extra["open_cases"] = {
                "case_id": np.asarray(e.case_id, dtype=str),
                "stage": e.stage[: e.n_open],
                "stage_day": e.stage_day[: e.n_open],
                "advice_done": {s: a.done[: e.n_open] for s, a in e.advice.items()},
            }
        if self.cc:
            extra["continuing_care"] = dict(self.cc_rec)
        if self.tribunals:
            extra["tribunals"] = {"registered_day": self.tribunal_rec["registered_day"],
                                  "response_day": dict(self.tribunal_rec["response_day"])}
        if self.plans is not None:
            r = np.array(self.reviews, dtype=float).reshape(-1, 5)
            extra["plans"] = {**self.plan_rec, "n_initial": self.demand.plans.n_initial,
                              "age_years": self.demand.plans.age_years}
            extra["reviews"] = {"plan": r[:, 0].astype(np.int64), "due_day": r[:, 1], "started_day": r[:, 2],
                                "completed_day": r[:, 3], "n_input": r[:, 4].astype(np.int64)}
        return {**extra,
            "end_day": self.end,
            "ehc": ehc,
            "advice": advice,
            "routine": self.routine_rec,
            "routine_arrival": {s: r.arrival_day for s, r in self.demand.routine.items()},
            "routine_n_missed": {s: r.n_missed for s, r in self.demand.routine.items()},
            "services": services,
        }
