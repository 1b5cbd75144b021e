"""What an option costs a year, and who pays.

A commissioner pays for the PAs it commissions, whether or not a clinician is busy in them, and pays for leave
too; so a service's cost is its PAs a week (with dated ``capacity_changes``) over the measured period times its
cost per PA, annualised. Recurring costs that are not PAs (``costs.recurring``: equipment, personal budgets)
count a year's worth each year. One-off set-up costs (``costs.setup``) are spread over ``costs.setup_amortise_years``.
Each cost line carries its responsible commissioner from Appendix 2 of the CDC joint commissioning bulletin:
``nhs`` (the ICB), ``la_education``, ``la_social_care`` or ``joint`` (a pooled budget under Section 75, shared
between funders by ``costs.joint_split``), and ``nhs_england``, ``la_public_health`` or ``schools`` where a
scenario names them. A service with a responsible-commissioner matrix (``services.*.responsible``, the bulletin's
Must / Should / Could exercise) has one line per cell: its share of the PA cost, paid by the cell's commissioner.

Costs depend only on the scenario, never on the replication: options differ in cost by exactly what they buy.
Services with no unit cost count zero; a scenario with no cost information at all gets no cost KPIs.
"""

from __future__ import annotations

import datetime as dt

from sendmodel.scenario.config import Scenario

DAYS_PER_YEAR = 365.25


def has_costs(sc: Scenario) -> bool:
    """True when the scenario gives any unit cost, set-up cost or recurring cost."""
    return bool(sc.costs.setup) or bool(sc.costs.recurring) or any(
        s.cost_per_pa_gbp is not None for s in sc.services.values())


