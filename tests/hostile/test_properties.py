"""Property-based: whatever a file or an override holds, the loader gives a ScenarioError or a scenario that
runs (a short replication), never any other exception."""

from __future__ import annotations

import copy
import datetime as dt
import math

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sendmodel
from sendmodel import ScenarioError
from tests.functional.builders import tiny_mapping

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _leaf_paths(node, prefix=()) -> list[tuple]:
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out += _leaf_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out += _leaf_paths(v, (*prefix, i))
    return out


BASE = tiny_mapping()
BASE["services"]["therapy"]["backlog"] = [{"n_per_70k": 20, "age_weeks": [0, 10]}]
BASE["services"]["therapy"]["routine_referrals_per_week_per_70k"] = 5
BASE["services"]["therapy"]["routine_appointment_hours"] = {"dist": "lognormal", "mean": 1.5, "cv": 0.4}
BASE["services"]["therapy"]["capacity_changes"] = [{"start": "2024-01-15", "pas_per_week_delta": -2}]
BASE["ehc"]["monthly_profile"] = [1.0] * 12
BASE["simulation"]["horizon_days"] = 30
PATHS = _leaf_paths(BASE)

numbers = st.one_of(
    st.floats(min_value=-10, max_value=1000, allow_nan=False),
    st.integers(min_value=-10, max_value=1000),
    st.sampled_from([0, 0.0, -0.0, 1, 1e-300, float("nan"), float("inf"), -float("inf"), 1e308, 10**400, 2**63]),
)
scalars = st.one_of(
    numbers, st.booleans(), st.none(), st.text(max_size=12),
    st.sampled_from(["fixed", "lognormal", "health", "dmo", "la", "therapy", "2024-02-30", "1e9", ".inf", ""]),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=13), st.dictionaries(st.text(max_size=8), inner, max_size=4),
                            st.dictionaries(st.sampled_from(["dist", "mean", "cv", "value", "low", "high", "mode",
                                                             "start", "end", "pas_per_week_delta", "n_per_70k",
                                                             "age_weeks"]), inner, max_size=4)),
    max_leaves=16,
)


NAMES = ["therapy", "la", "dmo", "admin", "spa", "fixed", "exponential", "lognormal", "gamma", "uniform",
         "triangular", "health", "local_authority", "designated_officer", "admin", "triage", "fcfs", "ehc_first",
         "deadline", "per_70k", "absolute", "2024-03-01", "2023-12-01", "2025-06-30"]


def _get(data, path):
    node = data
    for p in path:
        node = node[p]
    return node


def plausible(current):
    """Values like the one there (mostly valid), or anything at all (mostly not)."""
    if isinstance(current, bool):
        like = st.booleans()
    elif isinstance(current, (int, float)):
        like = st.one_of(st.floats(0, max(1.0, 3 * float(current))), st.integers(0, int(max(1, 3 * current))),
                         st.floats(0, 1))
    elif isinstance(current, str):
        like = st.sampled_from([current, *NAMES])
    else:
        like = st.just(copy.deepcopy(current))
    return st.one_of(like, like, like, values)


def _runs(sc) -> None:
    """A valid scenario must run: one replication of at most 30 days with no warm-up."""
    short = sc.override({"simulation.warm_up_days": 0,
                         "simulation.horizon_days": min(30.0, sc.simulation.horizon_days)})
    rec = sendmodel.run_replication(short, 0, 0)
    assert isinstance(rec, dict)
    event("valid: ran a replication")


def _set(data: dict, path: tuple, value) -> None:
    node = data
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


@SETTINGS
@given(draw=st.data(), paths=st.lists(st.sampled_from(PATHS), min_size=1, max_size=4))
def test_a_file_with_any_values_loads_or_says_why(tmp_path_factory, draw, paths):
    data = copy.deepcopy(BASE)
    for path in paths:
        try:
            _set(data, path, draw.draw(plausible(_get(data, path))))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier edit replaced the section
    f = tmp_path_factory.mktemp("p") / "s.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    try:
        sc = sendmodel.load_scenario(f)
    except ScenarioError as exc:
        assert exc.file == str(f) and "\n" not in str(exc) and len(str(exc)) < 2000, str(exc)
        return
    _runs(sc)


TEXT = yaml.safe_dump(BASE, sort_keys=False)
NOISE = ["", "", "", " ", "\n", "  # a comment\n", "[", "]", "{", "}", ":", ": ", "- ", "&a ", "*a",
         "!!python/name:os.system ", "!x ", "\t", "\x00", "£", "'", '"', "#", "\n", "  ", "---\n", "<<: ", ".inf",
         ".nan", "true", "2022-02-30", "~", "? ", "|", ">", "%"]


@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, len(TEXT)), st.sampled_from(NOISE), st.integers(0, 3)),
                      min_size=1, max_size=4),
       encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
def test_any_text_loads_or_says_why(tmp_path_factory, edits, encoding):
    text = TEXT
    for pos, noise, cut in edits:
        text = text[:pos] + noise + text[pos + cut:]
    f = tmp_path_factory.mktemp("t") / "s.yaml"
    f.write_bytes(text.encode(encoding, errors="replace"))
    try:
        sc = sendmodel.load_scenario(f)
    except ScenarioError as exc:
        assert exc.file == str(f) and "\n" not in str(exc), str(exc)
        return
    _runs(sc)


_TINY = None


def _tiny():
    global _TINY
    if _TINY is None:
        from sendmodel.scenario.loading import validate_mapping

        _TINY = validate_mapping(copy.deepcopy(BASE), "tiny")
    return _TINY


override_paths = st.one_of(
    st.sampled_from([".".join(str(p) for p in path) for path in PATHS if not any(isinstance(x, int) for x in path)]),
    st.text(max_size=20),
    st.sampled_from(["", ".", "services", "services.nosuch.pas_per_week", "population.x", "ehc..la_service"]),
)


FIELD_PATHS = [path for path in PATHS if not any(isinstance(x, int) for x in path)]


@st.composite
def plausible_changes(draw):
    paths = draw(st.lists(st.sampled_from(FIELD_PATHS), max_size=4))
    return {".".join(p): draw(plausible(_get(BASE, p))) for p in paths}


@SETTINGS
@given(changes=st.one_of(
    plausible_changes(), plausible_changes(),
    st.dictionaries(override_paths, values, max_size=4),
    st.dictionaries(st.one_of(st.integers(), st.none(), st.floats()), values, max_size=2),
    values,
))
def test_any_override_gives_a_scenario_that_runs_or_says_why(changes):
    sc = _tiny()
    try:
        new = sc.override(changes)
    except ScenarioError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 2000, str(exc)
        return
    _runs(new)
    assert sc.override({}).model_dump() == _tiny().model_dump(), "the original is unchanged"


@SETTINGS
@given(name=st.text(max_size=10), extra=st.dictionaries(st.sampled_from(["population", "description"]),
                                                         st.one_of(st.text(max_size=5), numbers), max_size=2))
def test_override_after_model_copy_keeps_the_copys_values(name, extra):
    copied = _tiny().model_copy(update={"name": name})
    try:
        new = copied.override(extra)
    except ScenarioError:
        return
    assert new.name == name
    if "population" in extra and isinstance(extra["population"], (int, float)):
        assert math.isclose(new.population, float(extra["population"]))
