"""Dashboards for Jupyter (ipywidgets): one line in a notebook, e.g. ``from sendmodel.widgets import explore``.

- :func:`explore`: one scenario, the levers a commissioner controls, KPIs with CIs and the turnaround plot.

Widget modules are imported on first use, so worker processes (which import only the run engine) start light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "explore": "_explore",
    "ExploreDashboard": "_explore",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
