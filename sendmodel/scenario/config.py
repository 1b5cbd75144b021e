"""Typed, validated scenario configuration.

A scenario describes *the system* (population, demand, services, the EHC pathway). How we experiment with it
(replications, seed) is passed to :func:`sendmodel.run`, never stored here. Every quantity carries its unit in
its field name or description; the scenario file's ``sources:`` table says where each value comes from.

Clock unit inside the model: days. Clinician effort: hours. Capacity: programmed activities (PAs) a week,
1 PA = 4 hours (NHS consultant contract; CDC DMO/DCO handbook, CDC DMO/DCO handbook).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sendmodel.scenario.errors import _RefError
from sendmodel.scenario.raw import apply_changes, validate, with_override

HOURS_PER_PA = 4.0
REFERENCE_POPULATION = 70_000
ADVICE_DUE_DAYS = 42.0  # 6 weeks, SEND Regulations 2014 reg. 8 (CCG duties summary; NHS England quick guide)
PLAN_DUE_DAYS = 140.0  # 20 weeks, SEND Regulations 2014 reg. 13 (CDC DMO/DCO handbook)
CC_DECISION_DAYS = 28.0  # continuing care decided within 28 days of the referral (CDC DMO/DCO handbook, s. 9)
CC_REVIEW_DAYS = 91.0  # and reviewed 3 months after the decision
TRIBUNAL_RESPONSE_DAYS = 35.0  # health recommendations within 5 weeks (NHS England quick guide, 7.6)
REVIEW_DUE_DAYS = 365.0  # reviewed within 12 months of issue and of each review (SEND Regulations 2014 reg. 18)
MAX_PLAN_AGE = 26.0  # a plan can run to the end of the year in which the young person turns 25 (0-25)
MAX_PLAN_AGE_YEARS = 25  # the oldest age (whole years) of a young person with a request or a plan
DECISION_DUE_DAYS = 42.0  # LA decision to assess within 6 weeks

# Sizes a real area could need, with room; beyond them a run cannot finish (or its dates overflow). Every bound
# is stated in its error message.
MIN_POPULATION, MAX_POPULATION = 1_000, 20_000_000  # England has about 12 million children aged 0-17
MAX_PAS_PER_70K = 2_000.0  # PAs a week per 70,000 children, a service (the baseline's largest is 28)
MAX_REQUESTS_PER_YEAR_PER_70K = 70_000.0  # one EHC request a year for every child
MAX_ROUTINE_PER_WEEK_PER_70K = 10_000.0  # routine referrals a week (the baseline's largest is 31)
MAX_BACKLOG_PER_70K = 70_000.0  # children waiting, a band: every child
MAX_AGE_WEEKS = 940.0  # 18 years: a child 0-17 cannot have waited longer
MAX_WARM_UP_DAYS = 3_653.0  # 10 years
MAX_HORIZON_DAYS = 7_305.0  # 20 years measured, calendar working_days
MAX_HORIZON_DAYS_ALWAYS_OPEN = 36_525.0  # 100 years, for validation against queueing theory (always_open)
FIRST_START, LAST_START = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
MAX_DIST_VALUE = 1_000_000.0  # hours or days, any distribution parameter
MAX_CV = 20.0
MAX_ARRIVALS = 10_000_000  # expected requests, referrals and backlog in one replication (~1 KB of memory each)
MAX_SESSIONS = 20_000_000  # clinician sessions laid out in one replication
# The kind of service each role of the EHC pathway must name.
ROLE_KINDS = {
    "ehc.la_service": ("local_authority", "LA SEND casework"),
    "ehc.dmo_service": ("designated_officer", "the DMO/DCO"),
    "ehc.admin_service": ("admin", "DMO/DCO admin support"),
    "ehc.triage.service": ("triage", "triage (single point of access)"),
    "ehc.dmo_from": ("health", "the service the DMO/DCO's sessions come from"),
}


def _n(x: float) -> str:
    """A number as people write it: 20,000,000; 0.5; 1e+12."""
    if isinstance(x, (int, float)) and math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:g}" if isinstance(x, (int, float)) else repr(x)


def _not_bool(v: Any) -> Any:
    """A number field refuses true/false (pydantic would take them as 1 and 0)."""
    if isinstance(v, bool):
        raise PydanticCustomError("number_not_bool", "must be a number, not {value}",
                                  {"value": "true" if v else "false"})
    return v


def _date_only(v: Any) -> Any:
    """A date field refuses numbers (pydantic would take 2024 as seconds since 1970)."""
    if isinstance(v, (bool, int, float)):
        raise PydanticCustomError("date_not_number", "must be a date written YYYY-MM-DD (got {value})",
                                  {"value": repr(v)})
    return v


def at_most(limit: float, unit: str) -> AfterValidator:
    def check(v):
        if v is not None and v > limit:
            raise ValueError(f"must be at most {_n(limit)} {unit} (got {_n(v)})")
        return v

    return AfterValidator(check)


Num = Annotated[float, BeforeValidator(_not_bool)]
Int = Annotated[int, BeforeValidator(_not_bool)]
Date = Annotated[dt.date, BeforeValidator(_date_only)]
DistValue = Annotated[Num, at_most(MAX_DIST_VALUE, "(hours or days)")]
Cv = Annotated[Num, Field(gt=0), at_most(MAX_CV, "(coefficient of variation)")]


class _Strict(BaseModel):
    # allow_inf_nan=False: .inf and .nan are refused everywhere, inside lists and mappings too
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- distributions -------------------------------------------------------------------------------------------


class Fixed(_Strict):
    """A constant value (hours or days, as the field says)."""

    dist: Literal["fixed"]
    value: DistValue = Field(ge=0)

    @property
    def mean_value(self) -> float:
        return self.value


class Exponential(_Strict):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: DistValue = Field(gt=0)

    @property
    def mean_value(self) -> float:
        return self.mean


class LogNormal(_Strict):
    """Log-normal given by its mean and coefficient of variation (sd / mean)."""

    dist: Literal["lognormal"]
    mean: DistValue = Field(gt=0)
    cv: Cv

    @property
    def mean_value(self) -> float:
        return self.mean


class Gamma(_Strict):
    """Gamma given by its mean and coefficient of variation (sd / mean)."""

    dist: Literal["gamma"]
    mean: DistValue = Field(gt=0)
    cv: Cv

    @property
    def mean_value(self) -> float:
        return self.mean


class Uniform(_Strict):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: DistValue = Field(ge=0)
    high: DistValue = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    @property
    def mean_value(self) -> float:
        return (self.low + self.high) / 2


class Triangular(_Strict):
    """Triangular on [low, high] with the given mode."""

    dist: Literal["triangular"]
    low: DistValue = Field(ge=0)
    mode: DistValue = Field(ge=0)
    high: DistValue = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self):
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError(f"need low <= mode <= high and low < high (got {self.low}, {self.mode}, {self.high})")
        return self

    @property
    def mean_value(self) -> float:
        return (self.low + self.mode + self.high) / 3


Distribution = Annotated[
    Union[Fixed, Exponential, LogNormal, Gamma, Uniform, Triangular], Field(discriminator="dist")
]
DIST_NAMES = ("fixed", "exponential", "lognormal", "gamma", "uniform", "triangular")

Probability = Annotated[Num, Field(ge=0, le=1)]
NonNegative = Annotated[Num, Field(ge=0)]

# Who commissions (pays for) a cost line: CDC bulletin, Appendix 2 and the Must / Should / Could matrix. The
# first three funders are always reported; NHS England, LA public health and schools (the bulletin's other
# funders) appear in a scenario's tables only when it names them.
COMMISSIONERS = ("nhs", "la_education", "la_social_care", "joint")
FUNDERS = ("nhs", "la_education", "la_social_care")
MORE_FUNDERS = ("nhs_england", "la_public_health", "schools")
Commissioner = Literal["nhs", "la_education", "la_social_care", "joint", "nhs_england", "la_public_health", "schools"]
Funder = Literal["nhs", "la_education", "la_social_care", "nhs_england", "la_public_health", "schools"]


# --- services ------------------------------------------------------------------------------------------------


class InitialAdvice(_Strict):
    """Initial advice within the 6 weeks for a child the service does not know, a fuller assessment to follow
    (NHS England quick guide, 6.2.2: complying within 6 weeks does not mean a full assessment within 6 weeks)."""

    hours: Distribution = Field(description="clinician hours for the initial advice (records, a short contact and "
                                "the write-up), the first part of the assessment: the fuller assessment takes "
                                "the rest of assessment_hours; an assumption to replace with local data")
    fuller_due_weeks: NonNegative = Field(
        13.0, ge=6, le=52, description="weeks from the LA's request within which the fuller assessment is due "
        "(NHS England quick guide, 6.2.2: 12-14 weeks)")


class AnnexA(_Strict):
    """How a service answers a request about a child it does not know, by the decision process of the NHS
    England quick guide's Annex A. Each share is of the requests about children not known; what is left is
    assessed as before. A request declined (not known, no need; redirected; an assessment proposed as an
    action in the plan) returns advice with its written reasons and is counted, not timed out."""

    p_more_information: Probability = Field(0.0, description="share where the service asks the LA for more "
                                            "information first (then assesses)")
    more_information_days: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=10.0),
        description="days until the LA's further information arrives: an assumption to replace with local data")
    p_not_known_no_need: Probability = Field(0.0, description="share where the service confirms it does not know "
                                             "the child and sees no need for its input, and says so in writing")
    p_redirect: Probability = Field(0.0, description="share redirected to the professional already involved, who "
                                    "advises from what they know")
    redirect_days: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=7.0),
        description="days the redirection takes before that professional's advice is returned: an assumption")
    p_plan_action: Probability = Field(0.0, description="share where the service advises that an assessment be "
                                       "an action in the plan, instead of assessing within the 6 weeks")
    reply_hours: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=0.5),
        description="clinician hours for a written reply that does not assess (not known and no need, "
                    "redirection, an assessment proposed in the plan): an assumption to replace with local data")

    @model_validator(mode="after")
    def _shares(self):
        total = self.p_more_information + self.p_not_known_no_need + self.p_redirect + self.p_plan_action
        if total > 1 + 1e-9:
            raise ValueError(f"the shares add up to {total:.3g}; at most 1 (what is left is assessed)")
        return self


class Advice(_Strict):
    """How a service answers a local authority's request for EHC advice."""

    p_requested: Probability = Field(description="share of EHC needs assessments that ask this service for advice")
    p_known: Probability = Field(description="share of advice requests where the child is already known")
    p_misrouted: Probability = Field(
        0.0, description="share of advice requests first sent to the wrong service (no single point of access)"
    )
    records_advice_hours: Distribution = Field(description="hours to write advice from records (child known)")
    records_check_hours: Distribution = Field(
        description="hours to find out from records that a child is not known (skipped when triage settles it)"
    )
    assessment_hours: Distribution = Field(
        description="hours to assess a child not known and write the advice (one appointment plus write-up)"
    )
    admin_lag_days: Distribution | None = Field(
        None, description="days to log the request and pull the records before a clinician can look at it"
    )
    booking_lead_days: Distribution | None = Field(
        None,
        description="days of notice to book an assessment appointment for a child not known (a ring-fenced "
        "short-notice session may see the child sooner; an ordinary session only after it)",
    )
    initial_advice: InitialAdvice | None = Field(
        None, description="for a child not known: initial advice within the 6 weeks, then a fuller assessment "
        "with its own due date; empty: the advice waits for the full assessment")
    annex_a: AnnexA | None = Field(
        None, description="for a child not known: the branches of the NHS England quick guide's Annex A (more "
        "information, not known and no need, redirection, an assessment in the plan); empty: every such request "
        "is assessed")
    ages: tuple[int, int] | None = Field(
        None, description="[youngest, oldest] age in years this service gives advice for (e.g. [0, 17] for "
        "CAMHS, [18, 25] for an adult mental health service advising on young adults); needs ehc.ages.enabled; "
        "empty: every age")

    @field_validator("ages")
    @classmethod
    def _age_range(cls, v):
        if v is not None and not 0 <= v[0] <= v[1] <= MAX_PLAN_AGE_YEARS:
            raise ValueError(f"need 0 <= youngest <= oldest <= {MAX_PLAN_AGE_YEARS} (got {list(v)})")
        return v


