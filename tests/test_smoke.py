import subprocess
import sys

import sendmodel
from tests.conftest import ROOT, SCENARIOS


def test_every_scenario_file_loads():
    files = sorted(SCENARIOS.rglob("*.yaml"))
    assert files
    for f in files:
        if "sweeps" in f.parts:
            continue
        sendmodel.load_scenario(f)


def test_run_gives_kpis_events_summary(short_baseline):
    res = sendmodel.run(short_baseline, replications=2, seed=3)
    needed = {"advice_within_6w_pct", "advice_turnaround_median_days", "advice_turnaround_p90_days",
              "plans_within_20w_pct", "dmo_signoff_median_days", "routine_wait_median_weeks", "utilisation",
              "waiting_list_end"}
    assert needed <= set(res.kpis["kpi"]), needed - set(res.kpis["kpi"])
    assert set(res.kpis["replication"]) == {0, 1}
    assert len(res.events) > 0 and {"arrival_day", "status"} <= set(res.events.columns)
    s = res.summary()
    assert {"mean", "ci_low", "ci_high"} <= set(s.columns)


def test_cli_run_writes_outputs(tmp_path):
    out = tmp_path / "out"
    sc = tmp_path / "short.yaml"
    sc.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nsimulation: {{warm_up_days: 30, horizon_days: 60}}\n")
    r = subprocess.run([sys.executable, "-m", "sendmodel", "run", str(sc), "--reps", "2", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    for f in ("kpis.csv", "summary.csv", "events.parquet", "manifest.json", "advice_turnaround.png",
              "advice_within_6w_by_month.png", "waiting_lists.png", "utilisation.png"):
        assert (out / f).exists(), f
