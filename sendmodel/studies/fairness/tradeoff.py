"""What each queue discipline trades: EHC advice within 6 weeks against routine waits and 18-week breaches.

A health service decides what a free clinician takes next. ``ehc_first`` puts every EHC task ahead of every
routine referral; ``fcfs`` serves both in the order they were referred or requested; ``deadline`` serves the
nearest due date first (6 weeks for advice, the routine target for a referral), so a routine child near the
18-week breach goes ahead of advice that is not yet due. The NHS England quick guide (6.2.1) asks services to
meet the 6 weeks "without compromising the principles of fairness and equality to all children and young
people on a list"; this study puts numbers on that trade-off. Every discipline runs on the same replications
(common random numbers), each against the scenario as given, applied to every health service that gives EHC
advice and has a routine list.
"""

from __future__ import annotations

import pandas as pd

from sendmodel.analysis.compare import run_comparison
from sendmodel.scenario.config import Scenario

DISCIPLINES = ("ehc_first", "fcfs", "deadline")
KPIS = ("advice_within_6w_pct", "routine_wait_median_weeks", "routine_seen_within_target_pct",
        "routine_waiting_within_18w_pct")


def services_affected(scenario: Scenario) -> list[str]:
    """Health services that both give EHC advice and see routine referrals (where the discipline matters)."""
    return [n for n, s in scenario.services.items()
            if s.kind == "health" and s.advice is not None and s.routine_referrals_per_week_per_70k > 0]


def tradeoff(scenario: Scenario, disciplines=DISCIPLINES, replications: int = 10, seed: int = 2024,
             workers: int = 1):
    """Per discipline and service (and ``all`` for advice): each KPI's mean with its 95% CI and the paired
    difference from the scenario as given. Returns (table, comparison)."""
    names = services_affected(scenario)
    options = {"as_given": scenario}
    for d in disciplines:
        options[d] = scenario.override({f"services.{s}.discipline": d for s in names}, name=d)
    c = run_comparison(options, "as_given", replications, seed, workers=workers)
    t = c.table[c.table["kpi"].isin(KPIS) & (c.table["service"].isin(names) | (c.table["service"] == "all"))]
    t = t[t["option"] != "as_given"].rename(columns={"option": "discipline"})
    given = {s: scenario.services[s].discipline for s in names}
    t.insert(1, "baseline_disciplines", ", ".join(f"{s}: {d}" for s, d in given.items()))
    return t.reset_index(drop=True), c


def plot(table: pd.DataFrame, title: str = "", labels: dict[str, str] | None = None):
    """One panel per service: the share of its routine waiting list waiting 18 weeks or less (x) against its
    advice within 6 weeks (y), one point per discipline with its 95% CIs (cut to 0-100%)."""
    from sendmodel.analysis.labels import ci_in_range
    from sendmodel.analysis.plotting import plt

    services = [s for s in dict.fromkeys(table["service"]) if s != "all"]
    n = max(len(services), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.1 * n, 3.3), squeeze=False)
    for ax, s in zip(axes[0], services):
        g = table[table["service"] == s]
        for d, h in g.groupby("discipline", sort=False):
            x = h[h["kpi"] == "routine_waiting_within_18w_pct"].iloc[0]
            y = h[h["kpi"] == "advice_within_6w_pct"].iloc[0]
            xl, xh = ci_in_range("%", x["ci_low"], x["ci_high"])
            yl, yh = ci_in_range("%", y["ci_low"], y["ci_high"])
            ax.errorbar(x["mean"], y["mean"], xerr=[[x["mean"] - xl], [xh - x["mean"]]],
                        yerr=[[y["mean"] - yl], [yh - y["mean"]]], fmt="o", capsize=3, label=d)
        ax.set_title((labels or {}).get(s, s), fontsize=9)
        ax.set_xlabel("routine list: waiting 18 weeks or less (%)", fontsize=7)
        ax.set_ylabel("EHC advice within 6 weeks (%)", fontsize=7)
        ax.set_xlim(-3, 103)
        ax.set_ylim(-3, 103)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title or "Queue discipline: statutory advice against routine waits (95% CI)", fontsize=10)
    fig.tight_layout()
    return fig
