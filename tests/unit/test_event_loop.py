"""The model's event loop is SimPy's, inlined: running the same replication with ``env.run(until=...)``
gives the same records to the last bit, on the baseline and on an option that uses every mechanism's events
(triage signals, ring-fenced sessions, DMO/DCO admin)."""

import numpy as np
import pytest

import sendmodel
from sendmodel.engine import model as model_module
from sendmodel.engine.demand import sample_demand
from sendmodel.engine.model import SendModel
from tests.conftest import SCENARIOS


def _flat(rec, prefix=""):
    """(path, array) pairs of a records dict, in a fixed order."""
    for k in sorted(rec):
        v = rec[k]
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", np.asarray(v)


def _records(sc, seed, rep, loop=None, monkeypatch=None):
    if loop is not None:
        monkeypatch.setattr(model_module, "simulate", loop)
    return SendModel(sc, sample_demand(sc, seed, rep), seed, rep).run()


@pytest.mark.parametrize("scenario", ["baseline.yaml", "options/combined_front_door.yaml"])
def test_inlined_loop_matches_simpy_run(scenario, monkeypatch):
    sc = sendmodel.load_scenario(SCENARIOS / scenario).override(
        {"simulation.warm_up_days": 90, "simulation.horizon_days": 120}
    )
    ours = _records(sc, 3, 1)
    simpy_run = _records(sc, 3, 1, lambda env, until: env.run(until=until), monkeypatch)
    a, b = dict(_flat(ours)), dict(_flat(simpy_run))
    assert a.keys() == b.keys()
    differ = [k for k in a if not np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f")]
    assert not differ, f"records differ between the inlined loop and SimPy's env.run: {differ[:5]}"
    assert a["services.la_casework.task_finished"].size > 100, "the run should have done real work"


def test_loop_stops_before_events_at_the_end_like_simpy():
    import simpy

    from sendmodel.engine.model import NORMAL, _Call, simulate

    ran = []
    env = simpy.Environment()
    for t in (1.0, 2.0, 3.0):
        ev = _Call()
        ev.callbacks = [lambda ev, t=t: ran.append(t)]
        env.schedule(ev, NORMAL, t)
    simulate(env, 2.0)
    assert ran == [1.0] and env.now == 2.0, "an event at the end time itself must not run (SimPy's rule)"


@pytest.mark.parametrize("scenario", ["baseline.yaml", "options/combined_front_door.yaml"])
def test_a_finished_replication_leaves_no_cycles_for_the_collector(scenario):
    """The collector is paused during a run, so the model must be freed by reference counting alone: a
    replication that left cycles (a pathway or clinician holding a bound method to itself, a closure over the
    model) would grow the process over a sweep until a full collection walked it all."""
    import gc

    from sendmodel.engine.replication import run_replication

    sc = sendmodel.load_scenario(SCENARIOS / scenario).override(
        {"simulation.warm_up_days": 0, "simulation.horizon_days": 120}
    )
    run_replication(sc, 1, 0)
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        rec = run_replication(sc, 1, 1)
        del rec
        left = gc.collect()
    finally:
        if was:
            gc.enable()
    assert left < 50, f"{left} objects were only reachable through cycles after a replication"
