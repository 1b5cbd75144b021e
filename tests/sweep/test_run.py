"""Running sweeps: the same rows whatever runs them (1 or 2 local workers, a Dask LocalCluster), and a sweep
killed part-way then resumed gives exactly the rows of an uninterrupted run."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import sendmodel
import sendmodel.studies.sweep.run as sweep_run
import sendmodel.studies.sweep.store as sweep_store
from sendmodel.studies.sweep.effects import main_effects, sensitivity, summarise_points
from sendmodel.studies.sweep.run import run_sweep
from sendmodel.studies.sweep.spec import SweepError, load_sweep_spec
from sendmodel.studies.sweep.store import _open_store
from tests.conftest import ROOT
from tests.sweep.conftest import TINY_BASE, TINY_SPEC, write_spec

N_POINTS, N_REPS = 8, 5


def _stored_runs(store) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(
            f"file:{store}?mode=rw", uri=True, timeout=5
        ) as c:  # rw: recovers a killed writer's log
            return c.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _check_complete(df: pd.DataFrame, ref: pd.DataFrame) -> None:
    dup = df.duplicated(["point", "replication", "kpi", "service"])
    assert not dup.any(), f"duplicate rows:\n{df[dup]}"
    pd.testing.assert_frame_equal(df, ref, check_exact=True)  # every value to the last bit


def test_tidy_frame(tiny_spec, reference_store):
    df = sendmodel.load_sweep(reference_store)
    assert list(df.columns) == [
        "point",
        "services.slt.pas_per_week",
        "ehc.requests_per_year_per_70k",
        "replication",
        "kpi",
        "service",
        "value",
        "unit",
    ], list(df.columns)
    runs = df[["point", "replication"]].drop_duplicates()
    assert len(runs) == N_POINTS * N_REPS, f"expected {N_POINTS * N_REPS} runs, got {len(runs)}"
    assert not df.duplicated(["point", "replication", "kpi", "service"]).any()
    per_run = df.groupby(["point", "replication"]).size()
    assert per_run.nunique() == 1, f"every run should have the same KPI rows: {per_run.value_counts()}"
    p3 = df[df["point"] == 3].iloc[0]
    assert (p3["services.slt.pas_per_week"], p3["ehc.requests_per_year_per_70k"]) == (20, 1200)
    assert df.attrs["seed"] == 11 and df.attrs["sendmodel"] == sendmodel.__version__
    assert df.attrs["parameters"] == ["services.slt.pas_per_week", "ehc.requests_per_year_per_70k"]
    # A sweep replication is the replication sendmodel.run gives for that point and seed.
    spec = load_sweep_spec(tiny_spec)
    direct = sendmodel.run(
        spec.scenarios[3], replications=1, seed=11, first_replication=2, keep_events=False
    ).kpis
    mine = df[(df["point"] == 3) & (df["replication"] == 2)]
    assert np.allclose(mine["value"].to_numpy(), direct["value"].to_numpy(), equal_nan=True), (mine, direct)
    # The swept values reach the model: SLT routine waits are longer at 10 PAs a week than at 40.
    w = df[(df["kpi"] == "routine_wait_median_weeks") & (df["service"] == "slt")]
    means = w.groupby("services.slt.pas_per_week")["value"].mean()
    assert means[10] > means[40], f"routine SLT wait should fall with PAs, got {means.to_dict()}"


def test_two_workers_and_dask_give_identical_rows(tiny_spec, reference_store, tmp_path):
    ref = sendmodel.load_sweep(reference_store)
    two = tmp_path / "two.sqlite"
    info = run_sweep(tiny_spec, two, workers=2, batch=3, progress=False)
    assert (info.backend, info.runs, info.tasks) == ("processes", 40, 14), info
    assert 0 < info.store_seconds and 0 < info.claim_seconds and info.store_seconds + info.claim_seconds < info.seconds
    _check_complete(sendmodel.load_sweep(two), ref)
    dask = tmp_path / "dask.sqlite"
    info = run_sweep(tiny_spec, dask, workers=2, dask_local=True, progress=False)
    assert (info.backend, info.runs) == ("dask", 40), info
    _check_complete(sendmodel.load_sweep(dask), ref)


def test_rerun_skips_stored_and_more_replications_extend(tiny_spec, reference_store, tmp_path):
    three = write_spec(tmp_path, TINY_SPEC.replace("replications: 5", "replications: 3"))
    store = tmp_path / "grow.sqlite"
    assert run_sweep(three, store, workers=1, progress=False).runs == 24
    info = run_sweep(three, store, workers=1, progress=False)
    assert (info.runs, info.stored_before) == (0, 24), f"a re-run must skip what is stored: {info}"
    five = write_spec(tmp_path, TINY_SPEC, "five.yaml")
    info = run_sweep(five, store, workers=1, progress=False)
    assert (info.runs, info.stored_before) == (16, 24), info
    _check_complete(sendmodel.load_sweep(store), sendmodel.load_sweep(reference_store))


def test_store_of_another_sweep_is_refused(tmp_path):
    small = TINY_SPEC.replace("[10, 20, 30, 40]", "[10]").replace("replications: 5", "replications: 1")
    store = tmp_path / "s.sqlite"
    run_sweep(write_spec(tmp_path / "a", small), store, workers=1, progress=False)
    before = sendmodel.load_sweep(store)
    others = {
        "seed": small.replace("seed: 11", "seed: 12"),
        "a point": small.replace("[900, 1200]", "[900, 1300]"),
        "more points": small.replace("[10]", "[10, 20]"),
    }
    for what, text in others.items():
        with pytest.raises(SweepError, match="holds a different sweep"):
            run_sweep(write_spec(tmp_path / what, text), store, workers=1, progress=False)
    changed_base = write_spec(tmp_path / "base", small)
    (changed_base.parent / "tiny_base.yaml").write_text(TINY_BASE.replace("15000", "16000"))
    with pytest.raises(SweepError, match="scenario has changed"):
        run_sweep(changed_base, store, workers=1, progress=False)
    with (
        pytest.MonkeyPatch.context() as mp
    ):  # the model's code changed (e.g. a git pull) since the store began
        mp.setattr(sweep_store, "code_fingerprint", lambda: "0123456789abcdef")
        with pytest.raises(SweepError, match="model's code has changed"):
            run_sweep(write_spec(tmp_path / "same", small), store, workers=1, progress=False)
    renamed = write_spec(tmp_path / "renamed", small.replace("name: tiny", "name: tiny_again"))
    assert run_sweep(renamed, store, workers=1, progress=False).runs == 0, "a new name is the same sweep"
    pd.testing.assert_frame_equal(sendmodel.load_sweep(store), before)


def test_worker_with_other_model_code_is_refused(tiny_spec, tmp_path, monkeypatch):
    real = sweep_run._run_task

    def other_code(*a):
        return {**real(*a), "code": "0123456789abcdef"}

    monkeypatch.setattr(sweep_run, "_run_task", other_code)
    store = tmp_path / "w.sqlite"
    with pytest.raises(SweepError, match="install the same sendmodel on every worker"):
        run_sweep(tiny_spec, store, workers=1, progress=False)
    assert len(sendmodel.load_sweep(store)) == 0, "nothing from a mismatched worker may be stored"


def test_killed_sweep_resumes_to_the_uninterrupted_rows(tiny_spec, reference_store, tmp_path):
    store = tmp_path / "killed.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "sendmodel",
        "sweep",
        str(tiny_spec),
        "--out",
        str(store),
        "--workers",
        "2",
        "--batch",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while _stored_runs(store) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed part-way"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    stored = _stored_runs(store)
    assert 3 <= stored < N_POINTS * N_REPS, f"expected a part-way store, got {stored} runs"
    ref = sendmodel.load_sweep(reference_store)
    part = sendmodel.load_sweep(store)
    keys = ["point", "replication"]
    have = part[keys].drop_duplicates()
    assert len(have) == stored, f"runs table says {stored} runs, KPI rows cover {len(have)}"
    # Every stored run is whole and right: exactly the reference's rows for that (point, replication).
    want = ref.merge(have, on=keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(part.reset_index(drop=True), want)

    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"Resumed: {stored} runs were already stored" in r.stdout, r.stdout
    _check_complete(sendmodel.load_sweep(store), ref)


KILL_MID_TRANSACTION = """
import os, signal, sys
from sendmodel.studies.sweep.store import _connect, _store_task

