"""Analysis: a run's records into KPIs, and KPIs into summaries with confidence intervals.

Measurement window: [warm_up_days, warm_up_days + horizon_days). Deadline KPIs use the *due-date cohort*: every
request whose 6-week (or 20-week) date falls in the window counts, and one still open at the end is late, never
on time. Advice turnaround and DMO/DCO sign-off times of requests still open at the end count with their age at
the end (a lower bound), so a service that never answers cannot look fast. Routine waits are those of children
*seen* in the window (as NHS waiting-time statistics report completed waits); children still waiting show in
``waiting_list_end`` and the waiting-list KPIs.

Advice and sign-off are measured twice. ``advice_within_6w_pct`` and ``dmo_signoff_median_days`` take the
requests that reached the stage (the LA asked for advice, the DMO/DCO's review): a service's own speed, but
survivors only, so a swamped LA that asks for little makes its services look quick. The *request cohort* KPIs
cannot flatter overload: ``advice_within_6w_of_la_request_pct`` takes every request that will be assessed and
needs the service's advice, due in the window had the LA decided by its 6-week deadline, and counts advice never
asked for or never returned by the end as not on time; ``dmo_signoff_from_request_median_weeks`` takes every
request that will need sign-off, its 20-week plan date in the window, from the request, those unsigned at the end
counting with their age then (at least 20 weeks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendmodel.analysis.costs import cost_kpis
from sendmodel.analysis.intervals import summarise_groups
from sendmodel.analysis.labels import KPI_UNITS
from sendmodel.engine.demand import AWAITING_DMO, BRANCHES
from sendmodel.engine.tasks import HEARING, REVIEW, REVIEW_INPUT, TRIBUNAL
from sendmodel.scenario.config import (
    ADVICE_DUE_DAYS,
    AGE_BANDS,
    CC_DECISION_DAYS,
    DECISION_DUE_DAYS,
    PLAN_DUE_DAYS,
    TRIBUNAL_RESPONSE_DAYS,
    Scenario,
)

ALL = "all"
NOT_TO_ISSUE_DUE_DAYS = 112.0  # decision not to issue a plan within 16 weeks of the request (SEND Regs 2014)


def _pct(x: np.ndarray) -> float:
    return float(100.0 * x.mean()) if x.size else float("nan")


def _q(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q)) if x.size else float("nan")


def _by(done: np.ndarray, end: float) -> np.ndarray:
    """Completion days as seen at ``end``: NaN (still open) for anything done later. A no-op at the run's end."""
    return np.where(done < end, done, np.nan)


def _waits(start: np.ndarray, done: np.ndarray, end: float) -> np.ndarray:
    """Time from start to done, or to the end of the run for those still open (a lower bound)."""
    return np.where(np.isnan(done), end - start, done - start)


def age_bands(age: np.ndarray) -> np.ndarray:
    """Index into :data:`AGE_BANDS` of each age in years (-1: no age)."""
    edges = np.array([hi for _, hi in AGE_BANDS])
    return np.where(age >= 0, np.searchsorted(edges, age, side="left"), -1)


def band_label(k: int) -> str:
    lo, hi = AGE_BANDS[k]
    return f"age {lo}-{hi}"


def age_band_kpis(e: dict, warm: float, end: float, advice_ok: np.ndarray, advice_band: np.ndarray
                  ) -> list[tuple[str, str, float]]:
    """Who is late, by age band (ages 0-25 on): requests a year, the share assessed, health advice within 6
    weeks (``advice_ok`` with each advice's band) and plans within 20 weeks, each band's row named 'age 0-4'."""
    rows = []
    arr, band = e["arrival_day"], age_bands(e["age"])
    per_year = 365.25 / (end - warm)
    made = (arr >= warm) & (arr < end)
    has_plan = (e["outcome"] == 0) & e["plan"]
    due = arr + PLAN_DUE_DAYS
    plan_c = has_plan & (due >= warm) & (due < end)
    on_time = (e["final_day"] - arr) <= PLAN_DUE_DAYS
    for k in range(len(AGE_BANDS)):
        b, name = band == k, band_label(k)
        rows.append(("requests_by_age_per_year", name, float((made & b).sum()) * per_year))
        rows.append(("requests_assessed_by_age_pct", name, _pct(e["outcome"][made & b] == 0)))
        rows.append(("advice_within_6w_by_age_pct", name, _pct(advice_ok[advice_band == k])))
        rows.append(("plans_within_20w_by_age_pct", name, _pct(on_time[plan_c & b])))
    return rows


