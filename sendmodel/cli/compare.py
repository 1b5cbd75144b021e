"""``sendmodel compare``: options against a baseline on common random numbers, read as a commissioner would.

Prints, for the headline KPIs, each option's mean and its paired difference from the baseline with a 95% CI;
then value for money (extra cost a year per extra health advice returned within 6 weeks) and who pays. With
``--out`` it writes the full table (CSV), the per-replication KPIs, a manifest and the comparison plots.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from sendmodel.analysis.compare import CE_KPI, Comparison, run_comparison
from sendmodel.analysis.labels import COMMISSIONER_LABELS, KPI_UNITS, ci_in_range, label, no_figure
from sendmodel.common.manifest import write_manifest
from sendmodel.scenario.errors import ScenarioError
from sendmodel.scenario.loading import config_hash, load_scenario

HEADLINE = (
    "advice_within_6w_pct",
    "advice_within_6w_of_la_request_pct",
    "advice_within_6w_per_year",
    "advice_turnaround_median_days",
    "advice_not_known_turnaround_median_days",
    "advice_misrouted_turnaround_median_days",
    "dmo_signoff_median_days",
    "dmo_signoff_from_request_median_weeks",
    "plans_within_20w_pct",
)
BY_SERVICE = ("advice_within_6w_pct", "routine_wait_median_weeks")


def _num(x: float, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if unit.startswith("GBP"):
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) < 1000 else f"{x:,.0f}"


def _signed(x: float, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if unit.startswith("GBP"):
        return f"{x:+,.0f}"
    return f"{x:+.1f}" if abs(x) < 1000 else f"{x:+,.0f}"


def format_headline(c: Comparison, kpis=HEADLINE) -> str:
    """One block per KPI: each option's mean, paired difference [95% CI] and verdict."""
    t = c.table[c.table["service"] == "all"]
    opts = list(c.scenarios)
    opts = [c.baseline] + [o for o in opts if o != c.baseline]
    out = []
    for kpi in kpis:
        k = t[t["kpi"] == kpi].set_index("option")
        if k.empty or k["mean"].isna().all():
            continue
        unit = KPI_UNITS.get(kpi, "")
        rows = []
        for o in opts:
            if o not in k.index:
                continue
            r = k.loc[o]
            if o == c.baseline:
                rows.append((o, _num(r["mean"], unit), "(baseline)", ""))
            else:
                lo, hi = _signed(r["diff_ci_low"], unit), _signed(r["diff_ci_high"], unit)
                ci = f"{_signed(r['diff'], unit)} [{lo}, {hi}]"
                rows.append((o, _num(r["mean"], unit), ci, r["verdict"]))
        df = pd.DataFrame(rows, columns=["option", "mean", "difference [95% CI]", "verdict"])
        out.append(f"{label(kpi)} ({unit})\n{df.to_string(index=False)}")
    return "\n\n".join(out)


BY_YEAR = ("advice_within_6w_pct", "decisions_within_6w_pct", "plans_within_20w_pct", "requests_open_end",
           "plans_in_force_end", "reviews_within_12m_pct", "cost_total_gbp")


def format_by_year(c: Comparison, kind: str = "financial", kpis=BY_YEAR) -> str:
    """For a run over several years: per KPI, options x years, each the option's mean and its paired difference
    from the baseline (* = the 95% CI excludes zero); a part year is marked."""
    t = c.by_year(kind)
    if t.empty:
        return ""
    t = t[t["service"] == "all"]
    years = list(dict.fromkeys(t["period"]))
    part = {p for p, d in zip(t["period"], t["days"]) if d < 360}
    opts = [c.baseline] + [o for o in c.scenarios if o != c.baseline]
    out = [f"By {kind} year (mean; paired difference from {c.baseline}, * = 95% CI excludes zero):"]
    for kpi in kpis:
        k = t[t["kpi"] == kpi]
        if k.empty or k["mean"].isna().all():
            continue
        unit = KPI_UNITS.get(kpi, "")
        rows = {}
        for o in opts:
            cells = []
            for y in years:
                r = k[(k["option"] == o) & (k["period"] == y)]
                if r.empty:
                    cells.append("-")
                    continue
                r = r.iloc[0]
                cell = _num(r["mean"], unit)
                if o != c.baseline:
                    cell += f" ({_signed(r['diff'], unit)}{'*' if r['ci_excludes_zero'] else ''})"
                cells.append(cell)
            rows[o] = cells
        df = pd.DataFrame.from_dict(rows, orient="index", columns=[y + (" (part)" if y in part else "")
                                                                     for y in years])
        out.append(f"{label(kpi)} ({unit})\n{df.to_string()}")
    return "\n\n".join(out)


