"""One replication from a scenario, a seed and a replication number to plain records: what every study runs."""

from __future__ import annotations

from sendmodel.engine.demand import sample_demand
from sendmodel.engine.model import SendModel, gc_paused
from sendmodel.scenario.config import Scenario


def run_replication(scenario: Scenario, seed: int, replication: int) -> dict:
    """Simulate one replication and return its plain records.

    The collector stays paused until the model is gone: a run's objects, freed by reference counting, are
    never walked by the collection that would otherwise follow it (about a tenth of a replication).
    """
    with gc_paused():
        model = SendModel(scenario, sample_demand(scenario, seed, replication), seed, replication)
        rec = model.run()
        del model
    return rec
