"""Command-line options shared by the commands, and the checks every argument goes through.

Each ``type=`` function turns the text typed into a value or raises ``argparse.ArgumentTypeError`` with what
is allowed, so argparse prints ``sendmodel run: error: argument --reps: ...`` and exits 2 before any work.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable

from sendmodel.scenario.config import MAX_POPULATION, MIN_POPULATION

MAX_REPLICATIONS = 100_000  # a command's replications (each keeps its KPIs in memory)
MAX_SEED = 2**63 - 1  # what SQLite and NumPy's SeedSequence store as an integer
MAX_WORKERS = 1_024


class CliError(Exception):
    """A command-line problem the user can fix (printed as ``error: ...``, exit status 2)."""


def _int(text: str) -> int:
    try:
        return int(str(text).strip().replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None


def _float(text: str) -> float:
    try:
        v = float(str(text).strip().replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number (got {text!r})")
    return v


def int_between(low: int, high: int, what: str = "") -> Callable[[str], int]:
    def parse(text: str) -> int:
        v = _int(text)
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low:,} to {high:,}{what} (got {text!r})")
        return v

    parse.__name__ = "whole number"  # argparse names the type in some messages
    return parse


def positive_int(text: str) -> int:
    """A whole number of at least 1 (replications, batch sizes, evaluations)."""
    v = _int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1 (got {text!r})")
    if v > MAX_REPLICATIONS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_REPLICATIONS:,} (got {text!r})")
    return v


def replications_or_auto(text: str) -> int | str:
    """``auto`` or a whole number of at least 1."""
    if str(text).strip().lower() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} or 'auto'") from None


def seed(text: str) -> int:
    """A base seed: a whole number from 0 to 2**63 - 1."""
    v = _int(text)
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_SEED} (got {text!r})")
    return v


def workers(text: str) -> int:
    """Processes: a whole number of at least 1, or 0 for every core this process may use."""
    v = _int(text)
    if v == 0:
        from sendmodel.common.parallel import default_workers

        return default_workers()
    if not 1 <= v <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_WORKERS:,}, or 0 for every core (got {text!r})")
    return v


def positive_float(text: str) -> float:
    """A finite number above 0 (a precision, a PA step)."""
    v = _float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0 (got {text!r})")
    return v


precision = positive_float


def population(text: str) -> float:
    """Children aged 0-17, within what a scenario allows."""
    v = _float(text)
    if not MIN_POPULATION <= v <= MAX_POPULATION:
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_POPULATION:,} and {MAX_POPULATION:,} children (got {text!r})")
    return v


def add_run_options(parser: argparse.ArgumentParser, *, reps: int | str | None = 10, seed_default: int = 2024,
                    workers_default: int | None = 1, auto: bool = False, reps_help: str | None = None,
                    seed_help: str | None = None, workers_help: str | None = None) -> None:
    """Add ``--reps``, ``--seed`` and ``--workers`` (the same checks everywhere).

    ``reps=None`` leaves ``--reps`` out; ``auto`` lets it be ``auto``; ``workers_default=None`` means every core.
    """
    if reps is not None:
        parser.add_argument("--reps", type=replications_or_auto if auto else positive_int, default=reps,
                            help=reps_help or f"replications (default {reps})")
    parser.add_argument("--seed", type=seed, default=seed_default,
                        help=seed_help or f"base seed, 0 or more (default {seed_default})")
    default = "every core" if workers_default is None else str(workers_default)
    parser.add_argument("--workers", type=workers, default=workers_default,
                        help=workers_help or f"processes: 1 or more, 0 = every core (default {default})")


def add_precision_options(parser: argparse.ArgumentParser, of: str = "the mean", goal: str = "") -> None:
    """Add ``--precision`` (a target 95% CI half-width) and ``--precision-kpi`` (the KPI it is measured on)."""
    from sendmodel.analysis.labels import PRECISION_KPI

    parser.add_argument("--precision", type=positive_float, default=None,
                        help=f"target 95%% CI half-width of {of} of --precision-kpi, in its unit (e.g. 1 = 1 "
                        f"percentage point on {PRECISION_KPI}); reported with the replications it needs{goal}")
    parser.add_argument("--precision-kpi", default=PRECISION_KPI,
                        help=f"KPI for --precision (default {PRECISION_KPI})")
