"""Value for money counts what an option displaces: the routine waiting (child-weeks a year) and the children
seen after 18 weeks it adds or removes on the health services' lists, beside its cost, in the table's verdict."""

from __future__ import annotations

import pytest

from sendmodel.analysis.compare import run_comparison
from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.cli.compare import value_for_money
from tests.functional.builders import expo, fixed, records, tiny

BUSY = {"services.therapy.routine_referrals_per_week_per_70k": 12, "services.therapy.routine_appointment_hours":
        expo(2.0), "services.therapy.pas_per_week": 10, "services.therapy.advice.booking_lead_days": fixed(28),
        "services.therapy.advice.p_known": 0.2, "services.therapy.discipline": "ehc_first",
        "simulation.warm_up_days": 60, "simulation.horizon_days": 300}


def test_routine_waiting_weeks_are_the_mean_list_over_a_year():
    sc = tiny(BUSY)
    k = {(a, s): v for a, s, v in kpis_from_records(records(sc), sc)}
    assert k[("routine_waiting_weeks_per_year", "therapy")] == pytest.approx(
        k[("routine_waiting_mean", "therapy")] * 365.25 / 7)
    assert k[("routine_waiting_weeks_per_year", "all")] == k[("routine_waiting_weeks_per_year", "therapy")]
    assert k[("routine_breaches_per_year", "therapy")] >= 0


def test_an_option_that_lengthens_routine_waits_says_so():
    base = tiny(BUSY, name="today")
    fewer = tiny({**BUSY, "services.therapy.pas_per_week": 9}, name="fewer")  # a PA a week less
    c = run_comparison([base, fewer], "today", replications=3, seed=2)
    v = value_for_money(c).set_index("option").loc["fewer"]
    assert v["extra_routine_waiting_weeks_per_year"] > 0 and v["extra_routine_waiting_ci_low"] > 0
    assert v["verdict"].endswith("routine lists wait longer")
