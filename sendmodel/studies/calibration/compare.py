"""Run a scenario with a year's published demand and compare its KPIs with that year's SEN2 targets."""

from __future__ import annotations

import calendar
import datetime as dt
import math

import pandas as pd

from sendmodel.analysis.labels import label
from sendmodel.scenario.config import Scenario
from sendmodel.studies.calibration.targets import CALIBRATION_YEAR, published, targets

#: The year the demand of the committed baseline comes from (and the only year it is fitted to).
BASE_YEAR = CALIBRATION_YEAR


def request_outcomes_for(year: int) -> dict[str, float]:
    """Shares of *decided* requests (assessed / refused / withdrawn) for ``year``, as the model takes them.

    The model decides every request; DfE counts some as undecided at year end. The refused share of decided
    requests is DfE's refused share of requests received divided by the calibration year's decided fraction
    (1 - undecided share), so the model's year-end status reproduces DfE's refused share in any year; the
    withdrawn share keeps its calibration-year value (it is published for 2023 and 2024 only).
    """
    b = published(BASE_YEAR)
    decided = b["assessed"] + b["refused"] + b["withdrawn"]
    withdrawn = b["withdrawn"] / decided
    refused = published(year)["refused"] / published(year)["requests"] / (decided / b["requests"])
    refused, withdrawn = round(refused, 4), round(withdrawn, 4)
    return {"assessed": round(1.0 - refused - withdrawn, 4), "refused": refused, "withdrawn": withdrawn}


def p_plan_for(year: int) -> float:
    """Share of assessments ending in a plan (DfE: plans issued / assessments completed)."""
    p = published(year)
    done = p["assessments"]
    if math.isnan(done):
        done = p["assessments_plan"] + p["assessments_no_plan"]
    return round(p["assessments_plan"] / done, 4)


def comparable_years() -> list[int]:
    """Years whose SEN2 release has every figure a comparison needs (requests are published from 2016)."""
    from sendmodel.studies.calibration.targets import available_years

    out = []
    for year in available_years():
        try:
            year_overrides(year)
        except KeyError:
            continue
        out.append(year)
    return out


def year_overrides(year: int) -> dict:
    """Scenario changes that give the model ``year``'s published demand, measured over calendar ``year``.

    Requests a year per 70,000 children, the request outcome shares and the plan share come from SEN2; the run is
    shifted so that the measured window is the calendar year (bank holidays of that year). Everything else (the
    2024 calibration: capacity, task times, delays) is unchanged.
    """
    from sendmodel.studies.calibration.targets import ehc_figures

    f = ehc_figures(year)
    return {
        "ehc.requests_per_year_per_70k": round(f["requests_per_year"], 1),
        "ehc.request_outcomes": request_outcomes_for(year),
        "ehc.p_plan_after_assessment": p_plan_for(year),
    }


def measured_year(scenario: Scenario, year: int) -> dict:
    """Start date and horizon so that the measured window is calendar ``year`` (same warm-up length)."""
    warm = scenario.simulation.warm_up_days
    start = dt.date(year, 1, 1) - dt.timedelta(days=int(round(warm)))
    return {"simulation.start_date": start.isoformat(),
            "simulation.horizon_days": 366.0 if calendar.isleap(year) else 365.0}


def scenario_for_year(scenario: Scenario, year: int) -> Scenario:
    """``scenario`` with ``year``'s published demand, measured over that calendar year."""
    changes = measured_year(scenario, year)
    if year != BASE_YEAR:
        changes.update(year_overrides(year))
    return scenario.override(changes, name=f"{scenario.name}_{year}")


def stability_targets(scenario: Scenario) -> pd.DataFrame:
    """Routine lists that should neither grow nor shrink over the year (no published local figure)."""
    rows = []
    for s, svc in scenario.services.items():
        if svc.kind == "health" and svc.routine_referrals_per_week_per_70k > 0:
            start = sum(b.n_per_70k for b in svc.backlog)
            rows.append(("routine_waiting_change", s, 0.0, max(30.0, 0.10 * start)))
    df = pd.DataFrame(rows, columns=["kpi", "service", "target", "tolerance"])
    df["unit"] = "children"
    df["role"] = "fitted"
    df["source"] = "stability: the routine list is steady (capacity matches demand)"
    return df


def comparison_table(summary: pd.DataFrame, scenario: Scenario, year: int, also=()) -> pd.DataFrame:
    """Targets joined with the model's mean and 95% CI, the error and whether it is within tolerance.

    ``also`` lists KPIs (service ``all``) to include even where ``year`` has no published figure (target NaN).
    """
    t = targets(year)
    if year == BASE_YEAR:
        st = stability_targets(scenario)
        st.insert(0, "year", year)
        t = pd.concat([t, st], ignore_index=True)
    extra = [k for k in also if k not in set(t["kpi"])]
    if extra:
        t = pd.concat([t, pd.DataFrame({"year": year, "kpi": extra, "service": "all", "role": "predicted",
                                        "source": "no published figure"})], ignore_index=True)
    m = summary[["kpi", "service", "n", "mean", "ci_low", "ci_high", "half_width"]]
    out = t.merge(m, on=["kpi", "service"], how="left").rename(columns={"mean": "model_mean"})
    out["error"] = out["model_mean"] - out["target"]
    out["within_tolerance"] = (out["error"].abs() <= out["tolerance"]).where(out["target"].notna())
    out.insert(2, "label", [label(k) + ("" if s == "all" else f" ({scenario.services[s].label})")
                            for k, s in zip(out["kpi"], out["service"])])
    return out


def compare(scenario: Scenario, year: int = BASE_YEAR, replications: int = 20, seed: int = 2024, workers: int = 1,
            keep_events: bool = False):
    """Run ``scenario`` with ``year``'s demand; return (comparison table, Results)."""
    from sendmodel.analysis.experiment import run

    sc = scenario_for_year(scenario, year)
    res = run(sc, replications=replications, seed=seed, workers=workers, keep_events=keep_events)
    return comparison_table(res.summary(), sc, year), res
