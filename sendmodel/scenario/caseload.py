"""The published plans-in-force caseload a scenario starts from when it gives none of its own.

Read from the DfE SEN2 extracts in ``data/sen2/`` (nothing typed in): the January caseload by single year of
age, and plans ceased in the year by age, whose ratio is each age's chance that a plan ceases within a year.
National counts are scaled to 70,000 children aged 0-17 by the ONS mid-2023 estimate, as the calibration
targets are. Standard library only: the engine reads these defaults and must not need pandas.
"""

from __future__ import annotations

import csv
from functools import lru_cache

from sendmodel.common.paths import data_file
from sendmodel.scenario.config import REFERENCE_POPULATION

#: The January caseload the model starts from (the 2025 release: plans in force in January 2025) and the
#: calendar year of plans ceased that goes with it (ceased in 2024, over the January 2024 caseload).
CASELOAD_PERIOD, CEASED_YEAR, CEASED_OVER_PERIOD = "202425", "2024", "202324"
SOURCE = ("DfE SEN2 2025 release: caseload.csv (plans in force, January, by age), ceased_plans.csv (plans "
          "ceased in 2024 by age) and newplans.csv (new plans in 2024 by age when the plan started), national; "
          "scaled to 70,000 children 0-17 by ONS mid-2023")


def _rows(name: str) -> list[dict[str, str]]:
    with open(data_file(f"sen2/{name}"), encoding="utf-8-sig", newline="") as f:
        return [r for r in csv.DictReader(f) if r["geographic_level"] == "National"]


def _age(label: str) -> int | None:
    """'age 7' / 'Aged 7' -> 7, 'under 3' / 'age 2 and under' -> 2, 'age 20 and over' -> 20; else None."""
    words = label.lower().split()
    if label.lower() == "under 3":
        return 2
    if len(words) >= 2 and words[0] in ("age", "aged") and words[1].isdigit():
        return int(words[1])
    return None


def _by_age(rows, period_col: str, period: str, topic: str, value: str, less: str | None = None
            ) -> dict[int, float]:
    out: dict[int, float] = {}
    for r in rows:
        if r[period_col] == period and r["breakdown_topic"] == topic:
            a = _age(r["breakdown"])
            if a is not None:
                out[a] = out.get(a, 0.0) + float(r[value]) - (float(r[less]) if less else 0.0)
    return out


@lru_cache(maxsize=1)
def children_0_17() -> int:
    """England's children aged 0-17, ONS mid-2023: the denominator of every 'per 70,000' figure (the
    calibration's targets too)."""
    with open(data_file("ons/england_mid2023_single_year_age_0_25.csv"), encoding="utf-8-sig") as f:
        return sum(int(r["persons"]) for r in csv.DictReader(f) if r["age"].isdigit() and int(r["age"]) <= 17)


@lru_cache(maxsize=1)
def published_caseload_by_age() -> dict[int, float]:
    """Plans in force in England in January 2025 by age (0-25)."""
    return _by_age(_rows("caseload_la.csv"), "time_period", CASELOAD_PERIOD, "Child or young persons age", "ehcplans")


@lru_cache(maxsize=1)
def published_plans_per_70k() -> float:
    """Plans in force in January 2025 per 70,000 children aged 0-17 (plans run to 25; the scale is 0-17)."""
    return sum(published_caseload_by_age().values()) * REFERENCE_POPULATION / children_0_17()


@lru_cache(maxsize=1)
def published_cessation_by_age() -> dict[int, float]:
    """Share of the January 2024 caseload at each age whose plan ceased in 2024 (DfE's "age plan ceased" over
    the caseload by age; "20 and over" is shared by ages 20-25). At most 1. A plan "ceased" because the young
    person moved to another LA in England (DfE's ``transfer``, 31% of the 2024 count) continues there, so it is
    not counted: nationally that leaves 30,909 of 44,862."""
    ceased = _by_age(_rows("ceased_plans_national.csv"), "time_period", CEASED_YEAR, "Age plan ceased",
                     "total_ceased", less="transfer")
    held = _by_age(_rows("caseload_la.csv"), "time_period", CEASED_OVER_PERIOD, "Child or young persons age",
                   "ehcplans")
    out = {}
    older = sum(v for a, v in held.items() if a >= 20)
    for a in range(26):
        if a >= 20:
            out[a] = min(1.0, ceased.get(20, 0.0) / older) if older else 1.0
        elif held.get(a):
            out[a] = min(1.0, ceased.get(a, 0.0) / held[a])
    return out


