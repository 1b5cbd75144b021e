"""Costs: unit costs and commissioners in the scenario format; cost lines add up; who pays."""

import math

import pytest

import sendmodel
from sendmodel.analysis.costs import cost_kpis, cost_lines
from sendmodel.scenario.config import COMMISSIONERS, FUNDERS
from sendmodel.scenario.loading import source_for
from tests.conftest import SCENARIOS

WEEKS_PER_YEAR = 365.25 / 7


def _kpis(sc):
    return {(k, s): v for k, s, v in cost_kpis(sc)}


@pytest.mark.parametrize("name", ["status_quo", "dmo_2pa_admin", "spa_triage", "reserved_slots", "extra_pas",
                                  "pooled_therapy", "combined_front_door"])
def test_costs_add_up(options, name):
    sc = options[name]
    k = _kpis(sc)
    total = k[("cost_total_gbp", "all")]
    by_comm = sum(k[("cost_gbp", c)] for c in COMMISSIONERS)
    by_funder = sum(k[("cost_funded_gbp", f)] for f in FUNDERS)
    lines = sum(ln["gbp_per_year"] for ln in cost_lines(sc))
    assert total > 0
    assert by_comm == pytest.approx(total, rel=1e-12), f"{name}: commissioners sum to {by_comm}, total {total}"
    assert by_funder == pytest.approx(total, rel=1e-12), f"{name}: funders sum to {by_funder}, total {total}"
    assert lines == pytest.approx(total, rel=1e-12), f"{name}: lines sum to {lines}, total {total}"


def test_every_costed_baseline_service_names_its_commissioner_and_source(baseline):
    for name, svc in baseline.services.items():
        assert svc.cost_per_pa_gbp is not None, f"{name} has no unit cost"
        assert svc.commissioner in COMMISSIONERS, f"{name}: commissioner {svc.commissioner!r}"
        for field in ("commissioner", "gbp_per_pa" if svc.gbp_per_pa is not None else "gbp_per_hour"):
            src = source_for(baseline, f"services.{name}.{field}")
            assert src != "assumption: replace with local data", f"services.{name}.{field} has no source or note"


def test_responsible_commissioners_follow_seed_000_appendix_2(baseline):
    """CCG (NHS): community paediatrics, physiotherapy; shared CCG and LA: SLT, OT, CAMHS."""
    got = {s: baseline.services[s].commissioner for s in ("community_paediatrics", "physio", "slt", "ot", "camhs")}
    assert got == {"community_paediatrics": "nhs", "physio": "nhs", "slt": "joint", "ot": "joint",
                   "camhs": "joint"}, got
    assert baseline.services["educational_psychology"].commissioner == "la_education"
    assert baseline.services["social_care"].commissioner == "la_social_care"


def test_extra_cost_of_dmo_option_by_hand(options):
    """+1 DMO/DCO PA at GBP 560 and 2.5 admin PAs at GBP 30 an hour, a year, plus GBP 3,000 set-up over 3 years."""
    base = _kpis(options["status_quo"])[("cost_total_gbp", "all")]
    dmo = _kpis(options["dmo_2pa_admin"])
    expected = (1 * 560 + 2.5 * 4 * 30) * WEEKS_PER_YEAR + 3000 / 3
    assert dmo[("cost_total_gbp", "all")] - base == pytest.approx(expected, rel=1e-9)
    assert dmo[("cost_setup_once_gbp", "all")] == 3000
    assert dmo[("cost_funded_gbp", "nhs")] - _kpis(options["status_quo"])[("cost_funded_gbp", "nhs")] == (
        pytest.approx(expected, rel=1e-9)), "the ICB pays for the DMO/DCO PAs and admin support"


def test_joint_costs_split_between_funders(options):
    sc = options["pooled_therapy"]
    base = _kpis(options["status_quo"])
    k = _kpis(sc)
    setup = sum(s.gbp for s in sc.costs.setup) / sc.costs.setup_amortise_years
    for f in FUNDERS:
        got = k[("cost_funded_gbp", f)] - base[("cost_funded_gbp", f)]
        assert got == pytest.approx(setup * sc.costs.joint_split[f], rel=1e-9), f"{f} pays {got}"


