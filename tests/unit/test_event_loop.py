"""The model runs on SimPy's own event loop: ``SendModel.run`` is ``setup``, plain ``env.run(until=end)`` and
``finish``; stepping the same replication with ``env.step()`` gives the same records to the last bit, and so
does running a SimPy process of one's own alongside, on the baseline and on an option that uses every
mechanism's events (triage signals, ring-fenced sessions, DMO/DCO admin)."""

import math

import numpy as np
import pytest
import simpy

import sendmodel
from sendmodel.engine.demand import sample_demand
from sendmodel.engine.model import SendModel
from sendmodel.engine.tasks import Pathway
from tests.conftest import SCENARIOS

SHORT = {"simulation.warm_up_days": 90, "simulation.horizon_days": 120}


def _flat(rec, prefix=""):
    """(path, array) pairs of a records dict, in a fixed order."""
    for k in sorted(rec):
        v = rec[k]
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", np.asarray(v)


def _model(sc, seed=3, rep=1) -> SendModel:
    return SendModel(sc, sample_demand(sc, seed, rep), seed, rep)


def _same(a_rec, b_rec, what):
    a, b = dict(_flat(a_rec)), dict(_flat(b_rec))
    assert a.keys() == b.keys()
    differ = [k for k in a if not np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f")]
    assert not differ, f"records differ {what}: {differ[:5]}"
    assert a["services.la_casework.task_finished"].size > 100, "the run should have done real work"


@pytest.mark.parametrize("scenario", ["baseline.yaml", "options/combined_front_door.yaml"])
def test_run_is_plain_env_run(scenario, monkeypatch):
    """``run`` drives the model with SimPy's own ``Environment.run(until=end)``, once."""
    sc = sendmodel.load_scenario(SCENARIOS / scenario).override(SHORT)
    calls = []
    simpy_run = simpy.Environment.run

    def spy(env, until=None):
        calls.append(until)
        return simpy_run(env, until)

    monkeypatch.setattr(simpy.Environment, "run", spy)
    m = _model(sc)
    rec = m.run()
    assert calls == [m.end] and m.env.now == m.end
    assert rec["services"]["la_casework"]["task_finished"].size > 100, "the run should have done real work"


@pytest.mark.parametrize("scenario", ["baseline.yaml", "options/combined_front_door.yaml"])
def test_stepping_with_env_step_gives_the_same_records(scenario):
    sc = sendmodel.load_scenario(SCENARIOS / scenario).override(SHORT)
    ours = _model(sc).run()
    m = _model(sc)
    m.setup()
    env = m.env
    while env.peek() < m.end:  # env.run(until=end): events at the end itself do not run
        env.step()
    _same(ours, m.finish(), "between run() and stepping with env.step()")


@pytest.mark.parametrize("scenario", ["baseline.yaml", "options/combined_front_door.yaml"])
def test_a_simpy_process_runs_alongside_without_changing_the_model(scenario):
    """An analyst's own SimPy process (here a daily count of the EHC casework queue) shares the environment:
    it sees the model's state and leaves the model's records as they were."""
    sc = sendmodel.load_scenario(SCENARIOS / scenario).override(SHORT)
    ours = _model(sc).run()
    m = _model(sc)
    m.setup()
    env, queue = m.env, m.services["la_casework"].queue
    daily = []

    def monitor():
        while True:
            daily.append((env.now, queue.n))
            yield env.timeout(1.0)

    env.process(monitor())
    env.run(until=m.end)
    _same(ours, m.finish(), "with a SimPy process running alongside")
    assert len(daily) == math.ceil(m.end) and daily[-1][0] == math.ceil(m.end) - 1
    assert max(n for _, n in daily) > 0, "the monitor should have seen work waiting"


def test_a_wait_ending_at_the_end_of_the_run_is_never_scheduled():
    """As in ``env.run(until=end)``, nothing happens at the end itself; a pathway's wait that would end there
    is not even put on SimPy's calendar, so the pathway stays unfinished and the calendar empty."""
    env = simpy.Environment()
    ran, live = [], set()

    def pathway():
        yield 1.0
        ran.append(env.now)
        yield 1.0  # ends at 2.0, the end of the run
        ran.append(env.now)

    Pathway(env, pathway(), live=live, end=2.0).resume()
    assert env.peek() == 1.0
    env.run(until=2.0)
    assert ran == [1.0] and env.now == 2.0 and len(live) == 1


@pytest.mark.parametrize("scenario", ["baseline.yaml", "options/combined_front_door.yaml"])
def test_the_model_leaves_nothing_on_the_calendar(scenario):
    """After a run, SimPy's calendar holds nothing of the model (at most SimPy's own stop event, which it
    puts back when ``run`` stops): no alarm, wait or notice at or after the end."""
    sc = sendmodel.load_scenario(SCENARIOS / scenario).override(SHORT)
    m = _model(sc)
    m.run()
    env, left = m.env, 0
    while env.peek() < math.inf:
        assert env.peek() == m.end, "an event after the end was scheduled"
        env.step()
        left += 1
    assert left <= 1


@pytest.mark.parametrize("scenario", ["baseline.yaml", "options/combined_front_door.yaml"])
def test_a_finished_replication_leaves_no_cycles_for_the_collector(scenario):
    """The collector is paused during a run, so the model must be freed by reference counting alone: a
    replication that left cycles (a pathway or clinician holding a bound method to itself, a closure over the
    model, an event on SimPy's calendar) would grow the process over a sweep until a full collection walked it
    all."""
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
