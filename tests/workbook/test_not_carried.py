"""A template says which of its scenario's settings the workbook does not hold, so none is dropped silently."""

from __future__ import annotations

import sendmodel
from sendmodel.cli.main import main
from sendmodel.scenario.workbook import not_carried, write_template
from tests.workbook.conftest import BASELINE, ROOT


def test_baseline_is_carried_whole(tmp_path):
    write_template(BASELINE, tmp_path / "b.xlsx")
    assert not_carried(sendmodel.load_scenario(BASELINE), tmp_path / "b.xlsx") == []


def test_from_today_names_what_is_not_carried(tmp_path, capsys):
    src = ROOT / "scenarios" / "from_today.yaml"
    assert main(["template", str(tmp_path / "t.xlsx"), "--from", str(src)]) == 0
    err = capsys.readouterr().err
    assert "does not hold" in err and "ehc.reviews" in err and "ehc.open_case_list" in err
    assert "ehc.growth_per_year" not in err  # the demand sheet holds growth
