"""Settings that run but wait for ever (work sent to a service with no PAs) are named, in the CLI and the
dashboards alike; sensible files give no warning."""

import pytest

from sendmodel.cli.main import main
from sendmodel.scenario.checks import scenario_warnings
from tests.conftest import SCENARIOS


def test_shipped_scenarios_give_no_warnings():
    import sendmodel

    for f in [SCENARIOS / "baseline.yaml", *sorted((SCENARIOS / "options").glob("*.yaml"))]:
        assert scenario_warnings(sendmodel.load_scenario(f)) == [], f.name


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"ehc.admin_support": True, "services.dmo_admin.pas_per_week": 0}, "Admin support is on but has no PAs"),
        ({"ehc.triage.enabled": True, "services.spa.pas_per_week": 0}, "Triage is on but has no PAs"),
        ({"services.dmo.pas_per_week": 0}, "The DMO/DCO has no PAs a week"),
        ({"services.slt.pas_per_week": 0}, "Speech and language therapy is asked for EHC advice but has no PAs"),
        ({"services.la_casework.pas_per_week": 0}, "no request is ever decided"),
    ],
)
def test_work_sent_to_a_service_without_pas_is_named(baseline, changes, words):
    got = scenario_warnings(baseline.override(changes))
    assert any(words in w for w in got), got


def test_a_dated_capacity_change_that_adds_pas_is_not_a_warning(baseline):
    sc = baseline.override({
        "services.slt.pas_per_week": 0,
        "services.slt.capacity_changes": [{"start": "2024-04-01", "pas_per_week_delta": 10}],
    })
    assert not any("Speech" in w for w in scenario_warnings(sc))


def test_the_cli_prints_the_warning_and_still_validates(tmp_path, capsys):
    f = tmp_path / "no_dmo.yaml"
    f.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nservices: {{dmo: {{pas_per_week: 0}}}}\n")
    assert main(["validate", str(f)]) == 0
    out = capsys.readouterr()
    assert "1 warning(s)" in out.out and f"warning: {f}: The DMO/DCO has no PAs a week" in out.err, out
