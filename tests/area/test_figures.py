"""An LA's published SEN2 figures: found by name or code, read as DfE publishes them, turned into model KPIs."""

import math

import pytest

import sendmodel
from sendmodel.studies.area.figures import AreaError, dmo_dco_in_post, find_la, las, published_for
from sendmodel.studies.area.local import check_population, demand_changes, local_baseline
from sendmodel.studies.calibration.targets import figures_as_kpis, published


def test_every_la_is_listed_once():
    t = las()
    assert 150 <= len(t) <= 155
    assert t["old_la_code"].is_unique and t["new_la_code"].is_unique


@pytest.mark.parametrize("query", ["Newcastle upon Tyne", "newcastle upon tyne", "NEWCASTLE-UPON-TYNE", "391",
                                   "E08000021"])
def test_an_la_is_found_by_name_or_either_code(query):
    assert find_la(query)["la_name"] == "Newcastle upon Tyne"


def test_a_name_that_matches_nothing_suggests_the_nearest():
    with pytest.raises(AreaError, match="did you mean 'Newcastle upon Tyne'"):
        find_la("Newcastel")
    with pytest.raises(AreaError, match="--list"):
        find_la("Atlantis")


def test_published_figures_are_dfe_s_own():
    """Calendar 2023 (reporting year 2024): Newcastle issued 6.5% of plans within 20 weeks, Gateshead 85.3%
    (including exceptions, the figure DfE headlines for that year)."""
    for code, pct in (("391", 6.5), ("390", 85.3)):
        p = published_for(2023, "Local authority", code)
        assert round(100 * p["within_20w_incl"] / p["plans_issued_incl"], 1) == pct


def test_england_from_the_la_files_equals_the_national_extract():
    a, b = published_for(2024, "National"), published(2024)
    for k in ("requests", "refused", "assessments_plan", "within_20w_excl", "plans_issued_excl"):
        assert a[k] == b[k]


def test_figures_as_kpis_scale_counts_not_shares():
    p = published_for(2024, "Local authority", "391")
    k1, k2 = figures_as_kpis(p, 1.0), figures_as_kpis(p, 2.0)
    assert k2["requests_per_year"] == 2 * k1["requests_per_year"] == 2 * p["requests"]
    assert k1["plans_issued_within_20w_pct"] == k2["plans_issued_within_20w_pct"]


def test_a_region_without_population_has_shares_only():
    la = find_la("Gateshead")
    k = figures_as_kpis(published_for(2024, "Regional", la["region_code"]), math.nan)
    assert "requests_per_year" not in k and 0 < k["plans_issued_within_20w_pct"] < 100


def test_dmo_dco_status_is_read_from_the_january_return():
    assert dmo_dco_in_post("391", 2024) == {"dmo": "Yes", "dco": "No"}


@pytest.mark.parametrize("bad", [None, "many", 0, -5, 1e12, float("nan"), float("inf")])
def test_a_missing_or_absurd_population_is_refused(bad):
    with pytest.raises(AreaError, match="aged 0-17"):
        check_population(bad, "Gateshead")


def test_demand_changes_give_shares_of_decided_requests():
    p = published_for(2024, "Local authority", "390")
    ch = demand_changes(p, 41_000, published(2024))
    assert abs(sum(ch["ehc.request_outcomes"].values()) - 1) < 1e-9
    assert ch["ehc.requests_per_year_per_70k"] == round(p["requests"] * 70_000 / 41_000, 1)


def test_uncalibrated_local_file_loads_runs_and_says_where_each_value_comes_from(tmp_path):
    base = sendmodel.load_scenario("scenarios/baseline.yaml")
    lb = local_baseline("Gateshead", 41_000, base=base, calibrate=False)
    path = lb.to_yaml(tmp_path / "gateshead.yaml")
    sc = sendmodel.load_scenario(path)
    assert sc.population == 41_000 and sc.name == "gateshead"
    assert sc.ehc.requests_per_year_per_70k == lb.changes["ehc.requests_per_year_per_70k"]
    src = sc.sources
    assert src["ehc.requests_per_year_per_70k"].startswith("DfE SEN2 2024, Gateshead")
    assert src["population"].startswith("commissioner's input")
    assert all(v.startswith(("national baseline", "DfE SEN2", "commissioner's input", "calibrated to"))
               for v in src.values())
    rec = sendmodel.run_replication(sc.override({"simulation.warm_up_days": 30, "simulation.horizon_days": 60}),
                                    1, 0)
    assert rec["ehc"]["arrival_day"].size > 0
