"""A DMO/DCO resource business case: how many PAs, what they cost, who pays, for any population.

For each lever (the DMO/DCO role, and each health service that writes EHC advice) the capacity solver
(:mod:`sendmodel.capacity_solver`) finds the fewest PAs a week that meet its target with 95% confidence. Beside
it stand the benchmarks a board asks for: the BACD/BACCH recommendation of 2 dedicated DMO/DCO PAs a week per
70,000 children 0-17 (CDC DMO/DCO handbook), the PAs funded today and the gap, each in PAs a week, WTE
(10 PAs = 1 WTE, NHS consultant contract) and GBP a year (the scenario's unit cost per PA, paid for every week
of the year, leave included, as :mod:`sendmodel.costs` counts it). The "plan" (every lever at the PAs the model
says are needed) is then run beside today's commissioning and any option scenarios on common random numbers
(:func:`sendmodel.compare`), and costed by commissioner.

Every figure traces to a parameter (its field path and the source recorded in the scenario) or to a run (the
``runs`` table: lever, PA level, replications, seed, KPI mean and 95% CI).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sendmodel.analysis.costs import DAYS_PER_YEAR, cost_lines, funded_by
from sendmodel.analysis.labels import COMMISSIONER_LABELS
from sendmodel.common.parallel import default_workers
from sendmodel.scenario.config import HOURS_PER_PA, REFERENCE_POPULATION, Scenario
from sendmodel.studies.business_case.standards import (
    BACD_PAS_PER_70K,
    BACD_SOURCE,
    DEFAULT_ADVICE_PCT,
    DEFAULT_DMO_WORKING_DAYS,
    DEFAULT_HEALTH_PCT,
    DEFAULT_ROUTINE,
    HEADLINE_KPIS,
    NO_EXTRA_PAS,
    PAS_PER_WTE,
    ROUTINE_CHOICES,
    ROUTINE_KPI,
    ROUTINE_STANDARD_WEEKS,
    TODAY_TOLERANCE,
    WTE_SOURCE,
    lever_label,
    prices_phrase,
)
from sendmodel.studies.capacity.solver import (
    DERIVED_KPIS,
    Runs,
    SolveResult,
    Target,
    funded_pas,
    higher_is_better,
    lever_services,
    run_kpis,
    solve_capacity,
    with_pas,
)

#: First step of a search for a figure held at today's, as a share of today's PAs (the answer is close by).
HELD_FIRST_STEP = 0.02

# --- targets ---------------------------------------------------------------------------------------------------


def infer_lever(target: Target) -> str:
    """The lever a target most naturally moves: DMO/DCO KPIs the role, a service's KPI that service, else health."""
    if target.kpi.startswith("dmo_"):
        return "dmo"
    return target.service if target.service != "all" else "health"


def parse_lever_target(text: str, confidence: str = "ci") -> tuple[str, Target]:
    """``"LEVER:KPI[@SERVICE]>=X"`` or ``"KPI[@SERVICE]>=X"`` (lever inferred) into (lever, Target).

    Examples: ``dmo:dmo_signoff_median_working_days<=10``, ``slt+ot:advice_within_6w_pct>=90``,
    ``advice_within_6w_pct@camhs>=85``.
    """
    head, sep, tail = text.partition(":")
    if sep and not any(op in head for op in (">=", "<=")):
        return head.strip(), Target.parse(tail, confidence)
    t = Target.parse(text, confidence)
    return infer_lever(t), t


def _advice_health(scenario: Scenario) -> list[str]:
    return [n for n, s in scenario.services.items()
            if s.kind == "health" and s.advice is not None and s.advice.p_requested > 0]


def service_target_specs(scenario: Scenario, advice_pct: float = DEFAULT_ADVICE_PCT,
                         routine: str = DEFAULT_ROUTINE) -> list[str]:
    """Per health service that gives advice: at least ``advice_pct``% of its advice within 6 weeks and, unless
    ``routine`` is "none", its median routine wait held at today's ("today") or at 18 weeks ("18w").

    Both on the service's own lever, so its need is the PAs that meet both: EHC advice that goes first can then
    never look cheap by letting the routine list grow.
    """
    if routine not in ROUTINE_CHOICES:
        raise ValueError(f"routine must be one of {', '.join(ROUTINE_CHOICES)} (got {routine!r})")
    out = []
    for name in _advice_health(scenario):
        out.append(f"{name}:advice_within_6w_pct@{name}>={advice_pct:g}")
        if routine != "none" and scenario.services[name].routine_referrals_per_week_per_70k > 0:
            bound = "today" if routine == "today" else f"{ROUTINE_STANDARD_WEEKS:g}"
            out.append(f"{name}:{ROUTINE_KPI}@{name}<={bound}")
    return out


def default_target_specs(scenario: Scenario, advice_pct: float = DEFAULT_ADVICE_PCT,
                         routine: str = DEFAULT_ROUTINE) -> list[str]:
    """The default targets as text (``<=today`` is resolved by :func:`resolve_today` once today has run).

    - the DMO/DCO role: sign-off median within 10 working days;
    - each health service that gives advice: :func:`service_target_specs` (80% of its advice within 6 weeks,
      its median routine wait no longer than today's);
    - all health services scaled together: at least 90% of all health advice within 6 weeks.
    """
    out = []
    if scenario.ehc is not None:
        out.append(f"dmo:dmo_signoff_median_working_days<={DEFAULT_DMO_WORKING_DAYS:g}")
    out += service_target_specs(scenario, advice_pct, routine)
    if len(_advice_health(scenario)) > 1:
        out.append(f"health:advice_within_6w_pct>={DEFAULT_HEALTH_PCT:g}")
    return out


