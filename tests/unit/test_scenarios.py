"""Scenario files: loading, `extends`, `override`, and one clear ScenarioError for every kind of bad input."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

import sendmodel
from sendmodel import ScenarioError
from tests.conftest import ROOT
from tests.functional.builders import fixed, tiny, tiny_mapping


def _write(path, data) -> str:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _set(data: dict, dotted: str, value) -> dict:
    node = data
    keys = dotted.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return data


def _load_error(path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        sendmodel.load_scenario(path)
    return info.value


def test_tiny_file_loads(tmp_path):
    sc = sendmodel.load_scenario(_write(tmp_path / "tiny.yaml", tiny_mapping()))
    assert sc.name == "tiny" and set(sc.services) == {"therapy", "la", "dmo", "admin", "spa"}
    assert sc.services["therapy"].advice.p_known == 0.5


# (field path, bad value, a fragment of "what is allowed" the message must contain)
BAD_FIELDS = {
    "unknown field": ("services.therapy.pas_per_wek", 3, "pas_per_week"),
    "unknown top-level field": ("popultion", 70000, "population"),
    "unknown field in a distribution": ("ehc.draft_hours", {"dist": "fixed", "value": 1, "mean": 2}, "value"),
    "wrong type (number)": ("services.therapy.pas_per_week", "lots", "valid number"),
    "wrong type (list)": ("ehc.monthly_profile", 3, "valid list"),
    "wrong type (boolean)": ("ehc.admin_support", "perhaps", "valid boolean"),
    "wrong type (section)": ("services", 5, "valid dictionary"),
    "negative capacity": ("services.therapy.pas_per_week", -2, "greater than or equal to 0"),
    "negative ring-fenced capacity": (
        "services.therapy.ring_fenced_pas_per_week",
        -1,
        "greater than or equal to 0",
    ),
    "ring fence above capacity": (
        "services.therapy.ring_fenced_pas_per_week",
        11,
        "cannot exceed pas_per_week",
    ),
    "probability above 1": ("services.therapy.advice.p_known", 1.5, "less than or equal to 1"),
    "probability below 0": ("services.therapy.p_missed_appointment", -0.1, "greater than or equal to 0"),
    "exceptional provision above 1": ("ehc.p_exceptional_provision", 2, "less than or equal to 1"),
    "outcomes not summing to 1": (
        "ehc.request_outcomes",
        {"assessed": 0.5, "refused": 0.3, "withdrawn": 0.1},
        "sum to 1",
    ),
    "outcome missing": ("ehc.request_outcomes", {"assessed": 0.5, "refused": 0.5}, "withdrawn"),
    "unknown service (LA)": ("ehc.la_service", "nosuch", "'therapy'"),
    "unknown service (DMO)": ("ehc.dmo_service", "nosuch", "'therapy'"),
    "unknown service (admin)": ("ehc.admin_service", "nosuch", "'therapy'"),
    "unknown service (triage)": ("ehc.triage.service", "nosuch", "'therapy'"),
    "bad distribution name": ("ehc.draft_hours", {"dist": "normal", "mean": 3}, "lognormal"),
    "bad distribution parameter": (
        "ehc.draft_hours",
        {"dist": "lognormal", "mean": -1, "cv": 0.5},
        "greater than 0",
    ),
    "bad discipline": ("services.therapy.discipline", "lifo", "'ehc_first'"),
    "bad monthly profile": ("ehc.monthly_profile", [1.0] * 11, "12 non-negative numbers"),
    "backlog ages reversed": (
        "services.therapy.backlog",
        [{"n_per_70k": 5, "age_weeks": [9, 3]}],
        "youngest",
    ),
    "capacity change ends before it starts": (
        "services.therapy.capacity_changes",
        [{"start": "2024-06-01", "end": "2024-03-01", "pas_per_week_delta": 1}],
        "must be after start",
    ),
}
# where the error is reported, when it is not the field path itself
REPORTED_AT = {
    "unknown field in a distribution": "ehc.draft_hours.mean",
    "bad distribution parameter": "ehc.draft_hours.mean",
    "ring fence above capacity": "services.therapy",
    "backlog ages reversed": "services.therapy.backlog[0].age_weeks",
    "capacity change ends before it starts": "services.therapy.capacity_changes[0]",
}


@pytest.mark.parametrize("case", list(BAD_FIELDS))
def test_bad_field_names_file_field_and_what_is_allowed(tmp_path, case):
    path, value, allowed = BAD_FIELDS[case]
    f = _write(tmp_path / "bad.yaml", _set(tiny_mapping(), path, value))
    err = _load_error(f)
    where = REPORTED_AT.get(case, path)
    assert err.file == f, f"expected the error to name {f}, got {err.file!r}"
    assert err.field == where, f"expected field path {where!r}, got {err.field!r} ({err})"
    text = str(err)
    assert f in text and where in text, f"message should name file and field: {text}"
    assert allowed in text, f"message should say what is allowed ({allowed!r}): {text}"
    assert "\n" not in text.strip() and "Traceback" not in text


@pytest.mark.parametrize(
    "case", ["unknown field", "negative capacity", "unknown service (LA)", "bad distribution name"]
)
def test_bad_field_in_a_child_file_names_the_child(tmp_path, case):
    """A scenario that extends a good base and gets one field wrong is reported against the file loaded."""
    path, value, allowed = BAD_FIELDS[case]
    _write(tmp_path / "base.yaml", tiny_mapping())
    child: dict = {"extends": "base.yaml"}
    node = child
    for k in path.split(".")[:-1]:
        node = node.setdefault(k, {})
    node[path.split(".")[-1]] = value
    f = _write(tmp_path / "child.yaml", child)
    err = _load_error(f)
    assert err.file == f and err.field == REPORTED_AT.get(case, path) and allowed in str(err), str(err)


def test_missing_file(tmp_path):
    f = str(tmp_path / "nothere.yaml")
    err = _load_error(f)
    assert "nothere.yaml" in err.file and "not found" in str(err), str(err)


def test_missing_extends_target(tmp_path):
    f = _write(tmp_path / "child.yaml", {"extends": "gone.yaml", "name": "child"})
    err = _load_error(f)
    assert err.file.endswith("child.yaml") and err.field == "extends", str(err)
    assert "gone.yaml" in str(err) and "not found" in str(err), str(err)


def test_extends_loop(tmp_path):
    _write(tmp_path / "a.yaml", {"extends": "b.yaml", "name": "a"})
    _write(tmp_path / "b.yaml", {"extends": "c.yaml", "name": "b"})
    _write(tmp_path / "c.yaml", {"extends": "a.yaml", "name": "c"})
    err = _load_error(tmp_path / "a.yaml")
    assert err.field == "extends" and "loop" in str(err), str(err)
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        assert name in str(err), f"the loop should be spelled out, got: {err}"


def test_extends_self(tmp_path):
    f = _write(tmp_path / "self.yaml", {"extends": "self.yaml", "name": "s"})
    err = _load_error(f)
    assert err.field == "extends" and "loop" in str(err) and "self.yaml" in str(err), str(err)


def test_extends_must_be_a_file_name(tmp_path):
    f = _write(tmp_path / "x.yaml", {"extends": ["a.yaml"], "name": "x"})
    err = _load_error(f)
    assert err.field == "extends" and "file name" in str(err), str(err)


def test_not_yaml_and_not_a_mapping(tmp_path):
    err = _load_error(_write(tmp_path / "broken.yaml", "name: [\n"))
    assert "broken.yaml" in str(err) and "YAML" in str(err), str(err)
    err = _load_error(_write(tmp_path / "list.yaml", "- a\n- b\n"))
    assert "list.yaml" in str(err) and "mapping" in str(err), str(err)


def test_extends_merges_mappings_and_replaces_lists(tmp_path):
    base = tiny_mapping()
    base["ehc"]["monthly_profile"] = [1.0] * 12
    _write(tmp_path / "base.yaml", base)
    child = {
        "extends": "base.yaml",
        "name": "child",
        "services": {"therapy": {"pas_per_week": 12, "advice": {"p_known": 0.7}}},
        "ehc": {"monthly_profile": [2.0] * 6 + [1.0] * 6},
    }
    sc = sendmodel.load_scenario(_write(tmp_path / "child.yaml", child))
    t = sc.services["therapy"]
    assert (sc.name, t.pas_per_week, t.advice.p_known) == ("child", 12, 0.7)
    assert t.advice.p_requested == 1.0 and t.discipline == "fcfs", (
        "fields the child leaves alone come from the base"
    )
    assert sc.ehc.monthly_profile == [2.0] * 6 + [1.0] * 6, "lists replace, not merge"
    assert set(sc.services) == {"therapy", "la", "dmo", "admin", "spa"}


def test_extends_can_change_a_distribution_family(tmp_path):
    """A child file replacing lognormal task hours by fixed ones must not inherit the base's mean and cv."""
    base = tiny_mapping()
    base["ehc"]["draft_hours"] = {"dist": "lognormal", "mean": 6.0, "cv": 0.5}
    _write(tmp_path / "base.yaml", base)
    f = _write(tmp_path / "child.yaml", {"extends": "base.yaml", "ehc": {"draft_hours": fixed(3)}})
    sc = sendmodel.load_scenario(f)
    assert sc.ehc.draft_hours.dist == "fixed" and sc.ehc.draft_hours.value == 3
    # ... while a child giving only some parameters of the same family keeps the others
    f = _write(tmp_path / "child2.yaml", {"extends": "base.yaml", "ehc": {"draft_hours": {"mean": 4.0}}})
    d = sendmodel.load_scenario(f).ehc.draft_hours
    assert (d.dist, d.mean, d.cv) == ("lognormal", 4.0, 0.5)


