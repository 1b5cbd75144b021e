"""Issue 18's performance targets: every row measured in one run, printed as a table for the README.

The other benchmarks each measure one thing with their own target; this one measures every row of issue 18's
table as a user meets it, by running those benchmarks (bench_model.py, bench_interactive.py,
bench_dask_cluster.py) or the command itself in a subprocess and reading their printed figures. The machine's
cores and load average are printed at the start and the end: on a busy machine every figure is slower.

Usage: python benchmarks/bench_targets.py [--population 250000] [--skip NAME ...]
  NAME is one of business_case, explore, year, import, notebooks, dask (repeat --skip to leave out several).
  All rows take about 20 minutes on 2 cores, most of it the business case (~7 min) and the notebooks.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
PY = sys.executable
QUICK_ENV = "SENDMODEL_QUICK"  # the tests' quick mode (small, short runs): never set here
ROWS = ("business_case", "explore", "year", "import", "notebooks", "dask")
NOTEBOOKS = ("01_explore_a_scenario", "02_comparing_options", "03_dmo_dco_business_case", "04_reading_a_sweep")
FULL_POPULATION = 250_000


class Failed(Exception):
    """A row that could not be measured; the message says why."""


def run(cmd: list) -> tuple[str, float]:
    """Runs ``cmd`` from the project's root without quick mode; returns its output and wall seconds."""
    env = {k: v for k, v in os.environ.items() if k != QUICK_ENV}
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode:
        print(p.stdout + p.stderr, file=sys.stderr)
        raise Failed(f"`{' '.join(str(c) for c in cmd)}` exited with {p.returncode} (its output is on stderr)")
    return p.stdout, wall


def find(pattern: str, text: str) -> re.Match:
    """The first match of ``pattern`` in a benchmark's output (one line at a time); Failed if there is none."""
    m = re.search(pattern, text, re.MULTILINE)
    if m is None:
        print(text, file=sys.stderr)
        raise Failed(f"found no {pattern!r} in the output (printed on stderr)")
    return m


def verdict(met: bool) -> str:
    return "met" if met else "not met"


def business_case(population: int) -> tuple[str, str, str]:
    cli = Path(PY).parent / "sendmodel"
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="bench_targets_") as tmp:
        out, wall = run([cli, "business-case", "scenarios/baseline.yaml", "--population", population,
                         "--out", Path(tmp) / "business_case"])
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    reps = find(r"simulated in all: (\d+) replications", out).group(1)
    measured = f"{wall / 60:.1f} min wall ({wall:.0f} s), {cpu:.0f} CPU s"
    how = (f"the command in a subprocess, wall time; every core ({os.cpu_count()}), its default; "
           f"{reps} replications simulated")
    met = wall < 120
    if population != FULL_POPULATION and met:
        return measured, how, f"met at {population:,} children only (not the target's size)"
    return measured, how, verdict(met)


def explore() -> tuple[str, str, str]:
    out, _ = run([PY, BENCH / "bench_interactive.py"])
    reps = find(r"children, (\d+) replications", out).group(1)
    n, felt = find(r"^later changes .*median of (\d+):\s+felt\s+([\d.]+) s", out).groups()
    first = float(find(r"^\s+first figures .*median ([\d.]+) s", out).group(1))
    return (f"felt {float(felt):.2f} s, first figures {first:.2f} s",
            f"bench_interactive.py: median of {n} later updates, {reps} replications, 2 processes",
            verdict(float(felt) < 0.5 and first < 0.25))


def year() -> tuple[str, str, str]:
    out, _ = run([PY, BENCH / "bench_model.py", "--populations", "70000", "--reps", "3"])
    cpu, wall = find(r"^\s+70,000\s+([\d.]+)\s+([\d.]+)", out).groups()
    return (f"{float(cpu):.3f} CPU s ({float(wall):.3f} s wall)",
            "bench_model.py: best of 3 replications after a warm-up, no warm-up days, 365 days",
            verdict(float(cpu) < 0.05))


def import_time(n: int = 5) -> tuple[str, str, str]:
    bare, full, used = [], [], []
    for _ in range(n):  # interleaved, so a burst of load falls on all three
        bare.append(run([PY, "-c", "pass"])[1])
        full.append(run([PY, "-c", "import sendmodel"])[1])
        used.append(run([PY, "-c", "import sendmodel; sendmodel.run"])[1])  # the API is imported lazily
    t, b, u = statistics.median(full), statistics.median(bare), statistics.median(used)
    return (f"{t:.2f} s (bare `python -c pass` {b:.2f} s; first use, `sendmodel.run`, {u:.2f} s)",
            f"median of {n} fresh `python -c \"import sendmodel\"`, wall time",
            verdict(t < 0.5))


