"""Results: records into tidy DataFrames, and a :class:`Results` container that writes itself to a folder.

Frames (every row carries ``scenario`` and ``replication``):

- ``events``: one row per request (EHC or routine) with the day of each step (days from the start date; NaN =
  not reached) and ``status`` open/closed with ``age_at_end_days`` for open ones;
- ``advice``: one row per (EHC request, advice-giving service);
- ``kpis``: long, one row per (replication, kpi, service) with ``unit``;
- ``summary()``: mean and 95% CI per KPI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sendmodel.analysis.intervals import precision_verdict, summarise_groups
from sendmodel.analysis.kpis import summarise
from sendmodel.analysis.labels import KPI_UNITS, PRECISION_KPI, label
from sendmodel.analysis.overload import WIDE_POINTS, OverloadCheck, check_overload, spread_notes
from sendmodel.analysis.warmup import WarmupCheck, WarmupSeries, check_warmup
from sendmodel.common.io import atomic_dir
from sendmodel.engine.demand import OUTCOMES

EVENT_COLUMNS = [
    "scenario", "replication", "request_id", "kind", "service", "arrival_day", "decision_day", "outcome",
    "advice_requested_day", "advice_returned_day", "dmo_required", "dmo_signoff_day", "plan", "draft_day",
    "final_day", "seen_day", "n_missed", "status", "age_at_end_days",
]
ADVICE_COLUMNS = [
    "scenario", "replication", "request_id", "service", "known", "misrouted", "n_missed", "requested_day",
    "returned_day", "turnaround_days", "within_6w", "status",
]
KPI_COLUMNS = ["scenario", "replication", "kpi", "service", "value", "unit"]


def events_frame(rec: dict, scenario: str, replication: int) -> pd.DataFrame:
    """One row per request: EHC requests first, then each service's routine referrals."""
    end = rec["end_day"]
    parts = []
    e = rec["ehc"]
    if "arrival_day" in e and e["arrival_day"].size:
        n = e["arrival_day"].size
        closed = ~np.isnan(e["closed_day"])
        parts.append(
            pd.DataFrame(
                {
                    "request_id": np.arange(n),
                    "kind": "ehc",
                    "service": "",
                    "arrival_day": e["arrival_day"],
                    "decision_day": e["decision_day"],
                    "outcome": np.asarray(OUTCOMES)[e["outcome"]],
                    "advice_requested_day": e["advice_requested_day"],
                    "advice_returned_day": e["advice_returned_day"],
                    "dmo_required": (e["outcome"] == 0) & e["exceptional"],
                    "dmo_signoff_day": e["dmo_signoff_day"],
                    "plan": (e["outcome"] == 0) & e["plan"],
                    "draft_day": e["draft_day"],
                    "final_day": e["final_day"],
                    "status": np.where(closed, "closed", "open"),
                    "age_at_end_days": np.where(closed, np.nan, end - e["arrival_day"]),
                }
            )
        )
    for s, r in rec["routine"].items():
        arr = rec["routine_arrival"][s]
        seen = r["seen_day"]
        done = ~np.isnan(seen)
        removed = ~np.isnan(r["removed_day"]) if "removed_day" in r else np.zeros(seen.size, bool)
        parts.append(
            pd.DataFrame(
                {
                    "request_id": np.arange(arr.size),
                    "kind": "routine",
                    "service": s,
                    "arrival_day": arr,
                    "seen_day": seen,
                    "n_missed": rec["routine_n_missed"][s],
                    "status": np.where(done, "closed", np.where(removed, "left unseen", "open")),
                    "age_at_end_days": np.where(done | removed, np.nan, end - arr),
                }
            )
        )
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EVENT_COLUMNS[2:])
    df.insert(0, "replication", replication)
    df.insert(0, "scenario", scenario)
    return df.reindex(columns=EVENT_COLUMNS)


def advice_frame(rec: dict, scenario: str, replication: int) -> pd.DataFrame:
    """One row per advice request (an EHC request asking one service)."""
    parts = []
    for s, a in rec["advice"].items():
        asked = ~np.isnan(a["requested_day"])
        req, ret = a["requested_day"][asked], a["returned_day"][asked]
        parts.append(
            pd.DataFrame(
                {
                    "request_id": np.flatnonzero(asked),
                    "service": s,
                    "known": a["known"][asked],
                    "misrouted": a["misrouted"][asked],
                    "n_missed": a["n_missed"][asked],
                    "requested_day": req,
                    "returned_day": ret,
                    "turnaround_days": ret - req,
                    "within_6w": (ret - req) <= 42.0,
                    "status": np.where(np.isnan(ret), "open", "closed"),
                }
            )
        )
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ADVICE_COLUMNS[2:])
    df.insert(0, "replication", replication)
    df.insert(0, "scenario", scenario)
    return df.reindex(columns=ADVICE_COLUMNS)


def kpi_frame(rows: list[tuple[str, str, float]], scenario: str, replication: int) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["kpi", "service", "value"])
    df.insert(0, "replication", replication)
    df.insert(0, "scenario", scenario)
    df["unit"] = df["kpi"].map(KPI_UNITS).fillna("")
    return df[KPI_COLUMNS]


