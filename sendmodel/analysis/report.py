"""A reporting record for every run: ``stress_des.md``, the STRESS-DES checklist filled in from the run itself.

STRESS-DES (Monks et al. 2019, "Strengthening the reporting of empirical simulation studies: Introducing the
STRESS guidelines", Journal of Simulation 13(1)) lists what a discrete-event simulation study must report so
that a reader can judge and repeat it: objectives, logic, data, experimentation, implementation and code access.
Every section here is generated from the scenario(s) and the run (never typed by hand), so the record cannot
drift from what was run; a section with nothing to say raises rather than being left empty. STRESS-DES has no
item for verification and validation, so it is added as section 7: what was checked, and how to rerun it.
"""

from __future__ import annotations

import os
import platform

from sendmodel.analysis.labels import label
from sendmodel.analysis.warmup import WarmupCheck
from sendmodel.common.manifest import code_identity, versions
from sendmodel.common.paths import SOURCE_ROOT
from sendmodel.engine.rng import Stream
from sendmodel.scenario.config import ADVICE_DUE_DAYS, PLAN_DUE_DAYS, Scenario
from sendmodel.scenario.params import _short, _source, _walk

REPORT = "stress_des.md"
DISCIPLINES = {"fcfs": "first come first served (by referral date)", "ehc_first": "EHC work first",
               "deadline": "nearest due date first"}


def _cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]


def _objectives(kind, scenarios, baseline, kpis) -> dict[str, list[str]]:
    names = ", ".join(f"`{n}`" for n in scenarios)
    purpose = [
        "sendmodel simulates the services that give advice for education, health and care (EHC) needs "
        "assessments of children with special educational needs and disabilities (SEND) in England, and their "
        "routine waiting lists, to show what a commissioning decision does to waiting times and to the "
        f"statutory deadlines: health advice within {ADVICE_DUE_DAYS / 7:g} weeks, the final plan within "
        f"{PLAN_DUE_DAYS / 7:g} weeks (CCG duties summary; CDC DMO/DCO handbook).",
    ]
    for n, sc in scenarios.items():
        purpose.append(f"- `{n}`: {sc.description.strip() or 'no description given in the scenario file'}")
    outputs = ["KPIs per replication and their mean with a 95% t-interval (`kpis.csv`, `summary.csv` or "
               "`comparison.csv`):", ""]
    outputs += [f"- {label(k)} (`{k}`)" for k in kpis]
    if kind == "comparison":
        aims = [f"Compare the options {names} with the baseline `{baseline}` on common random numbers: for each "
                "KPI, the paired difference option - baseline with its 95% CI, a verdict (better / worse / no "
                "clear difference), and the extra cost a year per extra health advice returned within 6 weeks."]
    else:
        aims = [f"Estimate the KPIs of scenario {names} with 95% confidence intervals."]
    return {"1.1 Purpose of the model": purpose, "1.2 Model outputs": outputs, "1.3 Experimentation aims": aims}


def _diagram(sc: Scenario) -> list[str]:
    lines = ["```mermaid", "flowchart LR"]
    if sc.ehc is not None:
        e = sc.ehc
        lines.append(f'  R["EHC needs assessment request"] --> D["LA decision to assess ({e.la_service})"]')
        nxt = "D"
        if e.triage.enabled:
            lines.append(f'  D -->|assessed| T["triage ({e.triage.service})"]')
            nxt = "T"
        for s in sc.advice_services():
            lines.append(f'  {nxt} -->|assessed| A_{s}["advice: {sc.services[s].label}"]')
            lines.append(f'  A_{s} --> M["DMO/DCO sign-off if exceptional ({e.dmo_service})"]')
        lines.append(f'  M --> P["draft plan, {e.family_consultation_days:g} days family consultation, final plan"]')
        lines.append('  D -->|refused or withdrawn| X["exit"]')
    for s, svc in sc.services.items():
        if svc.routine_referrals_per_week_per_70k > 0:
            lines.append(f'  RR_{s}["routine referral"] --> W_{s}["{svc.label} waiting list"] --> S_{s}["seen"]')
    return lines + ["```"]