def _weeks_band(v: tuple, ends: tuple[str, str], most: float, said: str) -> tuple:
    """A [low, high] band of weeks: 0 <= low <= high <= most."""
    if v[0] < 0 or v[1] < v[0]:
        raise ValueError(f"need 0 <= {ends[0]} <= {ends[1]} (got {list(v)})")
    if v[1] > most:
        raise ValueError(f"the {ends[1]} must be at most {_n(most)} weeks ({said}; got {_n(v[1])})")
    return v


class BacklogBand(_Strict):
    """Children already waiting at the start of the run, with ages uniform within the band."""

    n_per_70k: Annotated[NonNegative, at_most(MAX_BACKLOG_PER_70K, "children per 70,000 (every child)")] = Field(
        description="children waiting per 70,000 children 0-17"
    )
    age_weeks: tuple[Num, Num] = Field(description="[youngest, oldest] wait so far, weeks")

    @field_validator("age_weeks")
    @classmethod
    def _ages(cls, v):
        return _weeks_band(v, ("youngest", "oldest"), MAX_AGE_WEEKS, "18 years")


class CapacityChange(_Strict):
    """A dated change to a service's PAs a week: '+2 PAs from April', 'a vacancy from month 3 to 9'."""

    start: Date = Field(description="first day the change applies (YYYY-MM-DD)")
    end: Date | None = Field(None, description="first day it no longer applies; empty = to the end of the run")
    pas_per_week_delta: Num = Field(description="PAs a week added (+) or removed (-), same basis as pas_per_week")
    recruitment_lead_weeks: Annotated[NonNegative, at_most(260, "weeks (5 years)")] = Field(
        0.0, description="weeks from start (the decision to fund) until added PAs are in post; removals apply at "
        "once; assumption: replace with your recruitment experience")
    vacancy_rate: Probability = Field(
        0.0, description="share of added PAs vacant on average once recruited (turnover, unfilled posts); the "
        "model adds PAs x (1 - vacancy_rate); assumption: replace with local data")

    @model_validator(mode="after")
    def _ordered(self):
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self

    @property
    def applies_from(self) -> dt.date:
        """The first day the change is in effect: an addition after its recruitment lead time."""
        if self.pas_per_week_delta > 0 and self.recruitment_lead_weeks > 0:
            return self.start + dt.timedelta(days=round(7 * self.recruitment_lead_weeks))
        return self.start

    @property
    def delta(self) -> float:
        """PAs a week the change adds once in effect (an addition net of its vacancy rate)."""
        if self.pas_per_week_delta > 0 and self.vacancy_rate > 0:
            return self.pas_per_week_delta * (1.0 - self.vacancy_rate)
        return self.pas_per_week_delta

    def delta_on(self, day: dt.date) -> float:
        """PAs a week this change adds (or removes) on ``day``."""
        return self.delta if self.applies_from <= day and (self.end is None or day < self.end) else 0.0


