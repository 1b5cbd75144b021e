"""Morris screening of the uncertain inputs: which of them move each KPI, with the simulation noise separated.

The design and the indices are SALib's (Morris 1991; mu* of Campolongo et al. 2007): ``trajectories`` paths of
one-at-a-time steps over the inputs' ranges. Every point runs the same replications (common random numbers), so
an elementary effect compares like with like; what noise is left is measured at the central point (its
replications' spread), and an input whose mu* is within what that noise alone would give (the noise floor:
the mean absolute elementary effect of a step of pure noise) is said to be not told apart from noise. The
floor assumes independent noise at the two ends of a step; common random numbers make the real noise smaller,
so the floor is conservative.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sendmodel.analysis.experiment import run
from sendmodel.analysis.labels import label
from sendmodel.scenario.config import Scenario

LEVELS = 4


def _problem(inputs) -> dict:
    return {"num_vars": len(inputs), "names": [u.path for u in inputs],
            "bounds": [[u.low, u.high] for u in inputs]}


def morris(scenario: Scenario, kpis: list[tuple[str, str]], trajectories: int = 10, replications: int = 3,
           seed: int = 0, workers: int = 1, progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (indices, points): per KPI and input mu*, its confidence, sigma and the noise floor; and every
    design point's inputs and KPI means. ``kpis`` are (kpi, service) pairs."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    inputs = list(scenario.uncertain_inputs)
    if not inputs:
        raise ValueError("no uncertain inputs: give fields as ranges, e.g. {uncertain: triangular, low: 0.4, "
                         "mode: 0.55, high: 0.7}")
    problem = _problem(inputs)
    x = sample.sample(problem, trajectories, num_levels=LEVELS, seed=seed)

    def kpi_means(sc: Scenario) -> tuple[dict, dict]:
        k = run(sc, replications, seed, workers=workers, keep_events=False).kpis
        g = k.groupby(["kpi", "service"])["value"]
        return g.mean().to_dict(), g.std(ddof=1).to_dict()

    rows = []
    for i, point in enumerate(x):
        means, _ = kpi_means(scenario.override({u.path: float(v) for u, v in zip(inputs, point)}))
        rows.append({**{u.path: float(v) for u, v in zip(inputs, point)},
                     **{f"{k}@{s}": means.get((k, s), np.nan) for k, s in kpis}})
        if progress is not None:
            progress(i + 1, len(x))
    points = pd.DataFrame(rows)
    _, sds = kpi_means(scenario)  # the noise at the central point
    step = LEVELS / (2 * (LEVELS - 1))  # SALib's step, as a share of each range
    out = []
    for k, s in kpis:
        y = points[f"{k}@{s}"].to_numpy(float)
        if not np.isfinite(y).all():
            continue
        res = analyze.analyze(problem, x, y, num_levels=LEVELS, seed=seed)
        se = float(sds.get((k, s), np.nan)) / math.sqrt(replications)
        for j, u in enumerate(inputs):
            # SALib's elementary effects are per unit of the input scaled to 0-1 over its range (so mu* is about
            # the change across the whole range). One is a difference of two means over a step: from noise alone
            # its mean absolute value is sqrt(2) se / step x sqrt(2 / pi)
            floor = math.sqrt(2) * se / step * math.sqrt(2 / math.pi)
            out.append({"kpi": k, "service": s, "label": label(k), "input": u.path,
                        "mu_star": float(res["mu_star"][j]), "mu_star_conf": float(res["mu_star_conf"][j]),
                        "sigma": float(res["sigma"][j]), "noise_floor": floor,
                        "above_noise": bool(res["mu_star"][j] - res["mu_star_conf"][j] > floor)})
    return pd.DataFrame(out), points


def plot(indices: pd.DataFrame):
    """One panel per KPI: mu* of each input with its confidence, and the noise floor (dashed)."""
    from sendmodel.analysis.plotting import plt

    groups = list(indices.groupby(["kpi", "service"], sort=False))
    fig, axes = plt.subplots(1, max(len(groups), 1), figsize=(4.2 * max(len(groups), 1), 3.2), squeeze=False)
    for ax, ((k, s), g) in zip(axes[0], groups):
        y = np.arange(len(g))
        ax.barh(y, g["mu_star"], xerr=g["mu_star_conf"], color=["tab:blue" if a else "grey"
                                                                for a in g["above_noise"]])
        for yi, f in zip(y, g["noise_floor"]):
            ax.plot([f, f], [yi - 0.4, yi + 0.4], "k--", lw=1)
        ax.set_yticks(y, [p.split(".")[-1] if len(p) > 28 else p for p in g["input"]], fontsize=7)
        ax.set_title(f"{label(k)} ({s})", fontsize=8)
        ax.set_xlabel("mu*: change across the input's range; dashed: noise floor", fontsize=7)
    fig.tight_layout()
    return fig
