"""checks."""

from __future__ import annotations

from sendmodel.scenario.config import Scenario


def scenario_warnings(scenario: Scenario) -> list[str]:
    """Settings that run but are probably not what was meant: work sent to a service with no PAs, which then
    waits for ever (the run still finishes; its KPIs show that work as open). The CLI prints these and the
    dashboards show them beside the levers."""

    def no_capacity(name: str) -> bool:
        s = scenario.services[name]
        return scenario.service_pas_per_week(name) <= 0 and not any(
            c.pas_per_week_delta > 0 for c in s.capacity_changes
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
    return out
