"""Clinician sessions: a service's PAs a week laid out on the calendar.

Each PA is a 4-hour session (09:00-13:00 or 13:00-17:00) on a working day, held by one of the fewest clinicians
of at most 10 PAs each, who share the PAs evenly. Whole PAs are spread over the ten weekly slots so the service
is open most days; a fractional PA is a shorter session. Bank holidays (England)
remove every session that day; each clinician's leave removes whole weeks drawn at random (own stream, so the
same clinician takes the same weeks in every option); dated changes (``capacity_changes``) add or remove PAs
from a date. Time-weighted capacity is exactly the sessions listed here, which the utilisation KPI divides by.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache

import holidays
import numpy as np

from sendmodel.engine.rng import Stream, make_rng
from sendmodel.scenario.config import HOURS_PER_PA, Scenario

SLOT_START_HOUR = (9.0, 13.0)  # morning and afternoon sessions
# Order in which whole PAs fill the ten weekly slots (Mon AM=0 ... Fri PM=9): spread across days first.
SLOT_ORDER = (0, 4, 8, 3, 7, 2, 6, 1, 5, 9)


@dataclass
class Sessions:
    """One clinician's sessions: start and end (days from the start date) and ring-fenced flags."""

    start: np.ndarray
    end: np.ndarray
    ring_fenced: np.ndarray


@lru_cache(maxsize=256)
def weekly_layout(
    pas_per_week: float, ring_fenced_pas: float
) -> tuple[tuple[tuple[int, float, bool], ...], ...]:
    """For each of the 10 weekly slots, the (clinician index, hours, ring-fenced) sessions held in it.

    The PAs are shared evenly by the fewest clinicians of at most 10 PAs each (a rota, not one clinician per
    leftover fraction): with 30.3 PAs, four clinicians of 7.6 PAs, not three of 10 and one with a single
    1-hour session a week, who would take a 4-hour assessment and carry it over four weeks. Whole PAs fill the
    ten weekly slots in turn, spread across days; each clinician's fraction of a PA is one shorter session.
    """
    slots: list[list[tuple[int, float, bool]]] = [[] for _ in range(10)]
    if pas_per_week <= 1e-9:
        return tuple(tuple(s) for s in slots)
    n = max(1, int(math.ceil(pas_per_week / 10 - 1e-9)))
    per = pas_per_week / n
    whole = int(math.floor(per + 1e-9))
    frac = per - whole if per - whole > 1e-9 else 0.0
    n_rf = int(round(ring_fenced_pas))
    total_whole = n * whole
    g = 0  # whole PAs laid so far (all clinicians): the next one's slot, and whether it is ring-fenced
    for j in range(n):
        for _ in range(whole):
            # ring-fence the last whole PAs, spread over the week like the others
            slots[SLOT_ORDER[g % 10]].append((j, HOURS_PER_PA, g >= total_whole - n_rf))
            g += 1
        if frac:
            slots[SLOT_ORDER[g % 10]].append((j, HOURS_PER_PA * frac, False))
    return tuple(tuple(s) for s in slots)


@lru_cache(maxsize=32)
def bank_holidays(start: dt.date, n_days: int) -> frozenset[dt.date]:
    years = range(start.year, (start + dt.timedelta(days=n_days)).year + 1)
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=years).keys())


