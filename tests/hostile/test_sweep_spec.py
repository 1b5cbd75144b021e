"""Sweep specs go through the same reading path as scenarios, and a sweep too big to run is refused from its
size (counted, never listed) before anything is built."""

from __future__ import annotations

import time

import pytest

from sendmodel import ScenarioError
from sendmodel.studies.sweep.spec import MAX_POINTS, MAX_RUNS, load_sweep_spec
from tests.sweep.conftest import write_spec

HEAD = "base: tiny_base.yaml\nreplications: 2\nseed: 1\n"


def _error(tmp_path, text, name="spec.yaml") -> ScenarioError:
    spec = write_spec(tmp_path, text, name) if isinstance(text, str) else None
    if spec is None:
        write_spec(tmp_path, "x: 1\n", name)
        spec = tmp_path / name
        spec.write_bytes(text)
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_sweep_spec(spec)
    assert time.perf_counter() - t0 < 10, "refused at once"
    err = info.value
    assert err.file == str(spec) and "\n" not in str(err), str(err)
    return err


def test_a_grid_of_a_billion_points_is_counted_not_built(tmp_path):
    params = "".join(f"  services.slt.leave_weeks_per_year{i}: [{', '.join(str(j) for j in range(10))}]\n"
                     for i in range(9))
    err = _error(tmp_path, HEAD + "design: grid\nparameters:\n" + params)
    assert err.field == "parameters" and "1,000,000,000 points" in err.message, str(err)
    assert f"at most {MAX_POINTS:,}" in err.message and "10 x 10" in err.message


def test_a_latin_hypercube_of_a_billion_points(tmp_path):
    err = _error(tmp_path, HEAD + "design: lhs\nn_points: 1000000000\nparameters:\n"
                 "  services.slt.pas_per_week: [10, 20]\n")
    assert err.field == "n_points" and "1,000,000,000 points" in err.message, str(err)


def test_a_trillion_replications(tmp_path):
    err = _error(tmp_path, "base: tiny_base.yaml\nreplications: 1000000000000\nseed: 1\ndesign: grid\n"
                 "parameters:\n  services.slt.pas_per_week: [10, 20]\n")
    assert err.field == "replications" and f"at most {MAX_RUNS:,} runs" in err.message, str(err)


@pytest.mark.parametrize("field, value", [("replications", "true"), ("seed", "false"), ("seed", "-1"),
                                          ("seed", str(2**64)), ("replications", ".inf")])
def test_bad_whole_numbers(tmp_path, field, value):
    body = {"replications": "2", "seed": "1", field: value}
    err = _error(tmp_path, f"base: tiny_base.yaml\nreplications: {body['replications']}\nseed: {body['seed']}\n"
                 "design: grid\nparameters:\n  services.slt.pas_per_week: [10, 20]\n")
    assert err.field == field, str(err)


def test_an_infinite_range(tmp_path):
    err = _error(tmp_path, HEAD + "design: lhs\nn_points: 4\nparameters:\n  services.slt.pas_per_week: [10, .inf]\n")
    assert err.field == "parameters.services.slt.pas_per_week.high" and "finite" in err.message, str(err)


def test_a_duplicate_key_in_a_spec(tmp_path):
    err = _error(tmp_path, HEAD + "design: grid\nparameters:\n  services.slt.pas_per_week: [10]\n"
                 "  services.slt.pas_per_week: [20]\n")
    assert err.field == "parameters.services.slt.pas_per_week" and "lines 6 and 7" in err.message, str(err)


def test_a_spec_in_windows_1252(tmp_path):
    err = _error(tmp_path, (HEAD + "description: \xa3 per point\ndesign: grid\nparameters:\n"
                            "  services.slt.pas_per_week: [10]\n").encode("cp1252"))
    assert "Windows-1252" in err.message, str(err)


def test_a_spec_with_a_python_tag(tmp_path):
    err = _error(tmp_path, HEAD + "design: !!python/object/apply:os.system [echo]\n")
    assert "not allowed" in err.message, str(err)


@pytest.mark.parametrize("base", ["''", ".", "sub"])
def test_a_base_naming_a_folder(tmp_path, base):
    (tmp_path / "sub").mkdir(exist_ok=True)
    err = _error(tmp_path, f"base: {base}\nreplications: 2\nseed: 1\ndesign: grid\n"
                 "parameters:\n  services.slt.pas_per_week: [10]\n")
    assert err.field == "base" and "names a folder" in err.message, str(err)


def test_dates_in_a_grid(tmp_path):
    spec = write_spec(tmp_path, HEAD + "design: grid\nparameters:\n"
                      "  simulation.start_date: [2023-01-01, 2023-06-01]\n")
    s = load_sweep_spec(spec)
    assert [str(x.simulation.start_date) for x in s.scenarios] == ["2023-01-01", "2023-06-01"]


def test_a_bad_point_value_gives_a_short_message(tmp_path):
    err = _error(tmp_path, HEAD + "design: points\npoints:\n  - {services.slt.pas_per_week: "
                 + "[" + ", ".join(["1"] * 5000) + "]}\n")
    assert err.field == "points[0].services.slt.pas_per_week" and len(str(err)) < 600, str(err)


def test_the_spec_error_translation_is_the_scenarios():
    import sendmodel.studies.sweep.spec as spec

    assert not hasattr(spec, "_explain"), "one translation of pydantic's errors, in sendmodel.scenario.errors"
