"""A local baseline: the national baseline with one LA's published demand, and its LA-side delays calibrated so
the model reproduces that LA's published timeliness.

What comes from where (each value's ``sources`` entry says so):

* **DfE SEN2 <year>, <LA>**: requests a year (scaled to 70,000 children with the commissioner's population),
  the shares assessed / refused / withdrawn, the share of assessments ending in a plan.
* **calibrated to <LA> <year>**: the LA's information-gathering lag before a decision (fitted to its decisions
  within 6 weeks and requests undecided at year end) and the educational psychology allocation-and-booking
  delay (fitted to its plans within 20 weeks and after more than 52 weeks), by bisection on common random
  numbers; LA casework, educational psychology and social care PAs for 85% utilisation of the LA's own demand;
  health-service PAs, as the national calibration sets them, for a steady routine list with the LA's EHC
  advice work on top.
* **national baseline: replace with local data**: everything else (task times, shares of
  children known to services): no LA publishes them; the spreadsheet template is how a commissioner gives them.

SEN2 does not publish mean weeks to issue by LA in the files shipped here, so it is not fitted locally.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sendmodel.analysis.labels import KPI_UNITS, label
from sendmodel.scenario.config import REFERENCE_POPULATION, Scenario
from sendmodel.studies.area.figures import AreaError, dmo_dco_in_post, find_la, published_for
from sendmodel.studies.calibration.compare import scenario_for_year
from sendmodel.studies.calibration.fit import la_side_utilisation, stable_capacity, steady_capacity
from sendmodel.studies.calibration.targets import TOLERANCE, figures_as_kpis, per_70k, published, tolerance

#: A population (children aged 0-17) the model accepts for one area: from a small unitary to the largest county.
MIN_POPULATION, MAX_POPULATION = 5_000, 2_000_000
DECISION_TARGETS = ("decisions_made_within_6w_pct", "requests_undecided_pct")
PLAN_TARGETS = ("plans_issued_within_20w_pct", "plans_issued_20_to_52w_pct", "plans_issued_over_52w_pct")
BENCHMARK_KPIS = ("requests_per_year", "requests_refused_pct", "requests_assessed_pct", "assessments_plan_pct",
                  "decisions_made_within_6w_pct", "requests_undecided_pct", "plans_issued_within_20w_pct",
                  "plans_issued_20_to_52w_pct", "plans_issued_over_52w_pct", "not_to_issue_within_16w_pct")


def check_population(population, la_name: str = "the area") -> float:
    """The commissioner's 0-17 population, refused with a clear message when missing or absurd."""
    if population is None:
        raise AreaError(f"give the number of children aged 0-17 in {la_name} (--population): sendmodel does not "
                        "ship LA populations (ONS mid-year estimates by LA have them)")
    try:
        p = float(population)
    except (TypeError, ValueError):
        raise AreaError(f"--population must be a number of children aged 0-17 (got {population!r})") from None
    if not math.isfinite(p) or not MIN_POPULATION <= p <= MAX_POPULATION:
        raise AreaError(f"--population must be between {MIN_POPULATION:,} and {MAX_POPULATION:,} children aged "
                        f"0-17 (got {population!r}); the largest English LA has about 300,000")
    return p


def demand_changes(p: dict[str, float], population: float, national: dict[str, float]) -> dict:
    """Scenario changes giving the model an area's published demand (``p`` from :func:`published_for`)."""
    decided = p["assessed"] + p["refused"] + (p["withdrawn"] if not math.isnan(p["withdrawn"]) else 0.0)
    withdrawn = p["withdrawn"] / decided if not math.isnan(p["withdrawn"]) else (
        national["withdrawn"] / (national["assessed"] + national["refused"] + national["withdrawn"]))
    refused = round(p["refused"] / decided, 4)
    withdrawn = round(withdrawn, 4)
    done = p["assessments"] if not math.isnan(p["assessments"]) else p["assessments_plan"] + p["assessments_no_plan"]
    return {
        "population": population,
        "ehc.requests_per_year_per_70k": round(p["requests"] * REFERENCE_POPULATION / population, 1),
        "ehc.request_outcomes": {"assessed": round(1.0 - refused - withdrawn, 4), "refused": refused,
                                 "withdrawn": withdrawn},
        "ehc.p_plan_after_assessment": round(p["assessments_plan"] / done, 4),
    }


