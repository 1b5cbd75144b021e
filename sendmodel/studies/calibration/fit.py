"""Fit the parameters nobody publishes so that the baseline reproduces the 2024 SEN2 and NHS figures.

Method (``docs/calibration.md`` has the reasoning and the results):

1. **Routine demand** (closed form, Little's law on the published waiting lists): community paediatrics
   referrals = list / mean wait; speech and language therapy referrals = list x share waiting <= 18 weeks / 18
   (first come first served, a steady list's waits are spread evenly up to list / referrals).
2. **Health-service capacity** (closed form, conservation of work): each health service with routine referrals
   gets the PAs that exactly match its expected routine plus EHC work, so its list neither grows nor shrinks
   (a list that is never empty keeps its clinicians busy, so throughput = available hours / hours per task).
3. **LA-side capacity** (closed form): LA SEND casework, educational psychology and social care get the PAs at
   which their expected EHC work fills 85% of their time: busy, with stable queues. The national figures cannot
   tell a long queue from a long allocation delay, and a fit left free drives these services to saturation,
   where queues grow through the run and results turn on chance (see docs/calibration.md).
4. **The EHC pathway** (simulation): bounded nonlinear least squares (``scipy.optimize.least_squares``, trust
   region reflective, finite differences with 5% steps) on residuals (model - target) / tolerance, the model
   side being the mean over the same replications and seed at every evaluation (common random numbers, so a
   parameter change moves the KPIs smoothly rather than reshuffling the demand). (a) The LA decision stage: the
   information-gathering lag (log-normal mean and cv) -> decisions within 6 weeks and requests undecided at
   year end. (b) The plan stage: the educational psychology allocation-and-booking delay (log-normal mean and cv) ->
   plans within 20 weeks, 20-52 and over 52 weeks and mean weeks.
   (c) The decision stage once more (the stages interact a little through the LA casework queue). (d) Where
   the scenario has one, the lag before a decision not to issue (its mean) -> 'not to issue' decisions within
   16 weeks. Of the points evaluated, a stage keeps the one whose worst residual is smallest.
5. **Initial lists** (simulation): the run starts with no EHC work in progress, so for its first weeks the
   EHC-first services see more routine patients and their lists drop; the starting lists of the two services
   with a published list are raised by the shortfall so that the 2024 lists match.

Everything is fitted to 2024 only; other years are back-tests (:mod:`.backtest`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from sendmodel.engine.demand import end_day
from sendmodel.engine.sampling import from_uniform
from sendmodel.engine.sessions import build_sessions
from sendmodel.scenario.caseload import appeal_rate
from sendmodel.scenario.config import HOURS_PER_PA, Scenario
from sendmodel.studies.calibration.compare import BASE_YEAR, scenario_for_year
from sendmodel.studies.calibration.targets import routine_figures, targets

SOURCE = "calibrated to SEN2 2024"
SOURCE_NHS = "calibrated to NHS community health waiting lists (data/figures.md s.5)"


@dataclass(frozen=True)
class Knob:
    """One fitted parameter: a scalar field, or one field (``mean``/``cv``) of a distribution of ``family``."""

    path: str
    lo: float
    hi: float
    field: str | None = None
    family: str | None = None

    @property
    def name(self) -> str:
        return self.path + (f".{self.field}" if self.field else "")


DECISION_KNOBS = (
    Knob("ehc.decision_lag_days", 7.0, 70.0, "mean", "lognormal"),
    Knob("ehc.decision_lag_days", 0.1, 1.5, "cv", "lognormal"),
)
DECISION_TARGETS = ("decisions_made_within_6w_pct", "requests_undecided_pct")

PLAN_KNOBS = (
    Knob("services.educational_psychology.advice.booking_lead_days", 5.0, 250.0, "mean", "lognormal"),
    Knob("services.educational_psychology.advice.booking_lead_days", 0.2, 2.0, "cv", "lognormal"),
)
PLAN_TARGETS = ("plans_issued_within_20w_pct", "plans_issued_20_to_52w_pct", "plans_issued_over_52w_pct",
                "plan_weeks_mean")

#: Fitted when the scenario sets ehc.not_to_issue_lag_days: the LA's decision not to issue comes at a panel,
#: after the advice (without it the decision would be made the day the last advice arrives).
NOT_TO_ISSUE_KNOBS = (Knob("ehc.not_to_issue_lag_days", 0.5, 120.0, "mean", "lognormal"),)
NOT_TO_ISSUE_TARGETS = ("not_to_issue_within_16w_pct",)


def _node(scenario: Scenario, path: str):
    """The scenario's value at a dotted field path (services by name)."""
    node = scenario
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def knob_values(knobs, scenario: Scenario) -> np.ndarray:
    """Current values of ``knobs`` in ``scenario`` (a distribution of another family gives its mean and cv)."""
    out = []
    for k in knobs:
        node = _node(scenario, k.path)
        if k.field is None:
            out.append(float(node))
        elif k.field == "mean":
            out.append(float(node.mean_value))
        else:
            out.append(float(getattr(node, "cv", 0.5)))
    return np.clip(np.array(out), [k.lo for k in knobs], [k.hi for k in knobs])


