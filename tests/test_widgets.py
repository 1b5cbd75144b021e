"""Dashboard logic without a browser: set widget values in Python and check what the dashboard shows."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("ipywidgets")

import sendmodel  # noqa: E402
from sendmodel.widgets import explore  # noqa: E402
from sendmodel.widgets._engine import LatestRunner, Stale, run_frames  # noqa: E402
from sendmodel.widgets.levers import LeverError, apply_levers, levers_for, read_levers  # noqa: E402
from tests.conftest import SCENARIOS  # noqa: E402

TINY = {"simulation.warm_up_days": 30, "simulation.horizon_days": 60}


@pytest.fixture(scope="module")
def tiny(baseline):
    return baseline.override(TINY)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A scenarios folder with two short files (and a broken one) for the picker."""
    d = tmp_path_factory.mktemp("scenarios")
    base = SCENARIOS / "baseline.yaml"
    sim = "simulation: {warm_up_days: 30, horizon_days: 60}\n"
    (d / "short.yaml").write_text(f"extends: {base}\nname: short\n{sim}")
    (d / "short_more_dmo.yaml").write_text(
        f"extends: {base}\nname: short_more_dmo\n{sim}services: {{dmo: {{pas_per_week: 3}}}}\n"
    )
    (d / "broken.yaml").write_text(f"extends: {base}\nname: broken\npopulation: -1\n")
    return d


def _dash(scenario, **kw):
    kw.setdefault("replications", 2)
    d = sendmodel.widgets.ExploreDashboard(scenario, workers=1, delay=0.05, quick=False, **kw)
    assert d.wait(120), "the first run did not finish within 120 s"
    return d


# --- levers -> scenario fields ------------------------------------------------------------------------------


def test_levers_read_the_file_values(baseline):
    v = read_levers(baseline)
    assert v["population"] == 70000 and v["demand"] == 901, v
    assert v["dmo_pas"] == 1 and v["admin_support"] is False and v["triage"] is False, v
    slt = baseline.services["slt"]
    assert v["pas.slt"] == slt.pas_per_week and v["ring_fenced.slt"] == 0, v
    assert v["known.slt"] == 100 * slt.advice.p_known, v
    assert not any(k.endswith(".dmo") or k.endswith(".spa") for k in v), (
        "DMO/DCO and triage have their own levers"
    )


def test_each_lever_sets_its_field(baseline):
    sc = apply_levers(
        baseline,
        {
            "population": 140000,
            "demand": 1000,
            "dmo_pas": 2,
            "admin_support": True,
            "admin_pas": 1.5,
            "triage": True,
            "triage_pas": 2,
            "pas.slt": 30,
            "ring_fenced.slt": 4,
            "known.ot": 80,
        },
    )
    assert sc.population == 140000
    assert sc.ehc.requests_per_year_per_70k == 1000
    assert sc.services["dmo"].pas_per_week == 2 and sc.services["dmo_admin"].pas_per_week == 1.5
    assert sc.ehc.admin_support is True and sc.ehc.triage.enabled is True
    assert sc.services["spa"].pas_per_week == 2
    assert sc.services["slt"].pas_per_week == 30 and sc.services["slt"].ring_fenced_pas_per_week == 4
    assert sc.services["ot"].advice.p_known == pytest.approx(0.8), (
        "% known is shown in percent, stored as a share"
    )
    assert sc.services["ot"].pas_per_week == baseline.services["ot"].pas_per_week, "untouched levers stay"


def test_unchanged_levers_return_the_same_scenario(baseline):
    assert apply_levers(baseline, read_levers(baseline)) is baseline


@pytest.mark.parametrize(
    "values, words",
    [
        ({"population": 0}, "Children aged 0-17 in the area: must be at least 1"),
        ({"known.slt": 120}, "% of children already known: must be at most 100"),
        ({"pas.ot": -2}, "Occupational therapy: PAs a week: must be at least 0"),
        (
            {"ring_fenced.slt": 25, "pas.slt": 20},
            "reserved short-notice assessment PAs (25) cannot be more than its PAs a week (20)",
        ),
        ({"dmo_pas": "two"}, "DMO/DCO PAs a week: enter a number"),
    ],
)
def test_bad_values_give_messages_in_lever_words(baseline, values, words):
    with pytest.raises(LeverError) as err:
        apply_levers(baseline, values)
    assert words in err.value.message, f"expected {words!r} in the message, got {err.value.message!r}"
    assert "services." not in err.value.message, f"message shows a field path: {err.value.message!r}"