_TODAY_RE = re.compile(r"(<=|>=)\s*today\s*$")


def resolve_today(text: str, today: pd.DataFrame | None) -> str:
    """``"...KPI@S<=today"`` with today's mean of that KPI (``today``: today's KPI frame), one unit looser.

    The unit (a week for waits, a point for shares) keeps the noise of today's own runs from asking for more
    PAs than today to stand still. Rounded outward to one decimal. Text without "today" comes back unchanged.
    """
    m = _TODAY_RE.search(text)
    if not m:
        return text
    _, t = parse_lever_target(text[:m.start()] + m.group(1) + "0")
    if today is None:
        raise ValueError(f"target {text!r}: 'today' needs today's runs")
    values = today[(today["kpi"] == t.kpi) & (today["service"] == t.service)]["value"].dropna()
    if values.empty:
        raise ValueError(f"target {text!r}: today's runs give no {t.kpi} for {t.service}")
    if t.sense == "<=":
        bound = math.ceil((float(values.mean()) + TODAY_TOLERANCE) * 10 - 1e-9) / 10
    else:
        bound = math.floor((float(values.mean()) - TODAY_TOLERANCE) * 10 + 1e-9) / 10
    return f"{text[:m.start()]}{m.group(1)}{bound:g}"


def default_targets(scenario: Scenario, confidence: str = "ci", today: pd.DataFrame | None = None,
                    advice_pct: float = DEFAULT_ADVICE_PCT, routine: str = DEFAULT_ROUTINE
                    ) -> list[tuple[str, Target]]:
    """The default levers and targets (:func:`default_target_specs`), resolved against ``today``'s KPIs."""
    return [parse_lever_target(resolve_today(t, today), confidence)
            for t in default_target_specs(scenario, advice_pct, routine)]


# --- costs of a lever ------------------------------------------------------------------------------------------


def lever_cost_per_year(scenario: Scenario, services: tuple[str, ...], total_pas: float | None) -> float:
    """GBP a year of ``services`` at ``total_pas`` PAs a week together (today's PAs when None).

    NaN when a service has no unit cost in the scenario.
    """
    if any(scenario.services[s].cost_per_pa_gbp is None for s in services):
        return float("nan")
    sc = scenario if total_pas is None else with_pas(scenario, services, total_pas)
    return float(sum(ln["gbp_per_year"] for ln in cost_lines(sc) if ln["service"] in services))


def uprate(scenario: Scenario, price_year: int | None = None, cost_year: int | None = None,
           pay_uplift_pct: float = 0.0) -> tuple[Scenario, float]:
    """The scenario with every unit cost per PA or hour carried from ``price_year`` prices to ``cost_year``'s by
    a pay uplift of ``pay_uplift_pct``% a year (compounded), and the factor applied.

    Unit costs per PA are staff costs, so a pay award moves them; one-off set-up costs (``costs.setup``) and
    recurring non-pay costs (``costs.recurring``) are left in their own prices. Without both years, or with no
    uplift, nothing changes (factor 1).
    """
    if (price_year is None) != (cost_year is None) or (pay_uplift_pct and price_year is None):
        raise ValueError("to uplift unit costs, give the price year, the cost year and the pay uplift together "
                         "(--price-year, --cost-year, --pay-uplift-pct)")
    if price_year is None or not pay_uplift_pct:
        return scenario, 1.0
    factor = (1.0 + pay_uplift_pct / 100.0) ** (cost_year - price_year)
    changes = {}
    for name, svc in scenario.services.items():
        for f in ("gbp_per_pa", "gbp_per_hour"):
            if getattr(svc, f) is not None:
                changes[f"services.{name}.{f}"] = getattr(svc, f) * factor
    return (scenario.override(changes) if changes else scenario), factor


def _unit_cost_trace(scenario: Scenario, services: tuple[str, ...]) -> str:
    parts = []
    for s in services:
        svc = scenario.services[s]
        if svc.gbp_per_pa is not None:
            parts.append(f"services.{s}.gbp_per_pa = {svc.gbp_per_pa:g}")
        elif svc.gbp_per_hour is not None:
            parts.append(f"services.{s}.gbp_per_hour = {svc.gbp_per_hour:g} (x {HOURS_PER_PA:g} h per PA)")
        else:
            parts.append(f"services.{s}: no unit cost")
    return "; ".join(parts) + " x 365.25/7 weeks a year"


# --- the business case -----------------------------------------------------------------------------------------