def test_dated_capacity_changes_are_costed_for_the_days_they_apply(baseline):
    sim = baseline.simulation
    start = sim.start_date
    import datetime as dt

    half = start + dt.timedelta(days=int(sim.warm_up_days + sim.horizon_days / 2))
    sc = baseline.override({"services.slt.capacity_changes": [{"start": half.isoformat(), "pas_per_week_delta": 7}]})
    extra = _kpis(sc)[("cost_total_gbp", "all")] - _kpis(baseline)[("cost_total_gbp", "all")]
    days = sim.warm_up_days + sim.horizon_days - (half - start).days
    expected = 7 * 260 * days / 7 * 365.25 / sim.horizon_days
    assert extra == pytest.approx(expected, rel=1e-9), f"expected GBP {expected:.0f} a year, got {extra:.0f}"


def test_cost_kpis_reach_the_kpi_frame(short_baseline):
    res = sendmodel.run(short_baseline, replications=1, seed=1, keep_events=False)
    k = res.kpis
    assert set(k.loc[k["kpi"] == "cost_gbp", "service"]) == set(COMMISSIONERS)
    assert set(k.loc[k["kpi"] == "cost_funded_gbp", "service"]) == set(FUNDERS)
    assert (k.loc[k["kpi"] == "cost_total_gbp", "unit"] == "GBP/year").all()
    assert not math.isnan(res.kpi("advice_within_6w_per_year"))


def test_no_cost_information_gives_no_cost_kpis(baseline):
    raw_services = {n: {"gbp_per_pa": None, "gbp_per_hour": None} for n in baseline.services}
    sc = baseline.override({f"services.{n}.{k}": v for n, d in raw_services.items() for k, v in d.items()})
    assert cost_kpis(sc) == []


def test_bad_cost_settings_are_reported_with_their_field(baseline):
    with pytest.raises(sendmodel.ScenarioError, match="gbp_per_pa or gbp_per_hour"):
        baseline.override({"services.slt.gbp_per_hour": 60})
    with pytest.raises(sendmodel.ScenarioError, match="commissioner"):
        baseline.override({"services.slt.commissioner": None})
    with pytest.raises(sendmodel.ScenarioError, match="commissioner"):
        baseline.override({"services.slt.commissioner": "the_school"})
    with pytest.raises(sendmodel.ScenarioError, match="sum to 1"):
        baseline.override({"costs.joint_split": {"nhs": 0.5, "la_education": 0.2, "la_social_care": 0.1}})


WHEELCHAIRS = {"item": "powered wheelchairs", "gbp_each": 3500, "per_year": 6, "basis": "per_70k",
               "commissioner": "nhs"}
BUDGETS = {"item": "personal health budgets", "gbp_each": 12000, "per_year": 2, "commissioner": "joint"}


def test_recurring_non_pay_costs_are_counted_a_year_and_paid_by_their_commissioner(baseline):
    before = _kpis(baseline)
    sc = baseline.override({"costs.recurring": [WHEELCHAIRS, BUDGETS], "population": 140000})
    scaled = _kpis(baseline.override({"population": 140000}))
    after = _kpis(sc)
    extra = 3500 * 6 * 2 + 12000 * 2  # the wheelchairs scale with 140,000 children; the budgets are the area's
    assert after[("cost_total_gbp", "all")] == pytest.approx(scaled[("cost_total_gbp", "all")] + extra)
    assert after[("cost_gbp", "nhs")] == pytest.approx(scaled[("cost_gbp", "nhs")] + 42000)
    split = sc.costs.joint_split
    assert after[("cost_funded_gbp", "la_education")] == pytest.approx(
        scaled[("cost_funded_gbp", "la_education")] + 24000 * split["la_education"])
    assert after[("cost_setup_once_gbp", "all")] == before[("cost_setup_once_gbp", "all")]
    lines = {ln["line"]: ln for ln in cost_lines(sc)}
    assert lines["powered wheelchairs"]["kind"] == "recurring" and lines["powered wheelchairs"]["gbp_once"] == 0
    # a year's worth whatever the window (a per-year figure, like the PAs' annualised cost)
    half = {ln["line"]: ln for ln in cost_lines(sc, (730.0, 730.0 + 182.0))}
    assert half["personal health budgets"]["gbp_per_year"] == pytest.approx(24000)


def test_a_bad_recurring_cost_names_its_field(baseline):
    with pytest.raises(sendmodel.ScenarioError, match=r"costs.recurring\[0\].basis"):
        baseline.override({"costs.recurring": [{**WHEELCHAIRS, "basis": "per_child"}]})
    with pytest.raises(sendmodel.ScenarioError, match=r"costs.recurring\[0\].gbp_each"):
        baseline.override({"costs.recurring": [{**WHEELCHAIRS, "gbp_each": -1}]})


