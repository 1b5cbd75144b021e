"""The warm-up diagnostic: MSER-5 finds a known transient, finds none in a stationary series, says when a series
never settles, and the run's check warns when the scenario's warm-up is shorter than what it finds."""

from __future__ import annotations

import numpy as np
import pytest

from sendmodel.analysis.warmup import (
    BATCH,
    STEP_DAYS,
    WarmupSeries,
    check_warmup,
    mser,
    replication_series,
    welch,
)
from sendmodel.engine.replication import run_replication

N = 1000
SEEDS = range(30)


def noise(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, N)


def test_exponential_decay_is_cut_where_the_bias_falls_below_the_noise():
    """20 exp(-t / 40) + N(0, 1): the bias falls below one standard deviation at t* = 40 ln 20 (about 120).
    Tolerance: MSER-5 deletes at least t* and at most 2 t*, in every one of 30 series."""
    tau, amp = 40.0, 20.0
    t_star = tau * np.log(amp)
    for s in SEEDS:
        y = amp * np.exp(-np.arange(N) / tau) + noise(s)
        t = mser(y)
        assert t.found
        assert t_star <= t.index <= 2 * t_star, (s, t)


def test_a_step_transient_is_found_within_ten_batches():
    """A mean 3 sd high for the first 200 observations: truncation at 200, within +50 (10 batches of 5)."""
    found = []
    for s in SEEDS:
        y = np.where(np.arange(N) < 200, 3.0, 0.0) + noise(s)
        found.append(mser(y).index)
    assert all(200 <= i <= 250 for i in found), found
    assert np.median(found) == 200


def test_a_stationary_series_needs_no_warm_up():
    """Independent N(0, 1): truncation 0 in the median of 30 series and never more than 10% of the series."""
    found = [mser(noise(s)).index for s in SEEDS]
    assert np.median(found) == 0
    assert max(found) <= 0.1 * N, found


def test_a_series_that_never_settles_is_not_given_a_warm_up():
    t = mser(0.01 * np.arange(N) + noise(0))  # a trend: no steady state to reach
    assert not t.found and t.batches == t.searched == N // BATCH // 2


def test_mser_batches_by_five_and_refuses_a_short_series():
    y = np.r_[np.full(50, 10.0), np.zeros(450)] + 0.01 * noise(1)[:500]
    assert mser(y).index == 50 and mser(y).batches == 10
    assert mser(y, batch=1).index == 50  # plain MSER
    with pytest.raises(ValueError, match="at least 50 observations"):
        mser(np.zeros(49))


def test_weeks_with_nothing_to_average_carry_the_last_value():
    y = np.r_[np.full(100, 5.0), np.zeros(400)]
    y[[3, 200, 201]] = np.nan
    assert mser(y).index == 100


def test_welch_moving_average():
    y = np.arange(20, dtype=float) ** 2
    w = welch(y, window=2)
    assert w[0] == y[0] and w[1] == y[:3].mean() and w[10] == y[8:13].mean() and w[-1] == y[-1]
    assert np.allclose(welch(np.full(30, 7.0), 5), 7.0)


def _series(transient_weeks: int, reps: int = 3, weeks: int = 156) -> WarmupSeries:
    v = np.vstack([np.where(np.arange(weeks) < transient_weeks, 50.0, 10.0) + noise(r)[:weeks] for r in range(reps)])
    return WarmupSeries(STEP_DAYS, {"waiting:slt": v})


def test_the_check_warns_when_the_scenarios_warm_up_is_too_short(baseline):
    short = baseline.override({"simulation.warm_up_days": 100})
    chk = check_warmup(_series(40), short)  # 40 weeks = 280 days of transient
    assert 280 <= chk.needed_days <= 350 and chk.replications == 3  # within two batches of 5 weeks
    (w,) = chk.warnings()
    assert "simulation.warm_up_days = 100 days" in w and f"{chk.needed_days:g} days" in w and "slt" in w
    assert "NOT enough" in chk.text() and "no steady state" not in w
    grows = check_warmup(_series(40), short.override({"ehc.growth_per_year": 0.13}))
    assert "no steady state" in grows.warnings()[0]  # with growing demand a longer warm-up need not help
    assert check_warmup(_series(40), baseline).warnings() == []  # 730 days is enough
    assert "is enough" in check_warmup(_series(40), baseline).text()
    assert "noisy" in chk.text() and "noisy" not in check_warmup(_series(40, reps=5), baseline).text()


def test_the_check_says_when_a_series_does_not_settle(baseline):
    weeks = 156
    v = np.vstack([np.arange(weeks) * 1.0 + noise(r)[:weeks] for r in range(2)])
    chk = check_warmup(WarmupSeries(STEP_DAYS, {"ehc_open": v}), baseline)
    assert chk.needed_days is None
    (w,) = chk.warnings()
    assert "EHC requests open" in w and "1 series does not settle" in w


def test_a_run_too_short_to_check_says_so(baseline):
    chk = check_warmup(_series(2, weeks=20), baseline)
    assert chk.findings == [] and chk.warnings() == []
    assert "too short" in chk.text()


def test_replication_series_count_what_is_open_each_week(short_baseline):
    rec = run_replication(short_baseline, 7, 0)
    s = replication_series(rec, short_baseline)
    n = int(rec["end_day"] // STEP_DAYS)
    assert all(v.shape == (n,) for v in s.values())
    assert {"ehc_open", "advice_wait_days", "waiting:slt", "routine_wait_weeks:slt"} <= set(s)
    e, i = rec["ehc"], n // 2
    t = i * STEP_DAYS
    closed = np.nan_to_num(e["closed_day"], nan=np.inf)
    assert s["ehc_open"][i] == np.sum((e["arrival_day"] <= t) & (closed > t))
    seen = rec["routine"]["slt"]["seen_day"]
    wk = (seen >= t) & (seen < t + STEP_DAYS)
    if wk.any():
        assert s["routine_wait_weeks:slt"][i] == pytest.approx(
            np.mean((seen[wk] - rec["routine_arrival"]["slt"][wk]) / 7.0))


def test_a_run_from_today_is_not_told_to_lengthen_its_warm_up(baseline):
    """A run that starts from the open cases given starts from today's state, not from empty."""
    from sendmodel.analysis.warmup import WarmupSeries, check_warmup

    sc = baseline.override({"simulation.warm_up_days": 0, "simulation.horizon_days": 400, "ehc.open_cases": [
        {"stage": "awaiting_advice", "weeks_since_request": [6, 16], "n_per_70k": 100}]})
    y = np.concatenate([np.linspace(100, 20, 20), np.full(40, 20.0)]) + np.random.default_rng(1).normal(0, 1, 60)
    series = WarmupSeries(7.0, {"ehc_open": np.vstack([y, y])})
    chk = check_warmup(series, sc)
    assert chk.from_today and chk.longest() is not None and chk.longest().truncation_days > 0
    assert not any("lengthen" in w for w in chk.warnings())
    assert "not a warm-up to drop" in chk.text()
    assert any("lengthen" in w for w in check_warmup(series, sc.override({"ehc.open_cases": []})).warnings())
