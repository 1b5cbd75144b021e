"""Output folders are all or nothing: never a file or someone else's folder replaced, no temporary folders left,
the umask respected, and a writer killed (SIGKILL) at any step leaves the previous complete results or the new
complete ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sendmodel.common.io import (
    ERROR_LOG,
    KILL_ENV,
    STEPS,
    OutputError,
    atomic_dir,
    check_output_dir,
    is_results_folder,
    recover,
)
from tests.conftest import ROOT

from .conftest import assert_refused, assert_user_error, cli, run_main, write


def _siblings(folder: Path, name: str) -> list[str]:
    """Hidden leftovers beside an output: temporary folders and .old copies."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


def _write_version(out: Path, v: str) -> None:
    with atomic_dir(out) as tmp:
        for n in ("a.txt", "b.txt", "c.txt"):
            (tmp / n).write_text(v)


def _version(out: Path) -> str | None:
    """'1' or '2' when ``out`` holds one complete version, None when it is missing; fails on a mixture."""
    if not out.exists():
        return None
    names = sorted(p.name for p in out.iterdir())
    assert names == ["a.txt", "b.txt", "c.txt", "manifest.json"], names
    texts = {(out / n).read_text() for n in ("a.txt", "b.txt", "c.txt")}
    assert len(texts) == 1, f"a mixture of versions: {texts}"
    return texts.pop()


# --- what may be replaced ------------------------------------------------------------------------------------


def test_a_file_is_never_replaced(tmp_path):
    notes = write(tmp_path / "notes.txt", "my notes\n")
    with pytest.raises(OutputError, match="is a file"):
        with atomic_dir(notes):
            raise AssertionError("the body must not run")
    assert notes.read_text() == "my notes\n" and _siblings(tmp_path, "notes.txt") == []


def test_a_folder_that_is_not_a_sendmodel_output_is_never_replaced(tmp_path):
    mine = tmp_path / "thesis"
    write(mine / "chapter1.docx", "words")
    with pytest.raises(OutputError, match="does not hold sendmodel results"):
        check_output_dir(mine)
    with pytest.raises(OutputError, match="does not hold sendmodel results"):
        with atomic_dir(mine):
            pass
    assert (mine / "chapter1.docx").read_text() == "words" and _siblings(tmp_path, "thesis") == []
    write(mine / "manifest.json", '{"not": "ours"}')
    assert not is_results_folder(mine), "a manifest.json that sendmodel did not write does not count"


def test_an_empty_folder_an_earlier_result_and_an_error_log_may_be_replaced(tmp_path):
    (tmp_path / "empty").mkdir()
    _write_version(tmp_path / "empty", "1")
    assert _version(tmp_path / "empty") == "1"
    _write_version(tmp_path / "empty", "2")
    assert _version(tmp_path / "empty") == "2"
    write(tmp_path / "logged" / ERROR_LOG, "Traceback ...")
    _write_version(tmp_path / "logged", "1")
    assert _version(tmp_path / "logged") == "1"


def test_a_failure_inside_leaves_the_earlier_results_and_no_temporary_folder(tmp_path):
    out = tmp_path / "res"
    _write_version(out, "1")
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "a.txt").write_text("2")
            raise RuntimeError("half way")
    assert _version(out) == "1" and _siblings(tmp_path, "res") == []


def test_the_umask_is_respected(tmp_path):
    old = os.umask(0o027)
    try:
        _write_version(tmp_path / "res", "1")
    finally:
        os.umask(old)
    assert (tmp_path / "res").stat().st_mode & 0o777 == 0o750


def test_stale_temporary_folders_of_dead_processes_are_removed(tmp_path):
    import socket

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    host = "".join(c if c.isalnum() or c == "-" else "_" for c in socket.gethostname())[:40]
    stale = tmp_path / f".res.tmp-{host}-{dead}-abc123"
    alive = tmp_path / f".res.tmp-{host}-{os.getppid()}-def456"  # a process still running: left alone
    write(stale / "a.txt", "half")
    alive.mkdir()
    _write_version(tmp_path / "res", "1")
    assert not stale.exists() and alive.exists()


def test_a_crash_between_the_two_renames_is_recovered_first(tmp_path):
    out = tmp_path / "res"
    _write_version(out, "1")
    os.replace(out, tmp_path / ".res.old")  # as a kill after the first rename leaves it
    check_output_dir(out)  # not refused: the results are only aside
    recover(out)
    assert _version(out) == "1" and _siblings(tmp_path, "res") == []


def test_an_old_copy_left_after_the_swap_is_deleted(tmp_path):
    out = tmp_path / "res"
    _write_version(out, "1")
    write(tmp_path / ".res.old" / "a.txt", "0")
    _write_version(out, "2")
    assert _version(out) == "2" and _siblings(tmp_path, "res") == []


# --- kill -9 at each step ----------------------------------------------------------------------------------

_WRITER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from sendmodel.common.io import atomic_dir

    out, version, kill_mid = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "mid"
    with atomic_dir(out) as tmp:
        for i, n in enumerate(("a.txt", "b.txt", "c.txt")):
            (tmp / n).write_text(version)
            if kill_mid and i == 1:
                os.kill(os.getpid(), signal.SIGKILL)