def kpis_from_records(rec: dict, sc: Scenario, window: tuple[float, float] | None = None
                      ) -> list[tuple[str, str, float]]:
    """KPIs of one replication as (kpi, service, value) rows; units in :data:`sendmodel.labels.KPI_UNITS`.

    ``window`` (model days [from, to)) measures a part of the run, such as one year of several, as if the run
    ended at its end: cohorts are those due (or received, decided, issued) in the window, and whatever is still
    open at its end counts as open then. By default the window is the measured period after the warm-up.
    """
    warm, end = (sc.simulation.warm_up_days, rec["end_day"]) if window is None else window
    rows: list[tuple[str, str, float]] = []
    add = rows.append

    # --- health and other statutory advice ---------------------------------------------------------------------
    health = [s for s in rec["advice"] if sc.services[s].kind == "health"]
    e = rec["ehc"]
    all_ok, all_tt, all_nk, all_mis, all_owed = [], [], [], [], []
    by_age_ok, by_age_band, all_esc = [], [], []
    for s, a in rec["advice"].items():
        req, ret = a["requested_day"], a["returned_day"]
        due = req + ADVICE_DUE_DAYS
        cohort = ~np.isnan(req) & (due >= warm) & (due < end)
        ok = (ret[cohort] <= due[cohort]) & ~np.isnan(ret[cohort])
        tt = _waits(req[cohort], _by(ret[cohort], end), end)
        owed = _advice_cohort_on_time(a, e, warm, end)
        add(("advice_within_6w_pct", s, _pct(ok)))
        add(("advice_within_6w_of_la_request_pct", s, _pct(owed)))
        if "known" in a:  # who is late, not only how many: children the service knows, and those it does not
            known = a["known"][cohort]
            add(("advice_within_6w_known_pct", s, _pct(ok[known])))
            add(("advice_within_6w_not_known_pct", s, _pct(ok[~known])))
        add(("advice_turnaround_median_days", s, _q(tt, 0.5)))
        add(("advice_turnaround_p90_days", s, _q(tt, 0.9)))
        add(("advice_requests", s, float(cohort.sum())))
        if "fuller_done_day" in a:  # initial advice given: the fuller assessment, due on its own date
            rows += fuller_assessment_kpis(s, a, sc, warm, end)
        if "branch" in a:  # Annex A: how requests about children not known were answered (counted, not timed)
            nk = cohort & ~a["known"]
            for code, name in enumerate(BRANCHES):
                if code:
                    add((f"annex_a_{name}_pct", s, _pct(a["branch"][nk] == code)))
        if "escalated_day" in a:  # escalations to the DMO/DCO after this service's advice
            esc = a["escalated_day"]
            c = ~np.isnan(esc) & (esc >= warm) & (esc < end)
            add(("dmo_escalations_per_year", s, float(c.sum()) * 365.25 / (end - warm)))
            all_esc.append(_waits(esc[c], _by(a["escalation_done_day"][c], end), end))
        if s in health and "age" in e:  # who is late, by age band (ages 0-25)
            by_age_ok.append(ok)
            by_age_band.append(age_bands(e["age"][cohort]))
        if s in health:
            all_ok.append(ok)
            all_tt.append(tt)
            all_owed.append(owed)
            if "known" in a:  # the children an option targets: not known (reserved slots), misrouted (triage)
                all_nk.append(tt[~a["known"][cohort]])
                all_mis.append(tt[a["misrouted"][cohort]])
    ok = np.concatenate(all_ok) if all_ok else np.empty(0)
    tt = np.concatenate(all_tt) if all_tt else np.empty(0)
    add(("advice_within_6w_pct", ALL, _pct(ok)))
    add(("advice_within_6w_of_la_request_pct", ALL, _pct(np.concatenate(all_owed) if all_owed else ok[:0])))
    add(("advice_turnaround_median_days", ALL, _q(tt, 0.5)))
    add(("advice_turnaround_p90_days", ALL, _q(tt, 0.9)))
    add(("advice_requests", ALL, float(ok.size)))
    add(("advice_within_6w_per_year", ALL, float(ok.sum()) * 365.25 / (end - warm)))
    add(("advice_not_known_turnaround_median_days", ALL, _q(np.concatenate(all_nk) if all_nk else tt[:0], 0.5)))
    add(("advice_misrouted_turnaround_median_days", ALL, _q(np.concatenate(all_mis) if all_mis else tt[:0], 0.5)))
    if all_esc:
        waits = np.concatenate(all_esc)
        add(("dmo_escalations_per_year", ALL, float(waits.size) * 365.25 / (end - warm)))
        add(("dmo_escalation_median_days", ALL, _q(waits, 0.5)))

    # --- the EHC pathway ---------------------------------------------------------------------------------------
    if sc.ehc is not None and "arrival_day" in e:
        arr = e["arrival_day"]
        due = arr + DECISION_DUE_DAYS
        c = (due >= warm) & (due < end)
        add(("decisions_within_6w_pct", ALL, _pct((e["decision_day"][c] - arr[c]) <= DECISION_DUE_DAYS)))
        has_plan = (e["outcome"] == 0) & e["plan"]
        due = arr + PLAN_DUE_DAYS
        c = has_plan & (due >= warm) & (due < end)
        add(("plans_within_20w_pct", ALL, _pct((e["final_day"][c] - arr[c]) <= PLAN_DUE_DAYS)))
        fin = e["final_day"]
        issued = ~np.isnan(fin) & (fin >= warm) & (fin < end)
        weeks = (fin[issued] - arr[issued]) / 7.0
        add(("plan_weeks_mean", ALL, float(weeks.mean()) if weeks.size else float("nan")))
        add(("plans_issued_per_year", ALL, float(issued.sum()) * 365.25 / (end - warm)))
        dreq = e["dmo_requested_day"]
        c = ~np.isnan(dreq) & (dreq >= warm) & (dreq < end)
        add(("dmo_signoff_median_days", ALL, _q(_waits(dreq[c], _by(e["dmo_signoff_day"][c], end), end), 0.5)))
        add(("dmo_signoff_from_request_median_weeks", ALL, _q(_signoff_cohort_weeks(rec, warm, end), 0.5)))
        open_ = (arr < end) & np.isnan(_by(e["closed_day"], end))
        add(("requests_open_end", ALL, float(open_.sum())))
        add(("requests_open_mean_age_weeks", ALL, float((end - arr[open_]).mean() / 7) if open_.any() else 0.0))
        rows += sen2_style_kpis(e, warm, end)
        if "age" in e:
            ok_age = np.concatenate(by_age_ok) if by_age_ok else np.empty(0, bool)
            band_age = np.concatenate(by_age_band) if by_age_band else np.empty(0, np.int64)
            rows += age_band_kpis(e, warm, end, ok_age, band_age)
    if "plans" in rec:
        rows += plan_kpis(rec, warm, end)
    if "tribunals" in rec:
        rows += tribunal_kpis(rec, warm, end)
    if "continuing_care" in rec:
        cc = rec["continuing_care"]
        ref, dec = cc["referred_day"], cc["decided_day"]
        due = ref + CC_DECISION_DAYS
        c = ~np.isnan(ref) & (due >= warm) & (due < end)
        d = _by(dec[c], end)
        add(("cc_decisions_within_28d_pct", ALL, _pct(~np.isnan(d) & (d <= due[c]))))
        add(("cc_referrals_per_year", ALL, float(((ref >= warm) & (ref < end)).sum()) * 365.25 / (end - warm)))

    # --- routine waits, waiting lists, utilisation -------------------------------------------------------------
    per_year = 365.25 / (end - warm)
    weeks_all = breaches_all = 0.0  # over the health services: what an option displaces on the routine lists
    for s, svc_rec in rec["services"].items():
        wl = 0.0
        if s in rec["routine"]:
            arr = rec["routine_arrival"][s]
            seen = rec["routine"][s]["seen_day"]
            c = ~np.isnan(seen) & (seen >= warm) & (seen < end)
            w = (seen[c] - arr[c]) / 7.0
            add(("routine_wait_median_weeks", s, _q(w, 0.5)))
            target = sc.services[s].routine_target_weeks
            add(("routine_seen_within_target_pct", s, _pct(w <= target)))
            left = routine_left_day(rec, s)
            lists = routine_list_kpis(s, arr, left, w, warm, end)
            removed = rec["routine"][s].get("removed_day")
            if removed is not None:  # children who left the list unseen (routine_removal_per_week)
                gone = (removed >= warm) & (removed < end)
                off = (left >= warm) & (left < end)
                add(("routine_removed_per_year", s, float(gone.sum()) * per_year))
                add(("routine_removed_pct", s, _pct(gone[off])))
            rows += lists
            # child-weeks of routine waiting a year (mean list x weeks a year) and children seen after the target
            waiting = next(v for k, _, v in lists if k == "routine_waiting_mean")
            weeks, breaches = (0.0 if np.isnan(waiting) else waiting * 365.25 / 7.0), float((w > target).sum())
            add(("routine_waiting_weeks_per_year", s, weeks))
            add(("routine_breaches_per_year", s, breaches * per_year))
            if sc.services[s].kind == "health":
                weeks_all += weeks
                breaches_all += breaches * per_year
            wl += float((np.isnan(_by(left, end)) & (arr < end)).sum())
        if s in rec["advice"]:
            a = rec["advice"][s]
            req = a["requested_day"]
            wl += float((~np.isnan(req) & (req < end) & np.isnan(_by(a["returned_day"], end))).sum())
        add(("waiting_list_end", s, wl))
        lo, hi = int(np.floor(warm)), int(np.ceil(end))
        avail = svc_rec["available_hours_by_day"][lo:hi].sum()
        busy = svc_rec["busy_hours_by_day"][lo:hi].sum()
        add(("utilisation", s, float(busy / avail) if avail > 0 else float("nan")))
    if any(sc.services[s].kind == "health" for s in rec["routine"]):
        add(("routine_waiting_weeks_per_year", ALL, weeks_all))
        add(("routine_breaches_per_year", ALL, breaches_all))
    rows += cost_kpis(sc, None if window is None else (warm, end))
    return rows


