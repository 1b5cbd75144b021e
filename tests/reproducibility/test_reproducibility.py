"""Same scenario + seed = identical results, in any order and any process; the same seed gives every option
the same demand (common random numbers)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import sendmodel
from sendmodel.engine.demand import sample_demand
from tests.conftest import ROOT, SCENARIOS

SHORT = {"simulation.warm_up_days": 60, "simulation.horizon_days": 150}
SEED = 7


@pytest.fixture(scope="module")
def short(baseline):
    return baseline.override(SHORT)


@pytest.fixture(scope="module")
def more_capacity(short):
    """The same system with more PAs: an option to compare."""
    return short.override(
        {
            "services.slt.pas_per_week": 30,
            "services.dmo.pas_per_week": 2,
            "services.camhs.ring_fenced_pas_per_week": 3,
        },
        name="more_capacity",
    )


@pytest.fixture(scope="module")
def reference(short):
    return sendmodel.run(short, replications=2, seed=SEED)


def assert_same(a: sendmodel.Results, b: sendmodel.Results, what: str):
    for part in ("events", "kpis", "advice"):
        try:
            assert_frame_equal(getattr(a, part), getattr(b, part), check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{what}: {part} differ: {exc}") from None


def test_same_seed_gives_identical_results(short, reference):
    again = sendmodel.run(short, replications=2, seed=SEED)
    assert_same(reference, again, "second run")
    assert len(reference.events) > 1000 and len(reference.kpis) > 50
    assert_frame_equal(reference.summary(), again.summary())


def test_different_seed_gives_different_results(short, reference):
    other = sendmodel.run(short, replications=2, seed=SEED + 1)
    assert not reference.events.equals(other.events), "another seed must give other requests"
    assert not reference.kpis["value"].equals(other.kpis["value"])
    # ... but the same KPIs, rows and columns
    assert list(other.kpis.columns) == list(reference.kpis.columns)
    assert set(zip(other.kpis.kpi, other.kpis.service)) == set(
        zip(reference.kpis.kpi, reference.kpis.service)
    )


def test_replications_differ_and_do_not_depend_on_each_other(short, reference):
    ev = reference.events
    a = ev[ev.replication == 0]["arrival_day"].to_numpy()
    b = ev[ev.replication == 1]["arrival_day"].to_numpy()
    assert a.size != b.size or not np.array_equal(a, b), "replications must be independent draws"
    alone = sendmodel.run(short, replications=1, seed=SEED, first_replication=1)
    sub = sendmodel.Results(
        short, SEED, 1, *(_rep(getattr(reference, p), 1) for p in ("kpis", "events", "advice"))
    )
    assert_same(sub, alone, "replication 1 run alone")


def _rep(df: pd.DataFrame, r: int) -> pd.DataFrame:
    return df[df.replication == r].reset_index(drop=True)


def test_order_of_scenarios_changes_nothing(short, more_capacity, reference):
    other_first = sendmodel.run(more_capacity, replications=2, seed=SEED)
    after = sendmodel.run(short, replications=2, seed=SEED)
    assert_same(reference, after, "baseline run after another scenario")
    again = sendmodel.run(more_capacity, replications=2, seed=SEED)
    assert_same(other_first, again, "option run before and after the baseline")


def test_worker_processes_change_nothing(short, reference):
    parallel = sendmodel.run(short, replications=2, seed=SEED, workers=2)
    assert_same(reference, parallel, "workers=2")


def test_another_interpreter_changes_nothing(short, reference, tmp_path):
    out = tmp_path / "res.pkl"
    code = textwrap.dedent(f"""
        import pickle, sendmodel
        sc = sendmodel.load_scenario({str(SCENARIOS / "baseline.yaml")!r}).override({SHORT!r})
        r = sendmodel.run(sc, replications=2, seed={SEED})
        pickle.dump((r.events, r.kpis, r.advice), open({str(out)!r}, "wb"))
    """)
    env = {**os.environ, "PYTHONHASHSEED": "4321"}  # string hashing differs from this process
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    events, kpis, advice = pickle.loads(out.read_bytes())
    assert_same(reference, sendmodel.Results(short, SEED, 2, kpis, events, advice), "subprocess")


def _assert_same_arrays(a, b, where: str):
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, dict):
            assert x.keys() == y.keys(), where
            for k in x:
                _assert_same_arrays(x[k], y[k], f"{where}.{f.name}[{k}]")
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f"{where}.{f.name}")
        else:
            assert x == y, f"{where}.{f.name}"


def test_crn_same_demand_when_only_capacity_differs(short, more_capacity):
    for rep in (0, 1):
        d1, d2 = sample_demand(short, SEED, rep), sample_demand(more_capacity, SEED, rep)
        _assert_same_arrays(d1.ehc, d2.ehc, f"rep {rep} ehc")
        assert d1.routine.keys() == d2.routine.keys()
        for s in d1.routine:
            _assert_same_arrays(d1.routine[s], d2.routine[s], f"rep {rep} routine[{s}]")


def test_crn_options_see_the_same_requests(more_capacity, reference):
    """Both options have the same requests arriving at the same times; only their fates differ."""
    opt = sendmodel.run(more_capacity, replications=2, seed=SEED)
    cols = ["replication", "request_id", "kind", "service", "arrival_day", "outcome", "plan", "dmo_required"]
    assert_frame_equal(reference.events[cols], opt.events[cols])
    assert not reference.events["final_day"].equals(opt.events["final_day"]), "capacity must change something"