def test_baseline_extends_relative_to_the_file(tmp_path):
    sub = tmp_path / "options"
    sub.mkdir()
    _write(tmp_path / "base.yaml", tiny_mapping())
    sc = sendmodel.load_scenario(_write(sub / "more.yaml", {"extends": "../base.yaml", "name": "more"}))
    assert sc.name == "more"


# --- override -----------------------------------------------------------------------------------------------


def test_override_returns_a_new_validated_scenario():
    sc = tiny()
    before = copy.deepcopy(sc.model_dump())
    sc2 = sc.override({"services.therapy.pas_per_week": 30, "ehc.triage.enabled": True})
    assert sc2.services["therapy"].pas_per_week == 30 and sc2.ehc.triage.enabled
    assert sc.model_dump() == before, "override must not change the original"
    sc3 = sendmodel.override(sc2, {"services.therapy.advice.p_known": 0.9}, name="more")
    assert sc3.name == "more" and sc3.services["therapy"].pas_per_week == 30, "overrides compose"


@pytest.mark.parametrize(
    "changes, field, allowed",
    [
        ({"services.nosuch.pas_per_week": 3}, "services.nosuch.pas_per_week", "'therapy'"),
        ({"services.therapy.pas_per_wek": 3}, "services.therapy.pas_per_wek", "pas_per_week"),
        ({"nosuch": 1}, "nosuch", "population"),
        ({"population.children": 1}, "population.children", "value, not a section"),
        (
            {"services.therapy.pas_per_week": -1},
            "services.therapy.pas_per_week",
            "greater than or equal to 0",
        ),
        (
            {"services.therapy.advice.p_known": 1.2},
            "services.therapy.advice.p_known",
            "less than or equal to 1",
        ),
        ({"ehc.request_outcomes.assessed": 0.5}, "ehc.request_outcomes", "sum to 1"),
        ({"ehc.la_service": "nosuch"}, "ehc.la_service", "'therapy'"),
        ({"ehc.draft_hours": {"dist": "weibull", "mean": 1}}, "ehc.draft_hours", "gamma"),
    ],
)
def test_override_with_bad_path_or_value_raises_scenario_error(changes, field, allowed):
    with pytest.raises(ScenarioError) as info:
        tiny().override(changes)
    err = info.value
    assert err.field == field and allowed in str(err), f"expected field {field!r} and {allowed!r} in: {err}"


