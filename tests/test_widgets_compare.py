"""The compare dashboard without a browser: tick options in Python, check the table and the plot follow."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

import sendmodel  # noqa: E402
from sendmodel.widgets import CompareDashboard  # noqa: E402
from tests.conftest import SCENARIOS  # noqa: E402


@pytest.fixture(scope="module")
def option_dir(tmp_path_factory):
    """A small scenarios folder: a short baseline and three options that extend it, plus a broken one."""
    d = tmp_path_factory.mktemp("scenarios")
    (d / "options").mkdir()
    (d / "base.yaml").write_text(
        f"extends: {SCENARIOS / 'baseline.yaml'}\nname: base\n"
        "simulation: {warm_up_days: 30, horizon_days: 90}\n"
    )
    (d / "options" / "same.yaml").write_text("extends: ../base.yaml\nname: same\n")
    (d / "options" / "more_slt.yaml").write_text(
        "extends: ../base.yaml\nname: more_slt\nservices: {slt: {pas_per_week: 40}}\n"
    )
    (d / "options" / "less_slt.yaml").write_text(
        "extends: ../base.yaml\nname: less_slt\nservices: {slt: {pas_per_week: 8}}\n"
    )
    (d / "ranges.yaml").write_text(
        "extends: base.yaml\nname: ranges\n"
        "services: {slt: {advice: {p_known: {uncertain: triangular, low: 0.2, mode: 0.5, high: 0.8}}}}\n"
    )
    (d / "options" / "zz_broken.yaml").write_text(
        "extends: ../base.yaml\nname: broken\nservices: {slt: {pas: 1}}\n"
    )
    return d


def _dash(option_dir, **kw):
    kw.setdefault("options", ["options/same", "options/more_slt"])
    d = CompareDashboard(
        baseline="base", scenarios_dir=option_dir, replications=3, workers=1, delay=0.05, quick=False, **kw
    )
    assert d.wait(300), "the first comparison did not finish"
    return d


def _row(table, option, kpi, service="all"):
    t = table[(table.option == option) & (table.kpi == kpi) & (table.service == service)]
    assert len(t) == 1, f"expected one row for {option}/{kpi}, got {len(t)}"
    return t.iloc[0]


def test_compare_shows_the_paired_table_and_the_value_plot(option_dir):
    d = _dash(option_dir)
    assert set(d.table.option) == {"base", "same", "more_slt"}, set(d.table.option)
    same = _row(d.table, "same", "advice_within_6w_pct")
    assert same["diff"] == 0 and same["diff_ci_low"] == 0, (
        "an option identical to the baseline differs by zero"
    )
    slt = _row(d.table, "more_slt", "routine_wait_median_weeks", "slt")
    assert slt["diff"] < 0, (
        f"doubling SLT PAs should shorten the SLT routine wait (diff {slt['diff']:.2f} weeks)"
    )
    html = d.comparison.value
    assert "More SLT" in html and "more_slt" not in html and "(baseline)" in html
    assert "Health advice within 6 weeks" in html
    assert "NHS (ICB/CCG)" in d.who_pays.value, "who pays should name the funders"
    assert d.plot.value[:4] == b"\x89PNG"
    assert d.status.value.startswith("Updated in"), d.status.value


def test_ticking_an_option_runs_only_that_option(option_dir):
    d = _dash(option_dir)
    plot0, table0 = d.plot.value, d.comparison.value
    d.choices["options/less_slt"].value = True
    assert d.wait(300)
    assert d.timings[-1]["options_run"] == 1, f"only the new option should run, ran {d.timings[-1]}"
    assert "less_slt" in set(d.table.option)
    assert d.comparison.value != table0 and d.plot.value != plot0, "table and plot should show the new option"
    worse = _row(d.table, "less_slt", "advice_within_6w_pct", "slt")
    assert worse["diff"] < 0 and worse["verdict"] in ("worse", "no clear difference"), worse[
        ["diff", "verdict"]
    ]
    d.choices["options/more_slt"].value = False
    assert d.wait(300)
    assert "more_slt" not in set(d.table.option) and d.timings[-1]["options_run"] == 0


def test_the_table_equals_sendmodel_compare(option_dir):
    from sendmodel.analysis.compare import compare as compare_options

    d = _dash(option_dir)
    base = sendmodel.load_scenario(option_dir / "base.yaml")
    more = sendmodel.load_scenario(option_dir / "options" / "more_slt.yaml")
    same = sendmodel.load_scenario(option_dir / "options" / "same.yaml")
    want = compare_options(
        {"base": base, "same": same, "more_slt": more}, baseline="base", replications=3, seed=d.seed
    )
    for kpi in ("advice_within_6w_pct", "cost_total_gbp"):
        for opt in ("same", "more_slt"):
            got, exp = _row(d.table, opt, kpi), _row(want, opt, kpi)
            assert got["diff"] == pytest.approx(exp["diff"]) and got["mean"] == pytest.approx(exp["mean"]), (
                f"{opt}/{kpi}: dashboard {got['mean']:.3f} ({got['diff']:+.3f}) vs compare() "
                f"{exp['mean']:.3f} ({exp['diff']:+.3f})"
            )


def test_a_broken_option_or_no_option_gives_a_message(option_dir):
    d = _dash(option_dir)
    runs0 = d.runner.runs_started
    d.choices["options/zz_broken"].value = True
    assert d.wait(10)
    assert "Cannot use options/zz_broken" in d.message.value and "pas" in d.message.value, d.message.value
    assert d.runner.runs_started == runs0
    d.set(options=[])
    assert "Tick at least one option" in d.message.value
    d.set(options=["options/more_slt"], baseline="options/same")
    assert d.wait(300)
    assert d.message.value == "" and set(d.table.option) == {"same", "more_slt"}
    assert (d.table.baseline == "same").all()


def test_options_are_shown_by_label_with_their_description_as_tooltip(option_dir):
    (option_dir / "options" / "more_slt.yaml").write_text(
        "extends: ../base.yaml\nname: more_slt\ndescription: Ten more SLT PAs a week.\n"
        "services: {slt: {pas_per_week: 40}}\n")
    d = _dash(option_dir)
    box = d.choices["options/more_slt"]
    assert box.description == "More SLT"
    assert box.tooltip == "options/more_slt: Ten more SLT PAs a week."
    assert d.choices["options/same"].tooltip == "options/same"  # no description: its name


def test_input_ranges_give_each_option_its_chance_of_being_better(option_dir):
    """With a ranges file chosen, every option that keeps the field at its centre is drawn over the range, and
    the table says the chance each option beats the baseline; back to none, the table goes."""
    from sendmodel.widgets._compare import NO_RANGES

    d = _dash(option_dir)
    assert d.ranges.options == (NO_RANGES, "ranges") and d.uncertainty.value == ""
    d.input_sets.value = 3
    d.ranges.value = "ranges"
    assert d.wait(300)
    html = d.uncertainty.value
    assert "Under input uncertainty" in html and "3 parameter sets" in html and "chance better" in html
    assert "More SLT" in html and "Same" in html
    assert "sm-comparison" in d.comparison.value  # the central comparison stays shown
    d.ranges.value = NO_RANGES
    assert d.wait(300)
    assert d.uncertainty.value == ""