def test_lever_list_follows_the_scenario(baseline):
    keys = {lv.key for lv in levers_for(baseline)}
    assert {"pas.la_casework", "pas.educational_psychology"} <= keys
    assert "known.la_casework" not in keys, "LA casework gives no advice, so it has no % known"


# --- background runs ----------------------------------------------------------------------------------------


def test_latest_runner_runs_only_the_newest_of_a_burst():
    seen, results = [], []

    def work(payload, progress, is_stale):
        seen.append(payload)
        return payload * 10

    r = LatestRunner(work, on_result=results.append, delay=0.1)
    for i in range(20):
        r.request(i)
    assert r.wait(5), "the runner did not go idle"
    assert seen == [19], f"expected only the newest request to run, ran {seen}"
    assert results == [190], f"expected the newest result only, got {results}"


def _stoppable(started, stopped, slow=lambda payload: True):
    """Work that, for a slow payload, runs up to 5 s checking is_stale() and stops (recorded) when it turns."""

    def work(payload, progress, is_stale):
        if slow(payload):
            started.set()
            for _ in range(500):
                if is_stale():
                    stopped.append(payload)
                    raise Stale()
                time.sleep(0.01)
        return payload

    return work


def test_latest_runner_drops_a_run_overtaken_by_a_newer_request():
    started = threading.Event()
    results, stopped = [], []
    work = _stoppable(started, stopped, slow=lambda payload: payload == "slow")

    r = LatestRunner(work, on_result=results.append, delay=0.0)
    r.request("slow")
    assert started.wait(5)
    r.request("fast")
    assert r.wait(10), "the runner did not go idle"
    assert results == ["fast"], f"expected only the newer result shown, got {results}"
    assert stopped == ["slow"], "the overtaken run should have stopped early"


def test_latest_runner_cancel_stops_the_run_and_shows_nothing_of_it():
    started, results, stopped = threading.Event(), [], []
    work = _stoppable(started, stopped, slow=lambda payload: payload == "slow")

    r = LatestRunner(work, on_result=results.append, delay=0.0)
    assert not r.cancel()  # nothing to cancel
    r.request("slow")
    assert started.wait(5)
    assert r.cancel()
    assert r.wait(10) and results == [] and stopped == ["slow"]
    r.request("again")  # a request after a cancel runs as usual
    assert r.wait(10) and results == ["again"]


def test_latest_runner_sends_errors_to_the_dashboard_not_the_caller():
    errors = []

    def work(payload, progress, is_stale):
        raise RuntimeError("boom")

    r = LatestRunner(work, on_error=errors.append, delay=0.0)
    r.request(1)
    assert r.wait(5)
    assert [str(e) for e in errors] == ["boom"], errors


@pytest.mark.parametrize("workers", [1, 2])
def test_dashboard_runs_equal_sendmodel_run(tiny, workers):
    got = run_frames(tiny, 2, seed=7, workers=workers).kpis
    want = sendmodel.run(tiny, replications=2, seed=7, keep_events=False).kpis
    assert got.equals(want), f"dashboard KPIs differ from sendmodel.run with {workers} worker(s)"


def test_first_figures_come_from_the_replications_in_so_far(tiny):
    parts = []
    full = run_frames(tiny, 3, seed=5, partial=parts.append, partial_at=2)
    assert len(parts) == 1 and parts[0].replications == 2, [p.replications for p in parts]
    first_two = full.kpis[full.kpis.replication < 2].reset_index(drop=True)
    assert parts[0].kpis.equals(first_two), "first figures must be the finished replications, unchanged"


# --- the explore dashboard ----------------------------------------------------------------------------------