def _advice_cohort_on_time(a: dict, e: dict, warm: float, end: float) -> np.ndarray:
    """Of the requests the LA will assess that are owed this service's advice, those due in the window had the
    LA decided by its deadline (request + 6 + 6 weeks): advice returned within 6 weeks of the LA's request for it,
    by the end. Never asked for, or not back by the end, is not on time."""
    if "owed" not in a:  # a scenario without EHC requests
        return np.zeros(0, bool)
    due = e["arrival_day"] + DECISION_DUE_DAYS + ADVICE_DUE_DAYS
    c = a["owed"] & (e["outcome"] == 0) & (due >= warm) & (due < end)
    req, ret = a["requested_day"][c], _by(a["returned_day"][c], end)
    return ~np.isnan(ret) & (ret - req <= ADVICE_DUE_DAYS)


def _signoff_cohort_weeks(rec: dict, warm: float, end: float) -> np.ndarray:
    """Weeks from request to DMO/DCO sign-off of every request that will need it (assessed, exceptional
    provision, not past the DMO/DCO at the start) whose 20-week plan date falls in the window; those not signed
    off by the end with their age then."""
    e = rec["ehc"]
    arr = e["arrival_day"]
    past = np.zeros(arr.size, bool)
    if "open_cases" in rec:  # an open case drafting or in consultation was signed off before the start
        stage = rec["open_cases"]["stage"]
        past[: stage.size] = stage > AWAITING_DMO
    due = arr + PLAN_DUE_DAYS
    c = e["exceptional"] & (e["outcome"] == 0) & ~past & (due >= warm) & (due < end)
    return _waits(arr[c], _by(e["dmo_signoff_day"][c], end), end) / 7.0


