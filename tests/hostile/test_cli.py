"""Every command-line argument is checked by the parser with a clear message (exit 2, no traceback); an
internal error is a short message and a log file (exit 1), never a traceback on the screen."""

from __future__ import annotations

import re

import pytest

from sendmodel.cli.main import build_parser, main
from sendmodel.common.io import ERROR_LOG

from .conftest import assert_refused, assert_user_error, cli, run_main, write


@pytest.mark.parametrize("args, words", [
    (["run", "{sc}", "--reps", "0"], ["--reps", "at least 1", "'0'"]),
    (["run", "{sc}", "--reps", "two"], ["--reps", "whole number"]),
    (["run", "{sc}", "--workers", "-1"], ["--workers", "0 for every core"]),
    (["run", "{sc}", "--seed", "-5"], ["--seed", "from 0"]),
    (["run", "{sc}", "--seed", "1e3"], ["--seed", "whole number"]),
    (["compare", "{sc}", "--baseline", "short", "--workers", "0.5"], ["--workers"]),
    (["compare", "{sc}", "--baseline", "short", "--precision", "-1"], ["--precision", "above 0"]),
    (["compare", "{sc}", "--baseline", "short", "--precision", "nan"], ["--precision", "finite"]),
    (["compare", "{sc}", "--baseline", "short", "--reps", "0"], ["--reps", "'auto'"]),
    (["compare", "{sc}", "--baseline", "short", "--reps", "auto"], ["--reps auto needs --precision"]),
    (["compare", "{sc}", "--baseline", "short", "--min-reps", "9", "--max-reps", "3"], ["--min-reps 9"]),
    (["compare", "{sc}", "--baseline", "nobody"], ["--baseline", "'short'"]),
    (["sweep", "{sc}", "--out", "{tmp}/s.sqlite", "--batch", "0"], ["--batch", "at least 1"]),
    (["sweep", "{sc}", "--out", "{tmp}/s.sqlite", "--workers", "-2"], ["--workers"]),
    (["business-case", "{sc}", "--reps", "0", "--out", "{tmp}/bc"], ["--reps", "at least 1"]),
    (["business-case", "{sc}", "--population", "1e12", "--out", "{tmp}/bc"], ["--population", "20,000,000"]),
    (["business-case", "{sc}", "--step", "0", "--out", "{tmp}/bc"], ["--step", "above 0"]),
    (["calibrate", "{sc}", "--year", "99999", "--out", "{tmp}/cal"], ["--year"]),
    (["calibrate", "{sc}", "--max-evals", "0", "--out", "{tmp}/cal"], ["--max-evals"]),
    (["validate", "--theory", "--workers", "-1"], ["--workers"]),
    (["sweep-report", "{tmp}/nowhere.sqlite", "--out", "{tmp}/r"], ["no sweep store there"]),
    (["sweep-report", "{sc}", "--out", "{tmp}/r"], ["not a sweep store"]),
    (["sweep-report", "{tmp}", "--out", "{tmp}/r"], ["is a folder"]),
    (["sweep-report", "{tmp}/empty.sqlite", "--out", "{tmp}/r"], ["not a sweep store"]),
])
def test_bad_arguments_are_refused_in_one_line(tmp_path, short_file, args, words, capsys):
    import sqlite3

    sqlite3.connect(tmp_path / "empty.sqlite").execute("CREATE TABLE x (a)").connection.commit()
    assert_refused(run_main([a.format(sc=short_file, tmp=tmp_path) for a in args], capsys), *words)
    assert not (tmp_path / "r").exists() and not (tmp_path / "bc").exists()


@pytest.mark.parametrize("args, words", [
    (["run", "{sc}", "--reps", "0"], ["--reps", "at least 1"]),
    (["run", "{sc}", "--workers", "-1"], ["--workers"]),
    (["sweep-report", "{tmp}/nowhere.sqlite", "--out", "{tmp}/r"], ["no sweep store there"]),
    (["sweep-report", "{sc}", "--out", "{tmp}/r"], ["not a sweep store"]),
    (["business-case", "{sc}", "--reps", "0", "--out", "{tmp}/bc"], ["--reps"]),
])
def test_bad_arguments_typed_at_a_shell(tmp_path, short_file, args, words):
    assert_user_error(cli(*[a.format(sc=short_file, tmp=tmp_path) for a in args]), *words)


def test_workers_0_means_every_core(short_file):
    args = build_parser().parse_args(["run", str(short_file), "--workers", "0"])
    from sendmodel.common.parallel import default_workers

    assert args.workers == default_workers() >= 1


