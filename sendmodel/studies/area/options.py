"""The commissioning options, for your area: each option file's own changes applied to a local baseline.

An option file (``scenarios/options/*.yaml``) extends the national baseline and changes only what the option
changes; here those changes, and nothing else, are laid over a local scenario, so that the options are compared
on the area's own demand and calibration. Distributions and lists are replaced whole; anything else field by
field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sendmodel.scenario.config import Scenario
from sendmodel.scenario.reading import decode, parse, read_bytes

_NOT_CHANGES = ("extends", "name", "description", "sources")


def _leaves(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and v and "dist" not in v:
            out.update(_leaves(v, path + "."))
        else:
            out[path] = v
    return out


def option_changes(path: str | Path) -> dict[str, Any]:
    """What an option file itself changes (dotted path -> value), without what it extends."""
    shown = str(path)
    data = parse(decode(read_bytes(path, shown), shown), shown).data
    return _leaves({k: v for k, v in data.items() if k not in _NOT_CHANGES})


def localise(option: str | Path, local: Scenario) -> Scenario:
    """The option ``option`` (a file) applied to the local scenario ``local``, named after the option."""
    return local.override(option_changes(option), name=Path(option).stem)