def sen2_style_kpis(e: dict, warm: float, end: float) -> list[tuple[str, str, float]]:
    """EHC KPIs defined as DfE's SEN2 statistics define them, so the model can be calibrated against them.

    Calendar-year conventions: requests *received* in the window and their status at its end (decided to assess,
    refused, still undecided); LA decisions *made* in the window; assessments *completed* in the window (plan
    issued or decided not to issue) and plans *issued* in the window, by weeks from request to final plan
    (within 20, over 20 up to 52, over 52). The model has no statutory exceptions, so it compares with DfE's
    figures excluding exceptions.
    """
    arr, dec, out, fin = e["arrival_day"], e["decision_day"], e["outcome"], e["final_day"]
    rows = []
    add = rows.append
    got = (arr >= warm) & (arr < end)
    decided = ~np.isnan(dec) & (dec < end)
    add(("requests_per_year", ALL, float(got.sum()) * 365.25 / (end - warm)))
    add(("requests_assessed_pct", ALL, _pct((out[got] == 0) & decided[got])))
    add(("requests_refused_pct", ALL, _pct((out[got] == 1) & decided[got])))
    add(("requests_undecided_pct", ALL, _pct(~decided[got])))
    made = ~np.isnan(dec) & (dec >= warm) & (dec < end)
    add(("decisions_made_within_6w_pct", ALL, _pct((dec[made] - arr[made]) <= DECISION_DUE_DAYS)))
    closed = e["closed_day"]
    done = (out == 0) & ~np.isnan(closed) & (closed >= warm) & (closed < end)
    add(("assessments_plan_pct", ALL, _pct(e["plan"][done])))
    no_plan = done & ~e["plan"]
    add(("not_to_issue_within_16w_pct", ALL, _pct((closed[no_plan] - arr[no_plan]) <= NOT_TO_ISSUE_DUE_DAYS)))
    issued = ~np.isnan(fin) & (fin >= warm) & (fin < end)
    days = fin[issued] - arr[issued]
    add(("plans_issued_within_20w_pct", ALL, _pct(days <= PLAN_DUE_DAYS)))
    add(("plans_issued_20_to_52w_pct", ALL, _pct((days > PLAN_DUE_DAYS) & (days <= 364.0))))
    add(("plans_issued_over_52w_pct", ALL, _pct(days > 364.0)))
    return rows


