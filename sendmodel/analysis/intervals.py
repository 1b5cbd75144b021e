"""The t-interval, in one place: every mean the package reports carries one.

Replications are independent, so a mean over n of them has a Student t interval with n - 1 degrees of freedom;
with one replication there is no interval (NaN), never a zero-width one. Half-widths are computed as
``t * sd / sqrt(n)`` in that order everywhere, so every table shows the same bits for the same data.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats


def t_critical(df, alpha: float = 0.05):
    """Two-sided critical value of Student's t with ``df`` degrees of freedom (scalar or array)."""
    q = stats.t.ppf(1 - alpha / 2, df)
    return float(q) if np.ndim(q) == 0 else q


def t_quantile(n, alpha: float = 0.05):
    """The t critical value for a mean of ``n`` values (n - 1 degrees of freedom); NaN where n < 2."""
    if np.ndim(n) == 0:
        return t_critical(n - 1, alpha) if n > 1 else math.nan
    n = np.asarray(n, dtype=float)
    return np.where(n > 1, stats.t.ppf(1 - alpha / 2, np.maximum(n - 1, 1)), np.nan)


def half_width(sd, n, alpha: float = 0.05):
    """Half-width of the (1 - alpha) t-interval of a mean of ``n`` values with standard deviation ``sd``."""
    if np.ndim(n) == 0 and np.ndim(sd) == 0:
        return t_quantile(n, alpha) * sd / math.sqrt(n) if n > 1 else math.nan
    n = np.asarray(n, dtype=float)
    return np.where(n > 1, t_quantile(n, alpha) * np.asarray(sd, dtype=float) / np.sqrt(n), np.nan)


class Interval(NamedTuple):
    n: int
    mean: float
    sd: float
    half_width: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def mean_interval(x, alpha: float = 0.05, *, dropna: bool = False) -> Interval:
    """n, mean, sd and t half-width of independent values (NaN dropped when ``dropna``).

    No values: everything NaN. One value: the mean, sd 0 and no interval (NaN half-width).
    """
    x = np.asarray(x, dtype=float)
    if dropna:
        x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan)
    m = float(x.mean())
    if n == 1:
        return Interval(1, m, 0.0, math.nan)
    sd = float(x.std(ddof=1))
    return Interval(n, m, sd, t_quantile(n, alpha) * sd / math.sqrt(n))


def summarise_groups(values, alpha: float = 0.05):
    """Per group of a pandas ``SeriesGroupBy``: n, mean, sd, ci_low, ci_high and half_width (a DataFrame)."""
    out = values.agg(n="count", mean="mean", sd="std").reset_index()
    half = half_width(out["sd"], out["n"], alpha)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["half_width"] = half
    return out


def replications_for(half_width: float, n: int, precision: float, alpha: float = 0.05) -> int:
    """Replications at which a half-width measured with ``n`` would shrink to ``precision``.

    The sample sd is recovered from the half-width (s = hw sqrt(n) / t); the answer is the smallest m with
    t(m-1) s / sqrt(m) <= precision (Law 2007, s. 9.4.1, the "approximate number of replications").
    """
    if n < 2 or not np.isfinite(half_width):
        return 2 * max(n, 1)
    if half_width <= precision:
        return n
    s = half_width * math.sqrt(n) / t_quantile(n, alpha)
    m = max(n + 1, math.ceil((stats.norm.ppf(1 - alpha / 2) * s / precision) ** 2))
    while t_quantile(m, alpha) * s / math.sqrt(m) > precision:
        m += 1
    return m


def precision_verdict(half_width: float, n: int, precision: float, alpha: float = 0.05) -> str:
    """The phrase a run and a comparison append to a half-width: within the precision asked for, or not and
    about how many replications would be (:func:`replications_for`)."""
    if half_width <= precision:
        return f", within the precision asked for ({precision:g})"
    return (f", NOT within the precision asked for ({precision:g}); about "
            f"{replications_for(half_width, n, precision, alpha)} replications would be needed")
