"""Shared helpers for the hostile-input tests: small files on disk, the command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, SCENARIOS
from tests.functional.builders import tiny_mapping

BASELINE = SCENARIOS / "baseline.yaml"


def write(path: Path, data) -> Path:
    """Write text, bytes or a mapping (as YAML) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def cli(*args, cwd=None, env=None, timeout=180) -> subprocess.CompletedProcess:
    """``python -m sendmodel ARGS`` in a subprocess (what a user types)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "sendmodel", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=full_env, timeout=timeout)


def assert_user_error(r: subprocess.CompletedProcess, *words: str) -> None:
    """Exit status 2, a message on stderr naming ``words``, and no traceback."""
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, f"expected {w!r} in: {r.stderr}"


@pytest.fixture
def short_file(tmp_path) -> Path:
    """The baseline for 5,000 children over 30 days: a run takes a fraction of a second."""
    return write(tmp_path / "short.yaml", f"extends: {BASELINE}\nname: short\npopulation: 5000\n"
                 "simulation: {warm_up_days: 0, horizon_days: 30}\n")


@pytest.fixture
def tiny_file(tmp_path) -> Path:
    return write(tmp_path / "tiny.yaml", tiny_mapping())


def run_main(args, capsys) -> tuple[int, str, str]:
    """``sendmodel ARGS`` in this process: (exit status, stdout, stderr)."""
    from sendmodel.cli.main import main

    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:  # argparse refusing an argument
        rc = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return rc, out.out, out.err


def assert_refused(result: tuple[int, str, str], *words: str) -> None:
    rc, out, err = result
    assert rc == 2, (rc, out[-2000:], err[-2000:])
    assert "Traceback" not in err, err
    for w in words:
        assert w in err, f"expected {w!r} in: {err}"
