"""Levers that start on a date: triage, DMO/DCO admin support and reserved short-notice slots apply from their
start date only (before it the pathway runs as without them); with no date they apply throughout."""

from __future__ import annotations

import datetime as dt

import numpy as np

from sendmodel.engine.model import ADMIN, ASSESSMENT, TRIAGE
from sendmodel.engine.sessions import build_sessions
from tests.functional.builders import fixed, records, tiny

START = dt.date(2024, 1, 1)  # the tiny scenario's start date
FROM = dt.date(2024, 7, 1)
DAY = float((FROM - START).days)


def _enqueued(rec, service, kind):
    s = rec["services"][service]
    return s["task_enqueued"][s["task_kind"] == kind]


def test_triage_from_a_date():
    sc = tiny({"ehc.triage.enabled": True, "ehc.triage.start": str(FROM), "ehc.triage.hours": fixed(0.25),
               "services.spa.pas_per_week": 4})
    rec = records(sc)
    t = _enqueued(rec, "spa", TRIAGE)
    assert t.size > 50 and t.min() >= DAY
    asked = rec["ehc"]["advice_requested_day"]
    later = np.sum(~np.isnan(asked) & (asked >= DAY))
    assert t.size == later  # every request for advice from the date on is triaged, none before


def test_admin_support_from_a_date():
    sc = tiny({"ehc.p_exceptional_provision": 1.0, "ehc.admin_support": True,
               "ehc.admin_support_from": str(FROM)})
    rec = records(sc)
    on_dmo, on_admin = _enqueued(rec, "dmo", ADMIN), _enqueued(rec, "admin", ADMIN)
    assert on_dmo.size > 10 and on_admin.size > 10
    assert on_dmo.max() < DAY <= on_admin.min()  # the DMO/DCO does its own admin until support starts


def test_reserved_slots_from_a_date():
    base = {"services.therapy.advice.booking_lead_days": fixed(28), "services.therapy.advice.p_known": 0.0,
            "services.therapy.pas_per_week": 20, "services.therapy.ring_fenced_pas_per_week": 4}
    sc = tiny({**base, "services.therapy.ring_fence_from": str(FROM)})
    for s in build_sessions(sc, "therapy", 1, 0, 365.0):
        assert not s.ring_fenced[s.start < DAY].any()
    assert any(s.ring_fenced[s.start >= DAY].any() for s in build_sessions(sc, "therapy", 1, 0, 365.0))
    rec = records(sc)
    a = rec["advice"]["therapy"]
    wait = a["assessment_started_day"] - a["requested_day"]
    before = a["requested_day"] < DAY - 60
    after = a["requested_day"] >= DAY
    assert np.nanmin(wait[before]) >= 28  # before the date every booking takes its notice
    assert np.nanmean(wait[after]) < 1  # after it the assessment can be booked at once (seen in a reserved slot)
    th = rec["services"]["therapy"]
    starts = th["task_started"][th["task_kind"] == ASSESSMENT]
    assert starts.size > 100


def test_no_date_means_throughout():
    sc = tiny({"ehc.triage.enabled": True, "ehc.triage.hours": fixed(0.25), "services.spa.pas_per_week": 4})
    rec = records(sc)
    asked = rec["ehc"]["advice_requested_day"]
    assert _enqueued(rec, "spa", TRIAGE).size == np.sum(~np.isnan(asked))