def knob_changes(knobs, x, base: Scenario | None = None) -> dict:
    """Scenario overrides for knob values ``x`` (distribution fields grouped into one distribution). A knob on
    one field of a distribution keeps the other fields ``base`` gives it (a mean fitted, the cv kept)."""
    changes: dict = {}
    for k, v in zip(knobs, x):
        if k.field is None:
            changes[k.path] = round(float(v), 3)
        else:
            if k.path not in changes:
                changes[k.path] = {"dist": k.family}
                node = _node(base, k.path) if base is not None else None
                if getattr(node, "dist", None) == k.family:
                    changes[k.path] = node.model_dump()
            changes[k.path][k.field] = round(float(v), 4)
    return changes


# --- closed-form steps --------------------------------------------------------------------------------------


def routine_referral_rates() -> dict:
    """Routine referrals a week per 70,000 from the published lists (Little's law; see module docstring)."""
    f = routine_figures()
    cp = f[("routine_waiting_mean", "community_paediatrics")] / f[("routine_wait_mean_weeks", "community_paediatrics")]
    slt = f[("routine_waiting_within_18w_pct", "slt")] / 100 * f[("routine_waiting_mean", "slt")] / 18.0
    return {"services.community_paediatrics.routine_referrals_per_week_per_70k": round(float(cp), 2),
            "services.slt.routine_referrals_per_week_per_70k": round(float(slt), 2)}


def _mean_missed(p: float, cap: int = 10) -> float:
    return sum(p**k for k in range(1, cap + 1))


def hours_per_pa_week(sc: Scenario, service: str, replications: int = 4) -> float:
    """Clinician hours a PA a week actually gives over the measured window (after leave and bank holidays)."""
    end = end_day(sc)
    lo, hi = sc.simulation.warm_up_days, end
    weeks = (hi - lo) / 7.0
    pas = sc.service_pas_per_week(service)
    tot = 0.0
    for r in range(replications):
        for s in build_sessions(sc, service, 0, r, end):
            m = (s.start >= lo) & (s.start < hi)
            tot += float(((s.end[m] - s.start[m]) * 24.0).sum())
    return tot / replications / weeks / pas if pas > 0 else HOURS_PER_PA


def _mean_excess(a, b, n: int = 801) -> float:
    """E[max(A - B, 0)] for independent draws of distributions ``a`` and ``b`` (midpoint quantile grid)."""
    u = (np.arange(n) + 0.5) / n
    return float(np.maximum(from_uniform(a, u)[:, None] - from_uniform(b, u)[None, :], 0.0).mean())


def _assessment_hours(svc) -> float:
    """Expected clinician hours of assessing one child not known: the full assessment with its missed
    appointments, or (initial advice on) the initial advice then the rest as the fuller assessment."""
    a, missed = svc.advice, _mean_missed(svc.p_missed_appointment)
    if a.initial_advice is None:
        return a.assessment_hours.mean_value * (1 + missed)
    ini = a.initial_advice.hours
    return ini.mean_value + _mean_excess(a.assessment_hours, ini) * (1 + missed)


