"""Every notebook and dashboard page runs clean, top to bottom, in quick mode; and is stored without outputs.

Notebooks are executed with nbclient in a fresh kernel from their own folder (as `make lab` opens them), with
SENDMODEL_QUICK=1 so runs are small and short.
"""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tests.conftest import ROOT  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "dashboards").glob("*.ipynb"))


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    want = {
        "01_explore_a_scenario.ipynb",
        "02_comparing_options.ipynb",
        "03_dmo_dco_business_case.ipynb",
        "04_reading_a_sweep.ipynb",
        "explore.ipynb",
        "compare.ipynb",
        "business_case.ipynb",
    }
    assert want <= names, f"missing {sorted(want - names)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_runs_clean(path, monkeypatch):
    monkeypatch.setenv("SENDMODEL_QUICK", "1")  # the kernel inherits this process's environment
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    errors = [
        (i, o.get("ename"), o.get("evalue"))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: cells raised {errors}"
    tracebacks = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr" and "Traceback" in o.get("text", "")
    ]
    assert not tracebacks, f"{path.name}: cells {tracebacks} printed a traceback"
    shown = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") in ("display_data", "execute_result")
    ]
    assert shown, f"{path.name}: ran but showed nothing"
