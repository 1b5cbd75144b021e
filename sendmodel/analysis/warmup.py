"""Warm-up checked, not assumed: MSER-5 (and Welch's moving average) over the replications' time series.

A run starts empty (or with the backlog a scenario gives) and its first months are not typical of the system it
models; the KPIs drop ``simulation.warm_up_days``. Whether that is long enough is checked here on the weekly
series each replication leaves: children waiting for each service (open cases), EHC requests open, and the mean
wait of advice returned and of routine children seen each week.

MSER-5 (White 1997, "An effective truncation heuristic for bias reduction in simulation output"; White, Cobb
and Spratt 2000, "A comparison of five steady-state truncation heuristics for simulation") batches a series into
means of 5 and deletes the first d batches that minimise the squared standard error of the rest,
``sum_{j>d} (z_j - mean_{>d})^2 / (k - d)^2``. It is applied to the mean over replications (as Hoad, Robinson and
Davies 2010, "Automating warm-up length estimation", recommend), and searched over the first half of the run
only: a minimum at the end of that half says the run is too short to tell, or never settles (growing demand, an
overloaded service), and is reported as such, never as a warm-up. Welch's method (Welch 1983, "The statistical
analysis of simulation results") is the moving average of the same mean series, drawn for the eye.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sendmodel.analysis.kpis import waiting_list_series

BATCH = 5  # observations per batch mean (the "5" of MSER-5)
STEP_DAYS = 7.0  # one observation a week
MIN_BATCHES = 10  # a series shorter than this is not tested
MIN_REPLICATIONS = 5  # fewer: a noisy mean series (on the baseline 2 and 10 replications differ by up to 245 days)


@dataclass(frozen=True)
class Truncation:
    """MSER's answer for one series: delete the first ``index`` observations (``batches`` batch means)."""

    index: int
    batches: int
    searched: int  # batch means searched (the first half of the series)
    found: bool  # False: the minimum is at the end of the searched half (too short to tell, or never settles)


def mser(y, batch: int = BATCH) -> Truncation:
    """MSER-``batch`` truncation point of one series (MSER-5 by default; ``batch=1`` is plain MSER).

    Batch means z_1..z_k of non-overlapping batches of ``batch`` observations (a partial batch at the end is
    dropped); the truncation d (in batches, 0 <= d <= k // 2) minimises sum_{j>d} (z_j - mean)^2 / (k - d)^2.
    NaN observations (weeks with nothing to average) are carried forward from the last value seen.
    """
    y = _filled(np.asarray(y, float))
    k = y.size // batch
    if k < MIN_BATCHES:
        raise ValueError(f"MSER-{batch} needs at least {MIN_BATCHES * batch} observations (got {y.size})")
    z = y[: k * batch].reshape(k, batch).mean(axis=1)
    # suffix sums: s1[d] = sum z[d:], s2[d] = sum z[d:]^2, m = k - d values left
    s1 = np.cumsum(z[::-1])[::-1]
    s2 = np.cumsum((z * z)[::-1])[::-1]
    half = k // 2
    m = (k - np.arange(half + 1)).astype(float)
    ss = np.maximum(s2[: half + 1] - s1[: half + 1] ** 2 / m, 0.0)
    stat = ss / m**2
    d = int(np.argmin(stat))
    return Truncation(index=d * batch, batches=d, searched=half, found=d < half)


def welch(y, window: int = 5) -> np.ndarray:
    """Welch's moving average of a (mean-over-replications) series: centred, window 2w + 1 (shorter at the
    start, as Welch 1983 defines it), for a plot to judge where the series levels out."""
    y = _filled(np.asarray(y, float))
    out = np.empty_like(y)
    c = np.concatenate([[0.0], np.cumsum(y)])
    n = y.size
    for i in range(n):
        w = min(window, i, n - 1 - i)
        out[i] = (c[i + w + 1] - c[i - w]) / (2 * w + 1)
    return out


