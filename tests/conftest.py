"""Shared fixtures. Tests import from `sendmodel` exactly as users do."""

from pathlib import Path

import pytest

import sendmodel

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def baseline():
    return sendmodel.load_scenario(SCENARIOS / "baseline.yaml")


@pytest.fixture(scope="session")
def short_baseline(baseline):
    """The baseline with a shorter run, for fast mechanism tests."""
    return baseline.override({"simulation.warm_up_days": 60, "simulation.horizon_days": 180})