def printed_traceback(nb) -> bool:
    return any(o.get("output_type") == "stream" and o.get("name") == "stderr" and "Traceback" in o.get("text", "")
               for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def notebooks() -> tuple[str, str, str]:
    try:
        import nbclient
        import nbformat
    except ImportError as exc:
        raise Failed(f"needs nbclient and nbformat (the dev extra): {exc}") from None
    os.environ.pop(QUICK_ENV, None)  # the kernel inherits this process's environment: the full notebooks
    times = []
    with tempfile.TemporaryDirectory(prefix="bench_targets_") as tmp:
        # A fresh tree, so 03's workbook and 04's sweep store start empty (04 reuses runs already stored) and
        # nothing in the checkout's results/ is touched; scenarios/ is the project's own.
        (Path(tmp) / "scenarios").symlink_to(ROOT / "scenarios")
        (Path(tmp) / "notebooks").mkdir()
        for name in NOTEBOOKS:
            nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
            client = nbclient.NotebookClient(nb, timeout=3600, kernel_name="python3",
                                             resources={"metadata": {"path": str(Path(tmp) / "notebooks")}})
            t0 = time.perf_counter()
            try:
                client.execute()
            except nbclient.exceptions.CellExecutionError as exc:
                print(exc, file=sys.stderr)
                raise Failed(f"{name}: a cell raised {exc.ename}: {exc.evalue} (traceback on stderr)") from None
            times.append(time.perf_counter() - t0)
            if printed_traceback(nb):  # as tests/test_notebooks.py: e.g. from a dashboard's background runs
                raise Failed(f"{name}: a cell printed a traceback on stderr")
    total = sum(times)
    each = ", ".join(f"{name[:2]} {t:.0f} s" for name, t in zip(NOTEBOOKS, times))
    return (f"{total:.0f} s ({each})",
            "nbclient, a fresh kernel each (kernel start included), fresh results/ folder, quick mode off",
            verdict(total < 90))


def dask() -> tuple[str, str, str]:
    out, _ = run([PY, BENCH / "bench_dask_cluster.py", "--runs", "10"])
    walls = dict(re.findall(r"^  ([12])\s+\d+\s+\d+\s+\d+\s+([\d.]+)", out, re.MULTILINE))
    ratio, rows = find(r"2 workers vs 1: ([\d.]+)x faster .*; rows (\w+)", out).groups()
    if set(walls) != {"1", "2"}:
        print(out, file=sys.stderr)
        raise Failed("found no wall times for 1 and 2 workers in the output (printed on stderr)")
    return (f"{float(ratio):.2f}x ({walls['1']} s -> {walls['2']} s), rows {rows}",
            "bench_dask_cluster.py: work sweep, dask scheduler + worker processes (its large sweep cut to 10 runs)",
            verdict(float(ratio) >= 1.8 and rows == "identical"))


def machine() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores; load average {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip", action="append", default=[], choices=ROWS, metavar="NAME",
                    help=f"leave out a row (repeat for several): {', '.join(ROWS)}")
    ap.add_argument("--population", type=int, default=FULL_POPULATION,
                    help=f"children for the business case (default {FULL_POPULATION:,}, the target's size)")
    args = ap.parse_args()
    table = [
        ("business_case", f"`sendmodel business-case scenarios/baseline.yaml --population {args.population}` "
         "(default targets and options, 2 cores)", "< 2 min wall", lambda: business_case(args.population)),
        ("explore", "explore-dashboard update, default replications", "< 0.5 s felt, first figures < 0.25 s",
         explore),
        ("year", "one simulated year at 70,000 children", "< 0.05 s CPU a replication", year),
        ("import", "`import sendmodel` (fresh interpreter)", "< 0.5 s", import_time),
        ("notebooks", "notebooks 01-04 executed in full (not quick mode)", "< 90 s", notebooks),
        ("dask", "sweep on a real Dask cluster of separate processes, 2 workers vs 1", ">= 1.8x, identical rows",
         dask),
    ]
    start = machine()
    print(f"start: {start}", flush=True)
    rows = []
    for name, what, target, measure in table:
        if name in args.skip:
            rows.append((what, target, "skipped", "", "-"))
            continue
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            measured, how, result = measure()
        except Failed as exc:
            measured, how, result = "failed", str(exc), "not measured"
        print(f"  {name}: {time.perf_counter() - t0:.0f} s; load average now {os.getloadavg()[0]:.2f}",
              file=sys.stderr, flush=True)
        rows.append((what, target, measured, how, result))
    print("\n| what | target | measured | how | verdict |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(cell(c) for c in row) + " |")
    print(f"\nstart: {start}\nend:   {machine()}")
    return 1 if any(r[2] == "failed" for r in rows) else 0  # a target not met is a figure, not an error


if __name__ == "__main__":
    sys.exit(main())
