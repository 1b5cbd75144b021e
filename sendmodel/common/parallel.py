"""One way to map work over worker processes.

A replication depends only on (scenario, seed, replication number), so work can run in any process and any order
with identical results: this maps ``fn`` over ``items`` in this process when one worker is asked for (or there is
one item), else in a process pool, and always returns the results in the order of ``items``. The sweep (which
streams tasks to a store, locally or on Dask) and the dashboards (which keep one warm pool between updates) have
their own executors for those reasons; everything else comes here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def map_pool(fn: Callable[[Any], Any], items: Iterable[Any], workers: int = 1, *,
             progress: Callable[[int, int], None] | None = None, chunksize: int = 1) -> list:
    """``[fn(x) for x in items]``, over up to ``workers`` processes; ``progress(done, total)`` after each."""
    items = list(items)
    n = len(items)
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    out: list = []
    if workers == 1 or n <= 1:
        for x in items:
            out.append(fn(x))
            if progress:
                progress(len(out), n)
        return out
    with ProcessPoolExecutor(max_workers=min(workers, n)) as pool:
        for res in pool.map(fn, items, chunksize=chunksize):
            out.append(res)
            if progress:
                progress(len(out), n)
    return out
