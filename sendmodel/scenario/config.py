"""Typed, validated scenario configuration.

A scenario describes *the system* (population, demand, services, the EHC pathway). How we experiment with it
(replications, seed) is passed to :func:`sendmodel.run`, never stored here. Every quantity carries its unit in
its field name or description; the scenario file's ``sources:`` table says where each value comes from.

Clock unit inside the model: days. Clinician effort: hours. Capacity: programmed activities (PAs) a week,
1 PA = 4 hours (NHS consultant contract; CDC DMO/DCO handbook, seed 002).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HOURS_PER_PA = 4.0
REFERENCE_POPULATION = 70_000
ADVICE_DUE_DAYS = 42.0  # 6 weeks, SEND Regulations 2014 reg. 8 (seeds 001, 004)
PLAN_DUE_DAYS = 140.0  # 20 weeks, SEND Regulations 2014 reg. 13 (seed 002)
DECISION_DUE_DAYS = 42.0  # LA decision to assess within 6 weeks


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- distributions -------------------------------------------------------------------------------------------


class Fixed(_Strict):
    """A constant value (hours or days, as the field says)."""

    dist: Literal["fixed"]
    value: float = Field(ge=0)

    @property
    def mean_value(self) -> float:
        return self.value


class Exponential(_Strict):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0)

    @property
    def mean_value(self) -> float:
        return self.mean


class LogNormal(_Strict):
    """Log-normal given by its mean and coefficient of variation (sd / mean)."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    cv: float = Field(gt=0)

    @property
    def mean_value(self) -> float:
        return self.mean


class Gamma(_Strict):
    """Gamma given by its mean and coefficient of variation (sd / mean)."""

    dist: Literal["gamma"]
    mean: float = Field(gt=0)
    cv: float = Field(gt=0)

    @property
    def mean_value(self) -> float:
        return self.mean


class Uniform(_Strict):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

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
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)

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

Probability = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]

# Who commissions (pays for) a cost line: seed 000, Appendix 2 and the Must / Should / Could matrix.
COMMISSIONERS = ("nhs", "la_education", "la_social_care", "joint")
FUNDERS = ("nhs", "la_education", "la_social_care")
Commissioner = Literal["nhs", "la_education", "la_social_care", "joint"]
Funder = Literal["nhs", "la_education", "la_social_care"]


# --- services ------------------------------------------------------------------------------------------------


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


class BacklogBand(_Strict):
    """Children already waiting at the start of the run, with ages uniform within the band."""

    n_per_70k: NonNegative = Field(description="children waiting per 70,000 children 0-17")
    age_weeks: tuple[float, float] = Field(description="[youngest, oldest] wait so far, weeks")

    @field_validator("age_weeks")
    @classmethod
    def _ages(cls, v):
        if v[0] < 0 or v[1] < v[0]:
            raise ValueError(f"need 0 <= youngest <= oldest (got {list(v)})")
        return v


