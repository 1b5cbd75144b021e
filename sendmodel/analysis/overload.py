"""Overload said out loud: which service, the LA casework or the DMO/DCO cannot keep up, and how wide a figure is.

A percentage such as "plans within 20 weeks 0.0% [0.0, 0.0]" reads as a measurement, but when work arrives
faster than a team can do it the queue grows without bound and that figure only describes how far behind the
run had fallen when it stopped. So every run is checked here for each unit of capacity (a service, the LA
casework, the DMO/DCO):

- **the queue's trend**: the least-squares slope of its weekly queue through the measured period (children
  waiting for a service, casework or sign-offs waiting for the LA or the DMO/DCO), one slope per replication and
  the t-interval of their mean (replications are independent): a busy unit (95% of the time or more) whose
  queue's slope is clearly above zero and large against its level is *over capacity* (one less busy is still
  filling from the start of the run, not overloaded);
- **the offered load**: work arriving in the measured period against the hours its PAs give. For the LA casework
  and the DMO/DCO it is the work the requests that arrived bring (mean hours from the scenario), so it is not
  held down by a queue upstream (one whose load is above its PAs while such a queue holds the work back is said
  to be so: it will not keep up once that queue clears); for a service it is the hours of work that joined its
  queue;
- **utilisation**: a unit busy 95% of the time or more with no clear growth is *at capacity*, said as such: its
  queue drifts by chance rather than settling, its figures swing between replications, and a small rise in
  demand tips it over;
- **open cases and their ages** at the end (mean over replications of their count, median and 90th percentile),
  to stand beside the percentages.

:func:`spread_notes` adds the other half of honest framing: where replications disagree so much on a
service's figure that its 95% CI is wider than +/- 10 points, it says so and how many replications would do.

The per-replication measures (:func:`load_rows`) are small rows, computed wherever KPIs are (a run, a
comparison, a dashboard, a sweep), so the check works without keeping the event log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sendmodel.analysis.intervals import mean_interval, replications_for
from sendmodel.analysis.kpis import routine_left_day
from sendmodel.analysis.labels import label

EHC = "ehc_requests"  # the unit name of the EHC requests' own row (open requests and their ages)
DAYS_PER_MONTH = 365.25 / 12
STEP_DAYS = 7.0  # one queue observation a week
BUSY = 0.95  # utilisation from which a unit with no clear growth is "at capacity"
MIN_GROWTH = 0.5  # a month: a queue growing more slowly is not called overload however clear
MIN_GROWTH_SHARE = 0.05  # ... nor growth over the measured period below this share of the queue at its start
OFFERED_OVER = 1.05  # offered load whose CI lies wholly above this is over capacity even before the queue shows it
FEW_GROWTH_SHARE, FEW_OFFERED_OVER = 0.5, 1.15  # the same with fewer than 3 replications, on point estimates
WIDE_POINTS = 10.0  # a per-service share whose 95% CI half-width exceeds this many points is called unsettled
SPREAD_KPIS = ("advice_within_6w_pct", "routine_seen_within_target_pct")
MEASURES = ("available_hours", "busy_hours", "offered_hours", "queue_start", "queue_end", "queue_slope_per_month",
            "open_end", "open_age_median_weeks", "open_age_p90_weeks", "left_unseen")
LOAD_COLUMNS = ["scenario", "replication", "service", *MEASURES]


# --- per replication ----------------------------------------------------------------------------------------


def _in_system(start: np.ndarray, done: np.ndarray, t: np.ndarray) -> np.ndarray:
    """How many items have started (``start`` <= t) and are not yet done (``done`` > t, NaN = never) at each t."""
    s = np.sort(start[np.isfinite(start)])
    d = np.sort(np.nan_to_num(done[np.isfinite(start)], nan=np.inf))
    return (np.searchsorted(s, t, side="right") - np.searchsorted(d, t, side="right")).astype(float)


def _slope_per_month(t: np.ndarray, n: np.ndarray) -> float:
    if t.size < 2:
        return float("nan")
    tc = t - t.mean()
    return float((tc * (n - n.mean())).sum() / (tc * tc).sum() * DAYS_PER_MONTH)


def _queue_rows(unit: str, start: np.ndarray, done: np.ndarray, t: np.ndarray, end: float) -> list:
    """Trend of the items in the system over the window, and the open ones at the end with their ages."""
    n = _in_system(start, done, t)
    open_ = np.isfinite(start) & (start < end) & ~(np.nan_to_num(done, nan=np.inf) < end)
    age = (end - start[open_]) / 7.0
    return [
        (unit, "queue_start", float(n[0]) if n.size else float("nan")),
        (unit, "queue_end", float(_in_system(start, done, np.array([end]))[0])),
        (unit, "queue_slope_per_month", _slope_per_month(t, n)),
        (unit, "open_end", float(open_.sum())),
        (unit, "open_age_median_weeks", float(np.median(age)) if age.size else float("nan")),
        (unit, "open_age_p90_weeks", float(np.quantile(age, 0.9)) if age.size else float("nan")),
    ]


def _ehc_offered(rec: dict, sc, unit: str, warm: float, end: float) -> float | None:
    """Hours of LA casework or DMO/DCO work brought by the requests that arrived in the window (None: neither)."""
    e, cfg = rec["ehc"], sc.ehc
    if cfg is None or "arrival_day" not in e or unit not in (cfg.la_service, cfg.dmo_service):
        return None
    arr = e["arrival_day"]
    got = (arr >= warm) & (arr < end)
    assessed = got & (e["outcome"] == 0)
    if unit == cfg.la_service:
        plans = float((assessed & e["plan"]).sum())
        hours = got.sum() * cfg.decision_hours.mean_value + plans * (
            cfg.draft_hours.mean_value + cfg.finalise_hours.mean_value)
        if cfg.dmo_service == unit:
            hours += _dmo_hours(cfg, assessed & e["exceptional"])
        return float(hours)
    return _dmo_hours(cfg, assessed & e["exceptional"])


def _dmo_hours(cfg, exceptional: np.ndarray) -> float:
    admin_elsewhere = cfg.admin_support and cfg.admin_service and cfg.admin_service != cfg.dmo_service
    per = cfg.dmo_review_hours.mean_value + (0.0 if admin_elsewhere else cfg.dmo_admin_hours.mean_value)
    return float(exceptional.sum() * per)


def load_rows(rec: dict, sc) -> list[tuple[str, str, float]]:
    """One replication's capacity measures as (unit, measure, value) rows over the measured window.

    Units: every service with PAs or work (its queue: children waiting, routine plus advice, for a service
    with either; otherwise the tasks waiting or in hand), and :data:`EHC` (EHC requests open, ages from the
    request).
    """
    warm, end = sc.simulation.warm_up_days, rec["end_day"]
    t = np.arange(warm, end, STEP_DAYS)
    lo, hi = int(np.floor(warm)), int(np.ceil(end))
    rows: list[tuple[str, str, float]] = []
    for s, svc in rec["services"].items():
        avail = float(svc["available_hours_by_day"][lo:hi].sum())
        enq = svc["task_enqueued"]
        if avail <= 0 and not enq.size:
            continue  # no PAs and nothing sent: nothing to say
        came = (enq >= warm) & (enq < end)
        if "task_left_day" in svc:  # children who left the list unseen brought no work, and are counted
            gone = svc["task_left_day"]
            came &= np.isnan(gone)
            rows.append((s, "left_unseen", float(((gone >= warm) & (gone < end)).sum())))
        offered = _ehc_offered(rec, sc, s, warm, end)
        rows += [(s, "available_hours", avail), (s, "busy_hours", float(svc["busy_hours_by_day"][lo:hi].sum())),
                 (s, "offered_hours", float(svc["task_hours"][came].sum()) if offered is None else offered)]
        starts, dones = [], []
        if s in rec["routine"]:
            starts.append(rec["routine_arrival"][s])
            dones.append(routine_left_day(rec, s))
        if s in rec["advice"]:
            a = rec["advice"][s]
            starts.append(a["requested_day"])
            dones.append(a["returned_day"])
        if not starts:  # casework, sign-offs, triage, admin: the tasks themselves
            starts, dones = [enq], [svc["task_finished"]]
        rows += _queue_rows(s, np.concatenate(starts), np.concatenate(dones), t, end)
    e = rec["ehc"]
    if "arrival_day" in e and e["arrival_day"].size:
        rows += _queue_rows(EHC, e["arrival_day"], e["closed_day"], t, end)
    return rows


def load_frame(rows: list[tuple[str, str, float]], scenario: str, replication: int) -> pd.DataFrame:
    """One replication's rows, one line per unit (:data:`LOAD_COLUMNS`)."""
    if not rows:
        return pd.DataFrame(columns=LOAD_COLUMNS)
    df = pd.DataFrame(rows, columns=["service", "measure", "value"])
    df = df.pivot_table(index="service", columns="measure", values="value", sort=False, dropna=False).reset_index()
    df.insert(0, "replication", replication)
    df.insert(0, "scenario", scenario)
    return df.reindex(columns=LOAD_COLUMNS)


