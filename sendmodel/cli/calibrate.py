"""``sendmodel calibrate``: the baseline against the published SEN2 and NHS figures, back-test, and the fit."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def _nested(changes: dict) -> dict:
    out: dict = {}
    for path, value in changes.items():
        node = out
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return out


def format_table(t: pd.DataFrame) -> str:
    """The comparison table as a commissioner reads it."""
    rows = []
    for _, r in t.iterrows():
        ci = "" if pd.isna(r["half_width"]) else f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]"
        tgt = "" if pd.isna(r["target"]) else f"{r['target']:.1f}"
        tol = "" if pd.isna(r["tolerance"]) else f"±{r['tolerance']:.1f}"
        ok = "" if pd.isna(r["within_tolerance"]) else ("yes" if r["within_tolerance"] else "NO")
        rows.append((r["label"], r["unit"] if isinstance(r["unit"], str) else "", tgt, f"{r['model_mean']:.1f}", ci,
                     tol, ok, r["role"]))
    df = pd.DataFrame(rows, columns=["target", "unit", "published", "model mean", "95% CI", "tolerance",
                                     "within?", "role"])
    with pd.option_context("display.max_colwidth", 80, "display.width", 250):
        return df.to_string(index=False)


def cmd_calibrate(args) -> int:
    import yaml

    from sendmodel.analysis.plots import waiting_lists
    from sendmodel.analysis.plotting import plt
    from sendmodel.cli.main import warn
    from sendmodel.common.io import atomic_dir, check_output_dir
    from sendmodel.scenario.loading import load_scenario
    from sendmodel.studies.calibration import backtest as bt_mod
    from sendmodel.studies.calibration import plots
    from sendmodel.studies.calibration.compare import comparable_years, compare
    from sendmodel.studies.calibration.fit import calibrate

    years = comparable_years()
    if args.year not in years:
        print(f"error: --year {args.year}: the SEN2 files in data/ have no complete figures for that year; "
              f"allowed: {years[0]}-{years[-1]}", file=sys.stderr)
        return 2
    check_output_dir(args.out)  # before the runs: never replace a file or someone else's folder
    sc = load_scenario(args.scenario)  # a bad file stops here, before anything is written
    warn(args.scenario, sc)
    final = Path(args.out)
    with atomic_dir(final) as out:  # all or nothing: a failed run leaves the last good folder as it was
        if args.fit:
            print(f"Fitting {args.scenario} to SEN2 {args.year} ({args.fit_reps} replications a point, seed "
                  f"{args.fit_seed}, at most {args.max_evals} evaluations a stage) ...")
            sc, changes = calibrate(sc, replications=args.fit_reps, seed=args.fit_seed, workers=args.workers,
                                    max_evals=args.max_evals)
            (out / "fitted_parameters.yaml").write_text(yaml.safe_dump(changes, sort_keys=False))
            doc = {"extends": str(Path(args.scenario).resolve()), **_nested(changes)}
            (out / "calibrated.yaml").write_text(
                "# The fitted values from `sendmodel calibrate --fit`; copy them into the baseline with the source\n"
                "# 'calibrated to SEN2 2024'.\n" + yaml.safe_dump(doc, sort_keys=False))
            print(f"Fitted values: {final}/fitted_parameters.yaml and {final}/calibrated.yaml (written at the end)")

        table, res = compare(sc, args.year, replications=args.reps, seed=args.seed, workers=args.workers,
                             keep_events=not args.no_plots)
        table.to_csv(out / f"calibration_{args.year}.csv", index=False)
        n_ok = int(table["within_tolerance"].fillna(False).astype(bool).sum())
        n = int(table["within_tolerance"].notna().sum())
        print(f"{sc.name} against published figures for {args.year} ({args.reps} replications, seed {args.seed}): "
              f"{n_ok} of {n} within tolerance")
        print(format_table(table))
        if not args.no_plots:
            for name, fig in ((f"calibration_{args.year}.png", plots.comparison(
                    table, f"{sc.name} against published figures for {args.year} (95% CI)")),
                              (f"issue_time_{args.year}.png", plots.issue_time(table, args.year)),
                              (f"waiting_lists_{args.year}.png", waiting_lists(res))):
                fig.savefig(out / name, dpi=110)
                plt.close(fig)
        if args.backtest:
            print(f"\nBack-test: published demand of {list(bt_mod.BACKTEST_YEARS)} through the 2024 calibration "
                  f"({args.backtest_reps} replications a year) ...")
            bt = bt_mod.backtest(sc, replications=args.backtest_reps, seed=args.seed, workers=args.workers)
            bt.to_csv(out / "backtest.csv", index=False)
            head = bt_mod.headline_table(bt)
            head.to_csv(out / "backtest_headline.csv", index=False)
            with pd.option_context("display.width", 250, "display.max_columns", 30):
                print(head.round(1).to_string(index=False))
            if not args.no_plots:
                fig = plots.backtest(bt)
                fig.savefig(out / "backtest.png", dpi=110)
                plt.close(fig)
        if args.caseload_backtest:
            from sendmodel.studies.calibration.caseload import FIRST, caseload_backtest

            print(f"\nCaseload back-test: plans in force from January {FIRST} with each year's published requests "
                  f"({args.backtest_reps} replications) ...")
            cb = caseload_backtest(sc, replications=args.backtest_reps, seed=args.seed, workers=args.workers)
            cb.to_csv(out / "caseload_backtest.csv", index=False)
            with pd.option_context("display.width", 250, "display.max_columns", 30):
                print(cb.round(1).to_string(index=False))
    print(f"\nWrote tables and plots to {final}/")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate", help="compare a scenario with the published SEN2/NHS figures; back-test; fit",
        description="Run the scenario with a year's published demand and compare its KPIs with that year's DfE "
        "SEN2 figures (and, for 2024, the NHS community-health waiting lists): target, model mean, 95%% CI, "
        "within tolerance. --backtest runs the other years' demand through the 2024 calibration; --fit "
        "re-fits the unpublished parameters (slow).")
    p.add_argument("scenario", nargs="?", default="scenarios/baseline.yaml", help="default scenarios/baseline.yaml")
    from sendmodel.cli.options import add_run_options, int_between, positive_int, seed

    p.add_argument("--year", type=int_between(1900, 2200), default=2024,
                   help="calendar year to compare with (default 2024)")
    add_run_options(p, reps=20)
    p.add_argument("--out", required=True, help="folder for the tables and plots")
    p.add_argument("--backtest", action="store_true", help="also run the back-test years 2019, 2021, 2023, 2025")
    p.add_argument("--caseload-backtest", action="store_true",
                   help="also project the plans in force from January 2019 and each year's published requests, "
                   "against the published Januaries 2020-2025")
    p.add_argument("--backtest-reps", type=positive_int, default=10,
                   help="replications a back-test year (default 10)")
    p.add_argument("--fit", action="store_true", help="re-fit the unpublished parameters first (slow)")
    p.add_argument("--fit-reps", type=positive_int, default=16, help="replications a fit evaluation (default 16)")
    p.add_argument("--fit-seed", type=seed, default=7, help="seed of the fit (default 7; checked with --seed)")
    p.add_argument("--max-evals", type=positive_int, default=24,
                   help="evaluations a fit stage at most (default 24)")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.set_defaults(func=cmd_calibrate)
