"""The business case: benchmarks that add up, costs by commissioner, a workbook that opens, an HTML report that
renders in headless Chromium, and the `sendmodel business-case` command."""

from __future__ import annotations

import html
import os
import pickle
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sendmodel
from sendmodel.analysis.costs import DAYS_PER_YEAR
from sendmodel.cli.main import main
from sendmodel.studies.business_case.case import parse_lever_target
from sendmodel.studies.business_case.report import SUMMARY_TABLE_ROW
from sendmodel.studies.business_case.standards import BACD_PAS_PER_70K, NO_EXTRA_PAS, SCOPE
from tests.conftest import ROOT, SCENARIOS

POP = 140_000  # twice the reference population: everything per 70,000 must scale
SHORT = {"simulation.warm_up_days": 30, "simulation.horizon_days": 150}
TARGETS = [
    "dmo:dmo_signoff_median_working_days<=10",
    "physio:advice_within_6w_pct@physio>=70",
    "physio:routine_wait_median_weeks@physio<=today",  # held at today's: the need is the larger of the two
    "slt:advice_within_6w_pct@slt>=99",  # beyond what PAs can buy in the baseline: must say so
]
CHROMIUM = os.environ.get("SENDMODEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def _build():
    sc = sendmodel.load_scenario(SCENARIOS / "baseline.yaml").override(SHORT)
    admin = sc.override({"ehc.admin_support": True, "services.dmo_admin.pas_per_week": 2.5}, name="admin_support")
    return sendmodel.business_case(sc, population=POP, targets=TARGETS, options={"admin_support": admin},
                                   replications=3, seed=7, cap_factor=1.2)


@pytest.fixture(scope="module")
def bc(tmp_path_factory):
    """Built once per test session, even with pytest-xdist: the first worker builds and pickles, others wait."""
    shared = tmp_path_factory.getbasetemp().parent
    done, lock = shared / "business_case.pkl", shared / "business_case.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        for _ in range(3600):
            if done.exists():
                return pickle.loads(done.read_bytes())
            time.sleep(0.5)
        pytest.fail("another worker did not finish building the business case within 30 minutes")
    os.close(fd)
    case = _build()
    tmp = done.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(case))
    os.replace(tmp, done)
    return case


@pytest.fixture(scope="module")
def written(bc, tmp_path_factory):
    out = tmp_path_factory.mktemp("bc")
    bc.settings["command"] = "pytest tests/business_case"
    return bc.to_dir(out)


def _bench(bc, lever, benchmark) -> pd.Series:
    s = bc.summary
    row = s[(s["lever"] == lever) & (s["benchmark"] == benchmark)]
    assert len(row) == 1, f"expected one {benchmark!r} row for {lever}, got {len(row)}"
    return row.iloc[0]


def test_benchmarks_add_up_in_pas_wte_and_gbp(bc):
    sc = bc.scenario
    scale = POP / 70_000
    assert sc.population == POP
    weeks = DAYS_PER_YEAR / 7
    bacd = _bench(bc, "dmo", "BACD/BACCH recommendation")
    assert bacd["pas_per_week"] == pytest.approx(BACD_PAS_PER_70K * scale), "BACD/BACCH: 2 PAs per 70,000 children"
    assert bacd["pas_per_week_per_70k"] == pytest.approx(2.0)
    today = _bench(bc, "dmo", "Funded today")
    assert today["pas_per_week"] == pytest.approx(sc.services["dmo"].pas_per_week * scale)
    for lever in ("dmo", "physio"):
        unit = sc.services[lever].gbp_per_pa
        for b in ("Funded today", "Needed (model)"):
            r = _bench(bc, lever, b)
            assert r["wte"] == pytest.approx(r["pas_per_week"] / 10), f"{lever} {b}: 10 PAs = 1 WTE"
            assert r["gbp_per_year"] == pytest.approx(r["pas_per_week"] * unit * weeks), (
                f"{lever} {b}: GBP a year should be PAs x GBP {unit} per PA x {weeks:.2f} weeks, got "
                f"{r['gbp_per_year']}"
            )
        need, now = _bench(bc, lever, "Needed (model)"), _bench(bc, lever, "Funded today")
        extra = _bench(bc, lever, "Extra PAs needed beyond funded")
        for col in ("pas_per_week", "wte", "gbp_per_year"):
            assert extra[col] == pytest.approx(max(0.0, need[col] - now[col])), f"{lever} extra in {col}"
        sols = [s for s in bc.solutions if s.lever == lever]
        assert need["pas_per_week"] == max(s.pas_per_week for s in sols), "needed: the most any target needs"
    bgap = _bench(bc, "dmo", "BACD/BACCH: extra beyond funded")
    assert bgap["pas_per_week"] == pytest.approx(max(0.0, bacd["pas_per_week"] - today["pas_per_week"]))