def format_by_service(c: Comparison, kpi: str) -> str:
    """Options x health services: the option's mean with its 95% CI and, in brackets, its paired difference
    (* = CI excludes zero). Every health service has a column; one with no figure says why beneath the table."""
    t = c.table[(c.table["kpi"] == kpi) & (c.table["service"] != "all")]
    if t.empty:
        return ""
    sc = c.scenarios[c.baseline]
    services = [s for s, svc in sc.services.items() if svc.kind == "health"]
    if not services:
        return ""
    opts = [c.baseline] + [o for o in c.scenarios if o != c.baseline]
    rows, why = [], {}
    for o in opts:
        row = [o]
        for s in services:
            r = t[(t["option"] == o) & (t["service"] == s)]
            if r.empty or pd.isna(r["mean"].iloc[0]):
                row.append("-")
                why.setdefault(s, {}).setdefault(no_figure(kpi, has_row=not r.empty), []).append(o)
                continue
            r = r.iloc[0]
            cell = _num(r["mean"])
            if pd.notna(r["half_width"]):
                lo, hi = ci_in_range(r["unit"], r["ci_low"], r["ci_high"])
                cell += f" [{_num(lo)}, {_num(hi)}]"
            if o != c.baseline:
                cell += f" ({_signed(r['diff'])}{'*' if r['ci_excludes_zero'] else ''})"
            row.append(cell)
        rows.append(row)
    df = pd.DataFrame(rows, columns=["option"] + [sc.services[s].label for s in services])
    notes = "".join(
        f"\n  - {sc.services[s].label}: "
        + "; ".join(r if len(os_) == len(opts) else f"{r} ({', '.join(os_)})" for r, os_ in w.items())
        for s, w in why.items()
    )
    return (f"{label(kpi)} ({KPI_UNITS.get(kpi, '')}) by health service: mean [95% CI] (difference; * = its 95% "
            f"CI excludes zero)\n{df.to_string(index=False)}{notes}")


def format_capacity(c: Comparison) -> str:
    """Per option, its capacity check (flags in full) and the per-service intervals too wide to act on."""
    spread = c.spread_notes()
    out = []
    for name, chk in c.overload_checks().items():
        out.append(f"{name}: " + "\n".join([chk.brief(), *[f"note: {n}" for n in spread.get(name, [])]]))
    return "\n".join(out)


def _funders(table: pd.DataFrame) -> list[str]:
    """The funders the comparison's cost rows name (the three always reported, and any other in use)."""
    return list(dict.fromkeys(table.loc[table["kpi"] == "cost_funded_gbp", "service"]))


