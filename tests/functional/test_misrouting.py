"""A misrouted request costs the wrong service its time before it moves on (ehc.misroute_hours), not only a
delay; left empty it is only the delay, as before."""

from __future__ import annotations

import numpy as np

import sendmodel
from sendmodel.engine.model import MISROUTED
from tests.conftest import SCENARIOS

SHORT = {"population": 20000, "simulation.warm_up_days": 0, "simulation.horizon_days": 200}


def test_the_wrong_service_spends_its_time():
    base = sendmodel.load_scenario(SCENARIOS / "baseline.yaml").override({**SHORT, "ehc.misroute_hours": None})
    sc = base.override({"ehc.misroute_hours": {"dist": "fixed", "value": 0.5}})
    rec = sendmodel.run_replication(sc, 3, 0)
    spent = {s: int((v["task_kind"] == MISROUTED).sum()) for s, v in rec["services"].items()}
    health = [s for s in rec["advice"] if sc.services[s].kind == "health"]
    misrouted = sum(int((rec["advice"][s]["misrouted"] & ~np.isnan(rec["advice"][s]["requested_day"])).sum())
                    for s in health)
    assert 0 < sum(spent.values()) <= misrouted  # one look each (a few still waiting for triage at the end)
    assert sum(spent.values()) > 0.8 * misrouted
    assert all(spent[s] == 0 for s in spent if s not in health)  # only health services are misrouted to
    before = sendmodel.run_replication(base, 3, 0)
    assert all((v["task_kind"] == MISROUTED).sum() == 0 for v in before["services"].values())
    np.testing.assert_array_equal(before["ehc"]["arrival_day"], rec["ehc"]["arrival_day"])  # its own stream
