"""Fair to the waiting list: each queue discipline's trade-off between EHC advice and routine waits, on common
random numbers, as a table, a plot and a command."""

from __future__ import annotations

import yaml

from sendmodel.cli.main import main
from sendmodel.studies.fairness.tradeoff import services_affected, tradeoff
from tests.functional.builders import expo, fixed, tiny

BUSY = {"services.therapy.routine_referrals_per_week_per_70k": 12, "services.therapy.routine_appointment_hours":
        expo(2.0), "services.therapy.pas_per_week": 9, "services.therapy.advice.booking_lead_days": fixed(7),
        "simulation.warm_up_days": 60, "simulation.horizon_days": 300}


def _at(t, discipline, kpi, service="therapy"):
    r = t[(t["discipline"] == discipline) & (t["kpi"] == kpi) & (t["service"] == service)]
    return r.iloc[0]


def test_ehc_first_buys_advice_with_routine_waits():
    sc = tiny(BUSY)
    assert services_affected(sc) == ["therapy"]
    t, c = tradeoff(sc, replications=3, seed=5)
    assert set(t["discipline"]) == {"ehc_first", "fcfs", "deadline"}
    ehc, fcfs = _at(t, "ehc_first", "advice_within_6w_pct"), _at(t, "fcfs", "advice_within_6w_pct")
    assert ehc["mean"] > fcfs["mean"]
    w_ehc, w_fcfs = _at(t, "ehc_first", "routine_wait_median_weeks"), _at(t, "fcfs", "routine_wait_median_weeks")
    assert w_ehc["mean"] >= w_fcfs["mean"]
    assert (t["diff"][t["discipline"] == sc.services["therapy"].discipline] == 0).all()  # as given: no change


def test_the_command_writes_table_plot_and_manifest(tmp_path, capsys):
    f = tmp_path / "busy.yaml"
    f.write_text(yaml.safe_dump(tiny(BUSY)._raw, sort_keys=False), encoding="utf-8")
    out = tmp_path / "disc"
    assert main(["disciplines", str(f), "--reps", "2", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"disciplines.csv", "disciplines.png", "manifest.json"}
    assert "Advice returned within 6 weeks" in capsys.readouterr().out