def value_for_money(c: Comparison) -> pd.DataFrame:
    """Per option: extra cost a year, extra on-time advice a year, cost per extra on-time advice, who pays."""
    t = c.table
    rows = []
    funders = _funders(t)
    for o in [x for x in c.scenarios if x != c.baseline]:
        def get(kpi, service="all", col="diff"):
            r = t[(t["option"] == o) & (t["kpi"] == kpi) & (t["service"] == service)]
            return float(r[col].iloc[0]) if not r.empty else float("nan")

        ce = t[(t["option"] == o) & (t["kpi"] == CE_KPI)]
        row = {
            "option": o,
            "cost_gbp_per_year": get("cost_total_gbp", col="mean"),
            "extra_cost_gbp_per_year": get("cost_total_gbp"),
            "setup_once_gbp": get("cost_setup_once_gbp", col="mean"),
            "extra_within_6w_per_year": get("advice_within_6w_per_year"),
            "extra_within_6w_ci_low": get("advice_within_6w_per_year", col="diff_ci_low"),
            "extra_within_6w_ci_high": get("advice_within_6w_per_year", col="diff_ci_high"),
            "gbp_per_extra_within_6w": float(ce["mean"].iloc[0]) if not ce.empty else float("nan"),
            "gbp_per_extra_ci_low": float(ce["ci_low"].iloc[0]) if not ce.empty else float("nan"),
            "gbp_per_extra_ci_high": float(ce["ci_high"].iloc[0]) if not ce.empty else float("nan"),
            "verdict": ce["verdict"].iloc[0] if not ce.empty else "",
            # what it displaces on the health services' routine lists
            "extra_routine_waiting_weeks_per_year": get("routine_waiting_weeks_per_year"),
            "extra_routine_waiting_ci_low": get("routine_waiting_weeks_per_year", col="diff_ci_low"),
            "extra_routine_waiting_ci_high": get("routine_waiting_weeks_per_year", col="diff_ci_high"),
            "extra_routine_breaches_per_year": get("routine_breaches_per_year"),
            "extra_routine_breaches_ci_low": get("routine_breaches_per_year", col="diff_ci_low"),
            "extra_routine_breaches_ci_high": get("routine_breaches_per_year", col="diff_ci_high"),
        }
        if row["extra_routine_waiting_ci_low"] > 0:  # the verdict counts what is displaced, not only the cost
            row["verdict"] += "; routine lists wait longer"
        elif row["extra_routine_waiting_ci_high"] < 0:
            row["verdict"] += "; routine lists wait less"
        for f in funders:
            row[f"extra_paid_by_{f}_gbp_per_year"] = get("cost_funded_gbp", f)
        rows.append(row)
    return pd.DataFrame(rows)


def _ratio_cell(ratio: float, lo: float, hi: float, verdict: str) -> str:
    """A cost per extra on-time advice only where it means something (a clear change in on-time advice)."""
    if verdict.startswith(("more", "less")):
        return f"{_num(ratio, 'GBP')} [{_num(lo, 'GBP')}, {_num(hi, 'GBP')}]"
    if verdict.startswith("dominant"):
        return "dominant (no extra cost)" if "no extra cost" in verdict else "dominant (saves money)"
    return "-"


def format_value_for_money(c: Comparison) -> str:
    v = value_for_money(c)
    if v.empty or v["extra_cost_gbp_per_year"].isna().all():
        return ""
    v = v.sort_values("gbp_per_extra_within_6w", key=lambda s: s.where(s >= 0, float("inf")))
    vfm = pd.DataFrame({
        "option": v["option"],
        "extra GBP a year": v["extra_cost_gbp_per_year"].map(lambda x: _signed(x, "GBP")),
        "extra on-time advice a year [95% CI]": [
            f"{_signed(a)} [{_signed(lo)}, {_signed(hi)}]"
            for a, lo, hi in zip(v["extra_within_6w_per_year"], v["extra_within_6w_ci_low"],
                                 v["extra_within_6w_ci_high"])
        ],
        "GBP per extra on-time advice [95% CI]": [
            _ratio_cell(a, lo, hi, verdict)
            for a, lo, hi, verdict in zip(v["gbp_per_extra_within_6w"], v["gbp_per_extra_ci_low"],
                                          v["gbp_per_extra_ci_high"], v["verdict"])
        ],
        "extra routine waiting, child-weeks a year [95% CI]": [
            f"{_signed(a)} [{_signed(lo)}, {_signed(hi)}]"
            for a, lo, hi in zip(v["extra_routine_waiting_weeks_per_year"], v["extra_routine_waiting_ci_low"],
                                 v["extra_routine_waiting_ci_high"])
        ],
        "extra seen after 18 weeks a year [95% CI]": [
            f"{_signed(a)} [{_signed(lo)}, {_signed(hi)}]"
            for a, lo, hi in zip(v["extra_routine_breaches_per_year"], v["extra_routine_breaches_ci_low"],
                                 v["extra_routine_breaches_ci_high"])
        ],
        "verdict": v["verdict"],
    })
    pays = pd.DataFrame({"option": v["option"]})
    for f in _funders(c.table):
        pays[COMMISSIONER_LABELS[f]] = v[f"extra_paid_by_{f}_gbp_per_year"].map(lambda x: _signed(x, "GBP"))
    pays["one-off set-up GBP (all funders)"] = v["setup_once_gbp"].map(lambda x: _num(x, "GBP"))
    return (
        "Value for money: extra cost a year per extra health advice returned within 6 weeks (cheapest first; an "
        "empty CI means the gain in on-time advice is not clear), beside what the option displaces on the health "
        "services' routine lists (child-weeks of waiting a year, and children seen after the 18-week target; "
        "+ is worse)\n" + vfm.to_string(index=False)
        + "\n\nWho pays: extra cost a year by funder (joint costs split by costs.joint_split)\n"
        + pays.to_string(index=False)
    )


