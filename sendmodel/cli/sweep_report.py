"""``sendmodel sweep-report STORE --out DIR``: summary tables and plots of a parameter sweep.

The folder is written all or nothing (:func:`sendmodel.common.io.atomic_dir`), with a ``manifest.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_KPIS = [("advice_within_6w_pct", "all"), ("plans_within_20w_pct", "all")]
SERVICE_KPIS = [
    "advice_within_6w_pct",
    "routine_wait_median_weeks",
]  # for each service whose fields are swept


def report_kpis(df, asked: list[str] | None, store=None) -> list[tuple[str, str]]:
    """The (kpi, service) pairs to report: those asked for, or the deadlines plus each swept service's."""
    if asked:
        pairs = [tuple(a.split(":", 1)) if ":" in a else (a, "all") for a in asked]
    else:
        pairs = list(DEFAULT_KPIS)
        for p in df.attrs["parameters"]:
            parts = p.split(".")
            if parts[0] == "services" and len(parts) >= 3:
                pairs += [(k, parts[1]) for k in SERVICE_KPIS if (k, parts[1]) not in pairs]
    have = set(zip(df["kpi"], df["service"]))
    missing = [f"{k}:{s}" for k, s in pairs if (k, s) not in have]
    measured = df[df["value"].notna()]
    have = set(zip(measured["kpi"], measured["service"]))  # e.g. no plan falls due in a short run: NaN
    if asked and missing:
        from sendmodel.scenario.errors import ScenarioError

        raise ScenarioError(store, "--kpi", f"not in the store: {missing} (write KPI or KPI:SERVICE)")
    return [(k, s) for k, s in pairs if (k, s) in have]