def _logic(kind, scenarios, baseline) -> dict[str, list[str]]:
    base = scenarios[baseline] if baseline else next(iter(scenarios.values()))
    logic = [
        "Requests for EHC needs assessment arrive as a Poisson process shaped by the school-year monthly profile. "
        "After an information-gathering lag the local authority decides whether to assess (a casework task); an "
        "assessed request asks each advice-giving service for advice. A child already known to the service gets "
        "advice from records (a short task); one not known needs an assessment first (a long task), booked "
        "through the ordinary waiting list or a ring-fenced slot; a request sent to the wrong service is "
        "delayed and re-sent. When every advice is back, exceptional health provision needs DMO/DCO sign-off "
        "(with its admin on the DMO/DCO unless admin support is funded); the LA then drafts the plan, the "
        "family has its consultation days, and the LA finalises it. Routine (non-EHC) referrals join the same "
        "services' waiting lists and compete for the same clinician sessions.",
    ]
    if kind == "comparison":
        scen = []
        for n, sc in scenarios.items():
            if n == baseline:
                continue
            changed = _changed(base, sc)
            scen.append(f"- `{n}` differs from `{baseline}` in: " + (", ".join(f"`{p}`" for p in changed)
                                                                        if changed else "no parameter"))
    else:
        scen = [f"One scenario, `{base.name}`, run as given (no scenario variations in this run)."]
    algorithms = [
        f"- {s.label} (`{n}`): {DISCIPLINES[s.discipline]}"
        + (f"; {s.ring_fenced_pas_per_week:g} PAs a week ring-fenced for not-known EHC assessments"
           if s.ring_fenced_pas_per_week else "")
        for n, s in base.services.items()
    ]
    algorithms.insert(0, "What a free clinician takes next, by service:")
    algorithms.append("")
    algorithms.append("A task longer than what is left of a session carries its remaining hours to the clinician's "
                      "next session, so work is conserved. Task times are sampled by inversion from the "
                      "distributions in the parameter table (section 3.3).")
    rows = [(s.label, s.kind, f"{base.service_pas_per_week(n):.1f}", s.leave_weeks_per_year,
             f"{s.routine_referrals_per_week_per_70k * base.scale:.1f}", "yes" if n in base.advice_services()
             else "no", DISCIPLINES[s.discipline]) for n, s in base.services.items()]
    comps = {
        "2.5.1 Entities": ["EHC needs assessment requests; advice requests (one per request and service asked); "
                           "routine referrals, each with its own sampled attributes (outcome, known, misrouted, "
                           "task hours, missed appointments)."],
        "2.5.2 Activities": ["Tasks, each taking clinician hours: LA decision, triage, advice from records, "
                             "records check, assessment, DMO/DCO review and admin, drafting and finalising the "
                             "plan, routine first appointments (and missed appointments, whose slot is used)."],
        "2.5.3 Resources": [f"Clinician sessions per service (PAs a week, 1 PA = 4 hours; `{base.name}`, "
                            f"population {base.population:,.0f}):", ""]
        + _table(["service", "kind", "PAs a week", "leave weeks a year", "routine referrals a week",
                  "gives EHC advice", "queue order"], rows),
        "2.5.4 Queues": ["One waiting list per service, ordered as in 2.4; integrated teams (`pools`) share "
                         "capacity: " + (", ".join(f"`{p}`" for p in base.pools) or "none in this scenario") + "."],
        "2.5.5 Entry and exit points": ["Requests and referrals enter at their sampled arrival times (and any "
                                        "starting backlog at time 0); an EHC request leaves when refused, "
                                        "withdrawn, decided not to issue, or its final plan is issued; a "
                                        "routine referral leaves when seen. Whatever is still open at the end "
                                        "counts as open (late, for a deadline)."],
    }
    return {"2.1 Base model overview diagram": _diagram(base), "2.2 Base model logic": logic,
            "2.3 Scenario logic": scen, "2.4 Algorithms": algorithms,
            "2.5 Components": [f"The parts of the base model (`{base.name}`), as STRESS-DES lists them:"], **comps}


def _changed(a: Scenario, b: Scenario) -> list[str]:
    """Field paths whose value differs (a whole container, such as an empty ``pools``, only when nothing inside
    it is listed)."""
    va = {p: v for p, v, _ in _walk(a)}
    vb = {p: v for p, v, _ in _walk(b)}
    diff = [p for p in dict.fromkeys([*va, *vb]) if p != "name" and va.get(p) != vb.get(p)]
    return [p for p in diff if not any(q.startswith(p + ".") for q in diff)]


def _grouped(paths: list[str]) -> str:
    """Field paths with the service name folded (``services.*.leave_weeks_per_year`` (11)), to stay readable."""
    counts: dict[str, int] = {}
    for p in paths:
        parts = p.split(".")
        key = ".".join(["services", "*", *parts[2:]]) if parts[0] == "services" and len(parts) > 2 else p
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"`{k}`" + (f" ({c} services)" if c > 1 else "") for k, c in counts.items())


