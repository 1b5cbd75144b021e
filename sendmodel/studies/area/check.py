"""Does a local baseline reproduce its LA? Calibrated to each of several LAs spread over the range of published
20-week shares, and back-tested: calibrated to one year, driven by the next year's published demand, against
that next year's published figures.

The check needs each LA's 0-17 population, which sendmodel does not ship; it uses a proxy (England's children
0-17 times the LA's share of England's EHC plans in force), which sets the LA's requests per 70,000 children and
so the load on the national-baseline health services. A commissioner gives the real population.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sendmodel.scenario.config import REFERENCE_POPULATION, Scenario
from sendmodel.studies.area.figures import las, published_for
from sendmodel.studies.area.local import benchmark, demand_changes, local_baseline
from sendmodel.studies.calibration.compare import measured_year
from sendmodel.studies.calibration.targets import children_0_17, figures_as_kpis

CHECK_KPIS = ("plans_issued_within_20w_pct", "decisions_made_within_6w_pct")


def proxy_population(code: str, year: int) -> float:
    """England's children 0-17 times the LA's share of England's plans in force (January after ``year``)."""
    la = published_for(year, "Local authority", code)["plans_in_force_january_after"]
    eng = published_for(year, "National")["plans_in_force_january_after"]
    return float(round(children_0_17() * la / eng, -2))


def spread_las(n: int, year: int = 2024) -> pd.DataFrame:
    """``n`` LAs at evenly spaced quantiles of the published share of plans within 20 weeks (excl. exceptions)."""
    rows = []
    for _, r in las().iterrows():
        try:
            k = figures_as_kpis(published_for(year, "Local authority", r["old_la_code"]), 1.0)
            k_prev = figures_as_kpis(published_for(year - 1, "Local authority", r["old_la_code"]), 1.0)
        except ValueError:
            continue
        if all(x in k and x in k_prev for x in CHECK_KPIS) and k["requests_per_year"] >= 200:
            rows.append({**r.to_dict(), "within_20w": k["plans_issued_within_20w_pct"]})
    df = pd.DataFrame(rows).sort_values("within_20w").reset_index(drop=True)
    idx = np.unique(np.round(np.linspace(0.05, 0.95, n) * (len(df) - 1)).astype(int))
    return df.iloc[idx].reset_index(drop=True)


def check_area(code: str, base: Scenario, year: int = 2024, replications: int = 6, check_replications: int = 20,
               seed: int = 7, workers: int = 1, log=lambda msg: None) -> list[dict]:
    """Rows (la, test, kpi, published, model, ci_low, ci_high, error): the fit to ``year`` and the back-test
    (calibrated to ``year - 1``, driven by ``year``'s published demand)."""
    pop = proxy_population(code, year)
    out = []
    lb = local_baseline(code, pop, base=base, year=year, replications=replications, seed=seed, workers=workers,
                        log=log)
    b = benchmark(lb, check_replications, seed=2024, workers=workers).set_index("kpi")
    name = lb.la["la_name"]
    for kpi in CHECK_KPIS:
        out.append({"la": name, "test": f"fit to {year}", "kpi": kpi, "published": b.loc[kpi, name],
                    "model": b.loc[kpi, "model"], "ci_low": b.loc[kpi, "model_ci_low"],
                    "ci_high": b.loc[kpi, "model_ci_high"], "population_proxy": pop, "notes": "; ".join(lb.notes)})
    prev = local_baseline(code, pop, base=base, year=year - 1, replications=replications, seed=seed,
                          workers=workers, log=log)
    p = published_for(year, "Local authority", code)
    from sendmodel.studies.calibration.targets import published

    driven = prev.scenario.override({**demand_changes(p, pop, published(year)), **measured_year(prev.scenario, year)})
    from sendmodel.analysis.experiment import run

    summ = run(driven, check_replications, 2024, workers=workers, keep_events=False).summary()
    s = summ[summ["service"] == "all"].set_index("kpi")
    target = figures_as_kpis(p, REFERENCE_POPULATION / pop)
    for kpi in CHECK_KPIS:
        out.append({"la": name, "test": f"back-test: fitted to {year - 1}, {year} demand", "kpi": kpi,
                    "published": target.get(kpi, math.nan), "model": s.loc[kpi, "mean"],
                    "ci_low": s.loc[kpi, "ci_low"], "ci_high": s.loc[kpi, "ci_high"], "population_proxy": pop,
                    "notes": "; ".join(prev.notes)})
    return out


def check_areas(n: int, base: Scenario, year: int = 2024, replications: int = 6, check_replications: int = 20,
                workers: int = 1, log=lambda msg: None, progress=lambda la: None) -> pd.DataFrame:
    """:func:`check_area` for ``n`` LAs spread over the published 20-week shares."""
    rows = []
    for _, r in spread_las(n, year).iterrows():
        progress(r["la_name"])
        rows += check_area(r["old_la_code"], base, year, replications, check_replications, workers=workers, log=log)
    df = pd.DataFrame(rows)
    df["error"] = df["model"] - df["published"]
    return df
