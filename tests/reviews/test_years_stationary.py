"""Over years: with no trend the yearly KPIs of a warmed-up baseline stay level (no drift beyond their CIs);
with demand growing 10% a year the open requests, the plans in force and the waiting lists grow, and the
timeliness KPIs say so."""

from __future__ import annotations

import numpy as np
import pytest

import sendmodel
from tests.conftest import SCENARIOS

LEVEL = ("decisions_within_6w_pct", "plans_within_20w_pct", "requests_open_end", "plans_issued_per_year")


@pytest.fixture(scope="module")
def three_years():
    sc = sendmodel.load_scenario(SCENARIOS / "baseline.yaml").override({
        "simulation.horizon_days": 3 * 365, "ehc.reviews.enabled": True,
        "ehc.reviews.la_hours": {"dist": "fixed", "value": 0.0}})  # the caseload, without its review work
    level = sendmodel.run(sc, 6, seed=9, workers=2).periods
    grow = sendmodel.run(sc.override({"ehc.growth_per_year": 0.10}), 6, seed=9, workers=2).periods
    return level, grow


def _by_year(periods, kpi, service="all"):
    p = periods[(periods["period_kind"] == "calendar") & (periods["kpi"] == kpi) & (periods["service"] == service)]
    p = p[p["days"] >= 360]
    return p.pivot(index="replication", columns="period", values="value")


def test_no_trend_no_drift(three_years):
    level, _ = three_years
    for kpi in LEVEL:
        t = _by_year(level, kpi)
        first, last = t.iloc[:, 0], t.iloc[:, -1]
        d = (last - first).to_numpy()
        se = d.std(ddof=1) / np.sqrt(d.size)
        assert abs(d.mean()) <= 4 * se + 1e-9 or abs(d.mean()) <= 0.03 * abs(first.mean()), kpi


def test_growth_shows_in_the_caseload_lists_and_timeliness(three_years):
    level, grow = three_years
    last = lambda p, k, s="all": _by_year(p, k, s).iloc[:, -1].mean()  # noqa: E731
    assert last(grow, "plans_issued_per_year") > 1.1 * last(level, "plans_issued_per_year")
    assert last(grow, "requests_open_end") > 1.1 * last(level, "requests_open_end")
    assert last(grow, "plans_in_force_end") > last(level, "plans_in_force_end")
    assert last(grow, "waiting_list_end", "educational_psychology") > last(level, "waiting_list_end",
                                                                           "educational_psychology")
    assert last(grow, "plans_within_20w_pct") < last(level, "plans_within_20w_pct")
    g = _by_year(grow, "requests_open_end").mean()
    assert list(g) == sorted(g)  # and it grows year on year
