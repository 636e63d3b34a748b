"""Dask execution (optional: ``pip install 'pksim[dask]'``): chunks of subjects as Dask tasks.

Every chunk is a pure function of (scenario, seed, first subject, last subject), so where it
runs does not change a single bit of the result. Three ways in:

- :func:`ordered_map`: submit chunk tasks to a ``dask.distributed`` cluster (a ``Client`` or a
  scheduler address) with a bounded number in flight and yield their results in subject order
  (used by ``pksim.run(..., client=...)`` and ``pksim.summarize(..., client=...)`` through
  :func:`mapper`);
- :func:`connect`: a ``Client`` to an existing scheduler, or to a new local cluster of N
  worker processes that is shut down on exit (``pksim run --dask ADDRESS | --workers N``);
- :func:`lazy_dataset`: the result Dataset backed by Dask arrays, one task per chunk, computed
  when its values are used (``pksim.run(..., lazy=True)``).

A lost worker costs time, not the run: the plan the chunks share is a task the scheduler can
compute again (not scattered data, which is lost with the workers holding it), and chunks the
cluster cancels are submitted again (:class:`_ClusterRun`). What cannot be recovered (no worker
left, a chunk that kills every worker running it, the scheduler gone) raises one
:class:`ClusterFailure` naming it.

Dask is imported only inside these functions; without it they raise ``ModuleNotFoundError``
naming the extra to install.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any

import numpy as np
import xarray as xr

from pksim.engine import execution
from pksim.engine.chunk import stored_chunk
from pksim.engine.plan import Plan, provenance

INSTALL_HINT = "pip install 'pksim[dask]'"
NO_WORKERS_TIMEOUT_S = 300.0
"""Seconds a run waits while the Dask cluster has no worker at all before it stops (workers
restarted by their nannies or started by an adaptive cluster come back well within it)."""
WORKER_CHECK_INTERVAL_S = 1.0
"""Seconds between the checks, while a chunk is awaited, that the cluster still has workers."""
MAX_CHUNK_RESUBMISSIONS = 3
"""Times one chunk is submitted again after the cluster cancelled it (e.g. its workers were
restarted) before the run stops."""

__all__ = [
    "INSTALL_HINT",
    "MAX_CHUNK_RESUBMISSIONS",
    "NO_WORKERS_TIMEOUT_S",
    "ClusterFailure",
    "connect",
    "lazy_dataset",
    "mapper",
    "ordered_map",
    "require",
]


class ClusterFailure(ConnectionError):
    """The Dask cluster cannot finish a run: the scheduler is gone, no worker is left, or a
    chunk keeps killing its workers. The message says which, for which subjects, and what to
    do. A ``ConnectionError`` (an ``OSError``), so ``pksim run`` prints it in one line."""


def require() -> Any:
    """The ``distributed`` module, or a ModuleNotFoundError saying how to install it."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError:
        raise ModuleNotFoundError(
            f"running on Dask needs the optional dask packages: {INSTALL_HINT}"
        ) from None
    return distributed