# --- over replications --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitLoad:
    """One unit's capacity over the replications (means, and t-intervals where it matters)."""

    service: str
    label: str
    role: str  # "la_casework", "dmo" or the service's kind
    status: str  # "over capacity", "at capacity", "within capacity"
    reason: str  # over capacity because its "queue" grows clearly, or its offered "load" is clearly too much
    replications: int
    utilisation: float
    offered: float  # offered load: work arriving / hours available
    offered_low: float
    offered_high: float
    growth: float  # queue growth a month, mean over replications
    growth_low: float
    growth_high: float
    queue_start: float
    queue_end: float
    open_end: float
    age_median: float  # weeks
    age_p90: float
    left_unseen: float = float("nan")  # children a month leaving the routine list unseen (NaN: none can)

    @property
    def what(self) -> str:
        return {"la_casework": "pieces of casework", "dmo": "sign-offs"}.get(
            self.role, "children" if self.role in ("health", "education", "social_care") else "tasks")


def _held(u: "UnitLoad") -> bool:
    """A unit at capacity whose list holds only because children leave it unseen (no clear growth)."""
    return bool(np.isfinite(u.left_unseen) and u.left_unseen > 0 and not (u.growth_low > 0 and u.replications >= 3))


def _num(x: float) -> str:
    """A count or rate as a board reads it: whole numbers from 10 up, one decimal below."""
    if not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.1f}"


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def _role(sc, s: str) -> str:
    e = sc.ehc
    if e is not None and s == e.la_service:
        return "la_casework"
    if e is not None and s == e.dmo_service:
        return "dmo"
    return sc.services[s].kind if s in sc.services else "other"