@dataclass(frozen=True)
class Step:
    """One fitted field: a log-normal delay's mean or cv, moved within [lo, hi] until ``kpi`` meets its figure."""

    path: str
    field: str
    lo: float
    hi: float
    kpi: str
    increasing: bool  # does the KPI rise with the field?


#: The LA's decision stage (information-gathering lag) and plan stage (educational psychology allocation and
#: booking delay), each fitted by its mean, then its spread, then its mean again (the stages' KPIs move
#: monotonically with these fields, so bisection on common random numbers finds them reliably, where a
#: gradient method stalls on simulation noise).
DECISION_LAG, EP_DELAY = "ehc.decision_lag_days", "services.educational_psychology.advice.booking_lead_days"
STEPS = (
    Step(DECISION_LAG, "mean", 3.0, 120.0, "decisions_made_within_6w_pct", False),
    Step(DECISION_LAG, "cv", 0.1, 2.0, "requests_undecided_pct", True),
    Step(DECISION_LAG, "mean", 3.0, 120.0, "decisions_made_within_6w_pct", False),
    Step(EP_DELAY, "mean", 2.0, 1000.0, "plans_issued_within_20w_pct", False),
    Step(EP_DELAY, "cv", 0.1, 2.5, "plans_issued_over_52w_pct", True),
    Step(EP_DELAY, "mean", 2.0, 1000.0, "plans_issued_within_20w_pct", False),
)


#: When the EP delay cannot bring plans within 20 weeks to the LA's figure, the plan stage's own LA-side
#: fields can: a lag before drafting for an LA slower than the pathway at national values allows (every plan
#: waits it), a drafting deadline for one quicker than its advice allows (the LA drafts at N weeks with the
#: advice it has). Each is fitted by bisection like the rest, only when needed.
DRAFT_LAG, DRAFT_DEADLINE = "ehc.draft_lag_days", "ehc.draft_deadline_weeks"
SLOWER = (Step(DRAFT_LAG, "mean", 1.0, 600.0, "plans_issued_within_20w_pct", False),
          Step(DRAFT_LAG, "cv", 0.1, 2.5, "plans_issued_over_52w_pct", True),
          Step(DRAFT_LAG, "mean", 1.0, 600.0, "plans_issued_within_20w_pct", False))
QUICKER = Step(DRAFT_DEADLINE, "mean", 4.0, 60.0, "plans_issued_within_20w_pct", False)


def _lognormal(sc: Scenario, path: str) -> dict:
    node = sc
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    if node is None:  # a delay the scenario does not have yet: a log-normal with a moderate spread
        return {"dist": "lognormal", "mean": 1.0, "cv": 0.5}
    return {"dist": "lognormal", "mean": float(node.mean_value), "cv": float(getattr(node, "cv", 0.5))}


def _value(sc: Scenario, step: Step, x: float) -> dict:
    """The field's new value: its log-normal with the step's mean or cv at ``x``."""
    return {**_lognormal(sc, step.path), step.field: round(x, 4)}


