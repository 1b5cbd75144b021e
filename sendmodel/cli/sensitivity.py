"""``sendmodel sensitivity``: Morris screening or Sobol indices of a scenario's uncertain inputs, noise separated."""

from __future__ import annotations

import sys

import pandas as pd

DEFAULT_KPIS = ("advice_within_6w_pct@all", "plans_within_20w_pct@all", "routine_waiting_weeks_per_year@all")


def _kpi(text: str) -> tuple[str, str]:
    import argparse

    from sendmodel.analysis.labels import KPI_UNITS

    kpi, _, service = text.partition("@")
    if kpi not in KPI_UNITS:
        raise argparse.ArgumentTypeError(f"unknown KPI {kpi!r}; e.g. advice_within_6w_pct@all or "
                                         "routine_wait_median_weeks@slt")
    return kpi, service or "all"


def _power_of_two(text: str) -> int:
    import argparse

    from sendmodel.cli.options import positive_int

    v = positive_int(text)
    if v < 2 or v & (v - 1):
        raise argparse.ArgumentTypeError(f"must be a power of 2, at least 2 (got {text!r}), e.g. 64")
    return v


def _interval(value: pd.Series, half: pd.Series) -> list[str]:
    return [f"{v:.2f} [{v - h:.2f}, {v + h:.2f}]" for v, h in zip(value, half)]


def _verdict(ind: pd.DataFrame) -> pd.Series:
    return ind["above_noise"].map({True: "moves it", False: "not told apart from noise"})


def _morris(args, sc, kpis, progress):
    from sendmodel.studies.uncertainty.sensitivity import morris, plot

    print(f"Morris screening of {len(sc.uncertain_inputs)} uncertain inputs, {args.trajectories} trajectories, "
          f"{args.reps} replications a point (common random numbers), seed {args.seed} ...", file=sys.stderr)
    ind, points = morris(sc, kpis, trajectories=args.trajectories, replications=args.reps, seed=args.seed,
                         workers=args.workers, progress=progress)
    show = ind.assign(verdict=_verdict(ind))
    show = show[["label", "service", "input", "mu_star", "mu_star_conf", "sigma", "noise_floor", "verdict"]].round(2)
    return ind, points, show, plot, {"trajectories": args.trajectories}


def _sobol(args, sc, kpis, progress):
    from sendmodel.studies.uncertainty.sensitivity import plot_sobol, sobol

    d = len(sc.uncertain_inputs)
    n = args.samples * (d + 2)
    print(f"Sobol indices of {d} uncertain inputs, {args.samples} base samples: {n} points x {args.reps} "
          f"replications = {n * args.reps} model runs, and {args.reps} at the central point (common random "
          f"numbers), seed {args.seed} ...", file=sys.stderr)
    ind, points = sobol(sc, kpis, samples=args.samples, replications=args.reps, seed=args.seed,
                        workers=args.workers, progress=progress)
    return ind, points, _show_sobol(ind), plot_sobol, {"samples": args.samples}


def _show_sobol(ind: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"label": ind["label"], "service": ind["service"], "input": ind["input"],
                         "S1 [CI]": _interval(ind["S1"], ind["S1_conf"]),
                         "ST [CI]": _interval(ind["ST"], ind["ST_conf"]),
                         "noise share": ind["noise_share"].round(3), "verdict": _verdict(ind)})


def _from_sweep(args, kpis):
    """Sobol indices from a sweep store whose spec (``args.scenario``) has design: sobol."""
    from sendmodel.cli.options import CliError
    from sendmodel.studies.sweep.spec import SobolSpec, load_sweep_spec
    from sendmodel.studies.sweep.store import load_sweep, sweep_meta
    from sendmodel.studies.uncertainty.sensitivity import plot_sobol, sobol_from_sweep

    sweep = load_sweep_spec(args.scenario)
    if not isinstance(sweep.spec, SobolSpec):
        raise CliError(f"--sweep needs a sweep spec with design: sobol; {args.scenario} has design: "
                       f"{sweep.spec.design}")
    try:
        meta = sweep_meta(args.sweep)
    except FileNotFoundError:
        raise CliError(f"--sweep {args.sweep}: no sweep store there; fill it first with `sendmodel sweep "
                       f"{args.scenario} --out {args.sweep}`") from None
    if meta.get("name") not in (None, sweep.name):
        raise CliError(f"{args.sweep} holds another sweep ({meta.get('name')}), not {sweep.name}")
    print(f"Sobol indices from the sweep store {args.sweep}: {len(sweep.points)} points x "
          f"{sweep.replications} replications, {len(sweep.parameters)} uncertain inputs", file=sys.stderr)
    try:
        ind, points = sobol_from_sweep(sweep, load_sweep(args.sweep), kpis)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    args.seed, args.reps, args.samples = sweep.seed, sweep.replications, sweep.spec.samples
    return sweep.base, ind, points, _show_sobol(ind), plot_sobol, {"samples": sweep.spec.samples,
                                                                   "sweep_store": str(args.sweep)}


