"""A sweep report says which points are over capacity: the +44% demand point's LA casework is, the baseline
point's is not."""

from __future__ import annotations

import json

import pandas as pd

from sendmodel.cli.main import main
from sendmodel.studies.sweep.store import load_sweep_capacity
from tests.conftest import SCENARIOS

BASE = f"""\
extends: {SCENARIOS / "baseline.yaml"}
simulation: {{warm_up_days: 120, horizon_days: 240}}
"""

SPEC = """\
name: demand_up
base: base.yaml
design: points
points:
  - {ehc.requests_per_year_per_70k: 901}
  - {ehc.requests_per_year_per_70k: 1297}
replications: 2
seed: 3
"""


def test_sweep_report_flags_the_overloaded_point(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "spec.yaml").write_text(SPEC)
    store, out = tmp_path / "s.sqlite", tmp_path / "report"
    assert main(["sweep", str(tmp_path / "spec.yaml"), "--out", str(store), "--workers", "1"]) == 0
    cap = load_sweep_capacity(store)
    assert set(cap["point"]) == {0, 1} and "la_casework" in set(cap["service"])
    capsys.readouterr()
    assert main(["sweep-report", str(store), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Capacity check: " in text
    part = text.split("Capacity check: ")[1]
    assert "Point 1 (" in part and "1297" in part.split("Point 1 (")[1].split("\n")[0]
    assert "OVERLOADED: LA SEND casework is over capacity" in part.split("Point 1 (")[1]
    assert "Point 0 (" not in part or "LA SEND casework" not in part.split("Point 0 (")[1].split("Point 1 (")[0]
    t = pd.read_csv(out / "overload.csv")
    la = t[t["service"] == "la_casework"].set_index("point")["status"]
    assert la[1] == "over capacity" and la[0] != "over capacity"
    assert 1 in json.loads((out / "manifest.json").read_text())["points_over_capacity"]