def fit_step(sc: Scenario, step: Step, target: float, replications: int, seed: int, workers: int,
             iterations: int = 7, log=lambda msg: None, near_end: float | None = None
             ) -> tuple[Scenario, dict, str, str]:
    """Bisection (on a log scale) of one field so that the model's mean ``step.kpi`` meets ``target``, every
    evaluation on the same replications. A target the field cannot reach within its range is reported as such,
    with the nearest value the model gives, never forced. The last value says which way it missed: "" (fitted),
    "above" or "below" (the model stays above or below the figure over the whole range).

    ``near_end``: a target just out of reach takes the end of the range nearer to it when the model there is
    within this many points of it (said in the message), for a field whose old value is no answer at all (the
    plan stage's lag or deadline, which exist only because the LA is beyond what the pathway gives)."""
    from sendmodel.analysis.experiment import run

    cache: dict[float, float] = {}

    def kpi_at(x: float) -> float:
        x = round(x, 4)
        if x not in cache:
            summ = run(sc.override({step.path: _value(sc, step, x)}), replications, seed, workers=workers,
                       keep_events=False).summary()
            m = summ[(summ["kpi"] == step.kpi) & (summ["service"] == "all")]["mean"]
            cache[x] = float(m.iloc[0]) if len(m) else math.nan
            log(f"  [{len(cache):3d}] {step.path.split('.')[-1]}.{step.field}={x:.4g} -> {step.kpi}={cache[x]:.2f} "
                f"(figure {target:.2f})")
        return cache[x]

    lo, hi = step.lo, step.hi
    f_lo, f_hi = kpi_at(lo), kpi_at(hi)
    below = (lambda v: v < target) if step.increasing else (lambda v: v > target)  # x too small
    message, side = "fitted", ""
    if below(f_lo) == below(f_hi):
        x, v = min(((lo, f_lo), (hi, f_hi)), key=lambda p: abs(p[1] - target))
        if near_end is not None and abs(v - target) <= near_end:
            value = _value(sc, step, x)
            return (sc.override({step.path: value}), {step.path: value},
                    f"{label(step.kpi)} {target:.1f}% is just out of reach through {step.path}.{step.field} within "
                    f"[{step.lo:g}, {step.hi:g}]: set to {x:g}, where the model gives {v:.1f}", "")
        side = "above" if min(f_lo, f_hi) > target else "below"
        message = (f"{label(step.kpi)} {target:.1f}% is not reachable through {step.path}.{step.field} within "
                   f"[{lo:g}, {hi:g}] (the model gives {f_lo:.1f} to {f_hi:.1f}): left as it was; other parts of the "
                   "pathway (national baseline values) limit it")
        return sc, {}, message, side
    for _ in range(iterations):
        mid = math.sqrt(lo * hi)
        if below(kpi_at(mid)):
            lo = mid
        else:
            hi = mid
    x = min((lo, hi), key=lambda v: abs(kpi_at(v) - target))
    value = _value(sc, step, x)
    return sc.override({step.path: value}), {step.path: value}, message, side


@dataclass
class LocalBaseline:
    """What :func:`local_baseline` returns: the calibrated scenario, what changed and why, and the benchmark."""

    la: dict[str, str]
    year: int
    population: float
    scenario: Scenario
    changes: dict
    sources: dict[str, str]
    benchmark: pd.DataFrame = field(default_factory=pd.DataFrame)
    base_file: Path | None = None
    notes: list[str] = field(default_factory=list)  # targets the fit could not reach, said in words

    def to_yaml(self, path: str | Path) -> Path:
        """The scenario file: ``extends`` the national baseline and changes only what is local (atomically)."""
        import os

        import yaml

        from sendmodel.common.io import atomic_write_text

        path = Path(path)
        doc: dict = {"name": self.scenario.name}
        if self.base_file is not None:
            doc["extends"] = os.path.relpath(Path(self.base_file).resolve(), path.resolve().parent)
        for dotted, value in self.changes.items():
            node = doc
            parts = dotted.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        doc["sources"] = self.sources
        head = (f"# Local baseline for {self.la['la_name']} ({self.la['old_la_code']}, {self.la['new_la_code']}), "
                f"written by `sendmodel area` on {dt.date.today().isoformat()}.\n"
                f"# Demand from DfE SEN2 {self.year} for this LA; LA-side delays calibrated to its published "
                "timeliness; everything else\n# is the national baseline: replace it with local data "
                "(`sendmodel template`).\n")
        return atomic_write_text(path, head + yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True))


