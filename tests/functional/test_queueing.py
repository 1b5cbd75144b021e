"""Queueing theory checks: M/M/c against Erlang C, and Little's law on every run's records.

The M/M/c case is the model with everything random at its exponential/Poisson special case: a routine-only
scenario, always-open calendar (c = PAs x 4 / 168 clinicians), Poisson referrals, exponential appointment
hours, no leave, first come first served. Wait = task_started - task_enqueued from the service's task log.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sendmodel
from sendmodel.analysis.kpis import time_average
from tests.functional.builders import mmc_scenario, records


def erlang_c_wait(c: int, lam: float, mu: float) -> tuple[float, float]:
    """Mean wait in queue and probability of waiting for M/M/c (Erlang C)."""
    a = lam / mu
    assert a < c
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam), p_wait


def _window_waits(rec: dict, service: str, warm: float, end: float):
    t = rec["services"][service]
    enq, st = t["task_enqueued"], t["task_started"]
    inw = (enq >= warm) & (enq < end)
    return enq[inw], st[inw]


MMC = [(1, 1.5, 12.0), (3, 4.5, 12.0)]  # (clinicians, arrivals a day, mean hours): utilisation 0.75


@pytest.mark.parametrize("c, lam, hours", MMC, ids=["M/M/1", "M/M/3"])
def test_mmc_mean_wait_matches_erlang_c(c, lam, hours):
    warm, horizon, reps = 100.0, 2000.0, 10
    sc = mmc_scenario(c, lam, hours, warm, horizon)
    mu = 24.0 / hours
    wq, p_wait = erlang_c_wait(c, lam, mu)
    means, waited, util = [], [], []
    for r in range(reps):
        rec = records(sc, seed=2024, rep=r)
        enq, st = _window_waits(rec, "clinic", warm, warm + horizon - 30)  # all of these have started
        assert not np.isnan(st).any(), "tasks arriving a month before the end have all started"
        w = st - enq
        means.append(w.mean())
        waited.append((w > 1e-9).mean())
        busy = rec["services"]["clinic"]["busy_hours_by_day"][int(warm) :].sum()
        util.append(busy / (24 * c * horizon))
    means = np.array(means)
    half = stats.t.ppf(0.975, reps - 1) * means.std(ddof=1) / np.sqrt(reps)
    lo, hi = means.mean() - half, means.mean() + half
    assert lo <= wq <= hi, f"Erlang C mean wait {wq:.4f} days outside the 95% CI [{lo:.4f}, {hi:.4f}]"
    assert half < 0.15 * wq, f"CI half-width {half:.4f} too wide to be a real check"
    assert np.mean(waited) == pytest.approx(p_wait, abs=0.02), (
        f"P(wait) {np.mean(waited):.3f} vs {p_wait:.3f}"
    )
    assert np.mean(util) == pytest.approx(lam / (c * mu), abs=0.02), "utilisation = lambda / (c mu)"


def _little(rec: dict, service: str, warm: float, end: float) -> tuple[float, float, float]:
    """(time-average number waiting from the queue log, arrival rate, mean wait) over [warm, end).

    Every task that waits at some time in the window counts once, with the part of its wait inside the window;
    tasks not started by the end wait until the end. With these definitions Little's law L = lambda W holds
    exactly on any window, so it checks the queue-length log against the task timestamps.
    """
    t = rec["services"][service]
    enq, st = t["task_enqueued"], t["task_started"]
    if "task_left_day" in t:  # a child who left the list unseen waited until it left
        st = np.fmin(st, t["task_left_day"])
    st = np.where(np.isnan(st), end, st)
    w = np.clip(st, warm, end) - np.clip(enq, warm, end)
    waits_in_window = (enq < end) & (st > warm) & (st > enq)
    L = time_average(t["queue_t"], t["queue_n"], warm, end)
    n = waits_in_window.sum()
    lam = n / (end - warm)
    wbar = w[waits_in_window].mean() if n else 0.0
    return L, lam, wbar


@pytest.mark.parametrize("c", [1, 3])
def test_littles_law_mmc(c):
    lam_day, hours, warm, horizon = 1.5 * c, 12.0, 100.0, 2000.0
    sc = mmc_scenario(c, lam_day, hours, warm, horizon)
    rec = records(sc, seed=7, rep=0)
    end = warm + horizon
    L, lam, wbar = _little(rec, "clinic", warm, end)
    assert L == pytest.approx(lam * wbar, rel=1e-9), f"L={L} vs lambda W={lam * wbar}"
    # the textbook form: arrivals in the window and their whole waits
    enq, st = _window_waits(rec, "clinic", warm, end)
    st = np.where(np.isnan(st), end, st)
    lam_arr = enq.size / horizon
    assert L == pytest.approx(lam_arr * (st - enq).mean(), rel=0.03)
    assert lam_arr == pytest.approx(lam_day, rel=0.05)
    wq, _ = erlang_c_wait(c, lam_day, 24.0 / hours)
    assert L == pytest.approx(lam_day * wq, rel=0.25), "Lq near its theoretical value (one replication)"


def test_littles_law_on_every_service_of_the_baseline(baseline):
    sc = baseline
    warm = sc.simulation.warm_up_days
    for rep in range(2):
        rec = sendmodel.run_replication(sc, 5, rep)
        end = rec["end_day"]
        checked = 0
        for s in sc.services:
            L, lam, wbar = _little(rec, s, warm, end)
            assert L == pytest.approx(lam * wbar, rel=1e-9, abs=1e-9), (
                f"rep {rep} {s}: time-average waiting {L:.4f} vs arrival rate x mean wait {lam * wbar:.4f}"
            )
            checked += L > 0.5
        assert checked >= 6, "most services have a queue worth checking"