class Bomb:
    def __float__(self):
        os.kill(os.getpid(), signal.SIGKILL)

conn = _connect(sys.argv[1])
conn.execute("PRAGMA cache_size = 2")  # spill changed pages into the file before COMMIT, as a big task would
rows = [(f"kpi{i}", "all", float(i)) for i in range(3000)] + [("last", "all", Bomb())]
runs = [(0, 0, 0.1, [("a", "all", 1.0)]), (0, 1, 0.1, rows)]
_store_task(conn, {"host": "h", "version": "v", "runs": runs})
"""


def test_kill_inside_a_task_transaction_leaves_no_trace(tiny_spec, reference_store, tmp_path):
    """Killed while writing a task (its first run and part of the second written): the store shows none of
    it."""
    store = tmp_path / "hot.sqlite"
    _open_store(store, load_sweep_spec(tiny_spec)).close()
    r = subprocess.run(
        [sys.executable, "-c", KILL_MID_TRANSACTION, str(store)], cwd=ROOT, capture_output=True
    )
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr)
    wal = store.with_name(store.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0, "expected the killed writer's uncommitted log to be left"
    assert len(sendmodel.load_sweep(store)) == 0, "rows of an uncommitted task are visible"
    assert _stored_runs(store) == 0
    info = run_sweep(tiny_spec, store, workers=1, progress=False)
    assert info.runs == N_POINTS * N_REPS, info
    _check_complete(sendmodel.load_sweep(store), sendmodel.load_sweep(reference_store))


def test_sweep_report_writes_tables_and_plots(reference_store, tmp_path, capsys):
    from sendmodel.cli.main import main

    out = tmp_path / "report"
    assert main(["sweep-report", str(reference_store), "--out", str(out)]) == 0
    for f in (
        "summary.csv",
        "main_effects.csv",
        "sensitivity.csv",
        "sweep.json",
        "effects_advice_within_6w_pct.png",
        "tornado_advice_within_6w_pct.png",
        "effects_routine_wait_median_weeks_slt.png",
        "tornado_routine_wait_median_weeks_slt.png",
    ):
        assert (out / f).exists(), f"{f} not written; have {sorted(p.name for p in out.iterdir())}"
    s = pd.read_csv(out / "sensitivity.csv")
    wait = s[(s["kpi"] == "routine_wait_median_weeks") & (s["service"] == "slt")].set_index("parameter")
    assert wait.loc["services.slt.pas_per_week", "swing"] < 0, (
        "SLT routine wait should fall from 10 to 40 PAs"
    )
    assert wait.index[0] == "services.slt.pas_per_week", (
        f"SLT PAs should top the tornado, got {list(wait.index)}"
    )
    assert "Sensitivity" in capsys.readouterr().out


def test_main_effects_and_swing_on_a_made_frame():
    """KPI = 2 a + 10 b + replication noise: main effects average the other parameter; swings are exact."""
    rows = []
    pts = [(a, b) for a in (1, 2, 3) for b in (0, 1)]
    for i, (a, b) in enumerate(pts):
        for r in range(4):
            rows.append((i, a, b, r, "k", "all", 2 * a + 10 * b + r))
    df = pd.DataFrame(rows, columns=["point", "a", "b", "replication", "kpi", "service", "value"])
    df.attrs["parameters"] = ["a", "b"]
    e = main_effects(df, "k")
    ea = e[e["parameter"] == "a"].set_index("level")
    assert np.allclose(ea["mean"], [2 + 5 + 1.5, 4 + 5 + 1.5, 6 + 5 + 1.5]), ea
    assert (ea["points"] == 2).all() and (ea["n"] == 4).all()
    s = sensitivity(df, "k").set_index("parameter")
    assert list(s.index) == ["b", "a"], "largest swing first"
    assert np.isclose(s.loc["b", "swing"], 10) and np.isclose(s.loc["a", "swing"], 4), s
    # The noise is common to both ends (same replication), so the paired interval has zero width.
    assert np.isclose(s.loc["a", "swing_ci_low"], 4) and np.isclose(s.loc["a", "swing_ci_high"], 4), s
    t = summarise_points(df).set_index("point")
    assert np.allclose(t["mean"], [2 * a + 10 * b + 1.5 for a, b in pts]), t
    assert (t["n"] == 4).all() and np.allclose(
        t["ci_high"] - t["mean"], 3.182446 * np.std([0, 1, 2, 3], ddof=1) / 2
    )
    assert list(t.columns[:2]) == ["a", "b"] and t.loc[5, "a"] == 3 and t.loc[5, "b"] == 1, t


def test_many_distinct_values_are_binned():
    """A Latin hypercube's 30 distinct values become 6 quantile bins, each at its points' mean value."""
    x = np.linspace(0, 29, 30)
    rows = [(i, v, r, "k", "all", 3 * v + r) for i, v in enumerate(x) for r in range(3)]
    df = pd.DataFrame(rows, columns=["point", "x", "replication", "kpi", "service", "value"])
    df.attrs["parameters"] = ["x"]
    e = main_effects(df, "k")
    assert len(e) == 6 and (e["points"] == 5).all(), e
    assert np.allclose(e["level"], [2, 7, 12, 17, 22, 27]), e["level"].tolist()
    assert np.allclose(e["mean"], 3 * e["level"] + 1), e
    s = sensitivity(df, "k")
    assert np.isclose(s.loc[0, "swing"], 3 * 25), s
