"""The family has 15 days to comment on the draft plan (SEND Regulations 2014 reg. 13): no plan is finalised
sooner after its draft, and the days are the scenario's."""

from __future__ import annotations

import numpy as np

from tests.functional.builders import records, tiny


def test_no_plan_is_final_before_the_familys_days_have_run():
    for days in (15, 30):
        rec = records(tiny({"ehc.family_consultation_days": days}))
        e = rec["ehc"]
        done = ~np.isnan(e["final_day"])
        gap = e["final_day"][done] - e["draft_day"][done]
        assert done.sum() > 100 and gap.min() >= days and np.median(gap) < days + 3
