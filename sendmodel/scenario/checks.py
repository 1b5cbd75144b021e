"""Warnings: settings that run but are probably not what was meant.

Every command prints them (``warning: FILE: ...``) and the dashboards show them beside the levers.
"""

from __future__ import annotations

import datetime as dt

from sendmodel.scenario.config import Scenario


def _in_run(c, first: dt.date, end: dt.date) -> bool:
    """Whether a dated capacity change applies on any day of the run [first, end)."""
    return c.applies_from < end and (c.end is None or c.end > first)


def capacity_warnings(scenario: Scenario) -> list[str]:
    """Dated capacity changes that do nothing (wholly outside the run) or take a service below zero PAs a week
    (the model counts that as 0: no sessions)."""
    first, end = scenario.simulation.start_date, scenario.simulation.end_date
    out = []
    for name, s in scenario.services.items():
        for i, c in enumerate(s.capacity_changes):
            if not _in_run(c, first, end):
                until = f"until {c.end}" if c.end is not None else "onwards"
                out.append(f"services.{name}.capacity_changes[{i}]: {s.label}: the change from {c.start} {until} is "
                           f"wholly outside the run ({first} to {end - dt.timedelta(days=1)}), so it changes "
                           "nothing; check its dates (and simulation.start_date)")
        # PAs a week (the file's basis) on each day a change starts or ends inside the run
        days = sorted({first} | {d for c in s.capacity_changes for d in (c.applies_from, c.end)
                                 if d is not None and first <= d < end})
        for d in days:
            active = [i for i, c in enumerate(s.capacity_changes) if c.delta_on(d)]
            pas = s.pas_per_week + sum(s.capacity_changes[i].delta_on(d) for i in active)
            if pas < -1e-9:
                which = ", ".join(f"capacity_changes[{i}]" for i in active)
                out.append(f"services.{name}.capacity_changes: {s.label}: from {d} the changes ({which}) take "
                           f"{s.pas_per_week:g} PAs a week to {pas:g}; the model counts that as 0 PAs (no sessions), "
                           "not as a debt: check the sizes of the changes")
                break
    return out


def scenario_warnings(scenario: Scenario) -> list[str]:
    """Settings that run but are probably not what was meant: work sent to a service with no PAs, which then
    waits for ever (the run still finishes; its KPIs show that work as open); dated capacity changes wholly
    outside the run, or taking a service below zero PAs. The CLI prints these and the dashboards show them
    beside the levers."""
    first, end = scenario.simulation.start_date, scenario.simulation.end_date

    def no_capacity(name: str) -> bool:
        s = scenario.services[name]
        return scenario.service_pas_per_week(name) <= 0 and not any(
            c.pas_per_week_delta > 0 and _in_run(c, first, end) for c in s.capacity_changes
        )

    out = []
    ehc = scenario.ehc
    if ehc is not None and ehc.requests_per_year_per_70k > 0:
        if ehc.admin_support and ehc.admin_service and no_capacity(ehc.admin_service):
            out.append("Admin support is on but has no PAs a week: DMO/DCO admin will wait for ever. "
                       "Give admin support some PAs.")
        if ehc.triage.enabled and ehc.triage.service and no_capacity(ehc.triage.service):
            out.append("Triage is on but has no PAs a week: health advice requests will wait at the front door. "
                       "Give triage some PAs.")
        if ehc.p_exceptional_provision > 0 and no_capacity(ehc.dmo_service):
            out.append("The DMO/DCO has no PAs a week: exceptional provision is never signed off.")
        if no_capacity(ehc.la_service):
            out.append(f"{scenario.services[ehc.la_service].label} has no PAs a week: no request is ever decided.")
        for name in scenario.advice_services():
            if no_capacity(name):
                out.append(f"{scenario.services[name].label} is asked for EHC advice but has no PAs a week: "
                           "its advice never comes.")
    for name, s in scenario.services.items():
        routine = s.routine_referrals_per_week_per_70k > 0 or any(b.n_per_70k > 0 for b in s.backlog)
        if routine and no_capacity(name) and name not in scenario.advice_services():
            out.append(f"{s.label} has routine referrals but no PAs a week: nobody is ever seen.")
    return out + capacity_warnings(scenario)
