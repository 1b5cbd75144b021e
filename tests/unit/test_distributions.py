"""Inverse-transform sampling: each configured distribution has the mean, spread and quantiles it claims."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sendmodel.engine.sampling import from_uniform, n_missed
from sendmodel.scenario.config import Exponential, Fixed, Gamma, LogNormal, Triangular, Uniform

U = (np.arange(200_000) + 0.5) / 200_000  # an even grid of uniforms: sample moments ~ exact moments
PROBS = np.array([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])


def _dist(**kw):
    cls = {
        "fixed": Fixed,
        "exponential": Exponential,
        "lognormal": LogNormal,
        "gamma": Gamma,
        "uniform": Uniform,
        "triangular": Triangular,
    }[kw["dist"]]
    return cls(**kw)


CASES = [
    (dict(dist="exponential", mean=2.5), stats.expon(scale=2.5)),
    (
        dict(dist="lognormal", mean=3.0, cv=0.4),
        stats.lognorm(s=np.sqrt(np.log1p(0.16)), scale=3.0 / np.sqrt(1 + 0.16)),
    ),
    (dict(dist="gamma", mean=4.0, cv=0.5), stats.gamma(4.0, scale=1.0)),
    (dict(dist="uniform", low=14, high=42), stats.uniform(14, 28)),
    (dict(dist="triangular", low=5, mode=10, high=21), stats.triang(5 / 16, loc=5, scale=16)),
]


@pytest.mark.parametrize("kw, ref", CASES, ids=[c[0]["dist"] for c in CASES])
def test_quantiles_mean_and_sd_match_the_distribution(kw, ref):
    d = _dist(**kw)
    np.testing.assert_allclose(
        from_uniform(d, PROBS), ref.ppf(PROBS), rtol=1e-6, err_msg=f"{kw}: quantiles differ from scipy's"
    )
    x = from_uniform(d, U)
    assert x.mean() == pytest.approx(d.mean_value, rel=2e-3), f"{kw}: mean {x.mean()} vs {d.mean_value}"
    assert x.mean() == pytest.approx(ref.mean(), rel=2e-3)
    assert x.std() == pytest.approx(ref.std(), rel=2e-2), f"{kw}: sd {x.std()} vs {ref.std()}"
    if "cv" in kw:
        assert x.std() / x.mean() == pytest.approx(kw["cv"], rel=2e-2)
    assert (x >= 0).all()


def test_fixed_is_constant_and_monotone_in_u():
    assert (from_uniform(Fixed(dist="fixed", value=3), U) == 3).all()
    for kw, _ in CASES:
        x = from_uniform(_dist(**kw), U)
        assert (np.diff(x) >= -1e-12).all(), f"{kw}: a larger uniform must never give a smaller draw (CRN)"


def test_invalid_parameters_are_rejected():
    from pydantic import ValidationError

    for kw in (
        dict(dist="uniform", low=5, high=1),
        dict(dist="triangular", low=1, mode=5, high=3),
        dict(dist="triangular", low=2, mode=2, high=2),
        dict(dist="exponential", mean=0),
        dict(dist="lognormal", mean=1, cv=0),
        dict(dist="fixed", value=-1),
    ):
        with pytest.raises(ValidationError):
            _dist(**kw)


def test_n_missed_is_geometric():
    """Missed appointments before one is attended: P(k >= 1) = p, mean p / (1 - p), capped."""
    p = 0.2
    k = n_missed(p, U)
    assert (k >= 0).all() and (k <= 10).all()
    assert (k >= 1).mean() == pytest.approx(p, abs=1e-3)
    assert (k >= 2).mean() == pytest.approx(p**2, abs=1e-3)
    assert k.mean() == pytest.approx(p / (1 - p), rel=1e-2)
    assert (n_missed(0.0, U) == 0).all()
    assert n_missed(0.9, np.array([1 - 1e-15])).item() == 10, "a run of misses is capped"
