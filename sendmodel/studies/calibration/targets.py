"""Calibration targets read from the published DfE SEN2, ONS and NHS community-health figures in ``data/``.

Every target is computed here from the files (nothing typed in): national counts are scaled to 70,000 children
aged 0-17 with the ONS mid-2023 estimate, and shares are taken as DfE defines them. The model has no statutory
exceptions to the 20-week limit, so plan timeliness is compared with DfE's figures *excluding* exceptions (the
headline measure); the including-exceptions figures are kept in :func:`published` for reference.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd

from sendmodel.common.paths import data_dir, data_file  # noqa: F401  (data_dir: where the extracts are, for callers)
from sendmodel.scenario.caseload import children_0_17
from sendmodel.scenario.config import REFERENCE_POPULATION

SEN2 = "sen2"
#: The year the baseline is calibrated to; other years are back-tests.
CALIBRATION_YEAR = 2024

#: Calibration tolerances, by KPI: the model is "within tolerance" when its mean is this close to the target.
TOLERANCE = {
    "requests_per_year": ("relative", 0.03),
    "requests_refused_pct": ("absolute", 3.0),
    "requests_assessed_pct": ("absolute", 3.0),
    "requests_undecided_pct": ("absolute", 3.0),
    "decisions_made_within_6w_pct": ("absolute", 3.0),
    "assessments_plan_pct": ("absolute", 3.0),
    "not_to_issue_within_16w_pct": ("absolute", 8.0),
    "plans_issued_within_20w_pct": ("absolute", 3.0),
    "plans_issued_20_to_52w_pct": ("absolute", 3.0),
    "plans_issued_over_52w_pct": ("absolute", 3.0),
    "plan_weeks_mean": ("absolute", 1.5),
    "routine_waiting_mean": ("relative", 0.10),
    "routine_wait_mean_weeks": ("absolute", 3.0),
    "routine_waiting_within_18w_pct": ("absolute", 5.0),
}


def _read(rel: str) -> pd.DataFrame:
    return pd.read_csv(data_file(rel), encoding="utf-8-sig", dtype=str, keep_default_na=False)




def per_70k() -> float:
    """Factor from national counts to a population of 70,000 children 0-17."""
    return REFERENCE_POPULATION / children_0_17()


def _num(v) -> float:
    """A DfE cell as a number (``x``/``z``/empty -> NaN)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _national_all(rel: str, year: int) -> dict[str, float] | None:
    df = _read(rel)
    row = df[(df["time_period"] == str(year)) & df["breakdown_topic"].str.startswith("All")]
    if row.empty:
        return None
    return {k: _num(v) for k, v in row.iloc[0].items()}


@lru_cache(maxsize=16)
def published(year: int) -> dict[str, float]:
    """One calendar year's national SEN2 figures (counts and DfE percentages), NaN where not published.

    2019-2024 come from the 2025 release files; a year they lack (2025) and the mean weeks to issue come from the
    derived national time series (transcribed from the 2026 release, see data/README.md).
    """
    req = _national_all(f"{SEN2}/requests_national.csv", year)
    ass = _national_all(f"{SEN2}/assessments_national.csv", year)
    tim = _national_all(f"{SEN2}/timeliness_20_week_national.csv", year)
    ts = _read(f"{SEN2}/national_timeseries_2014_2025.csv")
    trow = ts[ts["calendar_year"] == str(year)]
    t = {k: _num(v) for k, v in trow.iloc[0].items()} if not trow.empty else {}
    if req is None and not t:
        raise KeyError(f"no SEN2 figures for {year}; years available: {available_years()}")
    return counts_from_rows(year, req, ass, tim, t)


