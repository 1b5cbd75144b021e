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


def n_missed(p_missed: float, u: np.ndarray, cap: int = 10) -> np.ndarray:
    """Missed appointments before one is attended: geometric by inverse transform, capped."""
    if p_missed <= 0:
        return np.zeros(np.shape(u), dtype=np.int64)
    k = np.floor(np.log1p(-u) / np.log(p_missed)).astype(np.int64)
    return np.minimum(k, cap)