@dataclass
class BusinessCase:
    """The tables of a business case (DataFrames) and what produced them.

    Tables
    ------
    summary : the benchmarks, one row per (lever, benchmark): PAs a week, per 70,000 children, WTE, GBP a year,
        and ``trace`` (the parameter or run each figure comes from).
    targets : one row per lever: target, PAs funded and needed, gap, reachable, PA levels and runs used.
    options : today, the plan and each option on common random numbers: per KPI, mean, 95% CI, paired
        difference from today and its 95% CI.
    cost_by_commissioner : GBP a year today and with the plan, by responsible commissioner and by funder.
    cost_lines : the same per service (line), with its unit cost and the parameter it comes from.
    cost_by_year : today's and the plan's money in each financial year the run measures, the extra by funder.
    cost_sensitivity : the plan's extra cost a year, total and by funder, with unit costs 10% lower or higher,
        the extra PAs at agency rates, and non-pay costs 25% higher.
    assumptions : every setting and scenario parameter with its value and source.
    runs : every PA level the solver ran (run_id, lever, PAs, KPI mean and CI, met) and the comparison runs.
    """

    scenario: Scenario
    plan: Scenario
    solutions: list[SolveResult]
    summary: pd.DataFrame
    targets: pd.DataFrame
    options: pd.DataFrame
    cost_by_commissioner: pd.DataFrame
    cost_lines: pd.DataFrame
    assumptions: pd.DataFrame
    runs: pd.DataFrame
    settings: dict = field(default_factory=dict)
    cost_sensitivity: pd.DataFrame | None = None  # the plan's extra cost as unit costs move (COST_CASES)
    cost_by_year: pd.DataFrame | None = None  # today's and the plan's money in each financial year
    capacity: dict = field(default_factory=dict)  # today's and the plan's capacity checks (OverloadCheck)
    input_sets: pd.DataFrame | None = None  # PAs needed at each parameter set of the uncertain inputs
    by_year: pd.DataFrame | None = None  # each financial year's PAs, solved year after year (by_year.py)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by sheet name, in the workbook's order."""
        return {
            "summary": self.summary,
            "targets": self.targets,
            **({"PAs by year": self.by_year} if self.by_year is not None else {}),
            "options compared": self.options,
            "cost by commissioner": self.cost_by_commissioner,
            "cost lines": self.cost_lines,
            **({"cost sensitivity": self.cost_sensitivity} if self.cost_sensitivity is not None else {}),
            **({"cost by year": self.cost_by_year} if self.cost_by_year is not None else {}),
            "assumptions": self.assumptions,
            "runs": self.runs,
            **({"capacity check": pd.concat([c.table().assign(scenario=n) for n, c in self.capacity.items()],
                                            ignore_index=True)} if self.capacity else {}),
            **({"input uncertainty": self.input_sets} if self.input_sets is not None else {}),
        }

    def to_dir(self, path: str | Path) -> dict[str, Path]:
        """Write the workbook, the HTML report (plots embedded) and the plots as PNG; returns the paths."""
        from sendmodel.studies.business_case.report import write_business_case

        return write_business_case(self, Path(path))


def _run_id(lever: str, order: int) -> str:
    return f"{lever}#{order}"


def _met_trace(res: SolveResult) -> str:
    """The runs that fix a target's answer: the level that met it and the one a step below that missed."""
    ev = res.evaluations
    met = ev[ev["pas_per_week"] == res.pas_per_week].iloc[0]
    below = ev[np.isclose(ev["pas_per_week"], res.pas_per_week - res.step_pas)]
    trace = f"runs {_run_id(res.lever, int(met['order']))} (met: {met['judged']:.2f})"
    if not below.empty:
        b = below.iloc[0]
        trace += (f" and {_run_id(res.lever, int(b['order']))} ({res.pas_per_week - res.step_pas:g} PAs missed: "
                  f"{b['judged']:.2f})")
    return trace + f"; target: {res.target.describe()}"


def _benchmarks(sc: Scenario, group: list[SolveResult], over_inputs: dict | None = None) -> list[dict]:
    """The summary rows of one lever: funded, the BACD/BACCH norm (DMO/DCO), what each target and all of them
    need, and the extra PAs beyond today's (never below zero: PAs the targets do not need still do routine work
    and the rest of the role, so they are not offered as a saving); with uncertain inputs, what the lever needs
    at the 90th percentile of them (``over_inputs``: lever -> its row of :func:`_needed_over_inputs`)."""
    res = group[0]
    services, funded = res.services, res.funded_pas_per_week
    per70 = REFERENCE_POPULATION / sc.population
    today_gbp = lever_cost_per_year(sc, services, None)
    unit = _unit_cost_trace(sc, services)
    paths = " + ".join(f"services.{s}.pas_per_week" for s in services)
    basis = "" if all(sc.services[s].capacity_basis == "absolute" for s in services) else (
        f" (per 70,000, x population {sc.population:,.0f} / 70,000)"
    )
    name = lever_label(sc, res.lever, services)
    rows = []

    def row(bench, pas, gbp, trace, note=""):
        rows.append({
            "lever": res.lever,
            "lever_label": name,
            "benchmark": bench,
            "pas_per_week": pas,
            "pas_per_week_per_70k": None if pas is None else pas * per70,
            "wte": None if pas is None else pas / PAS_PER_WTE,
            "gbp_per_year": gbp,
            "trace": trace,
            "note": note,
        })

    def extra(bench, pas, trace, none_note):
        more = max(0.0, pas - funded)
        gbp = lever_cost_per_year(sc, services, pas) - today_gbp if more > 1e-9 else 0.0
        row(bench, more, gbp, trace, none_note if more <= 1e-9 else "")

    row("Funded today", funded, today_gbp, f"{paths}{basis}; cost: {unit}")
    bacd = None
    if res.lever == "dmo":
        bacd = BACD_PAS_PER_70K * sc.scale
        row("BACD/BACCH recommendation", bacd, lever_cost_per_year(sc, services, bacd),
            f"2 PAs per 70,000 children x {sc.population:,.0f} / 70,000 ({BACD_SOURCE}); cost: {unit}",
            "covers the whole DMO/DCO role; the model counts only the statutory sign-off work it simulates")
    if len(group) > 1:
        for r in group:
            if r.reachable:
                row(f"Needed for: {r.target.describe()}", r.pas_per_week,
                    lever_cost_per_year(sc, services, r.pas_per_week), _met_trace(r) + f"; cost: {unit}", r.note)
            else:
                row(f"Needed for: {r.target.describe()}", None, None,
                    f"runs {r.lever}#1-#{r.levels}; target: {r.target.describe()}", f"NOT REACHABLE: {r.note}")
    missed = [r for r in group if not r.reachable]
    if missed:
        why = "; ".join(f"{r.target.spec}: {r.note}" for r in missed)
        row("Needed (model)", None, None,
            "; ".join(f"runs {r.lever}#1-#{r.levels}; target: {r.target.describe()}" for r in missed),
            f"NOT REACHABLE: {why}")
        row("Extra PAs needed beyond funded", None, None, "a target is not reachable within the search", why)
    else:
        binding = max(group, key=lambda r: r.pas_per_week)
        needed = binding.pas_per_week
        trace = _met_trace(binding) if len(group) == 1 else (
            f"the most any of the lever's {len(group)} targets needs ({binding.target.spec}): {_met_trace(binding)}")
        row("Needed (model)", needed, lever_cost_per_year(sc, services, needed), trace + f"; cost: {unit}",
            binding.note)
        extra("Extra PAs needed beyond funded", needed, "Needed (model) minus Funded today, or none", NO_EXTRA_PAS)
    q = (over_inputs or {}).get(res.lever)
    if q is not None:
        bench = f"Needed at the 90th percentile of the inputs ({q['sets']} input sets)"
        trace = (f"sheet 'input uncertainty': the lever's targets solved at each of {q['sets']} parameter sets; "
                 f"median {_pas_text(q['median'])}, 90th percentile {_pas_text(q['p90'])} (by nearest rank"
                 + (f": with fewer than 10 sets, the most any of the {q['sets']} needs)" if q["sets"] < 10 else ")"))
        if q["p90"] is None:
            row(bench, None, None, trace, f"NOT REACHABLE at {q['unreachable']} of {q['sets']} input sets")
        else:
            row(bench, q["p90"], lever_cost_per_year(sc, services, q["p90"]), trace + f"; cost: {unit}",
                f"not reachable at {q['unreachable']} of {q['sets']} input sets" if q["unreachable"] else "")
            extra("Extra beyond funded at the 90th percentile of the inputs", q["p90"],
                  "Needed at the 90th percentile of the inputs minus Funded today, or none", NO_EXTRA_PAS)
    if bacd is not None:
        extra("BACD/BACCH: extra beyond funded", bacd, "BACD/BACCH recommendation minus Funded today, or none",
              "funded at or above the BACD/BACCH recommendation")
    return rows