def ehc_hours_per_week(sc: Scenario, service: str) -> float:
    """Expected EHC hours a week a service gets (per 70,000 children): its advice (records, records check,
    Annex A's written replies, the assessment or initial advice and fuller assessment, missed appointments),
    misrouted requests it passes on, tribunal responses and hearings, continuing care.

    Conservation of work, so the scenario's own mechanisms must all be counted here: a mechanism left out
    leaves a fitted list drifting (``tests/calibration/test_closed_form.py`` checks this against the engine).
    """
    svc, e = sc.services[service], sc.ehc
    if e is None:
        return 0.0
    if e.ages.enabled and any(x.advice is not None and x.advice.ages is not None for x in sc.services.values()):
        raise ValueError("the closed-form EHC hours do not handle advice.ages (advice for some ages only)")
    if e.reviews.enabled and e.reviews.health_input:
        raise ValueError("the closed-form EHC hours do not handle annual reviews' health input")
    assessed = e.requests_per_year_per_70k / (365.25 / 7) * e.request_outcomes["assessed"]
    triaged = e.triage.enabled
    hours = 0.0
    a = svc.advice
    if a is not None:
        triaged_here = triaged and svc.kind == "health"
        not_known = (0.0 if triaged_here else a.records_check_hours.mean_value)
        x = a.annex_a
        if x is None:
            not_known += _assessment_hours(svc)
        else:
            replied = x.p_not_known_no_need + x.p_redirect + x.p_plan_action
            not_known += replied * x.reply_hours.mean_value + (1 - replied) * _assessment_hours(svc)
        per_request = a.p_known * a.records_advice_hours.mean_value + (1 - a.p_known) * not_known
        hours += assessed * a.p_requested * per_request
        t = e.tribunals
        if t.enabled and svc.kind == "health":
            each = t.response_hours.mean_value + t.p_hearing * t.hearing_hours.mean_value
            hours += assessed * e.p_plan_after_assessment * a.p_requested * appeal_rate(t) * each
    if e.misroute_hours is not None and not triaged and svc.kind == "health":
        # a request misrouted from another health service lands on the next one in the scenario's order,
        # request by request (engine: Model.wrong_service): an equal share on each of the others
        health = [s for s, x in sc.services.items() if x.advice is not None and x.kind == "health"]
        if service in health and len(health) > 1:
            for s in health:
                if s != service:
                    o = sc.services[s].advice
                    hours += assessed * o.p_requested * o.p_misrouted * e.misroute_hours.mean_value / (len(health) - 1)
    cc = e.continuing_care
    if cc.enabled and cc.service == service:
        hours += assessed * cc.p_referral * (cc.assessment_hours.mean_value + cc.review_hours.mean_value)
    return hours


def routine_hours_per_week(sc: Scenario, service: str) -> float:
    """Expected routine appointment hours a week (per 70,000) for a list that stays at its starting size.

    Where children leave the list unseen (``routine_removal_per_week``), a steady list of L children loses
    theta x L of them a week, so only the rest of the referrals need an appointment (L: the starting backlog).
    """
    svc = sc.services[service]
    if svc.routine_referrals_per_week_per_70k <= 0:
        return 0.0
    missed = _mean_missed(svc.p_missed_appointment)
    listed = sum(b.n_per_70k for b in svc.backlog)
    seen = max(svc.routine_referrals_per_week_per_70k - svc.routine_removal_per_week * listed, 0.0)
    return seen * svc.routine_appointment_hours.mean_value * (1 + missed)


def steady_capacity(sc: Scenario) -> dict:
    """PAs a week for each health service with routine referrals so that its list is steady (work in = out)."""
    out = {}
    for s, svc in sc.services.items():
        if svc.kind != "health" or svc.routine_referrals_per_week_per_70k <= 0:
            continue
        if any(s in p.services for p in sc.pools.values()):
            raise ValueError(f"steady_capacity does not handle pooled services ({s})")
        need = routine_hours_per_week(sc, s) + ehc_hours_per_week(sc, s)
        out[f"services.{s}.pas_per_week"] = round(float(need / hours_per_pa_week(sc, s)), 2)
    return out


#: Services with no routine list whose capacity is set for a stable queue rather than fitted (see docs).
LA_SIDE = ("la_casework", "educational_psychology", "social_care")
#: Their utilisation: busy, but below the ~85-90% above which queues grow fast and results turn on chance.
LA_SIDE_UTILISATION = 0.85


def la_casework_hours_per_week(sc: Scenario) -> float:
    """Expected LA SEND casework hours a week: decisions on every request, drafting and finalising plans."""
    e = sc.ehc
    per_week = e.requests_per_year_per_70k / (365.25 / 7)
    plans = per_week * e.request_outcomes["assessed"] * e.p_plan_after_assessment
    return per_week * e.decision_hours.mean_value + plans * (e.draft_hours.mean_value + e.finalise_hours.mean_value)


#: Utilisation bounds for an area's LA-side services sized against a reference (:func:`stable_capacity`).
AREA_UTILISATION = (0.6, 0.92)


def _la_side_hours(sc: Scenario, service: str) -> float:
    return la_casework_hours_per_week(sc) if service == sc.ehc.la_service else ehc_hours_per_week(sc, service)


