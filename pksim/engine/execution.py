"""Executing a plan chunk by chunk: in this thread, in threads, or through an injected mapper
(e.g. Dask, :mod:`pksim.engine.distributed`), results always in subject order with a bounded
number of chunks in flight."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

from pksim import rng
from pksim.engine.plan import Plan

DEFAULT_CHUNK_SUBJECTS = 8 * rng.BLOCK_SIZE
"""Subjects simulated together (32 768, whole random blocks): bounds memory to roughly
2 kB per subject, regimen and day of the chunks in flight."""
CHUNKS_IN_FLIGHT_PER_WORKER = 2
"""Chunks submitted ahead per thread or Dask worker thread: keeps workers busy while bounding
the results waiting in memory."""
MAX_DEFAULT_THREADS = 8
"""Cap of the default ``threads`` (memory grows with the chunks simulated at once)."""
THREADSAFE_LAYERS = ("omp", "tbb")
"""numba threading layers whose parallel kernels may be launched from several threads."""

Progress = Callable[[int, int], None]
Mapper = Callable[[Callable[..., Any], Plan, Sequence[tuple[int, int]], tuple], Iterator[Any]]
"""``mapper(task, plan, bounds, arguments)`` -> results of ``task(plan, start, stop,
*arguments)`` for each (start, stop) of ``bounds``, in that order."""


def check_execution(chunk_subjects: int, threads: int | None) -> None:
    """Refuse a chunk size or thread count that is not a whole number >= 1."""
    threads = default_threads() if threads is None else threads
    for name, value in (("chunk_subjects", chunk_subjects), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


def chunk_bounds(n_subjects: int, chunk_subjects: int) -> list[tuple[int, int]]:
    """[(start, stop), ...] covering subjects 0..n_subjects in chunks of ``chunk_subjects``."""
    return [
        (start, min(n_subjects, start + chunk_subjects))
        for start in range(0, n_subjects, chunk_subjects)
    ]


def map_chunks(
    task: Callable[..., Any],
    plan: Plan,
    chunk_subjects: int,
    *,
    threads: int | None = None,
    mapper: Mapper | None = None,
    progress: Progress | None = None,
    arguments: tuple = (),
) -> Iterator[Any]:
    """``task(plan, start, stop, *arguments)`` for every chunk, results in subject order.

    Runs in this thread, in ``threads`` threads, or through ``mapper`` (e.g. Dask tasks,
    :func:`pksim.engine.distributed.mapper`); a bounded number of chunks is in flight at a time.
    """
    check_execution(chunk_subjects, threads)
    threads = default_threads() if threads is None else threads
    bounds = chunk_bounds(plan.n_subjects, chunk_subjects)
    if mapper is not None:
        results = mapper(task, plan, bounds, arguments)
    elif threads > 1 and len(bounds) > 1:
        results = _threaded_map(task, plan, bounds, arguments, threads)
    else:
        results = (task(plan, start, stop, *arguments) for start, stop in bounds)
    for (_, stop), result in zip(bounds, results, strict=True):
        if progress is not None:
            progress(stop, plan.n_subjects)
        yield result


def _threaded_map(
    task: Callable[..., Any],
    plan: Plan,
    bounds: Iterable[tuple[int, int]],
    arguments: tuple,
    threads: int,
) -> Iterator[Any]:
    bounds = list(bounds)
    # The first chunk runs here: it starts numba's threading layer, which tells whether
    # kernels may be launched from several threads at once.
    yield task(plan, *bounds[0], *arguments)
    if numba.threading_layer() not in THREADSAFE_LAYERS:
        for start, stop in bounds[1:]:
            yield task(plan, start, stop, *arguments)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pksim") as pool:
        yield from ordered_results(
            lambda start, stop: pool.submit(task, plan, start, stop, *arguments),
            bounds[1:],
            threads * CHUNKS_IN_FLIGHT_PER_WORKER,
        )


def ordered_results(
    submit: Callable[[int, int], Any], bounds: Iterable[tuple[int, int]], window: int
) -> Iterator[Any]:
    """Results of ``submit(start, stop)`` futures in chunk order, at most ``window`` in flight.

    Finished results never pile up ahead of the one being collected; futures still pending
    when the consumer stops (or fails) are cancelled.
    """
    pending: list[Any] = []
    try:
        for start, stop in bounds:
            pending.append(submit(start, stop))
            if len(pending) >= window:
                yield pending.pop(0).result()
        while pending:
            yield pending.pop(0).result()
    finally:
        for future in pending:
            future.cancel()


def default_threads() -> int:
    """Default ``threads``: the CPU cores this process may use, at most MAX_DEFAULT_THREADS."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_THREADS, cores))