class CapacityChange(_Strict):
    """A dated change to a service's PAs a week: '+2 PAs from April', 'a vacancy from month 3 to 9'."""

    start: dt.date = Field(description="first day the change applies (YYYY-MM-DD)")
    end: dt.date | None = Field(None, description="first day it no longer applies; empty = to the end of the run")
    pas_per_week_delta: float = Field(description="PAs a week added (+) or removed (-), same basis as pas_per_week")

    @model_validator(mode="after")
    def _ordered(self):
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class Service(_Strict):
    """A pool of clinician (or officer) sessions answering routine referrals and EHC tasks."""

    label: str = Field(description="name shown in tables and plots")
    kind: Literal["health", "education", "social_care", "local_authority", "designated_officer", "admin", "triage"]
    pas_per_week: NonNegative = Field(description="PAs a week (1 PA = 4 hours) for new-patient and statutory work")
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
    leave_weeks_per_year: NonNegative = Field(6.0, description="weeks of leave a year per clinician")
    routine_referrals_per_week_per_70k: NonNegative = Field(
        0.0, description="routine (non-EHC) referrals a week per 70,000 children"
    )
    routine_appointment_hours: Distribution | None = Field(
        None, description="hours of clinician time for a routine first appointment"
    )
    routine_target_weeks: float = Field(18.0, gt=0, description="routine waiting-time standard, weeks")
    p_missed_appointment: Probability = Field(0.0, description="share of appointments not attended (slot is used)")
    rebook_delay_days: Distribution | None = Field(None, description="days until a missed appointment is rebooked")
    advice: Advice | None = Field(None, description="EHC advice this service gives (if any)")
    backlog: list[BacklogBand] = Field(default_factory=list, description="routine waiting list at the start")
    capacity_changes: list[CapacityChange] = Field(default_factory=list)
    commissioner: Commissioner | None = Field(
        None,
        description="who commissions these PAs: nhs, la_education, la_social_care or joint (pooled budget, split by "
        "costs.joint_split); seed 000 Appendix 2",
    )
    gbp_per_pa: NonNegative | None = Field(
        None, description="cost of one PA (4 hours) with on-costs and overheads, GBP (see sendmodel.costs)"
    )
    gbp_per_hour: NonNegative | None = Field(
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
        return self


# --- the EHC pathway -----------------------------------------------------------------------------------------


class Triage(_Strict):
    """Single point of access for health advice requests (seed 004, Annex A)."""

    enabled: bool = False
    service: str | None = Field(None, description="service that triages (kind: triage)")
    hours: Distribution | None = Field(None, description="hours of triage per EHC request")

    @model_validator(mode="after")
    def _complete(self):
        if self.enabled and (self.service is None or self.hours is None):
            raise ValueError("triage.enabled needs triage.service and triage.hours")
        return self


class Ehc(_Strict):
    """EHC needs-assessment requests and the statutory pathway to a final plan."""

    requests_per_year_per_70k: NonNegative = Field(description="requests for EHC needs assessment a year")
    monthly_profile: list[float] = Field(
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
    family_consultation_days: NonNegative = Field(15.0, description="days the family has to comment on the draft")
    finalise_hours: Distribution = Field(description="LA casework hours to finalise the plan")
    dmo_service: str = Field(description="the Designated Medical/Clinical Officer service")
    dmo_review_hours: Distribution = Field(description="DMO/DCO hours to review and sign off exceptional provision")
    dmo_admin_hours: Distribution = Field(description="admin hours per sign-off (on the DMO/DCO unless supported)")
    admin_support: bool = Field(False, description="admin support funded for the DMO/DCO")
    admin_service: str | None = Field(None, description="service doing DMO/DCO admin when admin_support is on")
    misroute_delay_days: Distribution = Field(description="days lost when an advice request goes to the wrong service")
    triage: Triage = Field(default_factory=Triage)

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
    """Services commissioned as one integrated team (e.g. a 0-25 therapy team, seed 000).

    Pooled services share one queue: any of their clinicians takes the next task of any of them. With a trusted
    assessor, a child not known to several pooled services gets one assessment that serves all their advice.
    """

    label: str = Field(description="name shown in tables and plots")
    services: list[str] = Field(min_length=2, description="services whose capacity is pooled")
    trusted_assessor: bool = Field(False, description="one assessment serves all of a child's pooled advice")
    trusted_assessor_extra_share: float = Field(
        0.25, ge=0, le=1,
        description="extra effort of a joint assessment: the longest single assessment plus this share of the others",
    )


class SetupCost(_Strict):
    """A one-off cost of setting an option up (protocols, recruitment, training, IT)."""

    item: str = Field(description="what the money buys")
    gbp: NonNegative = Field(description="one-off cost, GBP")
    commissioner: Commissioner = Field(description="who pays: nhs, la_education, la_social_care or joint")


class Costs(_Strict):
    """Scenario-level cost settings; unit costs per PA are on each service (see :mod:`sendmodel.costs`)."""

    joint_split: dict[Funder, Probability] = Field(
        default_factory=lambda: {"nhs": 0.5, "la_education": 0.5, "la_social_care": 0.0},
        description="shares of jointly commissioned (pooled, Section 75) costs each funder pays (sum to 1)",
    )
    setup: list[SetupCost] = Field(default_factory=list, description="one-off set-up costs of the option")
    setup_amortise_years: float = Field(
        3.0, gt=0, description="years over which set-up costs are spread in the annual cost"
    )

    @field_validator("joint_split")
    @classmethod
    def _split_sums_to_one(cls, v):
        total = sum(v.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1 (got {total:.6g})")
        return v


class Simulation(_Strict):
    """Run length and calendar."""

    start_date: dt.date = Field(dt.date(2024, 1, 1), description="calendar date at the start of the warm-up")
    warm_up_days: NonNegative = Field(182.0, description="days simulated and then dropped from the KPIs")
    horizon_days: float = Field(365.0, gt=0, description="days measured after the warm-up")
    calendar: Literal["working_days", "always_open"] = Field(
        "working_days",
        description="working_days: PAs laid out as 4-hour sessions Mon-Fri with leave and bank holidays; "
        "always_open: every service runs continuously (validation against queueing theory)",
    )


class Scenario(_Strict):
    """A whole system to simulate. Load with :func:`sendmodel.load_scenario`."""

    name: str = Field(description="short name used in tables")
    description: str = ""
    population: float = Field(gt=0, description="children aged 0-17 in the area")
    simulation: Simulation = Field(default_factory=Simulation)
    ehc: Ehc | None = Field(None, description="the EHC pathway; leave out for routine-only scenarios")
    services: dict[str, Service] = Field(min_length=1)
    pools: dict[str, Pool] = Field(default_factory=dict, description="integrated teams sharing capacity")
    costs: Costs = Field(default_factory=Costs, description="set-up costs and how joint costs are split")
    sources: dict[str, str] = Field(default_factory=dict, description="field path (glob) -> source")

    @property
    def scale(self) -> float:
        """Population as a multiple of 70,000 children."""
        return self.population / REFERENCE_POPULATION

    def service_pas_per_week(self, name: str) -> float:
        s = self.services[name]
        return s.pas_per_week * (self.scale if s.capacity_basis == "per_70k" else 1.0)

    def advice_services(self) -> list[str]:
        return [n for n, s in self.services.items() if s.advice is not None and s.advice.p_requested > 0]

    @model_validator(mode="after")
    def _references(self):
        names = sorted(self.services)
        allowed = f"one of {names}"
        for n in self.services:
            if not n.replace("_", "").isalnum() or not n[0].isalpha():
                raise ValueError(f"services: name {n!r} must be letters, digits and underscores")
        if self.ehc is not None:
            refs = {"ehc.la_service": self.ehc.la_service, "ehc.dmo_service": self.ehc.dmo_service}
            if self.ehc.admin_service is not None:
                refs["ehc.admin_service"] = self.ehc.admin_service
            if self.ehc.triage.service is not None:
                refs["ehc.triage.service"] = self.ehc.triage.service
            for path, ref in refs.items():
                if ref not in self.services:
                    raise _RefError(path, f"unknown service {ref!r}; allowed: {allowed}")
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
        return self


class _RefError(ValueError):
    """A cross-field error that knows its own field path."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message
