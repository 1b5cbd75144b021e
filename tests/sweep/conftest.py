"""Tiny sweeps for the sweep tests: the baseline at 15,000 children over 90 days (~0.03 s a run)."""

from pathlib import Path

import pytest

from tests.conftest import SCENARIOS

TINY_BASE = f"""\
extends: {SCENARIOS / "baseline.yaml"}
population: 15000
simulation: {{warm_up_days: 30, horizon_days: 60}}
"""

TINY_SPEC = """\
name: tiny
base: tiny_base.yaml
design: grid
parameters:
  services.slt.pas_per_week: [10, 20, 30, 40]
  ehc.requests_per_year_per_70k: [900, 1200]
replications: 5
seed: 11
"""


def write_spec(folder: Path, text: str, name: str = "spec.yaml") -> Path:
    """A spec file beside the tiny base scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny_base.yaml").write_text(TINY_BASE)
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def tiny_spec(tmp_path_factory) -> Path:
    return write_spec(tmp_path_factory.mktemp("tiny_sweep"), TINY_SPEC)


@pytest.fixture(scope="session")
def reference_store(tiny_spec, tmp_path_factory) -> Path:
    """The tiny sweep run uninterrupted in this process (1 worker): the rows every other run must match."""
    from sendmodel.studies.sweep.run import run_sweep

    store = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    run_sweep(tiny_spec, store, workers=1, progress=False)
    return store
