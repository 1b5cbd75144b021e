"""Values the schema used to accept and then ran wrongly or crashed on: each is now refused with the file, the
field and what is allowed (or, for settings that run but do nothing, a warning)."""

from __future__ import annotations

import time

import pytest

import sendmodel
from sendmodel import ScenarioError
from sendmodel.scenario.checks import scenario_warnings
from tests.functional.builders import tiny

from .conftest import BASELINE, write


def _error(tmp_path, body: str) -> ScenarioError:
    f = write(tmp_path / "bad.yaml", f"extends: {BASELINE}\n{body}")
    with pytest.raises(ScenarioError) as info:
        sendmodel.load_scenario(f)
    err = info.value
    assert err.file == str(f), str(err)
    return err


# --- infinity and NaN ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ("services: {slt: {pas_per_week: .inf}}\n", "services.slt.pas_per_week"),
    ("services: {slt: {pas_per_week: .nan}}\n", "services.slt.pas_per_week"),
    ("ehc: {monthly_profile: [.nan, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}\n", "ehc.monthly_profile[0]"),
    ("services: {slt: {backlog: [{n_per_70k: 5, age_weeks: [0, .nan]}]}}\n", "services.slt.backlog[0].age_weeks[1]"),
    ("services: {slt: {backlog: [{n_per_70k: .inf, age_weeks: [0, 3]}]}}\n", "services.slt.backlog[0].n_per_70k"),
    ("ehc: {requests_per_year_per_70k: -.inf}\n", "ehc.requests_per_year_per_70k"),
    ("ehc: {draft_hours: {dist: lognormal, mean: .inf, cv: 0.5}}\n", "ehc.draft_hours.mean"),
    ("simulation: {horizon_days: .inf}\n", "simulation.horizon_days"),
    ("population: .nan\n", "population"),
    ("costs: {joint_split: {nhs: .nan, la_education: 0.5, la_social_care: 0.5}}\n", "costs.joint_split.nhs"),
    ("services: {slt: {capacity_changes: [{start: 2023-01-01, pas_per_week_delta: .inf}]}}\n",
     "services.slt.capacity_changes[0].pas_per_week_delta"),
])
def test_infinity_and_nan_are_refused_everywhere(tmp_path, body, field):
    err = _error(tmp_path, body)
    assert err.field == field and "finite number" in err.message, str(err)


# --- booleans where numbers go ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ("ehc: {requests_per_year_per_70k: true}\n", "ehc.requests_per_year_per_70k"),
    ("services: {slt: {pas_per_week: false}}\n", "services.slt.pas_per_week"),
    ("ehc: {monthly_profile: [true, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}\n", "ehc.monthly_profile[0]"),
    ("ehc: {p_plan_after_assessment: yes}\n", "ehc.p_plan_after_assessment"),
    ("population: true\n", "population"),
])
def test_true_and_false_are_not_numbers(tmp_path, body, field):
    err = _error(tmp_path, body)
    assert err.field == field and "must be a number, not" in err.message, str(err)


# --- a service of the wrong kind in a role ---------------------------------------------------------------------


@pytest.mark.parametrize("path, service, kind", [
    ("ehc.dmo_service", "social_care", "designated_officer"),
    ("ehc.la_service", "slt", "local_authority"),
    ("ehc.admin_service", "dmo", "admin"),
    ("ehc.triage.service", "la_casework", "triage"),
])
def test_a_role_needs_a_service_of_its_kind(path, service, kind):
    with pytest.raises(ScenarioError) as info:
        sendmodel.load_scenario(BASELINE).override({path: service})
    err = info.value
    assert err.field == path and f"kind {kind}" in err.message and repr(service) in err.message, str(err)