def stable_capacity(sc: Scenario, services=LA_SIDE, utilisation: float = LA_SIDE_UTILISATION,
                    reference: Scenario | None = None) -> dict:
    """PAs a week so that each service's expected work fills ``utilisation`` of the time its PAs give.

    With ``reference`` (the national baseline, for an area's local baseline), each service instead keeps the
    reference's margin against chance: the spare share of its PAs, ``1 - utilisation``, grows as one over the
    square root of the work it gets (square-root staffing: Halfin and Whitt 1981, "Heavy-traffic limits for
    queues with many exponential servers"). A year's requests vary by about their square root, so an LA with a
    quarter of the reference's work at the same 85% would be overloaded in many more of its replications (and its
    figures would turn on chance); at twice the reference's margin it is overloaded about as often.
    """
    out = {}
    for s in services:
        if s not in sc.services:
            continue
        u = la_side_utilisation(sc, s, utilisation, reference)
        out[f"services.{s}.pas_per_week"] = round(float(_la_side_hours(sc, s) / u / hours_per_pa_week(sc, s)), 2)
    return out


def la_side_utilisation(sc: Scenario, service: str, utilisation: float = LA_SIDE_UTILISATION,
                        reference: Scenario | None = None) -> float:
    """The utilisation :func:`stable_capacity` sizes an LA-side service for (``utilisation`` without a reference)."""
    need = _la_side_hours(sc, service) * sc.scale
    if reference is None or service not in reference.services or need <= 0:
        return utilisation
    ref = _la_side_hours(reference, service) * reference.scale
    lo, hi = AREA_UTILISATION
    return min(max(1.0 - (1.0 - utilisation) * math.sqrt(ref / need), lo), hi)


# --- simulation-based least squares -------------------------------------------------------------------------


class Objective:
    """Residuals (model - target) / tolerance for knob values, each evaluation on the same replications (CRN)."""

    def __init__(self, scenario: Scenario, knobs, kpis, replications: int, seed: int, workers: int, log=print,
                 target_table=None):
        self.sc, self.knobs, self.kpis = scenario, tuple(knobs), tuple(kpis)
        self.reps, self.seed, self.workers, self.log = replications, seed, workers, log
        t = (targets(BASE_YEAR) if target_table is None else target_table).set_index("kpi")
        self.target = np.array([t.loc[k, "target"] for k in self.kpis])
        self.tol = np.array([t.loc[k, "tolerance"] for k in self.kpis])
        self.good_enough = 0.25 * len(self.kpis)  # mean squared residual of a quarter tolerance
        self.cache: dict[tuple, np.ndarray] = {}
        self.history: list[tuple[np.ndarray, np.ndarray]] = []

    def model(self, x) -> np.ndarray:
        from sendmodel.analysis.experiment import run

        key = tuple(np.round(x, 6))
        if key not in self.cache:
            t0 = time.time()
            sc = self.sc.override(knob_changes(self.knobs, x, self.sc))
            summ = run(sc, self.reps, self.seed, workers=self.workers, keep_events=False).summary()
            m = summ[summ["service"] == "all"].set_index("kpi")["mean"]
            self.cache[key] = np.array([m.get(k, np.nan) for k in self.kpis])
            z = (self.cache[key] - self.target) / self.tol
            self.history.append((np.array(x), z))
            self.log(f"  [{len(self.history):3d}] {_fmt(self.knobs, x)} -> "
                     + " ".join(f"{k.split('_pct')[0][:18]}={v:.2f}" for k, v in zip(self.kpis, self.cache[key]))
                     + f"  sum z^2={float(np.sum(z ** 2)):.2f} ({time.time() - t0:.0f}s)")
        return self.cache[key]

    def residuals(self, x) -> np.ndarray:
        r = np.nan_to_num((self.model(x) - self.target) / self.tol, nan=10.0)
        if float(np.sum(r**2)) <= self.good_enough:
            raise _GoodEnough
        return r


class _GoodEnough(Exception):
    """Every target is well inside its tolerance: further steps would only chase simulation noise."""


def _fmt(knobs, x) -> str:
    return ", ".join(f"{k.name.split('.')[-2] if k.field else k.path.split('.')[-2]}"
                     f"{'.' + k.field if k.field else ''}={v:.3g}" for k, v in zip(knobs, x))


