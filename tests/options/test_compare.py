"""Paired comparison on common random numbers: the table, Fieller's ratio, replications, and the CLI."""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sendmodel
from sendmodel.analysis.compare import fieller_ratio, paired_table, replications_for, run_comparison
from tests.conftest import ROOT
from tests.options.conftest import OPTIONS, SHORT


def _frame(values: dict[str, list[float]], kpi="advice_within_6w_pct") -> pd.DataFrame:
    rows = [(opt, r, kpi, "all", v) for opt, vs in values.items() for r, v in enumerate(vs)]
    return pd.DataFrame(rows, columns=["scenario", "replication", "kpi", "service", "value"])


def test_paired_table_matches_a_paired_t_interval():
    base = [70.0, 72.0, 69.0, 75.0, 71.0]
    opt = [74.0, 75.5, 73.0, 80.0, 74.0]
    t = paired_table(_frame({"base": base, "opt": opt}), "base").set_index("option")
    d = np.subtract(opt, base)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
    assert t.loc["opt", "diff"] == pytest.approx(d.mean())
    assert t.loc["opt", "diff_ci_low"] == pytest.approx(d.mean() - half)
    assert t.loc["opt", "diff_ci_high"] == pytest.approx(d.mean() + half)
    assert t.loc["opt", "mean"] == pytest.approx(np.mean(opt))
    assert bool(t.loc["opt", "ci_excludes_zero"]) and t.loc["opt", "verdict"] == "better"
    assert t.loc["base", "diff"] == 0 and t.loc["base", "verdict"] == ""


def test_paired_table_skips_missing_pairs_and_says_no_clear_difference():
    t = paired_table(_frame({"base": [1.0, 2.0, np.nan, 4.0], "opt": [1.5, 1.0, 3.0, 4.2]}), "base")
    r = t.set_index("option").loc["opt"]
    assert r["n"] == 3, f"the pair with a missing value should be left out (n = {r['n']})"
    assert r["verdict"] == "no clear difference"


def test_fieller_ratio_with_a_fixed_extra_cost():
    """With the cost difference the same in every replication, the interval is cost / (effect -+ t se)."""
    effect = np.array([100.0, 120.0, 90.0, 110.0, 105.0])
    cost = np.full(5, 50_000.0)
    ratio, lo, hi = fieller_ratio(cost, effect)
    se = effect.std(ddof=1) / math.sqrt(5)
    t = stats.t.ppf(0.975, 4)
    assert ratio == pytest.approx(50_000 / effect.mean())
    assert lo == pytest.approx(50_000 / (effect.mean() + t * se))
    assert hi == pytest.approx(50_000 / (effect.mean() - t * se))


def test_fieller_ratio_is_unbounded_when_the_gain_is_not_clear():
    ratio, lo, hi = fieller_ratio(np.full(4, 1000.0), np.array([5.0, -4.0, 3.0, -2.0]))
    assert math.isnan(lo) and math.isnan(hi), f"expected no interval, got [{lo}, {hi}]"


def test_replications_for_shrinks_with_root_n():
    assert replications_for(0.8, 10, 1.0) == 10
    m = replications_for(2.0, 10, 1.0)
    assert 28 <= m <= 50, f"halving a half-width needs about 4x the replications (got {m} from 10)"


def test_an_option_identical_to_the_baseline_differs_by_exactly_zero(baseline):
    same = sendmodel.load_scenario(OPTIONS / "status_quo.yaml").override(SHORT)
    base = baseline.override(SHORT)
    t = sendmodel.compare({"baseline": base, "status_quo": same}, baseline="baseline", replications=3, seed=5)
    r = t[(t["option"] == "status_quo") & t["diff"].notna()]
    assert len(r) > 50
    # a CI is undefined (NaN) where only one replication has the KPI (a band with no requests in the others)
    ci_low, ci_high = r["diff_ci_low"], r["diff_ci_high"]
    nonzero = r[(r["diff"] != 0) | (ci_low.notna() & (ci_low != 0)) | (ci_high.notna() & (ci_high != 0))]
    assert nonzero.empty, f"expected exactly zero differences, got:\n{nonzero[['kpi', 'service', 'diff']]}"
    assert not r["ci_excludes_zero"].any()
    assert t.attrs["replications"] == 3 and t.attrs["seed"] == 5


