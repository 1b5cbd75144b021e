"""KPI codes -> display labels and units (the one place they are defined)."""

KPI_LABELS = {
    "advice_within_6w_pct": "Advice returned within 6 weeks",
    "advice_turnaround_median_days": "Advice turnaround, median",
    "advice_turnaround_p90_days": "Advice turnaround, 90th percentile",
    "advice_requests": "Advice requests due in the period",
    "decisions_within_6w_pct": "LA decisions to assess within 6 weeks",
    "plans_within_20w_pct": "EHC plans issued within 20 weeks",
    "plan_weeks_mean": "Weeks from request to final plan, mean",
    "plans_issued_per_year": "EHC plans issued a year",
    "dmo_signoff_median_days": "DMO/DCO sign-off, median",
    "requests_open_end": "EHC requests open at the end",
    "requests_open_mean_age_weeks": "Age of open EHC requests, mean",
    "routine_wait_median_weeks": "Routine wait to first appointment, median",
    "routine_seen_within_target_pct": "Routine referrals seen within target (18 weeks)",
    "waiting_list_end": "Waiting list at the end",
    "utilisation": "Utilisation of PAs",
}

KPI_UNITS = {
    "advice_within_6w_pct": "%",
    "advice_turnaround_median_days": "days",
    "advice_turnaround_p90_days": "days",
    "advice_requests": "requests",
    "decisions_within_6w_pct": "%",
    "plans_within_20w_pct": "%",
    "plan_weeks_mean": "weeks",
    "plans_issued_per_year": "plans/year",
    "dmo_signoff_median_days": "days",
    "requests_open_end": "requests",
    "requests_open_mean_age_weeks": "weeks",
    "routine_wait_median_weeks": "weeks",
    "routine_seen_within_target_pct": "%",
    "waiting_list_end": "children",
    "utilisation": "fraction",
}


def label(kpi: str) -> str:
    """Display label for a KPI code (the code itself if unknown)."""
    return KPI_LABELS.get(kpi, kpi)
