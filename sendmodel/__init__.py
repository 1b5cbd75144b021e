"""sendmodel: see, before you spend, what a SEND commissioning decision does to waits and statutory deadlines."""

__version__ = "0.1.0"

from .business_case import business_case
from .compare import compare
from .config import Scenario
from .runner import run, run_replication
from .results import Results
from .scenarios import ScenarioError, load_scenario, override
from .sweep import load_sweep

__all__ = ["Results", "Scenario", "ScenarioError", "business_case", "compare", "load_scenario", "load_sweep",
           "override", "run", "run_replication", "__version__"]
