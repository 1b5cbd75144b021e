"""The engine uses SimPy's public, documented API only, so that a SimPy release that renames a private attribute
cannot break it, and so that it reads as a SimPy model.

The check walks the syntax tree of every module of the package (the engine above all) and fails on anything
that reaches SimPy's private state: an attribute whose name is one of SimPy's private names (collected from
SimPy itself, so the list follows the installed release), such a name as a string (``getattr(env, "_queue")``)
or set in a class body (a class imitating a SimPy event), an import of a private name from SimPy, or a
subclass of a SimPy class (the way to reach private state from the inside).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
import simpy
import simpy.core
import simpy.events
import simpy.resources.base
import simpy.resources.container
import simpy.resources.resource
import simpy.resources.store

import sendmodel

PACKAGE = Path(sendmodel.__file__).parent
ENGINE = PACKAGE / "engine"
BENCHMARKS = PACKAGE.parent / "benchmarks"  # they drive the engine too (in a source checkout)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def simpy_private_names() -> frozenset[str]:
    """Every single-underscore name SimPy's classes, instances and modules have, as installed."""
    env = simpy.Environment()

    def gen():
        yield env.timeout(1)

    proc = env.process(gen())
    objs: list[object] = [
        simpy.core,
        simpy.events,
        simpy.resources.base,
        simpy.resources.container,
        simpy.resources.resource,
        simpy.resources.store,
        env,
        env.event(),
        env.timeout(1),
        proc,
    ]
    classes = [
        simpy.Environment,
        simpy.Event,
        simpy.Timeout,
        simpy.Process,
        simpy.AllOf,
        simpy.AnyOf,
        simpy.events.Condition,
        simpy.events.Initialize,
        simpy.Resource,
        simpy.PriorityResource,
        simpy.PreemptiveResource,
        simpy.Store,
        simpy.Container,
    ]
    objs += classes
    names: set[str] = set()
    for obj in objs:
        names |= {n for n in dir(obj) if _private(n)}
    for cls in classes:  # attributes declared but only set on instances (Event._ok, Event._defused)
        for base in inspect.getmro(cls):
            names |= {n for n in getattr(base, "__annotations__", {}) if _private(n)}
    names -= {n for n in dir(object) if _private(n)}  # nothing SimPy-specific about these
    return frozenset(names)


PRIVATE = simpy_private_names()


