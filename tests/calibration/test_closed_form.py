"""The calibration's closed-form EHC hours (conservation of work) against the hours the engine actually spends.

Step 2 of the fit gives each health service the PAs that match its expected routine plus EHC work; a mechanism
the closed form leaves out (Annex A's replies, misrouted requests, initial advice, tribunals, continuing care)
leaves a fitted list drifting. Checked on the shipped baseline, every such mechanism on, with no routine work
and ample PAs, so that every task that arrives is done within the window.
"""

from __future__ import annotations

import numpy as np
import pytest

import sendmodel
from sendmodel.engine.tasks import ROUTINE
from sendmodel.studies.calibration.fit import ehc_hours_per_week
from tests.conftest import ROOT

HEALTH = ("community_paediatrics", "slt", "ot", "physio", "camhs")


def _measured(sc, reps: int) -> dict[str, np.ndarray]:
    warm, end = sc.simulation.warm_up_days, sc.simulation.warm_up_days + sc.simulation.horizon_days
    weeks = (end - warm) / 7.0
    out = {s: [] for s in HEALTH}
    for r in range(reps):
        rec = sendmodel.run_replication(sc, 3, r)
        for s in HEALTH:
            sv = rec["services"][s]
            fin = sv["task_finished"]
            mine = (sv["task_kind"] != ROUTINE) & (fin >= warm) & (fin < end)
            out[s].append(float(sv["task_hours"][mine].sum()) / weeks)
    return {s: np.array(v) for s, v in out.items()}


@pytest.mark.parametrize("initial", [False, True], ids=["full_assessment", "initial_advice"])
def test_closed_form_ehc_hours_match_the_engine(initial):
    sc = sendmodel.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    assert sc.ehc.tribunals.enabled and sc.ehc.continuing_care.enabled and sc.ehc.misroute_hours is not None
    changes = {"simulation.warm_up_days": 120, "simulation.horizon_days": 730}
    for s in HEALTH:
        assert sc.services[s].advice.annex_a is not None
        changes[f"services.{s}.routine_referrals_per_week_per_70k"] = 0.0
        changes[f"services.{s}.backlog"] = []
        changes[f"services.{s}.pas_per_week"] = 4 * sc.services[s].pas_per_week
        if initial:
            changes[f"services.{s}.advice.initial_advice"] = {"hours": {"dist": "lognormal", "mean": 1.5, "cv": 0.5}}
    sc = sc.override(changes)
    got = _measured(sc, reps=4)
    for s in HEALTH:
        expected = ehc_hours_per_week(sc, s)
        mean, se = got[s].mean(), got[s].std(ddof=1) / np.sqrt(got[s].size)
        # tasks under way at either end of the window, plus sampling noise
        assert abs(mean - expected) <= 3 * se + 0.03 * expected, (s, mean, se, expected)


def test_closed_form_counts_each_mechanism():
    """Switching a mechanism on adds the hours it costs (and Annex A's replies save assessment hours)."""
    sc = sendmodel.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    on = ehc_hours_per_week(sc, "community_paediatrics")
    assert ehc_hours_per_week(sc.override({"ehc.continuing_care.enabled": False}), "community_paediatrics") < on
    assert ehc_hours_per_week(sc.override({"ehc.tribunals.enabled": False}), "community_paediatrics") < on
    assert ehc_hours_per_week(sc.override({"ehc.misroute_hours": None}), "community_paediatrics") < on
    assert ehc_hours_per_week(sc.override({"services.community_paediatrics.advice.annex_a": None}),
                              "community_paediatrics") > on
    # a single point of access: no misrouting and no records checks
    assert ehc_hours_per_week(sc.override({"ehc.triage.enabled": True}), "community_paediatrics") < on