@lru_cache(maxsize=32)
def working_days(start: dt.date, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """The working days in [0, n_days) (days from ``start``; no weekends or bank holidays), and their
    weekdays."""
    hols = bank_holidays(start, n_days)
    days, weekdays = [], []
    for d in range(n_days):
        date = start + dt.timedelta(days=d)
        wd = date.weekday()
        if wd < 5 and date not in hols:
            days.append(d)
            weekdays.append(wd)
    out = np.array(days, dtype=np.int64), np.array(weekdays, dtype=np.int64)
    for a in out:
        a.setflags(write=False)  # shared by every call (cached)
    return out


def _pas_on(day: dt.date, base: float, changes, scale: float) -> float:
    p = base
    for c in changes:
        d = c.delta_on(day)
        if d:
            p += d * scale
    return max(p, 0.0)


def _pas_by_day(sc: Scenario, name: str, start: dt.date, days: np.ndarray) -> np.ndarray:
    """A service's PAs a week (absolute) on each working day, dated changes included."""
    svc = sc.services[name]
    scale = sc.scale if svc.capacity_basis == "per_70k" else 1.0
    base = svc.pas_per_week * scale
    if not svc.capacity_changes:
        return np.full(days.size, base)
    return np.array([_pas_on(start + dt.timedelta(days=int(d)), base, svc.capacity_changes, scale)
                     for d in days.tolist()])


def build_sessions(sc: Scenario, name: str, seed: int, replication: int, end_day: float) -> list[Sessions]:
    """Every clinician's sessions for one service over [0, end_day)."""
    svc = sc.services[name]
    scale = sc.scale if svc.capacity_basis == "per_70k" else 1.0
    base = svc.pas_per_week * scale
    rf_pas = svc.ring_fenced_pas_per_week * scale
    if sc.simulation.calendar == "always_open":
        c = int(round(base * HOURS_PER_PA / 168.0))
        n_rf = int(round(rf_pas * HOURS_PER_PA / 168.0))
        return [Sessions(np.array([0.0]), np.array([math.inf]), np.array([j >= c - n_rf])) for j in range(c)]

    start = sc.simulation.start_date
    n_days = int(math.ceil(end_day))
    # Which clinician indices ever exist: enough for the largest weekly PAs in the run.
    peak = max([base] + [_pas_on(c.applies_from, base, svc.capacity_changes, scale) for c in svc.capacity_changes])
    n_clin = int(math.floor(peak / 10 + 1e-9)) + 1
    n_weeks = n_days // 7 + 2
    on_leave = np.zeros((n_clin, n_weeks), dtype=bool)
    if svc.leave_weeks_per_year > 0:
        rng = make_rng(seed, replication, Stream.LEAVE, name)
        n_years = n_weeks // 52 + 1
        lw = svc.leave_weeks_per_year
        for j in range(n_clin):
            for y in range(n_years):
                k = int(math.floor(lw)) + int(rng.random() < lw - math.floor(lw))
                weeks = rng.choice(52, size=min(k, 52), replace=False) + 52 * y
                on_leave[j, weeks[weeks < n_weeks]] = True

    # Every working day's sessions, one weekly slot at a time (NumPy over days; a few slots and clinicians).
    days, weekdays = working_days(start, n_days)
    weeks = (days + start.weekday()) // 7  # weeks counted from the Monday on or before the start date
    pas = _pas_by_day(sc, name, start, days)
    if sc.dmo_sessions_from(name):  # the DMO/DCO is one of this service's clinicians, not backfilled
        pas = np.maximum(pas - _pas_by_day(sc, sc.ehc.dmo_service, start, days), 0.0)
    if sc.ehc is not None and name == sc.ehc.dmo_service and sc.ehc.dmo_other_work_share > 0:
        pas = pas * (1.0 - sc.ehc.dmo_other_work_share)  # the role's other work takes the rest of its sessions
    parts: list[list[tuple[np.ndarray, float, bool]]] = [[] for _ in range(n_clin)]
    for value in np.unique(pas).tolist():
        layout = weekly_layout(value, rf_pas)
        same = pas == value
        for slot in range(10):
            if not layout[slot]:
                continue
            wd, half = divmod(slot, 2)
            on = same & (weekdays == wd)
            t0 = days[on] + SLOT_START_HOUR[half] / 24.0
            wk = weeks[on]
            for j, hours, rf in layout[slot]:
                if j < n_clin:
                    parts[j].append((t0[~on_leave[j, wk]], hours, rf))
    out = []
    for j in range(n_clin):
        if not parts[j]:
            out.append(Sessions(np.empty(0), np.empty(0), np.empty(0, dtype=bool)))
            continue
        st = np.concatenate([t for t, _, _ in parts[j]])
        en = np.concatenate([t + hours / 24.0 for t, hours, _ in parts[j]])
        rfs = np.concatenate([np.full(t.size, rf, dtype=bool) for t, _, rf in parts[j]])
        if svc.ring_fence_from is not None:  # reserved sessions only from their start date
            rfs &= st >= sc.day_of(svc.ring_fence_from)
        order = np.argsort(st, kind="stable")
        out.append(Sessions(st[order], en[order], rfs[order]))
    return out


def available_hours_by_day(sessions: list[Sessions], n_days: int) -> np.ndarray:
    """Clinician hours offered on each day (for utilisation)."""
    out = np.zeros(n_days)
    for s in sessions:
        if s.start.size == 0:
            continue
        if np.isinf(s.end).any():  # always open: 24 hours every day
            out += 24.0
            continue
        np.add.at(out, s.start.astype(int), (s.end - s.start) * 24.0)
    return out