def test_a_responsible_commissioner_matrix_moves_cost_between_funders_with_the_total_unchanged(baseline):
    """The CDC bulletin's Must / Should / Could matrix: a service's PA cost split by function and paid by each
    cell's commissioner; moving a cell moves its money and nothing else."""
    cells = [{"function": "treatment", "share": 0.7, "commissioner": "nhs"},
             {"function": "diagnosis", "ages": "school age", "share": 0.2, "commissioner": "la_education"},
             {"function": "prevention", "tier": "could", "share": 0.1, "commissioner": "schools"}]
    one = _kpis(baseline)
    sc = baseline.override({"services.physio.responsible": cells})
    k = _kpis(sc)
    physio = next(ln for ln in cost_lines(baseline) if ln["line"] == "physio")["gbp_per_year"]
    assert k[("cost_total_gbp", "all")] == pytest.approx(one[("cost_total_gbp", "all")])
    assert k[("cost_funded_gbp", "nhs")] == pytest.approx(one[("cost_funded_gbp", "nhs")] - 0.3 * physio)
    assert k[("cost_funded_gbp", "la_education")] == pytest.approx(
        one[("cost_funded_gbp", "la_education")] + 0.2 * physio)
    assert k[("cost_funded_gbp", "schools")] == pytest.approx(0.1 * physio)  # a funder named only here
    assert ("cost_funded_gbp", "schools") not in one  # and not reported where nobody names it
    assert sum(v for (kpi, _), v in k.items() if kpi == "cost_funded_gbp") == pytest.approx(
        k[("cost_total_gbp", "all")])
    # a joint cell with its own split; the services' work (and so every other KPI) is as before
    joint = baseline.override({"services.physio.responsible": [
        {"function": "treatment", "share": 1.0, "commissioner": "joint",
         "split": {"nhs": 0.25, "la_social_care": 0.75}}]})
    kj = _kpis(joint)
    assert kj[("cost_funded_gbp", "la_social_care")] == pytest.approx(
        one[("cost_funded_gbp", "la_social_care")] + 0.75 * physio)
    assert joint.services["physio"].pas_per_week == baseline.services["physio"].pas_per_week


def test_a_matrix_whose_shares_do_not_add_up_is_refused(baseline):
    with pytest.raises(sendmodel.ScenarioError, match="services.physio.*sum to 1"):
        baseline.override({"services.physio.responsible": [
            {"function": "treatment", "share": 0.7, "commissioner": "nhs"}]})
    with pytest.raises(sendmodel.ScenarioError, match="split is for a joint cell"):
        baseline.override({"services.physio.responsible": [
            {"function": "treatment", "share": 1.0, "commissioner": "nhs", "split": {"nhs": 1.0}}]})
    with pytest.raises(sendmodel.ScenarioError, match="function"):
        baseline.override({"services.physio.responsible": [
            {"function": "cure", "share": 1.0, "commissioner": "nhs"}]})


def test_the_shipped_matrix_scenario_costs_as_the_baseline_does(baseline):
    sc = sendmodel.load_scenario(SCENARIOS / "who_pays_matrix.yaml")
    k, one = _kpis(sc), _kpis(baseline)
    assert k[("cost_total_gbp", "all")] == pytest.approx(one[("cost_total_gbp", "all")])
    assert k[("cost_funded_gbp", "schools")] > 0 and k[("cost_funded_gbp", "la_public_health")] > 0


def test_the_business_cases_cost_tables_keep_every_cell_of_the_matrix():
    from sendmodel.studies.business_case.case import _cost_tables

    sc = sendmodel.load_scenario(SCENARIOS / "who_pays_matrix.yaml")
    by, lines = _cost_tables(sc, sc)
    assert len(lines) == len(cost_lines(sc))  # two cells of one service with the same function stay apart
    total = by[by["basis"] == "total"].iloc[0]["gbp_per_year_today"]
    assert total == pytest.approx(_kpis(sc)[("cost_total_gbp", "all")])
    funders = by[by["basis"] == "funder (joint costs split)"]
    assert funders["gbp_per_year_today"].sum() == pytest.approx(total)
    assert {"schools", "la_public_health"} <= set(funders["who"])
