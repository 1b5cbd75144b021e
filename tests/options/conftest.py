"""Fixtures for the option comparisons: the option files, and one comparison of all of them on the default data."""

from pathlib import Path

import pytest

import sendmodel
from tests.conftest import SCENARIOS

OPTIONS = SCENARIOS / "options"
SHORT = {"simulation.warm_up_days": 60, "simulation.horizon_days": 180}


def option_files() -> list[Path]:
    return sorted(OPTIONS.glob("*.yaml"))


@pytest.fixture(scope="session")
def options():
    """Every option file, by name."""
    return {sc.name: sc for sc in (sendmodel.load_scenario(f) for f in option_files())}


@pytest.fixture(scope="session")
def default_comparison(options):
    """All options against the status quo on the default data (70,000 children, a full measured year)."""
    from sendmodel.analysis.compare import run_comparison

    return run_comparison(options, "status_quo", replications=4, seed=2024)
