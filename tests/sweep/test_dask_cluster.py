"""A sweep on a real Dask cluster: a `dask scheduler` and two `dask worker` processes started as the README says,
the sweep sent by `sendmodel sweep --scheduler`. Its rows are those of a serial run, bit for bit, also when a
worker is killed part-way (the scheduler runs the lost tasks again on the other worker); a scheduler that gives
up on a task stops the sweep with a message, and the same command resumes it."""

import subprocess
import sys
import time

import pytest

import sendmodel
from sendmodel.studies.sweep.cluster import ProcessCluster
from tests.conftest import ROOT
from tests.sweep.test_run import N_POINTS, N_REPS, _check_complete, _stored_runs

pytestmark = pytest.mark.slow  # a cluster's start (~5-10 s on a busy 2-core machine), workers restarted, sweeps

N_RUNS = N_POINTS * N_REPS
TIMEOUT = 120  # seconds for a sweep: a hang fails the test instead of blocking CI


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with ProcessCluster(tmp_path_factory.mktemp("dask_cluster"), timeout=60) as c:
        yield c


def _two_live_workers(cluster: ProcessCluster) -> list[str]:
    live = [n for n, p in cluster.workers.items() if p.poll() is None]
    return live + cluster.add_workers(2 - len(live)) if len(live) < 2 else live


def _sweep_cmd(spec, store, address: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sendmodel", "sweep", str(spec), "--out", str(store), "--scheduler", address,
            "--no-progress", *extra]


def _finished(proc: subprocess.Popen, cluster: ProcessCluster) -> str:
    """The sweep's output, once it has ended with exit 0 saying every run is stored."""
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the sweep did not end in {TIMEOUT} s:\n{out}\n{err}\nscheduler:\n{cluster.log('scheduler')}")
    assert proc.returncode == 0, f"the sweep failed (exit {proc.returncode}):\n{out}\n{err}"
    assert f"all {N_RUNS} runs stored" in out, out
    return out


def test_sweep_on_a_cluster_gives_the_serial_rows(cluster, tiny_spec, reference_store, tmp_path):
    _two_live_workers(cluster)
    store = tmp_path / "cluster.sqlite"
    proc = subprocess.Popen(_sweep_cmd(tiny_spec, store, cluster.address), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out = _finished(proc, cluster)
    assert f"Ran {N_RUNS} runs" in out and "dask" in out, out
    _check_complete(sendmodel.load_sweep(store), sendmodel.load_sweep(reference_store))


def _start_sweep(cluster: ProcessCluster, spec, store) -> subprocess.Popen:
    """The sweep in its own process, one replication a task (so that tasks are in flight when a worker dies)."""
    return subprocess.Popen(_sweep_cmd(spec, store, cluster.address, "--batch", "1"), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_mid_sweep(cluster: ProcessCluster, client, victim: str, proc: subprocess.Popen, store) -> int:
    """SIGKILL ``victim`` (and its nanny) once 3 runs are stored and it holds a task; the runs stored then."""
    address = cluster.worker_addresses(client)[victim]
    deadline = time.monotonic() + TIMEOUT
    lost: tuple = ()
    while proc.poll() is None and time.monotonic() < deadline:
        if _stored_runs(store) >= 3 and (lost := client.processing([address])[address]):
            break
        time.sleep(0.01)
    assert proc.poll() is None and lost, "the sweep ended before a worker could be killed holding a task"
    cluster.kill_worker(victim)
    stored = _stored_runs(store)
    assert stored < N_RUNS, "every run was stored before the worker was killed"
    return stored


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def test_worker_killed_mid_sweep_loses_nothing(cluster, tiny_spec, reference_store, tmp_path):
    """One worker SIGKILLed while it holds tasks, after some runs are stored: the sweep ends with every run
    stored once, the serial run's rows, the surviving worker having run the lost tasks again."""
    from distributed import Client

    victim = _two_live_workers(cluster)[-1]
    store = tmp_path / "killed.sqlite"
    proc = _start_sweep(cluster, tiny_spec, store)
    try:
        with Client(cluster.address, timeout="30s") as client:
            _kill_mid_sweep(cluster, client, victim, proc, store)
            out = _finished(proc, cluster)
            assert victim not in cluster.worker_addresses(client), "the killed worker is still in the cluster"
    finally:
        _stop(proc)
    assert f"Ran {N_RUNS} runs" in out, out
    _check_complete(sendmodel.load_sweep(store), sendmodel.load_sweep(reference_store))


def test_the_client_keeps_few_of_its_messages(cluster):
    """Dask's client keeps its last messages to the scheduler, for debugging, and a sweep's messages carry its
    pickled scenarios: the sweep's client keeps DASK_CLIENT_CONFIG's 50 of them, not Dask's 1,000 (~25 MB)."""
    from distributed import default_client

    from sendmodel.studies.sweep.run import DASK_CLIENT_CONFIG, _executor

    with _executor("dask", 1, cluster.address) as _:
        kept = default_client().scheduler_comm.recent_message_log.maxlen
    assert kept == DASK_CLIENT_CONFIG["distributed.admin.low-level-log-length"] == 50, kept


def _set_allowed_failures(client, n: int) -> int:
    """Set the scheduler's allowed-failures; what it was. (A lambda: Dask sends it by value, and the scheduler
    cannot import the tests.)"""
    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", n))
    return before


def test_task_that_kills_its_workers_stops_the_sweep_resumably(cluster, tiny_spec, reference_store, tmp_path):
    """A scheduler that gives up on a task at its first lost worker (allowed-failures 0; Dask's default is 3)
    fails the killed worker's tasks (KilledWorker): the sweep stops with a one-line error saying how to resume,
    and the same command then completes the serial run's rows."""
    from distributed import Client

    victim = _two_live_workers(cluster)[-1]
    store = tmp_path / "gave_up.sqlite"
    proc = _start_sweep(cluster, tiny_spec, store)
    try:
        with Client(cluster.address, timeout="30s") as client:
            before = _set_allowed_failures(client, 0)
            try:
                _kill_mid_sweep(cluster, client, victim, proc, store)
                out, err = proc.communicate(timeout=TIMEOUT)
            finally:
                _set_allowed_failures(client, before)
    finally:
        _stop(proc)
    assert proc.returncode == 2, f"expected the sweep to stop with exit 2:\n{out}\n{err}"
    assert "error: Attempted to run task" in err and "run the same command to resume" in err, err
    assert "Traceback" not in err, err
    stored = _stored_runs(store)
    assert stored < N_RUNS, f"the sweep stopped, yet all {stored} runs are stored"
    again = subprocess.run(_sweep_cmd(tiny_spec, store, cluster.address), cwd=ROOT, capture_output=True,
                           text=True, timeout=TIMEOUT)
    assert again.returncode == 0, again.stderr
    assert f"Resumed: {stored} runs were already stored" in again.stdout, again.stdout
    _check_complete(sendmodel.load_sweep(store), sendmodel.load_sweep(reference_store))
