"""The levers a commissioner controls, each tied to one scenario field path.

A lever is what a dashboard shows (label, unit, range) and what the model reads (a dotted path for
``scenario.override``). Keeping the mapping here, apart from any widget, means it is tested on its own and
the dashboards stay thin: read a scenario's current lever values, change some, get a new validated scenario,
or a message a commissioner can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sendmodel.scenario.config import REFERENCE_POPULATION, Scenario
from sendmodel.scenario.errors import ScenarioError

# Service kinds that get their own lever group rather than a row in the services grid.
_SPECIAL_KINDS = ("designated_officer", "admin", "triage")


@dataclass(frozen=True)
class Lever:
    """One control: a label, a unit, a range, and the field it sets.

    ``scale`` converts the shown value to the model's value (percent -> share: 0.01).
    """

    key: str
    label: str
    path: str
    unit: str = ""
    kind: str = "number"  # number | toggle
    low: float | None = None
    high: float | None = None
    step: float = 1.0
    scale: float = 1.0
    group: str = "area"
    service: str | None = None

    def to_model(self, shown: Any) -> Any:
        if self.kind == "toggle":
            return bool(shown)
        return float(shown) * self.scale

    def from_model(self, value: Any) -> Any:
        if self.kind == "toggle":
            return bool(value)
        return round(float(value) / self.scale, 6)

    def check(self, shown: Any) -> str | None:
        """A plain-English problem with a shown value, or None if it is usable."""
        if self.kind == "toggle":
            return None
        try:
            x = float(shown)
        except (TypeError, ValueError):
            return f"{self.label}: enter a number (got {shown!r})"
        if x != x:  # NaN
            return f"{self.label}: enter a number"
        if self.low is not None and x < self.low:
            return f"{self.label}: must be at least {self.low:g}{_u(self.unit)} (got {x:g})"
        if self.high is not None and x > self.high:
            return f"{self.label}: must be at most {self.high:g}{_u(self.unit)} (got {x:g})"
        return None


def _u(unit: str) -> str:
    return "%" if unit == "%" else (f" {unit}" if unit else "")


def _get(scenario: Scenario, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def pas_unit(scenario: Scenario, service: str) -> str:
    """The unit a service's PAs are given in (per 70,000 children, or absolute)."""
    basis = scenario.services[service].capacity_basis
    return f"PAs a week per {REFERENCE_POPULATION:,}" if basis == "per_70k" else "PAs a week"


def service_rows(scenario: Scenario) -> list[str]:
    """Services shown as rows of the capacity grid: everything but the DMO/DCO, its admin and triage."""
    return [n for n, s in scenario.services.items() if s.kind not in _SPECIAL_KINDS]


def _pas_lever(
    scenario: Scenario,
    key: str,
    label: str,
    service: str,
    group: str,
    field: str = "pas_per_week",
    high: float | None = None,
) -> Lever:
    """A lever on one service's PAs a week: in the unit its file gives them, from 0, half a PA a step."""
    return Lever(
        key,
        label,
        f"services.{service}.{field}",
        pas_unit(scenario, service),
        low=0,
        high=high,
        step=0.5,
        group=group,
        service=service,
    )


