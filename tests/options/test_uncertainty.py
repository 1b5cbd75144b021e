"""Uncertain inputs: a field given as a range runs at its central value, `sendmodel params` marks it, bad
ranges are clear errors, parameter sets are seeded Latin hypercube draws, and a comparison under uncertainty
gives every option the same draws, an interval over noise and inputs at least as wide as noise alone, the
probability of beating the baseline, and the input that drives the difference."""

from __future__ import annotations

import numpy as np
import pytest

import sendmodel
from sendmodel.cli.main import main
from sendmodel.studies.uncertainty.propagate import compare_uncertain, parameter_sets, uncertain_inputs
from tests.functional.builders import fixed, tiny

RANGE = {"services.therapy.advice.p_known": {"uncertain": "triangular", "low": 0.1, "mode": 0.5, "high": 0.9}}


def test_a_range_runs_at_its_centre_and_is_kept():
    sc = tiny(RANGE)
    assert sc.services["therapy"].advice.p_known == 0.5
    (u,) = sc.uncertain_inputs
    assert u.path == "services.therapy.advice.p_known" and (u.low, u.mode, u.high) == (0.1, 0.5, 0.9)
    assert sc.override({"services.therapy.pas_per_week": 11}).uncertain_inputs == sc.uncertain_inputs
    assert sc.override({"services.therapy.advice.p_known": 0.3}).uncertain_inputs == ()  # a value replaces it
    assert tiny().uncertain_inputs == ()


@pytest.mark.parametrize("spec, words", [
    ({"uncertain": "normal", "low": 0, "high": 1}, "one of"),
    ({"uncertain": "triangular", "low": 0.5, "mode": 0.2, "high": 0.9}, "low <= mode <= high"),
    ({"uncertain": "uniform", "low": 0.1}, "high"),
    ({"uncertain": "uniform", "low": 0.1, "high": 0.2, "mean": 3}, "unknown keys"),
])
def test_bad_ranges_are_clear_errors(spec, words):
    with pytest.raises(sendmodel.ScenarioError) as e:
        tiny({"services.therapy.advice.p_known": spec})
    assert "services.therapy.advice.p_known" in str(e.value) and words in str(e.value)


def test_a_range_outside_the_fields_bounds_is_refused_at_its_centre():
    with pytest.raises(sendmodel.ScenarioError):
        tiny({"services.therapy.advice.p_known": {"uncertain": "uniform", "low": 1.5, "high": 2.5}})


def test_parameter_sets_are_seeded_latin_hypercube_draws():
    (u,) = uncertain_inputs({"a": tiny(RANGE)})
    a, b = parameter_sets([u], 40, seed=3), parameter_sets([u], 40, seed=3)
    x = a[u.path].to_numpy()
    assert a.equals(b) and x.min() >= 0.1 and x.max() <= 0.9
    strata = np.floor(np.array([_cdf_tri(v) for v in x]) * 40)  # one draw in each fortieth of the range
    assert sorted(strata) == list(range(40))


def _cdf_tri(v, lo=0.1, mode=0.5, hi=0.9):
    return (v - lo) ** 2 / ((hi - lo) * (mode - lo)) if v < mode else 1 - (hi - v) ** 2 / ((hi - lo) * (hi - mode))


def test_comparison_under_uncertainty():
    base = {**RANGE, "services.therapy.advice.booking_lead_days": fixed(45), "simulation.horizon_days": 200}
    today = tiny(base, name="today")
    more = tiny({**base, "services.therapy.advice.booking_lead_days": fixed(20)}, name="more")  # quicker booking
    summary, per_set = compare_uncertain({"today": today, "more": more}, "today", sets=5, replications=2, seed=1)
    r = summary[(summary["kpi"] == "advice_turnaround_median_days") & (summary["service"] == "therapy")].iloc[0]
    assert r["noise_and_input_high"] - r["noise_and_input_low"] >= r["noise_ci_high"] - r["noise_ci_low"] - 1e-9
    assert 0 <= r["p_better"] <= 1
    w = summary[(summary["kpi"] == "advice_within_6w_pct") & (summary["service"] == "therapy")].iloc[0]
    assert w["main_driver"] == "services.therapy.advice.p_known"  # the quicker booking helps the not known only
    assert w["main_driver_rank_corr"] < -0.5 and w["p_better"] > 0.9
    assert per_set["set"].nunique() == 5


