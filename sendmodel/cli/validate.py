"""validate."""

from __future__ import annotations

import time

from sendmodel.studies.verification.checks import ALPHA, EXACT_TOL, format_table
from sendmodel.studies.verification.suite import run_suite


def run_from_cli(args, out) -> int:
    """``sendmodel validate --theory``: run, print the table and a verdict; exit status 1 on any failure."""
    keys = args.case or None
    t0 = time.time()
    try:
        checks = run_suite(keys, seed=args.seed, workers=args.workers)
    except KeyError as exc:
        out.write(f"error: {exc.args[0]}\n")
        return 2
    n_stat = sum(c.statistical for c in checks)
    failed = [c for c in checks if not c.passed]
    out.write(format_table(checks) + "\n\n")
    out.write(f"{len(checks) - len(failed)} of {len(checks)} checks pass ({n_stat} statistical at the "
              f"{1 - ALPHA:.1%} level, {len(checks) - n_stat} exact to {EXACT_TOL:g}); seed {args.seed}, "
              f"{time.time() - t0:.0f} s.\n")
    for c in failed:
        out.write(f"FAIL {c.describe()}\n")
    return 1 if failed else 0