def _split_sum(v: dict | None) -> dict | None:
    if v is not None and abs(sum(v.values()) - 1.0) > 1e-6:
        raise ValueError(f"shares must sum to 1 (got {sum(v.values()):.6g})")
    return v


class Responsibility(_Strict):
    """One cell of the responsible-commissioner matrix for a service (CDC joint commissioning bulletin, the
    Must / Should / Could exercise of Appendix 3): a share of the service's PA cost, for one function and age
    group, and who pays for it."""

    function: Literal["prevention", "diagnosis", "treatment"] = Field(
        description="the NHS's three core duties (Health and Social Care Act 2012, s.1): prevention, diagnosis, "
        "treatment; contributing advice to EHC needs assessments is diagnosis")
    tier: Literal["must", "should", "could"] = Field("must", description="must do, should do or could do")
    ages: str = Field("0-25", description="the age group, as the matrix groups them (e.g. 'early years', "
                      "'school age', '18-25'); a label only")
    share: Probability = Field(description="share of the service's PA cost this cell takes (a service's cells "
                               "sum to 1): an estimate to replace with the local job plan")
    commissioner: Commissioner = Field(description="who pays: nhs (the ICB), nhs_england, la_education, "
                                       "la_social_care, la_public_health, schools or joint")
    split: dict[Funder, Probability] | None = Field(
        None, description="for joint: this cell's own split between funders (sum to 1); empty: costs.joint_split")

    @field_validator("split")
    @classmethod
    def _split(cls, v):
        return _split_sum(v)

    @model_validator(mode="after")
    def _joint_only(self):
        if self.split is not None and self.commissioner != "joint":
            raise ValueError(f"split is for a joint cell; this one is paid by {self.commissioner}")
        return self


class Service(_Strict):
    """A pool of clinician (or officer) sessions answering routine referrals and EHC tasks."""

    label: str = Field(description="name shown in tables and plots")
    kind: Literal["health", "education", "social_care", "local_authority", "designated_officer", "admin", "triage"]
    pas_per_week: NonNegative = Field(
        description="PAs a week (1 PA = 4 hours) for new-patient and statutory work; at most 2,000 per 70,000 "
        "children"
    )
    capacity_basis: Literal["per_70k", "absolute"] = Field(
        "per_70k", description="pas_per_week is per 70,000 children (scaled by population) or absolute"
    )
    discipline: Literal["fcfs", "ehc_first", "deadline"] = Field(
        "fcfs",
        description="what a free clinician takes next: first come first served (by referral date), EHC work "
        "first, or nearest due date first (6 weeks for EHC advice, routine_target_weeks for routine)",
    )
    ring_fenced_pas_per_week: NonNegative = Field(
        0.0, description="PAs a week reserved for not-known EHC assessments (same basis as pas_per_week)"
    )
    ring_fence_release_unused: bool = Field(
        True, description="a ring-fenced session with no EHC assessment waiting takes other work"
    )
    ring_fence_from: Date | None = Field(
        None, description="first day the reserved sessions and short-notice booking apply (YYYY-MM-DD); empty: "
        "from the start of the run")
    leave_weeks_per_year: NonNegative = Field(6.0, le=52, description="weeks of leave a year per clinician")
    routine_referrals_per_week_per_70k: Annotated[
        NonNegative, at_most(MAX_ROUTINE_PER_WEEK_PER_70K, "referrals a week per 70,000 children")
    ] = Field(0.0, description="routine (non-EHC) referrals a week per 70,000 children")
    routine_appointment_hours: Distribution | None = Field(
        None, description="hours of clinician time for a routine first appointment"
    )
    routine_removal_per_week: Probability = Field(
        0.0, description="share of the children on the routine waiting list who leave it each week without being "
        "seen (moved away, no longer needed, discharged after not replying, seen elsewhere): each child waiting "
        "leaves at this rate, a week, until an appointment is booked; 0: nobody leaves")
    routine_target_weeks: Num = Field(18.0, gt=0, le=520, description="routine waiting-time standard, weeks")
    p_missed_appointment: Probability = Field(0.0, description="share of appointments not attended (slot is used)")
    rebook_delay_days: Distribution | None = Field(None, description="days until a missed appointment is rebooked")
    advice: Advice | None = Field(None, description="EHC advice this service gives (if any)")
    backlog: list[BacklogBand] = Field(default_factory=list, description="routine waiting list at the start")
    capacity_changes: list[CapacityChange] = Field(default_factory=list)
    commissioner: Commissioner | None = Field(
        None,
        description="who commissions these PAs: nhs, la_education, la_social_care or joint (pooled budget, split by "
        "costs.joint_split); CDC joint commissioning bulletin Appendix 2",
    )
    responsible: list[Responsibility] = Field(
        default_factory=list, description="the responsible-commissioner matrix for this service: its PA cost "
        "split by function, tier and age group, each part paid by its own commissioner (shares sum to 1); "
        "empty: the whole cost to commissioner")
    gbp_per_pa: Annotated[NonNegative, at_most(100_000, "GBP a PA")] | None = Field(
        None, description="cost of one PA (4 hours) with on-costs and overheads, GBP (see sendmodel.costs)"
    )
    gbp_per_hour: Annotated[NonNegative, at_most(25_000, "GBP an hour")] | None = Field(
        None, description="cost of one hour with on-costs and overheads, GBP (staff paid by the hour: admin, triage)"
    )

    @property
    def cost_per_pa_gbp(self) -> float | None:
        """GBP per PA from either unit (None when the scenario gives no cost)."""
        if self.gbp_per_pa is not None:
            return self.gbp_per_pa
        return None if self.gbp_per_hour is None else self.gbp_per_hour * HOURS_PER_PA

    @model_validator(mode="after")
    def _consistent(self):
        if self.gbp_per_pa is not None and self.gbp_per_hour is not None:
            raise ValueError("give gbp_per_pa or gbp_per_hour, not both")
        if self.cost_per_pa_gbp is not None and self.commissioner is None:
            raise ValueError(
                "a service with a unit cost needs its commissioner (nhs, la_education, la_social_care or joint)"
            )
        if self.ring_fenced_pas_per_week > self.pas_per_week:
            raise ValueError(
                f"ring_fenced_pas_per_week ({self.ring_fenced_pas_per_week}) cannot exceed pas_per_week "
                f"({self.pas_per_week})"
            )
        needs_appt = self.routine_referrals_per_week_per_70k > 0 or any(b.n_per_70k > 0 for b in self.backlog)
        if needs_appt and self.routine_appointment_hours is None:
            raise ValueError("routine_appointment_hours is required when there are routine referrals or a backlog")
        if self.p_missed_appointment > 0 and self.rebook_delay_days is None:
            raise ValueError("rebook_delay_days is required when p_missed_appointment > 0")
        if self.responsible:
            total = sum(r.share for r in self.responsible)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"responsible: the shares of the service's cost must sum to 1 (got {total:.6g})")
        return self


