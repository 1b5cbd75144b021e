"""Every run folder carries a STRESS-DES report (Monks et al. 2019) with no section left empty: `sendmodel run`
and `sendmodel compare` (the command `make demo` runs)."""

from __future__ import annotations

import json
import re
import shlex
from importlib.metadata import version

import pytest

from sendmodel.cli.main import main
from sendmodel.common.manifest import source_hash
from sendmodel.scenario.loading import load_scenario
from sendmodel.scenario.params import _walk
from tests.conftest import ROOT, SCENARIOS

STRESS_DES = [
    "1.1 Purpose of the model", "1.2 Model outputs", "1.3 Experimentation aims",
    "2.1 Base model overview diagram", "2.2 Base model logic", "2.3 Scenario logic", "2.4 Algorithms",
    "2.5 Components", "2.5.1 Entities", "2.5.2 Activities", "2.5.3 Resources", "2.5.4 Queues",
    "2.5.5 Entry and exit points",
    "3.1 Data sources", "3.2 Pre-processing", "3.3 Input parameters", "3.4 Assumptions",
    "4.1 Initialisation", "4.2 Run length", "4.3 Estimation approach",
    "5.1 Software or programming language", "5.2 Random sampling", "5.3 Model execution",
    "5.4 System specification", "6.1 Computer model sharing statement", "7 Verification and validation",
]


def sections(md: str) -> dict[str, str]:
    """Heading (without #) -> the text up to the next heading."""
    out, head = {}, None
    for line in md.splitlines():
        m = re.match(r"#+ (.*)", line)
        if m:
            head = m.group(1)
            out[head] = ""
        elif head is not None:
            out[head] += line + "\n"
    return out


def assert_complete(md: str) -> dict[str, str]:
    s = sections(md)
    missing = [h for h in STRESS_DES if h not in s]
    assert not missing, missing
    empty = [h for h in STRESS_DES if not s[h].strip()]
    assert not empty, empty
    return s


@pytest.fixture
def small(tmp_path):
    """The baseline for 5,000 children, 60 days' warm-up and 360 measured: long enough for MSER-5 (60 weeks)."""
    f = tmp_path / "small.yaml"
    f.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: small\npopulation: 5000\n"
                 "simulation: {warm_up_days: 60, horizon_days: 360}\n")
    return f


def test_a_run_folder_has_a_complete_stress_des_report(small, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(small), "--reps", "2", "--seed", "11", "--precision", "0.01", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    s = assert_complete((out / "stress_des.md").read_text(encoding="utf-8"))
    # the warm-up diagnostic, with its finding, is in the report and on the screen
    assert "MSER-5" in s["4.1 Initialisation"] and "warm-up of 60 days is" in s["4.1 Initialisation"]
    assert "warm-up of 60 days is" in printed.out
    # every parameter with its source
    sc = load_scenario(small)
    rows = [r for r in s["3.3 Input parameters"].splitlines() if r.startswith("| ")]
    assert len(rows) == 1 + len(list(_walk(sc)))  # the header and one row each
    assert "DfE SEN2 2024" in s["3.3 Input parameters"]
    # replications, seeds, the precision asked for and what it needs
    assert "about" in s["4.3 Estimation approach"] and "replications would be needed" in s["4.3 Estimation approach"]
    assert "Base seed 11" in s["5.2 Random sampling"]
    assert f"simpy {version('simpy')}" in s["5.1 Software or programming language"]
    assert source_hash() in s["6.1 Computer model sharing statement"]
    assert "mm1_rho70.yaml" in s["7 Verification and validation"]
    assert "stress_des.md" in s["Files in this folder"] and "kpis.csv" in s["Files in this folder"]
    assert (out / "warm_up.png").stat().st_size > 0 and "warm_up.png" in s["Files in this folder"]
    w = json.loads((out / "manifest.json").read_text())["warmup_check"]  # and in the manifest
    assert w["warm_up_days"] == 60 and w["series"] and w["needed_days"] == max(
        v for v in w["series"].values() if v is not None)


def test_run_reports_the_replications_a_precision_needs(small, capsys):
    assert main(["run", str(small), "--reps", "2", "--precision", "0.01"]) == 0
    assert re.search(r"NOT within the precision asked for \(0.01\); about \d+ replications", capsys.readouterr().out)
    assert main(["run", str(small), "--reps", "2", "--precision-kpi", "no_such_kpi"]) == 2


def test_the_demo_command_writes_a_complete_report(small, tmp_path, capsys):
    """`make demo` runs `sendmodel compare ... --reps auto ... --out`; the same command on small options writes
    stress_des.md with every section, and says what each option changes."""
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:")[1].split("\n\n")[0].replace("\\\n", " ")
    demo = shlex.split(recipe.split("$(BIN)/sendmodel", 1)[1])
    assert demo[0] == "compare" and "--out" in demo and "--reps" in demo
    opt = tmp_path / "more_slt.yaml"
    opt.write_text(f"extends: {small}\nname: more_slt\nservices: {{slt: {{pas_per_week: 20}}}}\n")
    out = tmp_path / "options"
    assert main(["compare", str(small), str(opt), "--baseline", "small", "--reps", "auto", "--precision", "0.01",
                 "--min-reps", "2", "--max-reps", "3", "--out", str(out)]) == 0
    s = assert_complete((out / "stress_des.md").read_text(encoding="utf-8"))
    assert "`more_slt` differs from `small` in: `services.slt.pas_per_week`\n" in s["2.3 Scenario logic"]
    option_rows = s["3.3 Input parameters"].split("as `small` except:")[1].splitlines()
    assert [r.split(" | ")[0] for r in option_rows if r.startswith("| ")][1:] == ["| services.slt.pas_per_week"]
    assert "`small`:" in s["4.1 Initialisation"] and "`more_slt`:" in s["4.1 Initialisation"]
    assert "added sequentially" in s["4.3 Estimation approach"]
    assert (out / "warm_up.png").exists() and "`warm_up.png` draws the series of `small`" in s["4.1 Initialisation"]


def test_a_section_with_nothing_to_say_stops_the_report(baseline):
    from sendmodel.analysis.report import stress_des

    args = dict(kind="run", scenarios={"baseline": baseline}, seed=1, replications=2, kpis=["advice_within_6w_pct"],
                warmup={}, outputs=["kpis.csv"])
    assert_complete(stress_des(estimation=["2 replications"], **args))
    with pytest.raises(ValueError, match="4.3 Estimation approach would be empty"):
        stress_des(estimation=[""], **args)
