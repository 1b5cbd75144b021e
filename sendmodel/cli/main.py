"""Command line: a thin layer over the package. ``sendmodel --help`` lists the commands.

Exit status: 0 done; 2 a problem with the input (a bad file, field or argument: one line, no traceback);
1 an internal error (a short message; the traceback goes to a log file whose path is printed: ``sendmodel-error.log``
in the output folder when one was given, else a temporary file); 130 interrupted. ``SENDMODEL_DEBUG=1`` lets an
internal error's traceback through (for developers).
"""

from __future__ import annotations

import argparse
import os
import sys

import pandas as pd

from sendmodel.analysis.labels import ci_in_range, label, no_figure
from sendmodel.cli.options import CliError, add_precision_options, add_run_options
from sendmodel.common.io import ERROR_LOG, OutputError, check_output_dir
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
        if pd.isna(r["mean"]):  # shown, with why, rather than dropped: a service nobody reached must not vanish
            rows.append((label(r["kpi"]), who, "-", r["unit"], "", no_figure(r["kpi"])))
            continue
        lo, hi = ci_in_range(r["unit"], r["ci_low"], r["ci_high"])
        ci = "" if pd.isna(r["half_width"]) else f"[{lo:.1f}, {hi:.1f}]"
        if r["unit"] == "fraction":
            ci = "" if pd.isna(r["half_width"]) else f"[{lo:.2f}, {hi:.2f}]"
            val = f"{r['mean']:.2f}"
        else:
            val = f"{r['mean']:.1f}"
        rows.append((label(r["kpi"]), who, val, r["unit"], ci, ""))
    df = pd.DataFrame(rows, columns=["KPI", "service", "mean", "unit", "95% CI", "no figure because"])
    if not df["no figure because"].any():
        df = df.drop(columns="no figure because")
    return df.to_string(index=False)


def capacity_text(check, spread: list[str]) -> str:
    """The capacity check and the per-service intervals too wide to act on, as printed under a KPI table."""
    return "\n".join([check.text(), *[f"note: {n}" for n in spread]])


def warn(file, scenario) -> list[str]:
    """Print the scenario's warnings (work sent to a service with no PAs) to stderr; return them."""
    from sendmodel.scenario.checks import scenario_warnings

    out = scenario_warnings(scenario)
    for w in out:
        print(f"warning: {file}: {w}", file=sys.stderr)
    return out


def cmd_run(args) -> int:
    from sendmodel.analysis.experiment import run

    if args.out:
        check_output_dir(args.out)  # before the run: never replace a file or someone else's folder
    sc = load_scenario(args.scenario)
    warn(args.scenario, sc)
    res = run(sc, replications=args.reps, seed=args.seed, workers=args.workers)
    print(f"Scenario {sc.name}: population {sc.population:,.0f} children 0-17, {args.reps} replications, "
          f"seed {args.seed}, measured {sc.simulation.horizon_days:g} days after {sc.simulation.warm_up_days:g} "
          f"days' warm-up")
    print(_fmt_summary(res.summary(), sc))
    print()
    print(capacity_text(res.overload_check(), res.spread_notes()))
    _report_checks(res, args)
    if args.out:
        out = res.to_dir(args.out, precision=args.precision, precision_kpi=args.precision_kpi, workers=args.workers)
        print(f"\nWrote event log, KPIs, summary, capacity check (overload.csv), manifest, plots and the STRESS-DES "
              f"report to {out}/")
    return 0


def _report_checks(res, args) -> None:
    """The warm-up check (warnings to stderr) and the precision reached, after the KPIs."""
    chk = res.warmup_check()
    print()
    print(chk.text())
    for w in chk.warnings():
        print(f"warning: {w}", file=sys.stderr)
    try:
        print(res.precision_text(args.precision, args.precision_kpi))
    except ValueError as exc:
        raise CliError(f"--precision-kpi: {exc}") from None


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
    warn(args.scenario, sc)
    ranges = {u.path: u for u in sc.uncertain_inputs}  # fields given as ranges: the range beside the centre
    rows = [(p, _short(v) + (f" ({ranges[p].text()})" if p in ranges else ""), d, _source(sc, p, v))
            for p, v, d in _walk(sc)]
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
    add_run_options(r)
    r.add_argument("--out", help="folder for event log, KPIs, summary, plots and the STRESS-DES report")
    add_precision_options(r)
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check scenario files; --theory: check the engine against queueing theory")
    v.add_argument("scenario", nargs="*")
    v.add_argument("--theory", action="store_true", help="run the validation suite (scenarios/validation/)")
    v.add_argument("--case", action="append", help="with --theory: only this case (repeatable)")
    add_run_options(v, reps=None, seed_help="with --theory: base seed (default 2024)",
                    workers_help="with --theory: processes, 0 = every core (default 1)")
    v.set_defaults(func=cmd_validate)

    pa = sub.add_parser("params", help="every parameter with its value, unit and source")
    pa.add_argument("scenario")
    pa.add_argument("--csv", action="store_true", help="write CSV to stdout")
    pa.set_defaults(func=cmd_params)

    from sendmodel.cli.commands import register_all

    register_all(sub)
    return p


def _user_error(exc: BaseException) -> bool:
    """Whether an exception is a problem with the input, to be told in one line (exit status 2)."""
    if isinstance(exc, (ScenarioError, OutputError, CliError)):
        return True
    spec = sys.modules.get("sendmodel.studies.sweep.spec")
    return spec is not None and isinstance(exc, spec.SweepError)


def _log_path(args):
    """Where an internal error's traceback goes: the output folder if one was given (and can hold it), else a
    new temporary file."""
    import tempfile
    from pathlib import Path

    out = getattr(args, "out", None)
    if out:
        folder = Path(out)
        if getattr(args, "command", "") == "sweep":  # --out is the store file: its folder
            folder = folder.parent
        try:
            if not folder.exists():
                folder.mkdir(parents=True)
            if folder.is_dir():
                return folder / ERROR_LOG
        except OSError:
            pass
    fd, name = tempfile.mkstemp(prefix="sendmodel-error-", suffix=".log")
    os.close(fd)
    return name


def _internal_error(exc: BaseException, args, argv) -> int:
    import datetime as dt
    import traceback

    from sendmodel.common.version import __version__

    text = (f"sendmodel {__version__}, {dt.datetime.now().isoformat(timespec='seconds')}\n"
            f"command: sendmodel {' '.join(argv if argv is not None else sys.argv[1:])}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    try:
        log = _log_path(args)
        with open(log, "w", encoding="utf-8") as f:
            f.write(text)
        where = f"the details are in {log}"
    except OSError:
        where = "the details could not be written to a log file"
    what = " ".join(f"{type(exc).__name__}: {exc}".split())
    if len(what) > 300:
        what = what[:297] + "..."
    print(f"internal error: {what}\nThis is a fault in sendmodel, not in your input; {where} "
          "(please send it with your report).", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad argument: argparse says which and what is allowed, exit status 2
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `sendmodel params ... | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second complaint when Python flushes stdout at exit
        except (OSError, ValueError):
            pass
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every error ends in a message, never a traceback
        if _user_error(exc):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if os.environ.get("SENDMODEL_DEBUG"):
            raise
        if isinstance(exc, OSError) and exc.filename:  # a file or folder of the user's: permissions, disk full
            print(f"error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        if isinstance(exc, MemoryError):
            print("error: out of memory: try fewer replications, a smaller population or a shorter run",
                  file=sys.stderr)
            return 1
        return _internal_error(exc, args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