def fuller_assessment_kpis(s: str, a: dict, sc: Scenario, warm: float, end: float) -> list:
    """Fuller assessments after initial advice: of those due in the window (children not known, due
    ``fuller_due_weeks`` after the LA's request), the share done by the due date, and the median days from the
    request (one still open at the end counts with its age then)."""
    weeks = sc.services[s].advice.initial_advice.fuller_due_weeks
    req, done = a["requested_day"], a["fuller_done_day"]
    due = req + weeks * 7.0
    nk = ~a["known"] if "known" in a else np.ones(req.size, bool)
    c = nk & ~np.isnan(req) & (due >= warm) & (due < end)
    d = _by(done[c], end)
    return [("fuller_assessment_within_due_pct", s, _pct(~np.isnan(d) & (d <= due[c]))),
            ("fuller_assessment_median_days", s, _q(_waits(req[c], d, end), 0.5))]


def tribunal_kpis(rec: dict, warm: float, end: float) -> list[tuple[str, str, float]]:
    """Appeals registered in the window (a year), and of the health responses due in it (5 weeks after the
    appeal), the share given by the due date; the hours responses and hearings took, by service."""
    t = rec["tribunals"]
    reg = t["registered_day"]
    rows = [("tribunal_appeals_per_year", ALL, float(((reg >= warm) & (reg < end)).sum()) * 365.25 / (end - warm))]
    due = reg + TRIBUNAL_RESPONSE_DAYS
    oks = []
    for s, done in t["response_day"].items():
        # the appeals of children this service gave advice for
        c = ~np.isnan(reg) & (due >= warm) & (due < end) & ~np.isnan(rec["advice"][s]["requested_day"])
        d = _by(done[c], end)
        ok = ~np.isnan(d) & (d <= due[c])
        oks.append(ok)
        rows.append(("tribunal_response_within_5w_pct", s, _pct(ok)))
        rows.append(("tribunal_hours_per_year", s, _hours_per_year(rec["services"][s], (TRIBUNAL, HEARING),
                                                                   warm, end)))
    rows.append(("tribunal_response_within_5w_pct", ALL, _pct(np.concatenate(oks) if oks else np.empty(0))))
    return rows


def plan_kpis(rec: dict, warm: float, end: float) -> list[tuple[str, str, float]]:
    """Plans in force and annual reviews: the caseload at the window's end, plans ceased in it, and the reviews
    due in it (on time when done by the due date; one not done by the window's end is late), with the clinician
    and LA hours that reviews took in the window, by service."""
    p, r = rec["plans"], rec["reviews"]
    start, ends = p["start_day"], p["end_day"]
    held = ~np.isnan(start)
    rows = [
        ("plans_in_force_end", ALL, float((held & (start < end) & (ends >= end)).sum())),
        ("plans_ceased_per_year", ALL, float((held & (ends >= warm) & (ends < end)).sum()) * 365.25 / (end - warm)),
    ]
    due = r["due_day"]
    c = (due >= warm) & (due < end)
    done = _by(r["completed_day"][c], end)
    rows.append(("reviews_due", ALL, float(c.sum())))
    rows.append(("reviews_within_12m_pct", ALL, _pct(~np.isnan(done) & (done <= due[c]))))
    for s, sv in rec["services"].items():
        if np.isin(sv["task_kind"], (REVIEW, REVIEW_INPUT)).any():
            rows.append(("review_hours_per_year", s, _hours_per_year(sv, (REVIEW, REVIEW_INPUT), warm, end)))
    return rows