@lru_cache(maxsize=1)
def published_new_plan_ages() -> dict[int, float]:
    """New plans in England in 2024 by age when the plan started ("2 and under" as 2, "20 and over" as 20)."""
    return _by_age(_rows("newplans_national.csv"), "time_period", CEASED_YEAR, "Age when plan started",
                   "new_ehc_plans")


def appeal_rate(tribunals) -> float:
    """The share of issued plans appealed: ``tribunals.p_appeal``, or the published England rate when empty."""
    return published_appeal_rate() if tribunals.p_appeal is None else tribunals.p_appeal


@lru_cache(maxsize=1)
def published_appeal_rate() -> float:
    """England's SEND Tribunal appeal rate in 2024: appeals registered over appealable decisions (MoJ/DfE "SEND
    Appeal rate table 1", the row "England Total"; 22,276 of 689,739)."""
    with open(data_file("sen2/send_tribunal_appeal_rate_2014_2024.csv"), encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    years = next(r for r in rows if r and r[0] == "Local Authority")
    col = years.index("2024")
    total = next(r for r in rows if r and r[0].startswith("England Total"))
    num = lambda x: float(x.replace(",", "").strip())  # noqa: E731
    return num(total[col]) / num(total[col + 1])


#: The requests-by-age year the ages 0-25 mechanism follows (calendar 2024, the calibration's year).
REQUESTS_YEAR = "2024"
REQUESTS_SOURCE = ("DfE SEN2 2024, England: requests for EHC needs assessment received in the year by age "
                   "(requests.csv, 'Child or young persons age'); '2 and under' shared by ages 0-2, '20 and over' "
                   "by 20-25")


def _spread(by_age: dict[int, float]) -> dict[int, float]:
    """Single years 0-25 from DfE's bands: '2 and under' (as 2) shared by 0-2, '20 and over' (20) by 20-25."""
    out = {a: by_age.get(a, 0.0) for a in range(26)}
    out[0] = out[1] = out[2] = by_age.get(2, 0.0) / 3
    for a in range(20, 26):
        out[a] = by_age.get(20, 0.0) / 6
    return out


@lru_cache(maxsize=1)
def published_requests_by_age() -> dict[int, float]:
    """Requests received in England in 2024 at each age 0-25 (single years; see :data:`REQUESTS_SOURCE`)."""
    return _spread(_by_age(_rows("requests_national.csv"), "time_period", REQUESTS_YEAR,
                           "Child or young persons age", "requests_received_in_year"))


@lru_cache(maxsize=1)
def published_assess_rate_by_age() -> dict[int, float]:
    """Share of 2024's requests at each age that the LA agreed to assess (DfE's request_assess_pc / 100)."""
    rows = _rows("requests_national.csv")
    rate = {}
    for r in rows:
        if r["time_period"] == REQUESTS_YEAR and r["breakdown_topic"] == "Child or young persons age":
            a = _age(r["breakdown"])
            if a is not None and r["request_assess_pc"] not in ("", "x", "z", "c"):
                rate[a] = float(r["request_assess_pc"]) / 100.0
    out = {a: rate.get(a, 0.0) for a in range(26)}
    out[0] = out[1] = rate.get(2, 0.0)
    for a in range(21, 26):
        out[a] = rate.get(20, 0.0)
    return out


@lru_cache(maxsize=1)
def published_20w_by_age_band() -> dict[str, float]:
    """England's plans issued in 2024 within 20 weeks (excluding exceptions, as the calibration), % by the age
    bands of :data:`~sendmodel.scenario.config.AGE_BANDS` ('age 0-4', ...): DfE SEN2 2024, timeliness by age."""
    from sendmodel.scenario.config import AGE_BANDS

    rows = [r for r in _rows("timeliness_20_week_national.csv")
            if r["time_period"] == REQUESTS_YEAR and r["breakdown_topic"] == "Child or young persons age"]
    num: dict[int, float] = {}
    den: dict[int, float] = {}
    for r in rows:
        a = _age(r["breakdown"])
        if a is not None:
            num[a] = num.get(a, 0.0) + float(r["plans_issued_20_weeks_ex"])
            den[a] = den.get(a, 0.0) + float(r["plans_issued_den_ex"])
    out = {}
    for lo, hi in AGE_BANDS:
        n = sum(v for a, v in num.items() if lo <= a <= hi)
        d = sum(v for a, v in den.items() if lo <= a <= hi)
        out[f"age {lo}-{hi}"] = 100.0 * n / d if d else float("nan")
    return out
