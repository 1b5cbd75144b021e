"""The independent recursions the engine is compared with, on cases small enough to do by hand (fast)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sendmodel.studies.verification.recursions import fcfs_on_sessions, nonpreemptive_starts, weekday_sessions


def test_fcfs_single_and_multi_server_by_hand():
    a, s = [0.0, 1.0, 1.5, 10.0], [2.0, 1.0, 1.0, 0.5]
    assert nonpreemptive_starts(a, s, 1).tolist() == [0.0, 2.0, 3.0, 10.0]
    # two servers: the third job takes the server freed first (at 2.0, by job 1)
    assert nonpreemptive_starts(a, s, 2).tolist() == [0.0, 1.0, 2.0, 10.0]


def test_priority_is_non_preemptive_and_first_come_first_served_within_a_class():
    a = [0.0, 0.5, 1.0, 1.2]
    s = [2.0, 1.0, 1.0, 1.0]
    cls = [1, 1, 0, 0]  # two routine jobs, then two EHC jobs that jump the routine one waiting
    start = nonpreemptive_starts(a, s, 1, cls)
    assert start.tolist() == [0.0, 4.0, 2.0, 3.0], "job 0 is not interrupted; EHC jobs 2, 3 go before job 1"


def test_weekday_sessions_2024():
    ss, se = weekday_sessions(dt.date(2024, 1, 1), 366)
    assert ss.size == 262 - 8, "262 weekdays in 2024 less England's 8 bank holidays (all on weekdays)"
    assert ss[0] == pytest.approx(1 + 9 / 24), "1 January is a bank holiday: first session Tuesday 09:00"
    assert np.allclose((se - ss) * 24, 8.0)


def test_fcfs_on_sessions_carries_work_over_nights_and_weekends():
    # Thursday 4 and Friday 5 January 2024 (days 3 and 4), then Monday 8 January (day 7), 09:00-17:00
    ss = np.array([3, 4, 7]) + 9 / 24
    se = np.array([3, 4, 7]) + 17 / 24
    a = np.array([3 + 16 / 24, 3 + 16.5 / 24, 5.5, 4 + 20 / 24])
    h = np.array([3.0, 1.0, 2.0, 1.0])
    start = fcfs_on_sessions(a, h, ss, se)
    # job 0 starts at once, works 1 hour on Thursday and 2 on Friday; job 1 follows at Friday 11:00;
    # job 3 (Friday 20:00) and job 2 (Saturday) wait for Monday 09:00, in arrival order
    assert start == pytest.approx([3 + 16 / 24, 4 + 11 / 24, 7 + 10 / 24, 7 + 9 / 24])


def test_fcfs_on_sessions_reports_work_beyond_the_calendar():
    ss, se = np.array([0.375]), np.array([0.7083333333])
    assert np.isinf(fcfs_on_sessions([0.4, 0.5], [8.0, 1.0], ss, se)[1])
