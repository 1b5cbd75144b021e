"""``scenario.override`` with hostile changes, and scenarios that stay right through pydantic's copies."""

from __future__ import annotations

import copy
import datetime as dt
import pickle

import numpy as np
import pytest

import sendmodel
from sendmodel import ScenarioError
from sendmodel.scenario.loading import file_of, raw_of
from tests.functional.builders import tiny

from .conftest import write


@pytest.mark.parametrize("changes", [None, [("population", 1)], "population=1", 5, {"population"}])
def test_changes_that_are_not_a_mapping(changes):
    with pytest.raises(ScenarioError) as info:
        tiny().override(changes)
    assert "mapping of field path" in info.value.message, str(info.value)


@pytest.mark.parametrize("changes", [{1: 2}, {None: 1}, {("services", "therapy"): 1}])
def test_field_paths_that_are_not_text(changes):
    with pytest.raises(ScenarioError) as info:
        tiny().override(changes)
    assert "field path must be text" in info.value.message, str(info.value)


@pytest.mark.parametrize("path", ["", ".", "services..therapy", "population.", ".population"])
def test_empty_parts_in_a_path(path):
    with pytest.raises(ScenarioError) as info:
        tiny().override({path: 1})
    assert "not a field path" in info.value.message and info.value.field == path, str(info.value)


@pytest.mark.parametrize("value", [object(), {1, 2}, (x for x in range(3)), b"bytes", complex(1, 2), print])
def test_values_that_are_not_plain_data(value):
    with pytest.raises(ScenarioError) as info:
        tiny().override({"services.therapy.pas_per_week": value})
    assert info.value.field == "services.therapy.pas_per_week", str(info.value)


def test_a_mapping_value_with_keys_that_are_not_text():
    with pytest.raises(ScenarioError, match="keys must be text"):
        tiny().override({"ehc.request_outcomes": {1: 0.5}})


def test_a_deeply_nested_value():
    v: list = []
    for _ in range(10_000):
        v = [v]
    with pytest.raises(ScenarioError, match="nested more than"):
        tiny().override({"ehc.monthly_profile": v})


def test_a_value_that_contains_itself():
    v: list = []
    v.append(v)
    with pytest.raises(ScenarioError):
        tiny().override({"ehc.monthly_profile": v})


def test_numpy_values_are_plain_numbers():
    sc = tiny().override({"services.therapy.pas_per_week": np.float64(12.5), "population": np.int64(80_000),
                          "ehc.monthly_profile": np.ones(12)})
    assert sc.services["therapy"].pas_per_week == 12.5 and sc.population == 80_000
    assert sc.ehc.monthly_profile == [1.0] * 12


def test_a_name_that_is_not_text():
    with pytest.raises(ScenarioError) as info:
        tiny().override({}, name=12)
    assert info.value.field == "name", str(info.value)


def test_the_public_function_refuses_what_is_not_a_scenario():
    with pytest.raises(ScenarioError, match="needs a Scenario"):
        sendmodel.override({"name": "x"}, {})


# --- issue 13: override is a method; the mapping and file are private attributes that copies keep ---------


def test_override_after_model_copy_starts_from_the_copy():
    sc = tiny()
    renamed = sc.model_copy(update={"name": "x"})
    assert renamed.override({}).name == "x", "override must start from the copy's values, not the original's"
    assert sendmodel.override(renamed, {}).name == "x"
    assert sc.override({}).name == "tiny", "the original is unchanged"


def test_model_copy_of_a_section_then_override():
    sc = tiny()
    sim = sc.simulation.model_copy(update={"horizon_days": 30.0})
    short = sc.model_copy(update={"simulation": sim})
    again = short.override({"services.therapy.pas_per_week": 11})
    assert again.simulation.horizon_days == 30 and again.services["therapy"].pas_per_week == 11


def test_copies_keep_the_file_and_mapping(tmp_path):
    from tests.functional.builders import tiny_mapping

    f = write(tmp_path / "t.yaml", tiny_mapping())
    sc = sendmodel.load_scenario(f)
    for other in (copy.copy(sc), copy.deepcopy(sc), pickle.loads(pickle.dumps(sc)), sc.model_copy(),
                  sc.model_copy(update={"name": "y"}), sc.override({"population": 71_000})):
        assert other.source_file == str(f) and file_of(other) == str(f) and other._file == str(f)
        assert raw_of(other)["services"]["therapy"]["pas_per_week"] == 10
    with pytest.raises(ScenarioError) as info:
        sc.model_copy(update={"name": "y"}).override({"services.therapy.pas_per_week": "x"})
    assert info.value.file == str(f)


def test_override_is_a_method_not_a_patch():
    from sendmodel.scenario.config import Scenario

    assert "override" in Scenario.__dict__, "override is defined on the class itself"
    assert Scenario.override.__module__ == "sendmodel.scenario.config"


def test_a_scenario_built_in_memory_can_be_overridden():
    from sendmodel.scenario.config import Scenario

    sc = Scenario.model_validate(tiny().model_dump(mode="json"))
    assert sc.source_file is None and raw_of(sc)["name"] == "tiny"
    assert sc.override({"name": "z"}).name == "z"
    with pytest.raises(ScenarioError) as info:
        sc.override({"population": -1})
    assert str(info.value).startswith("population:"), str(info.value)


def test_override_errors_name_the_scenarios_file_not_its_parent(tmp_path):
    from .conftest import BASELINE

    child = write(tmp_path / "child.yaml", f"extends: {BASELINE}\nname: child\n")
    sc = sendmodel.load_scenario(child)
    with pytest.raises(ScenarioError) as info:
        sc.override({"services.slt.pas_per_week": -3})
    assert info.value.file == str(child) and info.value.line is None, str(info.value)


def test_dates_pass_through_override():
    sc = tiny().override({"simulation.start_date": dt.date(2023, 5, 1)})
    assert sc.simulation.start_date == dt.date(2023, 5, 1)
