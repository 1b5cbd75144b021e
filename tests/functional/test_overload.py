"""Overload said out loud: the +44% demand case is flagged in the run's output and folder, the baseline's LA
casework is not, and per-service intervals too wide to act on are called so."""

from __future__ import annotations

import pandas as pd
import pytest

import sendmodel
from sendmodel.analysis.overload import check_records, spread_notes
from sendmodel.cli.main import main
from sendmodel.engine.replication import run_replication
from tests.conftest import SCENARIOS

SHORT = {"simulation.warm_up_days": 120, "simulation.horizon_days": 240}
DEMAND = round(901 * 1.44)  # the baseline's requests a year raised 44%


@pytest.fixture(scope="module")
def runs(baseline):
    base = baseline.override(SHORT)
    high = base.override({"ehc.requests_per_year_per_70k": DEMAND})
    return {n: sendmodel.run(sc, replications=3, seed=1, keep_events=False) for n, sc in
            (("base", base), ("high", high))}


def test_baseline_la_casework_keeps_up(runs):
    chk = runs["base"].overload_check()
    la = chk.unit("la_casework")
    assert la.status == "within capacity", la
    assert not any(f.startswith("LA SEND casework") for f in chk.flags())


def test_more_demand_overloads_la_casework(runs):
    chk = runs["high"].overload_check()
    la = chk.unit("la_casework")
    # over capacity by its queue (growth clear in 3 replications) or by its load (work clearly above its PAs)
    assert la.status == "over capacity" and la.growth > 0 and la.offered_low > 1, la
    flag = next(f for f in chk.flags() if f.startswith("LA SEND casework"))
    assert "is over capacity: " in flag and "a month" in flag
    assert ("its queue grows by about" in flag) if la.reason == "queue" else ("so its queue cannot settle" in flag)
    assert "plans within 20 weeks describe a backlog that never clears" in flag
    assert "open at the end, waiting a median" in flag and "90th percentile" in flag
    assert "OVERLOADED: LA SEND casework is over capacity" in chk.text()
    t = chk.table().set_index("service")
    assert t.loc["la_casework", "status"] == "over capacity" and t.loc["ehc_requests", "open_end"] > 0


def _file(folder, name: str, demand: float | None = None):
    f = folder / f"{name}.yaml"
    f.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: {name}\n"
                 "simulation: {warm_up_days: 120, horizon_days: 240}\n"
                 + (f"ehc: {{requests_per_year_per_70k: {demand}}}\n" if demand else ""))
    return f


def test_run_command_flags_overload(tmp_path, capsys):
    f = _file(tmp_path, "more_demand", DEMAND)
    out = tmp_path / "run"
    assert main(["run", str(f), "--reps", "2", "--seed", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "OVERLOADED: LA SEND casework is over capacity: its queue grows by about" in text
    table = pd.read_csv(out / "overload.csv").set_index("service")
    assert table.loc["la_casework", "status"] == "over capacity"
    report = (out / "stress_des.md").read_text()
    assert "4.4 Capacity" in report and "LA SEND casework is over capacity" in report


def test_wide_service_interval_is_called_out(baseline):
    summary = pd.DataFrame({
        "kpi": ["advice_within_6w_pct", "advice_within_6w_pct", "advice_within_6w_pct"],
        "service": ["ot", "slt", "all"], "mean": [4.1, 85.0, 70.0], "ci_low": [-2.0, 82.0, 60.0],
        "ci_high": [10.1, 88.0, 80.0], "half_width": [6.05 * 2, 3.0, 10.0 * 2]})
    notes = spread_notes(summary, baseline, replications=10)
    assert len(notes) == 1, notes
    assert notes[0].startswith("Replications disagree widely on advice returned within 6 weeks at Occupational")
    assert "0.0 to 10.1" in notes[0] and "replications would bring it within +/- 10 points" in notes[0]


def test_compare_flags_each_option(tmp_path, capsys):
    files = [str(_file(tmp_path, "short")), str(_file(tmp_path, "more_demand", DEMAND))]
    out = tmp_path / "cmp"
    assert main(["compare", *files, "--baseline", "short", "--reps", "2", "--seed", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    short, more = text.split("short: Capacity check")[1].split("more_demand: Capacity check")
    assert "LA SEND casework is over capacity" not in short
    assert "OVERLOADED: LA SEND casework is over capacity" in more
    t = pd.read_csv(out / "overload.csv")
    la = t[t["service"] == "la_casework"].set_index("scenario")["status"]
    assert la["more_demand"] == "over capacity" and la["short"] != "over capacity"
    assert "] (" in text.split("by health service")[1]  # each option's mean carries its CI in the by-service table


def test_check_from_records_matches_the_run(runs):
    """What a study that runs replications itself (the business case) gets from their records."""
    res = runs["high"]
    chk = check_records([run_replication(res.scenario, 1, r) for r in range(3)], res.scenario)
    assert chk.flags() == res.overload_check().flags() and chk.overloaded