def _status(u: dict) -> tuple[str, str]:
    """Over capacity: busy (95% or more, or no PAs at all) and either a queue that grows clearly and materially or
    an offered load clearly above the PAs. With fewer than 3 replications a t-interval is too wide to decide
    anything (t = 12.7 for 2), so the point estimates must be large instead."""
    growth, n, util = u["growth"], u["replications"], u["utilisation"]
    busy = not np.isfinite(util) or util >= BUSY
    start = max(u["queue_start"], 1.0)
    material = growth >= MIN_GROWTH and growth * u["months"] >= MIN_GROWTH_SHARE * start
    if n >= 3:
        clear, saturated = u["growth_low"] > 0, u["offered_low"] > OFFERED_OVER
    else:
        clear, saturated = growth * u["months"] >= FEW_GROWTH_SHARE * start, u["offered"] > FEW_OFFERED_OVER
    if busy and material and clear:
        return "over capacity", "queue"
    if busy and saturated:
        return "over capacity", "load"
    if u["utilisation"] >= BUSY:
        return "at capacity", ""
    return "within capacity", ""


@dataclass
class OverloadCheck:
    """Every unit's capacity in one run (:func:`check_overload`), with the sentences a reader must see."""

    scenario: str
    months: float  # length of the measured period
    units: list[UnitLoad]
    ehc: UnitLoad | None = None  # the EHC requests open at the end, with their ages

    @property
    def over(self) -> list[UnitLoad]:
        return [u for u in self.units if u.status == "over capacity"]

    @property
    def overloaded(self) -> bool:
        return bool(self.over)

    def unit(self, service: str) -> UnitLoad:
        return next(u for u in self.units if u.service == service)

    def _open(self, u: UnitLoad, what: str) -> str:
        if not np.isfinite(u.open_end) or u.open_end < 0.5:
            return f"no {what} are open at the end"
        return (f"{_num(u.open_end)} {what} are open at the end, waiting a median {_num(u.age_median)} weeks so far "
                f"(90th percentile {_num(u.age_p90)})")

    def _trend(self, u: UnitLoad) -> str:
        if not np.isfinite(u.growth_low):
            return f"{u.growth:+.1f} a month, one replication: no interval"
        return f"{u.growth:+.1f} a month, 95% CI {u.growth_low:+.1f} to {u.growth_high:+.1f}"

    def flags(self) -> list[str]:
        """One sentence per unit over capacity (none for a steady queue)."""
        out = []
        for u in self.over:
            affected = {
                "la_casework": "LA decisions within 6 weeks and plans within 20 weeks",
                "dmo": "DMO/DCO sign-off times and plans within 20 weeks",
                "triage": "the advice and plans that wait for its triage",
                "admin": "DMO/DCO sign-off times and plans within 20 weeks",
            }.get(u.role, "its advice within 6 weeks, its routine waits and plans within 20 weeks (which wait for "
                          "its advice)")
            growth = (f"its queue grows by about {_num(max(u.growth, 0.0))} a month ({self._trend(u)}), from about "
                      f"{_num(u.queue_start)} to {_num(u.queue_end)} {u.what} over the measured "
                      f"{_num(self.months)} months")
            load = "" if not np.isfinite(u.offered) else (
                f"work arrives at about {u.offered:.0%} of what its PAs give (95% CI {u.offered_low:.0%} to "
                f"{u.offered_high:.0%}), and they are busy {u.utilisation:.0%} of the time")
            why = f"{growth}; {load}" if u.reason == "queue" or not load else (
                f"{load}, so its queue cannot settle (over the measured {_num(self.months)} months, from about "
                f"{_num(u.queue_start)} to {_num(u.queue_end)} {u.what}: {self._trend(u)})")
            out.append(f"{u.label} is over capacity: {why}; figures for {affected} describe a backlog that never "
                       f"clears. {_upper_first(self._open(u, u.what))}.")
        return out

    def open_requests(self) -> str:
        """The EHC requests open at the end and their ages from the request ("" when there are none)."""
        if self.ehc is None:
            return ""
        return f"EHC requests: {self._open(self.ehc, 'requests')}, counted from the request."

    def notes(self) -> list[str]:
        """One sentence per unit at capacity without clear growth: fragile, though not (yet) growing."""
        out = []
        for u in self.units:
            if u.status == "within capacity" and u.role in ("la_casework", "dmo") and u.offered_low > 1.0:
                out.append(
                    f"{u.label} would be over capacity: the requests that arrived bring work of about "
                    f"{u.offered:.0%} of what its PAs give, but a queue before it holds that work back (its PAs "
                    f"are busy {u.utilisation:.0%} of the time); once that queue clears, it will not keep up.")
            if u.status != "at capacity":
                continue
            if _held(u):
                out.append(
                    f"{u.label} is at capacity: its PAs are busy {u.utilisation:.0%} of the time and its list holds "
                    f"at about {_num(u.queue_end)} {u.what} ({self._trend(u)}) only because about "
                    f"{_num(u.left_unseen)} a month leave it unseen: demand its PAs do not meet, not a list that "
                    "keeps up.")
                continue
            load = "" if not np.isfinite(u.offered) else f" and work arrives at about {u.offered:.0%} of them"
            out.append(
                f"{u.label} is at capacity: its PAs are busy {u.utilisation:.0%} of the time{load}. Its queue "
                f"{'grows only slowly' if u.growth_low > 0 and u.replications >= 3 else 'shows no clear growth'} over "
                f"the measured period "
                f"({self._trend(u)}; about {_num(u.queue_end)} {u.what} at the end), but with no spare capacity "
                "it drifts by chance rather than settling, so its figures swing between replications and a small "
                "rise in demand makes it grow.")
        return out

    def text(self) -> str:
        """The capacity check in a paragraph (flags, then notes), for the command line and the report."""
        head = (f"Capacity check ({self.units[0].replications if self.units else 0} replications, queue trends "
                f"over the measured {_num(self.months)} months): ")
        if not self.units:
            return head + "nothing to check (no service has PAs or work)."
        if not self.overloaded:
            head += "no service, LA casework or DMO/DCO is over capacity (no queue grows clearly)."
        else:
            head += f"{len(self.over)} over capacity."
        lines = [head, *[f"OVERLOADED: {f}" for f in self.flags()]]
        if self.overloaded and self.open_requests():
            lines.append(self.open_requests())
        return "\n".join(lines + self.notes())

    def at_capacity(self) -> list[str]:
        """The units at capacity by name, in a line each: those whose queue drifts (fragile), and those whose
        list is held steady only by children leaving it unseen (demand the PAs do not meet)."""
        at = [u for u in self.units if u.status == "at capacity"]
        drift = [u.label for u in at if not _held(u)]
        held = [u.label for u in at if _held(u)]
        out = []
        if drift:
            out.append(f"At capacity (busy {BUSY:.0%} or more, queue not clearly growing, so its figures are "
                       f"fragile): {', '.join(drift)}.")
        if held:
            out.append(f"At capacity, lists held steady only by children leaving them unseen (demand the PAs do "
                       f"not meet): {', '.join(held)}.")
        return out

    def brief(self) -> str:
        """The check in few lines, for tables of many options or points: the flags in full, then the units at
        capacity by name."""
        lines = self.text().split("\n")[: 1 + len(self.flags()) + (1 if self.overloaded else 0)]
        return "\n".join(lines + self.at_capacity())

    def summary(self) -> dict:
        """For the manifest: who is over or at capacity, and the sentences shown."""
        return {"method": "least-squares slope of each weekly queue over the measured period, t-interval over "
                          "replications; offered load and utilisation against the PAs' hours",
                "over_capacity": [u.service for u in self.over],
                "at_capacity": [u.service for u in self.units if u.status == "at capacity"],
                "flags": self.flags(), "notes": self.notes()}

    def table(self) -> pd.DataFrame:
        """One row per unit (and the EHC requests), for ``overload.csv``."""
        rows = []
        for u in [*self.units, *([self.ehc] if self.ehc is not None else [])]:
            rows.append({
                "scenario": self.scenario, "service": u.service, "label": u.label, "role": u.role,
                "status": u.status, "replications": u.replications, "utilisation": u.utilisation,
                "offered_load": u.offered, "offered_load_ci_low": u.offered_low,
                "offered_load_ci_high": u.offered_high, "queue_growth_per_month": u.growth,
                "queue_growth_ci_low": u.growth_low, "queue_growth_ci_high": u.growth_high,
                "queue_start": u.queue_start, "queue_end": u.queue_end, "open_end": u.open_end,
                "open_age_median_weeks": u.age_median, "open_age_p90_weeks": u.age_p90,
                "measured_months": self.months,
            })
        return pd.DataFrame(rows)


