"""A comparison over several years, year by year: paired differences per financial year, a lever that starts in
the second year changes nothing in the first (common random numbers), and the from-today option files load."""

from __future__ import annotations

import sendmodel
from sendmodel.analysis.compare import run_comparison
from sendmodel.cli.compare import format_by_year
from tests.conftest import SCENARIOS
from tests.functional.builders import fixed, tiny

YEARS = {"simulation.start_date": "2024-04-01", "simulation.horizon_days": 730,
         "ehc.triage.hours": fixed(0.25), "services.spa.pas_per_week": 4}


def test_a_lever_from_the_second_year_changes_nothing_in_the_first():
    base = tiny(YEARS, name="today")
    later = tiny({**YEARS, "ehc.triage.enabled": True, "ehc.triage.start": "2025-04-01"}, name="triage_2025")
    c = run_comparison([base, later], "today", replications=3, seed=4)
    by = c.by_year("financial")
    assert list(dict.fromkeys(by["period"])) == ["2024/25", "2025/26"]
    t = by[(by["option"] == "triage_2025") & (by["service"] == "all")].set_index(["period", "kpi"])
    for kpi in ("decisions_within_6w_pct", "advice_turnaround_median_days", "requests_open_end"):
        assert t.loc[("2024/25", kpi), "diff"] == 0.0  # identical replications before the lever starts
    assert t.loc[("2025/26", "advice_turnaround_median_days"), "diff"] != 0.0  # triage from then on
    text = format_by_year(c)
    assert "2024/25" in text and "2025/26" in text and "triage_2025" in text
    assert by.equals(c.by_year("financial")) and not c.by_year("calendar").empty


def test_a_one_year_comparison_has_no_years():
    c = run_comparison([tiny(name="a"), tiny(name="b")], "a", replications=2, seed=1)
    assert c.by_year().empty and format_by_year(c) == ""


def test_from_today_option_files_load_and_start_on_their_dates():
    files = sorted((SCENARIOS / "from_today_options").glob("*.yaml"))
    assert len(files) >= 2
    for f in files:
        sc = sendmodel.load_scenario(f)
        assert sc.simulation.warm_up_days == 0 and sc.ehc.reviews.enabled
        dated = ([sc.ehc.triage.start] + [s.ring_fence_from for s in sc.services.values()]
                 + [p.start for p in sc.pools.values()])
        assert any(d is not None and d > sc.simulation.start_date for d in dated)