def _data(scenarios, baseline: str | None) -> dict[str, list[str]]:
    sources = ["The source documents are cited by title in each parameter's source (docs/sources.md lists them: "
               "CDC joint commissioning bulletin, CCG duties summary, CDC DMO/DCO handbook, SEND Pathfinder pack, "
               "NHS England quick guide); demand is from DfE SEN2 statistics with ONS population estimates, and "
               "NHS community health statistics (data/README.md)."]
    params, assumptions = [], []
    base = baseline or next(iter(scenarios))
    for n, sc in scenarios.items():
        rows = [(p, _short(v), d, _source(sc, p, v)) for p, v, d in _walk(sc)]
        where = f"Scenario `{n}` (file `{getattr(sc, '_file', None) or 'built in code'}`)"
        if n != base:  # an option: only what it changes (the rest is the baseline's, above)
            changed = set(_changed(scenarios[base], sc))
            rows = [r for r in rows if r[0] in changed]
            where += f": as `{base}` except"
        params += [where + ":", ""] + _table(["parameter", "value", "meaning and unit", "source"], rows) + [""]
        guessed = [p for p, _, _, src in rows if src.startswith("assumption")]
        what = "parameters" if n == base else f"parameters it changes from `{base}`"
        assumptions.append(f"- `{n}`: {len(guessed)} of {len(rows)} {what} have no published source (marked "
                           "\"assumption\" in 3.3; replace with local data): " + _grouped(guessed)
                           if guessed else f"- `{n}`: every one of its {len(rows)} {what} has a source")
    pre = ["Rates are per 70,000 children aged 0-17 (the BACD/BACCH reference population, CDC DMO/DCO handbook) "
           "and scaled by the population; capacity in PAs a week is laid out as 4-hour sessions on working days "
           "(Monday-Friday, less bank holidays and each clinician's leave) unless the calendar is always_open."]
    return {"3.1 Data sources": sources, "3.2 Pre-processing": pre, "3.3 Input parameters": params,
            "3.4 Assumptions": assumptions + ["", "Not modelled: statutory exceptions to the 20-week timeline, "
                                              "tribunals, and any work outside the PAs a week given."]}


def _experimentation(scenarios, warmup: dict[str, WarmupCheck], estimation: list[str], plotted: str | None
                     ) -> dict[str, list[str]]:
    init, length = [], []
    for n, sc in scenarios.items():
        sim = sc.simulation
        backlog = [s for s, svc in sc.services.items() if svc.backlog]
        start = (f"starts with the routine backlog given for {', '.join(backlog)}" if backlog
                 else "starts empty and idle")
        init.append(f"- `{n}` {start} on {sim.start_date}; the first {sim.warm_up_days:g} days "
                    "(`simulation.warm_up_days`) are simulated and dropped from the KPIs.")
        length.append(f"- `{n}`: {sim.horizon_days:g} days measured after the warm-up "
                      f"({sim.warm_up_days + sim.horizon_days:g} days simulated), calendar `{sim.calendar}`.")
    init += ["", "Warm-up checked with MSER-5 (White 1997, \"An effective truncation heuristic for bias reduction "
             "in simulation output\") on the mean over replications of weekly series of open cases and waits, "
             "searched over the first half of the run:"]
    for n, chk in warmup.items():
        init += ["", f"`{n}`: {chk.text()}", ""] + _table(["series", "MSER-5 truncation point"], chk.table())
        init += ["", *[f"- **Warning:** {w}" for w in chk.warnings()]]
    if not warmup:
        init.append("No warm-up series were kept for this run, so the warm-up was not checked.")
    if plotted:
        init += ["", f"`warm_up.png` draws the series of `{plotted}` with Welch's moving average (Welch 1983, "
                 "\"The statistical analysis of simulation results\"), MSER-5's truncation points and the warm-up "
                 "used."]
    return {"4.1 Initialisation": init, "4.2 Run length": length, "4.3 Estimation approach": estimation}


def _capacity(capacity: dict) -> list[str]:
    """Section 4.4: each scenario's capacity check (the flags a reader must see beside the KPIs)."""
    out = ["Every service, the LA casework and the DMO/DCO is checked for a queue that grows through the measured "
           "period (least-squares slope of its weekly queue per replication, with the t-interval over replications) "
           "and for work arriving faster than its PAs give (`overload.csv`); a unit over capacity makes its "
           "deadline KPIs describe a backlog that never clears, not a steady state."]
    for n, chk in capacity.items():
        out += ["", f"`{n}`: " + chk.text().replace("\n", "\n\n")]
    return out