def _hours_per_year(sv: dict, kinds: tuple[int, ...], warm: float, end: float) -> float:
    """Clinician hours a year of one service's tasks of ``kinds`` finished in the window [warm, end)."""
    fin = sv["task_finished"]
    mine = np.isin(sv["task_kind"], kinds) & (fin >= warm) & (fin < end)
    return float(sv["task_hours"][mine].sum()) * 365.25 / (end - warm)


def routine_left_day(rec: dict, service: str) -> np.ndarray:
    """When each routine referral left the list: seen, or left it unseen (NaN: still waiting at the end)."""
    r = rec["routine"][service]
    removed = r.get("removed_day")
    return r["seen_day"] if removed is None else np.fmin(r["seen_day"], removed)


def routine_list_kpis(s: str, arr: np.ndarray, seen: np.ndarray, w: np.ndarray, warm: float, end: float):
    """A service's routine waiting list as NHS community-health statistics describe it.

    Weekly snapshots over the measured window: children referred and not yet seen (mean count, and the share
    who have waited 18 weeks or less so far), and the change from the first to the last snapshot (a stable list
    changes little). ``w`` holds the waits in weeks of those seen in the window.
    """
    t = np.arange(warm, end, 7.0)
    seen_ = np.nan_to_num(seen, nan=np.inf)
    keep = (arr < end) & (seen_ >= warm)  # only referrals that wait at some time in the window
    arr, seen_ = arr[keep], seen_[keep]
    waiting = (arr[None, :] <= t[:, None]) & (seen_[None, :] > t[:, None])  # snapshots x referrals
    n = waiting.sum(axis=1)
    age = t[:, None] - arr[None, :]
    short = (waiting & (age <= 18 * 7.0)).sum()
    return [
        ("routine_wait_mean_weeks", s, float(w.mean()) if w.size else float("nan")),
        ("routine_waiting_mean", s, float(n.mean()) if n.size else float("nan")),
        ("routine_waiting_within_18w_pct", s, float(100.0 * short / n.sum()) if n.sum() else float("nan")),
        ("routine_waiting_change", s, float(n[-1] - n[0]) if n.size else float("nan")),
    ]


def time_average(t: np.ndarray, n: np.ndarray, start: float, end: float) -> float:
    """Time-average of a step function (value n[i] from t[i] on) over [start, end)."""
    edges = np.clip(np.append(t, end), start, end)
    return float(np.sum(n * np.diff(edges)) / (end - start))


def summarise(kpis: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mean, standard deviation and t-interval per (scenario, kpi, service) across replications."""
    keys = [c for c in ("scenario", "kpi", "service") if c in kpis.columns]
    out = summarise_groups(kpis.groupby(keys, sort=False)["value"], alpha)
    out["unit"] = out["kpi"].map(KPI_UNITS).fillna("")
    return out


def waiting_list_series(rec: dict, service: str, step_days: float = 7.0) -> tuple[np.ndarray, np.ndarray]:
    """Children waiting for a service (routine not yet seen plus advice not yet returned) at regular times."""
    end = rec["end_day"]
    t = np.arange(0.0, end + 1e-9, step_days)
    n = np.zeros_like(t)
    if service in rec["routine"]:
        arr = rec["routine_arrival"][service]
        seen = np.nan_to_num(routine_left_day(rec, service), nan=np.inf)
        n += np.searchsorted(np.sort(arr), t, side="right") - np.searchsorted(np.sort(seen), t, side="right")
    if service in rec["advice"]:
        a = rec["advice"][service]
        req = a["requested_day"][~np.isnan(a["requested_day"])]
        ret = np.nan_to_num(a["returned_day"][~np.isnan(a["requested_day"])], nan=np.inf)
        n += np.searchsorted(np.sort(req), t, side="right") - np.searchsorted(np.sort(ret), t, side="right")
    return t, n