""")


def _kill_writer(out: Path, version: str, step: str) -> int:
    env = {**os.environ, KILL_ENV: step if step != "mid" else ""}
    r = subprocess.run([sys.executable, "-c", _WRITER, str(out), version, "mid" if step == "mid" else "-"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return r.returncode


@pytest.mark.parametrize("earlier", [True, False], ids=["over-earlier-results", "first-write"])
@pytest.mark.parametrize("step", ["mid", *STEPS])
def test_atomic_dir_killed_at_each_step_leaves_old_or_new(tmp_path, step, earlier):
    if not earlier and step in ("aside", "swapped"):
        pytest.skip("a first write has one rename: no earlier results to move aside")
    out = tmp_path / "res"
    if earlier:
        _write_version(out, "1")
    rc = _kill_writer(out, "2", step)
    assert rc == -signal.SIGKILL, f"the writer should have been killed at {step!r} (exit {rc})"
    # straight after the kill: the earlier results, the new ones, or (between the renames) the earlier ones aside
    now = _version(out)
    if now is None and earlier:
        assert _version(tmp_path / ".res.old") == "1", "between the renames the earlier results are kept aside"
    recover(out)  # what the next write does first
    got = _version(out)
    allowed = {"1", "2"} if earlier else {None, "2"}
    assert got in allowed, f"after a kill at {step!r}: {got!r}"
    if step in ("swapped", "done"):
        assert got == "2"
    if step in ("mid", "created", "written", "aside"):
        assert got == ("1" if earlier else None)
    assert _siblings(tmp_path, "res") == [], "no hidden folders once recovered"
    _write_version(out, "3")  # and the next write works, leaving nothing behind
    assert _version(out) == "3" and _siblings(tmp_path, "res") == []


_RUN_MID = textwrap.dedent("""
    import os, signal, sys
    import pandas as pd
    from sendmodel.cli.main import main

    to_csv = pd.DataFrame.to_csv
    def killing_to_csv(self, path=None, *a, **k):
        out = to_csv(self, path, *a, **k)
        if path is not None and str(path).endswith("summary.csv"):
            os.kill(os.getpid(), signal.SIGKILL)  # after the second file of the folder
        return out
    pd.DataFrame.to_csv = killing_to_csv
    sys.exit(main(sys.argv[1:]))
