"""KPI codes -> display labels and units (the one place they are defined)."""



PRECISION_KPI = "advice_within_6w_pct"  # the KPI whose CI half-width sets how many replications are enough

KPI_LABELS = {
    "advice_within_6w_pct": "Advice returned within 6 weeks",
    "advice_within_6w_of_la_request_pct": "Advice within 6 weeks of the LA's request, of all requests owed it",
    "advice_turnaround_median_days": "Advice turnaround, median",
    "advice_turnaround_p90_days": "Advice turnaround, 90th percentile",
    "advice_requests": "Advice requests due in the period",
    "decisions_within_6w_pct": "LA decisions to assess within 6 weeks",
    "plans_within_20w_pct": "EHC plans issued within 20 weeks",
    "plan_weeks_mean": "Weeks from request to final plan, mean",
    "plans_issued_per_year": "EHC plans issued a year",
    "dmo_signoff_median_days": "DMO/DCO sign-off, median",
    "dmo_signoff_from_request_median_weeks": "DMO/DCO sign-off from the request, median (all needing it)",
    "dmo_signoff_median_working_days": "DMO/DCO sign-off, median (working days)",
    "requests_open_end": "EHC requests open at the end",
    "requests_open_mean_age_weeks": "Age of open EHC requests, mean",
    "routine_wait_median_weeks": "Routine wait to first appointment, median",
    "routine_seen_within_target_pct": "Routine referrals seen within target (18 weeks)",
    "waiting_list_end": "Waiting list at the end",
    "utilisation": "Utilisation of PAs",
    "requests_per_year": "EHC needs assessment requests a year",
    "requests_by_age_per_year": "EHC requests a year, by age band",
    "dmo_escalations_per_year": "Escalations to the DMO/DCO during evidence gathering, a year",
    "dmo_escalation_median_days": "Escalation to the DMO/DCO until provision is arranged, median",
    "requests_assessed_by_age_pct": "Requests the LA decided to assess, by age band",
    "advice_within_6w_by_age_pct": "Health advice within 6 weeks, by age band",
    "plans_within_20w_by_age_pct": "EHC plans within 20 weeks, by age band",
    "requests_assessed_pct": "Requests decided to assess (status at year end)",
    "requests_refused_pct": "Requests refused (status at year end)",
    "requests_undecided_pct": "Requests still undecided at year end",
    "decisions_made_within_6w_pct": "LA decisions made in the year within 6 weeks (DfE)",
    "assessments_plan_pct": "Assessments completed that ended in a plan",
    "not_to_issue_within_16w_pct": "Decisions not to issue a plan within 16 weeks",
    "plans_issued_within_20w_pct": "Plans issued in the year within 20 weeks (DfE)",
    "plans_issued_20_to_52w_pct": "Plans issued in the year after 20 to 52 weeks",
    "plans_issued_over_52w_pct": "Plans issued in the year after more than 52 weeks",
    "routine_wait_mean_weeks": "Routine wait to first appointment, mean",
    "routine_waiting_mean": "Routine waiting list, mean over the year",
    "routine_waiting_within_18w_pct": "Routine waiting list: share waiting 18 weeks or less",
    "routine_waiting_change": "Routine waiting list: change over the year",
    "advice_within_6w_per_year": "Health advice returned within 6 weeks, a year",
    "advice_not_known_turnaround_median_days": "Advice turnaround, children not known, median",
    "advice_misrouted_turnaround_median_days": "Advice turnaround, requests first sent to the wrong service, median",
    "cost_total_gbp": "Cost a year (PAs, plus set-up spread over the amortisation years)",
    "cost_gbp": "Cost a year by responsible commissioner",
    "cost_funded_gbp": "Cost a year by funder (joint costs split)",
    "cost_setup_once_gbp": "One-off set-up costs",
    "cost_per_extra_advice_within_6w_gbp": "Cost per extra health advice within 6 weeks",
    "fuller_assessment_within_due_pct": "Fuller assessments after initial advice done by their due date",
    "fuller_assessment_median_days": "Fuller assessment after initial advice, median days from the request",
    "tribunal_appeals_per_year": "Appeals to the SEND Tribunal a year",
    "tribunal_response_within_5w_pct": "Health responses to appeals within 5 weeks",
    "tribunal_hours_per_year": "Hours a year on appeals (responses and hearings)",
    "annex_a_more_information_pct": "Requests about children not known: LA asked for more information",
    "annex_a_not_known_no_need_pct": "Requests about children not known: not known and no need (written reply)",
    "annex_a_redirect_pct": "Requests about children not known: redirected to the professional involved",
    "annex_a_plan_action_pct": "Requests about children not known: assessment proposed as a plan action",
    "cc_decisions_within_28d_pct": "Continuing care decisions within 28 days of referral",
    "cc_referrals_per_year": "Continuing care referrals a year",
    "advice_within_6w_known_pct": "Advice within 6 weeks, children the service knows",
    "advice_within_6w_not_known_pct": "Advice within 6 weeks, children the service does not know",
    "routine_waiting_weeks_per_year": "Routine waiting, child-weeks a year",
    "routine_breaches_per_year": "Routine referrals seen after the 18-week target, a year",
    "routine_removed_per_year": "Routine referrals that left the list unseen, a year",
    "routine_removed_pct": "Routine referrals leaving the list in the year that left it unseen",
    "plans_in_force_end": "EHC plans in force at the end",
    "plans_ceased_per_year": "EHC plans ceased a year",
    "reviews_due": "Annual reviews due in the period",
    "reviews_within_12m_pct": "Annual reviews done within 12 months",
    "review_hours_per_year": "Hours a year on annual reviews",
}

