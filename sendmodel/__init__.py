"""sendmodel: see, before you spend, what a SEND commissioning decision does to waits and statutory deadlines.

The public API is re-exported here and imported lazily, on first use, so that ``import sendmodel`` (paid by
every command and worker process) stays cheap. Layers, from the bottom: ``scenario`` -> ``engine`` ->
``analysis`` -> ``studies`` -> ``cli`` and ``widgets`` (docs/architecture.md).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from sendmodel.common.version import __version__

_EXPORTS = {
    "Results": "sendmodel.analysis.results",
    "Scenario": "sendmodel.scenario.config",
    "ScenarioError": "sendmodel.scenario.errors",
    "business_case": "sendmodel.studies.business_case.case",
    "compare": "sendmodel.analysis.compare",
    "load_scenario": "sendmodel.scenario.loading",
    "load_sweep": "sendmodel.studies.sweep.store",
    "override": "sendmodel.scenario.loading",
    "run": "sendmodel.analysis.experiment",
    "run_replication": "sendmodel.engine.replication",
}

__all__ = ["Results", "Scenario", "ScenarioError", "__version__", "business_case", "compare", "load_scenario",
           "load_sweep", "override", "run", "run_replication"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from sendmodel.analysis.compare import compare
    from sendmodel.analysis.experiment import run
    from sendmodel.analysis.results import Results
    from sendmodel.engine.replication import run_replication
    from sendmodel.scenario.config import Scenario
    from sendmodel.scenario.errors import ScenarioError
    from sendmodel.scenario.loading import load_scenario, override
    from sendmodel.studies.business_case.case import business_case
    from sendmodel.studies.sweep.store import load_sweep


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sendmodel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
