"""Queueing-theory results the model is validated against (``sendmodel validate --theory``).

Closed forms for the textbook queues that a validation scenario reduces the model to: M/M/c (Erlang C),
M/G/1 (Pollaczek-Khinchine), the non-preemptive priority M/G/1 (Cobham) and open Jackson networks. All
functions take rates and times in one consistent unit (the validation suite uses days) and return the same
unit. They raise ``ValueError`` for an unstable queue (load at or above capacity) rather than return a number
that means nothing.

References
----------
.. [1] Kleinrock L. (1975) *Queueing Systems, Volume 1: Theory*. Wiley. Chapter 3 (M/M/m), chapter 4
   (networks of Markovian queues), chapter 5 (M/G/1, Pollaczek-Khinchine).
.. [2] Kleinrock L. (1976) *Queueing Systems, Volume 2: Computer Applications*. Wiley. Chapter 3 (priority
   queueing, the conservation law).
.. [3] Erlang A.K. (1917) Solution of some problems in the theory of probabilities of significance in
   automatic telephone exchanges. *Elektroteknikeren* 13.
.. [4] Pollaczek F. (1930) Uber eine Aufgabe der Wahrscheinlichkeitstheorie. *Mathematische Zeitschrift* 32,
   64-100; Khinchine A.Y. (1932) Mathematical theory of a stationary queue. *Matematicheskii Sbornik* 39(4),
   73-84.
.. [5] Cobham A. (1954) Priority assignment in waiting line problems. *Operations Research* 2(1), 70-76.
.. [6] Jackson J.R. (1957) Networks of waiting lines. *Operations Research* 5(4), 518-521; Jackson J.R. (1963)
   Jobshop-like queueing systems. *Management Science* 10(1), 131-142.
.. [7] Burke P.J. (1956) The output of a queuing system. *Operations Research* 4(6), 699-704.
.. [8] Little J.D.C. (1961) A proof for the queuing formula L = lambda W. *Operations Research* 9(3), 383-387.
.. [9] Gross D., Shortle J.F., Thompson J.M., Harris C.M. (2008) *Fundamentals of Queueing Theory*, 4th ed.
   Wiley. Chapters 2 (M/M/c), 3 (priority queues), 4 (Jackson networks), 5 (M/G/1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "JacksonNode",
    "erlang_c",
    "jackson_arrival_rates",
    "jackson_network",
    "md1_mean_wait",
    "mg1_mean_wait",
    "mmc_mean_queue_length",
    "mmc_mean_wait",
    "mmc_wait_exceeds",
    "priority_mean_waits",
]


def _check_positive(**kw: float) -> None:
    for k, v in kw.items():
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{k} must be a positive finite number (got {v!r})")


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival has to wait in an M/M/c queue (Erlang's C formula).

    Parameters
    ----------
    servers : int
        Number of servers *c* (clinicians on duty), at least 1.
    offered_load : float
        Offered load *a* = arrival rate / service rate, in Erlangs; must be below ``servers``.

    Returns
    -------
    float
        P(W > 0), the probability of waiting.

    Notes
    -----
    Computed through the Erlang B recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)), then
    C = c B / (c - a (1 - B)), which is stable for large *c* (no factorials).

    References
    ----------
    Erlang (1917); Kleinrock (1975) chapter 3; Gross et al. (2008) chapter 2.

    Examples
    --------
    >>> round(erlang_c(1, 0.9), 12)  # M/M/1: P(wait) = rho
    0.9
    """
    if int(servers) != servers or servers < 1:
        raise ValueError(f"servers must be a whole number >= 1 (got {servers!r})")
    _check_positive(offered_load=offered_load)
    if offered_load >= servers:
        raise ValueError(f"unstable: offered load {offered_load:g} >= {servers} servers")
    b = 1.0
    for k in range(1, int(servers) + 1):
        b = offered_load * b / (k + offered_load * b)
    return servers * b / (servers - offered_load * (1.0 - b))