def test_explore_shows_kpis_plot_and_status(tiny):
    d = _dash(tiny)
    assert "Advice returned within 6 weeks" in d.table.value, d.table.value[:300]
    assert "95% CI" in d.table.value
    assert "As in the file" not in d.table.value, "nothing changed yet, so no comparison column"
    assert d.plot.value[:8] == b"\x89PNG\r\n\x1a\n", "the plot should be a PNG"
    assert "Speech and language therapy" in d.service_table.value
    assert d.status.value.startswith("Updated in"), d.status.value
    assert d.message.value == ""
    assert d.progress.layout.visibility == "hidden"


def test_moving_a_lever_changes_the_table_and_the_plot(tiny):
    d = _dash(tiny)
    table0, plot0, runs0 = d.table.value, d.plot.value, d.runner.runs_started
    d.controls["demand"].value = 1800  # as a person would: one widget's value, no helper
    assert d.wait(120)
    assert d.runner.runs_started == runs0 + 1
    assert d.results.scenario.ehc.requests_per_year_per_70k == 1800
    assert d.table.value != table0, "the KPI table did not change after doubling demand"
    assert d.plot.value != plot0, "the turnaround plot did not change after doubling demand"
    assert "As in the file" in d.table.value and "Change" in d.table.value
    ref = d.reference_summary
    r0 = ref[(ref.kpi == "advice_within_6w_pct") & (ref.service == "all")]["mean"].iloc[0]
    s = d.summary
    r1 = s[(s.kpi == "advice_within_6w_pct") & (s.service == "all")]["mean"].iloc[0]
    assert r1 < r0, f"doubling demand should lower on-time advice (file {r0:.1f}%, now {r1:.1f}%)"


def test_a_population_change_is_compared_like_for_like(tiny):
    """A bigger area costs more and has more requests: against the file at its own population, that is not a
    change the levers made. With the population alone changed there is nothing to compare; with a lever moved
    too, the file is run at the new population and the costs change only by what the lever did."""
    d = _dash(tiny)
    d.controls["population"].value = 140000
    assert d.wait(120)
    assert "As in the file" not in d.table.value, "the population alone: no comparison column"
    d.controls["demand"].value = 600
    assert d.wait(120)
    assert "As in the file, at 140,000 children" in d.table.value
    ref, s = d.reference_summary, d.summary
    cost = lambda t: t[(t.kpi == "cost_total_gbp") & (t.service == "all")]["mean"].iloc[0]  # noqa: E731
    assert cost(ref) == pytest.approx(cost(s)), "PAs unchanged: the cost is the same like for like"
    req = lambda t: t[(t.kpi == "requests_per_year") & (t.service == "all")]["mean"].iloc[0]  # noqa: E731
    assert req(ref) > 600, "the file's requests at 140,000 children (400 per 70,000 doubled)"


def test_more_dmo_pas_shorten_sign_off(tiny):
    d = _dash(tiny, replications=4)
    d.set(dmo_pas=3)
    assert d.wait(120)
    t = d.timings[-1]
    assert t["first_felt_seconds"] is not None and t["first_felt_seconds"] < t["felt_seconds"], (
        f"with 4 replications the table should show first figures before the last one lands: {t}"
    )
    s, ref = d.summary, d.reference_summary
    now = s[s.kpi == "dmo_signoff_median_days"]["mean"].iloc[0]
    before = ref[ref.kpi == "dmo_signoff_median_days"]["mean"].iloc[0]
    assert now < before, f"3 DMO/DCO PAs should sign off faster than 1 ({before:.1f} -> {now:.1f} days)"
    assert "sm-better" in d.table.value, "an improvement should be marked as better"


def test_a_bad_value_shows_a_message_and_runs_nothing(tiny):
    d = _dash(tiny)
    table0, runs0 = d.table.value, d.runner.runs_started
    d.controls["ring_fenced.slt"].value = 500
    assert d.wait(10)
    assert "cannot be more than its PAs a week" in d.message.value, d.message.value
    assert "sm-error" in d.message.value
    assert d.runner.runs_started == runs0 and d.table.value == table0, "a bad value must not start a run"
    d.controls["ring_fenced.slt"].value = 2
    assert d.wait(120)
    assert d.message.value == "", f"the message should clear once the value is fixed, got {d.message.value!r}"
    assert d.results.scenario.services["slt"].ring_fenced_pas_per_week == 2