KPI_UNITS = {
    "advice_within_6w_pct": "%",
    "advice_within_6w_of_la_request_pct": "%",
    "advice_turnaround_median_days": "days",
    "advice_turnaround_p90_days": "days",
    "advice_requests": "requests",
    "requests_by_age_per_year": "requests/year",
    "dmo_escalations_per_year": "requests/year",
    "dmo_escalation_median_days": "days",
    "requests_assessed_by_age_pct": "%",
    "advice_within_6w_by_age_pct": "%",
    "plans_within_20w_by_age_pct": "%",
    "decisions_within_6w_pct": "%",
    "plans_within_20w_pct": "%",
    "plan_weeks_mean": "weeks",
    "plans_issued_per_year": "plans/year",
    "dmo_signoff_median_days": "days",
    "dmo_signoff_from_request_median_weeks": "weeks",
    "dmo_signoff_median_working_days": "working days",
    "requests_open_end": "requests",
    "requests_open_mean_age_weeks": "weeks",
    "routine_wait_median_weeks": "weeks",
    "routine_seen_within_target_pct": "%",
    "waiting_list_end": "children",
    "utilisation": "fraction",
    "requests_per_year": "requests/year",
    "requests_assessed_pct": "%",
    "requests_refused_pct": "%",
    "requests_undecided_pct": "%",
    "decisions_made_within_6w_pct": "%",
    "assessments_plan_pct": "%",
    "not_to_issue_within_16w_pct": "%",
    "plans_issued_within_20w_pct": "%",
    "plans_issued_20_to_52w_pct": "%",
    "plans_issued_over_52w_pct": "%",
    "routine_wait_mean_weeks": "weeks",
    "routine_waiting_mean": "children",
    "routine_waiting_within_18w_pct": "%",
    "routine_waiting_change": "children",
    "advice_within_6w_per_year": "advices/year",
    "advice_not_known_turnaround_median_days": "days",
    "advice_misrouted_turnaround_median_days": "days",
    "cost_total_gbp": "GBP/year",
    "cost_gbp": "GBP/year",
    "cost_funded_gbp": "GBP/year",
    "cost_setup_once_gbp": "GBP",
    "cost_per_extra_advice_within_6w_gbp": "GBP/advice",
    "fuller_assessment_within_due_pct": "%",
    "fuller_assessment_median_days": "days",
    "tribunal_appeals_per_year": "appeals/year",
    "tribunal_response_within_5w_pct": "%",
    "tribunal_hours_per_year": "hours/year",
    "annex_a_more_information_pct": "%",
    "annex_a_not_known_no_need_pct": "%",
    "annex_a_redirect_pct": "%",
    "annex_a_plan_action_pct": "%",
    "cc_decisions_within_28d_pct": "%",
    "cc_referrals_per_year": "children/year",
    "advice_within_6w_known_pct": "%",
    "advice_within_6w_not_known_pct": "%",
    "routine_waiting_weeks_per_year": "child-weeks/year",
    "routine_breaches_per_year": "children/year",
    "routine_removed_per_year": "children/year",
    "routine_removed_pct": "%",
    "plans_in_force_end": "plans",
    "plans_ceased_per_year": "plans/year",
    "reviews_due": "reviews",
    "reviews_within_12m_pct": "%",
    "review_hours_per_year": "hours/year",
}

# Who the ``service`` column names in cost KPIs (commissioner or funder).
COMMISSIONER_LABELS = {
    "nhs": "NHS (ICB/CCG)",
    "la_education": "LA education",
    "la_social_care": "LA social care",
    "joint": "Joint (pooled budget)",
    "nhs_england": "NHS England",
    "la_public_health": "LA public health",
    "schools": "Schools",
}

