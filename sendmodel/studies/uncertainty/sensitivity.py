"""Global sensitivity of the KPIs to the uncertain inputs: Morris screening and Sobol indices, noise separated.

Both go through one code path: a design over the inputs, an evaluator (a function from an (n, d) array of input
points to a dict of output name -> (n,) array: the simulation's KPI means, or a test function), and SALib's
analysis of each output. Every design point runs the same replications (common random numbers), so points
compare like with like; what noise is left is measured at the central point from its replications' spread.

Morris (Morris 1991; mu* of Campolongo et al. 2007): ``trajectories`` paths of one-at-a-time steps over the
inputs' ranges. An input whose mu* is within what noise alone would give (the noise floor: the mean absolute
elementary effect of a step of pure noise) is not told apart from noise. The floor assumes independent noise at
the two ends of a step; common random numbers make the real noise smaller, so the floor is conservative.

Sobol (Saltelli's design, Sobol'/Jansen estimators; SALib): first-order S1 and total ST shares of the output's
variance, over the inputs' distributions (triangular or uniform), with bootstrap confidence intervals. The noise
of a design point's mean adds to the output's variance as if it were one more input, and a total index is a mean
squared difference between points that differ in one input, so noise alone lifts every ST by up to the noise
share (that variance over the total variance across the design). With common random numbers, replication r at
every point shares one noise term that cancels between points; what is left is the point-by-replication
interaction, measured from every point's replications (the residual of a two-way table, points by replications,
:func:`crn_noise_se`), not from the central point's spread, which would count the shared term too. An input
whose ST less its CI half-width is not above the noise share is not told apart from noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sendmodel.analysis.experiment import run
from sendmodel.analysis.labels import label
from sendmodel.scenario.config import Scenario
from sendmodel.scenario.uncertain import UncertainInput, sobol_design
from sendmodel.scenario.uncertain import unit_problem as _unit

LEVELS = 4

Evaluator = Callable[[np.ndarray], dict[str, np.ndarray]]


def _problem(inputs) -> dict:
    return {"num_vars": len(inputs), "names": [u.path for u in inputs],
            "bounds": [[u.low, u.high] for u in inputs]}


def _points(inputs: Sequence[UncertainInput], x: np.ndarray, y: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({**{u.path: x[:, j] for j, u in enumerate(inputs)}, **y})


def _finite(y: dict[str, np.ndarray]):
    """The outputs with a value at every point (an output missing anywhere is left out)."""
    for name, v in y.items():
        v = np.asarray(v, float)
        if np.isfinite(v).all():
            yield name, v


def morris_indices(inputs: Sequence[UncertainInput], evaluate: Evaluator, trajectories: int = 10, seed: int = 0,
                   noise_se: dict[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Morris screening of ``evaluate`` over the inputs' ranges. ``noise_se`` is each output's standard error of
    a point's mean (none: a deterministic function). Returns (indices per output and input, design points)."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    problem = _problem(inputs)
    x = sample.sample(problem, trajectories, num_levels=LEVELS, seed=seed)
    y = evaluate(x)
    step = LEVELS / (2 * (LEVELS - 1))  # SALib's step, as a share of each range
    out = []
    for name, v in _finite(y):
        res = analyze.analyze(problem, x, v, num_levels=LEVELS, seed=seed)
        se = float((noise_se or {}).get(name, 0.0))
        # SALib's elementary effects are per unit of the input scaled to 0-1 over its range (so mu* is about the
        # change across the whole range). One is a difference of two means over a step: from noise alone its
        # mean absolute value is sqrt(2) se / step x sqrt(2 / pi)
        floor = math.sqrt(2) * se / step * math.sqrt(2 / math.pi)
        for j, u in enumerate(inputs):
            out.append({"output": name, "input": u.path, "mu_star": float(res["mu_star"][j]),
                        "mu_star_conf": float(res["mu_star_conf"][j]), "sigma": float(res["sigma"][j]),
                        "noise_floor": floor, "above_noise": bool(res["mu_star"][j] - res["mu_star_conf"][j] > floor)})
    return pd.DataFrame(out), _points(inputs, x, y)


NoiseSE = dict[str, float] | Callable[[], dict[str, float]] | None


def sobol_indices(inputs: Sequence[UncertainInput], evaluate: Evaluator, samples: int = 64, seed: int = 0,
                  noise_se: NoiseSE = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sobol indices of ``evaluate`` over the inputs' distributions: ``samples`` (a power of 2) base points of
    a scrambled Sobol' sequence, ``samples * (d + 2)`` evaluations. ``noise_se`` as for :func:`morris_indices`.
    Returns (S1, ST and their 95% CI half-widths, the noise share and the verdict per output and input; the
    design points)."""
    from SALib.analyze import sobol as analyze

    d = len(inputs)
    unit = _unit(inputs)
    x = sobol_design(inputs, samples, seed)
    y = evaluate(x)
    if callable(noise_se):  # measured from the design's own replications, after it has run
        noise_se = noise_se()
    out = []
    for name, v in _finite(y):
        noise = float((noise_se or {}).get(name, 0.0)) ** 2
        total = float(np.var(v))
        if np.ptp(v) > 0:
            # SALib uses its seed for the bootstrap only if it is not 0
            res = analyze.analyze(unit, v, calc_second_order=False, seed=seed + 1)
            s = {k: np.asarray(res[k], float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:  # the inputs do not move it at all
            s = {k: np.zeros(d) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        share = noise / total if total > 0 else (math.inf if noise > 0 else 0.0)
        for j, u in enumerate(inputs):
            out.append({"output": name, "input": u.path, **{k: float(a[j]) for k, a in s.items()},
                        "noise_share": share, "above_noise": bool(s["ST"][j] - s["ST_conf"][j] > share)})
    return pd.DataFrame(out), _points(inputs, x, y)


def crn_noise_se(values: np.ndarray) -> float:
    """The standard error of a point's mean that common random numbers leave: ``values`` is points by
    replications (every point on the same replications); the residual of the two-way table (point and
    replication effects taken out) is the noise that differs between points."""
    v = np.asarray(values, float)
    n, r = v.shape
    if n < 2 or r < 2:
        return math.nan
    resid = v - v.mean(axis=1, keepdims=True) - v.mean(axis=0, keepdims=True) + v.mean()
    return math.sqrt(float((resid ** 2).sum()) / ((n - 1) * (r - 1)) / r)


def _output(kpi: str, service: str) -> str:
    return f"{kpi}@{service}"


def simulation(scenario: Scenario, kpis: list[tuple[str, str]], replications: int = 3, seed: int = 0,
               workers: int = 1, progress=None) -> tuple[Evaluator, dict[str, float]]:
    """The scenario as an evaluator over its uncertain inputs (every point on the same replications: common
    random numbers), and each KPI's standard error of the mean at the central point (the noise)."""
    inputs = _inputs(scenario)

    per_rep: list[np.ndarray] = []  # every design point's KPI values by replication (points x KPIs x reps)

    def kpi_stats(sc: Scenario) -> tuple[dict, dict]:
        k = run(sc, replications, seed, workers=workers, keep_events=False).kpis
        g = k.groupby(["kpi", "service"])["value"]
        byrep = k.set_index(["kpi", "service", "replication"])["value"]
        per_rep.append(np.array([[byrep.get((*ks, r), np.nan) for r in sorted(set(k["replication"]))]
                                 for ks in kpis], float))
        return g.mean().to_dict(), g.std(ddof=1).to_dict()

    def evaluate(x: np.ndarray) -> dict[str, np.ndarray]:
        means = []
        per_rep.clear()
        for i, point in enumerate(x):
            m, _ = kpi_stats(scenario.override({u.path: float(v) for u, v in zip(inputs, point)}))
            means.append([m.get(ks, np.nan) for ks in kpis])
            if progress is not None:
                progress(i + 1, len(x))
        a = np.array(means, float).reshape(len(x), len(kpis))
        return {_output(*ks): a[:, j] for j, ks in enumerate(kpis)}

    _, sds = kpi_stats(scenario)  # the noise at the central point
    se = {_output(*ks): float(sds.get(ks, np.nan)) / math.sqrt(replications) for ks in kpis}

    def design_noise() -> dict[str, float]:
        """After the design has run: the noise common random numbers leave between its points."""
        a = np.stack(per_rep)  # points x KPIs x replications
        return {_output(*ks): crn_noise_se(a[:, j, :]) for j, ks in enumerate(kpis)
                if np.isfinite(a[:, j, :]).all()}

    evaluate.design_noise = design_noise  # type: ignore[attr-defined]
    return evaluate, se


def _inputs(scenario: Scenario) -> list[UncertainInput]:
    inputs = list(scenario.uncertain_inputs)
    if not inputs:
        raise ValueError("no uncertain inputs: give fields as ranges, e.g. {uncertain: triangular, low: 0.4, "
                         "mode: 0.55, high: 0.7}")
    return inputs


def _by_kpi(indices: pd.DataFrame, kpis: list[tuple[str, str]], columns: list[str]) -> pd.DataFrame:
    """The generic indices with the output name split back into KPI, service and label."""
    names = {_output(*ks): ks for ks in kpis}
    rows = [{"kpi": names[r["output"]][0], "service": names[r["output"]][1], "label": label(names[r["output"]][0]),
             "input": r["input"], **{c: r[c] for c in columns}} for r in indices.to_dict("records")]
    return pd.DataFrame(rows, columns=["kpi", "service", "label", "input", *columns])


def morris(scenario: Scenario, kpis: list[tuple[str, str]], trajectories: int = 10, replications: int = 3,
           seed: int = 0, workers: int = 1, progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (indices, points): per KPI and input mu*, its confidence, sigma and the noise floor; and every
    design point's inputs and KPI means. ``kpis`` are (kpi, service) pairs."""
    evaluate, se = simulation(scenario, kpis, replications, seed, workers, progress)
    ind, points = morris_indices(_inputs(scenario), evaluate, trajectories, seed, se)
    return _by_kpi(ind, kpis, ["mu_star", "mu_star_conf", "sigma", "noise_floor", "above_noise"]), points


def sobol(scenario: Scenario, kpis: list[tuple[str, str]], samples: int = 64, replications: int = 3,
          seed: int = 0, workers: int = 1, progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (indices, points): per KPI and input S1 and ST with their 95% CI half-widths, the noise share and
    whether the input is told apart from noise; and every design point's inputs and KPI means."""
    evaluate, _ = simulation(scenario, kpis, replications, seed, workers, progress)
    ind, points = sobol_indices(_inputs(scenario), evaluate, samples, seed, evaluate.design_noise)
    return _by_kpi(ind, kpis, ["S1", "S1_conf", "ST", "ST_conf", "noise_share", "above_noise"]), points


def sobol_from_sweep(sweep, frame: pd.DataFrame, kpis: list[tuple[str, str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sobol indices from a finished sweep whose spec has ``design: sobol`` (``sweep``: the loaded spec,
    ``frame``: its store as :func:`~sendmodel.studies.sweep.store.load_sweep` gives it): the same design, the
    stored runs in place of new ones, the noise from the stored replications."""
    inputs = _inputs(sweep.base)
    x = sobol_design(inputs, sweep.spec.samples, sweep.seed)
    n, reps = len(x), sweep.replications
    have = frame.groupby("point")["replication"].nunique()
    if len(have) != n or (have < reps).any():
        raise ValueError(f"the sweep is not finished: {int((have >= reps).sum())} of {n} points have all "
                         f"{reps} replications; run the same sendmodel sweep command again to finish it")
    per_rep = {}
    for ks in kpis:
        g = frame[(frame["kpi"] == ks[0]) & (frame["service"] == ks[1])]
        per_rep[_output(*ks)] = (g.pivot_table(index="point", columns="replication", values="value")
                                 .reindex(index=range(n)).to_numpy(float))

    def evaluate(points: np.ndarray) -> dict[str, np.ndarray]:
        if points.shape != x.shape or not np.allclose(points, x, rtol=1e-12, atol=0):
            raise ValueError("the stored points are not this spec's Sobol design")
        return {name: a.mean(axis=1) for name, a in per_rep.items()}

    def noise() -> dict[str, float]:
        return {name: crn_noise_se(a) for name, a in per_rep.items() if np.isfinite(a).all()}

    ind, points = sobol_indices(inputs, evaluate, sweep.spec.samples, sweep.seed, noise)
    return _by_kpi(ind, kpis, ["S1", "S1_conf", "ST", "ST_conf", "noise_share", "above_noise"]), points


def _short_input(path: str) -> str:
    """An input's label on a plot: a service's field as the service and the field
    ('services.community_paediatrics.advice.p_known' -> 'community_paediatrics p_known'), else the path (its
    last two parts when long)."""
    parts = path.split(".")
    if parts[0] == "services" and len(parts) > 2:
        return f"{parts[1]} {parts[-1]}"
    return path if len(path) <= 28 else ".".join(parts[-2:])


def _panels(indices: pd.DataFrame, xlabel: str, draw):
    """One panel per KPI, inputs down the side; ``draw(ax, y, g)`` draws a KPI's bars."""
    from sendmodel.analysis.plotting import plt

    groups = list(indices.groupby(["kpi", "service"], sort=False))
    fig, axes = plt.subplots(1, max(len(groups), 1), figsize=(4.2 * max(len(groups), 1), 3.2), squeeze=False)
    for ax, ((k, s), g) in zip(axes[0], groups):
        y = np.arange(len(g))
        draw(ax, y, g)
        ax.set_yticks(y, [_short_input(p) for p in g["input"]], fontsize=7)
        ax.set_title(f"{label(k)} ({s})", fontsize=8)
        ax.set_xlabel(xlabel, fontsize=7)
    fig.tight_layout()
    return fig


def plot(indices: pd.DataFrame):
    """One panel per KPI: mu* of each input with its confidence, and the noise floor (dashed)."""
    def draw(ax, y, g):
        ax.barh(y, g["mu_star"], xerr=g["mu_star_conf"], color=["tab:blue" if a else "grey"
                                                                for a in g["above_noise"]])
        for yi, f in zip(y, g["noise_floor"]):
            ax.plot([f, f], [yi - 0.4, yi + 0.4], "k--", lw=1)

    return _panels(indices, "mu*: change across the input's range; dashed: noise floor", draw)


def plot_sobol(indices: pd.DataFrame):
    """One panel per KPI: S1 and ST of each input with their CIs (ST grey when not told apart from noise), and
    the noise share (dashed)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    def draw(ax, y, g):
        ax.barh(y + 0.2, g["S1"], height=0.4, xerr=g["S1_conf"], color="tab:orange")
        ax.barh(y - 0.2, g["ST"], height=0.4, xerr=g["ST_conf"],
                color=["tab:blue" if a else "grey" for a in g["above_noise"]])
        share = float(g["noise_share"].iloc[0])
        if math.isfinite(share):
            ax.axvline(share, color="k", ls="--", lw=1)
        ax.legend(handles=[Patch(color="tab:orange", label="S1"), Patch(color="tab:blue", label="ST"),
                           Patch(color="grey", label="ST, not told apart from noise"),
                           Line2D([], [], color="k", ls="--", lw=1, label="noise share")], fontsize=6)

    return _panels(indices, "share of the KPI's variance; dashed: noise share", draw)
