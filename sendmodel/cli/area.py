"""``sendmodel area "Newcastle upon Tyne" --population 58000 --out scenarios/newcastle.yaml``: a local baseline.

Writes a scenario that extends the national baseline with the LA's published SEN2 demand and its LA-side delays
calibrated to the LA's published timeliness, then prints (and writes beside it) the benchmark table: the LA
against its region and England on each published figure, and the model's prediction with its 95% CI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sendmodel.common.paths import SOURCE_ROOT


def _list() -> int:
    from sendmodel.studies.area.figures import las

    t = las()
    for _, r in t.iterrows():
        print(f"{r['old_la_code']:>4}  {r['new_la_code']}  {r['la_name']}  ({r['region_name']})")
    print(f"\n{len(t)} local authorities (DfE SEN2); give the name or either code to `sendmodel area`")
    return 0


def _check(args) -> int:
    """The local baseline against several LAs' published figures, and a back-test (docs/area.md)."""
    import pandas as pd

    from sendmodel.scenario.loading import load_scenario
    from sendmodel.studies.area.check import check_areas

    out = Path(args.out or "results/area_check.csv")
    table = check_areas(args.check, load_scenario(args.base), args.year, args.reps, args.check_reps,
                        workers=args.workers, progress=lambda la: print(f"... {la}", file=sys.stderr, flush=True))
    from sendmodel.common.io import atomic_write_text

    atomic_write_text(out, table.to_csv(index=False))
    with pd.option_context("display.width", 200):
        print(table.drop(columns=["notes"]).to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    within = (table["error"].abs() <= 3.0).mean()
    print(f"\n{within:.0%} of the figures within 3 percentage points; mean absolute error by test:")
    print(table.groupby(["test", "kpi"])["error"].apply(lambda e: e.abs().mean()).round(1).to_string())
    print(f"Wrote {out}")
    return 0


def cmd_area(args) -> int:
    from sendmodel.studies.area.figures import AreaError, find_la

    if args.list:
        return _list()
    if args.check:
        return _check(args)
    if not args.la:
        print("error: name the local authority (or use --list)", file=sys.stderr)
        return 2
    if not args.out:
        print("error: --out FILE.yaml is required (where to write the local scenario)", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.suffix.lower() not in (".yaml", ".yml") or out.is_dir():
        print(f"error: --out {out}: give a .yaml file to write the scenario to", file=sys.stderr)
        return 2
    try:
        la = find_la(args.la)
        from sendmodel.studies.area.local import check_population

        pop = check_population(args.population, la["la_name"])
    except AreaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import pandas as pd
    from tqdm import tqdm

    from sendmodel.scenario.loading import load_scenario
    from sendmodel.studies.area.local import benchmark, local_baseline

    base = load_scenario(args.base)
    print(f"{la['la_name']} ({la['old_la_code']}, {la['new_la_code']}, {la['region_name']}): {pop:,.0f} children "
          f"aged 0-17, SEN2 {args.year}")
    bar = tqdm(total=60, desc="calibrating", unit="run", disable=args.no_progress, file=sys.stderr)

    def log(msg: str) -> None:
        if msg.lstrip().startswith("["):
            bar.update(1)

    try:
        lb = local_baseline(la["old_la_code"], pop, base=base, year=args.year, replications=args.reps,
                            seed=args.seed, workers=args.workers, calibrate=not args.no_calibrate, log=log)
    except AreaError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    table = benchmark(lb, replications=args.check_reps, seed=args.seed, workers=args.workers)
    lb.to_yaml(out)
    bench_file = out.with_name(out.stem + "_benchmark.csv")
    from sendmodel.common.io import atomic_write_text

    atomic_write_text(bench_file, table.to_csv(index=False))
    show = table[["label", la["la_name"], la["region_name"], "England", "model", "model_ci_low", "model_ci_high",
                  "within_tolerance"]].copy()
    show.columns = ["figure", la["la_name"], la["region_name"], "England", "model", "95% CI low", "95% CI high",
                    "within tolerance"]
    with pd.option_context("display.width", 200, "display.max_colwidth", 48):
        print(show.to_string(index=False, float_format=lambda v: f"{v:,.1f}", na_rep="-"))
    for note in lb.notes:
        print(f"\nNot reached: {note}")
    print("\nCounts are a year per 70,000 children (the region's are not scaled: no regional population is "
          "shipped); shares are DfE's.")
    print(f"Wrote {out} and {bench_file}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("area", help="a local baseline from an LA's published SEN2 figures, calibrated to them",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("la", nargs="?", help="local authority name or code (old three-digit or new E06/E08/E09/E10)")
    p.add_argument("--list", action="store_true", help="list the local authorities and their codes")
    p.add_argument("--check", type=int, metavar="N",
                   help="check the method: fit and back-test N LAs spread over the published 20-week shares "
                        "(populations by proxy; writes --out, default results/area_check.csv)")
    p.add_argument("--population", help="children aged 0-17 in the area (your input: sendmodel ships no LA "
                                        "populations)")
    p.add_argument("--out", help="scenario file to write (.yaml); the benchmark goes beside it")
    p.add_argument("--year", type=int, default=2024, help="SEN2 calendar year of the figures (default 2024)")
    p.add_argument("--base", default=str(SOURCE_ROOT / "scenarios" / "baseline.yaml"),
                   help="the scenario to start from (default: the national baseline)")
    p.add_argument("--reps", type=int, default=10, help="replications per calibration evaluation (default 10: "
                   "fewer follow the noise of the near-full health services; see docs/area.md)")
    p.add_argument("--check-reps", type=int, default=20,
                   help="replications for the benchmark's model column (default 20)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    p.add_argument("--no-calibrate", action="store_true", help="published demand only: no fit of LA-side delays")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_area)