def cmd_sensitivity(args) -> int:
    from sendmodel.cli.main import warn
    from sendmodel.cli.options import CliError
    from sendmodel.common.io import atomic_dir, check_output_dir
    from sendmodel.common.manifest import write_manifest
    from sendmodel.scenario.loading import load_scenario

    if args.out:
        check_output_dir(args.out)
    kpis = args.kpi or [_kpi(k) for k in DEFAULT_KPIS]
    if args.sweep:
        if args.method != "sobol":
            raise CliError("--sweep reads Sobol indices from a sweep: give --method sobol")
        sc, ind, points, show, plot, design = _from_sweep(args, kpis)
        method = "sobol"
    else:
        sc = load_scenario(args.scenario)
        warn(args.scenario, sc)
        if not sc.uncertain_inputs:
            raise CliError(f"{args.scenario} gives no field as a range; e.g. p_known: {{uncertain: triangular, "
                           "low: 0.4, mode: 0.55, high: 0.7}")
        method = args.method
        ind, points, show, plot, design = (_sobol if method == "sobol" else _morris)(
            args, sc, kpis, lambda i, n: print(f"  point {i} of {n}", file=sys.stderr, flush=True))
    with pd.option_context("display.width", 250, "display.max_colwidth", 50):
        print(show.to_string(index=False))
    if args.out:
        from sendmodel.analysis.plotting import plt

        with atomic_dir(args.out) as tmp:
            ind.to_csv(tmp / f"{method}.csv", index=False)
            points.to_csv(tmp / f"{method}_points.csv", index=False)
            fig = plot(ind)
            fig.savefig(tmp / f"{method}.png", dpi=110)
            plt.close(fig)
            extra = {} if method == "morris" else {"method": method}  # a Morris manifest as before
            write_manifest(tmp, "sensitivity", command_given=sys.argv, scenario=args.scenario, seed=args.seed,
                           **extra, **design, replications=args.reps, inputs=[u.path for u in sc.uncertain_inputs])
        print(f"\nWrote {method}.csv, {method}_points.csv, {method}.png and manifest.json to {args.out}/")
    return 0


def register(subparsers) -> None:
    from sendmodel.cli.options import add_run_options, positive_int

    p = subparsers.add_parser(
        "sensitivity", help="Morris screening or Sobol indices: which uncertain inputs move each KPI (noise "
        "separated)",
        description="Morris screening (default) or Sobol indices (SALib) of the fields the scenario gives as "
        "ranges: Morris gives mu* of each input for each KPI beside a noise floor, Sobol the first-order (S1) and "
        "total (ST) shares of each KPI's variance beside the noise share; both measure the noise from the "
        "replications at the central point.")
    p.add_argument("scenario")
    add_run_options(p, reps=3)
    p.add_argument("--method", choices=("morris", "sobol"), default="morris",
                   help="morris (screening, default) or sobol (variance shares; many more runs)")
    p.add_argument("--trajectories", type=positive_int, default=10, help="Morris trajectories (default 10)")
    p.add_argument("--samples", type=_power_of_two, default=64,
                   help="Sobol base samples, a power of 2 (default 64): samples x (inputs + 2) points")
    p.add_argument("--kpi", type=_kpi, action="append", help="KPI@service to screen (repeatable; default: "
                   + ", ".join(DEFAULT_KPIS) + ")")
    p.add_argument("--sweep", metavar="STORE",
                   help="with --method sobol: read the runs from this sweep store instead of running them; "
                   "SCENARIO is then the sweep spec (design: sobol) that filled it, e.g. after `sendmodel sweep "
                   "SPEC --out STORE` on every core or a Dask cluster")
    p.add_argument("--out", help="folder for morris.csv (or sobol.csv), morris_points.csv, morris.png and "
                   "manifest.json")
    p.set_defaults(func=cmd_sensitivity)