def _pas_text(pas: float | None) -> str:
    return "not reachable" if pas is None else f"{pas:g} PAs a week"


def _nearest_rank(values: list[float], q: float) -> float:
    """The ``q`` quantile by nearest rank (a PA level some set needs, never one between two sets)."""
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)]


def _needed_over_inputs(sc: Scenario, pairs: list[tuple[str, Target]], sets: int, replications: int, seed: int,
                        step, cap_factor, runs, progress) -> tuple[pd.DataFrame, dict]:
    """Every target solved again at ``sets`` parameter sets of the uncertain inputs (seeded Latin hypercube;
    every set on the same replications). Returns (per set: its inputs, each target's PAs and each lever's, the
    most its targets need) and per lever its median and 90th percentile by nearest rank over the sets, with an
    unreachable set counted as needing more than any reachable one, so the percentile says "not reachable"
    when more than a tenth of the sets cannot be met."""
    from sendmodel.studies.uncertainty.propagate import parameter_sets

    inputs = list(sc.uncertain_inputs)
    if not inputs:
        raise ValueError("input_sets needs fields given as ranges in the scenario, e.g. p_known: {uncertain: "
                         "triangular, low: 0.4, mode: 0.55, high: 0.7}")
    draws = parameter_sets(inputs, sets, seed)
    rows = []
    for j, draw in draws.iterrows():
        sj = sc.override({p: float(v) for p, v in draw.items()})
        if progress is not None:
            progress(f"input set {j + 1} of {sets}: " + ", ".join(f"{p} = {v:.3g}" for p, v in draw.items()))
        for lever, t in pairs:
            cap = None
            if cap_factor is not None:
                cap = max(cap_factor * funded_pas(sj, lever_services(sj, lever)), 10.0 * sj.scale)
            r = solve_capacity(sj, lever, t, replications=replications, seed=seed, step=step, cap=cap, runs=runs)
            if progress is not None:
                progress(f"  input set {j + 1}: {lever}: {t.describe()}: "
                         + (f"{r.pas_per_week:g} PAs a week" if r.reachable else "not reachable"))
            rows.append({"set": j + 1, **draw.to_dict(), "lever": lever, "target": t.spec,
                         "pas_per_week": r.pas_per_week if r.reachable else None, "reachable": r.reachable,
                         "note": r.note})
    per_set = pd.DataFrame(rows)
    per_lever = {}
    for lever, g in per_set.groupby("lever", sort=False):
        need = [float(gs["pas_per_week"].max()) if gs["reachable"].all() else math.inf
                for _, gs in g.groupby("set")]
        median, p90 = _nearest_rank(need, 0.5), _nearest_rank(need, 0.9)
        per_lever[lever] = {"sets": sets, "unreachable": int(sum(math.isinf(v) for v in need)),
                            "median": None if math.isinf(median) else median,
                            "p90": None if math.isinf(p90) else p90}
    return per_set, per_lever


def _targets_table(sc: Scenario, sols: list[SolveResult]) -> pd.DataFrame:
    rows = []
    for r in sols:
        s = r.summary()
        s["lever_label"] = lever_label(sc, r.lever, r.services)
        s["pas_per_week_needed_by_service"] = "; ".join(f"{k}: {v:g}" for k, v in r.per_service_pas.items())
        s["run_ids"] = f"{r.lever}#1-#{r.levels}"
        gap = s.pop("gap_pas_per_week")
        s["extra_pas_per_week"] = None if gap is None else max(0.0, gap)
        rows.append(s)
    cols = ["lever", "lever_label", "services", "target", "target_spec", "reachable", "pas_per_week_funded",
            "pas_per_week_needed", "extra_pas_per_week", "pas_per_week_needed_by_service", "offered_load_pas_per_week",
            "search_cap_pas_per_week", "levels_run", "runs", "simulated", "replications", "seed", "monotone",
            "run_ids", "note"]
    return pd.DataFrame(rows)[cols]


