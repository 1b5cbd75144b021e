"""``sendmodel business-case``: the DMO/DCO resource business case as an Excel workbook and an HTML report."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from sendmodel.cli.options import add_run_options, int_between, population, positive_float

HELP = "PAs needed to meet targets, beside BACD/BACCH and today's PAs, costed by commissioner (Excel + HTML)"


def register(subparsers) -> None:
    from sendmodel.studies.business_case.standards import (
        DEFAULT_ADVICE_PCT,
        DEFAULT_DMO_WORKING_DAYS,
        DEFAULT_HEALTH_PCT,
        DEFAULT_ROUTINE,
        ROUTINE_CHOICES,
        ROUTINE_KPI,
        ROUTINE_STANDARD_WEEKS,
        TODAY_TOLERANCE,
    )
    from sendmodel.studies.capacity.solver import DEFAULT_STEP_PAS

    p = subparsers.add_parser("business-case", help=HELP, description=HELP)
    p.add_argument("scenario", help="today's commissioning, e.g. scenarios/baseline.yaml")
    p.add_argument("--population", type=population, help="children aged 0-17 (default: the scenario's)")
    p.add_argument(
        "--target", action="append", metavar="[LEVER:]KPI[@SERVICE]>=X",
        help="a target to solve for (repeat for several; replaces the defaults). LEVER: dmo, health, a service, or "
             "services joined by +; left out, it follows the KPI (dmo_* -> dmo, @service -> that service, else "
             "health). X may be 'today': today's level. "
             f"Default: dmo:dmo_signoff_median_working_days<={DEFAULT_DMO_WORKING_DAYS:g}; for each health service "
             f"S, S:advice_within_6w_pct@S>={DEFAULT_ADVICE_PCT:g} (see --advice-pct) and "
             f"S:{ROUTINE_KPI}@S<=today (see --routine); health:advice_within_6w_pct>={DEFAULT_HEALTH_PCT:g}",
    )
    p.add_argument("--advice-pct", type=positive_float, default=DEFAULT_ADVICE_PCT, metavar="PCT",
                   help="default targets: each health service's advice within 6 weeks, at least PCT%% "
                        f"(default {DEFAULT_ADVICE_PCT:g})")
    p.add_argument("--routine", choices=ROUTINE_CHOICES, default=DEFAULT_ROUTINE,
                   help="default targets: each health service's median routine wait held at today's "
                        f"(plus {TODAY_TOLERANCE:g} week) with 'today', at the {ROUTINE_STANDARD_WEEKS:g}-week "
                        f"standard with '18w', or not held with 'none' (default {DEFAULT_ROUTINE})")
    p.add_argument("--price-year", type=int_between(1990, 2100), metavar="YEAR",
                   help="the year the scenario's unit costs are priced at (default: not stated)")
    p.add_argument("--cost-year", type=int_between(1990, 2100), metavar="YEAR",
                   help="the year to cost in: unit costs uplifted from --price-year by --pay-uplift-pct "
                        "(default: as priced)")
    p.add_argument("--pay-uplift-pct", type=float, default=0.0, metavar="PCT",
                   help="pay uplift a year between the two years, %% (default 0)")
    p.add_argument("--confidence", choices=["ci", "mean"], default="ci",
                   help="ci: the 95%% CI bound on the safe side must meet the target; mean: the mean must "
                        "(default ci)")
    p.add_argument("--options", help="folder of option scenarios to compare (default: options/ beside SCENARIO)")
    p.add_argument("--no-options", action="store_true", help="compare only today and the plan")
    add_run_options(p, workers_default=None,
                    reps_help="replications for today, the plan and each option, and the most at a PA level (a "
                              "level that clearly misses its target, or clearly meets it above the answer, is "
                              "decided on fewer) (default 10)")
    p.add_argument("--step", type=positive_float,
                   help=f"PA grid, PAs a week (default {DEFAULT_STEP_PAS:g}; one clinician on the always_open "
                        "calendar)")
    p.add_argument("--input-sets", type=int_between(0, 200), default=0, metavar="N",
                   help="with fields given as ranges (uncertain inputs): solve every target again at N parameter "
                        "sets (seeded Latin hypercube) and report each lever's PAs at the 90th percentile of the "
                        "inputs; N times the solver's runs (default 0: the central values only)")
    p.add_argument("--by-year", action="store_true",
                   help="on a run of several years (e.g. scenarios/from_today.yaml): also solve each financial "
                        "year in turn, each year's added PAs from its 1 April and judged on that year alone; the "
                        "cost by year then prices that plan (about as many runs again for each year)")
    p.add_argument("--out", required=True, help="folder for business_case.xlsx, business_case.html and plots")
    p.set_defaults(func=run)


def _same_system(a, b) -> bool:
    strip = lambda sc: {k: v for k, v in sc.model_dump(mode="json").items() if k not in ("name", "description")}  # noqa: E731
    return strip(a) == strip(b)


def run(args) -> int:
    from sendmodel.cli.main import warn
    from sendmodel.common.io import check_output_dir
    from sendmodel.scenario.loading import load_scenario
    from sendmodel.studies.business_case.case import business_case

    check_output_dir(args.out)  # before the runs: never replace a file or someone else's folder
    sc = load_scenario(args.scenario)
    warn(args.scenario, sc)
    options = {}
    if not args.no_options:
        folder = Path(args.options) if args.options else Path(args.scenario).parent / "options"
        if args.options and not folder.is_dir():
            print(f"error: --options {folder}: not a folder", file=sys.stderr)
            return 2
        for f in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            o = load_scenario(f)
            warn(f, o)
            if _same_system(o, sc):
                print(f"option {o.name} ({f}) is the same system as {sc.name}: shown as 'today'")
                continue
            options[o.name] = o
    if args.input_sets and not sc.uncertain_inputs:
        print(f"error: --input-sets needs fields given as ranges in {args.scenario}, e.g. p_known: "
              "{uncertain: triangular, low: 0.4, mode: 0.55, high: 0.7}", file=sys.stderr)
        return 2
    print(f"Business case for {sc.name}: population "
          f"{args.population if args.population is not None else sc.population:,.0f} children 0-17, "
          f"up to {args.reps} replications per PA level, seed {args.seed}")
    try:
        bc = business_case(sc, args.population, args.target, options=options, replications=args.reps,
                           seed=args.seed, confidence=args.confidence, step=args.step, workers=args.workers,
                           progress=lambda m: print(m, flush=True), advice_pct=args.advice_pct,
                           routine=args.routine, price_year=args.price_year, cost_year=args.cost_year,
                           pay_uplift_pct=args.pay_uplift_pct, input_sets=args.input_sets, by_year=args.by_year)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bc.settings["command"] = "sendmodel " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else ""
    paths = bc.to_dir(args.out)

    import pandas as pd

    s = bc.summary[["lever_label", "benchmark", "pas_per_week", "wte", "gbp_per_year", "note"]].copy()
    s["gbp_per_year"] = s["gbp_per_year"].map(lambda v: "" if pd.isna(v) else f"£{v:,.0f}")
    s["pas_per_week"] = s["pas_per_week"].map(lambda v: "not reachable" if pd.isna(v) else f"{v:.1f}")
    s["wte"] = s["wte"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    s["note"] = s["note"].fillna("").str.slice(0, 60)
    s["benchmark"] = s["benchmark"].map(lambda b: b if len(b) <= 48 else b[:47] + "…")
    print()
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(s.rename(columns={"lever_label": "lever", "pas_per_week": "PAs a week", "gbp_per_year": "GBP a year"})
              .to_string(index=False))
    if bc.by_year is not None:
        y = bc.by_year[["financial_year", "lever_label", "ehc_requests", "pas_per_week_at_start",
                        "pas_per_week_needed", "extra_pas_per_week_this_year"]].copy()
        y["ehc_requests"] = y["ehc_requests"].map(lambda v: f"{v:,.0f}")
        for c in ("pas_per_week_at_start", "pas_per_week_needed", "extra_pas_per_week_this_year"):
            y[c] = y[c].map(lambda v: "not reachable" if pd.isna(v) else f"{v:.1f}")
        print("\nPAs by year (each year solved on its own KPIs, its added PAs from its 1 April):")
        print(y.rename(columns={"financial_year": "year", "lever_label": "lever", "ehc_requests": "EHC requests",
                                "pas_per_week_at_start": "PAs in post", "pas_per_week_needed": "PAs needed",
                                "extra_pas_per_week_this_year": "added"}).to_string(index=False))
    for name, chk in bc.capacity.items():  # a figure of a queue that never clears is said to be one
        print(f"\nCapacity, {name}: {chk.brief()}")
    print(f"\nSolver: {int(bc.targets['levels_run'].sum())} PA levels judged on {int(bc.targets['runs'].sum())} "
          f"replications, {int(bc.targets['simulated'].sum())} of them simulated (the rest shared between targets); "
          f"comparison: {len(bc.options['option'].unique())} scenarios x {args.reps} replications; simulated in "
          f"all: {bc.settings['replications_simulated']} replications")
    for pth in paths.values():
        print(f"wrote {pth}")
    return 0
