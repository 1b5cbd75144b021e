"""Random streams: one NumPy Generator per (seed, replication, purpose, name).

The scenario never enters the seed, so two scenarios run with the same seed draw identical numbers for the same
purpose (common random numbers), and a replication gives the same result in any process and in any order.
Stream ids are append-only: never renumber or reuse one.
"""

from __future__ import annotations

import zlib
from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """Sources of randomness (append-only)."""

    EHC_ARRIVALS = 0
    EHC_ATTRIBUTES = 1  # outcome, exceptional provision, LA task times
    ADVICE_ATTRIBUTES = 2  # per service: requested, known, misrouted, task times, missed appointments
    ROUTINE_ARRIVALS = 3  # per service
    ROUTINE_ATTRIBUTES = 4  # per service: appointment time, missed appointments
    BACKLOG = 5  # per service
    LEAVE = 6  # per service: which weeks each clinician is on leave
    OPEN_CASES = 7  # open EHC cases at the start: ages in a band, attributes, per service advice
    PLANS = 8  # plans in force: ages, when each ceases, each annual review's hours and health input
    ROUTINE_REMOVAL = 9  # per service: when each child on the routine list would leave it unseen


def make_rng(base_seed: int, replication: int, stream: Stream, name: str = "") -> np.random.Generator:
    """The Generator for one purpose; ``name`` (e.g. a service) gives it a sub-stream."""
    key = (int(replication), int(stream), zlib.crc32(name.encode()))
    return np.random.default_rng(np.random.SeedSequence(entropy=int(base_seed), spawn_key=key))