def _implementation(seed: int, workers: int) -> dict[str, list[str]]:
    v = versions()
    software = [f"Python {v.pop('python')} with " + ", ".join(f"{k} {x}" for k, x in v.items())
                + "; the model is written in SimPy (public API only)."]
    streams = ", ".join(f"{s.name.lower().replace('_', ' ')} ({s.value})" for s in Stream)
    rng = [f"Base seed {seed}. Every source of randomness has its own NumPy Generator (PCG64) seeded by "
           "`SeedSequence(seed, spawn_key=(replication, stream, crc32(name)))`, where the name is the service for "
           f"per-service streams; the streams: {streams}. Draws are uniforms mapped through each distribution's "
           "quantile function (inverse transform). The scenario never enters the seed, so options run with the "
           "same seed see the same children (common random numbers), and a replication gives the same result in "
           "any process."]
    execution = [f"Event-driven SimPy model (`env.run(until=end)`), replications run independently in {workers} "
                 "process(es); results do not depend on the number of processes or their order."]
    system = [f"{platform.system()} {platform.release()} ({platform.machine()}), {os.cpu_count()} logical CPUs."]
    return {"5.1 Software or programming language": software, "5.2 Random sampling": rng,
            "5.3 Model execution": execution, "5.4 System specification": system}


def _code() -> dict[str, list[str]]:
    c = code_identity()
    commit = c["git_commit"] or "not a git checkout"
    return {"6.1 Computer model sharing statement": [
        "sendmodel is open source; this run's code is identified by:", "",
        f"- sendmodel version {c['sendmodel']}", f"- git commit {commit}",
        f"- SHA-256 of the package source: {c['source_sha256']}"]}


def _verification() -> list[str]:
    out = ["`sendmodel validate --theory` runs the verification suite (`sendmodel/studies/verification`, "
           "docs/validation.md): the engine reduced to textbook queues (M/M/1, M/M/3, M/D/1, non-preemptive "
           "priority M/M/1, a tandem and a routing split) is compared with queueing theory and with an independent "
           "simulator (Ciw), start times are checked against independent recursions, the queue log against "
           "Little's law on the sample path, and weekday sessions against their calendar. The golden tests "
           "freeze KPI tables to the last bit, and the calibration reproduces DfE SEN2 2024 (docs/calibration.md). "
           "These checks run with the test suite, not with this run. The cases:", ""]
    folder = SOURCE_ROOT / "scenarios" / "validation"
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if files:
        from sendmodel.scenario.loading import load_scenario

        rows = []
        for f in files:
            try:
                rows.append((f.name, load_scenario(f).description.strip()))
            except Exception as exc:  # a broken case file is reported, not hidden
                rows.append((f.name, f"could not be read: {exc}"))
        out += _table(["case", "what it checks"], rows)
    else:
        out.append("(the case files, scenarios/validation/, are not installed with this copy of the package)")
    return out


def stress_des(*, kind: str, scenarios: dict[str, Scenario], seed: int, replications: int, kpis: list[str],
               warmup: dict[str, WarmupCheck], estimation: list[str], outputs: list[str],
               baseline: str | None = None, workers: int = 1, capacity: dict | None = None) -> str:
    """The STRESS-DES report of a run (``kind="run"``) or a comparison, as Markdown; ``capacity`` (scenario ->
    :class:`~sendmodel.analysis.overload.OverloadCheck`) adds section 4.4."""
    title = ", ".join(scenarios) if kind == "run" else f"options against {baseline}"
    sections = {
        "1 Objectives": _objectives(kind, scenarios, baseline, kpis),
        "2 Logic": _logic(kind, scenarios, baseline),
        "3 Data": _data(scenarios, baseline),
        "4 Experimentation": _experimentation(scenarios, warmup, estimation,
                                              (baseline or next(iter(scenarios))) if "warm_up.png" in outputs
                                              else None),
        "5 Implementation": _implementation(seed, workers),
        "6 Code access": _code(),
    }
    lines = [f"# STRESS-DES report: {kind} of {title}", "",
             "Following the STRESS-DES checklist (Monks et al. 2019, \"Strengthening the reporting of empirical "
             "simulation studies: Introducing the STRESS guidelines\", Journal of Simulation 13(1)). Generated "
             f"from the scenario files and the run, {replications} replications, seed {seed}.", ""]
    if capacity:
        sections["4 Experimentation"]["4.4 Capacity: is any queue growing?"] = _capacity(capacity)
    for head, subs in sections.items():
        lines += [f"## {head}", ""]
        for sub, body in subs.items():
            if not any(x.strip() for x in body):
                raise ValueError(f"STRESS-DES section {sub} would be empty")
            lines += [f"### {sub}", "", *body, ""]
    lines += ["## 7 Verification and validation", "", *_verification(), ""]
    lines += ["## Files in this folder", "", *[f"- `{o}`" for o in outputs], ""]
    return "\n".join(lines)