def local_baseline(query: str, population, *, base: Scenario, year: int = 2024, replications: int = 8,
                   seed: int = 7, workers: int = 1, calibrate: bool = True,
                   log=lambda msg: None) -> LocalBaseline:
    """The national ``base`` with LA ``query``'s published ``year`` demand, calibrated to its timeliness."""
    la = find_la(query)
    name = la["la_name"]
    pop = check_population(population, name)
    p = published_for(year, "Local authority", la["old_la_code"])
    if math.isnan(p.get("requests", math.nan)) or p["requests"] <= 0:
        raise AreaError(f"{name} has no published requests for {year} (suppressed or not returned); "
                        "try another --year")
    k = figures_as_kpis(p, REFERENCE_POPULATION / pop)
    src_la = f"DfE SEN2 {year}, {name}"
    slug = "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")
    changes = demand_changes(p, pop, published(year))
    sc = scenario_for_year(base, year).override(changes, name=slug)
    sources = {pattern: f"national baseline (England: {text}): replace with local data"
               for pattern, text in base.sources.items()}
    sources.update({
        "population": f"commissioner's input: children aged 0-17 in {name}",
        "ehc.requests_per_year_per_70k": f"{src_la}: {p['requests']:,.0f} requests received in calendar {year} "
                                         f"x 70,000 / {pop:,.0f} children",
        "ehc.request_outcomes": f"{src_la}: decided to assess / not to assess / withdrawn, shares of decided",
        "ehc.p_plan_after_assessment": f"{src_la}: plans issued / assessments completed",
    })
    dmo = dmo_dco_in_post(la["old_la_code"], year + 1)
    if dmo:
        in_post = [r for r, v in (("DMO", dmo.get("dmo")), ("DCO", dmo.get("dco"))) if v == "Yes"]
        sources[f"services.{sc.ehc.dmo_service}.*"] = (
            f"DfE SEN2 January {year + 1} return, {name}: {' and '.join(in_post) or 'no DMO or DCO'} in post; "
            "PAs are the national baseline's: replace with local data")
    fitted: dict = {}
    notes: list[str] = []
    if calibrate:
        # Health services as the national calibration sets them: PAs that keep the routine list steady (national
        # routine demand per 70,000) with this LA's EHC work on top, so that an LA with more requests a child
        # does not meet national health capacity already full; LA-side services with the national baseline's
        # margin against chance (85% there, more spare for less work: square-root staffing).
        health = steady_capacity(sc)
        sc = sc.override(health)
        fitted.update(health)
        for s in health:
            sources[s] = (f"calibrated to {name} {year}: PAs for a steady routine list (national routine demand) "
                          "plus this LA's EHC advice work; replace with local data")
        national = scenario_for_year(base, year)
        step = stable_capacity(sc, reference=national)
        sc = sc.override(step)
        fitted.update(step)
        for s in step:
            u = la_side_utilisation(sc, s.split(".")[1], reference=national)
            sources[s] = (f"calibrated to {name} {year}: {u:.0%} utilisation of its own EHC demand, the national "
                          f"baseline's 85% with the spare share scaled by the square root of its work against the "
                          f"national 70,000 children's (square-root staffing, docs/area.md)")
        missed: dict[str, str] = {}  # KPI -> which way the EP delay's mean left it, when it could not reach it

        def fit(step: Step, near_end: float | None = None, note: bool = True) -> tuple[str, str]:
            """One step on the scenario so far: kept, logged, and (``note``) a figure it could not reach noted."""
            nonlocal sc
            sc, change, message, side = fit_step(sc, step, k[step.kpi], replications, seed, workers, log=log,
                                                 near_end=near_end)
            log(f"  -> {message}")
            if note and message != "fitted":
                notes.append(message)
            fitted.update(change)
            return message, side

        for step in STEPS:
            if step.kpi not in k:
                log(f"  {step.kpi}: not published for {name} in {year}; {step.path}.{step.field} kept")
                continue
            if step.path == EP_DELAY and step.kpi in missed:
                continue  # its mean could not reach the figure: the plan stage's fields take it on below
            # a decision share just beyond the lag's range (an LA deciding 100% within 6 weeks) takes its end: the
            # national lag left in place would be further off
            near = tolerance(step.kpi, k[step.kpi]) if (step.path, step.field) == (DECISION_LAG, "mean") else None
            ep_mean = (step.path, step.field) == (EP_DELAY, "mean")
            message, side = fit(step, near, note=not ep_mean)
            if ep_mean and side:
                missed[step.kpi] = side
            elif ep_mean and message != "fitted":
                notes.append(message)
        plans = "plans_issued_within_20w_pct"
        if plans in missed:
            slower = missed[plans] == "above"
            steps = SLOWER if slower else (QUICKER,)
            log(f"  the educational psychology delay cannot bring {label(plans)} to {k[plans]:.1f}%: fitting "
                f"{steps[0].path} instead")
            for step in steps:
                if step.kpi not in k:
                    continue
                fit(step, tolerance(step.kpi, k[step.kpi]))
            if steps[0].path in fitted:
                why = ("the LA is slower than the pathway at national values allows: a lag before drafting, its "
                       "spread fitted to plans after more than 52 weeks" if slower else
                       "the LA is quicker than its advice allows: it drafts at this many weeks with the advice in")
                sources[steps[0].path] = f"calibrated to {name} {year}: {label(plans)} ({why})"
        # the EP delay and the plan stage moved drafting in time, and with it the LA casework the decisions
        # share: the decision lag's mean once more, last
        again = STEPS[2]
        if again.kpi in k:
            fit(again, tolerance(again.kpi, k[again.kpi]))
        for path, kpis in ((DECISION_LAG, DECISION_TARGETS), (EP_DELAY, PLAN_TARGETS)):
            if path in fitted:
                sources[path] = f"calibrated to {name} {year}: {', '.join(label(x) for x in kpis if x in k)}"
    changes.update(fitted)
    return LocalBaseline(la, year, pop, sc, changes, sources, base_file=getattr(base, "_file", None), notes=notes)


