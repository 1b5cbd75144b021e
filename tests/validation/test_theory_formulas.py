"""The formulas in sendmodel.studies.verification.theory against independent computations (fast).

Each closed form is checked against something that does not share its derivation: Erlang C against the
factorial-sum form and against the stationary distribution of the M/M/c birth-death chain solved numerically;
Pollaczek-Khinchine against M/M/1; Cobham against Pollaczek-Khinchine and Kleinrock's conservation law; the
Jackson helpers against hand-solved networks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sendmodel.studies.verification import theory


def _erlang_c_factorials(c: int, a: float) -> float:
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def _mmc_chain(lam: float, mu: float, c: int, n_max: int = 4000) -> tuple[float, float]:
    """(P(wait), Lq) from the truncated birth-death chain of the M/M/c queue, solved numerically."""
    rates = np.minimum(np.arange(1, n_max + 1), c) * mu
    logp = np.concatenate([[0.0], np.cumsum(np.log(lam) - np.log(rates))])
    p = np.exp(logp - logp.max())
    p /= p.sum()
    n = np.arange(n_max + 1)
    return float(p[c:].sum()), float(np.sum(np.maximum(n - c, 0) * p))


@pytest.mark.parametrize("c, a", [(1, 0.5), (2, 1.0), (3, 2.7), (5, 4.0), (12, 10.5)])
def test_erlang_c_matches_factorial_form(c, a):
    assert theory.erlang_c(c, a) == pytest.approx(_erlang_c_factorials(c, a), rel=1e-12)


@pytest.mark.parametrize("lam, mu, c", [(0.9, 1.0, 1), (2.1, 1.0, 3), (2.0, 0.6, 4), (9.0, 1.0, 10)])
def test_mmc_formulas_match_the_birth_death_chain(lam, mu, c):
    p_wait, lq = _mmc_chain(lam, mu, c)
    assert theory.erlang_c(c, lam / mu) == pytest.approx(p_wait, rel=1e-9)
    assert theory.mmc_mean_queue_length(lam, mu, c) == pytest.approx(lq, rel=1e-9)
    assert theory.mmc_wait_exceeds(lam, mu, c, 0.0) == pytest.approx(p_wait, rel=1e-9)


def test_mmc_known_values():
    assert theory.mmc_mean_wait(2.0, 0.6, 4) == pytest.approx(1.644, abs=5e-4)  # the example in docs/design.md
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)  # M/M/2 at rho 0.5: 2 rho^2 / (1 + rho)
    rho, t = 0.7, 2.5
    assert theory.mmc_wait_exceeds(rho, 1.0, 1, t) == pytest.approx(rho * math.exp(-(1 - rho) * t))


def test_pollaczek_khinchine_special_cases():
    lam, m = 0.8, 1.0
    assert theory.mg1_mean_wait(lam, m, 2 * m * m) == pytest.approx(theory.mmc_mean_wait(lam, 1 / m, 1))
    assert theory.md1_mean_wait(lam, m) == pytest.approx(theory.mmc_mean_wait(lam, 1 / m, 1) / 2)
    assert theory.md1_mean_wait(lam, m) == pytest.approx(2.0)


def test_cobham_reduces_to_pollaczek_khinchine_and_conserves_work():
    lam, m, m2 = [0.4, 0.6], [0.5, 1.0], [0.5, 2.0]
    w = theory.priority_mean_waits(lam, m, m2)
    assert w.tolist() == pytest.approx([0.875, 4.375])
    # one class, or an empty top class: Pollaczek-Khinchine
    pk = theory.mg1_mean_wait(0.8, 1.0, 2.0)
    assert theory.priority_mean_waits([0.8], [1.0], [2.0])[0] == pytest.approx(pk)
    assert theory.priority_mean_waits([0.0, 0.8], [1.0, 1.0], [2.0, 2.0])[1] == pytest.approx(4.0)
    # Kleinrock's conservation law: sum rho_k W_k is the same in either priority order
    rho = np.multiply(lam, m)
    w0 = float(np.dot(lam, m2) / 2)
    target = rho.sum() * w0 / (1 - rho.sum())
    assert float(np.dot(rho, w)) == pytest.approx(target)
    w_rev = theory.priority_mean_waits(lam[::-1], m[::-1], m2[::-1])
    assert float(np.dot(rho[::-1], w_rev)) == pytest.approx(target)
    assert w[0] < theory.mg1_mean_wait(sum(lam), float(np.dot(lam, m)) / sum(lam), w0 * 2 / sum(lam)) < w[1]


def test_jackson_tandem_split_and_feedback():
    nodes, through = theory.jackson_network([0.5, 0.0], [[0, 1], [0, 0]], [1.0, 0.625], [1, 1])
    assert [n.arrival_rate for n in nodes] == pytest.approx([0.5, 0.5])
    assert [n.mean_wait for n in nodes] == pytest.approx([1.0, 6.4])
    assert through == pytest.approx(10.0)
    nodes, _ = theory.jackson_network([0.6, 0.6], np.zeros((2, 2)), [1.0, 1.0], [1, 1])
    assert [n.mean_wait for n in nodes] == pytest.approx([1.5, 1.5])
    # feedback: half the jobs return, so each job makes 2 visits on average at rate 2
    lam = theory.jackson_arrival_rates([1.0], [[0.5]])
    assert lam.tolist() == pytest.approx([2.0])
    _, through = theory.jackson_network([1.0], [[0.5]], [4.0], [1])
    assert through == pytest.approx(2 * 1 / (4.0 - 2.0))


@pytest.mark.parametrize("call", [
    lambda: theory.erlang_c(2, 2.0),
    lambda: theory.mmc_mean_wait(1.0, 1.0, 1),
    lambda: theory.mg1_mean_wait(1.0, 1.0, 1.0),
    lambda: theory.priority_mean_waits([0.5, 0.5], [1.0, 1.0], [2.0, 2.0]),
    lambda: theory.jackson_network([1.0], [[0.5]], [1.5], [1]),
    lambda: theory.jackson_arrival_rates([1.0], [[1.0]]),
    lambda: theory.erlang_c(0, 0.5),
])
def test_unstable_or_invalid_input_raises(call):
    with pytest.raises(ValueError):
        call()