def counts_from_rows(year: int, req: dict | None, ass: dict | None, tim: dict | None, t: dict) -> dict[str, float]:
    """SEN2 counts by name from one geography's "All" rows of the requests, assessments and timeliness files
    (any may be None) and, for England, the derived time series ``t`` (else empty)."""
    nan = math.nan
    out: dict[str, float] = {"year": float(year)}
    if req is not None:
        out.update(
            requests=req["requests_received_in_year"],
            assessed=req["requests_decided_to_assess"],
            refused=req["requests_decided_not_to_assess"],
            undecided=req["requests_decision_not_made"],
            withdrawn=req["requests_withdrawn"],
            decisions_within_6w=req["request_outcome_six_weeks"],
            decisions_after_6w=req["request_outcome_over_6_weeks"],
        )
    else:
        out.update(
            requests=t.get("initial_requests", nan),
            assessed=t.get("requests_decided_to_assess", nan),
            refused=t.get("requests_refused", nan),
            undecided=nan,
            withdrawn=nan,
            decisions_within_6w_pct=t.get("request_decision_within_6wks_pct", nan),
        )
    if ass is not None:
        out.update(
            assessments=ass["assess_in_year"],
            assessments_plan=ass["assess_issued"],
            assessments_no_plan=ass["assess_not_issued"],
            not_to_issue_within_16w=ass["outcome_decision_within_time"],
            not_to_issue_after_16w=ass["outcome_decision_over_time"],
        )
    else:
        done, no_plan = t.get("assessments_completed", nan), t.get("assessed_plan_not_issued", nan)
        out.update(assessments=done, assessments_plan=done - no_plan, assessments_no_plan=no_plan)
    if tim is not None:
        out.update(
            plans_issued_excl=tim["plans_issued_den_ex"],
            within_20w_excl=tim["plans_issued_20_weeks_ex"],
            from_20_to_52w_excl=tim["plans_issued_gt20weeks_ltYear_ex"],
            over_52w_excl=tim["plans_issued_gt_1_year_ex"],
            plans_issued_incl=tim["plans_issued_den"],
            within_20w_incl=tim["plans_issued_within_20_weeks"],
        )
    else:
        out.update(
            plans_issued_excl=t.get("plans_issued_excl_exc", nan),
            within_20w_excl=t.get("within20_excl_exc", nan),
            plans_issued_incl=t.get("plans_issued_incl_exc", nan),
            within_20w_incl=t.get("within20_incl_exc", nan),
        )
    out["mean_weeks_excl"] = t.get("avg_weeks_to_issue_excl", nan)
    out["mean_weeks_incl"] = t.get("avg_weeks_to_issue_incl", nan)
    return out


def available_years() -> list[int]:
    ts = _read(f"{SEN2}/national_timeseries_2014_2025.csv")
    req = _read(f"{SEN2}/requests_national.csv")
    return sorted({int(y) for y in ts["calendar_year"]} | {int(y) for y in req["time_period"]})


def _pct(a: float, b: float) -> float:
    return 100.0 * a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def ehc_figures(year: int) -> dict[str, float]:
    """The SEN2 figures for ``year`` as model KPIs: code -> value (per 70,000 children 0-17, or %)."""
    return figures_as_kpis(published(year), per_70k())


def figures_as_kpis(p: dict[str, float], f: float) -> dict[str, float]:
    """Published SEN2 counts (as :func:`published` gives them, for England or one area) as model KPIs: counts
    times ``f`` (to 70,000 children), shares in % as DfE defines them; figures not published are left out."""
    dec = p.get("decisions_within_6w", math.nan) + p.get("decisions_after_6w", math.nan)
    dec_pct = _pct(p.get("decisions_within_6w", math.nan), dec)
    if math.isnan(dec_pct):
        dec_pct = p.get("decisions_within_6w_pct", math.nan)
    # Assessments completed: the 2022+ collection counts every outcome (plan, no plan, withdrawn, not made);
    # the old collection only plans and no plans.
    done = p["assessments"]
    if math.isnan(done):
        done = p["assessments_plan"] + p["assessments_no_plan"]
    out = {
        "requests_per_year": p["requests"] * f,
        "requests_refused_pct": _pct(p["refused"], p["requests"]),
        "requests_assessed_pct": _pct(p["assessed"], p["requests"]),
        "requests_undecided_pct": _pct(p["undecided"], p["requests"]),
        "decisions_made_within_6w_pct": dec_pct,
        "assessments_plan_pct": _pct(p["assessments_plan"], done),
        "not_to_issue_within_16w_pct": _pct(
            p.get("not_to_issue_within_16w", math.nan),
            p.get("not_to_issue_within_16w", math.nan) + p.get("not_to_issue_after_16w", math.nan),
        ),
        "plans_issued_within_20w_pct": _pct(p["within_20w_excl"], p["plans_issued_excl"]),
        "plans_issued_20_to_52w_pct": _pct(p.get("from_20_to_52w_excl", math.nan), p["plans_issued_excl"]),
        "plans_issued_over_52w_pct": _pct(p.get("over_52w_excl", math.nan), p["plans_issued_excl"]),
        "plan_weeks_mean": p["mean_weeks_excl"],
    }
    return {k: v for k, v in out.items() if not math.isnan(v)}


