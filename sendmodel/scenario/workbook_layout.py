"""The layout of a scenario workbook: its sheets, their columns (or, on a key-value sheet, their rows), what each
means in a commissioner's words, its unit and what it may hold.

One table drives everything: the template writer (headers, widths, drop-down lists, the notes sheet), the reader
(which cell becomes which field of the scenario) and the error messages (``services!F7 (pas_per_week): 'lots'
is not a number; PAs a week, 0 to 2,000``). The meanings are the schema's own field descriptions
(:mod:`sendmodel.scenario.config`) where it has them.

A distribution is written in six columns beside each other, ``<field>_dist``, ``_mean``, ``_cv``, ``_low``,
``_mode``, ``_high``; each family uses only some of them (:data:`DIST_PARAMS`) and the others stay empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from sendmodel.scenario.config import (
    COMMISSIONERS,
    DIST_NAMES,
    FIRST_START,
    LAST_START,
    MAX_AGE_WEEKS,
    MAX_BACKLOG_PER_70K,
    MAX_CV,
    MAX_DIST_VALUE,
    MAX_HORIZON_DAYS_ALWAYS_OPEN,
    MAX_PAS_PER_70K,
    MAX_POPULATION,
    MAX_REQUESTS_PER_YEAR_PER_70K,
    MAX_ROUTINE_PER_WEEK_PER_70K,
    MAX_WARM_UP_DAYS,
    MIN_POPULATION,
    MORE_FUNDERS,
    Advice,
    BacklogBand,
    CapacityChange,
    Costs,
    Ehc,
    InitialAdvice,
    Pool,
    RecurringCost,
    Scenario,
    Service,
    SetupCost,
    Simulation,
    Triage,
)

# --- what a cell may hold ------------------------------------------------------------------------------------

TEXT, ID, NUMBER, SHARE, CHOICE, YESNO, DATE, SERVICE, SERVICE_LIST, DIST, PARAM = (
    "text", "id", "number", "share", "choice", "yesno", "date", "service", "services", "dist", "param")

# Which of the columns _mean, _cv, _low, _mode, _high each family uses, and the schema's name for each.
DIST_PARAMS: dict[str, dict[str, str]] = {
    "fixed": {"mean": "value"},
    "exponential": {"mean": "mean"},
    "lognormal": {"mean": "mean", "cv": "cv"},
    "gamma": {"mean": "mean", "cv": "cv"},
    "uniform": {"low": "low", "high": "high"},
    "triangular": {"low": "low", "mode": "mode", "high": "high"},
}
PARTS = ("mean", "cv", "low", "mode", "high")
assert set(DIST_PARAMS) == set(DIST_NAMES), "a distribution family the workbook cannot write"
DIST_HELP = ("fixed (the value in _mean), exponential (_mean), lognormal or gamma (_mean and _cv, the coefficient "
             "of variation: sd / mean), uniform (_low, _high), triangular (_low, _mode, _high); leave the other "
             "columns empty")

ALL_COMMISSIONERS = COMMISSIONERS + MORE_FUNDERS  # every commissioner a cost line may name


def _num(x: float) -> str:
    """A number as people write it: 2,000; 0.5; 1,000,000."""
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,g}"


def _kinds(model, field: str) -> tuple[str, ...]:
    """The values a Literal field takes (kind, discipline, calendar...)."""
    ann = model.model_fields[field].annotation
    args = get_args(ann)
    return tuple(a for a in (args or ()) if isinstance(a, str))


def describe(model, field: str) -> str:
    return model.model_fields[field].description or ""


@dataclass(frozen=True)
class Col:
    """A column of a table sheet, or a row of a key-value sheet.

    ``path`` is where the value goes, relative to the row's object (a service, the EHC pathway, the scenario);
    empty for a column that is not part of the scenario (notes, meanings). A distribution's columns share
    ``group`` (the field, e.g. ``records_advice_hours``) and say their ``part`` (dist, mean, cv, ...).
    """

    name: str
    kind: str
    path: str = ""
    meaning: str = ""
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the value must be more than ``low``, not equal to it
    choices: tuple[str, ...] = ()
    width: int = 14
    group: str = ""
    part: str = ""

    def allowed(self, services: tuple[str, ...] = ()) -> str:
        """What the cell may hold, as an error message ends: ``PAs a week, 0 to 2,000``."""
        if self.kind in (NUMBER, PARAM):
            lo = "" if self.low is None else ("more than " if self.low_open else "") + _num(self.low)
            rng = f"{lo} to {_num(self.high)}" if self.high is not None and lo else (
                f"at least {_num(self.low)}" if lo and not self.low_open else lo or "a number")
            return f"{self.unit}, {rng}" if self.unit else rng
        if self.kind == SHARE:
            return f"{self.unit or 'a share'}, 0 to 1 (e.g. 0.25, or 25%)"
        if self.kind in (CHOICE, DIST):
            return "one of: " + ", ".join(self.choices)
        if self.kind == YESNO:
            return "yes or no"
        if self.kind == DATE:
            return f"a date written YYYY-MM-DD (or DD/MM/YYYY), {FIRST_START} to {LAST_START}"
        if self.kind in (SERVICE, SERVICE_LIST):
            named = f" ({', '.join(services)})" if services else ""
            what = "a service" if self.kind == SERVICE else "services separated by commas"
            return f"{what} named in the first column of the services sheet{named}"
        if self.kind == ID:
            return "letters, digits and underscores, starting with a letter (e.g. dietetics)"
        return "text"


def dist_cols(group: str, path: str, unit: str, meaning: str, width: int = 9) -> list[Col]:
    """The six columns of one distribution field."""
    top = MAX_DIST_VALUE
    cols = [Col(f"{group}_dist", DIST, path, meaning, unit, choices=DIST_NAMES, width=12, group=group, part="dist")]
    cols.append(Col(f"{group}_mean", PARAM, path, meaning, unit, 0.0, top, width=width, group=group, part="mean"))
    cols.append(Col(f"{group}_cv", PARAM, path, meaning, "coefficient of variation (sd / mean)", 0.0, MAX_CV,
                    low_open=True, width=width, group=group, part="cv"))
    for part in ("low", "mode", "high"):
        cols.append(Col(f"{group}_{part}", PARAM, path, meaning, unit, 0.0, top, width=width, group=group, part=part))
    return cols


def param_rule(col: Col, family: str) -> Col:
    """The column's rule for one family: a mean of a exponential, log-normal or gamma is more than 0."""
    if col.part == "mean" and family != "fixed":
        return Col(col.name, col.kind, col.path, col.meaning, col.unit, 0.0, col.high, True, width=col.width,
                   group=col.group, part=col.part)
    return col