def check_overload(load: pd.DataFrame, scenario) -> OverloadCheck:
    """Whether each unit keeps up, from the replications' :func:`load_frame` rows of ``scenario``."""
    months = scenario.simulation.horizon_days / DAYS_PER_MONTH
    units, ehc = [], None
    if load is None or load.empty:
        return OverloadCheck(scenario.name, months, units)
    for s, g in load.groupby("service", sort=False):
        gi = mean_interval(g["queue_slope_per_month"], dropna=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (g["offered_hours"] / g["available_hours"]).where(g["available_hours"] > 0)
            util = (g["busy_hours"] / g["available_hours"]).where(g["available_hours"] > 0)
        oi = mean_interval(ratio, dropna=True)
        u = {
            "service": s, "replications": len(g), "months": months,
            "utilisation": float(util.mean()) if util.notna().any() else float("nan"),
            "offered": oi.mean, "offered_low": oi.low, "offered_high": oi.high,
            "growth": gi.mean, "growth_low": gi.low, "growth_high": gi.high,
            "queue_start": float(g["queue_start"].mean()), "queue_end": float(g["queue_end"].mean()),
            "open_end": float(g["open_end"].mean()), "age_median": float(g["open_age_median_weeks"].mean()),
            "age_p90": float(g["open_age_p90_weeks"].mean()),
            "left_unseen": float(g["left_unseen"].mean()) / months if "left_unseen" in g and
            g["left_unseen"].notna().any() else float("nan"),
        }
        if s == EHC:
            ehc = UnitLoad(label="EHC requests", role="ehc", status="", reason="", **_fields(u))
            continue
        lab = scenario.services[s].label if s in scenario.services else s
        status, reason = _status(u)
        units.append(UnitLoad(label=lab, role=_role(scenario, s), status=status, reason=reason, **_fields(u)))
    return OverloadCheck(scenario.name, months, units, ehc)


def check_records(records: list[dict], scenario) -> OverloadCheck:
    """:func:`check_overload` straight from replications' records (as :func:`~sendmodel.engine.replication.
    run_replication` returns them), for a study that runs replications itself rather than through ``run``."""
    frames = [load_frame(load_rows(rec, scenario), scenario.name, i) for i, rec in enumerate(records)]
    return check_overload(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), scenario)


