"""Back-test: each other year's published demand through the 2024 calibration, against that year's figures.

Only demand changes (requests a year, refusal share, plan share, the calendar); capacity, task times and delays
stay as fitted to 2024. In reality capacity changed too, so a miss says as much about the capacity of that
year as about the model. A second, equally simple variant lets the LA's own capacity (SEND casework and
educational psychology PAs) follow demand in proportion, which brackets the answer.
"""

from __future__ import annotations

import pandas as pd

from sendmodel.scenario.config import Scenario
from sendmodel.studies.calibration.compare import BASE_YEAR, comparison_table, scenario_for_year
from sendmodel.studies.calibration.targets import ehc_figures

BACKTEST_YEARS = (2019, 2021, 2023, 2025)
HEADLINE = ("plans_issued_within_20w_pct", "plan_weeks_mean")
LA_CAPACITY = ("la_casework", "educational_psychology")


def capacity_follows_demand(scenario: Scenario, year: int) -> Scenario:
    """LA casework and EP PAs scaled by ``year``'s requests over the calibration year's."""
    ratio = ehc_figures(year)["requests_per_year"] / ehc_figures(BASE_YEAR)["requests_per_year"]
    changes = {f"services.{s}.pas_per_week": round(scenario.services[s].pas_per_week * ratio, 2)
               for s in LA_CAPACITY if s in scenario.services}
    return scenario.override(changes)


def backtest(scenario: Scenario, years=BACKTEST_YEARS, replications: int = 10, seed: int = 2024, workers: int = 1,
             variants: bool = True, log=print) -> pd.DataFrame:
    """Long table: year, variant, kpi, published target, model mean and 95% CI, error, role.

    ``variant`` is ``capacity_2024`` (the calibration unchanged) or ``capacity_follows_demand``. The calibration
    year is included for reference (role ``fitted``).
    """
    from sendmodel.analysis.experiment import run

    rows = []
    for year in sorted(set(years) | {BASE_YEAR}):
        base = scenario_for_year(scenario, year)
        runs = [("capacity_2024", base)]
        if variants and year != BASE_YEAR:
            runs.append(("capacity_follows_demand", capacity_follows_demand(base, year)))
        for variant, sc in runs:
            res = run(sc, replications, seed, workers=workers, keep_events=False)
            t = comparison_table(res.summary(), sc, year, also=HEADLINE)
            t = t[t["service"] == "all"].copy()
            t.insert(1, "variant", variant)
            rows.append(t)
            h = t[t["kpi"].isin(HEADLINE)].set_index("kpi")
            log(f"  {year} {variant}: " + ", ".join(
                f"{k} published {h.loc[k, 'target']:.1f} model {h.loc[k, 'model_mean']:.1f}" for k in h.index))
    return pd.concat(rows, ignore_index=True)


def headline_table(bt: pd.DataFrame) -> pd.DataFrame:
    """One row per year: requests per 70,000, published vs predicted 20-week share and mean weeks (with CI)."""
    out = []
    for year, g in bt.groupby("year"):
        req = g[(g["kpi"] == "requests_per_year")]["target"].iloc[0]
        row = {"year": year, "requests_per_70k": round(req, 0)}
        for kpi, short in (("plans_issued_within_20w_pct", "within_20w_pct"), ("plan_weeks_mean", "mean_weeks")):
            k = g[g["kpi"] == kpi]
            row[f"{short}_published"] = k["target"].iloc[0]
            for variant, tag in (("capacity_2024", "model"), ("capacity_follows_demand", "model_cap_follows")):
                v = k[k["variant"] == variant]
                if len(v):
                    r = v.iloc[0]
                    row[f"{short}_{tag}"] = r["model_mean"]
                    row[f"{short}_{tag}_ci"] = f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]"
        out.append(row)
    return pd.DataFrame(out)
