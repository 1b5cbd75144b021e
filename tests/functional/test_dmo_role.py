"""The whole DMO/DCO role: sign-off only for assessments going on to a plan (a switch), and a share of the
role's sessions for its other work, which lengthens sign-off while the PAs are still paid for."""

from __future__ import annotations

import numpy as np

from sendmodel.analysis.kpis import kpis_from_records
from sendmodel.engine.model import DMO_REVIEW
from sendmodel.engine.sessions import build_sessions
from tests.functional.builders import kpi, records, tiny

EXC = {"ehc.p_exceptional_provision": 1.0, "ehc.p_plan_after_assessment": 0.5}


def test_signoff_only_for_plans():
    both, plans = records(tiny(EXC)), records(tiny({**EXC, "ehc.dmo_signoff_plans_only": True}))
    e = plans["ehc"]
    signed = ~np.isnan(e["dmo_requested_day"])
    assert signed.any() and np.all(e["plan"][signed])  # nobody without a plan is signed off
    n_both = (both["services"]["dmo"]["task_kind"] == DMO_REVIEW).sum()
    n_plans = (plans["services"]["dmo"]["task_kind"] == DMO_REVIEW).sum()
    assert 0.35 * n_both < n_plans < 0.65 * n_both  # about half the assessments end in a plan


def test_other_work_takes_sessions_and_lengthens_signoff():
    base = {**EXC, "services.dmo.pas_per_week": 1, "services.dmo.gbp_per_pa": 500,
            "services.dmo.commissioner": "nhs"}
    sc0, sc1 = tiny(base), tiny({**base, "ehc.dmo_other_work_share": 0.5})
    hours = lambda sc: sum(((s.end - s.start) * 24).sum() for s in build_sessions(sc, "dmo", 1, 0, 365.0))  # noqa
    assert abs(hours(sc1) - 0.5 * hours(sc0)) < 1e-6 * hours(sc0)
    r0, r1 = records(sc0), records(sc1)
    assert kpi(r1, sc1, "dmo_signoff_median_days") > kpi(r0, sc0, "dmo_signoff_median_days")
    cost = lambda r, sc: [v for k, s, v in kpis_from_records(r, sc) if k == "cost_total_gbp"][0]  # noqa: E731
    assert cost(r1, sc1) == cost(r0, sc0)  # the sessions are still paid for
