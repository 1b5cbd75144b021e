"""Pre-sample a replication's demand before the SimPy run (plain NumPy arrays, no pandas).

Requests arrive as a unit-rate Poisson process mapped through the cumulative intensity (the school-year
profile), and each request's attributes come from a fixed row of uniforms in its own stream. So request k looks
the same in every option compared (common random numbers), and a 10% demand rise moves arrivals smoothly
rather than reshuffling them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from sendmodel.engine.rng import Stream, make_rng
from sendmodel.engine.sampling import from_uniform, from_uniform_beyond, n_missed
from sendmodel.scenario import caseload
from sendmodel.scenario.config import (
    DECISION_DUE_DAYS,
    MAX_PLAN_AGE,
    MAX_PLAN_AGE_YEARS,
    OPEN_STAGES,
    PLAN_DUE_DAYS,
    REVIEW_DUE_DAYS,
    Scenario,
)

OUTCOMES = ("assessed", "refused", "withdrawn")
#: Annex A's answers to a request about a child not known (the codes in the advice records' ``branch``)
BRANCHES = ("assess", "more_information", "not_known_no_need", "redirect", "plan_action")
ASSESS, MORE_INFORMATION, NOT_KNOWN_NO_NEED, REDIRECT, PLAN_ACTION = range(5)
NEW, AWAITING_DECISION, AWAITING_ADVICE, AWAITING_DMO, DRAFTING, CONSULTATION = range(6)
STAGE_CODES = {name: code for code, name in enumerate(OPEN_STAGES, start=1)}  # 0: a request made in the run


def _poisson_times(rng: np.random.Generator, cum_end: float) -> np.ndarray:
    """Arrival epochs of a unit-rate Poisson process on [0, cum_end)."""
    out, total, chunk = [], 0.0, max(64, int(cum_end * 1.2) + 16)
    while True:
        e = total + np.cumsum(rng.exponential(1.0, chunk))
        out.append(e)
        total = e[-1]
        if total >= cum_end:
            break
    e = np.concatenate(out)
    return e[e < cum_end]


def daily_rate_profile(sc: Scenario, n_days: int, per_year: float) -> np.ndarray:
    """Expected requests on each simulated day, following the monthly profile (mean 1) and the demand trend."""
    prof = np.asarray(sc.ehc.monthly_profile, dtype=float)
    prof = prof / prof.mean()
    start = sc.simulation.start_date
    months = np.array([(start + dt.timedelta(days=int(d))).month - 1 for d in range(n_days)])
    rate = per_year / 365.25 * prof[months]
    if sc.ehc.growth_per_year or sc.ehc.requests_by_year:
        rate = rate * trend_factor(sc, n_days)
    return rate


def trend_factor(sc: Scenario, n_days: int) -> np.ndarray:
    """Each day's requests relative to ``requests_per_year_per_70k``: compounding growth from the start date,
    or the rate given for that calendar year in ``requests_by_year``."""
    e = sc.ehc
    d = np.arange(n_days, dtype=float)
    f = (1.0 + e.growth_per_year) ** (d / 365.25)
    if e.requests_by_year:
        start = sc.simulation.start_date
        years = np.array([(start + dt.timedelta(days=int(x))).year for x in range(n_days)])
        base = e.requests_per_year_per_70k
        for y, v in e.requests_by_year.items():
            f[years == y] = v / base if base > 0 else 0.0
    return f


@dataclass
class AdviceDemand:
    """Per advice-giving service, one entry per EHC request."""

    requested: np.ndarray
    known: np.ndarray
    misrouted: np.ndarray
    misroute_delay_days: np.ndarray
    records_advice_hours: np.ndarray
    records_check_hours: np.ndarray
    assessment_hours: np.ndarray
    n_missed: np.ndarray
    rebook_delay_days: np.ndarray
    admin_lag_days: np.ndarray
    booking_lead_days: np.ndarray
    initial_hours: np.ndarray  # initial advice for a child not known (0 where the service gives none)
    branch: np.ndarray  # Annex A's answer for a child not known (ASSESS unless the service has annex_a)
    branch_days: np.ndarray  # the LA's further information, or a redirection
    reply_hours: np.ndarray  # a written reply that does not assess
    escalated: np.ndarray | None = None  # escalated to the DMO/DCO after the advice (None: escalation off)
    escalation_hours: np.ndarray | None = None
    done: np.ndarray | None = None  # open cases: advice already returned before the start (None: none open)


@dataclass
class EhcDemand:
    arrival_day: np.ndarray
    outcome: np.ndarray  # index into OUTCOMES
    plan: np.ndarray
    exceptional: np.ndarray
    decision_lag_days: np.ndarray
    decision_hours: np.ndarray
    draft_hours: np.ndarray
    finalise_hours: np.ndarray
    dmo_review_hours: np.ndarray
    dmo_admin_hours: np.ndarray
    triage_hours: np.ndarray
    appeal: np.ndarray  # the plan, once issued, is appealed to the SEND Tribunal (tribunals on)
    appeal_after_days: np.ndarray
    tribunal_response_hours: np.ndarray
    hearing: np.ndarray
    hearing_hours: np.ndarray
    misroute_hours: np.ndarray  # the wrong service's time on a misrouted request (0 unless misroute_hours is set)
    continuing_care: np.ndarray  # referred for continuing care when the LA decides to assess (when on)
    cc_assessment_hours: np.ndarray
    cc_review_hours: np.ndarray
    draft_lag_days: np.ndarray  # before drafting starts (0 unless draft_lag_days is set)
    not_to_issue_lag_days: np.ndarray  # from the advice to a decision not to issue (0 unless set)
    draft_deadline_days: np.ndarray  # from the request, when the LA drafts with what it has (inf unless set)
    advice: dict[str, AdviceDemand] = field(default_factory=dict)
    age: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # years (ehc.ages on), else -1
    # Open cases at the start are the first ``n_open`` rows: their stage code (STAGE_CODES; 0 for a request
    # made in the run), the day each entered it (<= 0), and the LA's case ids.
    n_open: int = 0
    stage: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    stage_day: np.ndarray = field(default_factory=lambda: np.zeros(0))
    case_id: list[str] = field(default_factory=list)


@dataclass
class RoutineDemand:
    """Routine referrals to one service, backlog first (negative arrival days = already waiting)."""

    arrival_day: np.ndarray
    appointment_hours: np.ndarray
    n_missed: np.ndarray
    rebook_delay_days: np.ndarray
    n_backlog: int
    #: the day each referral would leave the list unseen if no appointment had been booked by then; None: nobody
    #: leaves (``routine_removal_per_week`` 0)
    leaves_day: np.ndarray | None = None


@dataclass
class PlanDemand:
    """Plans in force and their annual reviews: the ``n_initial`` plans held at the start, then one row per EHC
    request (used only if that request ends in a plan). Review ``k`` of plan ``j`` takes ``la_hours[j, k]`` and,
    from each service with ``health[s][j, k]``, ``health_hours[j, k]``."""

    n_initial: int
    age_years: np.ndarray  # at the start (initial plans) or when the plan is issued (new plans)
    years_held: np.ndarray  # how long the plan stays in force from then (ceases at the latest at 26)
    first_due_day: np.ndarray  # initial plans: when the next review is due (new plans: issue + 12 months)
    la_hours: np.ndarray
    health: dict[str, np.ndarray]
    health_hours: np.ndarray


@dataclass
class Demand:
    ehc: EhcDemand | None
    routine: dict[str, RoutineDemand]
    plans: PlanDemand | None = None


def _ehc(sc: Scenario, seed: int, rep: int, end_day: float) -> EhcDemand:
    e = sc.ehc
    n_days = int(np.ceil(end_day)) + 1
    _, covered = age_shares(sc)
    rate = daily_rate_profile(sc, n_days, e.requests_per_year_per_70k * sc.scale * covered)
    cum = np.concatenate([[0.0], np.cumsum(rate)])
    cum_end = float(np.interp(end_day, np.arange(n_days + 1), cum))
    if cum_end <= 0:
        arrivals = np.empty(0)
    else:
        epochs = _poisson_times(make_rng(seed, rep, Stream.EHC_ARRIVALS), cum_end)
        arrivals = np.interp(epochs, cum, np.arange(n_days + 1))  # invert the cumulative intensity
    n = arrivals.size
    u = make_rng(seed, rep, Stream.EHC_ATTRIBUTES).random((n, 12))
    v = {name: make_rng(seed, rep, Stream.ADVICE_ATTRIBUTES, name).random((n, 11)) for name in sc.advice_services()}
    new = _attributes(sc, arrivals, u, v, lambda name: make_rng(seed, rep, Stream.EHC_ATTRIBUTES, name))
    if not (e.open_cases or e.open_case_list):
        return new
    return _join(_open_cases(sc, seed, rep), new)


def _tribunal(sc: Scenario, rng_of, n: int) -> dict[str, np.ndarray]:
    """Appeal attributes from a sub-stream of their own (``rng_of(name)``), drawn only with tribunals on."""
    t = sc.ehc.tribunals
    if not t.enabled:
        z = np.zeros(n)
        return {"appeal": z.astype(bool), "appeal_after_days": z, "tribunal_response_hours": z,
                "hearing": z.astype(bool), "hearing_hours": z}
    w = rng_of("tribunal").random((n, 5))
    p = caseload.appeal_rate(t)
    return {"appeal": w[:, 0] < p, "appeal_after_days": from_uniform(t.registered_after_days, w[:, 1]),
            "tribunal_response_hours": from_uniform(t.response_hours, w[:, 2]), "hearing": w[:, 3] < t.p_hearing,
            "hearing_hours": from_uniform(t.hearing_hours, w[:, 4])}


def _continuing_care(sc: Scenario, rng_of, n: int) -> dict[str, np.ndarray]:
    """Continuing care referrals and their hours, from a sub-stream of their own, drawn only when on."""
    cc = sc.ehc.continuing_care
    if not cc.enabled:
        z = np.zeros(n)
        return {"continuing_care": z.astype(bool), "cc_assessment_hours": z, "cc_review_hours": z}
    w = rng_of("continuing_care").random((n, 3))
    return {"continuing_care": w[:, 0] < cc.p_referral,
            "cc_assessment_hours": from_uniform(cc.assessment_hours, w[:, 1]),
            "cc_review_hours": from_uniform(cc.review_hours, w[:, 2])}


def _annex_a(cfg, rng_of, name: str, n: int) -> dict[str, np.ndarray]:
    """Annex A's answer for each request (used only for a child not known), from a sub-stream of its own."""
    if cfg is None:
        return {"branch": np.zeros(n, np.int64), "branch_days": np.zeros(n), "reply_hours": np.zeros(n)}
    w = rng_of("annex_a/" + name).random((n, 3))
    cuts = np.cumsum([cfg.p_more_information, cfg.p_not_known_no_need, cfg.p_redirect, cfg.p_plan_action])
    branch = np.searchsorted(cuts, w[:, 0], side="right") + 1  # past every share: assess
    branch[branch == 5] = ASSESS
    days = np.where(branch == MORE_INFORMATION, from_uniform(cfg.more_information_days, w[:, 1]),
                    from_uniform(cfg.redirect_days, w[:, 1]))
    return {"branch": branch.astype(np.int64), "branch_days": days,
            "reply_hours": from_uniform(cfg.reply_hours, w[:, 2])}


