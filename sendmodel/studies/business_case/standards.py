"""What a business case measures against: the BACD/BACCH standard, WTE, the default targets, lever names.

Kept apart from the case itself so that its documents (:mod:`.report`) and the case (:mod:`.case`) both build on
it without importing each other.
"""

from __future__ import annotations

from sendmodel.scenario.config import Scenario

BACD_PAS_PER_70K = 2.0
BACD_SOURCE = (
    "BACD/BACCH recommendation: 2 dedicated DMO/DCO PAs a week per 70,000 children 0-17, as stated in the "
    "Council for Disabled Children's handbook for Designated Medical and Clinical Officers (section 2 'Time and "
    "capacity'); the original BACD/BACCH paper was not found"
)
PAS_PER_WTE = 10.0
WTE_SOURCE = "NHS consultant contract: 1 PA = 4 hours; full-time = 10 PAs a week (the CDC DMO/DCO handbook)"
# Default targets. 90% of all health advice within 6 weeks is the headline ambition; per service the default is
# 80%, because in the baseline no service passes about 86-91% however many PAs it gets (booking lead times and
# misrouted requests push some advice past 6 weeks whatever the capacity; options such as triage and reserved
# slots address those), so a 90% per-service target would give "not reachable" for most services.
DEFAULT_HEALTH_PCT = 90.0
DEFAULT_ADVICE_PCT = 80.0
DEFAULT_DMO_WORKING_DAYS = 10.0
# Routine waits held beside each service's advice target, so a service whose EHC advice goes first is never
# "needed" at fewer PAs than today while its routine list grows: "today" holds the median routine wait at
# today's (plus one week, so the noise of today's own runs does not ask for more PAs); "18w" holds it at the
# NHS 18-week referral-to-treatment standard; "none" leaves routine waits out.
ROUTINE_KPI = "routine_wait_median_weeks"
ROUTINE_CHOICES = ("today", "18w", "none")
DEFAULT_ROUTINE = "today"
ROUTINE_STANDARD_WEEKS = 18.0
TODAY_TOLERANCE = 1.0  # in the KPI's own unit (weeks for routine waits)
# What a board must read beside the PAs (the workbook's summary sheet, the HTML report, the dashboard).
SCOPE = (
    "The model counts the statutory EHC work it simulates: for the DMO/DCO, review and sign-off of exceptional "
    "health provision (and its admin unless supported); for each health service, EHC advice and its routine "
    "list. The BACD/BACCH figure covers the whole DMO/DCO role (strategy, training, quality assurance, "
    "tribunals), so a model need below it is not an argument for fewer PAs than recommended."
)
NO_EXTRA_PAS = ("no extra PAs needed for the targets set; these PAs also serve routine work and the rest of the "
                "role, so today's PAs stay")
# KPIs shown for today, the plan and each option (besides the targets' own KPIs).
HEADLINE_KPIS = [
    ("advice_within_6w_pct", "all"),
    ("advice_within_6w_per_year", "all"),
    ("advice_turnaround_median_days", "all"),
    ("plans_within_20w_pct", "all"),
    ("dmo_signoff_median_days", "all"),
    ("dmo_signoff_median_working_days", "all"),
    ("cost_total_gbp", "all"),
    ("cost_funded_gbp", "nhs"),
    ("cost_funded_gbp", "la_education"),
    ("cost_funded_gbp", "la_social_care"),
]


def lever_label(sc: Scenario, lever: str, services: tuple[str, ...]) -> str:
    """A lever's name in tables: "DMO/DCO", "All health services", or the services' labels joined by "+"."""
    if lever == "dmo":
        return "DMO/DCO"
    if lever == "health":
        return f"All health services ({len(services)} scaled together)"
    return " + ".join(sc.services[s].label for s in services)


def prices_phrase(settings: dict) -> str:
    """Which year's prices the GBP figures are in, in words."""
    if settings.get("price_factor", 1.0) == 1.0:
        year = settings.get("price_year")
        return f"{year} prices (the scenario's unit costs)" if year else "the scenario's unit costs as given"
    return (f"{settings['cost_year']} prices: unit costs of {settings['price_year']} x "
            f"{settings['price_factor']:.4f} ({settings['pay_uplift_pct']:g}% pay uplift a year)")
