"""forecast: the at-risk list of the open EHC cases a scenario starts from (breach forecast).

For each open case: the probability (over replications) that its plan misses 20 weeks and that each service's
advice misses 6 weeks, and when it is expected to finish; most at risk first. The scenario gives its open
cases with ``ehc.open_cases_file`` (a CSV of the LA's case list), ``ehc.open_case_list`` or
``ehc.open_cases`` (counts by stage). Writes at_risk.csv and at_risk.xlsx to --out (all or nothing).
"""

from __future__ import annotations

import argparse
import datetime as dt

import pandas as pd

from sendmodel.cli.options import CliError, add_run_options, int_between

SHOWN = {
    "case_id": "case",
    "stage": "stage",
    "weeks_since_request": "weeks since request",
    "weeks_to_20w_deadline": "weeks to 20-week date",
    "p_plan_late": "P(plan late)",
    "p_any_advice_late": "P(any advice late)",
    "finish_date": "expected finish",
}


def cmd_forecast(args) -> int:
    from sendmodel.analysis.forecast import forecast
    from sendmodel.cli.main import warn
    from sendmodel.common.io import atomic_dir, check_output_dir
    from sendmodel.common.manifest import write_manifest
    from sendmodel.scenario.loading import config_hash, load_scenario

    if args.out:
        check_output_dir(args.out)
    sc = load_scenario(args.scenario)
    warn(args.scenario, sc)
    if sc.ehc is None or not (sc.ehc.open_cases or sc.ehc.open_case_list):
        raise CliError(f"{args.scenario}: no open cases to forecast; give ehc.open_cases_file (a CSV of the "
                       "LA's open cases), ehc.open_case_list or ehc.open_cases")
    table = forecast(sc, args.reps, args.seed, args.workers)
    end = sc.simulation.start_date + dt.timedelta(days=sc.simulation.warm_up_days + sc.simulation.horizon_days)
    print(f"Scenario {sc.name}: {len(table):,} open cases on {sc.simulation.start_date}, {args.reps} "
          f"replications, seed {args.seed}, run to {end}")
    late = table["p_plan_late"]
    print(f"Expected plans issued after 20 weeks among them: {late.sum():.0f} "
          f"({(late >= 0.5).sum():,} cases more likely than not to be late, {(late >= 0.999).sum():,} already "
          "certain: open past 20 weeks, or sure to be)")
    show = table.head(args.top)[list(SHOWN)].rename(columns=SHOWN)
    for c in ("P(plan late)", "P(any advice late)"):
        show[c] = (100 * show[c]).round(0).astype(int).astype(str) + "%"
    print(show.to_string(index=False))
    if len(table) > args.top:
        print(f"... and {len(table) - args.top:,} more (all in the files)")
    if args.out:
        with atomic_dir(args.out) as tmp:
            table.to_csv(tmp / "at_risk.csv", index=False)
            with pd.ExcelWriter(tmp / "at_risk.xlsx") as xl:
                table.to_excel(xl, sheet_name="at risk", index=False)
                pd.DataFrame({"about": [
                    f"Breach forecast for scenario {sc.name}, open cases on {sc.simulation.start_date}",
                    f"{args.reps} replications, seed {args.seed}; probabilities are shares of replications",
                    "p_plan_late: ends in a plan issued after 20 weeks from the request, or none by then",
                    "p_advice_late_<service>: that advice returned more than 6 weeks after the LA asked",
                    "finish_week_mean: weeks from the start date to the case closing, where it closes in the run",
                ]}).to_excel(xl, sheet_name="about", index=False)
            write_manifest(tmp, "forecast", scenario=sc.name, config_hash=config_hash(sc), replications=args.reps,
                           seed=args.seed, open_cases=len(table))
        print(f"\nWrote at_risk.csv and at_risk.xlsx to {args.out}/")
    return 0


def register(sub) -> None:
    p = sub.add_parser("forecast", help="breach forecast: the open cases most at risk of missing 20 weeks",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario")
    add_run_options(p, reps=20)
    p.add_argument("--top", type=int_between(1, 100_000), default=20, help="cases printed (default 20)")
    p.add_argument("--out", help="folder for at_risk.csv and at_risk.xlsx")
    p.set_defaults(func=cmd_forecast)
