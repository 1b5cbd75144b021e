"""A real Dask cluster on this machine: a ``dask scheduler`` process and ``dask worker`` processes, started as
the README says to start them across machines (one single-threaded worker a process, with
:data:`~sendmodel.studies.sweep.run.DASK_WORKER_CONFIG` in the workers' environment).

For the tests and ``benchmarks/bench_dask_cluster.py``, which need separate processes that can be killed one at
a time; to use Dask on one machine, ``sendmodel sweep --dask local`` is simpler. Every process is started in a
session of its own, so that a worker and its nanny are stopped (or killed) together, and all of them are
stopped when the cluster is closed, a hang ending in a timeout rather than waiting for ever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sendmodel.studies.sweep.run import DASK_WORKER_CONFIG
from sendmodel.studies.sweep.spec import SweepError

DASK = Path(sys.executable).with_name("dask")  # the `dask` command of this Python's environment


def dask_worker_env(config: dict = DASK_WORKER_CONFIG) -> dict[str, str]:
    """Dask settings as environment variables (``distributed.admin.tick.interval`` ->
    ``DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL``), as a worker started by hand takes them."""
    return {"DASK_" + k.upper().replace(".", "__").replace("-", "_"): str(v) for k, v in config.items()}


class ProcessCluster:
    """A scheduler and worker processes on this machine, in ``folder`` (logs, the scheduler file, the workers'
    scratch space). Use as a context manager: leaving it stops every process still running.

    Parameters
    ----------
    folder : path
        Created if missing.
    timeout : float
        Seconds to wait for the scheduler, for workers to join and for a process to stop.
    """

    def __init__(self, folder: str | Path, timeout: float = 60.0):
        self.folder = Path(folder)
        self.timeout = timeout
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self.address = ""

    def __enter__(self) -> ProcessCluster:
        try:
            self.start_scheduler()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{name}.log", "wb") as log:
            return subprocess.Popen([str(DASK), *args], stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                    start_new_session=True)

    def log(self, name: str) -> str:
        """The end of a process's output (``scheduler`` or a worker's name)."""
        f = self.folder / f"{name}.log"
        return f.read_text(errors="replace")[-3000:] if f.exists() else ""

    def start_scheduler(self) -> str:
        """Start ``dask scheduler`` on a free port of 127.0.0.1; its address, once it listens."""
        sfile = self.folder / "scheduler.json"
        sfile.unlink(missing_ok=True)
        self.scheduler = self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                                   "--dashboard-address", "127.0.0.1:0",
                                                   "--scheduler-file", str(sfile)])
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.address = json.loads(sfile.read_text())["address"]
                return self.address
            except (FileNotFoundError, json.JSONDecodeError, KeyError):  # not written yet, or half written
                pass
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise SweepError(f"dask scheduler did not start:\n{self.log('scheduler')}")
            time.sleep(0.05)

    def add_workers(self, n: int = 1) -> list[str]:
        """Start ``n`` worker processes (``dask worker ADDRESS --nworkers 1 --nthreads 1``, the README's
        settings); return their names once every worker has joined and imported the model."""
        names = []
        for _ in range(n):
            name = f"worker{len(self.workers)}"
            self.workers[name] = self._start(
                name,
                ["worker", self.address, "--nworkers", "1", "--nthreads", "1", "--name", name, "--no-dashboard",
                 "--local-directory", str(self.folder / name)],
                env=dask_worker_env(),
            )
            names.append(name)
        self.wait_for_workers(names)
        return names

    def wait_for_workers(self, names: list[str]) -> None:
        """Wait until the named workers have joined the scheduler, then import the model on each (so that a
        timing that follows leaves out the import)."""
        from distributed import Client

        deadline = time.monotonic() + self.timeout
        with Client(self.address, timeout=f"{self.timeout}s") as client:
            while not set(names) <= set(self.worker_addresses(client)):
                dead = [n for n in names if self.workers[n].poll() is not None]
                if dead or time.monotonic() > deadline:
                    n = (dead or names)[0]
                    raise SweepError(f"dask worker {n} did not join {self.address}:\n{self.log(n)}")
                time.sleep(0.05)
            client.run(__import__, "sendmodel.studies.sweep.run")

    @staticmethod
    def worker_addresses(client) -> dict[str, str]:
        """The scheduler's workers now, name -> address."""
        return {w["name"]: a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker and its nanny at once (as if its machine had gone), and wait for them to end."""
        proc = self.workers[name]
        _signal_group(proc, signal.SIGKILL)
        proc.wait(self.timeout)

    def close(self) -> None:
        """Stop the workers, then the scheduler: SIGTERM, and SIGKILL for any still running after the
        timeout (or after 10 s each, whichever is shorter)."""
        procs = [*self.workers.values(), *([self.scheduler] if self.scheduler else [])]
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(min(self.timeout, 10))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)  # also a worker left behind by a nanny that has ended
            proc.wait(self.timeout)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal the session a process was started in (itself, and a worker's nanny-started child)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:  # every process of the group has ended
        pass