def mmc_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in queue *Wq* of an M/M/c queue (first come first served).

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate lambda (per unit time, e.g. per day).
    service_rate : float
        Service rate mu of one server (1 / mean service time, same unit).
    servers : int
        Number of servers c.

    Returns
    -------
    float
        Wq = C(c, a) / (c mu - lambda), in the time unit of the rates.

    References
    ----------
    Kleinrock (1975) chapter 3; Gross et al. (2008) chapter 2.

    Examples
    --------
    >>> round(mmc_mean_wait(2.0, 0.6, 4), 3)  # the Erlang C example in docs/design.md
    1.644
    """
    _check_positive(arrival_rate=arrival_rate, service_rate=service_rate)
    a = arrival_rate / service_rate
    return erlang_c(servers, a) / (servers * service_rate - arrival_rate)


def mmc_wait_exceeds(arrival_rate: float, service_rate: float, servers: int, t: float) -> float:
    """P(Wq > t) in an M/M/c queue (first come first served).

    Parameters
    ----------
    arrival_rate, service_rate : float
        As in :func:`mmc_mean_wait`.
    servers : int
        Number of servers c.
    t : float
        Wait threshold (time unit of the rates), >= 0.

    Returns
    -------
    float
        C(c, a) exp(-(c mu - lambda) t): the wait of those who wait is exponential with rate c mu - lambda.

    References
    ----------
    Kleinrock (1975) chapter 3; Gross et al. (2008) chapter 2.
    """
    if t < 0:
        raise ValueError(f"t must be >= 0 (got {t!r})")
    _check_positive(arrival_rate=arrival_rate, service_rate=service_rate)
    a = arrival_rate / service_rate
    return erlang_c(servers, a) * math.exp(-(servers * service_rate - arrival_rate) * t)


def mmc_mean_queue_length(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Time-average number waiting *Lq* of an M/M/c queue, by Little's law Lq = lambda Wq.

    References
    ----------
    Little (1961).
    """
    return arrival_rate * mmc_mean_wait(arrival_rate, service_rate, servers)


def mg1_mean_wait(arrival_rate: float, service_mean: float, service_second_moment: float) -> float:
    """Mean time in queue of an M/G/1 queue (Pollaczek-Khinchine mean-value formula).

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate lambda (per unit time).
    service_mean : float
        E[S], mean service time (time unit).
    service_second_moment : float
        E[S^2] (time unit squared): ``2 * mean**2`` for exponential, ``mean**2`` for deterministic.

    Returns
    -------
    float
        Wq = lambda E[S^2] / (2 (1 - rho)), rho = lambda E[S].

    References
    ----------
    Pollaczek (1930), Khinchine (1932); Kleinrock (1975) chapter 5; Gross et al. (2008) chapter 5.

    Examples
    --------
    >>> round(mg1_mean_wait(0.8, 1.0, 1.0), 12)  # M/D/1 at rho = 0.8: rho / (2 (1 - rho)) mean services
    2.0
    """
    _check_positive(arrival_rate=arrival_rate, service_mean=service_mean)
    if service_second_moment < service_mean**2:
        raise ValueError(f"E[S^2] ({service_second_moment:g}) cannot be below E[S]^2 ({service_mean**2:g})")
    rho = arrival_rate * service_mean
    if rho >= 1:
        raise ValueError(f"unstable: utilisation {rho:g} >= 1")
    return arrival_rate * service_second_moment / (2.0 * (1.0 - rho))


def md1_mean_wait(arrival_rate: float, service_time: float) -> float:
    """Mean time in queue of an M/D/1 queue: Pollaczek-Khinchine with E[S^2] = D^2."""
    return mg1_mean_wait(arrival_rate, service_time, service_time**2)


def priority_mean_waits(arrival_rates, service_means, service_second_moments) -> np.ndarray:
    """Mean time in queue per class of a non-preemptive priority M/G/1 queue (Cobham's formula).

    Class 0 has the highest priority; within a class, first come first served. A job in service is never
    interrupted.

    Parameters
    ----------
    arrival_rates : sequence of float
        Poisson arrival rate lambda_k of each class (per unit time), highest priority first.
    service_means : sequence of float
        E[S_k], mean service time of each class.
    service_second_moments : sequence of float
        E[S_k^2] of each class (``2 m^2`` exponential, ``m^2`` deterministic).

    Returns
    -------
    numpy.ndarray
        W_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k)), where W0 = sum_j lambda_j E[S_j^2] / 2 is the mean
        residual work in service seen by an arrival and sigma_k = rho_0 + ... + rho_k.

    Notes
    -----
    With one class this is Pollaczek-Khinchine. The rho-weighted sum of the class waits does not depend on the
    priority order (Kleinrock's conservation law): sum_k rho_k W_k = rho W0 / (1 - rho).

    References
    ----------
    Cobham (1954); Kleinrock (1976) chapter 3; Gross et al. (2008) chapter 3.

    Examples
    --------
    >>> w = priority_mean_waits([0.3, 0.5], [1.0, 1.0], [2.0, 2.0])
    >>> np.round(w, 4).tolist()
    [1.1429, 5.7143]
    """
    lam = np.asarray(arrival_rates, dtype=float)
    m = np.asarray(service_means, dtype=float)
    m2 = np.asarray(service_second_moments, dtype=float)
    if not (lam.shape == m.shape == m2.shape) or lam.ndim != 1 or lam.size == 0:
        raise ValueError("arrival_rates, service_means and service_second_moments must be equal-length lists")
    if (lam < 0).any() or (m <= 0).any() or (m2 < m**2 - 1e-12).any():
        raise ValueError("need arrival_rates >= 0, service_means > 0 and E[S^2] >= E[S]^2")
    rho = lam * m
    sigma = np.cumsum(rho)
    if sigma[-1] >= 1:
        raise ValueError(f"unstable: total utilisation {sigma[-1]:g} >= 1")
    w0 = float(np.sum(lam * m2) / 2.0)
    before = np.concatenate([[0.0], sigma[:-1]])
    return w0 / ((1.0 - before) * (1.0 - sigma))