def test_the_shared_options_are_defined_once():
    import inspect

    import sendmodel.cli.business_case
    import sendmodel.cli.calibrate
    import sendmodel.cli.compare
    import sendmodel.cli.main

    for mod in (sendmodel.cli.main, sendmodel.cli.compare, sendmodel.cli.business_case, sendmodel.cli.calibrate):
        src = inspect.getsource(mod)
        assert not re.search(r"""add_argument\(\s*["']--(reps|seed|workers)["']""", src), mod.__name__


@pytest.mark.parametrize("body", [
    "simulation: {start_date: 2022-02-30}\n",
    "services: {slt: {pas_per_week: .inf}}\n",
    "ehc: {dmo_service: social_care}\n",
    "population: 1e12\n",
])
@pytest.mark.parametrize("command", ["validate", "run", "params"])
def test_bad_files_are_user_errors_in_every_command(tmp_path, body, command, capsys):
    from .conftest import BASELINE

    f = write(tmp_path / "bad.yaml", f"extends: {BASELINE}\n{body}")
    assert_refused(run_main([command, f], capsys), "bad.yaml")


def test_a_bad_option_file_in_compare(tmp_path, short_file, capsys):
    bad = write(tmp_path / "opt.yaml", "name: a\nname: b\n")
    assert_refused(run_main(["compare", short_file, bad, "--baseline", "short"], capsys), "opt.yaml", "given twice")


def _boom(*a, **k):
    raise RuntimeError("an internal fault\nover two lines")


def test_an_internal_error_is_a_short_message_and_a_log_in_the_output_folder(tmp_path, short_file, monkeypatch,
                                                                            capsys):
    monkeypatch.setattr("sendmodel.analysis.experiment.run", _boom)
    out = tmp_path / "res"
    assert main(["run", str(short_file), "--reps", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error: RuntimeError: an internal fault over two lines" in err, err
    log = out / ERROR_LOG
    assert str(log) in err and "Traceback" in log.read_text() and "_boom" in log.read_text()
    # the folder holding only the log is still ours to write into next time
    monkeypatch.undo()
    assert main(["run", str(short_file), "--reps", "1", "--out", str(out)]) == 0
    assert not (out / ERROR_LOG).exists() and (out / "manifest.json").exists()


def test_an_internal_error_without_an_output_folder_logs_to_a_temporary_file(short_file, monkeypatch, capsys):
    monkeypatch.setattr("sendmodel.analysis.experiment.run", _boom)
    assert main(["run", str(short_file), "--reps", "1"]) == 1
    err = capsys.readouterr().err
    m = re.search(r"the details are in (\S+\.log)", err)
    assert m and "Traceback" not in err, err
    from pathlib import Path

    log = Path(m.group(1))
    assert "RuntimeError" in log.read_text()
    log.unlink()


def test_an_internal_error_in_a_subprocess_exits_1_without_traceback(tmp_path, short_file):
    """A replication that fails inside the engine (here: a scenario object the engine cannot use)."""
    code = ("import sys; import sendmodel.analysis.experiment as e\n"
            "def boom(*a, **k): raise ZeroDivisionError('deep inside')\n"
            "e.run = boom\nfrom sendmodel.cli.main import main\nsys.exit(main(sys.argv[1:]))\n")
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", code, "run", str(short_file), "--reps", "1"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr and "ZeroDivisionError" in r.stderr, r.stderr


def test_a_broken_pipe_is_quiet(short_file):
    import subprocess
    import sys

    p = subprocess.run(f"{sys.executable} -m sendmodel params {short_file} | head -1", shell=True,
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr, p.stderr


def test_compare_of_a_run_too_short_for_any_advice(tmp_path, capsys):
    """30 days measured: no advice falls due, so there is no precision to report; a plain comparison says so,
    and --reps auto is a clear error rather than an internal one."""
    from tests.conftest import ROOT

    base = f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\npopulation: 5000\n" \
           "simulation: {warm_up_days: 0, horizon_days: 30}\n"
    a, b = write(tmp_path / "a.yaml", base + "name: a\n"), write(tmp_path / "b.yaml", base + "name: b\n")
    code, out, _ = run_main(["compare", str(a), str(b), "--baseline", "a", "--reps", "2"], capsys)
    assert code == 0 and "no value in the measured period" in out
    code, _, err = run_main(["compare", str(a), str(b), "--baseline", "a", "--reps", "auto", "--precision", "1"],
                            capsys)
    assert code == 2 and "--precision-kpi" in err and "horizon_days" in err and "internal error" not in err
