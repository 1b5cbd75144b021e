"""The layout is the architecture: layers import only downward, no import cycles, no argparse below the CLI.

Layers, from the bottom (docs/architecture.md): common -> scenario -> engine -> analysis -> studies -> cli and
widgets. Inside studies, the business case builds on the capacity solver (and the input-uncertainty draws)
and local areas on the calibration; the other studies stand alone. Every import counts, including those inside
functions (a lazy import is still a dependency).
"""

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

PKG = Path(__file__).resolve().parents[2] / "sendmodel"
LAYERS = {"common": 0, "scenario": 1, "engine": 2, "analysis": 3, "studies": 4, "cli": 5, "widgets": 5}
STUDIES = {"sweep": 0, "verification": 0, "calibration": 0, "capacity": 0, "business_case": 1, "area": 1}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("sendmodel"):
                out.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import (use absolute sendmodel.* imports)")
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("sendmodel")}
    return out


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for f in PKG.rglob("*.py"):
        m = _module(f)
        g.add_node(m)
        for t in _imports(f):
            g.add_edge(m, t)
    return g


def _rank(module: str) -> tuple[int, int] | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return None  # sendmodel itself, __main__
    sub = STUDIES.get(parts[2], 0) if parts[1] == "studies" and len(parts) > 2 else 0
    return LAYERS[parts[1]], sub


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:3] if parts[1] == "studies" and len(parts) > 2 else parts[:2])


def test_every_module_sits_in_a_layer():
    loose = [m for m in _graph() if _rank(m) is None and m not in ("sendmodel", "sendmodel.__main__")]
    assert not loose, f"modules outside the layers: {loose}"


def _violations(g: nx.DiGraph) -> list[str]:
    bad = []
    for a, b in g.edges:
        ra, rb = _rank(a), _rank(b)
        if ra is None:
            continue
        if rb is None:
            bad.append(f"{a} -> {b} (the top-level package)")
        elif rb > ra or (rb == ra and rb[0] == 5 and _package(a) != _package(b)):
            bad.append(f"{a} -> {b}")
        elif rb == ra and ra[0] == 4 and _package(a) != _package(b):
            bad.append(f"{a} -> {b} (a study importing another at its own level)")
    return bad


def test_imports_run_only_downward():
    bad = _violations(_graph())
    assert not bad, "imports that run up or sideways:\n" + "\n".join(bad)


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, f"import cycles: {cycles}"


def test_the_check_sees_a_violation():
    g = _graph()
    assert ("sendmodel.analysis.experiment", "sendmodel.engine.replication") in g.edges
    g.add_edge("sendmodel.engine.model", "sendmodel.analysis.kpis")  # up
    g.add_edge("sendmodel.cli.main", "sendmodel.widgets._common")  # sideways between faces
    g.add_edge("sendmodel.studies.sweep.run", "sendmodel.studies.calibration.fit")  # sideways between studies
    assert len(_violations(g)) == 3
    assert _rank("sendmodel.engine.model") < _rank("sendmodel.analysis.kpis") < _rank("sendmodel.cli.main")
    assert _rank("sendmodel.studies.capacity.solver") < _rank("sendmodel.studies.business_case.case")


@pytest.mark.parametrize("layer", ["common", "scenario", "engine", "analysis", "studies"])
def test_no_argparse_below_the_cli(layer):
    users = [str(f.relative_to(PKG)) for f in (PKG / layer).rglob("*.py") if "argparse" in f.read_text()]
    assert not users, f"argparse below the CLI: {users}"


def test_engine_emits_records_not_frames():
    """The engine knows nothing about pandas, KPIs or plots."""
    for f in (PKG / "engine").rglob("*.py"):
        mods = _imports(f)
        text = f.read_text()
        assert "import pandas" not in text and "matplotlib" not in text, f
        below = ("sendmodel.engine", "sendmodel.scenario", "sendmodel.common")
        assert not [m for m in mods if not m.startswith(below)], f


def test_import_sendmodel_is_light():
    """``import sendmodel`` loads the public names lazily: no pandas, SciPy, matplotlib or SimPy yet."""
    code = ("import sys, sendmodel; heavy = [m for m in ('pandas', 'scipy', 'matplotlib', 'simpy', 'pydantic') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import sendmodel loaded {out}"