@contextlib.contextmanager
def connect(
    address: str | None = None, workers: int | None = None, *, processes: bool = True
) -> Iterator[Any]:
    """A ``distributed.Client``: to the scheduler at ``address`` (e.g. ``tcp://host:8786``), or
    to a new local cluster of ``workers`` single-threaded workers (processes unless
    ``processes=False``), closed on exit. Each local worker process gets an equal share of the
    CPU cores for numba's threads."""
    distributed = require()
    if (address is None) == (workers is None):
        raise ValueError("give either a scheduler address or a number of local workers")
    if address is not None:
        if not isinstance(address, str) or not address:
            raise ValueError(
                f"address must be a scheduler address such as 'tcp://host:8786', got {address!r}"
            )
        with distributed.Client(address) as client:
            yield client
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    options: dict[str, Any] = {}
    if processes:
        share = max(1, (os.cpu_count() or 1) // workers)
        options["env"] = {"NUMBA_NUM_THREADS": str(share)}
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",
            **options,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@contextlib.contextmanager
def _as_client(client: Any) -> Iterator[Any]:
    """The given Client, or a Client to the given scheduler address (closed on exit)."""
    distributed = require()
    if isinstance(client, str):
        with connect(client) as connected:
            yield connected
    elif isinstance(client, distributed.Client):
        yield client
    else:
        raise ValueError(
            f"client must be a dask.distributed Client or a scheduler address, got {client!r}"
        )


def ordered_map(
    client: Any,
    task: Callable[..., Any],
    plan: Plan,
    bounds: Sequence[tuple[int, int]],
    arguments: tuple = (),
    *,
    no_workers_timeout_s: float | None = None,
) -> Iterator[Any]:
    """``task(plan, start, stop, *arguments)`` for each chunk as Dask tasks, results in order.

    At most :data:`pksim.execution.CHUNKS_IN_FLIGHT_PER_WORKER` chunks per worker thread are
    submitted ahead of the one being collected, so finished results never pile up. A lost
    worker costs time, not the run (:class:`_ClusterRun`); where the cluster cannot finish
    (no worker left for ``no_workers_timeout_s``, default :data:`NO_WORKERS_TIMEOUT_S`), the
    run stops with one :class:`ClusterFailure`.
    """
    with _as_client(client) as connected:
        threads = max(1, sum(connected.nthreads().values()))
        window = threads * execution.CHUNKS_IN_FLIGHT_PER_WORKER
        timeout = NO_WORKERS_TIMEOUT_S if no_workers_timeout_s is None else no_workers_timeout_s
        cluster_run = _ClusterRun(connected, task, plan, arguments, timeout)
        try:
            yield from execution.ordered_results(cluster_run.submit, bounds, window)
        finally:
            cluster_run.release()


class _ClusterRun:
    """One run's tasks on a Dask cluster, made to survive lost workers.

    The plan every chunk needs is a task of its own (not scattered data): when every worker
    holding it dies, the scheduler computes it again from the task, and the chunks lost with
    the workers with it. A chunk the cluster cancels anyway (``Client.restart``) is submitted
    again, with the plan when that was cancelled too, at most MAX_CHUNK_RESUBMISSIONS times.
    Every chunk is a pure function of the plan and its subjects, so a chunk computed again is
    bit-identical. What cannot be recovered raises :class:`ClusterFailure`.
    """

    def __init__(
        self,
        client: Any,
        task: Callable[..., Any],
        plan: Plan,
        arguments: tuple,
        no_workers_timeout_s: float,
    ):
        dask_distributed = require()
        self.killed_worker = dask_distributed.KilledWorker
        self.closed_client = dask_distributed.client.ClosedClientError
        self.client, self.task, self.plan, self.arguments = client, task, plan, arguments
        self.address = str(client.scheduler.address)
        self.no_workers_timeout_s = no_workers_timeout_s
        self.run_id = uuid.uuid4().hex[:12]
        self.plans_submitted = 0
        self.no_workers_since: float | None = None
        self.plan_future = self._submit_plan(0, plan.n_subjects)

    def _submit(self, start: int, stop: int, key: str, function: Callable, *args: Any) -> Any:
        try:
            return self.client.submit(function, *args, key=key, pure=False)
        except self.closed_client:
            raise self._scheduler_lost(start, stop) from None

    def _submit_plan(self, start: int, stop: int) -> Any:
        self.plans_submitted += 1
        key = f"pksim-plan-{self.run_id}-{self.plans_submitted}"
        return self._submit(start, stop, key, _the_plan, self.plan)

    def _submit_chunk(self, start: int, stop: int, attempt: int) -> Any:
        again = f"-again{attempt}" if attempt else ""
        key = f"pksim-{self.task.__name__}-{self.run_id}-{start}{again}"
        return self._submit(
            start, stop, key, self.task, self.plan_future, start, stop, *self.arguments
        )

    def submit(self, start: int, stop: int) -> _ClusterChunk:
        """Submit the chunk of subjects [start, stop); a future-like of its result."""
        return _ClusterChunk(self, start, stop, self._submit_chunk(start, stop, 0))

    def result(self, chunk: _ClusterChunk) -> Any:
        """The chunk's result, once the cluster has computed it (again if need be)."""
        while True:
            try:
                return chunk.future.result(timeout=WORKER_CHECK_INTERVAL_S)
            except TimeoutError:
                self._check_workers(chunk)
            except CancelledError:  # distributed's FutureCancelledError
                self._resubmit(chunk)
            except self.closed_client:
                raise self._scheduler_lost(chunk.start, chunk.stop) from None
            except self.killed_worker as error:
                deaths = error.allowed_failures + 1
                raise ClusterFailure(
                    f"{_subjects(chunk.start, chunk.stop)} killed the Dask worker running them "
                    f"{deaths} time(s) in a row (the scheduler's limit, distributed.scheduler."
                    f"allowed-failures = {error.allowed_failures}), so the run stopped; the "
                    "likeliest cause is a worker running out of memory: lower chunk_subjects "
                    "(pksim run --chunk-subjects) or give the workers more memory"
                ) from None

    def _check_workers(self, chunk: _ClusterChunk) -> None:
        """Raise ClusterFailure once the cluster has had no worker for no_workers_timeout_s."""
        try:
            workers = self.client.nthreads()
        except (OSError, self.closed_client):
            raise self._scheduler_lost(chunk.start, chunk.stop) from None
        if workers:
            self.no_workers_since = None
            return
        now = time.monotonic()
        if self.no_workers_since is None:
            self.no_workers_since = now
        if now - self.no_workers_since >= self.no_workers_timeout_s:
            raise ClusterFailure(
                f"the Dask scheduler at {self.address} has had no workers for "
                f"{self.no_workers_timeout_s:g} s while {_subjects(chunk.start, chunk.stop)} "
                f"waited ({chunk.start:,} of {self.plan.n_subjects:,} subjects done), so the "
                "run stopped: start workers for that scheduler (or use pksim run --workers N) "
                "and run again"
            )

    def _resubmit(self, chunk: _ClusterChunk) -> None:
        """Submit a chunk the cluster cancelled again (and the plan, when it was cancelled)."""
        if self.client.status != "running":
            raise self._scheduler_lost(chunk.start, chunk.stop)
        if chunk.attempt >= MAX_CHUNK_RESUBMISSIONS:
            raise ClusterFailure(
                f"the Dask cluster at {self.address} cancelled "
                f"{_subjects(chunk.start, chunk.stop)} {chunk.attempt + 1} times, so the run "
                "stopped; check the scheduler's log"
            )
        if self.plan_future.status in ("cancelled", "lost"):
            self.plan_future = self._submit_plan(chunk.start, chunk.stop)
        chunk.attempt += 1
        chunk.future = self._submit_chunk(chunk.start, chunk.stop, chunk.attempt)

    def _scheduler_lost(self, start: int, stop: int) -> ClusterFailure:
        return ClusterFailure(
            f"lost the connection to the Dask scheduler at {self.address} while "
            f"{_subjects(start, stop)} were pending ({start:,} of {self.plan.n_subjects:,} "
            "subjects done), so the run stopped: start the scheduler and run again"
        )

    def forget(self, future: Any) -> None:
        """Let the cluster forget ``future`` (nothing to do when the scheduler is gone)."""
        with contextlib.suppress(OSError, self.closed_client):
            future.cancel()

    def release(self) -> None:
        """Let the cluster forget the plan (the chunks are cancelled by their consumer)."""
        self.forget(self.plan_future)


class _ClusterChunk:
    """The Dask future of one chunk, as :func:`pksim.engine.execution.ordered_results` uses
    it: ``result()`` waits (resubmitting when the cluster lost it), ``cancel()``."""

    def __init__(self, cluster_run: _ClusterRun, start: int, stop: int, future: Any):
        self.cluster_run, self.start, self.stop, self.future = cluster_run, start, stop, future
        self.attempt = 0

    def result(self) -> Any:
        return self.cluster_run.result(self)

    def cancel(self) -> None:
        self.cluster_run.forget(self.future)


def _subjects(start: int, stop: int) -> str:
    return f"subjects {start}-{stop - 1}"


def _the_plan(plan: Plan) -> Plan:
    """The task holding a run's plan on the cluster (computed again when it is lost)."""
    return plan


def mapper(client: Any) -> execution.Mapper:
    """The chunk mapper of :func:`pksim.engine.execution.map_chunks` for a Dask ``client`` (a
    ``Client`` or a scheduler address)."""
    return functools.partial(ordered_map, client)


def lazy_dataset(plan: Plan, chunk_subjects: int) -> xr.Dataset:
    """The run's Dataset backed by Dask arrays chunked along ``subject``, nothing computed yet.

    Each chunk is one task (every variable of a chunk comes from it); variables, dtypes and
    attrs are taken from a one-subject probe simulated now.
    """
    require()
    import dask
    import dask.array as da

    bounds = execution.chunk_bounds(plan.n_subjects, chunk_subjects)
    probe = stored_chunk(plan, 0, 1)
    token = uuid.uuid4().hex[:12]
    shared = dask.delayed(plan, name=f"pksim-plan-{token}")
    parts = [
        dask.delayed(stored_chunk, pure=True)(
            shared, start, stop, dask_key_name=f"pksim-chunk-{token}-{start}"
        )
        for start, stop in bounds
    ]

    def lazy(name: str, variable: xr.Variable) -> xr.Variable:
        axis = variable.dims.index("subject")
        pieces = []
        for part, (start, stop) in zip(parts, bounds, strict=True):
            shape = list(variable.shape)
            shape[axis] = stop - start
            values = dask.delayed(_values, pure=True)(
                part, name, dask_key_name=f"pksim-{name}-{token}-{start}"
            )
            pieces.append(da.from_delayed(values, shape=tuple(shape), dtype=variable.dtype))
        return xr.Variable(variable.dims, da.concatenate(pieces, axis=axis), variable.attrs)

    data_vars = {
        name: lazy(name, variable) if "subject" in variable.dims else variable
        for name, variable in probe.data_vars.items()
    }
    coords: dict[str, Any] = {}
    for name, coord in probe.coords.items():
        if name == "subject":
            coords[name] = ("subject", np.arange(plan.n_subjects), coord.attrs)
        elif "subject" in coord.dims:
            coords[name] = lazy(str(name), coord.variable)
        else:
            coords[name] = coord.variable
    return xr.Dataset(data_vars, coords=coords, attrs=provenance(plan))


def _values(dataset: xr.Dataset, name: str) -> np.ndarray:
    return dataset[name].values