def benchmark(lb: LocalBaseline, replications: int = 20, seed: int = 2024, workers: int = 1) -> pd.DataFrame:
    """The LA against its region and England on each published figure, and the model's prediction with its 95% CI
    (counts per 70,000 children: the LA's with the commissioner's population, England's with ONS; the region's
    are not scaled, since no regional population is shipped)."""
    from sendmodel.analysis.experiment import run

    la, year = lb.la, lb.year
    mine = figures_as_kpis(published_for(year, "Local authority", la["old_la_code"]),
                           REFERENCE_POPULATION / lb.population)
    region = figures_as_kpis(published_for(year, "Regional", la["region_code"]), math.nan)
    england = figures_as_kpis(published(year), per_70k())
    summ = run(lb.scenario, replications, seed, workers=workers, keep_events=False).summary()
    s = summ[summ["service"] == "all"].set_index("kpi")
    rows = []
    scale = REFERENCE_POPULATION / lb.population  # the model counts requests for the area; the table per 70,000
    for kpi in BENCHMARK_KPIS:
        m = s.loc[kpi].copy() if kpi in s.index else None
        if m is not None and KPI_UNITS.get(kpi, "").endswith("/year"):
            m[["mean", "ci_low", "ci_high"]] = m[["mean", "ci_low", "ci_high"]] * scale
        target = mine.get(kpi, math.nan)
        rows.append({
            "kpi": kpi, "label": label(kpi), "unit": KPI_UNITS.get(kpi, ""),
            la["la_name"]: target, la["region_name"]: region.get(kpi, math.nan), "England": england.get(kpi, math.nan),
            "model": float(m["mean"]) if m is not None else math.nan,
            "model_ci_low": float(m["ci_low"]) if m is not None else math.nan,
            "model_ci_high": float(m["ci_high"]) if m is not None else math.nan,
            "tolerance": tolerance(kpi, target) if kpi in TOLERANCE and not math.isnan(target) else math.nan,
        })
    out = pd.DataFrame(rows)
    out["error"] = out["model"] - out[la["la_name"]]
    out["within_tolerance"] = (out["error"].abs() <= out["tolerance"]).where(out["tolerance"].notna())
    lb.benchmark = out
    return out
