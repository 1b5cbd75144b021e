"""recursions."""

from __future__ import annotations

import datetime as dt
import heapq

import numpy as np

# --- independent recursions (no engine code) ----------------------------------------------------------------


def nonpreemptive_starts(enqueued, service_days, servers: int, classes=None) -> np.ndarray:
    """Start times of a c-server queue that serves, whenever a server frees, the waiting job of the lowest
    class (then the earliest arrival), never interrupting a job; with one class this is FCFS
    (the Kiefer-Wolfowitz recursion).

    Parameters
    ----------
    enqueued : array of float
        Arrival time of each job (days).
    service_days : array of float
        Service time of each job (days).
    servers : int
        Servers always on duty.
    classes : array of int, optional
        Priority class of each job (0 = first); all 0 when omitted.
    """
    a = np.asarray(enqueued, dtype=float)
    s = np.asarray(service_days, dtype=float)
    cls = np.zeros(a.size, dtype=np.int64) if classes is None else np.asarray(classes)
    order = np.argsort(a, kind="stable").tolist()
    a_l, s_l, c_l = a.tolist(), s.tolist(), cls.tolist()
    free = [0.0] * servers
    waiting: list = []
    start = np.full(a.size, np.nan)
    i, n = 0, a.size
    while i < n or waiting:
        t = free[0]
        while i < n and a_l[order[i]] <= t:
            j = order[i]
            heapq.heappush(waiting, (c_l[j], a_l[j], j))
            i += 1
        if waiting:
            j = heapq.heappop(waiting)[2]
            begin = t
        else:  # every server idle: the next arrival starts at once
            j = order[i]
            i += 1
            begin = a_l[j]
        heapq.heapreplace(free, begin + s_l[j])
        start[j] = begin
    return start


def weekday_sessions(start_date: dt.date, n_days: int, first_hour: float = 9.0, last_hour: float = 17.0):
    """One clinician's open hours: every weekday that is not an England bank holiday, first to last hour.

    Written from the definition of a 10-PA week (two 4-hour sessions each weekday), not from the engine's
    session layout. Returns (start, end) arrays in days from ``start_date``.
    """
    import holidays

    years = range(start_date.year, (start_date + dt.timedelta(days=n_days)).year + 1)
    hols = set(holidays.country_holidays("GB", subdiv="ENG", years=years))
    dates = (start_date + dt.timedelta(days=d) for d in range(n_days))
    days = [d for d, date in enumerate(dates) if date.weekday() < 5 and date not in hols]
    d = np.asarray(days, dtype=float)
    return d + first_hour / 24.0, d + last_hour / 24.0


def fcfs_on_sessions(enqueued, service_hours, sess_start, sess_end) -> np.ndarray:
    """Start times for one clinician serving first come first served only within sessions, carrying unfinished
    work over to the next session (preemptive-resume at session ends).

    In *operational time* (clinician hours offered so far) this is an ordinary single-server queue, so the
    Lindley recursion x_j = max(op(a_j), x_{j-1} + h_{j-1}) gives each job's start in clinician hours; mapping
    back to the calendar gives the start time (a job whose turn comes at a session's end starts when the next
    session opens).
    """
    a = np.asarray(enqueued, dtype=float)
    h = np.asarray(service_hours, dtype=float)
    order = np.argsort(a, kind="stable")
    a, h = a[order], h[order]
    length = (sess_end - sess_start) * 24.0
    cum1 = np.cumsum(length)
    cum0 = cum1 - length
    k = np.searchsorted(sess_start, a, side="right") - 1
    kk = np.maximum(k, 0)
    op = np.where(k < 0, 0.0, cum0[kk] + np.minimum(a - sess_start[kk], sess_end[kk] - sess_start[kk]) * 24.0)
    done_before = np.concatenate([[0.0], np.cumsum(h)[:-1]])
    x = done_before + np.maximum.accumulate(op - done_before)
    m = np.searchsorted(cum1, x, side="right")
    beyond = m >= sess_start.size  # not started within the calendar given
    mm = np.minimum(m, sess_start.size - 1)
    out = np.empty_like(a)
    out[order] = np.where(beyond, np.inf, sess_start[mm] + (x - cum0[mm]) / 24.0)
    return out
