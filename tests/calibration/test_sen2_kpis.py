"""The DfE-style KPIs on hand-made records: each definition counts what SEN2 counts."""

import numpy as np
import pytest

from sendmodel.analysis.kpis import routine_list_kpis, sen2_style_kpis

NAN = np.nan
WARM, END = 100.0, 465.0  # a 365-day window


def _ehc():
    # request:           0      1      2      3      4      5      6
    arrival = np.array([50.0, 120.0, 150.0, 200.0, 300.0, 440.0, 460.0])
    decision = np.array([80.0, 150.0, 200.0, 230.0, 330.0, 470.0, NAN])  # 5 decided after the end, 6 never
    outcome = np.array([0, 0, 1, 0, 0, 1, 0])  # 0 assessed, 1 refused
    plan = np.array([True, True, False, True, False, False, True])
    final = np.array([150.0, 300.0, NAN, 420.0, NAN, NAN, NAN])  # 50->150: 14.3 wks; 120->300: 25.7; 200->420: 31.4
    closed = np.array([150.0, 300.0, 200.0, 420.0, 420.0, 470.0, NAN])  # 4: decided not to issue at day 420
    return {"arrival_day": arrival, "decision_day": decision, "outcome": outcome, "plan": plan,
            "final_day": final, "closed_day": closed}


def _kpis():
    return {k: v for k, _, v in sen2_style_kpis(_ehc(), WARM, END)}


def test_requests_received_in_the_window_and_their_status_at_its_end():
    k = _kpis()
    # received in the window: requests 1..6 (6 of them); decided by the end: 1, 2, 3, 4
    assert k["requests_per_year"] == pytest.approx(6 * 365.25 / 365)
    assert k["requests_assessed_pct"] == pytest.approx(100 * 3 / 6), "1, 3, 4 assessed and decided by the end"
    assert k["requests_refused_pct"] == pytest.approx(100 * 1 / 6), "2 refused; 5 refused only after the end"
    assert k["requests_undecided_pct"] == pytest.approx(100 * 2 / 6), "5 and 6 undecided at the end"


def test_decisions_made_in_the_window_within_6_weeks():
    # made in the window: 1 (30 days), 2 (50), 3 (30), 4 (30): 0 at day 80 is in the warm-up, 5 after the end
    assert _kpis()["decisions_made_within_6w_pct"] == pytest.approx(75.0)


def test_assessments_completed_and_plans_issued_in_the_window():
    k = _kpis()
    # completed in the window: 0 (plan at 150), 1 (plan at 300), 3 (plan at 420), 4 (no plan at 420)
    assert k["assessments_plan_pct"] == pytest.approx(75.0)
    assert k["not_to_issue_within_16w_pct"] == pytest.approx(0.0), "request 4: 120 days > 16 weeks"
    # issued in the window: 14.3, 25.7 and 31.4 weeks
    assert k["plans_issued_within_20w_pct"] == pytest.approx(100 / 3)
    assert k["plans_issued_20_to_52w_pct"] == pytest.approx(200 / 3)
    assert k["plans_issued_over_52w_pct"] == 0.0


def test_a_plan_over_a_year_counts_in_the_over_52_weeks_band():
    e = _ehc()
    e["final_day"][0] = e["closed_day"][0] = 50.0 + 400.0
    k = {k: v for k, _, v in sen2_style_kpis(e, WARM, END)}
    assert k["plans_issued_over_52w_pct"] == pytest.approx(100 / 3)


def test_routine_list_snapshots():
    # weekly snapshots at 100, 107, ..., 464 (53); referrals: one waiting all year since day 0, one since day 200
    # and seen at 300, one seen in the warm-up (never counted)
    arr = np.array([0.0, 200.0, 10.0])
    seen = np.array([NAN, 300.0, 50.0])
    w = np.array([(300.0 - 200.0) / 7])
    k = {kpi: v for kpi, _, v in routine_list_kpis("x", arr, seen, w, WARM, END)}
    t = np.arange(WARM, END, 7.0)
    n = 1 + ((t >= 200) & (t < 300))
    assert k["routine_waiting_mean"] == pytest.approx(n.mean())
    # only the day-200 referral is ever within 18 weeks of referral while waiting (the other has waited > 14 weeks
    # at day 100 and crosses 18 weeks at day 126)
    short = ((t >= 200) & (t < 300)).sum() + (t <= 126).sum()
    assert k["routine_waiting_within_18w_pct"] == pytest.approx(100 * short / n.sum())
    assert k["routine_waiting_change"] == 0.0
    assert k["routine_wait_mean_weeks"] == pytest.approx(100 / 7)