# --- sizes that cannot run ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, field, words", [
    ("services: {slt: {pas_per_week: 1e9}}\n", "services.slt.pas_per_week", "at most 2,000"),
    ("services: {slt: {pas_per_week: 2001}}\n", "services.slt.pas_per_week", "at most 2,000"),
    ("simulation: {horizon_days: 1e9}\n", "simulation.horizon_days", "at most 7,305 days"),
    ("simulation: {warm_up_days: 1e9}\n", "simulation.warm_up_days", "at most 3,653 days"),
    ("population: 1e12\n", "population", "between 1,000 and 20,000,000"),
    ("population: 5\n", "population", "between 1,000 and 20,000,000"),
    ("population: 0\n", "population", "between 1,000"),
    ("ehc: {requests_per_year_per_70k: 1e12}\n", "ehc.requests_per_year_per_70k", "at most 70,000"),
    ("services: {slt: {routine_referrals_per_week_per_70k: 1e12}}\n",
     "services.slt.routine_referrals_per_week_per_70k", "at most 10,000"),
    ("services: {slt: {leave_weeks_per_year: 1e9}}\n", "services.slt.leave_weeks_per_year", "52"),
    ("simulation: {start_date: 9999-12-01}\n", "simulation.start_date", "between 2000-01-01 and 2100-12-31"),
    ("services: {slt: {capacity_changes: [{start: 2023-01-01, pas_per_week_delta: 1e9}]}}\n",
     "services.slt.capacity_changes[0].pas_per_week_delta", "between -2,000 and 2,000"),
    ("services: {slt: {capacity_changes: [{start: 2023-01-01, pas_per_week_delta: 1990}]}}\n",
     "services.slt.capacity_changes[0]", "at most 2,000"),
    ("ehc: {draft_hours: {dist: lognormal, mean: 2, cv: 1e300}}\n", "ehc.draft_hours.cv", "at most 20"),
    ("ehc: {draft_hours: {dist: fixed, value: 1e300}}\n", "ehc.draft_hours.value", "at most 1,000,000"),
    ("population: 20000000\nehc: {requests_per_year_per_70k: 50000}\n", "population", "at most 10,000,000"),
    ("population: 1000000\nservices: {slt: {pas_per_week: 1900}}\nsimulation: {horizon_days: 7000}\n", "services",
     "clinician sessions"),
])
def test_sizes_that_cannot_run_are_refused_with_the_bound(tmp_path, body, field, words):
    t0 = time.perf_counter()
    err = _error(tmp_path, body)
    assert err.field == field and words in err.message, str(err)
    assert time.perf_counter() - t0 < 5, "refused at once, not after a run"


def test_the_largest_area_allowed_still_validates():
    sc = sendmodel.load_scenario(BASELINE).override({"population": 20_000_000})
    assert sc.scale > 285


def test_validation_cases_may_run_long_with_always_open():
    sc = tiny().override({"simulation.calendar": "always_open", "simulation.horizon_days": 25_000,
                          **{f"services.{s}.pas_per_week": 42 for s in ("therapy", "la", "dmo", "admin", "spa")}})
    assert sc.simulation.horizon_days == 25_000
    with pytest.raises(ScenarioError, match="at most 36,525 days"):
        sc.override({"simulation.horizon_days": 40_000})


def test_absolute_capacity_scales_its_bound_with_the_population():
    sc = tiny().override({"population": 700_000, "services.therapy.capacity_basis": "absolute",
                          "services.therapy.pas_per_week": 15_000})
    assert sc.services["therapy"].pas_per_week == 15_000
    with pytest.raises(ScenarioError, match="at most 20,000 PAs"):
        sc.override({"services.therapy.pas_per_week": 20_001})


# --- capacity changes that run but do nothing, or clamp to zero: warnings ------------------------------------


def test_a_capacity_change_below_zero_is_a_warning():
    sc = sendmodel.load_scenario(BASELINE).override(
        {"services.slt.capacity_changes": [{"start": "2023-01-01", "pas_per_week_delta": -1000}]})
    got = [w for w in scenario_warnings(sc) if "capacity_changes" in w]
    assert len(got) == 1 and "counts that as 0 PAs" in got[0] and "2023-01-01" in got[0], got
    assert got[0].startswith("services.slt.capacity_changes"), got


@pytest.mark.parametrize("change", [
    {"start": "2030-01-01", "pas_per_week_delta": 3},
    {"start": "2010-01-01", "end": "2011-01-01", "pas_per_week_delta": 3},
])
def test_a_capacity_change_outside_the_run_is_a_warning(change):
    sc = sendmodel.load_scenario(BASELINE).override({"services.ot.capacity_changes": [change]})
    got = [w for w in scenario_warnings(sc) if "capacity_changes" in w]
    assert len(got) == 1 and "wholly outside the run" in got[0] and "2022-01-01" in got[0], got


def test_an_added_capacity_outside_the_run_does_not_hide_a_service_with_no_pas():
    sc = sendmodel.load_scenario(BASELINE).override({
        "services.slt.pas_per_week": 0,
        "services.slt.capacity_changes": [{"start": "2030-01-01", "pas_per_week_delta": 10}],
    })
    assert any("Speech and language therapy is asked for EHC advice but has no PAs" in w for w in scenario_warnings(sc))


def test_the_cli_prints_the_capacity_warning(tmp_path):
    from .conftest import cli

    f = write(tmp_path / "cut.yaml", f"extends: {BASELINE}\nservices:\n  slt:\n    capacity_changes:\n"
              "      - {start: 2023-01-01, pas_per_week_delta: -1000}\n")
    r = cli("validate", f)
    assert r.returncode == 0 and "1 warning(s)" in r.stdout, (r.stdout, r.stderr)
    assert f"warning: {f}: services.slt.capacity_changes" in r.stderr, r.stderr