def levers_for(scenario: Scenario) -> list[Lever]:
    """The levers that make sense for this scenario, in display order."""
    out = [
        Lever(
            "population",
            "Children aged 0-17 in the area",
            "population",
            "children",
            low=1,
            step=1000,
            group="area",
        ),
    ]
    ehc = scenario.ehc
    if ehc is not None:
        out.append(
            Lever(
                "demand",
                "EHC needs assessment requests a year per 70,000 children",
                "ehc.requests_per_year_per_70k",
                "requests a year",
                low=0,
                step=10,
                group="area",
            )
        )
        out.append(_pas_lever(scenario, "dmo_pas", "DMO/DCO PAs a week", ehc.dmo_service, "dmo", high=20))
        out.append(
            Lever(
                "admin_support",
                "Admin support for the DMO/DCO",
                "ehc.admin_support",
                kind="toggle",
                group="dmo",
            )
        )
        if ehc.admin_service is not None:
            out.append(_pas_lever(scenario, "admin_pas", "Admin support PAs a week", ehc.admin_service, "dmo"))
        if ehc.triage.service is not None:
            out.append(
                Lever(
                    "triage",
                    "Single point of access (triage) for health advice requests",
                    "ehc.triage.enabled",
                    kind="toggle",
                    group="triage",
                )
            )
            out.append(_pas_lever(scenario, "triage_pas", "Triage PAs a week", ehc.triage.service, "triage"))
    for name in service_rows(scenario):
        svc = scenario.services[name]
        out.append(_pas_lever(scenario, f"pas.{name}", f"{svc.label}: PAs a week", name, "services"))
        if svc.advice is not None and ehc is not None:
            out.append(
                _pas_lever(
                    scenario,
                    f"ring_fenced.{name}",
                    f"{svc.label}: reserved short-notice assessment PAs",
                    name,
                    "services",
                    field="ring_fenced_pas_per_week",
                )
            )
            out.append(
                Lever(
                    f"known.{name}",
                    f"{svc.label}: % of children already known",
                    f"services.{name}.advice.p_known",
                    "%",
                    low=0,
                    high=100,
                    step=1,
                    scale=0.01,
                    group="services",
                    service=name,
                )
            )
    return out


def read_levers(scenario: Scenario, levers: list[Lever] | None = None) -> dict[str, Any]:
    """The scenario's current value of every lever, as shown (percent, not share)."""
    levers = levers if levers is not None else levers_for(scenario)
    return {lv.key: lv.from_model(_get(scenario, lv.path)) for lv in levers}


class LeverError(ValueError):
    """A lever value the model cannot use, with a message for the dashboard."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.key = key


def apply_levers(scenario: Scenario, values: dict[str, Any], levers: list[Lever] | None = None) -> Scenario:
    """A new validated scenario with levers set to ``values`` (shown units); unchanged levers are left alone.

    Raises
    ------
    LeverError
        With a message in the dashboard's words (the lever's label), never a traceback.
    """
    levers = levers if levers is not None else levers_for(scenario)
    by_key = {lv.key: lv for lv in levers}
    current = read_levers(scenario, levers)
    changes: dict[str, Any] = {}
    for key, shown in values.items():
        if key not in by_key:
            raise LeverError(f"unknown lever {key!r}; allowed: {sorted(by_key)}", key)
        lv = by_key[key]
        problem = lv.check(shown)
        if problem:
            raise LeverError(problem, key)
        if lv.from_model(lv.to_model(shown)) != current[key]:
            changes[lv.path] = lv.to_model(shown)
    merged = {**current, **values}
    # the commonest cross-field slip, said in lever words before the model says it in field words
    for lv in levers:
        if lv.key.startswith("ring_fenced."):
            pas = by_key.get(f"pas.{lv.service}")
            if pas is not None and float(merged[lv.key]) > float(merged[pas.key]):
                raise LeverError(
                    f"{lv.label} ({float(merged[lv.key]):g}) cannot be more than its PAs a week "
                    f"({float(merged[pas.key]):g})",
                    lv.key,
                )
    if not changes:
        return scenario
    try:
        return scenario.override(changes)
    except ScenarioError as exc:
        raise LeverError(_explain(exc, levers), _key_for(exc.field, levers)) from None


def _key_for(field: str, levers: list[Lever]) -> str | None:
    for lv in levers:
        if field == lv.path or field.startswith(lv.path + "."):
            return lv.key
    for lv in levers:  # a cross-field error on a service (e.g. reserved PAs above PAs) names the service
        if lv.service and field == f"services.{lv.service}":
            return lv.key
    return None


def _explain(exc: ScenarioError, levers: list[Lever]) -> str:
    """A scenario error in lever words: the lever's label instead of the field path where one matches."""
    key = _key_for(exc.field, levers)
    label = next((lv.label for lv in levers if lv.key == key), None)
    if label is None and exc.field.startswith("services."):
        parts = exc.field.split(".")
        label = next((lv.label.split(":")[0] for lv in levers if lv.service == parts[1]), None)
    return f"{label or exc.field}: {exc.message}"