# --- the EHC pathway -----------------------------------------------------------------------------------------


class Triage(_Strict):
    """Single point of access for health advice requests (NHS England quick guide, Annex A)."""

    enabled: bool = False
    service: str | None = Field(None, description="service that triages (kind: triage)")
    hours: Distribution | None = Field(None, description="hours of triage per EHC request")
    start: Date | None = Field(
        None, description="first day requests for advice go through triage (YYYY-MM-DD); empty: from the start")

    @model_validator(mode="after")
    def _complete(self):
        if self.enabled and (self.service is None or self.hours is None):
            raise ValueError("triage.enabled needs triage.service and triage.hours")
        return self


OPEN_STAGES = ("awaiting_decision", "awaiting_advice", "awaiting_dmo", "drafting", "consultation")
OpenStage = Literal["awaiting_decision", "awaiting_advice", "awaiting_dmo", "drafting", "consultation"]
MAX_OPEN_CASE_WEEKS = 520.0  # ten years since the request: older is a data error, not an open assessment


class OpenCaseBand(_Strict):
    """Open EHC needs assessments at the start date, counted by stage and weeks since the request.

    For a team that knows its counts but not each case: requests spread evenly over the band. Unknowns (which
    services were asked, whether a plan follows) are drawn per replication as for a new request. A case
    entered its stage, by default, at the request (awaiting a decision), 6 weeks after it (awaiting advice: the
    statutory decision date) or at the start date (later stages: the cautious reading; give person-level
    ``open_case_list`` rows with ``stage_date`` for a sharper forecast).
    """

    stage: OpenStage = Field(description="stage reached: " + ", ".join(OPEN_STAGES))
    weeks_since_request: tuple[Num, Num] = Field(description="[least, most] weeks since the request")
    n_per_70k: Annotated[NonNegative, at_most(MAX_REQUESTS_PER_YEAR_PER_70K, "cases per 70,000")] = Field(
        description="open cases in the band per 70,000 children 0-17")

    @field_validator("weeks_since_request")
    @classmethod
    def _weeks(cls, v):
        return _weeks_band(v, ("least", "most"), MAX_OPEN_CASE_WEEKS, "ten years")


class OpenCase(_Strict):
    """One open EHC needs assessment at the start date (a row of the LA's case list; an anonymous id, no names).

    The clocks keep running: a request made 15 weeks before the start date and still awaiting advice is five
    weeks from the 20-week breach. Absolute (not scaled by population).
    """

    case_id: str = Field(min_length=1, max_length=64, description="anonymous case id (no names)")
    request_date: Date = Field(description="date of the request for assessment (YYYY-MM-DD)")
    stage: OpenStage = Field(description="stage reached: " + ", ".join(OPEN_STAGES))
    stage_date: Date | None = Field(
        None, description="date the case entered its stage (advice requested, draft issued...); empty = the "
        "default of OpenCaseBand")
    advice_from: list[str] | None = Field(
        None, description="services asked for advice (awaiting_advice); empty = drawn as for a new request")
    advice_returned: list[str] = Field(
        default_factory=list, description="of advice_from, those already returned")
    exceptional: bool | None = Field(
        None, description="needs DMO/DCO sign-off of exceptional health provision; empty = drawn")

    @model_validator(mode="after")
    def _dates(self):
        if self.stage_date is not None and self.stage_date < self.request_date:
            raise ValueError(f"stage_date {self.stage_date} is before request_date {self.request_date}")
        extra = sorted(set(self.advice_returned) - set(self.advice_from or []))
        if extra:
            raise ValueError(f"advice_returned names {extra}, not in advice_from {self.advice_from or []}")
        return self


class Reviews(_Strict):
    """Plans in force and their annual reviews, competing for the same LA casework and health PAs.

    Off by default: the calibrated baseline's capacity was fitted to the assessment pathway alone (the LA and
    health time that reviews take today is inside the fitted PAs), so switching reviews on without adding the
    time they take understates capacity. Turn it on for multi-year runs from today (scenarios/from_today.yaml).
    """

    enabled: bool = Field(False, description="model the plans in force and their annual reviews")
    plans_in_force_per_70k: NonNegative | None = Field(
        None, le=20_000,
        description="EHC plans in force at the start date, per 70,000 children 0-17; empty: the published "
        "January caseload for England (DfE SEN2), scaled by the ONS 0-17 population")
    caseload_ages: dict[int, NonNegative] | None = Field(
        None, description="relative numbers of plans in force by age in whole years (0-25; an age not listed holds "
        "none); empty: the published January caseload by age (DfE SEN2)")
    cessation_by_age: dict[int, Probability] | None = Field(
        None, description="share of plans held at each age (whole years, 0-25) that cease within a year; ages "
        "not listed use the nearest listed age; empty: published plans ceased in the year by age over the January "
        "caseload by age (DfE SEN2). Every plan ends at 26 at the latest")
    la_hours: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=2.5),
        description="LA casework hours a review takes (papers, the meeting, the decision): an assumption to "
        "replace with local data")
    lead_weeks: NonNegative = Field(
        8.0, le=52, description="weeks before its due date that a review starts (advice asked for, meeting set): "
        "an assumption to replace with local data")
    health_input: dict[str, Probability] = Field(
        default_factory=dict,
        description="per health or advice service, the share of reviews it gives input to (a report, attending): "
        "an assumption to replace with local data")
    health_hours: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=2.0),
        description="clinician hours of one service's input to a review: an assumption to replace with local data")

    @field_validator("caseload_ages", "cessation_by_age")
    @classmethod
    def _ages(cls, v):
        if v is not None:
            bad = sorted(a for a in v if not 0 <= a <= 25)
            if bad:
                raise ValueError(f"ages must be whole years from 0 to 25 (got {bad})")
            if not v or not sum(v.values()) > 0:
                raise ValueError("give at least one age with a value above 0, or leave it out for the published "
                                 "figures")
        return v


class Tribunals(_Strict):
    """Appeals to the SEND Tribunal against issued plans, and the health services' part in them (NHS England
    quick guide, 7.6: health recommendations answered within 5 weeks; attending the hearing)."""

    enabled: bool = Field(False, description="model appeals against issued plans and the health responses")
    p_appeal: Probability | None = Field(
        None, description="share of issued plans appealed; empty: the published England appeal rate for 2024 "
        "(appeals registered over appealable decisions, MoJ/DfE SEND appeal rate table, 3.2%), applied to each "
        "plan issued: an approximation, since appealable decisions also include refusals and amendments")
    registered_after_days: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=56.0),
        description="days from the final plan to the appeal being registered and health asked for its response "
        "(an appeal is lodged within 2 months): an assumption to replace with local data")
    response_hours: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=2.0),
        description="hours for each health service that gave advice to respond (evidence, recommendations): an "
        "assumption to replace with local data")
    p_hearing: Probability = Field(
        0.3, description="share of appeals where each such service attends a hearing (many settle before): an "
        "assumption to replace with local data")
    hearing_hours: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=4.0),
        description="hours to prepare for and attend a hearing: an assumption to replace with local data")