def service_pa_weeks(sc: Scenario, name: str, window: tuple[float, float] | None = None) -> float:
    """PA-weeks a service is commissioned for in the measured window, or in ``window`` (model days [from, to)):
    PAs a week x weeks, dated changes included."""
    svc = sc.services[name]
    scale = sc.scale if svc.capacity_basis == "per_70k" else 1.0
    if window is None:
        lo = sc.simulation.warm_up_days
        hi = lo + sc.simulation.horizon_days
    else:
        lo, hi = window
    if not svc.capacity_changes:
        return svc.pas_per_week * scale * (hi - lo) / 7.0
    start = sc.simulation.start_date
    total, d = 0.0, int(lo // 1)
    while d < hi:
        overlap = min(d + 1, hi) - max(d, lo)
        date = start + dt.timedelta(days=d)
        pas = svc.pas_per_week + sum(c.delta_on(date) for c in svc.capacity_changes)
        total += max(pas, 0.0) * scale * overlap / 7.0
        d += 1
    return total


def cost_lines(sc: Scenario, window: tuple[float, float] | None = None) -> list[dict]:
    """Every cost line of a scenario, a year (over the measured period, or over ``window``): one per costed
    service, one per recurring non-pay item and one per set-up item.

    Returns
    -------
    list of dict
        ``line`` (service name, recurring or set-up item), ``kind`` ("pas", "recurring" or "setup"),
        ``commissioner``, ``pas_per_week`` (average over the window, absolute), ``gbp_per_pa``,
        ``gbp_per_year`` and, for set-up lines, ``gbp_once``.
    """
    days = sc.simulation.horizon_days if window is None else window[1] - window[0]
    years = days / DAYS_PER_YEAR
    out = []
    for name, svc in sc.services.items():
        unit = svc.cost_per_pa_gbp
        if unit is None:
            continue
        pa_weeks = service_pa_weeks(sc, name, window)
        line = {"line": name, "label": svc.label, "kind": "pas", "service": name, "commissioner": svc.commissioner,
                "pas_per_week": pa_weeks * 7.0 / days, "gbp_per_pa": unit, "gbp_once": 0.0,
                "gbp_per_year": pa_weeks * unit / years, "split": None}
        if sc.ehc is not None and name == sc.ehc.dmo_service and sc.dmo_sessions_from(sc.ehc.dmo_from):
            # the DMO/DCO's sessions are PAs the service they come from already pays for (not backfilled)
            line.update(label=f"{svc.label} (within {sc.services[sc.ehc.dmo_from].label}'s PAs)", gbp_per_year=0.0)
        if not svc.responsible:
            out.append(line)
            continue
        for j, r in enumerate(svc.responsible, 1):  # the responsible-commissioner matrix: one line per cell
            out.append({**line, "line": f"{name} {j}: {r.function}, {r.ages}, {r.tier}",
                        "label": f"{svc.label}: {r.function} ({r.ages}, {r.tier} do)",
                        "commissioner": r.commissioner, "pas_per_week": line["pas_per_week"] * r.share,
                        "gbp_per_year": line["gbp_per_year"] * r.share, "split": r.split})
    for item in sc.costs.recurring:  # a year's worth, whatever the window: they recur every year
        scale = sc.scale if item.basis == "per_70k" else 1.0
        out.append({
            "line": item.item,
            "label": item.item,
            "kind": "recurring",
            "service": None,
            "split": None,
            "commissioner": item.commissioner,
            "pas_per_week": 0.0,
            "gbp_per_pa": float("nan"),
            "gbp_once": 0.0,
            "gbp_per_year": item.gbp_each * item.per_year * scale,
        })
    for item in sc.costs.setup:
        out.append({
            "line": item.item,
            "label": item.item,
            "kind": "setup",
            "service": None,
            "split": None,
            "commissioner": item.commissioner,
            "pas_per_week": 0.0,
            "gbp_per_pa": float("nan"),
            "gbp_once": item.gbp,
            "gbp_per_year": item.gbp / sc.costs.setup_amortise_years,
        })
    return out


def funded_by(sc: Scenario, commissioner: str, gbp: float, split: dict | None = None) -> dict[str, float]:
    """Split a cost between the scenario's funders: joint lines by their own ``split`` (a matrix cell's) or
    ``costs.joint_split``, others to their commissioner."""
    funders = sc.funders()
    if commissioner == "joint":
        split = sc.costs.joint_split if split is None else split
        return {f: gbp * split.get(f, 0.0) for f in funders}
    return {f: (gbp if f == commissioner else 0.0) for f in funders}


def cost_kpis(sc: Scenario, window: tuple[float, float] | None = None) -> list[tuple[str, str, float]]:
    """Cost KPI rows (kpi, service, value), GBP a year; the ``service`` column holds the commissioner or funder.

    - ``cost_total_gbp`` (all): PAs, recurring non-pay costs, and set-up spread over ``setup_amortise_years``;
    - ``cost_gbp`` by commissioner (nhs, la_education, la_social_care, joint): sums to the total;
    - ``cost_funded_gbp`` by funder (nhs, la_education, la_social_care), joint lines split: sums to the total;
    - ``cost_setup_once_gbp`` (all): the one-off set-up costs themselves, not annualised.
    """
    if not has_costs(sc):
        return []
    lines = cost_lines(sc, window)
    by_comm = dict.fromkeys(sc.commissioners(), 0.0)
    by_funder = dict.fromkeys(sc.funders(), 0.0)
    for ln in lines:
        by_comm[ln["commissioner"]] += ln["gbp_per_year"]
        for f, v in funded_by(sc, ln["commissioner"], ln["gbp_per_year"], ln["split"]).items():
            by_funder[f] += v
    rows = [("cost_total_gbp", "all", sum(ln["gbp_per_year"] for ln in lines))]
    rows += [("cost_gbp", c, v) for c, v in by_comm.items()]
    rows += [("cost_funded_gbp", f, v) for f, v in by_funder.items()]
    rows.append(("cost_setup_once_gbp", "all", sum(ln["gbp_once"] for ln in lines)))
    return rows
