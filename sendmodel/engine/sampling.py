"""Turn uniforms into draws from a configured distribution (inverse transform).

Demand is pre-sampled as uniforms so that request k gets the *same* uniform in every scenario; the scenario's
distribution then maps it to hours or days. Changing a task's mean changes that task's time smoothly, which keeps
common random numbers strong across options.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from sendmodel.scenario.config import Exponential, Fixed, Gamma, LogNormal, Triangular, Uniform


def from_uniform(dist, u: np.ndarray) -> np.ndarray:
    """Quantiles of ``dist`` at uniforms ``u`` (same shape); units as the field that holds ``dist``."""
    u = np.asarray(u, dtype=float)
    if isinstance(dist, Fixed):
        return np.full(u.shape, float(dist.value))
    if isinstance(dist, Exponential):
        return -dist.mean * np.log1p(-u)
    if isinstance(dist, LogNormal):
        sigma2 = np.log1p(dist.cv**2)
        mu = np.log(dist.mean) - sigma2 / 2
        return np.exp(mu + np.sqrt(sigma2) * special.ndtri(u))
    if isinstance(dist, Gamma):
        shape = 1.0 / dist.cv**2
        return stats.gamma.ppf(u, shape, scale=dist.mean / shape)
    if isinstance(dist, Uniform):
        return dist.low + (dist.high - dist.low) * u
    if isinstance(dist, Triangular):
        a, c, b = dist.low, dist.mode, dist.high
        fc = (c - a) / (b - a)
        return np.where(u < fc, a + np.sqrt(u * (b - a) * (c - a)), b - np.sqrt((1 - u) * (b - a) * (b - c)))
    raise TypeError(f"unknown distribution {dist!r}")


def cdf(dist, x: np.ndarray) -> np.ndarray:
    """P(draw <= x) for ``dist`` (the inverse of :func:`from_uniform`)."""
    x = np.asarray(x, dtype=float)
    if isinstance(dist, Fixed):
        return (x >= dist.value).astype(float)
    if isinstance(dist, Exponential):
        return np.where(x > 0, -np.expm1(-np.maximum(x, 0) / dist.mean), 0.0)
    if isinstance(dist, LogNormal):
        sigma2 = np.log1p(dist.cv**2)
        mu = np.log(dist.mean) - sigma2 / 2
        with np.errstate(divide="ignore"):
            return np.where(x > 0, special.ndtr((np.log(np.maximum(x, 1e-300)) - mu) / np.sqrt(sigma2)), 0.0)
    if isinstance(dist, Gamma):
        shape = 1.0 / dist.cv**2
        return stats.gamma.cdf(x, shape, scale=dist.mean / shape)
    if isinstance(dist, Uniform):
        width = dist.high - dist.low
        return np.clip((x - dist.low) / width, 0.0, 1.0) if width > 0 else (x >= dist.low).astype(float)
    if isinstance(dist, Triangular):
        a, c, b = dist.low, dist.mode, dist.high
        xc = np.clip(x, a, b)
        left = (xc - a) ** 2 / ((b - a) * (c - a)) if c > a else np.zeros_like(xc)
        right = 1 - (b - xc) ** 2 / ((b - a) * (b - c)) if b > c else np.ones_like(xc)
        return np.where(xc < c, left, right)
    raise TypeError(f"unknown distribution {dist!r}")


def from_uniform_beyond(dist, u: np.ndarray, spent: np.ndarray) -> np.ndarray:
    """Draws of ``dist`` given that they exceed ``spent`` (a delay already running that long), by inverse
    transform of the conditional distribution; where nothing exceeds ``spent`` (a fixed delay already over), the
    draw is ``spent`` itself, i.e. nothing left to wait.

    An open case's clocks: a booking that has already taken 300 days of a heavy-tailed lead time is more likely
    to take longer still than a fresh one; subtracting the time spent from a fresh draw would end it at once.
    """
    u = np.asarray(u, dtype=float)
    spent = np.maximum(np.asarray(spent, dtype=float), 0.0)
    f = cdf(dist, spent)
    q = np.minimum(f + u * (1.0 - f), 1.0 - 1e-12)
    return np.maximum(from_uniform(dist, q), spent)


def n_missed(p_missed: float, u: np.ndarray, cap: int = 10) -> np.ndarray:
    """Missed appointments before one is attended: geometric by inverse transform, capped."""
    if p_missed <= 0:
        return np.zeros(np.shape(u), dtype=np.int64)
    k = np.floor(np.log1p(-u) / np.log(p_missed)).astype(np.int64)
    return np.minimum(k, cap)