@dataclass
class Results:
    """What :func:`sendmodel.run` returns."""

    scenario: object
    seed: int
    replications: int
    kpis: pd.DataFrame
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    advice: pd.DataFrame = field(default_factory=pd.DataFrame)
    records: list = field(default_factory=list, repr=False)
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)  # KPIs by calendar and financial year
    warmup_series: WarmupSeries | None = field(default=None, repr=False)  # weekly series for the warm-up check
    load: pd.DataFrame = field(default_factory=pd.DataFrame)  # capacity measures per replication and service

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """Mean and (1 - alpha) confidence interval per KPI (and service) across replications."""
        return summarise(self.kpis, alpha)

    def by_year(self, kind: str = "financial", alpha: float = 0.05) -> pd.DataFrame:
        """Mean and CI per year (``financial``: April-March, or ``calendar``), KPI and service, for a run over
        more than one year (empty otherwise); ``days`` < 365 marks a year the run only partly covers."""
        if self.periods.empty:
            return pd.DataFrame()
        p = self.periods[self.periods["period_kind"] == kind]
        keys = ["period", "days", "kpi", "service"]
        out = summarise_groups(p.groupby(keys, sort=False)["value"], alpha)
        out["unit"] = out["kpi"].map(KPI_UNITS).fillna("")
        return out

    def kpi(self, name: str, service: str = "all") -> float:
        """Mean of one KPI across replications."""
        k = self.kpis
        return float(k.loc[(k["kpi"] == name) & (k["service"] == service), "value"].mean())

    def warmup_check(self) -> WarmupCheck | None:
        """MSER-5 over the replications' weekly series against the scenario's warm-up (None when the series
        were not kept: ``run(..., warmup=False)``)."""
        return None if self.warmup_series is None else check_warmup(self.warmup_series, self.scenario)

    def overload_check(self) -> OverloadCheck:
        """Which service, LA casework or DMO/DCO is over capacity (queue trend, offered load, utilisation)."""
        return check_overload(self.load, self.scenario)

    def spread_notes(self, limit: float = WIDE_POINTS) -> list[str]:
        """Per-service shares on which replications disagree wildly (95% CI wider than +/- ``limit`` points)."""
        return spread_notes(self.summary(), self.scenario, self.replications, limit)

    def precision_text(self, precision: float | None = None, kpi: str = PRECISION_KPI) -> str:
        """The 95% CI half-width of ``kpi`` (service "all") and, given a target ``precision`` (a half-width in
        the KPI's unit), whether it is met and about how many replications would meet it (Law 2007, s. 9.4.1)."""
        s = self.summary()
        r = s[(s["kpi"] == kpi) & (s["service"] == "all")]
        if r.empty:
            raise ValueError(f"no KPI {kpi!r} (service 'all') in this run to measure precision on; allowed: "
                             f"{sorted(set(s.loc[s['service'] == 'all', 'kpi']))}")
        hw, unit = float(r["half_width"].iloc[0]), r["unit"].iloc[0]
        txt = f"95% CI half-width of {label(kpi)} ({kpi}) with {self.replications} replications: "
        if np.isnan(r["mean"].iloc[0]):
            return txt + "not measured (no value in any replication)"
        txt += "none (one replication gives no interval)" if np.isnan(hw) else f"{hw:.2f} {unit}"
        if precision is not None:
            txt += precision_verdict(hw, self.replications, precision)
        return txt

    def to_dir(self, path: str | Path, plots: bool = True, *, precision: float | None = None,
               precision_kpi: str = PRECISION_KPI, workers: int = 1) -> Path:
        """Write frames (CSV), summary, manifest, plots and the STRESS-DES report (``stress_des.md``) to ``path``
        atomically (all or nothing); ``precision`` and ``workers`` are stated in the report."""
        from sendmodel.analysis.report import REPORT, stress_des

        with atomic_dir(path) as tmp:
            self.kpis.to_csv(tmp / "kpis.csv", index=False)
            self.summary().to_csv(tmp / "summary.csv", index=False)
            if not self.periods.empty:
                self.periods.to_csv(tmp / "kpis_by_year.csv", index=False)
                for kind in ("financial", "calendar"):
                    self.by_year(kind).to_csv(tmp / f"summary_by_{kind}_year.csv", index=False)
            if not self.events.empty:
                self.events.to_parquet(tmp / "events.parquet", index=False)
            if not self.advice.empty:
                self.advice.to_csv(tmp / "advice.csv", index=False)
            if plots and self.records:
                from sendmodel.analysis.plots import save_standard_plots

                save_standard_plots(self, tmp)
            over = self.overload_check()
            if over.units:
                over.table().to_csv(tmp / "overload.csv", index=False)
            (tmp / "manifest.json").write_text(json.dumps(self.manifest(), indent=2, default=str))
            chk = self.warmup_check()
            estimation = [f"{self.replications} independent replications, base seed {self.seed}; each KPI's mean "
                          "across replications with a 95% Student t-interval (`summary.csv`).", "",
                          self.precision_text(precision, precision_kpi) + ".",
                          *[x for n in self.spread_notes() for x in ("", n)]]
            text = stress_des(kind="run", scenarios={self.scenario.name: self.scenario}, seed=self.seed,
                              replications=self.replications, kpis=list(dict.fromkeys(self.kpis["kpi"])),
                              warmup={} if chk is None else {self.scenario.name: chk}, estimation=estimation,
                              outputs=sorted(p.name for p in tmp.iterdir()) + [REPORT], workers=workers,
                              capacity={self.scenario.name: over})
            (tmp / REPORT).write_text(text, encoding="utf-8")
        return Path(path)

    def manifest(self) -> dict:
        from sendmodel.common.manifest import manifest
        from sendmodel.scenario.loading import config_hash

        chk = self.warmup_check()
        over = self.overload_check()
        return manifest("run", scenario=self.scenario.name, scenario_file=getattr(self.scenario, "_file", None),
                        config_hash=config_hash(self.scenario), seed=self.seed, replications=self.replications,
                        warmup_check=None if chk is None else chk.summary(), overload=over.summary())