@pytest.mark.slow
def test_common_random_numbers_make_paired_cis_narrower_than_independent_runs(options):
    """extra_pas against status_quo on % advice within 6 weeks: same seed (CRN) against another seed."""
    base = options["status_quo"].override(SHORT)
    opt = options["extra_pas"].override(SHORT)
    n = 10
    crn = run_comparison({"status_quo": base, "extra_pas": opt}, "status_quo", n, seed=7).table
    indep_kpis = pd.concat([
        sendmodel.run(base, n, seed=7, keep_events=False).kpis,
        sendmodel.run(opt, n, seed=7 + 10_000, keep_events=False).kpis,  # independent streams, paired by index
    ])
    indep = paired_table(indep_kpis, "status_quo")

    def hw(t):
        return float(t[(t["option"] == "extra_pas") & (t["kpi"] == "advice_within_6w_pct")
                       & (t["service"] == "all")]["diff_half_width"].iloc[0])

    h_crn, h_ind = hw(crn), hw(indep)
    assert h_crn < 0.75 * h_ind, (
        f"expected the CRN paired half-width to be well under the independent one: CRN {h_crn:.2f} vs "
        f"independent {h_ind:.2f} percentage points with {n} replications"
    )


def test_reps_auto_adds_replications_until_the_precision_is_met(options):
    opts = {n: options[n].override(SHORT) for n in ("status_quo", "spa_triage")}
    c = run_comparison(opts, "status_quo", "auto", seed=3, precision=3.0, min_replications=3, max_replications=12)
    assert c.history[0][0] == 3
    assert c.replications == c.history[-1][0]
    assert all(b > a for (a, _), (b, _) in zip(c.history, c.history[1:])), c.history
    assert c.precision_met == (c.half_width <= 3.0)
    assert c.precision_met or c.replications == 12, f"stopped at {c.replications} without meeting the precision"
    assert set(c.kpis["replication"]) == set(range(c.replications))


def test_reps_auto_stops_at_the_cap_and_says_so(options):
    opts = {n: options[n].override(SHORT) for n in ("status_quo", "spa_triage")}
    c = run_comparison(opts, "status_quo", "auto", seed=3, precision=1e-6, min_replications=2, max_replications=3)
    assert c.replications == 3 and c.precision_met is False
    assert "NOT within the precision" in c.summary_text()


def test_cli_compare_prints_table_and_writes_csv_and_plots(tmp_path):
    files = []
    for n in ("status_quo", "reserved_slots"):
        f = tmp_path / f"{n}.yaml"
        f.write_text(f"extends: {OPTIONS / (n + '.yaml')}\nsimulation: {{warm_up_days: 30, horizon_days: 90}}\n")
        files.append(str(f))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "sendmodel", "compare", *files, "--baseline", "status_quo", "--reps",
                        "2", "--precision", "1", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "2 replications per option" in r.stdout and "Who pays" in r.stdout, r.stdout
    assert "reserved_slots" in r.stdout and "difference [95% CI]" in r.stdout
    for f in ("comparison.csv", "value_for_money.csv", "kpis.csv", "manifest.json", "comparison_kpis.png",
              "cost_vs_within_6w.png", "who_pays.png"):
        assert (out / f).exists(), f"{f} was not written"
    table = pd.read_csv(out / "comparison.csv")
    assert {"option", "kpi", "mean", "diff", "diff_ci_low", "diff_ci_high", "ci_excludes_zero"} <= set(table.columns)
    assert "cost_per_extra_advice_within_6w_gbp" in set(table["kpi"])


def test_cli_compare_rejects_auto_without_precision_and_unknown_baseline(tmp_path):
    f = str(OPTIONS / "status_quo.yaml")
    r = subprocess.run([sys.executable, "-m", "sendmodel", "compare", f, "--baseline", "status_quo", "--reps", "auto"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "--precision" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "sendmodel", "compare", f, "--baseline", "nope"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "nope" in r.stderr and "Traceback" not in r.stderr, r.stderr