def test_override_after_model_copy_starts_from_the_copy():
    """Issue 13: the mapping behind a scenario is a private attribute kept in step by model_copy, so override on a
    copy never silently returns the original's values."""
    sc = tiny()
    assert sc.model_copy(update={"name": "x"}).override({}).name == "x"
    assert sendmodel.override(sc.model_copy(update={"name": "y"}), {}).name == "y"
    assert sc.override({}).name == "tiny"


def test_override_of_loaded_file_names_the_file(tmp_path):
    f = _write(tmp_path / "tiny.yaml", tiny_mapping())
    with pytest.raises(ScenarioError) as info:
        sendmodel.load_scenario(f).override({"services.therapy.pas_per_week": "x"})
    assert info.value.file == f


# --- the CLI ------------------------------------------------------------------------------------------------


def _cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sendmodel", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_reports_bad_file_without_traceback(tmp_path, command):
    bad = _write(tmp_path / "bad.yaml", _set(tiny_mapping(), "ehc.la_service", "nosuch"))
    r = _cli(command, bad, cwd=ROOT)
    assert r.returncode != 0, f"{command} of a bad file should fail; stdout: {r.stdout}"
    assert "Traceback" not in r.stderr, r.stderr
    assert "bad.yaml" in r.stderr and "ehc.la_service" in r.stderr and "'therapy'" in r.stderr, r.stderr


def test_cli_missing_file_and_good_file(tmp_path):
    r = _cli("validate", str(tmp_path / "nothere.yaml"), cwd=ROOT)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "nothere.yaml" in r.stderr, r.stderr
    good = _write(tmp_path / "good.yaml", tiny_mapping())
    r = _cli("validate", good, cwd=ROOT)
    assert r.returncode == 0 and "OK" in r.stdout, (r.stdout, r.stderr)


def test_confidence_intervals_are_cut_to_what_a_kpi_can_take():
    from sendmodel.analysis.labels import ci_in_range

    assert ci_in_range("%", -2.0, 10.1) == (0.0, 10.1), "no share below 0%"
    assert ci_in_range("%", 95.0, 103.0) == (95.0, 100.0), "no share above 100%"
    assert ci_in_range("fraction", -0.1, 1.2) == (0.0, 1.0)
    assert ci_in_range("days", -3.0, 21.2) == (0.0, 21.2), "no negative days"
    assert ci_in_range("children", -15.8, 27.3) == (-15.8, 27.3), "a change in a list can be negative"