def _resolve_baseline(name: str, files: list[str], scenarios: dict) -> str:
    if name in scenarios:
        return name
    for f, n in zip(files, scenarios):
        if Path(f).stem == name or f == name:
            return n
    raise ScenarioError(None, "--baseline", f"{name!r} is none of the options; allowed: one of {list(scenarios)}")


def write_dir(c: Comparison, path: str | Path, files: list[str], argv: list[str] | None = None,
              workers: int = 1, extra: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write comparison.csv, value_for_money.csv, kpis.csv, manifest.json, plots and the STRESS-DES report
    (stress_des.md), atomically."""
    from sendmodel.analysis.plots import save_comparison_plots, save_warm_up
    from sendmodel.analysis.report import REPORT
    from sendmodel.common.io import atomic_dir

    with atomic_dir(path) as tmp:
        c.table.to_csv(tmp / "comparison.csv", index=False)
        vfm = value_for_money(c)
        if not vfm.empty:
            vfm.to_csv(tmp / "value_for_money.csv", index=False)
        c.kpis.to_csv(tmp / "kpis.csv", index=False)
        for name, frame in (extra or {}).items():  # e.g. the comparison under input uncertainty
            frame.to_csv(tmp / name, index=False)
        for kind in ("financial", "calendar"):
            years = c.by_year(kind)
            if not years.empty:
                years.to_csv(tmp / f"comparison_by_{kind}_year.csv", index=False)
        over = [chk.table() for chk in c.overload_checks().values() if chk.units]
        if over:
            pd.concat(over, ignore_index=True).to_csv(tmp / "overload.csv", index=False)
        save_comparison_plots(c.table, tmp)
        checks = c.warmup_checks()
        if c.baseline in checks:
            save_warm_up(checks[c.baseline], c.warmup_series[c.baseline], c.scenarios[c.baseline], tmp)
        write_manifest(
            tmp, "comparison",
            command_given=argv,
            baseline=c.baseline,
            options={n: {"file": f, "config_hash": config_hash(sc)} for (n, sc), f in zip(c.scenarios.items(), files)},
            seed=c.seed,
            replications=c.replications,
            replication_history=[{"replications": n, "half_width": hw} for n, hw in c.history],
            precision=c.precision,
            precision_kpi=c.precision_kpi,
            precision_on=c.precision_on,
            half_width=c.half_width,
            precision_met=c.precision_met,
            warmup_check={n: chk.summary() for n, chk in checks.items()},
            overload={n: chk.summary() for n, chk in c.overload_checks().items()},
        )
        outputs = sorted(p.name for p in tmp.iterdir()) + [REPORT]
        (tmp / REPORT).write_text(c.stress_des(outputs, workers), encoding="utf-8")
    return Path(path)


def cmd_compare(args) -> int:
    from sendmodel.cli.main import warn
    from sendmodel.cli.options import CliError
    from sendmodel.common.io import check_output_dir

    if args.out:
        check_output_dir(args.out)  # before the runs: never replace a file or someone else's folder
    if args.min_reps > args.max_reps:
        raise CliError(f"--min-reps {args.min_reps} is above --max-reps {args.max_reps}")
    if args.ranges and not args.uncertainty:
        raise CliError("--ranges goes with --uncertainty N (the parameter sets to draw from the ranges)")
    files = list(args.scenario)
    scenarios = {}
    for f in files:
        sc = load_scenario(f)
        warn(f, sc)
        if sc.name in scenarios:
            raise ScenarioError(f, "name", f"two options are named {sc.name!r}; give each file its own name")
        scenarios[sc.name] = sc
    baseline = _resolve_baseline(args.baseline, files, scenarios)
    reps = args.reps  # a whole number of at least 1 or 'auto' (checked by the parser)
    if reps == "auto" and args.precision is None:
        raise CliError("--reps auto needs --precision (e.g. --precision 1 for 1 percentage point)")

    def progress(msg: str) -> None:
        print(f"  {msg}", file=sys.stderr, flush=True)

    c = run_comparison(scenarios, baseline, reps, args.seed, workers=args.workers, precision=args.precision,
                       precision_kpi=args.precision_kpi, min_replications=args.min_reps,
                       max_replications=args.max_reps, progress=progress if reps == "auto" else None)
    sc = scenarios[baseline]
    print(f"Options compared with {baseline}: {len(scenarios)} options for {sc.population:,.0f} children 0-17, "
          f"{sc.simulation.horizon_days:g} days measured after {sc.simulation.warm_up_days:g} days' warm-up")
    print(c.summary_text())
    if reps == "auto" and not c.precision_met:
        print(f"(stopped at the cap of {args.max_reps} replications; raise --max-reps for more)")
    for name, chk in c.warmup_checks().items():
        print(f"{name}: {chk.text()}")
        for w in chk.warnings():
            print(f"warning: {w}", file=sys.stderr)
    print()
    print(format_capacity(c))
    print()
    print(format_headline(c))
    for kpi in BY_SERVICE:
        block = format_by_service(c, kpi)
        if block:
            print()
            print(block)
    vfm = format_value_for_money(c)
    if vfm:
        print()
        print(vfm)
    years = format_by_year(c)
    if years:
        print()
        print(years)
    extra = {}
    if args.uncertainty:
        extra = _uncertainty(scenarios, baseline, args, c.replications)
    if args.out:
        out = write_dir(c, args.out, files, sys.argv, args.workers, extra)
        print(f"\nWrote comparison.csv, value_for_money.csv, kpis.csv, overload.csv, manifest.json, plots and the "
              f"STRESS-DES report to {out}/")
    return 0


UNCERTAIN_KPIS = ("advice_within_6w_pct", "plans_within_20w_pct", "routine_waiting_weeks_per_year",
                  "cost_total_gbp")


def _uncertainty(scenarios: dict, baseline: str, args, replications: int) -> dict[str, pd.DataFrame]:
    """The comparison under input uncertainty (--uncertainty N): printed, and returned as the folder's CSVs."""
    from sendmodel.cli.options import CliError
    from sendmodel.studies.uncertainty.propagate import (
        compare_uncertain,
        option_against_option,
        uncertain_inputs,
        value_for_money,
        with_ranges,
    )

    if args.ranges:
        from sendmodel.scenario.loading import load_scenario

        ranges = load_scenario(args.ranges)
        if not ranges.uncertain_inputs:
            raise CliError(f"--ranges {args.ranges}: the file gives no field as a range")
        scenarios, kept = with_ranges(scenarios, ranges)
        for name, own in kept.items():
            if own:
                print(f"  {name} sets {', '.join(own)} itself: its own value is kept, not the range",
                      file=sys.stderr)
    inputs = uncertain_inputs(scenarios)
    if not inputs:
        raise CliError("--uncertainty needs fields given as ranges in the scenario files, e.g. p_known: "
                       "{uncertain: triangular, low: 0.4, mode: 0.55, high: 0.7}")
    print(f"\nInput uncertainty: {args.uncertainty} parameter sets (Latin hypercube, seed {args.seed}) of "
          f"{', '.join(u.path for u in inputs)}, {replications} replications each, every option on the same "
          "draws and replications ...", file=sys.stderr, flush=True)
    summary, per_set = compare_uncertain(
        scenarios, baseline, sets=args.uncertainty, replications=replications, seed=args.seed,
        workers=args.workers, progress=lambda j, n: print(f"  parameter set {j} of {n}", file=sys.stderr,
                                                          flush=True))
    t = summary[summary["kpi"].isin(UNCERTAIN_KPIS) & (summary["service"] == "all")]
    show = pd.DataFrame({
        "option": t["option"], "KPI": t["label"],
        "difference, noise only [95% CI]": [f"{_signed(a)} [{_signed(lo)}, {_signed(hi)}]" for a, lo, hi in
                                            zip(t["diff_central"], t["noise_ci_low"], t["noise_ci_high"])],
        "noise and inputs [95% interval]": [f"{_signed(a)} [{_signed(lo)}, {_signed(hi)}]" for a, lo, hi in
                                            zip(t["diff_mean_over_sets"], t["noise_and_input_low"],
                                                t["noise_and_input_high"])],
        "P(better than baseline)": t["p_better"].map(lambda x: "-" if pd.isna(x) else f"{100 * x:.0f}%"),
        "main driver": t["main_driver"],
    })
    print("\nUnder input uncertainty (differences from the baseline):")
    with pd.option_context("display.width", 250, "display.max_colwidth", 60):
        print(show.to_string(index=False))
    vfm, pairs = value_for_money(per_set), option_against_option(summary, per_set)
    if not vfm.empty:
        print("\nCost per extra health advice within 6 weeks over the parameter sets:")
        print(pd.DataFrame({
            "option": vfm["option"],
            "GBP per extra, median [95% of sets]": [
                "-" if pd.isna(m) else f"{m:,.0f} [{lo:,.0f}, {hi:,.0f}]"
                for m, lo, hi in zip(vfm["gbp_per_extra_median"], vfm["gbp_per_extra_low"], vfm["gbp_per_extra_high"])],
            "dominant (more for no extra cost)": vfm["p_dominant"].map(lambda x: f"{100 * x:.0f}% of sets"),
            "no more on-time advice": vfm["p_no_more_on_time"].map(lambda x: f"{100 * x:.0f}% of sets"),
        }).to_string(index=False))
    head = pairs[pairs["kpi"].isin(("advice_within_6w_pct", "plans_within_20w_pct", CE_KPI))
                 & (pairs["service"] == "all")]
    if not head.empty:
        print("\nOption against option (P(the row's option is better than the column's)):")
        for lab, g in head.groupby("label", sort=False):
            w = g.pivot(index="option", columns="against", values="p_better")
            print(f"  {lab}:")
            print("    " + w.map(lambda x: "" if pd.isna(x) else f"{100 * x:.0f}%").to_string().replace("\n",
                                                                                                    "\n    "))
    return {"uncertainty.csv": summary, "uncertainty_sets.csv": per_set,
            "uncertainty_value_for_money.csv": vfm, "uncertainty_option_against_option.csv": pairs}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare option scenarios with a baseline (paired, common random numbers), with costs and who pays",
        description="Run every option on the same replications (common random numbers) and compare each with "
        "the baseline: paired differences with 95%% CIs, cost per extra health advice within 6 weeks, who pays.",
    )
    p.add_argument("scenario", nargs="+", help="scenario files, the baseline among them")
    p.add_argument("--baseline", required=True, help="name (or file name without .yaml) of the baseline option")
    from sendmodel.cli.options import add_precision_options, add_run_options, positive_int

    add_run_options(p, reps=10, auto=True, reps_help="replications per option, or 'auto' (default 10)",
                    seed_help="base seed, the same for every option (default 2024)")
    add_precision_options(p, "the paired differences", ", and the goal of --reps auto")
    p.add_argument("--min-reps", type=positive_int, default=5,
                   help="replications to start from with --reps auto (default 5)")
    p.add_argument("--max-reps", type=positive_int, default=100,
                   help="cap on replications with --reps auto (default 100)")
    p.add_argument("--uncertainty", type=positive_int, default=None, metavar="N",
                   help="also carry the fields given as ranges through: N parameter sets (Latin hypercube), each "
                   "option on the same draws; writes uncertainty.csv and uncertainty_sets.csv")
    p.add_argument("--ranges", metavar="FILE",
                   help="with --uncertainty: give every option the ranges of FILE (e.g. scenarios/"
                   "baseline_ranges.yaml) where it keeps the field at the range's central value (an option that "
                   "sets the field itself keeps its own value)")
    p.add_argument("--out", help="folder for comparison.csv, kpis.csv, manifest.json, plots and stress_des.md")
    p.set_defaults(func=cmd_compare)
