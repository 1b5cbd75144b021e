"""Every validation case against theory, Ciw and the independent calendar simulation (slow: about two CPU
minutes in all; the same checks ``sendmodel validate --theory`` prints, with the same seed).

Each case's checks must all pass, and each statistical check must have power: with its replications (40 for
the always-open queues, 40 more in Ciw where compared; 100 engine and 400 independent replications for the
weekday calendar) it must detect, with 80% power at its 99.9% level, an error no larger than POWER_BOUND of
the value checked. With seed 2024 the detectable errors are 1.3-8% for the theory checks of the M/M/c,
M/D/1, priority and split cases, 3-10% for the Ciw comparisons, 4-13% for the tandem (13% for its DMO/DCO
queue), 2.4% for the calendar's utilisation, and 18% (mean wait) and 39% (6-week share) for the calendar
against the independent simulation (its exact start-time check is the strong one). Table: docs/validation.md.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from sendmodel.studies.verification.cases import CASES
from sendmodel.studies.verification.suite import run_case
from tests.conftest import ROOT

POWER_BOUND = {"calendar_weekdays": 0.5}  # others: 0.15


@pytest.mark.slow
@pytest.mark.parametrize("key", list(CASES))
def test_case_agrees_with_its_reference(key):
    checks = run_case(key)
    assert checks, f"{key}: no checks"
    failed = [c.describe() for c in checks if not c.passed]
    assert not failed, "validation failed:\n" + "\n".join(failed)
    bound = POWER_BOUND.get(key, 0.15)
    weak = [f"{c.case} / {c.measure}: detects only errors of {c.relative_mde:.0%} or more"
            for c in checks if c.statistical and c.relative_mde > bound]
    assert not weak, f"checks without power (bound {bound:.0%}):\n" + "\n".join(weak)


@pytest.mark.slow
def test_cli_prints_the_table_and_passes():
    r = subprocess.run([sys.executable, "-m", "sendmodel", "validate", "--theory", "--case", "mm1_rho50"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "theory" in r.stdout and "95% CI" in r.stdout and "Erlang C" in r.stdout
    assert "5 of 5 checks pass" in r.stdout, r.stdout


def test_cli_validate_needs_files_or_theory_and_known_cases():
    r = subprocess.run([sys.executable, "-m", "sendmodel", "validate"], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and "--theory" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "sendmodel", "validate", "--theory", "--case", "nope"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "mm1_rho50" in r.stdout, r.stdout
