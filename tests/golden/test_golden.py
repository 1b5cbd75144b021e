"""Golden results: the frozen KPI tables of a few small runs, reproduced to the last bit.

Values are written with 17 significant digits and read back round-trip, so equality here is equality of the
floats themselves, not a tolerance.
"""

import io

import numpy as np
import pandas as pd
import pytest

from tests.golden.cases import CASES, read


def _same(now: pd.DataFrame, frozen: pd.DataFrame) -> list[str]:
    buf = io.StringIO()
    now.to_csv(buf, index=False, float_format="%.17g")
    buf.seek(0)
    now = pd.read_csv(buf, float_precision="round_trip", keep_default_na=False, na_values=["NaN", "nan", ""])
    problems = []
    if list(now.columns) != list(frozen.columns):
        return [f"columns differ: {list(now.columns)} != {list(frozen.columns)}"]
    if len(now) != len(frozen):
        return [f"{len(now)} rows now, {len(frozen)} frozen"]
    for col in now.columns:
        a, b = now[col].to_numpy(), frozen[col].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a, b = a.astype(float), b.astype(float)
            diff = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        else:
            diff = a.astype(str) != b.astype(str)
        for i in np.flatnonzero(diff)[:5]:
            problems.append(f"row {i} {col}: now {a[i]!r}, frozen {b[i]!r} ({frozen.iloc[i].to_dict()})")
    return problems


@pytest.mark.parametrize("name", list(CASES))
def test_golden_result_unchanged(name):
    problems = _same(CASES[name](), read(name))
    assert not problems, f"golden result {name} changed:\n" + "\n".join(problems)


def test_golden_check_can_fail():
    """The comparison notices a change in the last bit of one value."""
    frozen = read("baseline_kpis")
    now = frozen.copy()
    i = int(np.flatnonzero(now["value"].notna() & (now["value"] != 0))[0])
    now.loc[i, "value"] = np.nextafter(now.loc[i, "value"], np.inf)
    assert _same(now, frozen)
