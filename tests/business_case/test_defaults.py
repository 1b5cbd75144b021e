"""The business case's defaults: what `--help` says is what runs, and the default targets hold routine waits."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sendmodel.cli.main import build_parser, main
from sendmodel.studies.business_case.case import default_target_specs, resolve_today, service_target_specs
from sendmodel.studies.business_case.standards import (
    DEFAULT_ADVICE_PCT,
    DEFAULT_DMO_WORKING_DAYS,
    DEFAULT_HEALTH_PCT,
    DEFAULT_ROUTINE,
    ROUTINE_KPI,
)
from sendmodel.studies.capacity.solver import DEFAULT_STEP_PAS
from tests.conftest import SCENARIOS


def _help(capsys) -> str:
    with pytest.raises(SystemExit):
        main(["business-case", "--help"])
    return re.sub(r"\s+", " ", capsys.readouterr().out)


def _defaults() -> dict:
    sub = next(a for a in build_parser()._actions if a.dest == "command" or hasattr(a, "choices")
               and isinstance(a.choices, dict) and "business-case" in a.choices)
    return {a.dest: a.default for a in sub.choices["business-case"]._actions}


def test_help_and_defaults_agree(capsys, baseline):
    text, defaults = _help(capsys), _defaults()
    said = {}
    for part in re.split(r" (?=--[a-z][a-z-]* )", text.split("options:", 1)[1]):
        found = re.findall(r"\(default ([^);]+)[);]", part)
        if found:
            said[part.split()[0][2:]] = found[-1]
    assert said["reps"] == str(defaults["reps"]), f"--reps: help says {said['reps']}, runs {defaults['reps']}"
    assert said["seed"] == str(defaults["seed"])
    assert said["advice-pct"] == f"{defaults['advice_pct']:g}" == f"{DEFAULT_ADVICE_PCT:g}"
    assert said["routine"] == defaults["routine"] == DEFAULT_ROUTINE
    assert said["confidence"] == defaults["confidence"]
    assert said["step"] == f"{DEFAULT_STEP_PAS:g}" and defaults["step"] is None, "no --step: the solver's grid"
    assert said["workers"] == "every core" and defaults["workers"] is None
    for spec in default_target_specs(baseline):
        lever, rest = spec.split(":", 1)
        generic = rest.replace(f"@{lever}", "@S") if lever not in ("dmo", "health") else rest
        assert generic in text, f"help should show the default target {generic!r} ({spec})"
    assert f"dmo_signoff_median_working_days<={DEFAULT_DMO_WORKING_DAYS:g}" in text
    assert f"health:advice_within_6w_pct>={DEFAULT_HEALTH_PCT:g}" in text


def test_default_targets_hold_each_services_routine_waits(baseline):
    specs = default_target_specs(baseline)
    health = [n for n, s in baseline.services.items() if s.kind == "health" and s.advice is not None]
    for s in health:
        assert f"{s}:advice_within_6w_pct@{s}>={DEFAULT_ADVICE_PCT:g}" in specs
        assert f"{s}:{ROUTINE_KPI}@{s}<=today" in specs, f"{s}'s routine wait should be held at today's"
    assert f"slt:{ROUTINE_KPI}@slt<=18" in service_target_specs(baseline, routine="18w")
    assert not any(ROUTINE_KPI in t for t in service_target_specs(baseline, 85, routine="none"))
    assert "slt:advice_within_6w_pct@slt>=85" in service_target_specs(baseline, 85)
    with pytest.raises(ValueError, match="routine must be one of"):
        service_target_specs(baseline, routine="never")


def test_today_is_todays_mean_one_unit_looser():
    today = pd.DataFrame({"kpi": [ROUTINE_KPI] * 3 + ["advice_within_6w_pct"] * 2,
                          "service": ["slt"] * 3 + ["ot"] * 2, "value": [20.0, 21.0, 22.03, 70.0, 71.0]})
    assert resolve_today(f"slt:{ROUTINE_KPI}@slt<=today", today) == f"slt:{ROUTINE_KPI}@slt<=22.1"
    assert resolve_today("ot:advice_within_6w_pct@ot>=today", today) == "ot:advice_within_6w_pct@ot>=69.5"
    assert resolve_today("dmo:dmo_signoff_median_working_days<=10", None) == "dmo:dmo_signoff_median_working_days<=10"
    with pytest.raises(ValueError, match="today's runs give no"):
        resolve_today(f"physio:{ROUTINE_KPI}@physio<=today", today)


def test_unit_costs_carried_to_the_cost_year_by_the_pay_uplift(baseline):
    from sendmodel.studies.business_case.case import lever_cost_per_year, uprate
    from sendmodel.studies.business_case.standards import prices_phrase

    same, f = uprate(baseline)
    assert same is baseline and f == 1.0, "no years given: the scenario's prices"
    up, f = uprate(baseline, 2023, 2025, 3.0)
    assert f == pytest.approx(1.03**2)
    assert up.services["dmo"].gbp_per_pa == pytest.approx(baseline.services["dmo"].gbp_per_pa * 1.0609)
    assert up.services["spa"].gbp_per_hour == pytest.approx(baseline.services["spa"].gbp_per_hour * 1.0609)
    assert lever_cost_per_year(up, ("slt",), None) == pytest.approx(1.0609 * lever_cost_per_year(
        baseline, ("slt",), None))
    phrase = prices_phrase({"price_year": 2023, "cost_year": 2025, "pay_uplift_pct": 3.0, "price_factor": f})
    assert phrase.startswith("2025 prices") and "3% pay uplift" in phrase, phrase
    with pytest.raises(ValueError, match="together"):
        uprate(baseline, cost_year=2025, pay_uplift_pct=3.0)


def test_cli_refuses_an_uplift_without_its_years(tmp_path, capsys):
    rc = main(["business-case", str(SCENARIOS / "baseline.yaml"), "--pay-uplift-pct", "3", "--no-options",
               "--out", str(tmp_path / "out")])
    assert rc == 2 and "together" in capsys.readouterr().err