def fit_stage(sc: Scenario, knobs, kpis, replications: int, seed: int, workers: int, max_evals: int, log=print,
              target_table=None):
    """Least squares over ``knobs`` for ``kpis`` (targets: England's for the calibration year, or
    ``target_table``, with columns kpi, target, tolerance); returns (fitted scenario, changes, how it ended)."""
    obj = Objective(sc, knobs, kpis, replications, seed, workers, log, target_table)
    x0 = knob_values(knobs, sc)
    lo, hi = np.array([k.lo for k in knobs]), np.array([k.hi for k in knobs])
    try:
        res = optimize.least_squares(obj.residuals, x0, bounds=(lo, hi), method="trf", diff_step=0.05,
                                     x_scale=np.maximum(np.abs(x0), 1e-3), max_nfev=max_evals, xtol=1e-3, ftol=1e-3)
        message = res.message
    except _GoodEnough:
        message = f"every target within a quarter of its tolerance on average (sum z^2 <= {obj.good_enough:g})"
    # The point evaluated whose worst target is closest (in tolerances): the model cannot match every target at
    # once (its spread of weeks to issue is narrower than the national one), so keep each inside with the most
    # margin rather than trade one far outside for several near zero.
    best = min(obj.history, key=lambda h: (float(np.max(np.abs(h[1]))), float(np.sum(h[1] ** 2))))[0]
    changes = knob_changes(knobs, best, sc)
    return sc.override(changes), changes, message


def calibrate(scenario: Scenario, replications: int = 16, seed: int = 7, workers: int = 1, max_evals: int = 24,
              log=print) -> tuple[Scenario, dict]:
    """Run the whole calibration from ``scenario``; returns (calibrated scenario, changes by dotted path)."""
    sc = scenario_for_year(scenario, BASE_YEAR)
    changes: dict = {}

    def apply(step: dict, what: str):
        nonlocal sc
        log(f"{what}: {step}")
        changes.update(step)
        sc = sc.override(step)

    apply(routine_referral_rates(), "1. routine referrals from the published lists (Little's law)")
    apply(steady_capacity(sc), "2. health-service PAs for steady routine lists (work in = work out)")
    apply(stable_capacity(sc), f"3. LA-side PAs at {LA_SIDE_UTILISATION:.0%} utilisation")
    stages = [("4a", DECISION_KNOBS, DECISION_TARGETS, max_evals), ("4b", PLAN_KNOBS, PLAN_TARGETS, max_evals),
              ("4c", DECISION_KNOBS, DECISION_TARGETS, max(6, max_evals // 3))]
    if sc.ehc.not_to_issue_lag_days is not None:
        stages.append(("4d", NOT_TO_ISSUE_KNOBS, NOT_TO_ISSUE_TARGETS, max(6, max_evals // 2)))
    for tag, knobs, kpis, n in stages:
        log(f"{tag}. least squares on {[k.name for k in knobs]} for {list(kpis)}")
        sc, step, message = fit_stage(sc, knobs, kpis, replications, seed, workers, n, log)
        log(f"    -> {step} ({message})")
        changes.update(step)
    # a list's level is a random walk at steady capacity: estimate the shortfall on more replications
    apply(initial_lists(sc, 3 * replications, seed, workers), "5. initial waiting lists so the 2024 lists match")
    return sc, changes


def initial_lists(sc: Scenario, replications: int, seed: int, workers: int) -> dict:
    """Backlogs of the services with a published list, scaled so that the 2024 mean list matches it.

    With steady capacity a list keeps its level on average, except that the run starts with no EHC work in
    progress: for the first weeks the EHC-first services see their routine list instead and it drops. The
    initial list (an initial condition, not a published figure) is raised by what the measured list falls short.
    """
    from sendmodel.analysis.experiment import run

    summ = run(sc, replications, seed, workers=workers, keep_events=False).summary()
    got = summ[summ["kpi"] == "routine_waiting_mean"].set_index("service")["mean"]
    out = {}
    for (kpi, s), target in routine_figures().items():
        if kpi != "routine_waiting_mean" or s not in sc.services or not sc.services[s].backlog:
            continue
        bands = sc.services[s].backlog
        total = sum(b.n_per_70k for b in bands)
        factor = max(0.0, (total + float(target) - float(got[s])) / total)
        out[f"services.{s}.backlog"] = [{"n_per_70k": round(float(b.n_per_70k * factor), 1),
                                         "age_weeks": list(b.age_weeks)}
                                        for b in bands]
    return out


__all__ = ["Knob", "calibrate", "initial_lists", "la_side_utilisation", "routine_referral_rates", "stable_capacity",
           "steady_capacity", "SOURCE", "SOURCE_NHS"]
