"""Sobol indices: the design and analysis recover the Ishigami function's known indices, and simulation noise is
not read as sensitivity (an input the KPI cannot depend on is not told apart from noise), and the command writes
its table and files. The test functions go through the same code as the simulation (``sobol_indices`` with an
evaluator)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sendmodel.cli.main import main
from sendmodel.scenario.uncertain import UncertainInput
from sendmodel.studies.uncertainty.sensitivity import sobol, sobol_indices
from tests.functional.builders import fixed, tiny

KNOWN = "services.therapy.advice.p_known"  # known children get advice from records: it moves advice in 6 weeks
DMO = "ehc.dmo_review_hours.value"  # the DMO's sign-off comes after the advice: it cannot move it
SCENARIO = {"services.therapy.advice.booking_lead_days": fixed(45), "simulation.horizon_days": 200,
            KNOWN: {"uncertain": "triangular", "low": 0.1, "mode": 0.5, "high": 0.9},
            "ehc.dmo_review_hours": {"dist": "fixed", "value": {"uncertain": "uniform", "low": 0.4, "high": 0.6}}}
ADVICE = ("advice_within_6w_pct", "therapy")


def _uniform(names, low=-math.pi, high=math.pi):
    return [UncertainInput(n, "uniform", low, (low + high) / 2, high) for n in names]


def _ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> dict[str, np.ndarray]:
    return {"y": np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])}


def test_the_ishigami_functions_indices_are_recovered_within_their_intervals():
    ind, points = sobol_indices(_uniform(["x1", "x2", "x3"]), _ishigami, samples=1024, seed=0)
    assert len(points) == 1024 * (3 + 2)
    assert points[["x1", "x2", "x3"]].abs().to_numpy().max() <= math.pi
    for col, truth in (("S1", (0.3139, 0.4424, 0.0)), ("ST", (0.5576, 0.4424, 0.2437))):
        est, half = ind[col].to_numpy(), ind[f"{col}_conf"].to_numpy()
        assert (half > 0).all() and (half < 0.1).all()
        assert (np.abs(est - np.array(truth)) <= half + 0.02).all(), (col, est, half)
    assert ind["above_noise"].all() and (ind["noise_share"] == 0).all()  # a deterministic function: no noise


def test_noise_is_not_read_as_sensitivity():
    """y = 10 x1 plus independent noise at every point (the worst case: no common random numbers): x2 does not
    move y, but noise lifts its ST to about the noise share, and it is flagged; x1 stands clear of it."""
    rng = np.random.default_rng(5)
    se = 3.0

    def noisy(x):
        return {"y": 10 * x[:, 0] + rng.normal(0, se, len(x))}

    ind = sobol_indices(_uniform(["x1", "x2"], 0, 1), noisy, samples=256, seed=1, noise_se={"y": se})[0]
    by = ind.set_index("input")
    share = by.loc["x1", "noise_share"]
    assert 0.4 < share < 0.65  # 9 / (9 + 100 / 12) = 0.52
    assert by.loc["x2", "ST"] > 0.2  # noise poses as sensitivity ...
    assert not by.loc["x2", "above_noise"]  # ... and is told apart from it
    assert by.loc["x1", "above_noise"]


def test_samples_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of 2"):
        sobol_indices(_uniform(["x1"]), _ishigami, samples=100)


def test_sobol_on_a_tiny_scenario_flags_the_input_the_kpi_cannot_depend_on():
    sc = tiny(SCENARIO)
    ind, points = sobol(sc, [ADVICE], samples=8, replications=2, seed=2)
    assert len(points) == 8 * (2 + 2) and set(ind["input"]) == {KNOWN, DMO}
    assert np.isfinite(ind[["S1", "S1_conf", "ST", "ST_conf", "noise_share"]].to_numpy()).all()
    by = ind.set_index("input")
    assert by.loc[KNOWN, "above_noise"] and by.loc[KNOWN, "ST"] > 0.5
    assert not by.loc[DMO, "above_noise"] and by.loc[DMO, "ST"] < 0.05
    assert 0 < by.loc[KNOWN, "noise_share"] < 0.2  # the replications do spread, but far less than p_known does
    # the points carry the inputs' values (p_known triangular from 0.1 to 0.9), not their quantiles
    assert points[KNOWN].between(0.1, 0.9).all() and points[DMO].between(0.4, 0.6).all()


def test_the_command(tmp_path, capsys):
    import yaml

    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(tiny(SCENARIO)._raw, sort_keys=False))
    out = tmp_path / "sobol"
    assert main(["sensitivity", str(f), "--method", "sobol", "--samples", "4", "--reps", "2", "--kpi",
                 "advice_within_6w_pct@therapy", "--out", str(out)]) == 0
    text = capsys.readouterr()
    assert "16 points x 2 replications = 32 model runs" in text.err
    assert "S1 [CI]" in text.out and "noise share" in text.out and "not told apart from noise" in text.out
    assert {p.name for p in out.iterdir()} == {"sobol.csv", "sobol_points.csv", "sobol.png", "manifest.json"}
    assert len(pd.read_csv(out / "sobol_points.csv")) == 16
    assert set(pd.read_csv(out / "sobol.csv")["input"]) == {KNOWN, DMO}
    with pytest.raises(SystemExit):
        main(["sensitivity", str(f), "--method", "sobol", "--samples", "6"])  # not a power of 2
    assert "power of 2" in capsys.readouterr().err


def test_the_noise_common_random_numbers_leave_is_measured_without_the_shared_part():
    """Points by replications: y = f(point) + c(replication) + e. The shared c (large) cancels between points,
    so the noise of a point's mean is sd(e) / sqrt(reps), not the central point's whole spread."""
    from sendmodel.studies.uncertainty.sensitivity import crn_noise_se

    rng = np.random.default_rng(3)
    n, reps, sd_e = 400, 4, 0.5
    f = rng.uniform(0, 10, (n, 1))
    c = rng.normal(0, 20, (1, reps))
    y = f + c + rng.normal(0, sd_e, (n, reps))
    est = crn_noise_se(y)
    assert abs(est - sd_e / math.sqrt(reps)) < 0.1 * sd_e / math.sqrt(reps)
    assert y[0].std(ddof=1) / math.sqrt(reps) > 10 * est  # one point's spread over replications holds c too
    assert math.isnan(crn_noise_se(y[:1]))


def test_a_sweep_design_feeds_the_sobol_indices(tmp_path, capsys):
    """A sweep spec with design: sobol stores the Saltelli design's runs (on every core, resumably, as any
    sweep); `sensitivity SPEC --sweep STORE` reads the indices from them: the same as running them directly."""
    import yaml

    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(tiny(SCENARIO)._raw, sort_keys=False))
    spec = tmp_path / "sobol_sweep.yaml"
    spec.write_text("name: sobol_sweep\nbase: base.yaml\ndesign: sobol\nsamples: 4\nreplications: 2\nseed: 3\n")
    store = tmp_path / "s.sqlite"
    out = tmp_path / "from_sweep"
    kpi = ["--kpi", "advice_within_6w_pct@therapy"]
    assert main(["sensitivity", str(spec), "--method", "sobol", "--sweep", str(store)] + kpi) == 2  # no store
    assert main(["sweep", str(spec), "--out", str(store), "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["sensitivity", str(spec), "--method", "sobol", "--sweep", str(store), "--out", str(out)] + kpi) == 0
    assert "16 points x 2 replications" in capsys.readouterr().err
    got = pd.read_csv(out / "sobol.csv")
    direct, _ = sobol(tiny(SCENARIO), [ADVICE], samples=4, replications=2, seed=3)
    cols = ["S1", "S1_conf", "ST", "ST_conf", "noise_share"]
    np.testing.assert_allclose(got[cols].to_numpy(), direct[cols].to_numpy(), rtol=1e-9)
    assert main(["sensitivity", str(spec), "--sweep", str(store)] + kpi) == 2  # --sweep is for sobol
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: ../nowhere.yaml\ndesign: sobol\nsamples: 6\nreplications: 2\nseed: 3\n")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "b.sqlite")]) == 2
    assert "power of 2" in capsys.readouterr().err
