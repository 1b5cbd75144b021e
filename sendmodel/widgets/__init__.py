"""Dashboards for Jupyter (ipywidgets), one line in a notebook: ``from sendmodel.widgets import explore``.

- :func:`explore`: one scenario, the levers a commissioner controls, KPIs with CIs and the turnaround plot.
- :func:`compare`: options against a baseline, the paired comparison table and cost against on-time advice.
- :func:`business_case`: population and targets in; PAs needed, cost by commissioner and the workbook out.
- :func:`app`: the three on one page, as tabs (``make dashboard`` serves it).

Widget modules are imported on first use, so worker processes (which import only the run engine) start light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "explore": ("_explore", "explore"),
    "ExploreDashboard": ("_explore", "ExploreDashboard"),
    "compare": ("_compare", "compare"),
    "CompareDashboard": ("_compare", "CompareDashboard"),
    "business_case": ("_business", "business_case_dashboard"),
    "BusinessCaseDashboard": ("_business", "BusinessCaseDashboard"),
    "app": ("_app", "app"),
    "App": ("_app", "App"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
