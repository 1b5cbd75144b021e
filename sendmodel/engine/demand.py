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
from sendmodel.engine.sampling import from_uniform, n_missed
from sendmodel.scenario.config import Scenario

OUTCOMES = ("assessed", "refused", "withdrawn")


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
    advice: dict[str, AdviceDemand] = field(default_factory=dict)


@dataclass
class RoutineDemand:
    """Routine referrals to one service, backlog first (negative arrival days = already waiting)."""

    arrival_day: np.ndarray
    appointment_hours: np.ndarray
    n_missed: np.ndarray
    rebook_delay_days: np.ndarray
    n_backlog: int


@dataclass
class Demand:
    ehc: EhcDemand | None
    routine: dict[str, RoutineDemand]


def _ehc(sc: Scenario, seed: int, rep: int, end_day: float) -> EhcDemand:
    e = sc.ehc
    n_days = int(np.ceil(end_day)) + 1
    rate = daily_rate_profile(sc, n_days, e.requests_per_year_per_70k * sc.scale)
    cum = np.concatenate([[0.0], np.cumsum(rate)])
    cum_end = float(np.interp(end_day, np.arange(n_days + 1), cum))
    if cum_end <= 0:
        arrivals = np.empty(0)
    else:
        epochs = _poisson_times(make_rng(seed, rep, Stream.EHC_ARRIVALS), cum_end)
        arrivals = np.interp(epochs, cum, np.arange(n_days + 1))  # invert the cumulative intensity
    n = arrivals.size
    u = make_rng(seed, rep, Stream.EHC_ATTRIBUTES).random((n, 12))
    p = e.request_outcomes
    cuts = np.cumsum([p["assessed"], p["refused"]])
    outcome = np.searchsorted(cuts, u[:, 0], side="right")
    outcome = np.minimum(outcome, 2)
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
    )
    for name in sc.advice_services():
        svc = sc.services[name]
        a = svc.advice
        v = make_rng(seed, rep, Stream.ADVICE_ATTRIBUTES, name).random((n, 11))
        lag = (lambda d, col: from_uniform(d, v[:, col]) if d is not None else np.zeros(n))  # noqa: E731
        d.advice[name] = AdviceDemand(
            requested=v[:, 0] < a.p_requested,
            known=v[:, 1] < a.p_known,
            misrouted=v[:, 2] < a.p_misrouted,
            misroute_delay_days=from_uniform(e.misroute_delay_days, v[:, 3]),
            records_advice_hours=from_uniform(a.records_advice_hours, v[:, 4]),
            records_check_hours=from_uniform(a.records_check_hours, v[:, 5]),
            assessment_hours=from_uniform(a.assessment_hours, v[:, 6]),
            n_missed=n_missed(svc.p_missed_appointment, v[:, 7]),
            rebook_delay_days=lag(svc.rebook_delay_days, 8),
            admin_lag_days=lag(a.admin_lag_days, 9),
            booking_lead_days=lag(a.booking_lead_days, 10),
        )
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
    return RoutineDemand(
        arrival_day=arrival_day,
        appointment_hours=appt,
        n_missed=n_missed(svc.p_missed_appointment, u[:, 1]),
        rebook_delay_days=from_uniform(svc.rebook_delay_days, u[:, 2]) if svc.rebook_delay_days else np.zeros(n),
        n_backlog=int(backlog.size),
    )


def end_day(sc: Scenario) -> float:
    """Last simulated day (warm-up plus measured horizon), days from the start date."""
    return sc.simulation.warm_up_days + sc.simulation.horizon_days


def sample_demand(sc: Scenario, seed: int, replication: int) -> Demand:
    """All of one replication's demand, drawn before the run."""
    end = end_day(sc)
    ehc = _ehc(sc, seed, replication, end) if sc.ehc is not None else None
    routine = {
        name: _routine(sc, name, seed, replication, end)
        for name, svc in sc.services.items()
        if svc.routine_referrals_per_week_per_70k > 0 or svc.backlog
    }
    return Demand(ehc=ehc, routine=routine)
