"""A local authority's published SEN2 figures (and its region's and England's), read from ``data/sen2/*_la.csv``.

The DfE files hold one row per geography and year; an LA is found by name or by its old (three-digit) or new
(E06/E08/E09/E10) code. Figures are counts and DfE's own shares, exactly as :func:`..calibration.targets.published`
gives them for England, so the same code turns either into model KPIs. Suppressed or unpublished cells (``x``,
``z``) are NaN, never zero.
"""

from __future__ import annotations

import difflib
import math
from functools import lru_cache

import pandas as pd

from sendmodel.studies.calibration.targets import SEN2, _num, _read, counts_from_rows

REQUESTS, ASSESSMENTS, TIMELINESS = (f"{SEN2}/requests_la.csv", f"{SEN2}/assessments_la.csv",
                                     f"{SEN2}/timeliness_20_week_la.csv")
CASELOAD, REVIEWS, DMO = f"{SEN2}/caseload_la.csv", f"{SEN2}/annual_reviews_la.csv", f"{SEN2}/sen2_dmo_dco_la.csv"


class AreaError(ValueError):
    """A local authority that cannot be found, or a year it has no figures for (the message says what to use)."""


@lru_cache(maxsize=None)
def _table(rel: str) -> pd.DataFrame:
    df = _read(rel)
    df.columns = [c.lstrip("\ufeff") for c in df.columns]
    return df


@lru_cache(maxsize=1)
def las() -> pd.DataFrame:
    """Every LA in the latest requests file: old and new code, name, region (one row each)."""
    df = _table(REQUESTS)
    df = df[df["geographic_level"] == "Local authority"]
    latest = df["time_period"].astype(int).max()
    out = df[df["time_period"].astype(int) == latest]
    out = out[["old_la_code", "new_la_code", "la_name", "region_code", "region_name"]].drop_duplicates("old_la_code")
    return out.sort_values("la_name").reset_index(drop=True)


def find_la(query: str) -> dict[str, str]:
    """The LA named (case and punctuation ignored) or coded by ``query``; an :class:`AreaError` naming the
    closest names when nothing matches."""
    q = str(query).strip()
    table = las()

    def norm(s: str) -> str:
        return "".join(ch for ch in s.lower() if ch.isalnum())

    for col in ("old_la_code", "new_la_code"):
        hit = table[table[col].str.lower() == q.lower()]
        if len(hit) == 1:
            return hit.iloc[0].to_dict()
    hit = table[table["la_name"].map(norm) == norm(q)]
    if len(hit) == 1:
        return hit.iloc[0].to_dict()
    names = table["la_name"].tolist()
    near = difflib.get_close_matches(q, names, n=5, cutoff=0.5)
    near += [n for n in names if norm(q) and norm(q) in norm(n) and n not in near][:5]
    hint = f"; did you mean {', '.join(repr(n) for n in near[:5])}?" if near else ""
    raise AreaError(f"no local authority matches {q!r}{hint} (`sendmodel area --list` lists all {len(names)})")


def _all_row(rel: str, year: int, level: str, code: str | None) -> dict | None:
    df = _table(rel)
    m = (df["time_period"] == str(year)) & (df["geographic_level"] == level) & df["breakdown_topic"].str.startswith(
        "All")
    if level == "Local authority":
        m &= df["old_la_code"] == code
    elif level == "Regional":
        m &= df["region_code"] == code
    row = df[m]
    if row.empty:
        return None
    return {k: _num(v) for k, v in row.iloc[0].items()}


def years() -> list[int]:
    return sorted({int(y) for y in _table(REQUESTS)["time_period"]})


def published_for(year: int, level: str = "Local authority", code: str | None = None) -> dict[str, float]:
    """One calendar year's SEN2 counts for an LA (``code`` = old LA code), a region (region code) or England."""
    req = _all_row(REQUESTS, year, level, code)
    if req is None:
        raise AreaError(f"no SEN2 request figures for {level.lower()} {code or 'England'} in {year}; "
                        f"years published: {years()}")
    out = counts_from_rows(year, req, _all_row(ASSESSMENTS, year, level, code),
                           _all_row(TIMELINESS, year, level, code), {})
    out.update(_extra(year, level, code))
    return out


def _extra(year: int, level: str, code: str | None) -> dict[str, float]:
    """Counts beyond the national calibration's: plans in force in the following January, reviews, DMO/DCO."""
    out: dict[str, float] = {}
    cl = _table(CASELOAD)
    jan = f"{year}{str(year + 1)[2:]}"  # caseload time_period 202324 = January 2024 ... (academic-year label)
    sel = (cl["time_period"] == jan) & (cl["geographic_level"] == level) & (cl["breakdown_topic"] == "All EHC plans")
    if level == "Local authority":
        sel &= cl["old_la_code"] == code
    elif level == "Regional":
        sel &= cl["region_code"] == code
    row = cl[sel]
    out["plans_in_force_january_after"] = _num(row.iloc[0]["ehcplans"]) if not row.empty else math.nan
    return out


def dmo_dco_in_post(code: str, january: int) -> dict[str, str]:
    """The LA's January return: whether a Designated Medical Officer and a Designated Clinical Officer are in
    post ("Yes"/"No"/"n/a"); empty when not returned."""
    df = _table(DMO)
    row = df[(df["old_la_code"] == code) & (df["time_period"] == str(january))]
    if row.empty:
        return {}
    r = row.iloc[0]
    return {"dmo": r["des_med_off"], "dco": r["des_clin_off"]}