def plan_scenario(sc: Scenario, sols: list[SolveResult], name: str = "plan") -> Scenario:
    """Today's scenario with every reachable lever at the PAs the model says it needs.

    The plan only adds: a service whose target alone is met with fewer PAs than today keeps today's PAs, because
    the same PAs also do routine (non-EHC) work that the target does not count. A service moved by several
    levers (e.g. its own and "health") gets the largest of their answers.
    """
    pas = {}
    for r in sols:
        if not r.reachable:
            continue
        sc_r = with_pas(sc, r.services, r.pas_per_week)
        for s in r.services:
            pas[s] = max(pas.get(s, sc.services[s].pas_per_week), sc_r.services[s].pas_per_week)
    changes = {}
    for s, p in pas.items():
        svc = sc.services[s]
        changes[f"services.{s}.pas_per_week"] = p
        if svc.ring_fenced_pas_per_week > 0 and svc.pas_per_week > 0:
            changes[f"services.{s}.ring_fenced_pas_per_week"] = p * svc.ring_fenced_pas_per_week / svc.pas_per_week
    return sc.override(changes, name=name)


#: What a finance officer asks of the extra cost: (case, what changes, factor on PA lines' extra, factor on the
#: extra PAs only at agency rates, factor on non-pay lines' extra). Demand is not here: more demand needs more
#: PAs, which only the solver can say (rerun with the demand changed, or give it a range and --input-sets).
COST_CASES = (
    ("as costed", "unit costs as in the scenario", 1.0, 0.0, 1.0),
    ("unit costs 10% lower", "every cost per PA or hour 10% lower (a cheaper skill mix, a lower contract price)",
     0.9, 0.0, 1.0),
    ("unit costs 10% higher", "every cost per PA or hour 10% higher (a pay award, a higher contract price)",
     1.1, 0.0, 1.0),
    ("extra PAs at agency rates", "the extra PAs filled by agency or locum staff at 50% above the unit cost "
     "until recruited", 1.0, 0.5, 1.0),
    ("non-pay and set-up costs 25% higher", "equipment, personal budgets and set-up costs 25% above their "
     "estimates", 1.0, 0.0, 1.25),
)


def cost_sensitivity(today: Scenario, lines: pd.DataFrame) -> pd.DataFrame:
    """The plan's extra cost a year, in total and by funder, as the unit costs move (:data:`COST_CASES`).

    Exact, not simulated: a cost is PAs times a unit cost, so the PAs the plan needs do not change with what
    they cost; only the money does."""
    rows = []
    for case, what, pa_f, agency, other_f in COST_CASES:
        by = dict.fromkeys(today.funders(), 0.0)
        for _, ln in lines.iterrows():
            extra = ln["extra_gbp_per_year"]
            if ln["kind"] == "pas":
                extra = extra * pa_f + max(extra, 0.0) * agency
            else:
                extra = extra * other_f
            for f, v in funded_by(today, ln["commissioner"], extra, ln["split"]).items():
                by[f] += v
        rows.append({"case": case, "what": what, "extra_gbp_per_year": sum(by.values()),
                     **{f"extra_gbp_per_year_{f}": v for f, v in by.items()}})
    return pd.DataFrame(rows)


def cost_by_year(today: Scenario, plan: Scenario) -> pd.DataFrame:
    """Today's cost and the plan's in each financial year (April-March) the run measures, in total and the
    plan's extra by funder: the money in the year (a year cut by the run's start or end is partial, its days
    given, never stretched), with dated capacity changes in the year they apply."""
    from sendmodel.analysis.periods import period_windows

    rows = []
    for label, a, b in period_windows(today, "financial"):
        share = (b - a) / DAYS_PER_YEAR
        by, _ = _cost_tables(today, plan, (a, b))
        total = by[by["basis"] == "total"].iloc[0]
        extra = by[by["basis"] == "funder (joint costs split)"].set_index("who")["extra_gbp_per_year"]
        rows.append({"financial_year": label, "days": b - a, "gbp_today": total["gbp_per_year_today"] * share,
                     "gbp_plan": total["gbp_per_year_plan"] * share, "extra_gbp": total["extra_gbp_per_year"] * share,
                     **{f"extra_gbp_{f}": float(extra[f]) * share for f in today.funders()}})
    return pd.DataFrame(rows)


