"""The dashboards say when the system is overloaded, in a visible warning box, and give each service's figure its
interval: the explore dashboard at +44% demand flags the LA casework; at the baseline's demand it does not."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

from sendmodel.widgets import CompareDashboard, ExploreDashboard  # noqa: E402
from tests.conftest import SCENARIOS  # noqa: E402

SHORT = {"simulation.warm_up_days": 120, "simulation.horizon_days": 240}
DEMAND = round(901 * 1.44)


def _explore(scenario):
    d = ExploreDashboard(scenario, workers=1, delay=0.05, quick=False, replications=3)
    assert d.wait(120), "the first run did not finish within 120 s"
    return d


def test_explore_flags_overload_in_a_warning_box(baseline):
    d = _explore(baseline.override({**SHORT, "ehc.requests_per_year_per_70k": DEMAND}))
    box = d.capacity.value
    assert 'class="sm-warning"' in box and "OVERLOADED: LA SEND casework is over capacity" in box
    assert "describe a backlog that never clears" in box and "open at the end" in box
    assert d.overload.unit("la_casework").status == "over capacity"
    assert d.capacity in d._outputs, "greyed while a newer run goes, like the other outputs"


def test_explore_baseline_demand_keeps_la_casework_and_gives_service_intervals(baseline):
    d = _explore(baseline.override(SHORT))
    assert "LA SEND casework is over capacity" not in d.capacity.value
    assert d.overload.unit("la_casework").status != "over capacity"
    assert d.service_table.value.count('class="sm-ci"') >= 5, "each service's figure carries its 95% CI"


def test_compare_flags_the_overloaded_option(tmp_path):
    (tmp_path / "short.yaml").write_text(
        f"extends: {SCENARIOS / 'baseline.yaml'}\nname: short\nsimulation: {{warm_up_days: 120, horizon_days: 240}}\n")
    (tmp_path / "more_demand.yaml").write_text(
        f"extends: {tmp_path / 'short.yaml'}\nname: more_demand\nehc: {{requests_per_year_per_70k: {DEMAND}}}\n")
    d = CompareDashboard(["more_demand"], "short", scenarios_dir=tmp_path, workers=1, delay=0.05, quick=False,
                         replications=3)
    assert d.wait(300), "the comparison did not finish"
    box = d.capacity.value
    assert "More demand: OVERLOADED: LA SEND casework is over capacity" in box
    assert "short: OVERLOADED: LA SEND casework" not in box