class ContinuingCare(_Strict):
    """Children's continuing care: for a share of the children the LA decides to assess, a continuing care
    assessment by a health service, decided within 28 days of the referral, and a review 3 months after the
    decision (CDC DMO/DCO handbook, section 9)."""

    enabled: bool = Field(False, description="model continuing care assessments and reviews")
    p_referral: Probability = Field(
        0.02, description="share of the children the LA decides to assess who are referred for continuing care "
        "at that point: an assumption to replace with local data")
    service: str | None = Field(None, description="the health service that assesses and reviews (kind health)")
    assessment_hours: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=6.0),
        description="clinician hours of the assessment and the decision: an assumption to replace with local data")
    review_hours: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=2.0),
        description="clinician hours of the 3-month review: an assumption to replace with local data")

    @model_validator(mode="after")
    def _service(self):
        if self.enabled and self.service is None:
            raise ValueError("continuing_care.enabled needs continuing_care.service (a health service)")
        return self


class Escalation(_Strict):
    """Escalation to the DMO/DCO during evidence gathering: a health service finds the child's need is one the
    services commissioned will not meet, and the DMO/DCO arranges specialist or bespoke commissioning before the
    plan can go on (CDC DMO/DCO handbook, "Assessment and evidence gathering")."""

    enabled: bool = Field(False, description="model escalations to the DMO/DCO")
    p_escalated: Probability = Field(
        0.005, description="share of health advice after which the service escalates to the DMO/DCO (the handbook: "
        "exceptional, not routine involvement in individual assessments): an assumption "
        "to replace with local data (the DMO/DCO's log of escalations)")
    hours: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=3.0),
        description="DMO/DCO hours per escalation (finding and agreeing the specialist provision): an "
        "assumption to replace with local data")


#: The age bands the guidance and the breakdowns use (years, inclusive); plans run to 25.
AGE_BANDS = ((0, 4), (5, 10), (11, 15), (16, 19), (20, 25))


class Ages(_Strict):
    """Ages 0-25: each request's child or young person has an age, from the published requests by age.

    Off by default (the calibrated baseline's requests have no age). On, a request's age sets which services
    give it advice (``advice.ages``: adult services for young adults), its chance of being assessed (the
    published rate at that age, scaled so that all ages together keep ``request_outcomes``) and the age its plan
    starts at; KPIs are broken down by age band.
    """

    enabled: bool = Field(False, description="give each request an age (0-25)")
    covers: Literal["0-25", "0-17"] = Field(
        "0-25", description="the ages whose requests are modelled: 0-25 (all requests, as DfE counts them and as "
        "requests_per_year_per_70k is calibrated) or 0-17 (children only: the published share of requests for "
        "young people aged 18-25 is left out)")
    request_shares_by_age: dict[int, NonNegative] | None = Field(
        None, description="relative number of requests at each age 0-25 (normalised); empty: DfE SEN2 2024, "
        "England (requests received by age)")
    assess_by_age: bool = Field(
        True, description="the LA's chance of assessing follows the published rate at each age (DfE SEN2 2024: 75% "
        "at age 3, 42% at 18 and over), scaled so that all ages together keep request_outcomes.assessed; off: the "
        "same chance at every age")

    @field_validator("request_shares_by_age")
    @classmethod
    def _shares(cls, v):
        if v is not None:
            bad = [a for a in v if not 0 <= a <= MAX_PLAN_AGE_YEARS]
            if bad:
                raise ValueError(f"ages must be 0 to {MAX_PLAN_AGE_YEARS} (got {bad})")
            if sum(v.values()) <= 0:
                raise ValueError("needs at least one age with a share above 0")
        return v


