"""Settings the dashboards share: where scenario files are, quick mode, default seed and replications.

No widgets here (the dashboards' base class is in :mod:`._base`).
"""

from __future__ import annotations

import os
from pathlib import Path

from sendmodel.common.paths import SOURCE_ROOT
from sendmodel.widgets._engine import quick_mode

DEFAULT_SEED = 2024
DEFAULT_REPLICATIONS = 10  # the same as sendmodel.run's default
QUICK_REPLICATIONS = 2
QUICK_SIMULATION = {"simulation.warm_up_days": 60, "simulation.horizon_days": 120}


def default_scenarios_dir() -> Path:
    """The project's ``scenarios/`` folder (``SENDMODEL_SCENARIOS``, else beside the package, else cwd)."""
    env = os.environ.get("SENDMODEL_SCENARIOS")
    if env:
        return Path(env)
    here = SOURCE_ROOT / "scenarios"
    if here.is_dir():
        return here
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / "scenarios").is_dir():
            return base / "scenarios"
    return Path.cwd() / "scenarios"


# Folders of files that are not commissioning scenarios: sweep specs, and queueing-theory validation cases.
NOT_SCENARIOS = ("sweeps", "validation")


def scenario_files(folder: Path, under: str | None = None) -> dict[str, Path]:
    """Scenario files by a short name ("baseline", "options/triage"); sweeps and validation cases left out."""
    folder = Path(folder)
    root = folder / under if under else folder
    out = {}
    for p in sorted(root.rglob("*.yaml")):
        rel = p.relative_to(folder)
        if any(part in NOT_SCENARIOS for part in rel.parts[:-1]):
            continue
        out[rel.with_suffix("").as_posix()] = p
    return out


def resolve_quick(quick: bool | None) -> bool:
    """``quick`` as given, else from ``SENDMODEL_QUICK``."""
    return quick_mode() if quick is None else bool(quick)