def _cost_tables(today: Scenario, plan: Scenario, window: tuple[float, float] | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    t_lines = {ln["line"]: ln for ln in cost_lines(today, window)}
    p_lines = {ln["line"]: ln for ln in cost_lines(plan, window)}
    lines = []
    for key in list(dict.fromkeys([*t_lines, *p_lines])):
        t, p = t_lines.get(key), p_lines.get(key)
        ln = t or p
        svc = ln.get("service")
        if svc is None:
            src = "costs.recurring (non-pay, in its own prices)" if ln["kind"] == "recurring" else "costs.setup"
        else:  # a service's line, or a cell of its responsible-commissioner matrix
            who = "commissioner" if key == svc else "responsible (the responsible-commissioner matrix)"
            src = f"services.{svc}.{who}; " + _unit_cost_trace(today, (svc,))
        lines.append({
            "line": key,
            "label": ln["label"],
            "kind": ln["kind"],
            "commissioner": ln["commissioner"],
            "commissioner_label": COMMISSIONER_LABELS.get(ln["commissioner"], ln["commissioner"]),
            "gbp_per_pa": ln["gbp_per_pa"],
            "pas_per_week_today": t["pas_per_week"] if t else 0.0,
            "pas_per_week_plan": p["pas_per_week"] if p else 0.0,
            "gbp_per_year_today": t["gbp_per_year"] if t else 0.0,
            "gbp_per_year_plan": p["gbp_per_year"] if p else 0.0,
            "trace": src,
            "split": ln.get("split"),
        })
    lines_df = pd.DataFrame(lines, columns=["line", "label", "kind", "commissioner", "commissioner_label",
                                            "gbp_per_pa", "pas_per_week_today", "pas_per_week_plan",
                                            "gbp_per_year_today", "gbp_per_year_plan", "trace", "split"])
    lines_df["extra_gbp_per_year"] = lines_df["gbp_per_year_plan"] - lines_df["gbp_per_year_today"]

    rows = []
    for c in today.commissioners():
        sel = lines_df[lines_df["commissioner"] == c]
        rows.append({
            "basis": "responsible commissioner",
            "who": c,
            "who_label": COMMISSIONER_LABELS[c],
            "gbp_per_year_today": float(sel["gbp_per_year_today"].sum()),
            "gbp_per_year_plan": float(sel["gbp_per_year_plan"].sum()),
            "trace": "sum of cost lines with commissioner " + c,
        })
    split = today.costs.joint_split
    for f in today.funders():
        tot = {"today": 0.0, "plan": 0.0}
        for _, ln in lines_df.iterrows():
            tot["today"] += funded_by(today, ln["commissioner"], ln["gbp_per_year_today"], ln["split"])[f]
            tot["plan"] += funded_by(today, ln["commissioner"], ln["gbp_per_year_plan"], ln["split"])[f]
        rows.append({
            "basis": "funder (joint costs split)",
            "who": f,
            "who_label": COMMISSIONER_LABELS[f],
            "gbp_per_year_today": tot["today"],
            "gbp_per_year_plan": tot["plan"],
            "trace": f"own lines + {split.get(f, 0.0):g} of joint lines (costs.joint_split.{f})",
        })
    rows.append({
        "basis": "total",
        "who": "all",
        "who_label": "Total",
        "gbp_per_year_today": float(lines_df["gbp_per_year_today"].sum()),
        "gbp_per_year_plan": float(lines_df["gbp_per_year_plan"].sum()),
        "trace": "sum of all cost lines",
    })
    by = pd.DataFrame(rows)
    by["extra_gbp_per_year"] = by["gbp_per_year_plan"] - by["gbp_per_year_today"]
    return by, lines_df


def _assumptions(sc: Scenario, settings: dict, targets: list[tuple[str, Target]],
                 today: dict[str, str] | None = None) -> pd.DataFrame:
    from sendmodel.scenario.params import _short, _source, _walk

    rows = [
        ("business_case.population", f"{sc.population:,.0f}", "children aged 0-17 in the area",
         settings["population_source"]),
        ("business_case.bacd_pas_per_70k", BACD_PAS_PER_70K, "recommended DMO/DCO PAs a week per 70,000 children",
         BACD_SOURCE),
        ("business_case.hours_per_pa", HOURS_PER_PA, "hours in one programmed activity", WTE_SOURCE),
        ("business_case.pas_per_wte", PAS_PER_WTE, "PAs a week in one whole-time equivalent", WTE_SOURCE),
        ("business_case.weeks_paid_per_year", round(365.25 / 7, 3),
         "weeks a year a PA is paid for (leave included)", "sendmodel.costs: PAs are paid whether or not busy"),
        ("business_case.prices", prices_phrase(settings), "the prices GBP figures are in",
         "run setting (--price-year, --cost-year, --pay-uplift-pct); unit costs per PA or hour are uplifted, "
         "one-off set-up costs are not"),
        ("business_case.replications", settings["replications"], "replications at every PA level",
         "run setting (common random numbers: the same at every level)"),
        ("business_case.seed", settings["seed"], "base seed", "run setting"),
        ("business_case.confidence", settings["confidence"],
         "ci: the 95% CI bound on the safe side must meet the target; mean: the mean must", "run setting"),
        ("business_case.step_pas", settings["step"], "grid of PAs a week the solver searches", "run setting"),
    ]
    resolved = {v: k for k, v in (today or {}).items()}
    for lever, t in targets:
        src = "default target" if settings.get("default_targets") else "given by the user"
        asked = resolved.get(f"{lever}:{t.spec}")
        if asked is not None:
            src += (f" as {asked.split(':', 1)[1]}: today's mean in the runs of today's commissioning, "
                    f"{TODAY_TOLERANCE:g} looser so that standing still needs no extra PAs")
        rows.append((f"business_case.target.{lever}.{t.kpi}", t.spec, t.describe(), src))
    for p, v, d in _walk(sc):
        rows.append((p, _short(v), d, _source(sc, p, v)))
    return pd.DataFrame(rows, columns=["parameter", "value", "meaning and unit", "source"])


def _options_table(sc: Scenario, plan: Scenario, options: dict[str, Scenario], replications: int, seed: int,
                   runs: Runs, kpis: list[tuple[str, str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Today, the plan and the options on common random numbers; paired differences from today.

    Uses :func:`sendmodel.compare.paired_table` and :func:`~sendmodel.compare.cost_effectiveness` on KPI frames
    that include :func:`~sendmodel.capacity_solver.derived_kpis` (the working-day DMO/DCO sign-off).
    """
    from sendmodel.analysis.compare import CE_KPI, cost_effectiveness, paired_table

    scen = {"today": sc, "plan": plan, **options}
    frames = []
    rows = []
    for name, s in scen.items():
        k = run_kpis(s, replications, seed, runs=runs)
        k["scenario"] = name
        frames.append(k)
        what = {"today": "today's commissioning", "plan": "every lever at the PAs the model says are needed"}
        rows.append({"run_id": f"compare:{name}", "lever": "", "scenario": name, "replications": replications,
                     "seed": seed, "what": what.get(name, f"option {name} (scenarios/options)")})
    allk = pd.concat(frames, ignore_index=True)
    keep = pd.MultiIndex.from_tuples(kpis)
    idx = pd.MultiIndex.from_frame(allk[["kpi", "service"]])
    table = paired_table(allk[idx.isin(keep)], "today")
    table = pd.concat([table, cost_effectiveness(allk, "today")], ignore_index=True)
    derived = table["kpi"].isin(list(DERIVED_KPIS))
    # compare's verdicts know the direction of its own KPIs only; more capacity improves the derived ones as
    # capacity_solver.higher_is_better says
    moved = derived & table["ci_excludes_zero"] & (table["option"] != "today")
    up = table.loc[moved, "kpi"].map(higher_is_better).astype(bool)
    table.loc[moved, "verdict"] = np.where((table.loc[moved, "diff"] > 0) == up, "better", "worse")
    table["trace"] = "run compare:" + table["option"] + np.where(
        table["kpi"] == CE_KPI, " vs compare:today (Fieller interval)", "")
    kpi_order = {k: i for i, k in enumerate(dict.fromkeys([*(x for x, _ in kpis), CE_KPI]))}
    table["_o"] = table["option"].map({n: i for i, n in enumerate(scen)})
    table["_k"] = table["kpi"].map(kpi_order)
    table = table.sort_values(["_o", "_k"], kind="stable").drop(columns=["_o", "_k"]).reset_index(drop=True)
    return table, pd.DataFrame(rows)


def business_case(
    scenario: Scenario,
    population: float | None = None,
    targets: list[tuple[str, Target]] | list[str] | None = None,
    *,
    options: dict[str, Scenario] | None = None,
    replications: int = 10,
    seed: int = 2024,
    confidence: str = "ci",
    step: float | None = None,
    cap_factor: float | None = None,
    workers: int | None = None,
    progress=None,
    advice_pct: float = DEFAULT_ADVICE_PCT,
    routine: str = DEFAULT_ROUTINE,
    price_year: int | None = None,
    cost_year: int | None = None,
    pay_uplift_pct: float = 0.0,
    input_sets: int = 0,
    by_year: bool = False,
) -> BusinessCase:
    """Build the business case for ``scenario`` (at ``population`` children 0-17 if given).

    Parameters
    ----------
    scenario : Scenario
        Today's commissioning (e.g. ``scenarios/baseline.yaml``).
    population : float, optional
        Children aged 0-17; per-70,000 demand and capacity scale with it.
    targets : list, optional
        ``(lever, Target)`` pairs or strings ``"LEVER:KPI[@SERVICE]>=X"`` (see :func:`parse_lever_target`); X
        may be ``today`` (today's level, see :func:`resolve_today`). Default: :func:`default_target_specs`
        (DMO/DCO sign-off median within 10 working days; each health service at least ``advice_pct``% of its
        advice within 6 weeks with its routine wait held as ``routine`` says; all health advice at least 90%).
    options : dict of name -> Scenario, optional
        Option scenarios to compare with today and the plan (their population is set to ``population``).
    replications, seed : int
        Replications for today, the plan and each option, and the most at a PA level (a level clearly
        missed is decided on fewer); the same seed everywhere (common random numbers).
    confidence : "ci" or "mean"
        How a PA level is judged to meet a target (see :class:`~sendmodel.capacity_solver.Target`).
    step : float, optional
        PA grid (default 0.5 PAs a week).
    cap_factor : float, optional
        Search cap: the larger of ``cap_factor`` x today's PAs and 10 PAs per 70,000 children (default: the
        solver's, the larger of 4 x today's PAs and 10 PAs per 70,000).
    workers : int, optional
        Processes for the replications (default: every core).
    progress : callable, optional
        ``progress(message)`` after each run (the CLI prints it).
    advice_pct : float
        The default per-service advice target, % within 6 weeks.
    routine : "today", "18w" or "none"
        The default per-service routine-wait target: the median wait no longer than today's (plus a week), than
        the 18-week standard, or none.
    price_year, cost_year, pay_uplift_pct : optional
        The year the scenario's unit costs are priced at, the year to cost in, and the pay uplift a year (%)
        between them (see :func:`uprate`); GBP figures are then in ``cost_year`` prices.
    input_sets : int
        With fields given as ranges (uncertain inputs), solve every target again at this many parameter sets
        (seeded Latin hypercube, as ``compare --uncertainty``) and report each lever's PAs needed at the median
        and the 90th percentile of the inputs beside the central answer (:func:`_needed_over_inputs`).
    by_year : bool
        On a run of several years (a from-today scenario), also solve each financial year in turn, each year's
        added PAs from its first day and judged on its own KPIs (:mod:`.by_year`); the cost by year then
        prices that plan year by year. About as many runs again for each year.

    Returns
    -------
    BusinessCase
    """
    sc = scenario
    pop_source = source_for_population(scenario)
    if population is not None:
        sc = scenario.override({"population": float(population)})
        pop_source = "given for this business case (--population)"
    sc, price_factor = uprate(sc, price_year, cost_year, pay_uplift_pct)
    default = targets is None
    specs = default_target_specs(sc, advice_pct, routine) if targets is None else list(targets)
    if not specs:
        raise ValueError("no targets: give at least one, e.g. 'dmo:dmo_signoff_median_working_days<=10'")
    for t in specs:  # fail early, before any run, on a target or lever that cannot be used
        lever, _ = parse_lever_target(_TODAY_RE.sub(r"\g<1>0", t), confidence) if isinstance(t, str) else t
        lever_services(sc, lever)

    with Runs(default_workers() if workers is None else workers) as runs:
        # today's scenario first, with every replication: it is each lever's first known level, the comparison's
        # baseline and what "today" in a target means
        if progress is not None:
            progress(f"today's commissioning: {replications} replications")
        today_kpis = run_kpis(sc, replications, seed, runs=runs)
        pairs = [parse_lever_target(resolve_today(t, today_kpis), confidence) if isinstance(t, str) else t
                 for t in specs]
        why = {t: resolve_today(t, today_kpis) for t in specs if isinstance(t, str) and _TODAY_RE.search(t)}
        held = [isinstance(t, str) and bool(_TODAY_RE.search(t)) for t in specs]
        sols = []
        for (lever, t), at_today in zip(pairs, held):
            def _p(pas, mean, judged, met, reps, lever=lever, t=t):
                if progress is not None:
                    progress(f"  {lever}: {pas:g} PAs a week -> {t.kpi} mean {mean:.2f}, judged {judged:.2f}: "
                             f"{'met' if met else 'not met'} ({reps} replications)")
            cap = None
            if cap_factor is not None:
                cap = max(cap_factor * funded_pas(sc, lever_services(sc, lever)), 10.0 * sc.scale)
            if progress is not None:
                progress(f"{lever}: {t.describe()}")
            # a figure held at today's is met near today's PAs: start there, in small steps
            now = funded_pas(sc, lever_services(sc, lever)) if at_today else None
            sols.append(solve_capacity(sc, lever, t, replications=replications, seed=seed, step=step, cap=cap,
                                       start=now, first_step=None if now is None else HELD_FIRST_STEP * now,
                                       progress=_p, runs=runs))

        plan = plan_scenario(sc, sols)
        years_df, year_plan = None, None
        if by_year:
            from sendmodel.studies.business_case.by_year import plan_by_year

            years_df, year_plan = plan_by_year(sc, pairs, replications=replications, seed=seed, runs=runs,
                                               step=step, label=lambda lv, svc: lever_label(sc, lv, svc),
                                               progress=progress)
        by_lever: dict[str, list[SolveResult]] = {}
        for r in sols:
            by_lever.setdefault(r.lever, []).append(r)
        over_inputs = (_needed_over_inputs(sc, pairs, input_sets, replications, seed, step, cap_factor, runs,
                                           progress) if input_sets else None)
        summary = pd.DataFrame([row for g in by_lever.values()
                                for row in _benchmarks(sc, g, None if over_inputs is None else over_inputs[1])])
        targets_df = _targets_table(sc, sols)
        by_comm, lines = _cost_tables(sc, plan)

        opts = {}
        for name, o in (options or {}).items():
            opts[name] = uprate(o.override({"population": sc.population}, name=name), price_year, cost_year,
                                pay_uplift_pct)[0]
        kpis = list(dict.fromkeys([(t.kpi, t.service) for _, t in pairs] + HEADLINE_KPIS))
        if progress is not None:
            progress(f"comparing today, the plan and {len(opts)} option(s) on common random numbers")
        options_df, cmp_runs = _options_table(sc, plan, opts, replications, seed, runs, kpis)
        # what keeps up and what does not, today and with the plan (their replications are already run)
        capacity = {"today": runs.capacity(sc, replications, seed), "plan": runs.capacity(plan, replications, seed)}

    levels = []
    for r in sols:
        for _, e in r.evaluations.iterrows():
            levels.append({
                "run_id": _run_id(r.lever, int(e["order"])),
                "lever": r.lever,
                "scenario": sc.name,
                "what": f"{'+'.join(r.services)} at {e['pas_per_week']:g} PAs a week",
                "pas_per_week": e["pas_per_week"],
                "pas_per_week_per_70k": e["pas_per_week"] / sc.scale,
                "kpi": r.target.kpi,
                "service": r.target.service,
                "mean": e["mean"],
                "ci_low": e["ci_low"],
                "ci_high": e["ci_high"],
                "judged": e["judged"],
                "target": r.target.spec,
                "met": bool(e["met"]),
                "replications": int(e["reps"]),
                "decided": (("early (clearly met; a bound, not the answer)" if e["met"] else "early (clearly missed)")
                            if e["early"] else "on every replication"),
                "seed": r.seed,
            })
    runs_df = pd.concat([pd.DataFrame(levels), cmp_runs], ignore_index=True)

    settings = {
        "replications_simulated": runs.simulated,
        "population": sc.population,
        "population_source": pop_source,
        "replications": replications,
        "seed": seed,
        "confidence": confidence,
        "step": sols[0].step_pas if sols else step,
        "default_targets": default,
        "advice_pct": advice_pct,
        "price_year": price_year,
        "cost_year": cost_year,
        "pay_uplift_pct": pay_uplift_pct,
        "price_factor": price_factor,
        "routine": routine,
        "scenario_file": getattr(scenario, "_file", None),
    }
    settings["input_sets"] = input_sets
    settings["by_year"] = by_year
    return BusinessCase(
        scenario=sc, plan=plan, solutions=sols, summary=summary, targets=targets_df, options=options_df,
        cost_by_commissioner=by_comm, cost_lines=lines, assumptions=_assumptions(sc, settings, pairs, why),
        runs=runs_df, settings=settings, capacity=capacity, cost_sensitivity=cost_sensitivity(sc, lines),
        cost_by_year=cost_by_year(sc, plan if year_plan is None else year_plan),
        input_sets=None if over_inputs is None else over_inputs[0], by_year=years_df,
    )


def source_for_population(sc: Scenario) -> str:
    from sendmodel.scenario.loading import source_for

    return source_for(sc, "population")