def routine_figures() -> dict[tuple[str, str], float]:
    """Community-health waiting-list targets per 70,000 children: (kpi, service) -> value."""
    chs = _read("nhs_chs/community_health_waiting_lists.csv").set_index("measure")["value"].astype(float)
    f = per_70k()
    slt_short, slt_long = chs["slt_waiting_within_18_weeks"], chs["slt_waiting_over_18_weeks"]
    return {
        ("routine_waiting_mean", "community_paediatrics"): chs["cyp_waiting_community_health_services"]
        * chs["community_paediatrics_share_of_cyp_waiting"] / 100.0 * f,
        ("routine_wait_mean_weeks", "community_paediatrics"): chs["community_paediatrics_average_wait"],
        ("routine_waiting_mean", "slt"): chs["slt_waiting"] * f,
        ("routine_waiting_within_18w_pct", "slt"): 100.0 * slt_short / (slt_short + slt_long),
    }


#: How each target is used: an input set directly from the data, fitted by calibration, or a check only.
ROLE = {
    "requests_per_year": "input",
    "requests_refused_pct": "input",
    "requests_assessed_pct": "input",
    "assessments_plan_pct": "input",
    "requests_undecided_pct": "fitted",
    "decisions_made_within_6w_pct": "fitted",
    "not_to_issue_within_16w_pct": "fitted",
    "plans_issued_within_20w_pct": "fitted",
    "plans_issued_20_to_52w_pct": "fitted",
    "plans_issued_over_52w_pct": "fitted",
    "plan_weeks_mean": "fitted",
    "routine_waiting_mean": "fitted",
    "routine_wait_mean_weeks": "fitted",
    "routine_waiting_within_18w_pct": "fitted",
}

SOURCES = {
    "requests_per_year": "SEN2 requests: received in year x 70,000 / ONS 0-17",
    "requests_refused_pct": "SEN2 requests: decided not to assess / received",
    "requests_assessed_pct": "SEN2 requests: decided to assess / received",
    "requests_undecided_pct": "SEN2 requests: decision not made at year end / received",
    "decisions_made_within_6w_pct": "SEN2 requests: decisions within 6 weeks / decisions made",
    "assessments_plan_pct": "SEN2 assessments: plan issued / assessments completed",
    "not_to_issue_within_16w_pct": "SEN2 assessments: 'not to issue' decisions within 16 weeks",
    "plans_issued_within_20w_pct": "SEN2 timeliness: within 20 weeks, excl. exceptions",
    "plans_issued_20_to_52w_pct": "SEN2 timeliness: over 20 weeks and under a year, excl. exceptions",
    "plans_issued_over_52w_pct": "SEN2 timeliness: over a year, excl. exceptions",
    "plan_weeks_mean": "SEN2 2026 release: average weeks to issue, excl. exceptions",
    "routine_waiting_mean": "NHS CHS waiting list (as reported) x 70,000 / ONS 0-17",
    "routine_wait_mean_weeks": "NHS Confederation/NHS Providers survey: average wait",
    "routine_waiting_within_18w_pct": "NHS CHS data (as reported): share waiting 18 weeks or less",
}


def tolerance(kpi: str, target: float) -> float:
    kind, tol = TOLERANCE[kpi]
    return tol * abs(target) if kind == "relative" else tol


def targets(year: int = 2024, routine: bool | None = None) -> pd.DataFrame:
    """The calibration targets for ``year``: kpi, service, target, tolerance, unit, role, source.

    The routine waiting-list targets are 2023-2025 snapshots; they are included for 2024 (the calibration year)
    unless ``routine`` says otherwise.
    """
    from sendmodel.analysis.labels import KPI_UNITS

    rows = [(k, "all", v) for k, v in ehc_figures(year).items()]
    if routine if routine is not None else year == CALIBRATION_YEAR:
        rows += [(k, s, v) for (k, s), v in routine_figures().items()]
    df = pd.DataFrame(rows, columns=["kpi", "service", "target"])
    df["tolerance"] = [tolerance(k, v) for k, v in zip(df["kpi"], df["target"])]
    df["unit"] = df["kpi"].map(KPI_UNITS).fillna("")
    df["role"] = df["kpi"].map(ROLE)
    if year != CALIBRATION_YEAR:
        df.loc[df["role"] == "fitted", "role"] = "predicted"
    df["source"] = df["kpi"].map(SOURCES)
    df.insert(0, "year", year)
    return df