# Words an option's file name abbreviates, written as a commissioner writes them.
_OPTION_WORDS = {"spa": "SPA", "dmo": "DMO/DCO", "dco": "DCO", "pas": "PAs", "2pa": "2 PAs", "ehc": "EHC",
                 "ot": "OT", "slt": "SLT", "camhs": "CAMHS", "la": "LA", "ep": "EP"}


def option_label(name: str) -> str:
    """An option as a person reads it, from its file or short name: 'options/spa_triage' -> 'SPA triage';
    a folder other than options/ is kept in brackets ('Reserved slots from september 2025 (from today
    options)'). Tables and CSV files keep the short name, which is what a user types."""
    folder, _, stem = str(name).rpartition("/")
    words = [_OPTION_WORDS.get(w.lower(), w) for w in stem.replace("-", "_").split("_") if w]
    text = " ".join(words)
    text = text[:1].upper() + text[1:] if text else str(name)
    return text if folder in ("", "options") else f"{text} ({folder.replace('_', ' ')})"


# Which way is better for each KPI (+1 higher, -1 lower); comparisons and plots use it.
KPI_BETTER = {
    "advice_within_6w_pct": 1,
    "advice_within_6w_of_la_request_pct": 1,
    "advice_within_6w_per_year": 1,
    "advice_turnaround_median_days": -1,
    "advice_turnaround_p90_days": -1,
    "advice_not_known_turnaround_median_days": -1,
    "advice_misrouted_turnaround_median_days": -1,
    "decisions_within_6w_pct": 1,
    "plans_within_20w_pct": 1,
    "plan_weeks_mean": -1,
    "dmo_signoff_median_days": -1,
    "dmo_signoff_from_request_median_weeks": -1,
    "dmo_signoff_median_working_days": -1,
    "requests_open_end": -1,
    "requests_open_mean_age_weeks": -1,
    "routine_wait_median_weeks": -1,
    "routine_seen_within_target_pct": 1,
    "waiting_list_end": -1,
    "cost_total_gbp": -1,
    "cost_gbp": -1,
    "cost_funded_gbp": -1,
    "cost_setup_once_gbp": -1,
    "cost_per_extra_advice_within_6w_gbp": -1,
    "reviews_within_12m_pct": 1,
    "routine_waiting_weeks_per_year": -1,
    "routine_breaches_per_year": -1,
    "fuller_assessment_within_due_pct": 1,
    "tribunal_response_within_5w_pct": 1,
    "cc_decisions_within_28d_pct": 1,
    "advice_within_6w_known_pct": 1,
    "advice_within_6w_by_age_pct": 1,
    "dmo_escalation_median_days": -1,
    "plans_within_20w_by_age_pct": 1,
    "advice_within_6w_not_known_pct": 1,
    "fuller_assessment_median_days": -1,
}


# Why a KPI shows no figure for a service, by the KPI's first word: (nothing of its kind in the period, so the
# value is NaN; the service takes no part in it, so there is no row).
_NO_FIGURE = {
    "advice": ("no EHC advice due in the period", "gives no EHC advice"),
    "routine": ("nobody seen in the period", "takes no routine referrals"),
    "dmo": ("no request needed DMO/DCO sign-off in the period", "signs off no provision"),
    "plans": ("no plan due in the period", "writes no plans"),
    "plan": ("no plan issued in the period", "writes no plans"),
    "decisions": ("no LA decision due in the period", "makes no LA decisions"),
    "utilisation": ("no PAs in the period", "has no PAs"),
    "not": ("no assessment ended without a plan in the period", "writes no plans"),
}


def no_figure(kpi: str, has_row: bool = True) -> str:
    """Why ``kpi`` has no figure for a service: its row is NaN (``has_row``), or the service has no row."""
    empty, absent = _NO_FIGURE.get(kpi.split("_")[0], ("nothing to measure in the period", "not measured here"))
    return empty if has_row else absent


def label(kpi: str) -> str:
    """Display label for a KPI code (the code itself if unknown)."""
    return KPI_LABELS.get(kpi, kpi)


_NON_NEGATIVE_UNITS = {"days", "weeks", "requests", "plans/year", "plans", "reviews", "hours/year", "appeals/year",
                       "child-weeks/year", "children/year", "requests/year", "advices/year", "GBP/year", "GBP"}


def ci_in_range(unit: str, low: float, high: float) -> tuple[float, float]:
    """A KPI's 95% CI cut to the values the KPI can take: shares within 0-100% (or 0-1), times, counts and
    costs not below 0. With few replications a t-interval can reach past those, which reads as nonsense."""
    if unit == "%":
        return max(low, 0.0), min(high, 100.0)
    if unit == "fraction":
        return max(low, 0.0), min(high, 1.0)
    if unit in _NON_NEGATIVE_UNITS:
        return max(low, 0.0), high
    return low, high
