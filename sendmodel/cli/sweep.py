"""``sendmodel sweep SPEC --out STORE``: run a parameter sweep, resumably, on local processes or Dask."""

from __future__ import annotations

import sys
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"


def check_store_path(store: str | Path, option: str = "--out") -> Path:
    """Refuse a store path that is a folder, or a file that is not an SQLite database (never overwrite it)."""
    from sendmodel.cli.options import CliError

    store = Path(store)
    if store.is_dir():
        raise CliError(f"{option} {store}: is a folder; a sweep store is one SQLite file, e.g. {store}/sweep.sqlite")
    if store.exists():
        try:
            with open(store, "rb") as f:
                head = f.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise CliError(f"{option} {store}: cannot read it: {exc.strerror}") from None
        if head and head != SQLITE_HEADER:
            raise CliError(f"{option} {store}: is a file that is not a sweep store (not an SQLite database); "
                           "refusing to touch it" + (": give another --out" if option == "--out" else ""))
    parent = store.resolve().parent
    if parent.exists() and not parent.is_dir():
        raise CliError(f"{option} {store}: {parent} is a file, not a folder")
    return store


def cmd_sweep(args) -> int:
    from sendmodel.studies.sweep.run import run_sweep
    from sendmodel.studies.sweep.spec import SweepError, load_sweep_spec

    check_store_path(args.out)
    from sendmodel.cli.main import warn

    sw = load_sweep_spec(args.spec)  # a bad spec stops here, before anything is written
    warn(sw.base.source_file or args.spec, sw.base)
    where = (
        f"Dask scheduler {args.scheduler}"
        if args.scheduler
        else "a Dask LocalCluster"
        if args.dask
        else f"{args.workers or 'all'} local worker(s)"
    )
    print(
        f"Sweep {sw.name}: {len(sw.points)} points x {sw.replications} replications = {sw.n_runs} runs "
        f"({sw.spec.design}, seed {sw.seed}) on {where} -> {args.out}"
    )
    try:
        info = run_sweep(
            sw,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            dask_local=args.dask == "local",
            batch=args.batch,
            progress=not args.no_progress,
        )
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished tasks are stored in {args.out}; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    if info.stored_before:
        print(f"Resumed: {info.stored_before} runs were already stored.")
    if info.by_others:
        print(f"Shared: another sweep on this store ran {info.by_others} of the runs meanwhile.")
    if info.runs:
        print(
            f"Ran {info.runs} runs in {info.seconds:.1f} s ({info.runs_per_second:.2f} runs/s, "
            f"{info.tasks} tasks of up to {info.batch} replications, {info.backend})."
        )
    print(f"{args.out}: all {info.total_runs} runs stored. Next: sendmodel sweep-report {args.out} --out DIR")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep into a store (re-run the same command to resume)",
        description="Run every (point, replication) of a sweep spec (YAML in scenarios/sweeps/) and store "
        "the KPIs. Re-running the same command skips what is stored.",
    )
    p.add_argument("spec", help="sweep spec (YAML)")
    p.add_argument(
        "--out", required=True, help="store (SQLite file): created, or resumed if it holds this sweep"
    )
    from sendmodel.cli.options import positive_int, workers

    p.add_argument(
        "--workers",
        type=workers,
        default=None,
        help="local processes, or LocalCluster workers with --dask local: 1 or more, 0 = every core "
        "(default: every core)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    g.add_argument(
        "--dask", choices=["local"], help="--dask local: run on a Dask LocalCluster on this machine"
    )
    p.add_argument(
        "--batch",
        type=positive_int,
        default=None,
        help="replications per task (default: about a second of work a task, from one timed run)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)