def age_shares(sc: Scenario) -> tuple[np.ndarray, float]:
    """Each age's share of the requests modelled (26 numbers, ages 0-25) and the share of all requests that
    they are: 1 under ``covers: 0-25``, the published share aged 0-17 under ``covers: 0-17``. Ages off: no
    shares and 1."""
    ages = sc.ehc.ages
    if not ages.enabled:
        return np.zeros(0), 1.0
    given = ages.request_shares_by_age
    src = caseload.published_requests_by_age() if given is None else given
    w = np.array([float(src.get(a, 0.0)) for a in range(MAX_PLAN_AGE_YEARS + 1)])
    w /= w.sum()
    if ages.covers == "0-17":
        kept = float(w[:18].sum())
        w[18:] = 0.0
        return w / kept, kept
    return w, 1.0


def _outcomes(sc: Scenario, u0: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Assessed (0), refused (1) or withdrawn (2) for each request; with ages and ``assess_by_age``, the chance
    of assessment follows the published rate at the request's age, scaled so that all ages together keep
    ``request_outcomes.assessed``, the rest split between refused and withdrawn as the scenario says."""
    p = sc.ehc.request_outcomes
    if age.size == 0 or not sc.ehc.ages.enabled or not sc.ehc.ages.assess_by_age:
        cuts = np.cumsum([p["assessed"], p["refused"]])
        return np.minimum(np.searchsorted(cuts, u0, side="right"), 2)
    shares, _ = age_shares(sc)
    rate = np.array([caseload.published_assess_rate_by_age()[a] for a in range(MAX_PLAN_AGE_YEARS + 1)])
    mean = float(shares @ rate)
    pa = np.clip(p["assessed"] * rate[age] / mean, 0.0, 1.0) if mean > 0 else np.full(age.size, p["assessed"])
    rest = p["refused"] + p["withdrawn"]
    refused = pa + (1.0 - pa) * (p["refused"] / rest if rest > 0 else 0.0)
    return np.where(u0 < pa, 0, np.where(u0 < refused, 1, 2)).astype(np.int64)


def _attributes(sc: Scenario, arrivals: np.ndarray, u: np.ndarray, v: dict[str, np.ndarray],
                rng_of=None) -> EhcDemand:
    """Requests' attributes from their rows of uniforms (``u``: the request's, ``v``: each advice service's;
    ``rng_of(name)``: a sub-stream for attributes drawn only when a mechanism is on)."""
    e = sc.ehc
    n = arrivals.size
    age = np.full(n, -1, np.int64)
    if e.ages.enabled:  # from a sub-stream of its own: with ages off every other draw is as it was
        shares, _ = age_shares(sc)
        age = np.searchsorted(np.cumsum(shares), rng_of("age").random(n) * (1 - 1e-12), side="right")
        age = np.minimum(age, MAX_PLAN_AGE_YEARS).astype(np.int64)
    outcome = _outcomes(sc, u[:, 0], age)
    triage_hours = from_uniform(e.triage.hours, u[:, 10]) if e.triage.hours is not None else np.zeros(n)
    d = EhcDemand(
        arrival_day=arrivals,
        outcome=outcome,
        plan=u[:, 1] < e.p_plan_after_assessment,
        exceptional=u[:, 2] < e.p_exceptional_provision,
        decision_lag_days=from_uniform(e.decision_lag_days, u[:, 3]),
        decision_hours=from_uniform(e.decision_hours, u[:, 4]),
        draft_hours=from_uniform(e.draft_hours, u[:, 5]),
        finalise_hours=from_uniform(e.finalise_hours, u[:, 6]),
        dmo_review_hours=from_uniform(e.dmo_review_hours, u[:, 7]),
        dmo_admin_hours=from_uniform(e.dmo_admin_hours, u[:, 8]),
        triage_hours=triage_hours,
        **_tribunal(sc, rng_of, n),
        **_continuing_care(sc, rng_of, n),
        misroute_hours=(from_uniform(e.misroute_hours, rng_of("misroute").random(n)) if e.misroute_hours is not None
                        else np.zeros(n)),
        draft_lag_days=(from_uniform(e.draft_lag_days, rng_of("draft_lag").random(n))
                        if e.draft_lag_days is not None else np.zeros(n)),
        not_to_issue_lag_days=(from_uniform(e.not_to_issue_lag_days, rng_of("not_to_issue_lag").random(n))
                               if e.not_to_issue_lag_days is not None else np.zeros(n)),
        draft_deadline_days=(7.0 * from_uniform(e.draft_deadline_weeks, rng_of("draft_deadline").random(n))
                             if e.draft_deadline_weeks is not None else np.full(n, np.inf)),
        stage=np.zeros(n, np.int64),
        stage_day=np.zeros(n),
        age=age,
    )
    for name, w in v.items():
        svc = sc.services[name]
        a = svc.advice
        lag = (lambda d, col: from_uniform(d, w[:, col]) if d is not None else np.zeros(n))  # noqa: E731
        asked = w[:, 0] < a.p_requested
        if a.ages is not None:  # a service for some ages only (an adult service for young adults)
            asked &= (age >= a.ages[0]) & (age <= a.ages[1])
        d.advice[name] = AdviceDemand(
            requested=asked,
            known=w[:, 1] < a.p_known,
            misrouted=w[:, 2] < a.p_misrouted,
            misroute_delay_days=from_uniform(e.misroute_delay_days, w[:, 3]),
            records_advice_hours=from_uniform(a.records_advice_hours, w[:, 4]),
            records_check_hours=from_uniform(a.records_check_hours, w[:, 5]),
            assessment_hours=from_uniform(a.assessment_hours, w[:, 6]),
            n_missed=n_missed(svc.p_missed_appointment, w[:, 7]),
            rebook_delay_days=lag(svc.rebook_delay_days, 8),
            admin_lag_days=lag(a.admin_lag_days, 9),
            booking_lead_days=lag(a.booking_lead_days, 10),
            # column 4 drew the records-advice hours, which a child not known never uses
            initial_hours=(from_uniform(a.initial_advice.hours, w[:, 4]) if a.initial_advice is not None
                           else np.zeros(n)),
            **_annex_a(a.annex_a, rng_of, name, n),
            **_escalation(sc, rng_of, name, n),
        )
    return d


def _escalation(sc: Scenario, rng_of, name: str, n: int) -> dict[str, np.ndarray | None]:
    """Whether each health advice is escalated to the DMO/DCO, and its hours: a sub-stream of its own, drawn
    only with escalation on."""
    esc = sc.ehc.escalation
    if not esc.enabled or sc.services[name].kind != "health":
        return {"escalated": None, "escalation_hours": None}
    w = rng_of("escalation/" + name).random((n, 2))
    return {"escalated": w[:, 0] < esc.p_escalated, "escalation_hours": from_uniform(esc.hours, w[:, 1])}


def default_stage_day(stage: int, arrival: float) -> float:
    """When an open case entered its stage, if not given: at the request (awaiting a decision), at the statutory
    decision date (awaiting advice), or at the start (later stages: the cautious reading)."""
    if stage == AWAITING_DECISION:
        return arrival
    if stage == AWAITING_ADVICE:
        return min(0.0, arrival + DECISION_DUE_DAYS)  # the statutory decision date
    return 0.0


def _open_cases(sc: Scenario, seed: int, rep: int) -> EhcDemand:
    """The open cases at the start, person-level rows first, then the counted bands (ages spread over each).

    Their attributes come from streams of their own, so the requests made during the run draw exactly what
    they would with no open cases. What the stage says is already known overrides the draw: a case awaiting
    advice was decided (assessed), one being drafted has a plan, one awaiting the DMO/DCO is exceptional.
    """
    e, start = sc.ehc, sc.simulation.start_date
    ids, arrival, stage, since, asked_of, returned, exceptional = [], [], [], [], [], [], []
    for c in e.open_case_list:
        k = STAGE_CODES[c.stage]
        a = float((c.request_date - start).days)
        ids.append(c.case_id)
        arrival.append(a)
        stage.append(k)
        since.append(float((c.stage_date - start).days) if c.stage_date else default_stage_day(k, a))
        asked_of.append(c.advice_from)
        returned.append(set(c.advice_returned))
        exceptional.append(c.exceptional)
    for b, band in enumerate(e.open_cases):
        k = STAGE_CODES[band.stage]
        lo, hi = band.weeks_since_request
        m = int(round(band.n_per_70k * sc.scale))
        # spread evenly over the band, the same in every replication: case "band1-3" is one case throughout,
        # so the breach forecast can speak of it
        for j, age in enumerate(lo * 7 + (hi - lo) * 7 * (np.arange(m) + 0.5) / max(m, 1)):
            ids.append(f"band{b + 1}-{j + 1}")
            arrival.append(-float(age))
            stage.append(k)
            since.append(default_stage_day(k, -float(age)))
            asked_of.append(None)
            returned.append(set())
            exceptional.append(None)
    n = len(ids)
    u = make_rng(seed, rep, Stream.OPEN_CASES).random((n, 12))
    v = {s: make_rng(seed, rep, Stream.OPEN_CASES, "advice/" + s).random((n, 11)) for s in sc.advice_services()}
    d = _attributes(sc, np.asarray(arrival, dtype=float), u, v,
                    lambda name: make_rng(seed, rep, Stream.OPEN_CASES, name))
    st = np.asarray(stage, dtype=np.int64)
    # Delays already running at the start are drawn given how long they have run (residual time, not a fresh
    # draw less the time spent): gathering information for a decision, the admin and booking of an advice.
    undecided = st == AWAITING_DECISION
    d.decision_lag_days[undecided] = from_uniform_beyond(
        e.decision_lag_days, u[undecided, 3], -d.arrival_day[undecided])
    waiting = st == AWAITING_ADVICE
    asked_ago = -np.asarray(since, dtype=float)[waiting]
    for s, a in d.advice.items():
        cfg = sc.services[s].advice
        admin = a.admin_lag_days[waiting]
        in_admin = admin > asked_ago  # still with admin at the start: the rest of it, then a fresh booking
        if cfg.admin_lag_days is not None and in_admin.any():
            rows = np.flatnonzero(waiting)[in_admin]
            a.admin_lag_days[rows] = from_uniform_beyond(cfg.admin_lag_days, v[s][rows, 9], asked_ago[in_admin])
        if cfg.booking_lead_days is not None and (~in_admin).any():  # past admin: the booking has run since
            rows = np.flatnonzero(waiting)[~in_admin]
            a.booking_lead_days[rows] = from_uniform_beyond(
                cfg.booking_lead_days, v[s][rows, 10], (asked_ago - admin)[~in_admin])
    d.outcome[st >= AWAITING_ADVICE] = 0
    d.plan[st >= DRAFTING] = True
    d.exceptional[st == AWAITING_DMO] = True
    for i, x in enumerate(exceptional):
        if x is not None and stage[i] != AWAITING_DMO:
            d.exceptional[i] = x
    for s, a in d.advice.items():
        a.done = np.array([s in r for r in returned], dtype=bool)
        for i, names in enumerate(asked_of):
            if names is not None:
                a.requested[i] = s in names
        a.requested[st >= AWAITING_DMO] = False  # advice already in: nothing more is asked
    d.n_open, d.stage, d.stage_day, d.case_id = n, st, np.asarray(since, dtype=float), ids
    return d


def _join(old: EhcDemand, new: EhcDemand) -> EhcDemand:
    """Open cases first, then the requests made during the run (arrival days stay sorted: open ones are <= 0)."""
    arrays = {f: np.concatenate([getattr(old, f), getattr(new, f)]) for f in EhcDemand.__dataclass_fields__
              if f not in ("advice", "n_open", "stage", "stage_day", "case_id")}
    d = EhcDemand(**arrays)
    for s, a in old.advice.items():
        b = new.advice[s]
        fields = {f: (None if getattr(a, f) is None else np.concatenate([getattr(a, f), getattr(b, f)]))
                  for f in AdviceDemand.__dataclass_fields__ if f != "done"}
        d.advice[s] = AdviceDemand(**fields, done=np.concatenate([a.done, np.zeros(b.requested.size, bool)]))
    m = new.arrival_day.size
    d.n_open, d.case_id = old.n_open, old.case_id
    d.stage = np.concatenate([old.stage, np.zeros(m, np.int64)])
    d.stage_day = np.concatenate([old.stage_day, np.zeros(m)])
    return d


def _routine(sc: Scenario, name: str, seed: int, rep: int, end_day: float) -> RoutineDemand:
    svc = sc.services[name]
    rate_per_day = svc.routine_referrals_per_week_per_70k * sc.scale / 7.0
    if rate_per_day > 0:
        arrivals = _poisson_times(make_rng(seed, rep, Stream.ROUTINE_ARRIVALS, name), rate_per_day * end_day)
        arrivals = arrivals / rate_per_day
    else:
        arrivals = np.empty(0)
    rb = make_rng(seed, rep, Stream.BACKLOG, name)
    ages = []
    for band in svc.backlog:
        k = int(round(band.n_per_70k * sc.scale))
        lo, hi = band.age_weeks
        ages.append(rb.uniform(lo * 7, hi * 7, k))
    backlog = -np.sort(np.concatenate(ages))[::-1] if ages else np.empty(0)
    arrival_day = np.concatenate([backlog, arrivals])
    n = arrival_day.size
    # Attribute rows: backlog rows come from a sub-stream of their own so new referrals keep their uniforms
    # whatever the backlog size.
    u_new = make_rng(seed, rep, Stream.ROUTINE_ATTRIBUTES, name).random((arrivals.size, 3))
    u_old = make_rng(seed, rep, Stream.ROUTINE_ATTRIBUTES, name + "/backlog").random((backlog.size, 3))
    u = np.vstack([u_old, u_new]) if n else np.empty((0, 3))
    appt = from_uniform(svc.routine_appointment_hours, u[:, 0]) if svc.routine_appointment_hours else np.zeros(n)
    leaves = None
    if svc.routine_removal_per_week > 0:
        # Each child waiting leaves at a constant rate (memoryless), so a child already on the list at the start
        # has the same time left as a new one: drawn from the start (day 0) or from the referral.
        mean_days = 7.0 / svc.routine_removal_per_week
        e_new = make_rng(seed, rep, Stream.ROUTINE_REMOVAL, name).exponential(mean_days, arrivals.size)
        e_old = make_rng(seed, rep, Stream.ROUTINE_REMOVAL, name + "/backlog").exponential(mean_days, backlog.size)
        leaves = np.maximum(arrival_day, 0.0) + np.concatenate([e_old, e_new])
    return RoutineDemand(
        leaves_day=leaves,
        arrival_day=arrival_day,
        appointment_hours=appt,
        n_missed=n_missed(svc.p_missed_appointment, u[:, 1]),
        rebook_delay_days=from_uniform(svc.rebook_delay_days, u[:, 2]) if svc.rebook_delay_days else np.zeros(n),
        n_backlog=int(backlog.size),
    )


def end_day(sc: Scenario) -> float:
    """Last simulated day (warm-up plus measured horizon), days from the start date."""
    return sc.simulation.warm_up_days + sc.simulation.horizon_days


def _ages_table(given: dict[int, float] | None, published: dict[int, float]) -> np.ndarray:
    """A value for every whole year of age 0-25: those given (or published), else the nearest age's."""
    src = given if given is not None else published
    ages = np.array(sorted(src), dtype=float)
    vals = np.array([src[int(a)] for a in ages], dtype=float)
    nearest = np.abs(np.arange(26)[:, None] - ages[None, :]).argmin(axis=1)
    return vals[nearest]