def test_the_command(tmp_path, capsys):
    import yaml

    f = tmp_path / "a.yaml"
    f.write_text(yaml.safe_dump(tiny({"simulation.horizon_days": 120})._raw, sort_keys=False))
    raw = tiny(RANGE)._raw
    g = tmp_path / "b.yaml"
    raw = {**raw, "name": "b", "simulation": {**raw["simulation"], "horizon_days": 120}}
    g.write_text(yaml.safe_dump(raw, sort_keys=False))
    out = tmp_path / "cmp"
    assert main(["compare", str(f), str(g), "--baseline", "tiny", "--reps", "2", "--uncertainty", "3",
                 "--out", str(out)]) == 0
    assert (out / "uncertainty.csv").exists() and (out / "uncertainty_sets.csv").exists()
    assert "Under input uncertainty" in capsys.readouterr().out
    assert main(["compare", str(f), str(f), "--baseline", "tiny", "--uncertainty", "3"]) == 2  # no ranges


def test_morris_screening_finds_the_input_that_matters_and_not_the_one_that_does_not(tmp_path, capsys):
    import yaml

    from sendmodel.studies.uncertainty.sensitivity import morris

    sc = tiny({"services.therapy.advice.booking_lead_days": fixed(45), "simulation.horizon_days": 200, **RANGE,
               "ehc.dmo_review_hours": {"dist": "fixed",
                                        "value": {"uncertain": "uniform", "low": 0.4, "high": 0.6}}})
    ind, points = morris(sc, [("advice_within_6w_pct", "therapy")], trajectories=4, replications=2, seed=2)
    by = ind.set_index("input")
    assert by.loc["services.therapy.advice.p_known", "above_noise"]  # known children get advice from records
    assert not by.loc["ehc.dmo_review_hours.value", "above_noise"]  # sign-off comes after the advice
    assert len(points) == 4 * 3
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(sc._raw, sort_keys=False))
    out = tmp_path / "m"
    assert main(["sensitivity", str(f), "--trajectories", "2", "--reps", "2", "--kpi", "advice_within_6w_pct@therapy",
                 "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"morris.csv", "morris.png", "manifest.json"}
    assert main(["sensitivity", str(tmp_path / "none.yaml")]) != 0


def test_ranges_from_one_file_are_given_to_every_option_that_keeps_the_field():
    """What nobody has measured is the same world for every option: the ranges file's fields go to each option
    at the range's central value; an option that sets the field itself (its lever) keeps its own value."""
    from sendmodel.studies.uncertainty.propagate import value_at, with_ranges

    ranges = tiny(RANGE, name="ranges")
    same = tiny({"services.therapy.pas_per_week": 11}, name="same")
    own = tiny({"services.therapy.advice.p_known": 0.8}, name="own")
    out, kept = with_ranges({"same": same, "own": own}, ranges)
    assert [u.path for u in out["same"].uncertain_inputs] == ["services.therapy.advice.p_known"]
    assert out["same"].uncertain_inputs == ranges.uncertain_inputs and out["same"].name == "same"
    assert out["own"].uncertain_inputs == () and kept == {"same": [], "own": ["services.therapy.advice.p_known"]}
    assert value_at(out["same"], "services.therapy.advice.p_known") == 0.5
    assert value_at(out["same"], "services.therapy.pas_per_week") == 11
    assert value_at(same, "services.nothing.here") is None


def test_the_command_with_a_ranges_file(tmp_path, capsys):
    import yaml

    a, b = tiny({"simulation.horizon_days": 120}, name="a"), tiny({"simulation.horizon_days": 120,
                                                                   "services.therapy.pas_per_week": 11}, name="b")
    files = []
    for sc in (a, b, tiny({**RANGE, "simulation.horizon_days": 120}, name="r")):
        files.append(tmp_path / f"{sc.name}.yaml")
        files[-1].write_text(yaml.safe_dump(sc._raw, sort_keys=False))
    out = tmp_path / "cmp"
    assert main(["compare", str(files[0]), str(files[1]), "--baseline", "a", "--reps", "2", "--uncertainty", "3",
                 "--ranges", str(files[2]), "--out", str(out)]) == 0
    sets = __import__("pandas").read_csv(out / "uncertainty_sets.csv")
    assert "services.therapy.advice.p_known" in sets and sets["services.therapy.advice.p_known"].nunique() == 3
    assert main(["compare", str(files[0]), str(files[1]), "--baseline", "a", "--ranges", str(files[2])]) == 2
    assert "--ranges goes with --uncertainty" in capsys.readouterr().err


def test_a_range_collapsed_to_its_point_gives_the_points_results_to_the_last_bit():
    from sendmodel.analysis.experiment import run

    point = tiny({"services.therapy.advice.p_known": 0.5, "simulation.horizon_days": 150})
    collapsed = tiny({"services.therapy.advice.p_known": {"uncertain": "triangular", "low": 0.5, "mode": 0.5,
                                                          "high": 0.5}, "simulation.horizon_days": 150})
    a, b = run(point, 2, 4, keep_events=False).kpis, run(collapsed, 2, 4, keep_events=False).kpis
    assert a.drop(columns="scenario").equals(b.drop(columns="scenario"))
    summary, per_set = compare_uncertain({"a": point, "b": collapsed}, "a", sets=3, replications=2, seed=4)
    assert (per_set["diff"].fillna(0) == 0).all()  # every parameter set draws the point itself


def test_option_against_option_and_value_for_money_over_the_sets():
    import pandas as pd

    from sendmodel.studies.uncertainty.propagate import CE_KPI, option_against_option, value_for_money

    base = {**RANGE, "simulation.horizon_days": 200}
    opts = {n: tiny({**base, "services.therapy.advice.booking_lead_days": fixed(d)}, name=n)
            for n, d in (("today", 45), ("more", 25), ("most", 5))}
    summary, per_set = compare_uncertain(opts, "today", sets=4, replications=2, seed=1)
    pairs = option_against_option(summary, per_set)
    p = pairs[(pairs["kpi"] == "advice_turnaround_p90_days") & (pairs["service"] == "therapy")].set_index(
        ["option", "against"])["p_better"]
    assert p[("most", "more")] > 0.9 and p[("more", "most")] < 0.1  # quicker booking: quicker advice
    assert abs(p[("most", "more")] + p[("more", "most")] - 1) < 1e-9

    # cost per extra on-time advice over the sets, from each set's extra cost and extra advice
    rows = [{"option": "a", "kpi": CE_KPI, "service": "all", "set": j, "diff": c / e if e > 0 else float("nan"),
             "extra_cost": c, "extra_on_time": e} for j, (c, e) in enumerate([(100, 10), (200, 10), (-5, 2), (50, 0)])]
    v = value_for_money(pd.DataFrame(rows)).iloc[0]
    assert v["gbp_per_extra_median"] == 10 and v["p_dominant"] == 0.25 and v["p_no_more_on_time"] == 0.25


def test_each_set_has_one_cost_per_extra_row_per_option():
    from sendmodel.studies.uncertainty.propagate import CE_KPI

    base = {**RANGE, "simulation.horizon_days": 150, "services.therapy.commissioner": "nhs",
            "services.therapy.gbp_per_pa": 300}
    opts = {"today": tiny(base, name="today"), "more": tiny({**base, "services.therapy.pas_per_week": 12}, name="more")}
    _, per_set = compare_uncertain(opts, "today", sets=3, replications=2, seed=1)
    ce = per_set[per_set["kpi"] == CE_KPI]
    assert len(ce) == 3 and ce["set"].tolist() == [0, 1, 2] and (ce["extra_cost"] > 0).all()
