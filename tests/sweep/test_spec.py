"""Sweep specs: designs expand as documented, and every bad spec fails, naming the file and field, before any
run starts and before anything is written."""

import subprocess
import sys

import numpy as np
import pytest

import sendmodel
import sendmodel.studies.sweep.run as sweep_run
from sendmodel.studies.sweep.run import run_sweep
from sendmodel.studies.sweep.spec import load_sweep_spec
from tests.conftest import ROOT, SCENARIOS
from tests.sweep.conftest import write_spec

HEAD = "base: tiny_base.yaml\nreplications: 2\nseed: 1\n"

BAD = {
    "misspelt field": (
        "design: grid\nparameters:\n  services.slt.pas_per_wek: [10, 20]\n",
        "parameters.services.slt.pas_per_wek",
        "unknown field",
    ),
    "unknown service": (
        "design: grid\nparameters:\n  services.speech.pas_per_week: [10, 20]\n",
        "parameters.services.speech.pas_per_week",
        "unknown service",
    ),
    "bad value in a grid": (
        "design: grid\nparameters:\n  services.slt.pas_per_week: [10, -5]\n",
        "parameters.services.slt.pas_per_week[1]",
        "greater than or equal to 0",
    ),
    "range the wrong way round": (
        "design: lhs\nn_points: 4\nparameters:\n  services.slt.pas_per_week: {low: 30, high: 10}\n",
        "parameters.services.slt.pas_per_week",
        "must be greater than low",
    ),
    "range outside what a field allows": (
        "design: lhs\nn_points: 4\nparameters:\n  services.slt.advice.p_known: [0.5, 1.5]\n",
        "parameters.services.slt.advice.p_known",
        "less than or equal to 1",
    ),
    "unknown design": (
        "design: factorial\nparameters:\n  services.slt.pas_per_week: [10]\n",
        "design",
        "(got 'factorial')",
    ),
    "no design": ("parameters:\n  services.slt.pas_per_week: [10]\n", "design", "grid"),
    "empty list of values": (
        "design: grid\nparameters:\n  services.slt.pas_per_week: []\n",
        "parameters.services.slt.pas_per_week",
        "at least 1",
    ),
    "a value listed twice": (
        "design: grid\nparameters:\n  services.slt.pas_per_week: [10, 20, 10]\n",
        "parameters.services.slt.pas_per_week[2]",
        "listed twice",
    ),
    "not a field path": (
        "design: grid\nparameters:\n  services..slt: [10]\n",
        "parameters.services..slt",
        "not a field path",
    ),
    "points setting different fields": (
        "design: points\npoints:\n  - {services.slt.pas_per_week: 10}\n  - {services.ot.pas_per_week: 10}\n",
        "points[1]",
        "same fields",
    ),
    "bad value at a listed point": (
        "design: points\npoints:\n  - {services.slt.pas_per_week: 10}\n"
        "  - {services.slt.pas_per_week: oops}\n",
        "points[1].services.slt.pas_per_week",
        "number",
    ),
    "one-point hypercube": (
        "design: lhs\nn_points: 1\nparameters:\n  services.slt.pas_per_week: [10, 20]\n",
        "n_points",
        "2",
    ),
    "unknown spec field": (
        "design: grid\nparameters:\n  services.slt.pas_per_week: [10]\nreps: 3\n",
        "reps",
        "unknown field",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_spec_names_file_and_field_and_writes_nothing(case, tmp_path, monkeypatch):
    body, field, fragment = BAD[case]
    spec = write_spec(tmp_path, HEAD + body)
    store = tmp_path / "store.sqlite"

    def no_runs(*a, **k):
        raise AssertionError("a replication started before the spec was fully checked")

    monkeypatch.setattr(sweep_run, "run_replication", no_runs)
    with pytest.raises(sendmodel.ScenarioError) as err:
        run_sweep(spec, store, workers=1, progress=False)
    e = err.value
    assert (e.file, e.field) == (str(spec), field), f"expected {spec}: {field}, got {e.file}: {e.field} ({e})"
    assert fragment in e.message, f"expected {fragment!r} in the message, got {e.message!r}"
    assert not store.exists(), "a bad spec must not create the store"


def test_bad_base_and_bad_replications(tmp_path):
    spec = write_spec(
        tmp_path,
        "base: nowhere.yaml\nreplications: 2\nseed: 1\ndesign: grid\n"
        "parameters: {services.slt.pas_per_week: [10]}\n",
    )
    with pytest.raises(sendmodel.ScenarioError, match="not found") as err:
        load_sweep_spec(spec)
    assert err.value.field == "base"
    spec = write_spec(
        tmp_path,
        "base: tiny_base.yaml\nreplications: 0\nseed: 1\ndesign: grid\n"
        "parameters: {services.slt.pas_per_week: [10]}\n",
        "zero.yaml",
    )
    with pytest.raises(sendmodel.ScenarioError) as err:
        load_sweep_spec(spec)
    assert err.value.field == "replications", str(err.value)


def test_cli_bad_spec_exits_2_without_traceback_or_store(tmp_path):
    spec = write_spec(tmp_path, HEAD + BAD["bad value in a grid"][0])
    store = tmp_path / "out.sqlite"
    r = subprocess.run(
        [sys.executable, "-m", "sendmodel", "sweep", str(spec), "--out", str(store)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert f"{spec}: parameters.services.slt.pas_per_week[1]" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert not store.exists(), "a bad spec must not create the store"


def test_grid_expands_first_parameter_slowest(tiny_spec):
    s = load_sweep_spec(tiny_spec)
    assert s.parameters == ["services.slt.pas_per_week", "ehc.requests_per_year_per_70k"]
    got = [(p["services.slt.pas_per_week"], p["ehc.requests_per_year_per_70k"]) for p in s.points]
    want = [(a, b) for a in (10, 20, 30, 40) for b in (900, 1200)]
    assert got == want, f"expected {want}, got {got}"
    assert [x.services["slt"].pas_per_week for x in s.scenarios] == [a for a, _ in want]
    assert s.n_runs == 8 * 5


def test_points_design_keeps_listed_points(tmp_path):
    spec = write_spec(
        tmp_path,
        HEAD + "design: points\npoints:\n"
        "  - {services.slt.pas_per_week: 12, ehc.admin_support: true}\n"
        "  - {ehc.admin_support: false, services.slt.pas_per_week: 30}\n",
    )
    s = load_sweep_spec(spec)
    assert s.points == [
        {"services.slt.pas_per_week": 12, "ehc.admin_support": True},
        {"services.slt.pas_per_week": 30, "ehc.admin_support": False},
    ]
    assert [x.ehc.admin_support for x in s.scenarios] == [True, False]


def _lhs(tmp_path, seed, n=10, decimals=""):
    body = (
        f"base: tiny_base.yaml\nreplications: 2\nseed: {seed}\ndesign: lhs\nn_points: {n}\nparameters:\n"
        f"  services.slt.pas_per_week: {{low: 10, high: 30{decimals}}}\n"
        "  ehc.requests_per_year_per_70k: [800, 1300]\n"
    )
    return load_sweep_spec(write_spec(tmp_path, body, f"lhs_{seed}_{n}_{len(decimals)}.yaml"))


def test_latin_hypercube_is_seeded_within_ranges_and_stratified(tmp_path):
    a, b, c = _lhs(tmp_path, 5), _lhs(tmp_path, 5), _lhs(tmp_path, 6)
    assert a.points == b.points, "the same seed must give the same design"
    assert a.points != c.points, "another seed must give another design"
    for name, (lo, hi) in {
        "services.slt.pas_per_week": (10, 30),
        "ehc.requests_per_year_per_70k": (800, 1300),
    }.items():
        x = np.array([p[name] for p in a.points])
        assert ((x >= lo) & (x <= hi)).all(), f"{name}: values {x} outside [{lo}, {hi}]"
        strata = np.sort(np.floor((x - lo) / (hi - lo) * 10).astype(int))
        assert strata.tolist() == list(range(10)), (
            f"{name}: one value per tenth of the range expected, got {strata}"
        )
    whole = _lhs(tmp_path, 5, decimals=", decimals: 0")
    assert all(isinstance(p["services.slt.pas_per_week"], int) for p in whole.points), whole.points


def test_committed_sweeps_load_and_answer_the_question():
    files = sorted((SCENARIOS / "sweeps").glob("*.yaml"))
    assert files, "expected a sweep spec in scenarios/sweeps/"
    for f in files:
        load_sweep_spec(f)
    s = load_sweep_spec(SCENARIOS / "sweeps" / "demand_growth_slt_paediatrics.yaml")
    grid = s.spec.parameters
    growth = np.array(grid["ehc.requests_per_year_per_70k"]) / s.base.ehc.requests_per_year_per_70k - 1
    assert np.allclose(growth, [0, 0.1, 0.2, 0.3, 0.4], atol=1e-3), (
        f"demand growth 0-40% expected, got {growth}"
    )
    assert {"services.slt.pas_per_week", "services.community_paediatrics.pas_per_week"} <= set(grid)
    assert s.n_runs <= 450, (
        f"the committed sweep must run in a few minutes on 2 cores; it has {s.n_runs} runs"
    )
