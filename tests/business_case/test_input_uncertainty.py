"""The business case under input uncertainty: every target solved again at each parameter set of the uncertain
inputs, each set's answer where queueing theory puts it, and the 90th percentile of the PAs needed on the
summary, beside the central answer, with the sets in their own sheet."""

from __future__ import annotations

import math

import openpyxl
import pytest

import sendmodel
from sendmodel.cli.main import main
from sendmodel.studies.business_case.case import _nearest_rank
from tests.business_case.builders import mmc_scenario, p_wait_within

TARGET = "clinic:routine_seen_within_target_pct@clinic>=80"
ARRIVALS = "services.clinic.routine_referrals_per_week_per_70k"


def _scenario():
    # M/M/c, one day's mean appointment, target 2 days: 1-2.5 referrals a day need 2, 3 or 4 clinicians
    sc = mmc_scenario(2.0, 1.0, 3, 2.0, horizon_days=1500)
    return sc.override({ARRIVALS: {"uncertain": "uniform", "low": 7.0, "high": 17.5},
                        "services.clinic.commissioner": "nhs", "services.clinic.gbp_per_pa": 300.0})


@pytest.fixture(scope="module")
def bc():
    return sendmodel.business_case(_scenario(), targets=[TARGET], replications=4, seed=3, confidence="mean",
                                   input_sets=8, workers=1)


def test_each_input_set_needs_what_erlang_c_says(bc):
    sets = bc.input_sets
    assert len(sets) == 8 and sets["reachable"].all() and sets["set"].tolist() == list(range(1, 9))
    for _, r in sets.iterrows():
        lam = r[ARRIVALS] / 7.0
        theory = next(c for c in range(1, 20) if lam < c and p_wait_within(c, lam, 1.0, 2.0) >= 0.80)
        edge = any(abs(p_wait_within(c, lam, 1.0, 2.0) - 0.80) < 0.05 for c in (theory - 1, theory))
        assert r["pas_per_week"] / 42 == theory or edge, (lam, r["pas_per_week"], theory)
    assert sets["pas_per_week"].nunique() >= 2  # the sets' demand differs, and so does what it needs


def test_the_summary_shows_the_90th_percentile_beside_the_central_answer(bc):
    s = bc.summary.set_index("benchmark")
    p90 = s.loc["Needed at the 90th percentile of the inputs (8 input sets)", "pas_per_week"]
    assert p90 == _nearest_rank(bc.input_sets["pas_per_week"].tolist(), 0.9)
    assert p90 >= s.loc["Needed (model)", "pas_per_week"] - 42  # the central answer is one of the range's
    extra = s.loc["Extra beyond funded at the 90th percentile of the inputs", "pas_per_week"]
    assert extra == max(0.0, p90 - s.loc["Funded today", "pas_per_week"])


def test_nearest_rank_counts_an_unreachable_set_as_needing_more():
    assert _nearest_rank([3.0, 1.0, 2.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.0
    assert _nearest_rank([1.0] * 9 + [math.inf], 0.9) == 1.0  # one set in ten unreachable: still reachable
    assert math.isinf(_nearest_rank([1.0] * 8 + [math.inf] * 2, 0.9))


def test_the_workbook_has_the_sets_and_the_command_refuses_without_ranges(bc, tmp_path, capsys):
    paths = bc.to_dir(tmp_path / "bc")
    wb = openpyxl.load_workbook(paths["workbook"] if "workbook" in paths else next(
        p for p in paths.values() if str(p).endswith(".xlsx")))
    assert "input uncertainty" in wb.sheetnames
    head = [c.value for c in wb["input uncertainty"][1]]
    assert "Input set" in head and ARRIVALS in head and "PAs a week" in head
    html = next(p for p in paths.values() if str(p).endswith(".html")).read_text()
    assert "9 in 10 of the input sets" in html

    base = sendmodel.load_scenario("scenarios/baseline.yaml")
    assert not base.uncertain_inputs
    rc = main(["business-case", "scenarios/baseline.yaml", "--input-sets", "3", "--out", str(tmp_path / "x")])
    assert rc == 2 and "needs fields given as ranges" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