def test_unreachable_target_is_not_a_number_anywhere(bc):
    need = _bench(bc, "slt", "Needed (model)")
    assert pd.isna(need["pas_per_week"]) and pd.isna(need["gbp_per_year"]), f"got {need.to_dict()}"
    assert "NOT REACHABLE" in need["note"] and "search cap" in need["note"], need["note"]
    t = bc.targets.set_index("lever")
    assert not t.loc["slt", "reachable"] and t.loc[["physio"], "reachable"].all() and t.loc["dmo", "reachable"]
    assert bc.plan.services["slt"].pas_per_week == bc.scenario.services["slt"].pas_per_week, (
        "an unreachable lever stays at today's PAs in the plan"
    )


def test_every_figure_traces_to_a_parameter_or_a_run(bc):
    assert bc.summary["trace"].str.len().gt(0).all(), "every benchmark row needs a trace"
    run_ids = set(bc.runs["run_id"])
    for tr in bc.summary["trace"]:
        for rid in re.findall(r"\b([a-z_]+#\d+)\b", tr):
            assert rid in run_ids, f"trace names run {rid}, which is not in the runs table"
    params = set(bc.assumptions["parameter"])
    for p in ("services.dmo.pas_per_week", "services.dmo.gbp_per_pa", "business_case.bacd_pas_per_70k"):
        assert p in params, f"assumptions should list {p}"
    assert bc.assumptions["source"].str.len().gt(0).all(), "every assumption needs a source"
    levels = bc.targets.groupby("lever")["levels_run"].sum()
    for lever, n in levels.items():
        assert (bc.runs["lever"] == lever).sum() == n, f"runs table should hold all {n} levels of {lever}"


def test_costs_by_commissioner_add_up(bc):
    c = bc.cost_by_commissioner
    total = c[c["basis"] == "total"].iloc[0]
    for basis in ("responsible commissioner", "funder (joint costs split)"):
        part = c[c["basis"] == basis]
        for col in ("gbp_per_year_today", "gbp_per_year_plan"):
            assert part[col].sum() == pytest.approx(total[col]), f"{basis} {col} should sum to the total"
    # DMO/DCO and physiotherapy are NHS lines: the NHS's extra equals their gaps in GBP (the plan never cuts)
    extra_nhs = c[(c["basis"] == "responsible commissioner") & (c["who"] == "nhs")]["extra_gbp_per_year"].iloc[0]
    gaps = sum(_bench(bc, lv, "Extra PAs needed beyond funded")["gbp_per_year"] for lv in ("dmo", "physio"))
    assert extra_nhs == pytest.approx(gaps), f"NHS extra {extra_nhs} should equal the DMO/DCO + physio gaps {gaps}"


def test_cost_sensitivity_moves_the_money_not_the_pas(bc):
    cs = bc.cost_sensitivity.set_index("case")
    c = bc.cost_by_commissioner
    extra = c[c["basis"] == "total"]["extra_gbp_per_year"].iloc[0]
    assert cs.loc["as costed", "extra_gbp_per_year"] == pytest.approx(extra)
    funders = [k for k in cs.columns if k.startswith("extra_gbp_per_year_")]
    for case, r in cs.iterrows():
        assert r[funders].sum() == pytest.approx(r["extra_gbp_per_year"]), f"{case}: funders add up to the total"
    pa_extra = bc.cost_lines.query("kind == 'pas'")["extra_gbp_per_year"].sum()
    other = extra - pa_extra
    assert cs.loc["unit costs 10% higher", "extra_gbp_per_year"] == pytest.approx(1.1 * pa_extra + other)
    assert cs.loc["unit costs 10% lower", "extra_gbp_per_year"] == pytest.approx(0.9 * pa_extra + other)
    assert cs.loc["extra PAs at agency rates", "extra_gbp_per_year"] >= extra
    assert pa_extra > 0, "the plan adds PAs in this case, so the check is not vacuous"