def _g(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


def _read_store(store: str):
    """The store's rows and record, or a CliError saying why it cannot be read as a sweep store."""
    import sqlite3

    from sendmodel.cli.options import CliError
    from sendmodel.cli.sweep import check_store_path
    from sendmodel.studies.sweep.store import load_sweep, sweep_meta

    path = check_store_path(store, "STORE")
    if not path.exists():
        raise CliError(f"{store}: no sweep store there; run `sendmodel sweep SPEC --out {store}` first")
    try:
        df = load_sweep(path)
        meta = sweep_meta(path)
    except (sqlite3.DatabaseError, KeyError, ValueError, TypeError) as exc:
        raise CliError(f"{store}: not a sweep store written by `sendmodel sweep` ({exc})") from None
    if df.empty:
        raise CliError(f"{store}: the sweep has no runs stored yet; run `sendmodel sweep` on it first")
    return df, meta


def cmd_sweep_report(args) -> int:
    from sendmodel.common.io import atomic_dir, check_output_dir

    check_output_dir(args.out)  # before reading: never replace a file or someone else's folder
    df, meta = _read_store(args.store)
    checks = _capacity(args.store, meta)
    out = Path(args.out)
    with atomic_dir(out) as tmp:  # all or nothing: a failure leaves an earlier report as it was
        written, n_pts, n_runs, s_all = _write_report(df, meta, args, tmp, checks)
    _print_report(meta, n_pts, n_runs, s_all)
    print()
    print(capacity_text(checks, meta))
    print(f"\nWrote {', '.join(written)} to {out}/")
    return 0


def _capacity(store: str, meta) -> tuple:
    """Each point's capacity check: (table, point -> check, point -> swept values), or None for a store
    without the measures."""
    from sendmodel.scenario.config import Scenario
    from sendmodel.studies.sweep.effects import capacity_by_point
    from sendmodel.studies.sweep.store import load_sweep_capacity, sweep_points

    capacity = load_sweep_capacity(store)
    if capacity.empty or not meta.get("base_scenario"):
        return None
    params = sweep_points(store)
    return (*capacity_by_point(capacity, Scenario.model_validate(meta["base_scenario"]), params), params)


def _point_name(params: dict, base) -> str:
    from sendmodel.studies.sweep.plots import param_label

    return ", ".join(f"{param_label(k, base)} = {_g(v)}" for k, v in params.items())


def capacity_text(checks, meta) -> str:
    """Which points have a service, the LA casework or the DMO/DCO over capacity, with the flags in full."""
    if checks is None:
        return ("Capacity check: not available (this store was written before runs kept their capacity "
                "measures; run the sweep again into a new store).")
    _, by_point, params = checks
    over = {p: c for p, c in by_point.items() if c.overloaded}
    head = (f"Capacity check: {len(over)} of {len(by_point)} points have a service, the LA casework or the DMO/DCO "
            "over capacity" + (":" if over else " (no queue grows clearly at any point)."))
    lines = [head]
    for p, c in over.items():
        lines.append(f"\nPoint {p} ({_point_name(params.get(p, {}), meta.get('base_scenario'))}):")
        lines += [f"OVERLOADED: {f}" for f in c.flags()]
        if c.open_requests():
            lines.append(c.open_requests())
    return "\n".join(lines)


def _write_report(df, meta, args, out: Path, checks=None):
    import pandas as pd

    from sendmodel.analysis.labels import KPI_UNITS
    from sendmodel.analysis.plotting import plt
    from sendmodel.common.manifest import write_manifest
    from sendmodel.studies.sweep.effects import main_effects, sensitivity, summarise_points
    from sendmodel.studies.sweep.plots import effects_figure, tornado_figure

    base = meta.get("base_scenario")
    n_pts, n_runs = df["point"].nunique(), df[["point", "replication"]].drop_duplicates().shape[0]
    summarise_points(df).to_csv(out / "summary.csv", index=False)
    effects, sens, written = [], [], ["summary.csv"]
    for kpi, svc in report_kpis(df, args.kpi, args.store):
        unit = KPI_UNITS.get(kpi, "")
        e, s = main_effects(df, kpi, svc), sensitivity(df, kpi, svc)
        effects.append(e)
        sens.append(s)
        stem = kpi if svc == "all" else f"{kpi}_{svc}"
        for name, fig in (
            (f"effects_{stem}.png", effects_figure(e, unit, base)),
            (f"tornado_{stem}.png", tornado_figure(s, unit, base) if len(s) else None),
        ):
            if fig is None:
                continue
            fig.savefig(out / name, dpi=110)
            plt.close(fig)
            written.append(name)
    if effects:
        pd.concat(effects, ignore_index=True).to_csv(out / "main_effects.csv", index=False)
        written.append("main_effects.csv")
    s_all = None
    if sens:
        s_all = pd.concat(sens, ignore_index=True)
        s_all.to_csv(out / "sensitivity.csv", index=False)
        written.append("sensitivity.csv")
    if checks is not None and not checks[0].empty:
        checks[0].to_csv(out / "overload.csv", index=False)
        written.append("overload.csv")
    meta_out = {k: v for k, v in meta.items() if k not in ("invocations", "base_scenario")}
    meta_out["points_stored"], meta_out["runs_stored"] = n_pts, n_runs
    (out / "sweep.json").write_text(json.dumps(meta_out, indent=2, default=str))
    written.append("sweep.json")
    over = None if checks is None else sorted(p for p, c in checks[1].items() if c.overloaded)
    write_manifest(out, "sweep_report", store=str(Path(args.store).resolve()), sweep=meta.get("name"),
                   points_stored=n_pts, runs_stored=n_runs, points_over_capacity=over)
    written.append("manifest.json")
    return written, n_pts, n_runs, s_all


def _print_report(meta, n_pts, n_runs, s_all) -> None:
    import pandas as pd

    from sendmodel.studies.sweep.plots import param_label

    base = meta.get("base_scenario")
    print(
        f"Sweep {meta['name']}: {n_pts} points, {n_runs} runs stored (of {meta['replications']} replications "
        f"a point), seed {meta['seed']}, sendmodel {meta['sendmodel']}"
    )
    if s_all is not None:
        t = s_all.assign(parameter=[param_label(p, base) for p in s_all["parameter"]])
        t["95% CI"] = [f"[{a:+.1f}, {b:+.1f}]" for a, b in zip(t["swing_ci_low"], t["swing_ci_high"])]
        t["range"] = [f"{_g(lo)} -> {_g(hi)}" for lo, hi in zip(t["low_level"], t["high_level"])]
        for c in ("kpi_at_low", "kpi_at_high", "swing"):
            t[c] = [f"{v:.1f}" for v in t[c]]
        cols = ["kpi", "service", "parameter", "range", "kpi_at_low", "kpi_at_high", "swing", "95% CI"]
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print("\nSensitivity (KPI at each parameter's lowest and highest value, others averaged over):")
            print(t[cols].to_string(index=False))


def register(subparsers) -> None:
    p = subparsers.add_parser("sweep-report", help="summary tables and plots of a sweep store")
    p.add_argument("store", help="store written by `sendmodel sweep`")
    p.add_argument("--out", required=True, help="folder for tables (CSV) and plots (PNG)")
    p.add_argument(
        "--kpi",
        action="append",
        metavar="KPI[:SERVICE]",
        help="KPI to report (repeatable; default: advice within 6 weeks, plans within 20 weeks, and "
        "advice and routine waits of each swept service)",
    )
    p.set_defaults(func=cmd_sweep_report)
