"""``sendmodel disciplines``: what each queue discipline trades between EHC advice and routine waits."""

from __future__ import annotations

import sys

import pandas as pd

from sendmodel.analysis.labels import KPI_UNITS, ci_in_range, label


def format_tradeoff(t: pd.DataFrame) -> str:
    """Disciplines x services for each KPI: mean [95% CI] (difference from the scenario as given)."""
    out = []
    for kpi in dict.fromkeys(t["kpi"]):
        k = t[t["kpi"] == kpi]
        cells, unit = {}, KPI_UNITS.get(kpi, "")
        for r in k.itertuples(index=False):
            lo, hi = ci_in_range(unit, r.ci_low, r.ci_high)
            cells.setdefault(r.discipline, {})[r.service] = (
                f"{r.mean:.1f} [{lo:.1f}, {hi:.1f}] ({r.diff:+.1f}{'*' if r.ci_excludes_zero else ''})")
        df = pd.DataFrame(cells).T
        out.append(f"{label(kpi)} ({unit}): mean [95% CI] (difference from the scenario as "
                   f"given, * = CI excludes zero)\n{df.to_string()}")
    return "\n\n".join(out)


def cmd_disciplines(args) -> int:
    from sendmodel.cli.main import warn
    from sendmodel.common.io import atomic_dir, check_output_dir
    from sendmodel.common.manifest import write_manifest
    from sendmodel.scenario.loading import load_scenario
    from sendmodel.studies.fairness.tradeoff import DISCIPLINES, plot, services_affected, tradeoff

    if args.out:
        check_output_dir(args.out)
    sc = load_scenario(args.scenario)
    warn(args.scenario, sc)
    names = services_affected(sc)
    if not names:
        print(f"{args.scenario}: no health service both gives EHC advice and sees routine referrals; the "
              "discipline changes nothing", file=sys.stderr)
        return 2
    print(f"Disciplines {', '.join(DISCIPLINES)} applied to {', '.join(names)} ({args.reps} replications, seed "
          f"{args.seed}, common random numbers); as given: "
          + ", ".join(f"{s} {sc.services[s].discipline}" for s in names), flush=True)
    t, c = tradeoff(sc, replications=args.reps, seed=args.seed, workers=args.workers)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(format_tradeoff(t))
    if args.out:
        from sendmodel.analysis.plotting import plt

        with atomic_dir(args.out) as tmp:
            t.to_csv(tmp / "disciplines.csv", index=False)
            fig = plot(t, f"{sc.name}: queue discipline, statutory advice against routine waits",
                       {n: s.label for n, s in sc.services.items()})
            fig.savefig(tmp / "disciplines.png", dpi=110)
            plt.close(fig)
            write_manifest(tmp, "disciplines", command_given=sys.argv, scenario=args.scenario, seed=args.seed,
                           replications=c.replications, services=names)
        print(f"\nWrote disciplines.csv, disciplines.png and manifest.json to {args.out}/")
    return 0


def register(subparsers) -> None:
    from sendmodel.cli.options import add_run_options

    p = subparsers.add_parser(
        "disciplines", help="what each queue discipline trades between EHC advice and routine waits",
        description="Run the scenario with every health service that gives EHC advice and sees routine referrals "
        "on each queue discipline (EHC first, first come first served, nearest deadline first), on common random "
        "numbers, and report advice within 6 weeks against routine waits and 18-week breaches.")
    p.add_argument("scenario", nargs="?", default="scenarios/baseline.yaml", help="default scenarios/baseline.yaml")
    add_run_options(p, reps=10)
    p.add_argument("--out", help="folder for disciplines.csv, disciplines.png and manifest.json")
    p.set_defaults(func=cmd_disciplines)
