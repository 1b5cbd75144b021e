"""Extra CLI commands, one module each, registered here (keeps cli.py small and conflicts rare).

Each module defines ``register(subparsers)`` that adds its sub-command.
"""

from __future__ import annotations

import importlib

# Add a module name here when a command lands.
MODULES: list[str] = [
    "sweep", "sweep_report", "compare", "business_case", "calibrate", "area", "workbook", "forecast",
    "disciplines", "sensitivity", "serve",
]


def register_all(subparsers) -> None:
    for name in MODULES:
        importlib.import_module(f"sendmodel.cli.{name}").register(subparsers)