def test_triage_without_pas_warns_but_runs(tiny):
    d = _dash(tiny)
    d.controls["triage"].value = True
    assert d.wait(120)
    assert "Triage is on but has no PAs" in d.message.value and "sm-warning" in d.message.value
    assert d.results.scenario.ehc.triage.enabled


def test_a_failed_run_shows_a_message(tiny, monkeypatch):
    d = _dash(tiny)
    import sendmodel.widgets._explore as ex

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ex, "run_frames", broken)
    d.controls["pas.slt"].value = 25
    assert d.wait(30)
    assert "The run failed: disk full" in d.message.value, d.message.value
    assert d.status.value == "Run failed"
    assert d.progress.layout.visibility == "hidden"
    assert "sm-stale" in d.table._dom_classes, "the figures shown answer the levers before, so stay marked"


def test_outputs_are_marked_stale_while_a_run_goes(tiny, monkeypatch):
    d = _dash(tiny)
    import sendmodel.widgets._explore as ex

    started, release, real = threading.Event(), threading.Event(), ex.run_frames

    def held(*a, **k):
        started.set()
        assert release.wait(60)
        return real(*a, **k)

    monkeypatch.setattr(ex, "run_frames", held)
    outputs = (d.table, d.plot, d.service_table)
    assert not any("sm-stale" in w._dom_classes for w in outputs)
    d.controls["pas.slt"].value = 25
    assert started.wait(10), "the run did not start"
    try:
        assert all("sm-stale" in w._dom_classes for w in outputs), [w._dom_classes for w in outputs]
        assert d.progress.layout.visibility == "visible" and d.status.value.startswith("Running")
    finally:
        release.set()
    assert d.wait(120)
    assert not any("sm-stale" in w._dom_classes for w in outputs), [w._dom_classes for w in outputs]
    assert d.status.value.startswith("Updated in") and d.message.value == ""


def test_scenario_picker_loads_the_file_and_resets_levers(tiny_dir):
    d = _dash("short", scenarios_dir=tiny_dir)
    assert {v for _, v in d.picker.options} == {"short", "short_more_dmo", "broken"}, d.picker.options
    assert d.controls["dmo_pas"].value == 1
    d.picker.value = "short_more_dmo"
    assert d.wait(120)
    assert d.controls["dmo_pas"].value == 3, "levers should show the picked file's values"
    assert d.results.scenario.name == "short_more_dmo"
    d.picker.value = "broken"
    assert d.wait(10)
    assert "Cannot use this scenario file" in d.message.value and "population" in d.message.value, (
        d.message.value
    )


def test_picking_another_file_keeps_the_edits_aside_and_says_so(tiny_dir):
    d = _dash("short", scenarios_dir=tiny_dir)
    d.controls["dmo_pas"].value = 2
    assert d.wait(120)
    d.picker.value = "short_more_dmo"
    assert d.wait(120)
    assert d.controls["dmo_pas"].value == 3  # the picked file as it stands
    assert "Your changes to 1 lever of short" in d.message.value and "pick short again" in d.message.value
    d.picker.value = "short"
    assert d.wait(120)
    assert d.controls["dmo_pas"].value == 2, "the edits to short come back with it"
    assert "Your earlier changes to short (1 lever) are back" in d.message.value
    assert d.results.scenario.services["dmo"].pas_per_week == 2


def test_the_one_liners_name_every_setting():
    import inspect

    from sendmodel.widgets import business_case, compare

    shared = {"scenarios_dir", "replications", "seed", "workers", "quick"}
    for fn, own in [
        (explore, {"scenario"}),
        (compare, {"options", "baseline"}),
        (business_case, {"scenario", "population", "advice_target_pct", "dmo_target_working_days",
                         "service_advice_pct", "routine"}),
    ]:
        params = set(inspect.signature(fn).parameters)
        assert params == shared | own, f"{fn.__name__}: {sorted(params)}"
    assert inspect.signature(sendmodel.widgets.ExploreDashboard).parameters["delay"].default == 0.1