def years_until_ceased(age: np.ndarray, hazard_by_age: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Years a plan held at ``age`` stays in force: the time at which the cumulative hazard from ``age`` reaches
    the unit-exponential draw ``e``, where a plan held at age a ceases within a year with probability
    ``hazard_by_age[a]`` (a constant rate through each year of age), and at 26 at the latest."""
    rate = -np.log1p(-np.minimum(hazard_by_age, 1.0 - 1e-12))  # per year, constant within each year of age
    cum = np.concatenate([[0.0], np.cumsum(rate)])  # cumulative hazard at ages 0, 1, ..., 26
    grid = np.arange(cum.size, dtype=float)
    target = np.interp(age, grid, cum) + e
    ends = np.interp(target, cum, grid)  # cum is increasing where rates are positive
    ends = np.where(target >= cum[-1], MAX_PLAN_AGE, ends)
    return np.maximum(np.minimum(ends, MAX_PLAN_AGE) - age, 0.0)


def _plans(sc: Scenario, seed: int, rep: int, n_requests: int, end: float,
           request_age: np.ndarray | None = None) -> PlanDemand:
    """The plans held at the start (ages from the caseload by age, next reviews spread evenly over the coming
    year) and, for each request that may end in a plan, its age at issue and how long it will be held.

    Drawn from a stream of their own, so switching reviews on leaves every other draw as it was. New plans'
    ages follow the published ages at which plans started in 2024 (national; "20 and over" taken as 20-21).
    """
    r = sc.ehc.reviews
    per_70k = r.plans_in_force_per_70k
    n0 = int(round((caseload.published_plans_per_70k() if per_70k is None else per_70k) * sc.scale))
    given = r.caseload_ages
    held = (_ages_table(None, caseload.published_caseload_by_age()) if given is None  # published: every age
            else np.array([given.get(a, 0.0) for a in range(26)], dtype=float))  # given: ages not listed hold none
    hazard = _ages_table(r.cessation_by_age, caseload.published_cessation_by_age())
    n = n0 + n_requests
    k = int(np.ceil(end / REVIEW_DUE_DAYS)) + 1  # reviews a plan can have in the run
    rng = make_rng(seed, rep, Stream.PLANS)
    u = rng.random((n, 4))
    w = rng.random((n, k, 2))
    p0 = held / held.sum() if held.sum() > 0 else np.full(26, 1 / 26)
    starts = caseload.published_new_plan_ages()
    young = np.array([starts.get(a, 0.0) for a in range(26)], dtype=float)
    young /= young.sum()
    age = np.empty(n)
    # whole year of age by inverse transform, then a uniform position within it
    age[:n0] = np.searchsorted(np.cumsum(p0), u[:n0, 0] * (1 - 1e-12), side="right") + u[:n0, 1]
    age[n0:] = np.searchsorted(np.cumsum(young), u[n0:, 0] * (1 - 1e-12), side="right") + u[n0:, 1]
    if request_age is not None and (request_age >= 0).all():  # ages on: the request's age, about 20 weeks on
        age[n0:] = np.minimum(request_age + u[n0:, 1] + PLAN_DUE_DAYS / 365.25, MAX_PLAN_AGE - 1e-6)
    years = years_until_ceased(age, hazard, -np.log1p(-u[:, 2]))
    first = np.empty(n)
    first[:n0] = u[:n0, 3] * REVIEW_DUE_DAYS  # plans' anniversaries spread evenly over the coming year
    first[n0:] = REVIEW_DUE_DAYS  # after issue (added to the issue day in the run)
    health, names = {}, list(r.health_input)
    for s in names:
        hs = make_rng(seed, rep, Stream.PLANS, "health/" + s).random((n, k))
        health[s] = hs < r.health_input[s]
    return PlanDemand(
        n_initial=n0, age_years=age, years_held=years, first_due_day=first,
        la_hours=from_uniform(r.la_hours, w[..., 0]), health=health,
        health_hours=from_uniform(r.health_hours, w[..., 1]),
    )


def sample_demand(sc: Scenario, seed: int, replication: int) -> Demand:
    """All of one replication's demand, drawn before the run."""
    end = end_day(sc)
    ehc = _ehc(sc, seed, replication, end) if sc.ehc is not None else None
    routine = {
        name: _routine(sc, name, seed, replication, end)
        for name, svc in sc.services.items()
        if svc.routine_referrals_per_week_per_70k > 0 or svc.backlog
    }
    plans = None
    if ehc is not None and sc.ehc.reviews.enabled:
        plans = _plans(sc, seed, replication, ehc.arrival_day.size, end,
                       ehc.age if sc.ehc.ages.enabled else None)
    return Demand(ehc=ehc, routine=routine, plans=plans)