def jackson_arrival_rates(external_rates, routing) -> np.ndarray:
    """Total arrival rate at each node of an open network: solve the traffic equations.

    Parameters
    ----------
    external_rates : sequence of float
        gamma_i, Poisson arrivals from outside to node i (per unit time).
    routing : array_like, shape (n, n)
        P[i, j], probability that a job leaving node i goes next to node j (row sums <= 1; the rest leave).

    Returns
    -------
    numpy.ndarray
        lambda solving lambda = gamma + P^T lambda.

    References
    ----------
    Jackson (1957, 1963); Kleinrock (1975) chapter 4.

    Examples
    --------
    >>> jackson_arrival_rates([1.0, 0.0], [[0.0, 1.0], [0.0, 0.0]]).tolist()  # tandem
    [1.0, 1.0]
    """
    g = np.asarray(external_rates, dtype=float)
    p = np.asarray(routing, dtype=float)
    n = g.size
    if p.shape != (n, n):
        raise ValueError(f"routing must be {n} x {n} (got {p.shape})")
    if (p < 0).any() or (p.sum(axis=1) > 1 + 1e-12).any() or (g < 0).any():
        raise ValueError("need routing probabilities >= 0 with row sums <= 1, and external_rates >= 0")
    try:
        return np.linalg.solve(np.eye(n) - p.T, g)
    except np.linalg.LinAlgError:
        raise ValueError("routing has a closed loop that no job leaves: not an open network") from None


@dataclass(frozen=True)
class JacksonNode:
    """Stationary results for one node of an open Jackson network (time unit of the rates)."""

    arrival_rate: float
    utilisation: float
    mean_wait: float  # Wq, time in queue
    mean_sojourn: float  # W = Wq + 1/mu
    mean_number_waiting: float  # Lq = lambda Wq


def jackson_network(external_rates, routing, service_rates, servers) -> tuple[list[JacksonNode], float]:
    """Per-node results and the mean time in the network of an open Jackson network.

    Each node is an M/M/c queue with its own rate; by Jackson's theorem the joint queue lengths have the
    product form, so each node behaves as an isolated M/M/c fed by a Poisson stream of its total arrival rate
    (Burke's theorem makes this exact for feed-forward networks such as a tandem).

    Parameters
    ----------
    external_rates : sequence of float
        Outside arrivals per node (per unit time).
    routing : array_like, shape (n, n)
        Routing probabilities between nodes.
    service_rates : sequence of float
        mu_i of one server at node i.
    servers : sequence of int
        c_i servers at node i.

    Returns
    -------
    (list of JacksonNode, float)
        The nodes, and the mean time a job spends in the network, sum_i lambda_i W_i / sum_i gamma_i
        (Little's law on the whole network).

    References
    ----------
    Jackson (1957, 1963); Burke (1956); Kleinrock (1975) chapter 4; Gross et al. (2008) chapter 4.

    Examples
    --------
    >>> nodes, t = jackson_network([0.5, 0.0], [[0, 1], [0, 0]], [1.0, 0.625], [1, 1])
    >>> round(t, 6)  # 1 / (1 - 0.5) + 1 / (0.625 - 0.5)
    10.0
    """
    lam = jackson_arrival_rates(external_rates, routing)
    mu = np.asarray(service_rates, dtype=float)
    c = np.asarray(servers)
    if mu.shape != lam.shape or c.shape != lam.shape:
        raise ValueError("service_rates and servers need one entry per node")
    nodes = []
    for li, mi, ci in zip(lam.tolist(), mu.tolist(), c.tolist()):
        if li == 0:
            nodes.append(JacksonNode(0.0, 0.0, 0.0, 1.0 / mi, 0.0))
            continue
        wq = mmc_mean_wait(li, mi, int(ci))
        nodes.append(JacksonNode(li, li / (ci * mi), wq, wq + 1.0 / mi, li * wq))
    total_in = float(np.sum(external_rates))
    if total_in <= 0:
        raise ValueError("no external arrivals")
    return nodes, float(sum(n.arrival_rate * n.mean_sojourn for n in nodes) / total_in)
