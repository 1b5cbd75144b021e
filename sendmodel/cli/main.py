"""Command line: a thin layer over the package. ``sendmodel --help`` lists the commands."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from sendmodel.analysis.labels import ci_in_range, label
from sendmodel.scenario.errors import ScenarioError
from sendmodel.scenario.loading import load_scenario
from sendmodel.scenario.params import _short, _source, _walk


def _fmt_summary(summary: pd.DataFrame, scenario) -> str:
    rows = []
    for _, r in summary.iterrows():
        svc = r["service"]
        who = "all health services" if svc == "all" and r["kpi"].startswith("advice") else (
            "" if svc == "all" else scenario.services[svc].label if svc in scenario.services else svc
        )
        if pd.isna(r["mean"]):
            continue
        lo, hi = ci_in_range(r["unit"], r["ci_low"], r["ci_high"])
        ci = "" if pd.isna(r["half_width"]) else f"[{lo:.1f}, {hi:.1f}]"
        if r["unit"] == "fraction":
            ci = "" if pd.isna(r["half_width"]) else f"[{lo:.2f}, {hi:.2f}]"
            val = f"{r['mean']:.2f}"
        else:
            val = f"{r['mean']:.1f}"
        rows.append((label(r["kpi"]), who, val, r["unit"], ci))
    df = pd.DataFrame(rows, columns=["KPI", "service", "mean", "unit", "95% CI"])
    return df.to_string(index=False)


def warn(file, scenario) -> list[str]:
    """Print the scenario's warnings (work sent to a service with no PAs) to stderr; return them."""
    from sendmodel.scenario.checks import scenario_warnings

    out = scenario_warnings(scenario)
    for w in out:
        print(f"warning: {file}: {w}", file=sys.stderr)
    return out


def cmd_run(args) -> int:
    from sendmodel.analysis.experiment import run

    sc = load_scenario(args.scenario)
    warn(args.scenario, sc)
    res = run(sc, replications=args.reps, seed=args.seed, workers=args.workers)
    print(f"Scenario {sc.name}: population {sc.population:,.0f} children 0-17, {args.reps} replications, "
          f"seed {args.seed}, measured {sc.simulation.horizon_days:g} days after {sc.simulation.warm_up_days:g} "
          f"days' warm-up")
    print(_fmt_summary(res.summary(), sc))
    if args.out:
        out = res.to_dir(args.out)
        print(f"\nWrote event log, KPIs, summary, manifest and plots to {out}/")
    return 0


def cmd_validate(args) -> int:
    if args.theory:  # the engine against queueing theory, Ciw and independent recursions (docs/validation.md)
        from sendmodel.cli.validate import run_from_cli

        return run_from_cli(args, sys.stdout)
    if not args.scenario:
        print("error: give scenario files to check, or --theory", file=sys.stderr)
        return 2
    for f in args.scenario:
        sc = load_scenario(f)
        warnings = warn(f, sc)
        print(f"{f}: OK ({sc.name}: {len(sc.services)} services, population {sc.population:,.0f})"
              + (f", {len(warnings)} warning(s)" if warnings else ""))
    return 0


def cmd_params(args) -> int:
    sc = load_scenario(args.scenario)
    rows = [(p, _short(v), d, _source(sc, p, v)) for p, v, d in _walk(sc)]
    df = pd.DataFrame(rows, columns=["parameter", "value", "meaning and unit", "source"])
    if args.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_colwidth", 70, "display.width", 250):
            print(df.to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sendmodel", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="simulate a scenario and print its KPIs")
    r.add_argument("scenario")
    r.add_argument("--reps", type=int, default=10, help="replications (default 10)")
    r.add_argument("--seed", type=int, default=2024, help="base seed (default 2024)")
    r.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    r.add_argument("--out", help="folder for event log, KPIs, summary and plots")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check scenario files; --theory: check the engine against queueing theory")
    v.add_argument("scenario", nargs="*")
    v.add_argument("--theory", action="store_true", help="run the validation suite (scenarios/validation/)")
    v.add_argument("--case", action="append", help="with --theory: only this case (repeatable)")
    v.add_argument("--seed", type=int, default=2024, help="with --theory: base seed (default 2024)")
    v.add_argument("--workers", type=int, default=1, help="with --theory: processes (default 1)")
    v.set_defaults(func=cmd_validate)

    pa = sub.add_parser("params", help="every parameter with its value, unit and source")
    pa.add_argument("scenario")
    pa.add_argument("--csv", action="store_true", help="write CSV to stdout")
    pa.set_defaults(func=cmd_params)

    from sendmodel.cli.commands import register_all

    register_all(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `sendmodel params ... | head`
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