def test_cost_by_year_is_the_money_in_each_financial_year(bc):
    y = bc.cost_by_year
    c = bc.cost_by_commissioner
    total = c[c["basis"] == "total"].iloc[0]
    years = bc.scenario.simulation.horizon_days / 365.25
    assert y["days"].sum() == pytest.approx(bc.scenario.simulation.horizon_days)
    assert y["gbp_today"].sum() == pytest.approx(total["gbp_per_year_today"] * years)
    assert y["gbp_plan"].sum() == pytest.approx(total["gbp_per_year_plan"] * years)
    funders = [k for k in y.columns if k.startswith("extra_gbp_")]
    assert np.allclose(y[funders].sum(axis=1), y["extra_gbp"])


def test_a_dated_change_costs_only_from_its_year(baseline):
    from sendmodel.studies.business_case.case import cost_by_year

    today = baseline.override({"simulation.warm_up_days": 0, "simulation.horizon_days": 730,
                               "simulation.start_date": "2025-04-01"})
    plan = today.override({"services.slt.capacity_changes": [
        {"start": "2026-04-01", "pas_per_week_delta": 2.0}]})
    y = cost_by_year(today, plan).set_index("financial_year")
    assert list(y.index) == ["2025/26", "2026/27"]
    assert y.loc["2025/26", "extra_gbp"] == pytest.approx(0.0, abs=1e-6)
    slt = plan.services["slt"]
    want = 2.0 * plan.scale * slt.cost_per_pa_gbp * 365 / 7
    assert y.loc["2026/27", "extra_gbp"] == pytest.approx(want, rel=1e-9)
    assert y.loc["2026/27", "extra_gbp_nhs"] == pytest.approx(want * plan.costs.joint_split["nhs"])


def test_options_compared_on_common_random_numbers(bc):
    o = bc.options
    assert set(o["option"]) >= {"today", "plan", "admin_support"}
    today = o[o["option"] == "today"]
    assert (today["diff"].dropna() == 0).all(), "today against itself must differ by exactly zero"
    sign = o[(o["option"] == "admin_support") & (o["kpi"] == "dmo_signoff_median_working_days")].iloc[0]
    assert sign["diff"] <= 0, f"admin support should not slow DMO/DCO sign-off (diff {sign['diff']})"
    assert sign["verdict"] in ("better", "no clear difference"), f"shorter sign-off is better: {sign['verdict']}"
    assert (o["kpi"] == "cost_total_gbp").any()


def test_workbook_opens_with_pandas_and_openpyxl(bc, written):
    import openpyxl

    path = written["workbook"]
    wb = openpyxl.load_workbook(path)
    want = ["summary", "targets", "options compared", "capacity check", "cost by commissioner", "cost lines",
            "cost by year", "cost sensitivity", "assumptions", "runs"]
    assert [s for s in wb.sheetnames if s != "about"] == want, f"sheets: {wb.sheetnames}"
    sheets = pd.read_excel(path, sheet_name=None)
    s = pd.read_excel(path, sheet_name="summary", header=SUMMARY_TABLE_ROW - 1)
    assert len(s) == len(bc.summary)
    np.testing.assert_allclose(s["PAs a week"].to_numpy(float), bc.summary["pas_per_week"].to_numpy(float),
                               atol=0.05, err_msg="the workbook's PAs should be the business case's, to 0.1")
    assert len(sheets["runs"]) == len(bc.runs) and len(sheets["assumptions"]) == len(bc.assumptions)
    assert {"Parameter", "Value", "Source"} <= set(sheets["assumptions"].columns)