def _simpy_module(name: str | None) -> bool:
    return name is not None and (name == "simpy" or name.startswith("simpy."))


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Where ``source`` reaches SimPy's private state, as ``file:line: what`` strings."""
    tree = ast.parse(source, filename)
    out: list[str] = []
    simpy_names: set[str] = set()  # local names bound to SimPy modules or classes
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _simpy_module(alias.name):
                    simpy_names.add((alias.asname or alias.name).split(".")[0])
                    if any(_private(part) for part in alias.name.split(".")):
                        out.append(f"{filename}:{node.lineno}: imports private module {alias.name}")
        elif isinstance(node, ast.ImportFrom) and _simpy_module(node.module):
            assert node.module is not None
            if any(_private(part) for part in node.module.split(".")):
                out.append(f"{filename}:{node.lineno}: imports from private module {node.module}")
            for alias in node.names:
                simpy_names.add(alias.asname or alias.name)
                if _private(alias.name):
                    out.append(f"{filename}:{node.lineno}: imports private {node.module}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE:
            out.append(f"{filename}:{node.lineno}: .{node.attr} is SimPy-private")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in PRIVATE:
            out.append(f"{filename}:{node.lineno}: the string {node.value!r} names SimPy-private state")
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                root = base
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in simpy_names:
                    out.append(f"{filename}:{node.lineno}: class {node.name} subclasses SimPy's {ast.unparse(base)}")
            for stmt in node.body:
                targets = (
                    stmt.targets
                    if isinstance(stmt, ast.Assign)
                    else [stmt.target]
                    if isinstance(stmt, ast.AnnAssign)
                    else []
                )
                for t in targets:
                    if isinstance(t, ast.Name) and t.id in PRIVATE:
                        out.append(f"{filename}:{stmt.lineno}: class {node.name} sets SimPy's {t.id} (imitates it)")
    return out


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_private_names_are_collected():
    """The list comes from SimPy itself; these are the ones the engine used before it moved to the public API."""
    assert {"_now", "_queue", "_eid", "_ok", "_value"} <= PRIVATE
    assert not {"now", "schedule", "peek", "step", "run", "timeout", "callbacks"} & PRIVATE


def test_the_engine_is_all_there():
    names = {p.name for p in _modules(ENGINE)}
    assert {"model.py", "tasks.py", "queue.py", "clinician.py", "replication.py"} <= names, names


@pytest.mark.parametrize("root", [ENGINE, PACKAGE, BENCHMARKS], ids=["engine", "package", "benchmarks"])
def test_no_private_simpy_names(root):
    if not root.is_dir():
        pytest.skip(f"no {root} here")
    found = [v for p in _modules(root) for v in violations(p.read_text(), str(p.relative_to(PACKAGE.parent)))]
    assert not found, "SimPy-private state used (use SimPy's public API):\n" + "\n".join(found)


def test_simpy_imports_are_public_names():
    """``from simpy.x import Y`` imports only public names that the module has (NORMAL and URGENT are public
    constants of ``simpy.events``, re-exported by ``simpy.core``)."""
    seen = 0
    for p in _modules(PACKAGE):
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.ImportFrom) and _simpy_module(node.module):
                assert node.module is not None
                module = importlib.import_module(node.module)
                for alias in node.names:
                    seen += 1
                    assert not _private(alias.name), f"{p}:{node.lineno}: private {node.module}.{alias.name}"
                    assert hasattr(module, alias.name), f"{p}:{node.lineno}: {node.module} has no {alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _simpy_module(alias.name):
                        seen += 1
                        importlib.import_module(alias.name)
                        assert not any(_private(s) for s in alias.name.split(".")), f"{p}:{node.lineno}"
    assert seen, "the package should import SimPy somewhere"


BAD = {  # what the engine did before it used SimPy's public API only; each must be caught
    "clock read": "def f(env):\n    return env._now\n",
    "clock set": "def f(env, t):\n    env._now = t\n",
    "calendar push": (
        "import heapq\nfrom simpy.core import NORMAL\n"
        "def f(env, ev, d):\n    heapq.heappush(env._queue, (env._now + d, NORMAL, next(env._eid), ev))\n"
    ),
    "calendar by name": "def f(env):\n    return getattr(env, '_queue', None)\n",
    "imitation event": "class _Call:\n    __slots__ = ('callbacks',)\n    _ok = True\n",
    "annotated imitation": "class E:\n    _ok: bool = True\n",
    "private import": "from simpy.core import _helper\n",
    "private module": "import simpy._internal\n",
    "subclass": "import simpy\nclass Alarm(simpy.Event):\n    pass\n",
    "subclass by name": "from simpy.events import Timeout as T\nclass Alarm(T):\n    pass\n",
    "event internals": "def ok(ev):\n    return ev._ok and ev._value\n",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_check_catches_private_use(case):
    assert violations(BAD[case]), f"not caught: {case}"


def test_the_check_passes_public_use():
    good = (
        "import simpy\nfrom simpy.events import NORMAL\n"
        "class Clinician:\n    __slots__ = ('env', 'alarm')\n"
        "    def set_alarm(self, d):\n        self.alarm = ev = self.env.timeout(d)\n"
        "        ev.callbacks.append(self.ring)\n"
        "    def ring(self, ev):\n        return self.env.now, self.env.peek()\n"
        "def _now():\n    return 0\n"  # a private name of our own, not an attribute of anything
    )
    assert violations(good) == []