""")


def _run_files(out: Path) -> tuple[set[str], int]:
    names = {p.name for p in out.iterdir()}
    seed = json.loads((out / "manifest.json").read_text())["seed"]
    return names, seed


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    """A complete `sendmodel run` folder (seed 1), and the file names of complete runs with seeds 1 and 2."""
    folder = tmp_path_factory.mktemp("run")
    sc = write(folder / "short.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: short\n"
               "population: 5000\nsimulation: {warm_up_days: 0, horizon_days: 30}\n")
    files = {}
    for seed in (1, 2):
        out = folder / f"res{seed}"
        r = cli("run", sc, "--reps", "1", "--seed", seed, "--out", out)
        assert r.returncode == 0, r.stderr
        files[seed] = _run_files(out)[0]
    return sc, folder / "res1", files


@pytest.mark.parametrize("step", ["mid", *STEPS])
def test_the_run_command_killed_at_each_step_leaves_old_or_new(tmp_path, earlier_run, step):
    import shutil

    sc, done, files = earlier_run
    out = tmp_path / "res"
    shutil.copytree(done, out)
    args = ["run", str(sc), "--reps", "1", "--seed", "2", "--out", str(out)]
    if step == "mid":
        r = subprocess.run([sys.executable, "-c", _RUN_MID, *args], cwd=ROOT, capture_output=True, timeout=180)
    else:
        r = subprocess.run([sys.executable, "-m", "sendmodel", *args], cwd=ROOT, capture_output=True,
                           env={**os.environ, KILL_ENV: step}, timeout=180)
    assert r.returncode == -signal.SIGKILL, (step, r.returncode, r.stderr[-2000:])
    recover(out)
    names, seed = _run_files(out)
    assert seed == (2 if step in ("swapped", "done") else 1), (step, seed)
    assert names == files[seed], f"after a kill at {step!r} the folder is incomplete: {files[seed] ^ names}"
    assert _siblings(tmp_path, "res") == []


# --- through the commands ------------------------------------------------------------------------------------


def test_run_out_a_file_is_refused_before_the_run(tmp_path, short_file):
    notes = write(tmp_path / "notes.txt", "my notes\n")
    r = cli("run", short_file, "--reps", "1", "--out", notes)
    assert_user_error(r, "notes.txt", "is a file", "refusing")
    assert notes.read_text() == "my notes\n" and _siblings(tmp_path, "notes.txt") == []
    assert "Scenario short" not in r.stdout, "refused before the run"


def test_run_out_someone_elses_folder_is_refused(tmp_path, short_file):
    mine = tmp_path / "docs"
    write(mine / "plan.txt", "mine")
    r = cli("run", short_file, "--reps", "1", "--out", mine)
    assert_user_error(r, "does not hold sendmodel results")
    assert (mine / "plan.txt").read_text() == "mine"


@pytest.mark.parametrize("command", ["compare", "business-case", "calibrate"])
def test_every_folder_command_refuses_a_file(tmp_path, short_file, command, capsys):
    notes = write(tmp_path / "notes.txt", "my notes\n")
    extra = {"compare": ["--baseline", "short"], "business-case": ["--no-options"], "calibrate": []}[command]
    assert_refused(run_main([command, short_file, *extra, "--reps", "1", "--out", notes], capsys), "is a file")
    assert notes.read_text() == "my notes\n"


def test_sweep_report_writes_all_or_nothing(tmp_path, reference_store, monkeypatch):
    from sendmodel.cli.main import main

    out = tmp_path / "report"
    assert main(["sweep-report", str(reference_store), "--out", str(out)]) == 0
    assert (out / "manifest.json").exists() and is_results_folder(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*a, **k):
        raise RuntimeError("plot failed half way")

    monkeypatch.setattr("sendmodel.studies.sweep.plots.tornado_figure", broken)
    assert main(["sweep-report", str(reference_store), "--out", str(out)]) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != ERROR_LOG} == before
    assert _siblings(tmp_path, "report") == []


def test_sweep_out_a_folder_or_a_non_sqlite_file(tmp_path, capsys):
    from tests.sweep.conftest import TINY_SPEC, write_spec

    spec = write_spec(tmp_path, TINY_SPEC)
    notes = write(tmp_path / "notes.txt", "my notes\n")
    assert_refused(run_main(["sweep", spec, "--out", notes], capsys), "not a sweep store", "refusing")
    assert notes.read_text() == "my notes\n"
    assert_refused(run_main(["sweep", spec, "--out", tmp_path], capsys), "is a folder")


@pytest.fixture(scope="module")
def reference_store(tmp_path_factory):
    from sendmodel.studies.sweep.run import run_sweep
    from tests.sweep.conftest import write_spec

    folder = tmp_path_factory.mktemp("sweep")
    spec = write_spec(folder, "name: t\nbase: tiny_base.yaml\ndesign: grid\nparameters:\n"
                      "  services.slt.pas_per_week: [10, 30]\nreplications: 2\nseed: 3\n")
    store = folder / "t.sqlite"
    run_sweep(spec, store, workers=1, progress=False)
    return store


@pytest.fixture(scope="module")
def earlier_outputs(tmp_path_factory, reference_store):
    """Complete compare and sweep-report folders of a first invocation, and how to invoke the second."""
    folder = tmp_path_factory.mktemp("cmds")
    base = f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\npopulation: 5000\n" \
           "simulation: {warm_up_days: 30, horizon_days: 120}\n"
    a = write(folder / "a.yaml", base + "name: a\n")
    b = write(folder / "b.yaml", base + "name: b\nservices: {slt: {pas_per_week: 20}}\n")
    commands = {
        "compare": lambda seed, out: ["compare", str(a), str(b), "--baseline", "a", "--reps", "2", "--seed",
                                      str(seed), "--out", str(out)],
        "sweep-report": lambda seed, out: ["sweep-report", str(reference_store), "--out", str(out)],
        "business-case": lambda seed, out: ["business-case", str(a), "--target",
                                            "dmo:dmo_signoff_median_working_days<=15", "--reps", "2", "--seed",
                                            str(seed), "--no-options", "--workers", "1", "--out", str(out)],
    }
    done = {}
    for name, args in commands.items():
        out = folder / name
        r = cli(*args(1, out))
        assert r.returncode == 0, r.stderr
        done[name] = (out, {p.name for p in out.iterdir()}, json.loads((out / "manifest.json").read_text()))
    return commands, done


@pytest.mark.parametrize("command", ["compare", "sweep-report", "business-case"])
@pytest.mark.parametrize("step", STEPS)
def test_compare_sweep_report_and_business_case_killed_at_each_step_leave_old_or_new(tmp_path, earlier_outputs,
                                                                                   command, step):
    """The same SIGKILL at each write step as for `run`: afterwards (and once recovered) the folder is the first
    invocation's complete results, or the second's; never a mixture, no hidden folder left."""
    import shutil

    commands, done = earlier_outputs
    first, names, manifest = done[command]
    out = tmp_path / "res"
    shutil.copytree(first, out)
    r = subprocess.run([sys.executable, "-m", "sendmodel", *commands[command](2, out)], cwd=ROOT,
                       capture_output=True, env={**os.environ, KILL_ENV: step}, timeout=240)
    assert r.returncode == -signal.SIGKILL, (step, r.returncode, r.stderr[-2000:])
    recover(out)
    now = json.loads((out / "manifest.json").read_text())
    assert {p.name for p in out.iterdir()} == names, f"after a kill at {step!r}: incomplete folder"
    new = now["command"] != manifest["command"]  # the second invocation names another --out
    assert new == (step in ("swapped", "done")), (step, "the new results" if new else "the earlier results")
    assert _siblings(tmp_path, "res") == []