def test_workbook_reads_plainly_rounded_with_the_scope_and_no_server_path(bc, written):
    import openpyxl

    wb = openpyxl.load_workbook(written["workbook"])
    for ws in wb.worksheets:
        header_row = SUMMARY_TABLE_ROW if ws.title == "summary" else 1
        heads = [c.value for c in ws[header_row] if c.value is not None]
        coded = [h for h in heads if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", str(h))]
        assert not coded, f"sheet {ws.title!r} has code names for headers: {coded}"
    s = wb["summary"]
    assert s["B2"].value == SCOPE, "the summary sheet carries the scope"
    side = [s.cell(row=5, column=c).value for c in range(1, 5)]
    assert any("Model" in str(v) for v in side) and any("BACD/BACCH norm" in str(v) for v in side), side
    dmo_row = [s.cell(row=6, column=c).value for c in range(2, 5)]
    assert dmo_row[2] == f"{2 * POP / 70_000:.1f}", f"the norm beside the model's need, rounded: {dmo_row}"
    table = pd.read_excel(written["workbook"], sheet_name="summary", header=SUMMARY_TABLE_ROW - 1)
    pas = table["PAs a week"].dropna().to_numpy(float)
    assert np.allclose(pas, np.round(pas, 1)), f"PAs rounded to 0.1: {pas}"
    assert (table["Cost a year (GBP)"].dropna() >= 0).all(), "no cost shown below 0 (a saving)"
    about = pd.read_excel(written["workbook"], sheet_name="about").set_index("Item")["Value"].astype(str)
    assert not any(str(ROOT) in v or "/tmp" in v or "/work" in v for v in about), about.to_dict()


def test_cost_lines_say_what_each_line_is_in_words(written):
    lines = pd.read_excel(written["workbook"], sheet_name="cost lines")
    assert set(lines["Kind"]) <= {"PAs (staff)", "recurring, not staff", "one-off set-up"}
    assert "PAs (staff)" in set(lines["Kind"])


def test_a_need_below_today_is_never_a_saving(bc, written):
    extra = bc.summary[bc.summary["benchmark"].str.contains("extra beyond funded|Extra PAs needed", regex=True)]
    assert (extra["pas_per_week"].dropna() >= 0).all() and (extra["gbp_per_year"].dropna() >= 0).all()
    dmo_need, dmo_now = _bench(bc, "dmo", "Needed (model)"), _bench(bc, "dmo", "Funded today")
    below = [lv for lv in ("dmo", "physio")
             if _bench(bc, lv, "Needed (model)")["pas_per_week"] < _bench(bc, lv, "Funded today")["pas_per_week"]]
    assert below, f"the fixture should have a lever needing fewer PAs than today ({dmo_need['pas_per_week']} vs " \
                  f"{dmo_now['pas_per_week']})"
    for lv in below:
        row = _bench(bc, lv, "Extra PAs needed beyond funded")
        assert row["pas_per_week"] == 0 and row["gbp_per_year"] == 0 and row["note"] == NO_EXTRA_PAS, row.to_dict()
    text = written["html"].read_text(encoding="utf-8")
    assert "&minus;£" not in text and "-£" not in text, "the report must not show a negative cost"
    assert html.escape(NO_EXTRA_PAS) in text and "Scope." in text


def test_a_lever_with_two_targets_needs_what_both_need(bc):
    physio = [s for s in bc.solutions if s.lever == "physio"]
    assert [s.target.kpi for s in physio] == ["advice_within_6w_pct", "routine_wait_median_weeks"]
    routine = physio[1].target
    today = bc.options[(bc.options["option"] == "today") & (bc.options["kpi"] == "routine_wait_median_weeks")]
    assert routine.threshold >= 1.0, f"today's wait plus a week: {routine.threshold}"
    assert today.empty or routine.threshold == pytest.approx(np.ceil((today["mean"].iloc[0] + 1) * 10) / 10)
    need = _bench(bc, "physio", "Needed (model)")["pas_per_week"]
    assert need == max(s.pas_per_week for s in physio)
    assert f"Needed for: {routine.describe()}" in set(bc.summary["benchmark"])
    src = bc.assumptions.set_index("parameter").loc["business_case.target.physio.routine_wait_median_weeks", "source"]
    assert "<=today" in src and "today's mean" in src, src


def test_html_is_self_contained_and_renders_in_headless_chromium(written, tmp_path):
    html_path = written["html"]
    text = html_path.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 3, "three plots embedded (KPI vs PAs, cost, options)"
    assert not re.search(r"""(src|href)=['"]https?:""", text), "the report must not fetch anything"
    for phrase in ("BACD/BACCH recommend", "not reachable", "Cost by commissioner", "Assumptions and sources"):
        assert phrase in text, f"report should say {phrase!r}"
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM}: `make test` installs it (apt-get install chromium), which failed "
                    "or was not run here")
    shot = tmp_path / "business_case.png"
    cmd = [CHROMIUM, *CHROMIUM_ARGS, "--window-size=1280,1600", f"--screenshot={shot}", html_path.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.exists(), f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert img.shape[:2] == (1600, 1280), f"screenshot size {img.shape}"
    assert img.std() > 20, "the screenshot is blank"
    green = (np.abs(img - [241, 248, 242]).sum(axis=2) < 6).mean()  # the headline panel's background
    assert green > 0.01, f"the headline panel is not visible in the screenshot ({green:.3%} of pixels)"


def test_parse_lever_target():
    assert parse_lever_target("slt+ot:advice_within_6w_pct>=85")[0] == "slt+ot"
    assert parse_lever_target("advice_within_6w_pct@camhs>=85")[0] == "camhs"
    assert parse_lever_target("dmo_signoff_median_days<=14")[0] == "dmo"
    assert parse_lever_target("advice_within_6w_pct>=90")[0] == "health"


def test_cli_writes_workbook_and_report(tmp_path, capsys):
    f = tmp_path / "short.yaml"
    f.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: short\n"
                 "simulation: {warm_up_days: 30, horizon_days: 120}\n")
    out = tmp_path / "out"
    rc = main(["business-case", str(f), "--population", "140000", "--target",
               "dmo:dmo_signoff_median_working_days<=15", "--reps", "2", "--no-options", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert (out / "business_case.xlsx").exists() and (out / "business_case.html").exists()
    assert "BACD/BACCH recommendation" in printed and "4.0" in printed, printed  # 2 PAs x 140,000 / 70,000
    rc = main(["business-case", str(f), "--target", "advice within 6 weeks", "--no-options", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "not understood" in err, err


def test_plan_adds_what_is_needed_and_never_cuts(bc):
    import dataclasses

    from sendmodel.studies.business_case.case import plan_scenario

    for s in {s for r in bc.solutions for s in r.services}:
        today, plan = bc.scenario.service_pas_per_week(s), bc.plan.service_pas_per_week(s)
        want = max([today] + [r.per_service_pas[s] for r in bc.solutions if r.reachable and s in r.services])
        assert plan == pytest.approx(want), f"{s}: plan {plan} PAs, expected {want} (today {today})"
    dmo = next(r for r in bc.solutions if r.lever == "dmo")
    fewer = dataclasses.replace(dmo, pas_per_week=0.5, per_service_pas={"dmo": 0.5})
    p = plan_scenario(bc.scenario, [fewer])
    assert p.service_pas_per_week("dmo") == pytest.approx(bc.scenario.service_pas_per_week("dmo")), (
        "a lever needing fewer PAs than today keeps today's PAs in the plan"
    )


def test_bad_targets_fail_before_any_run(baseline):
    with pytest.raises(ValueError, match="no targets"):
        sendmodel.business_case(baseline, targets=[])
    with pytest.raises(ValueError, match="unknown service"):
        sendmodel.business_case(baseline, targets=["nursing:advice_within_6w_pct@nursing>=80"])


def test_the_capacity_check_of_today_and_the_plan(bc, written):
    """What keeps up and what does not, today and with the plan, from the replications the case ran: in the
    workbook (a sheet with plain headers) and on the command line."""
    assert set(bc.capacity) == {"today", "plan"}
    for chk in bc.capacity.values():
        assert chk.units and all(u.status for u in chk.units)
    sheet = bc.tables()["capacity check"]
    assert set(sheet["scenario"]) == {"today", "plan"}
    import openpyxl

    assert "capacity check" in openpyxl.load_workbook(written["workbook"]).sheetnames