def _filled(y: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward over NaN (leading NaN take the first finite value)."""
    ok = np.isfinite(y)
    if ok.all() or not ok.any():
        return np.nan_to_num(y)
    idx = np.where(ok, np.arange(y.size), 0)
    np.maximum.accumulate(idx, out=idx)
    out = y[idx]
    out[: np.argmax(ok)] = y[np.argmax(ok)]
    return out


# --- the series a replication leaves --------------------------------------------------------------------------


def _weekly_mean(done: np.ndarray, wait: np.ndarray, n: int, step: float) -> np.ndarray:
    """Mean ``wait`` of the items completed in each step (NaN where none completed)."""
    ok = np.isfinite(done)
    b = np.minimum((done[ok] // step).astype(int), n - 1)
    count = np.bincount(b, minlength=n).astype(float)
    total = np.bincount(b, weights=wait[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def replication_series(rec: dict, scenario, step: float = STEP_DAYS) -> dict[str, np.ndarray]:
    """One replication's weekly series for the warm-up check, by name (observation i covers [i step, (i+1) step)).

    ``waiting:<service>``: children waiting for the service at the start of each week (routine not yet seen
    plus advice not yet returned); ``ehc_open``: EHC requests open; ``advice_wait_days``: mean turnaround of
    health advice returned in the week; ``routine_wait_weeks:<service>``: mean wait of routine children seen in
    the week.
    """
    end = rec["end_day"]
    n = int(end // step)
    out: dict[str, np.ndarray] = {}
    for s in rec["services"]:
        if s in rec["routine"] or s in rec["advice"]:
            out[f"waiting:{s}"] = waiting_list_series(rec, s, step)[1][:n].astype(float)
    e = rec["ehc"]
    if "arrival_day" in e and e["arrival_day"].size:
        t = np.arange(n) * step
        arr = np.sort(e["arrival_day"])
        closed = np.sort(np.nan_to_num(e["closed_day"], nan=np.inf))
        out["ehc_open"] = (np.searchsorted(arr, t, side="right") - np.searchsorted(closed, t, side="right")
                           ).astype(float)
    done, wait = [], []
    for s, a in rec["advice"].items():
        if scenario.services[s].kind == "health":
            done.append(a["returned_day"])
            wait.append(a["returned_day"] - a["requested_day"])
    if done:
        out["advice_wait_days"] = _weekly_mean(np.concatenate(done), np.concatenate(wait), n, step)
    for s in rec["routine"]:
        seen = rec["routine"][s]["seen_day"]
        out[f"routine_wait_weeks:{s}"] = _weekly_mean(seen, (seen - rec["routine_arrival"][s]) / 7.0, n, step)
    return out


@dataclass
class WarmupSeries:
    """The replications' weekly series: ``values[name]`` is replications x weeks."""

    step_days: float
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def stack(cls, per_rep: list[dict[str, np.ndarray]], step: float = STEP_DAYS) -> WarmupSeries:
        names = list(dict.fromkeys(k for d in per_rep for k in d))
        return cls(step, {k: np.vstack([d[k] for d in per_rep if k in d]) for k in names})

    @classmethod
    def concat(cls, parts: list[WarmupSeries]) -> WarmupSeries:
        """The replications of several batches of the same scenario, in order."""
        names = list(dict.fromkeys(k for p in parts for k in p.values))
        return cls(parts[0].step_days, {k: np.vstack([p.values[k] for p in parts if k in p.values]) for k in names})

    def mean(self, name: str) -> np.ndarray:
        """Mean over replications, week by week (NaN only where no replication has a value)."""
        v = self.values[name]
        ok = np.isfinite(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok.any(axis=0), np.where(ok, v, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1), np.nan)


@dataclass(frozen=True)
class SeriesFinding:
    name: str
    truncation_days: float | None  # None: not found in the first half of the run
    searched_days: float


@dataclass
class WarmupCheck:
    """MSER-5 over every series of a run, against the scenario's warm-up."""

    scenario: str
    warm_up_days: float
    run_days: float
    replications: int
    findings: list[SeriesFinding]
    changing: bool = False  # demand growth, a demand forecast or capacity changes: no steady state to reach
    from_today: bool = False  # starts from the open cases given: today's state, not an empty system

    @property
    def needed_days(self) -> float | None:
        """The longest truncation point found (None when no series could be tested)."""
        found = [f.truncation_days for f in self.findings if f.truncation_days is not None]
        return max(found) if found else None

    @property
    def not_found(self) -> list[SeriesFinding]:
        return [f for f in self.findings if f.truncation_days is None]

    def longest(self) -> SeriesFinding | None:
        found = [f for f in self.findings if f.truncation_days is not None]
        return max(found, key=lambda f: f.truncation_days) if found else None

    def warnings(self) -> list[str]:
        """What a reader must be told: a warm-up shorter than the diagnostic's, or a series that never settles."""
        out = []
        top = self.longest()
        if top is not None and self.warm_up_days < top.truncation_days and not self.from_today:
            out.append(
                f"scenario {self.scenario}: the warm-up (simulation.warm_up_days = {self.warm_up_days:g} days) is "
                f"shorter than MSER-5's truncation point of {top.truncation_days:g} days ({series_label(top.name)}); "
                f"the KPIs may still carry the empty start: lengthen simulation.warm_up_days"
                + ("; but demand or capacity changes over this run, so the series may have no steady state and "
                   "a longer warm-up need not help: read the KPIs by year" if self.changing else ""))
        if self.not_found:
            names = "; ".join(series_label(f.name) for f in self.not_found)
            n = len(self.not_found)
            out.append(
                f"scenario {self.scenario}: {n} series {'does' if n == 1 else 'do'} not settle within the first "
                f"half of the run ({self.not_found[0].searched_days:g} days), so no warm-up is long enough for "
                f"them: the run is too short to tell, or the queue keeps growing (demand above capacity, or demand "
                f"growth): {names}")
        return out

    def text(self) -> str:
        """One paragraph for the command line and the report."""
        if not self.findings:
            return (f"Warm-up check (MSER-5): not done, the run ({self.run_days:g} days) is too short (it needs "
                    f"{MIN_BATCHES * BATCH * STEP_DAYS:g} days of weekly series that change).")
        top = self.longest()
        txt = (f"Warm-up check (MSER-5 on the mean of {self.replications} replications' weekly series, "
               f"{len(self.findings)} series): ")
        if top is None:
            txt += "no series settles within the first half of the run"
        elif self.from_today:
            txt += (f"longest truncation point {top.truncation_days:g} days ({series_label(top.name)}); the run starts "
                    "from the open cases and waiting lists given on its start date, not from empty, so that is the "
                    "system moving on from today's state, not a warm-up to drop")
        else:
            verdict = "enough" if self.warm_up_days >= top.truncation_days else "NOT enough"
            txt += (f"longest truncation point {top.truncation_days:g} days ({series_label(top.name)}); the scenario's "
                    f"warm-up of {self.warm_up_days:g} days is {verdict}")
        if self.not_found:
            txt += f"; {len(self.not_found)} series not settled in the first half of the run"
        if self.replications < MIN_REPLICATIONS:
            txt += (f" (with {self.replications} replication{'s' * (self.replications != 1)} the mean series is "
                    f"noisy and so is the truncation point: use {MIN_REPLICATIONS} or more)")
        return txt + "."

    def summary(self) -> dict:
        """For the manifest: the scenario's warm-up, the longest truncation point and every series' finding."""
        need = self.needed_days
        return {"method": "MSER-5 on the mean over replications of weekly series", "warm_up_days": self.warm_up_days,
                "needed_days": need, "warm_up_at_least_needed": None if need is None else self.warm_up_days >= need,
                "series": {f.name: f.truncation_days for f in self.findings}, "warnings": self.warnings()}

    def table(self) -> list[tuple[str, str]]:
        """(series, finding) rows."""
        return [(series_label(f.name), f"{f.truncation_days:g} days" if f.truncation_days is not None
                 else f"not settled within the first {f.searched_days:g} days") for f in self.findings]


def series_label(name: str) -> str:
    """What a series name means, in words."""
    kind, _, svc = name.partition(":")
    what = {"waiting": "children waiting for", "routine_wait_weeks": "routine wait (weeks) at",
            "ehc_open": "EHC requests open", "advice_wait_days": "health advice turnaround (days)"}[kind]
    return f"{what} {svc}".strip()


def check_warmup(series: WarmupSeries, scenario) -> WarmupCheck:
    """MSER-5 on the mean over replications of each series, in days from the start of the run."""
    findings = []
    step = series.step_days
    reps = 0
    for name, v in series.values.items():
        reps = max(reps, v.shape[0])
        y = series.mean(name)
        if not np.isfinite(y).any() or y.size < MIN_BATCHES * BATCH or np.nanmax(y) == np.nanmin(y):
            continue  # nothing to test: too short, empty, or constant (e.g. a service nobody uses)
        t = mser(y)
        findings.append(SeriesFinding(name, t.index * step if t.found else None, t.searched * BATCH * step))
    run_days = scenario.simulation.warm_up_days + scenario.simulation.horizon_days
    e = scenario.ehc
    changing = bool(e is not None and (e.growth_per_year or e.requests_by_year)) or any(
        s.capacity_changes for s in scenario.services.values())
    from_today = bool(e is not None and (e.open_cases or e.open_case_list))
    return WarmupCheck(scenario.name, scenario.simulation.warm_up_days, run_days, reps, findings, changing, from_today)
