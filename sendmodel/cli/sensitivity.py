"""``sendmodel sensitivity``: Morris screening of a scenario's uncertain inputs, noise separated."""

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


def cmd_sensitivity(args) -> int:
    from sendmodel.cli.main import warn
    from sendmodel.cli.options import CliError
    from sendmodel.common.io import atomic_dir, check_output_dir
    from sendmodel.common.manifest import write_manifest
    from sendmodel.scenario.loading import load_scenario
    from sendmodel.studies.uncertainty.sensitivity import morris, plot

    if args.out:
        check_output_dir(args.out)
    sc = load_scenario(args.scenario)
    warn(args.scenario, sc)
    if not sc.uncertain_inputs:
        raise CliError(f"{args.scenario} gives no field as a range; e.g. p_known: {{uncertain: triangular, low: "
                       "0.4, mode: 0.55, high: 0.7}")
    kpis = args.kpi or [_kpi(k) for k in DEFAULT_KPIS]
    print(f"Morris screening of {len(sc.uncertain_inputs)} uncertain inputs, {args.trajectories} trajectories, "
          f"{args.reps} replications a point (common random numbers), seed {args.seed} ...", file=sys.stderr)
    ind, points = morris(sc, kpis, trajectories=args.trajectories, replications=args.reps, seed=args.seed,
                         workers=args.workers,
                         progress=lambda i, n: print(f"  point {i} of {n}", file=sys.stderr, flush=True))
    show = ind.assign(verdict=ind["above_noise"].map({True: "moves it", False: "not told apart from noise"}))
    show = show[["label", "service", "input", "mu_star", "mu_star_conf", "sigma", "noise_floor", "verdict"]]
    with pd.option_context("display.width", 250, "display.max_colwidth", 50):
        print(show.round(2).to_string(index=False))
    if args.out:
        from sendmodel.analysis.plotting import plt

        with atomic_dir(args.out) as tmp:
            ind.to_csv(tmp / "morris.csv", index=False)
            points.to_csv(tmp / "morris_points.csv", index=False)
            fig = plot(ind)
            fig.savefig(tmp / "morris.png", dpi=110)
            plt.close(fig)
            write_manifest(tmp, "sensitivity", command_given=sys.argv, scenario=args.scenario, seed=args.seed,
                           trajectories=args.trajectories, replications=args.reps,
                           inputs=[u.path for u in sc.uncertain_inputs])
        print(f"\nWrote morris.csv, morris_points.csv, morris.png and manifest.json to {args.out}/")
    return 0


def register(subparsers) -> None:
    from sendmodel.cli.options import add_run_options, positive_int

    p = subparsers.add_parser(
        "sensitivity", help="Morris screening: which uncertain inputs move each KPI (noise separated)",
        description="Morris screening (SALib) of the fields the scenario gives as ranges: mu* of each input for "
        "each KPI, with a noise floor measured from the replications at the central point.")
    p.add_argument("scenario")
    add_run_options(p, reps=3)
    p.add_argument("--trajectories", type=positive_int, default=10, help="Morris trajectories (default 10)")
    p.add_argument("--kpi", type=_kpi, action="append", help="KPI@service to screen (repeatable; default: "
                   + ", ".join(DEFAULT_KPIS) + ")")
    p.add_argument("--out", help="folder for morris.csv, morris_points.csv, morris.png and manifest.json")
    p.set_defaults(func=cmd_sensitivity)