# --- the sheets ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """A sheet: ``table`` (a header row, then one row per service, band, change...) or ``keyvalue`` (columns
    field, value, meaning; one row per field)."""

    name: str
    layout: str  # "table" or "keyvalue"
    cols: tuple[Col, ...]
    purpose: str
    key: str = ""  # a table's first column, naming the row (service, pool, step) or "" (rows in order)
    freeze: str = "B2"

    def col(self, name: str) -> Col | None:
        for c in self.cols:
            if c.name == name:
                return c
        return None


PER_70K = "per 70,000 children"
NOTES_COL = Col("notes", TEXT, "", "your notes on this row (not read into the scenario)", width=30)

AREA = Sheet("area", "keyvalue", (
    Col("name", TEXT, "name", "short name of the scenario, used in tables and plots (e.g. your area's name)",
        width=30),
    Col("description", TEXT, "description", "what this scenario is: the area, the year, the commissioning "
        "option (free text)", width=60),
    Col("population", NUMBER, "population", describe(Scenario, "population"), "children aged 0-17",
        MIN_POPULATION, MAX_POPULATION),
    Col("start_date", DATE, "simulation.start_date", describe(Simulation, "start_date") + " (the measured year "
        "starts warm_up_days later)"),
    Col("warm_up_days", NUMBER, "simulation.warm_up_days", describe(Simulation, "warm_up_days") + " (lets the "
        "waiting lists and the EHC pathway fill up first)", "days", 0.0, MAX_WARM_UP_DAYS),
    Col("horizon_days", NUMBER, "simulation.horizon_days", describe(Simulation, "horizon_days"), "days", 0.0,
        MAX_HORIZON_DAYS_ALWAYS_OPEN, low_open=True),
    Col("calendar", CHOICE, "simulation.calendar", describe(Simulation, "calendar"),
        choices=_kinds(Simulation, "calendar")),
    Col("written_from", TEXT, "", "the scenario file this workbook was pre-filled from, relative to the workbook's "
        "folder (for reference only: the import writes a complete scenario that does not depend on it; a value "
        "you change from it is marked 'local data' in the sources)", width=40),
), "the area and the run: the scenario's name, children aged 0-17, the start date and how long to simulate")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
SHARE_OF = "share"
DEMAND = Sheet("demand", "keyvalue", (
    Col("requests_per_year_per_70k", NUMBER, "requests_per_year_per_70k", describe(Ehc, "requests_per_year_per_70k")
        + ", per 70,000 children aged 0-17", f"requests a year {PER_70K}", 0.0, MAX_REQUESTS_PER_YEAR_PER_70K),
    *(Col(f"request_outcomes_{k}", SHARE, f"request_outcomes.{k}", f"share of requests {what} (the three shares "
          "sum to 1)", "share of requests") for k, what in (
              ("assessed", "the LA agrees to assess"), ("refused", "the LA refuses to assess"),
              ("withdrawn", "withdrawn before a decision"))),
    Col("p_plan_after_assessment", SHARE, "p_plan_after_assessment", describe(Ehc, "p_plan_after_assessment"),
        "share of assessments"),
    Col("p_exceptional_provision", SHARE, "p_exceptional_provision", describe(Ehc, "p_exceptional_provision"),
        "share of assessments"),
    *(Col(f"monthly_profile_{m}", NUMBER, f"monthly_profile[{i}]", f"relative number of requests in "
          f"{m.capitalize()} (the twelve months are scaled to a mean of 1; e.g. 0.45 in August = less than half "
          "the average month)", "relative rate", 0.0, None) for i, m in enumerate(_MONTHS)),
    Col("family_consultation_days", NUMBER, "family_consultation_days", describe(Ehc, "family_consultation_days"),
        "days", 0.0, 365.0),
    Col("la_service", SERVICE, "la_service", describe(Ehc, "la_service") + "; a service of kind local_authority"),
    Col("dmo_service", SERVICE, "dmo_service", describe(Ehc, "dmo_service") + " (sign-off of exceptional health "
        "provision); a service of kind designated_officer"),
    Col("admin_support", YESNO, "admin_support", describe(Ehc, "admin_support") + " (no: the DMO/DCO does the "
        "admin)"),
    Col("admin_service", SERVICE, "admin_service", describe(Ehc, "admin_service") + "; a service of kind admin"),
    Col("triage_enabled", YESNO, "triage.enabled", "a single point of access triages health advice requests "
        "(no misrouting; known / not known settled at triage)"),
    Col("triage_service", SERVICE, "triage.service", describe(Triage, "service")),
    Col("triage_start", DATE, "triage.start", describe(Triage, "start")),
    Col("admin_support_from", DATE, "admin_support_from", describe(Ehc, "admin_support_from")),
    Col("dmo_signoff_plans_only", YESNO, "dmo_signoff_plans_only", describe(Ehc, "dmo_signoff_plans_only")),
    Col("dmo_other_work_share", SHARE, "dmo_other_work_share", describe(Ehc, "dmo_other_work_share"),
        "share of the DMO/DCO's sessions"),
    Col("growth_per_year", NUMBER, "growth_per_year", describe(Ehc, "growth_per_year"), "share a year", -0.5, 1.0),
), "the EHC needs-assessment pathway: requests a year, what happens to them, which services do the LA "
   "casework, the DMO/DCO sign-off and triage. Leave every value here and on ehc_times empty for a scenario "
   "with routine referrals only")

STEPS: dict[str, tuple[str, str]] = {  # step -> (field path in the EHC pathway, unit)
    "decision_lag_days": ("decision_lag_days", "days"),
    "decision_hours": ("decision_hours", "hours"),
    "draft_hours": ("draft_hours", "hours"),
    "finalise_hours": ("finalise_hours", "hours"),
    "dmo_review_hours": ("dmo_review_hours", "hours"),
    "dmo_admin_hours": ("dmo_admin_hours", "hours"),
    "misroute_delay_days": ("misroute_delay_days", "days"),
    "triage_hours": ("triage.hours", "hours"),
    "draft_lag_days": ("draft_lag_days", "days"),
    "not_to_issue_lag_days": ("not_to_issue_lag_days", "days"),
    "draft_deadline_weeks": ("draft_deadline_weeks", "weeks"),
}


def step_meaning(step: str) -> str:
    if step == "triage_hours":
        return describe(Triage, "hours")
    return describe(Ehc, STEPS[step][0])


EHC_TIMES = Sheet("ehc_times", "table", (
    Col("step", CHOICE, "", "the step of the EHC pathway (one row each; the unit is in its name)",
        choices=tuple(STEPS), width=22),
    *[Col(c.name.removeprefix("x_"), c.kind, "", "", c.unit, c.low, c.high, c.low_open, c.choices, c.width,
          "x", c.part) for c in dist_cols("x", "", "hours or days, as the step's name says", "")],
    Col("meaning", TEXT, "", "what the step is (not read into the scenario)", width=60),
), "how long each step of the EHC pathway takes, as a distribution: " + DIST_HELP, key="step")

_ADVICE = "EHC advice: "
SERVICES = Sheet("services", "table", (
    Col("service", ID, "", "the service's short name, used by the other sheets (letters, digits and "
        "underscores). Add a row to add a service; delete a row to remove one (and its rows on waiting_lists, "
        "capacity_changes and pools)", width=24),
    Col("label", TEXT, "label", describe(Service, "label"), width=28),
    Col("kind", CHOICE, "kind", "what the service is: health, education, social_care, local_authority (LA SEND "
        "casework), designated_officer (DMO/DCO), admin (DMO/DCO admin support), triage (single point of access)",
        choices=_kinds(Service, "kind"), width=16),
    Col("commissioner", CHOICE, "commissioner", describe(Service, "commissioner"), choices=ALL_COMMISSIONERS,
        width=15),
    Col("pas_per_week", NUMBER, "pas_per_week", describe(Service, "pas_per_week"), "PAs a week", 0.0,
        MAX_PAS_PER_70K, width=12),
    Col("capacity_basis", CHOICE, "capacity_basis", describe(Service, "capacity_basis"),
        choices=_kinds(Service, "capacity_basis"), width=12),
    Col("ring_fenced_pas_per_week", NUMBER, "ring_fenced_pas_per_week", describe(Service, "ring_fenced_pas_per_week")
        + " (short-notice slots)", "PAs a week", 0.0, MAX_PAS_PER_70K, width=12),
    Col("ring_fence_release_unused", YESNO, "ring_fence_release_unused",
        describe(Service, "ring_fence_release_unused"), width=10),
    Col("leave_weeks_per_year", NUMBER, "leave_weeks_per_year", describe(Service, "leave_weeks_per_year")
        + " (annual and study leave)", "weeks a year", 0.0, 52.0, width=10),
    Col("gbp_per_pa", NUMBER, "gbp_per_pa", describe(Service, "gbp_per_pa") + "; give this or gbp_per_hour",
        "GBP a PA", 0.0, 100_000.0, width=10),
    Col("gbp_per_hour", NUMBER, "gbp_per_hour", describe(Service, "gbp_per_hour") + "; give this or gbp_per_pa",
        "GBP an hour", 0.0, 25_000.0, width=10),
    Col("discipline", CHOICE, "discipline", describe(Service, "discipline"), choices=_kinds(Service, "discipline"),
        width=11),
    Col("routine_referrals_per_week_per_70k", NUMBER, "routine_referrals_per_week_per_70k",
        describe(Service, "routine_referrals_per_week_per_70k"), f"referrals a week {PER_70K}", 0.0,
        MAX_ROUTINE_PER_WEEK_PER_70K, width=12),
    Col("routine_removal_per_week", SHARE, "routine_removal_per_week", describe(Service, "routine_removal_per_week"),
        "share of the list a week", width=10),
    *dist_cols("routine_appointment_hours", "routine_appointment_hours", "hours",
               describe(Service, "routine_appointment_hours")),
    Col("routine_target_weeks", NUMBER, "routine_target_weeks", describe(Service, "routine_target_weeks"), "weeks",
        0.0, 520.0, low_open=True, width=10),
    Col("p_missed_appointment", SHARE, "p_missed_appointment", describe(Service, "p_missed_appointment"),
        "share of appointments", width=10),
    *dist_cols("rebook_delay_days", "rebook_delay_days", "days", describe(Service, "rebook_delay_days")),
    Col("p_requested", SHARE, "advice.p_requested", _ADVICE + describe(Advice, "p_requested") + " (leave every "
        "advice column empty for a service that gives no EHC advice)", "share of assessments", width=10),
    Col("p_known", SHARE, "advice.p_known", _ADVICE + describe(Advice, "p_known"), "share of advice requests",
        width=10),
    Col("p_misrouted", SHARE, "advice.p_misrouted", _ADVICE + describe(Advice, "p_misrouted"),
        "share of advice requests", width=10),
    *dist_cols("records_advice_hours", "advice.records_advice_hours", "hours",
               _ADVICE + describe(Advice, "records_advice_hours")),
    *dist_cols("records_check_hours", "advice.records_check_hours", "hours",
               _ADVICE + describe(Advice, "records_check_hours")),
    *dist_cols("assessment_hours", "advice.assessment_hours", "hours", _ADVICE + describe(Advice, "assessment_hours")),
    *dist_cols("admin_lag_days", "advice.admin_lag_days", "days", _ADVICE + describe(Advice, "admin_lag_days")),
    *dist_cols("booking_lead_days", "advice.booking_lead_days", "days",
               _ADVICE + describe(Advice, "booking_lead_days")),
    *dist_cols("initial_advice_hours", "advice.initial_advice.hours", "hours",
               _ADVICE + describe(InitialAdvice, "hours") + " (leave empty: no initial advice)"),
    Col("fuller_due_weeks", NUMBER, "advice.initial_advice.fuller_due_weeks",
        _ADVICE + describe(InitialAdvice, "fuller_due_weeks"), "weeks", 6.0, 52.0, width=10),
    Col("ring_fence_from", DATE, "ring_fence_from", describe(Service, "ring_fence_from"), width=12),
    NOTES_COL,
), "one row per service (clinicians or officers answering routine referrals and EHC work): capacity, cost, who "
   "commissions it, its routine demand and the EHC advice it gives. Distributions: " + DIST_HELP, key="service")

WAITING_LISTS = Sheet("waiting_lists", "table", (
    Col("service", SERVICE, "", "the service whose routine waiting list this band is", width=24),
    Col("n_per_70k", NUMBER, "n_per_70k", describe(BacklogBand, "n_per_70k") + " at the start of the run, in this "
        "band of weeks waited", "children waiting per 70,000", 0.0, MAX_BACKLOG_PER_70K, width=12),
    Col("youngest_weeks", NUMBER, "age_weeks[0]", "the shortest wait so far in this band (waits are spread evenly "
        "between youngest and oldest)", "weeks", 0.0, MAX_AGE_WEEKS, width=12),
    Col("oldest_weeks", NUMBER, "age_weeks[1]", "the longest wait so far in this band", "weeks", 0.0, MAX_AGE_WEEKS,
        width=12),
    NOTES_COL,
), "the children already waiting for each service at the start of the run, by weeks waited so far: one row per "
   "band (e.g. 0-18 weeks, 18-52 weeks), in order")

CAPACITY_CHANGES = Sheet("capacity_changes", "table", (
    Col("service", SERVICE, "", "the service whose PAs change", width=24),
    Col("start", DATE, "start", describe(CapacityChange, "start"), width=12),
    Col("end", DATE, "end", describe(CapacityChange, "end"), width=12),
    Col("pas_per_week_delta", NUMBER, "pas_per_week_delta", describe(CapacityChange, "pas_per_week_delta"),
        "PAs a week", -MAX_PAS_PER_70K, MAX_PAS_PER_70K, width=12),
    NOTES_COL,
), "dated changes to a service's PAs a week: '+2 PAs from April', 'a vacancy from month 3 to 9'")

POOLS = Sheet("pools", "table", (
    Col("pool", ID, "", "the integrated team's short name (letters, digits and underscores)", width=16),
    Col("label", TEXT, "label", describe(Pool, "label"), width=30),
    Col("services", SERVICE_LIST, "services", describe(Pool, "services") + ": two or more, separated by commas "
        "(one queue, so the same discipline)", width=28),
    Col("trusted_assessor", YESNO, "trusted_assessor", describe(Pool, "trusted_assessor"), width=10),
    Col("trusted_assessor_extra_share", SHARE, "trusted_assessor_extra_share",
        describe(Pool, "trusted_assessor_extra_share"), "share of the other assessments", width=10),
    NOTES_COL,
), "services commissioned as one integrated team sharing one queue (e.g. a 0-25 therapy team); leave empty for "
   "none", key="pool")

COSTS = Sheet("costs", "keyvalue", (
    *(Col(f"joint_split_{f}", SHARE, f"joint_split.{f}", f"share of jointly commissioned (pooled, Section 75) "
          f"costs {who} pays (the three shares sum to 1)", "share of joint costs") for f, who in (
              ("nhs", "the NHS (ICB)"), ("la_education", "LA education"),
              ("la_social_care", "LA social care"))),
    Col("setup_amortise_years", NUMBER, "setup_amortise_years", describe(Costs, "setup_amortise_years"), "years",
        0.0, 100.0, low_open=True),
), "how jointly commissioned costs are shared, and over how many years one-off set-up costs are spread")

SETUP_COSTS = Sheet("setup_costs", "table", (
    Col("item", TEXT, "item", describe(SetupCost, "item"), width=60),
    Col("gbp", NUMBER, "gbp", describe(SetupCost, "gbp"), "GBP", 0.0, 1e9, width=12),
    Col("commissioner", CHOICE, "commissioner", describe(SetupCost, "commissioner"), choices=ALL_COMMISSIONERS,
        width=15),
    NOTES_COL,
), "one-off costs of setting an option up (protocols, recruitment, training, IT); leave empty for none",
   freeze="A2")

RECURRING_COSTS = Sheet("recurring_costs", "table", (
    Col("item", TEXT, "item", describe(RecurringCost, "item"), width=50),
    Col("gbp_each", NUMBER, "gbp_each", describe(RecurringCost, "gbp_each"), "GBP", 0.0, 1e9, width=12),
    Col("per_year", NUMBER, "per_year", describe(RecurringCost, "per_year"), "a year", 0.0, 1e6, width=10),
    Col("basis", CHOICE, "basis", describe(RecurringCost, "basis"), choices=("absolute", "per_70k"), width=10),
    Col("commissioner", CHOICE, "commissioner", describe(RecurringCost, "commissioner"), choices=ALL_COMMISSIONERS,
        width=15),
    NOTES_COL,
), "costs every year that are not clinician time: equipment (a powered wheelchair from GBP 3,500), personal "
   "budgets, licences; the number a year times the cost of one; leave empty for none", freeze="A2")

SOURCES = Sheet("sources", "table", (
    Col("field_path", TEXT, "", "the scenario field the source is for, as `sendmodel params` shows it (e.g. "
        "services.slt.pas_per_week); * stands for any name (services.*.leave_weeks_per_year)", width=55),
    Col("source", TEXT, "", "where the value comes from: a document, a data set, 'calibrated to ...', or "
        "'assumption: ...'. Values you type with no source here are recorded as 'local data' from this workbook",
        width=110),
), "where each value comes from. Change the source when you change a value", freeze="A2")

SHEETS: tuple[Sheet, ...] = (AREA, DEMAND, EHC_TIMES, SERVICES, WAITING_LISTS, CAPACITY_CHANGES, POOLS, COSTS,
                             SETUP_COSTS, RECURRING_COSTS, SOURCES)
BY_NAME = {s.name: s for s in SHEETS}
NOTES = "notes"
REQUIRED_SHEETS = ("area", "services")
KEYVALUE_HEADER = ("field", "value", "meaning")

INTRO = (
    "A sendmodel scenario as a workbook: fill it in with your area's figures, then run "
    "`sendmodel import <this file> --out scenarios/<area>.yaml` to turn it into a scenario file.",
    "Each sheet is listed below with what each column (or, on area, demand and costs, each row) means, its unit "
    "and what it may hold. Hover over a column's heading for the same note.",
    "Capacity is in PAs (programmed activities, 4-hour sessions) a week, per 70,000 children aged 0-17 unless a "
    "service says capacity_basis absolute; demand is per 70,000 children too (the model scales it to population).",
    "Add a service by adding a row to services (copy a similar one), remove one by deleting its row and its rows "
    "on waiting_lists, capacity_changes and pools. A service named on another sheet must be on the services sheet.",
    "An empty cell takes the model's default (where the field has one). Shares are 0 to 1 (0.25) or a percentage "
    "(25%). Yes/no cells take yes or no. Dates are YYYY-MM-DD (DD/MM/YYYY also works).",
    "Distributions take six columns: " + DIST_HELP + ".",
    "The import checks every cell and reports every problem at once, by sheet, cell and column "
    "(e.g. services!F7); it writes nothing until there are none.",
    "Sources: say where a value comes from on the sources sheet; values with no source there are recorded as "
    "'local data' from this workbook, and so is any value you change from the scenario the workbook was written "
    "from while leaving that scenario's source as it was.",
)
NOTES_HEADER = ("sheet", "column", "meaning", "unit", "allowed")


def notes_rows() -> list[tuple[str, ...]]:
    """The notes sheet's table: one row per column (a distribution's six columns on one row)."""
    rows: list[tuple[str, ...]] = []
    for sh in SHEETS:
        rows.append((sh.name, "", sh.purpose[0].upper() + sh.purpose[1:] + ".", "", ""))
        seen: set[str] = set()
        for c in sh.cols:
            if c.group and sh.name == "ehc_times":
                if c.part != "dist":
                    continue
                names = ", ".join(x.name for x in sh.cols if x.group == c.group)
                rows.append((sh.name, names, "the distribution of the step's time", "as the step's name says "
                             "(_days or _hours)", DIST_HELP))
                continue
            if c.group:
                if c.group in seen:
                    continue
                seen.add(c.group)
                names = f"{c.group}_dist, _mean, _cv, _low, _mode, _high"
                rows.append((sh.name, names, c.meaning, c.unit, DIST_HELP))
                continue
            unit = c.unit if c.kind in (NUMBER, SHARE) else ""
            rows.append((sh.name, c.name, c.meaning, unit, c.allowed() if c.kind != TEXT else "text"))
        if sh.name == "ehc_times":
            for step in STEPS:
                rows.append((sh.name, f"step {step}", step_meaning(step), STEPS[step][1], ""))
    return rows