class Ehc(_Strict):
    """EHC needs-assessment requests and the statutory pathway to a final plan."""

    requests_per_year_per_70k: Annotated[
        NonNegative, at_most(MAX_REQUESTS_PER_YEAR_PER_70K, "requests a year per 70,000 children (one a child)")
    ] = Field(description="requests for EHC needs assessment a year")
    growth_per_year: Num = Field(
        0.0, ge=-0.5, le=1.0,
        description="growth in requests a year, compounding from the start date (0.13 = +13% a year, the national "
        "2016-2025 trend); 0 = level demand")
    requests_by_year: dict[int, NonNegative] = Field(
        default_factory=dict,
        description="requests a year per 70,000 by calendar year (e.g. a local forecast); a year not listed follows "
        "requests_per_year_per_70k and growth_per_year")
    monthly_profile: list[Num] = Field(
        default_factory=lambda: [1.0] * 12,
        description="relative request rate Jan..Dec (normalised to mean 1)",
    )
    request_outcomes: dict[Literal["assessed", "refused", "withdrawn"], Probability] = Field(
        description="shares of requests the LA agrees to assess, refuses, or that are withdrawn (sum to 1)"
    )
    p_plan_after_assessment: Probability = Field(description="share of assessments that end in a plan")
    p_exceptional_provision: Probability = Field(
        description="share of assessments needing DMO/DCO sign-off of exceptional health provision"
    )
    la_service: str = Field(description="service doing LA SEND casework (decision, drafting, finalising)")
    decision_lag_days: Distribution = Field(description="days gathering information before the decision task")
    decision_hours: Distribution = Field(description="LA casework hours to decide whether to assess")
    draft_hours: Distribution = Field(description="LA casework hours to draft the plan")
    family_consultation_days: NonNegative = Field(
        15.0, le=365, description="days the family has to comment on the draft"
    )
    finalise_hours: Distribution = Field(description="LA casework hours to finalise the plan")
    draft_lag_days: Distribution | None = Field(
        None, description="days between the advice being in (and any DMO/DCO sign-off) and the LA starting to "
        "draft the plan (allocating a caseworker, a panel date); empty: drafting is queued at once. Fitted for a "
        "local baseline (sendmodel area); otherwise an assumption to replace with local data")
    not_to_issue_lag_days: Distribution | None = Field(
        None, description="days from the advice being in (and any DMO/DCO sign-off) to the LA's decision not to "
        "issue a plan (a caseworker's review, a panel date); empty: decided at once. Fitted to SEN2's 'not to "
        "issue' decisions within 16 weeks (docs/calibration.md); otherwise an assumption to replace with local data")
    draft_deadline_weeks: Distribution | None = Field(
        None, description="weeks after the request at which the LA drafts the plan with the advice it has when "
        "some is still outstanding (drawn for each plan; the late advice is still written and counted when it "
        "comes); empty: the LA waits for every advice. Fitted for a local baseline whose plans are quicker than "
        "its advice allows (sendmodel area)")
    dmo_service: str = Field(description="the Designated Medical/Clinical Officer service")
    dmo_review_hours: Distribution = Field(description="DMO/DCO hours to review and sign off exceptional provision")
    dmo_admin_hours: Distribution = Field(description="admin hours per sign-off (on the DMO/DCO unless supported)")
    dmo_signoff_plans_only: bool = Field(
        False, description="the DMO/DCO signs off exceptional health provision only for assessments going on to a "
        "plan (CDC DMO/DCO handbook); off: every assessment with exceptional provision, plan or not")
    dmo_other_work_share: Probability = Field(
        0.0, le=0.95, description="share of the DMO/DCO's sessions spent on the role's other work (strategic work, "
        "training, panels, quality assurance; CDC DMO/DCO handbook), not available for sign-off; they are still "
        "paid for: an assumption to replace with the local job plan")
    dmo_from: str | None = Field(
        None, description="the health service whose PAs the DMO/DCO's sessions come from (the DMO is usually one of "
        "its consultants, e.g. community_paediatrics; CDC DMO/DCO handbook); empty: the role is its own post")
    dmo_backfilled: bool = Field(
        True, description="with dmo_from: the DMO/DCO's PAs are backfilled (a locum or extra PAs), so the service "
        "loses no clinical sessions and the role costs its PAs; off: the service's clinical sessions shrink by the "
        "DMO/DCO's PAs, which it already pays for")
    admin_support: bool = Field(False, description="admin support funded for the DMO/DCO")
    admin_support_from: Date | None = Field(
        None, description="first day admin support takes the DMO/DCO's admin (YYYY-MM-DD); empty: from the start")
    admin_service: str | None = Field(None, description="service doing DMO/DCO admin when admin_support is on")
    misroute_delay_days: Distribution = Field(description="days lost when an advice request goes to the wrong service")
    misroute_hours: Distribution | None = Field(
        None, description="clinician hours the wrong service spends on a misrouted request (looking it up, passing "
        "it on) before it moves on; empty: only the delay: an assumption to replace with local data")
    triage: Triage = Field(default_factory=Triage)
    open_cases: list[OpenCaseBand] = Field(
        default_factory=list, description="open EHC needs assessments at the start date, counted by stage and "
        "weeks since the request (per 70,000)")
    open_cases_file: str | None = Field(
        None, description="CSV of open cases, one row each (case_id, request_date, stage, stage_date, "
        "advice_from, advice_returned, exceptional), relative to the scenario file; read into open_case_list")
    open_case_list: list[OpenCase] = Field(
        default_factory=list, description="open EHC needs assessments at the start date, one each (usually "
        "read from open_cases_file)")
    reviews: Reviews = Field(default_factory=Reviews, description="plans in force and their annual reviews")
    tribunals: Tribunals = Field(default_factory=Tribunals, description="appeals against issued plans")
    continuing_care: ContinuingCare = Field(default_factory=ContinuingCare,
                                            description="continuing care assessments and their reviews")
    ages: Ages = Field(default_factory=Ages, description="ages 0-25: each request's age, adult services for young "
                       "adults, KPIs by age band")
    escalation: Escalation = Field(default_factory=Escalation,
                                   description="escalations to the DMO/DCO during evidence gathering")

    @field_validator("requests_by_year")
    @classmethod
    def _years(cls, v):
        bad = [y for y in v if not 2000 <= y <= 2100]
        if bad:
            raise ValueError(f"years must be from 2000 to 2100 (got {bad})")
        return v

    @field_validator("monthly_profile")
    @classmethod
    def _profile(cls, v):
        if len(v) != 12 or any(x < 0 for x in v) or sum(v) <= 0:
            raise ValueError("must be 12 non-negative numbers (Jan..Dec), not all zero")
        return v

    @field_validator("request_outcomes")
    @classmethod
    def _sums_to_one(cls, v):
        missing = {"assessed", "refused", "withdrawn"} - set(v)
        if missing:
            raise ValueError(f"missing {sorted(missing)}; give assessed, refused and withdrawn")
        total = sum(v.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1 (got {total:.6g})")
        return v

    @model_validator(mode="after")
    def _admin(self):
        if self.admin_support and self.admin_service is None:
            raise ValueError("admin_support needs admin_service")
        return self


class Pool(_Strict):
    """Services commissioned as one integrated team (e.g. a 0-25 therapy team, CDC joint commissioning bulletin).

    Pooled services share one queue: any of their clinicians takes the next task of any of them. With a trusted
    assessor, a child not known to several pooled services gets one assessment that serves all their advice.
    """

    label: str = Field(description="name shown in tables and plots")
    services: list[str] = Field(min_length=2, description="services whose capacity is pooled")
    trusted_assessor: bool = Field(False, description="one assessment serves all of a child's pooled advice")
    trusted_assessor_extra_share: Num = Field(
        0.25, ge=0, le=1,
        description="extra effort of a joint assessment: the longest single assessment plus this share of the others",
    )
    start: Date | None = Field(
        None, description="first day the services work as one team (YYYY-MM-DD); before it each keeps its own "
        "queue and clinicians; empty: one team from the start")


class SetupCost(_Strict):
    """A one-off cost of setting an option up (protocols, recruitment, training, IT)."""

    item: str = Field(description="what the money buys")
    gbp: Annotated[NonNegative, at_most(1e9, "GBP")] = Field(description="one-off cost, GBP")
    commissioner: Commissioner = Field(description="who pays: nhs, la_education, la_social_care or joint")


class RecurringCost(_Strict):
    """A cost that recurs every year and is not clinician time: equipment (a powered wheelchair from GBP 3,500,
    SEND Pathfinder information pack: joint commissioning), personal budgets, licences, rooms. Priced by the
    scenario, not by the run: give the expected number a year."""

    item: str = Field(description="what the money buys")
    gbp_each: Annotated[NonNegative, at_most(1e9, "GBP")] = Field(description="cost of one, GBP")
    per_year: Annotated[NonNegative, at_most(1e6, "a year")] = Field(
        1.0, description="how many a year: for the area, or per 70,000 children 0-17 with basis per_70k")
    basis: Literal["absolute", "per_70k"] = Field(
        "absolute", description="absolute: per_year is the area's; per_70k: scaled with the population")
    commissioner: Commissioner = Field(description="who pays: nhs, la_education, la_social_care or joint")


class Costs(_Strict):
    """Scenario-level cost settings; unit costs per PA are on each service (see :mod:`sendmodel.costs`)."""

    joint_split: dict[Funder, Probability] = Field(
        default_factory=lambda: {"nhs": 0.5, "la_education": 0.5, "la_social_care": 0.0},
        description="shares of jointly commissioned (pooled, Section 75) costs each funder pays (sum to 1)",
    )
    setup: list[SetupCost] = Field(default_factory=list, description="one-off set-up costs of the option")
    recurring: list[RecurringCost] = Field(
        default_factory=list, description="costs every year that are not PAs (equipment, personal budgets)")
    setup_amortise_years: Num = Field(
        3.0, gt=0, le=100, description="years over which set-up costs are spread in the annual cost"
    )

    @field_validator("joint_split")
    @classmethod
    def _split_sums_to_one(cls, v):
        return _split_sum(v)


class Simulation(_Strict):
    """Run length and calendar."""

    start_date: Date = Field(dt.date(2024, 1, 1), description="calendar date at the start of the warm-up")
    warm_up_days: Annotated[NonNegative, at_most(MAX_WARM_UP_DAYS, "days (10 years)")] = Field(
        182.0, description="days simulated and then dropped from the KPIs"
    )
    horizon_days: Num = Field(
        365.0, gt=0, description="days measured after the warm-up (at most 20 years; 100 with always_open)"
    )
    calendar: Literal["working_days", "always_open"] = Field(
        "working_days",
        description="working_days: PAs laid out as 4-hour sessions Mon-Fri with leave and bank holidays; "
        "always_open: every service runs continuously (validation against queueing theory)",
    )

    @field_validator("start_date")
    @classmethod
    def _start(cls, v):
        if not FIRST_START <= v <= LAST_START:
            raise ValueError(f"must be between {FIRST_START} and {LAST_START} (got {v})")
        return v

    @model_validator(mode="after")
    def _length(self):
        if self.calendar == "always_open":
            limit, why = MAX_HORIZON_DAYS_ALWAYS_OPEN, "100 years, with calendar always_open"
        else:
            limit, why = MAX_HORIZON_DAYS, "20 years; 100 with calendar always_open"
        if self.horizon_days > limit:
            raise _RefError("simulation.horizon_days",
                            f"must be at most {_n(limit)} days ({why}; got {_n(self.horizon_days)})")
        return self

    @property
    def end_date(self) -> dt.date:
        """The first day after the run (warm-up and horizon)."""
        return self.start_date + dt.timedelta(days=math.ceil(self.warm_up_days + self.horizon_days))


class Scenario(_Strict):
    """A whole system to simulate. Load with :func:`sendmodel.load_scenario`."""

    name: str = Field(description="short name used in tables")
    description: str = ""
    population: Num = Field(description="children aged 0-17 in the area (1,000 to 20,000,000)")
    simulation: Simulation = Field(default_factory=Simulation)
    ehc: Ehc | None = Field(None, description="the EHC pathway; leave out for routine-only scenarios")
    services: dict[str, Service] = Field(min_length=1)
    pools: dict[str, Pool] = Field(default_factory=dict, description="integrated teams sharing capacity")
    costs: Costs = Field(default_factory=Costs, description="set-up costs and how joint costs are split")
    sources: dict[str, str] = Field(default_factory=dict, description="field path (glob) -> source")

    # What the scenario was validated from, kept beside the fields (pydantic private attributes, so copies keep
    # them): the merged mapping (what `override` changes), the file as given, and where each value came from
    # (the files of an `extends` chain, and overrides), for error messages.
    _raw: dict | None = PrivateAttr(None)
    _file: str | None = PrivateAttr(None)
    _sources: tuple = PrivateAttr(())
    _uncertain: tuple = PrivateAttr(())  # fields given as ranges (sendmodel.scenario.uncertain), at their centre

    @property
    def uncertain_inputs(self) -> tuple:
        """The fields given as ranges instead of values (:class:`~sendmodel.scenario.uncertain.UncertainInput`)."""
        return self._uncertain

    @property
    def source_file(self) -> str | None:
        """The file this scenario was loaded from (as given), or None for one built in memory."""
        return self._file

    def override(self, changes: dict[str, Any], name: str | None = None) -> Scenario:
        """A new, re-validated scenario with fields changed by dotted path, e.g.
        ``sc.override({"services.slt.pas_per_week": 30})``.

        Raises :class:`~sendmodel.ScenarioError` for anything that does not make a valid scenario: a path that
        is not a field, a value the field cannot take, ``changes`` that is not a mapping of path -> value.
        """
        base = self._raw if self._raw is not None else self.model_dump(mode="json", exclude_unset=True)
        raw, sources = apply_changes(base, self._sources, self._file, changes, name)
        return validate(type(self), raw, self._file, sources)

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Scenario:
        """pydantic's copy, keeping the mapping behind it in step with ``update`` (so ``override`` on the copy
        starts from the copy's values, not the original's)."""
        new = super().model_copy(update=update, deep=deep)
        if update and self._raw is not None:
            raw = copy.deepcopy(self._raw)
            fields = [k for k in update if k in type(self).model_fields]
            dumped = new.model_dump(include=set(fields), warnings=False) if fields else {}
            for k, v in update.items():
                raw[k] = dumped[k] if k in dumped else copy.deepcopy(v)
            new._raw = raw
            new._sources = with_override(self._sources, self._file, {k: None for k in update})
        return new

    def day_of(self, date: dt.date | None) -> float:
        """Model day of a calendar date (days from the start date); ``None`` (a lever with no start) is -inf:
        in force throughout."""
        return -math.inf if date is None else float((date - self.simulation.start_date).days)

    @property
    def scale(self) -> float:
        """Population as a multiple of 70,000 children."""
        return self.population / REFERENCE_POPULATION

    def funders(self) -> tuple[str, ...]:
        """The funders this scenario's tables report: the three always shown, then any other it names."""
        used = {f for f, v in self.costs.joint_split.items() if v > 0}
        for svc in self.services.values():
            used.add(svc.commissioner)
            for r in svc.responsible:
                used |= {r.commissioner, *(r.split or {})}
        used |= {c.commissioner for c in (*self.costs.setup, *self.costs.recurring)}
        return FUNDERS + tuple(f for f in MORE_FUNDERS if f in used)

    def commissioners(self) -> tuple[str, ...]:
        """The commissioners this scenario's tables report (:data:`COMMISSIONERS` and any other it names)."""
        return COMMISSIONERS + self.funders()[len(FUNDERS):]

    def dmo_sessions_from(self, name: str) -> bool:
        """Whether this service's clinical sessions give up the DMO/DCO's PAs (``ehc.dmo_from``, not backfilled)."""
        return self.ehc is not None and self.ehc.dmo_from == name and not self.ehc.dmo_backfilled

    def service_pas_per_week(self, name: str) -> float:
        s = self.services[name]
        return s.pas_per_week * (self.scale if s.capacity_basis == "per_70k" else 1.0)

    def advice_services(self) -> list[str]:
        return [n for n, s in self.services.items() if s.advice is not None and s.advice.p_requested > 0]

    @field_validator("population")
    @classmethod
    def _population(cls, v):
        if not MIN_POPULATION <= v <= MAX_POPULATION:
            raise ValueError(f"must be between {_n(MIN_POPULATION)} and {_n(MAX_POPULATION)} children aged 0-17 "
                             f"(got {_n(v)})")
        return v

    @model_validator(mode="after")
    def _references(self):
        names = sorted(self.services)
        allowed = f"one of {names}"
        for n in self.services:
            if not n or not n.replace("_", "").isalnum() or not n[0].isalpha() or not n.isascii():
                raise _RefError("services", f"service name {n!r} must be letters, digits and underscores, "
                                "starting with a letter")
        if self.ehc is not None:
            refs = {"ehc.la_service": self.ehc.la_service, "ehc.dmo_service": self.ehc.dmo_service}
            if self.ehc.admin_service is not None:
                refs["ehc.admin_service"] = self.ehc.admin_service
            if self.ehc.triage.service is not None:
                refs["ehc.triage.service"] = self.ehc.triage.service
            if self.ehc.dmo_from is not None:
                refs["ehc.dmo_from"] = self.ehc.dmo_from
            for path, ref in refs.items():
                if ref not in self.services:
                    raise _RefError(path, f"unknown service {ref!r}; allowed: {allowed}")
                kind, role = ROLE_KINDS[path]
                if self.services[ref].kind != kind:
                    fits = sorted(n for n, s in self.services.items() if s.kind == kind)
                    raise _RefError(
                        path,
                        f"{ref!r} is a service of kind {self.services[ref].kind}; {role} must be a service of "
                        f"kind {kind} (here: {fits if fits else 'none; add one'})",
                    )
            self._check_open_cases()
            self._check_reviews()
            self._check_continuing_care()
            self._check_ages()
        pooled: dict[str, str] = {}
        for pname, pool in self.pools.items():
            for i, ref in enumerate(pool.services):
                if ref not in self.services:
                    raise _RefError(f"pools.{pname}.services[{i}]", f"unknown service {ref!r}; allowed: {allowed}")
                if ref in pooled:
                    raise _RefError(f"pools.{pname}.services[{i}]", f"{ref!r} is already in pool {pooled[ref]!r}")
                pooled[ref] = pname
            disciplines = {self.services[r].discipline for r in pool.services}
            if len(disciplines) > 1:
                raise _RefError(
                    f"pools.{pname}.services",
                    f"pooled services share one queue, so they need the same discipline (got {sorted(disciplines)})",
                )
        if self.simulation.calendar == "always_open":
            for n, s in self.services.items():
                c = self.service_pas_per_week(n) * HOURS_PER_PA / 168.0
                if abs(c - round(c)) > 1e-9:
                    raise _RefError(
                        f"services.{n}.pas_per_week",
                        f"with calendar always_open, PAs a week x 4 / 168 must be a whole number of clinicians "
                        f"(got {c:.4g}); use multiples of 42 PAs",
                    )
                if s.capacity_changes or s.leave_weeks_per_year:
                    raise _RefError(
                        f"services.{n}",
                        "calendar always_open allows no capacity_changes and leave_weeks_per_year: 0",
                    )
        self._check_sizes()
        return self

    def _check_ages(self) -> None:
        """A service's advice ages need requests that have ages; under 0-17, an adult service would see none."""
        assert self.ehc is not None
        ages = self.ehc.ages
        for n, svc in self.services.items():
            if svc.advice is None or svc.advice.ages is None:
                continue
            path = f"services.{n}.advice.ages"
            if not ages.enabled:
                raise _RefError(path, "needs ehc.ages.enabled: true (requests have no age otherwise)")
            if ages.covers == "0-17" and svc.advice.ages[0] >= 18:
                raise _RefError(path, f"gives advice only for ages {list(svc.advice.ages)}, but ehc.ages.covers is "
                                "0-17 (children only); set covers: 0-25 to model young adults")

    def _check_continuing_care(self) -> None:
        assert self.ehc is not None
        cc = self.ehc.continuing_care
        if cc.enabled and cc.service is not None:
            path = "ehc.continuing_care.service"
            if cc.service not in self.services:
                raise _RefError(path, f"unknown service {cc.service!r}; allowed: {sorted(self.services)}")
            if self.services[cc.service].kind != "health":
                fits = sorted(n for n, s in self.services.items() if s.kind == "health")
                raise _RefError(path, f"{cc.service!r} is a service of kind {self.services[cc.service].kind}; "
                                f"continuing care is assessed by a health service (here: {fits})")

    def _check_reviews(self) -> None:
        """Review input comes from health or advice services, not from the LA casework that runs the review."""
        assert self.ehc is not None
        r = self.ehc.reviews
        for ref in r.health_input:
            path = f"ehc.reviews.health_input.{ref}"
            if ref not in self.services:
                raise _RefError(path, f"unknown service {ref!r}; allowed: {sorted(self.services)}")
            if ref in (self.ehc.la_service, self.ehc.dmo_service):
                raise _RefError(path, f"{ref!r} runs the review or signs off provision; input comes from the "
                                "services that work with the child (health or advice services)")

    def _check_open_cases(self) -> None:
        """Open cases are as at the start date: nothing dated after it, advice only from advice services."""
        assert self.ehc is not None
        today = self.simulation.start_date
        givers = self.advice_services()
        for i, c in enumerate(self.ehc.open_case_list):
            at = f"ehc.open_case_list[{i}]"
            for what in ("request_date", "stage_date"):
                d = getattr(c, what)
                if d is not None and d > today:
                    raise _RefError(f"{at}.{what}", f"{d} is after the start date {today} (simulation.start_date): "
                                    "open cases are as at the start date")
            if (today - c.request_date).days > MAX_OPEN_CASE_WEEKS * 7:
                raise _RefError(f"{at}.request_date", f"{c.request_date} is more than {_n(MAX_OPEN_CASE_WEEKS)} "
                                f"weeks before the start date {today}")
            for what in ("advice_from", "advice_returned"):
                for ref in getattr(c, what) or []:
                    if ref not in givers:
                        raise _RefError(f"{at}.{what}", f"unknown advice service {ref!r}; allowed: {givers}")
            if c.advice_from is not None and c.stage != "awaiting_advice":
                raise _RefError(f"{at}.advice_from", f"only for stage awaiting_advice (this case: {c.stage})")

    def _check_sizes(self) -> None:
        """Refuse what cannot run: too many PAs, arrivals or sessions for one replication."""
        scale = self.scale
        days = self.simulation.warm_up_days + self.simulation.horizon_days
        weeks = days / 7.0
        sessions = 0.0
        for n, s in self.services.items():
            per_70k = s.capacity_basis == "per_70k"
            limit = MAX_PAS_PER_70K if per_70k else MAX_PAS_PER_70K * max(scale, 1.0)
            unit = "PAs a week per 70,000 children" if per_70k else (
                "PAs a week (absolute: 2,000 per 70,000 children of the population, at least 2,000)")
            if s.pas_per_week > limit:
                raise _RefError(f"services.{n}.pas_per_week", f"must be at most {_n(limit)} {unit} "
                                f"(got {_n(s.pas_per_week)})")
            peak = s.pas_per_week
            for i, c in enumerate(s.capacity_changes):
                if abs(c.pas_per_week_delta) > limit:
                    raise _RefError(f"services.{n}.capacity_changes[{i}].pas_per_week_delta",
                                    f"must be between -{_n(limit)} and {_n(limit)} {unit} "
                                    f"(got {_n(c.pas_per_week_delta)})")
                on = s.pas_per_week + sum(
                    d.pas_per_week_delta for d in s.capacity_changes
                    if d.start <= c.start and (d.end is None or c.start < d.end)
                )
                if on > limit:
                    raise _RefError(f"services.{n}.capacity_changes[{i}]",
                                    f"from {c.start} the service would have {_n(on)} PAs a week; at most "
                                    f"{_n(limit)} {unit}")
                peak = max(peak, on)
            if self.simulation.calendar == "working_days":
                sessions += peak * (scale if per_70k else 1.0) * weeks
        if sessions > MAX_SESSIONS:
            raise _RefError("services", f"about {_n(round(sessions))} clinician sessions in one replication "
                            f"({_n(days)} days); at most {_n(MAX_SESSIONS)}: fewer PAs, a smaller population or "
                            "a shorter run", whole=True)
        arrivals = 0.0
        if self.ehc is not None:
            arrivals += self.ehc.requests_per_year_per_70k * scale * days / 365.25
            arrivals += sum(b.n_per_70k for b in self.ehc.open_cases) * scale + len(self.ehc.open_case_list)
        for s in self.services.values():
            arrivals += s.routine_referrals_per_week_per_70k * scale * weeks
            arrivals += sum(b.n_per_70k for b in s.backlog) * scale
        if arrivals > MAX_ARRIVALS:
            raise _RefError("population", f"about {_n(round(arrivals))} requests, referrals and children waiting "
                            f"in one replication ({_n(self.population)} children, {_n(days)} days); at most "
                            f"{_n(MAX_ARRIVALS)}: a smaller population, less demand or a shorter run", whole=True)