def test_explore_defaults_to_the_project_baseline(monkeypatch):
    monkeypatch.setenv("SENDMODEL_QUICK", "1")
    d = sendmodel.widgets.ExploreDashboard(workers=1, run_now=False)
    assert d.picker.value == "baseline" and ("Baseline", "baseline") in d.picker.options
    assert not any(o.startswith(("sweeps/", "validation/")) for _, o in d.picker.options), (
        f"sweep specs and validation cases are not scenarios to explore: {d.picker.options}"
    )
    assert d.quick and d.replications.value == 2
    assert d.base.simulation.horizon_days < 366, "quick mode should shorten the run"
    assert explore.__doc__ and "levers" in explore.__doc__


def test_one_page_with_a_tab_per_dashboard(monkeypatch):
    """The app: three tabs; a tab's dashboard is built when it is first opened, and kept."""
    monkeypatch.setenv("SENDMODEL_QUICK", "1")
    from sendmodel.widgets import app

    a = app()
    assert [a.tab.get_title(i) for i in range(3)] == ["Explore a scenario", "Compare options", "Business case"]
    assert a.dashboards[0] is not None and a.dashboards[1] is None and a.dashboards[2] is None
    a.tab.selected_index = 2
    built = a.dashboards[2]
    assert built is not None and a.tab.children[2].children[0] is built.widget
    a.tab.selected_index = 0
    a.tab.selected_index = 2
    assert a.dashboards[2] is built  # kept, with its settings


def test_cancel_stops_the_run_and_keeps_the_last_figures_greyed(tiny, monkeypatch):
    d = _dash(tiny)
    import sendmodel.widgets._explore as ex

    before = d.table.value
    started, real = threading.Event(), ex.run_frames

    def held(*a, **k):
        started.set()
        is_stale = a[5] if len(a) > 5 else k["is_stale"]
        while not is_stale():  # a long run that checks between replications, as run_frames does
            time.sleep(0.01)
        raise Stale()

    monkeypatch.setattr(ex, "run_frames", held)
    assert d.cancel_button.layout.visibility == "hidden"
    d.controls["pas.slt"].value = 25
    assert started.wait(10), "the run did not start"
    assert d.cancel_button.layout.visibility == "visible"
    d.cancel_button.click()
    assert d.wait(10), "the cancelled run did not stop"
    assert d.status.value.startswith("Cancelled") and d.table.value == before
    assert "sm-stale" in d.table._dom_classes  # the figures answer an older ask
    assert d.cancel_button.layout.visibility == "hidden" and d.progress.layout.visibility == "hidden"
    monkeypatch.setattr(ex, "run_frames", real)
    d.controls["pas.slt"].value = 26  # and the next change runs as usual
    assert d.wait(120) and d.status.value.startswith("Updated in")
    assert "sm-stale" not in d.table._dom_classes


def test_the_status_line_says_about_how_long_is_left():
    from sendmodel.widgets._base import time_left

    assert time_left(10.0, 2, 10) == ", about 40 s left"
    assert time_left(60.0, 1, 4) == ", about 3 min left"
    assert time_left(5.0, 0, 10) == "" and time_left(5.0, 10, 10) == "" and time_left(1.0, 9, 10) == ""


def test_a_page_asking_for_every_widget_state_waits_for_a_run_changing_its_outputs(tiny):
    """The page's snapshot of widget states (Voila asks for them all at once when it connects) and a run
    changing the status line from the background never interleave: the snapshot waits for the change, so the
    page gets the finished status in the snapshot or as an update after it, never an update it drops."""
    import ipywidgets as W

    from sendmodel.widgets._sync import LOCK

    dash = _dash(tiny)
    sent = []

    class Comm:  # ipywidgets' control comm: the snapshot goes out through send()
        def send(self, data, buffers=None):
            sent.append(data)

    old = W.Widget._control_comm
    W.Widget._control_comm = Comm()
    try:
        with LOCK:  # a run is halfway through changing its outputs
            dash.status.value = "Updated (half-way)"
            asked = threading.Thread(
                target=W.Widget._handle_control_comm_msg, args=({"content": {"data": {"method": "request_states"}}},)
            )
            asked.start()
            asked.join(0.3)
            assert asked.is_alive() and not sent, "the snapshot was taken while a run was changing its outputs"
            dash.status.value = "Updated"
        asked.join(10)
    finally:
        W.Widget._control_comm = old
    assert not asked.is_alive() and len(sent) == 1
    assert sent[0]["states"][dash.status.model_id]["state"]["value"] == "Updated"
