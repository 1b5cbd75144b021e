"""One way to map work over worker processes.

A replication depends only on (scenario, seed, replication number), so work can run in any process and any order
with identical results: this maps ``fn`` over ``items`` in this process when one worker is asked for (or there is
one item), else in a process pool, and always returns the results in the order of ``items``. The sweep (which
streams tasks to a store, locally or on Dask) and the dashboards (which keep one warm pool between updates) have
their own executors for those reasons; everything else comes here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    """One process pool for many :func:`map_pool` calls (``pool=``), so a search that maps a few replications at a
    time starts its processes once; ``None`` (work in this process) with one worker."""
    if workers <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool


def map_pool(fn: Callable[[Any], Any], items: Iterable[Any], workers: int = 1, *,
             progress: Callable[[int, int], None] | None = None, chunksize: int = 1,
             pool: Executor | None = None) -> list:
    """``[fn(x) for x in items]``, over up to ``workers`` processes (or ``pool``, kept open by the caller);
    ``progress(done, total)`` after each."""
    items = list(items)
    n = len(items)
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    if n <= 1 or (pool is None and workers == 1):
        return _collect(map(fn, items), n, progress)
    if pool is not None:
        return _collect(pool.map(fn, items, chunksize=chunksize), n, progress)
    with ProcessPoolExecutor(max_workers=min(workers, n)) as own:
        return _collect(own.map(fn, items, chunksize=chunksize), n, progress)


def _collect(results: Iterable[Any], n: int, progress: Callable[[int, int], None] | None) -> list:
    out: list = []
    for res in results:
        out.append(res)
        if progress:
            progress(len(out), n)
    return out