def _fields(u: dict) -> dict:
    return {k: v for k, v in u.items() if k != "months"}


# --- intervals too wide to act on ---------------------------------------------------------------------------


def spread_notes(summary: pd.DataFrame, scenario, replications: int, limit: float = WIDE_POINTS,
                 kpis=SPREAD_KPIS) -> list[str]:
    """Where replications disagree wildly on a service's share (95% CI half-width above ``limit`` points): what
    the interval is and about how many replications would bring it within ``limit`` (Law 2007, s. 9.4.1)."""
    s = summary[summary["kpi"].isin(kpis) & (summary["service"] != "all") & summary["half_width"].notna()]
    if "scenario" in s.columns:
        s = s[s["scenario"] == scenario.name]
    out = []
    for r in s[s["half_width"] > limit].itertuples():
        who = scenario.services[r.service].label if r.service in scenario.services else r.service
        need = replications_for(float(r.half_width), replications, limit)
        out.append(
            f"Replications disagree widely on {label(r.kpi).lower()} at {who}: {r.mean:.1f}%, 95% CI "
            f"{max(r.ci_low, 0.0):.1f} to {min(r.ci_high, 100.0):.1f} (+/- {r.half_width:.1f} points with "
            f"{replications} replications); about {need} replications would bring it within +/- {limit:g} points.")
    return out
