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

Dask is imported only inside these functions; without it they raise ``ModuleNotFoundError``
naming the extra to install.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

from pksim.engine import execution
from pksim.engine.chunk import stored_chunk
from pksim.engine.plan import Plan, provenance

INSTALL_HINT = "pip install 'pksim[dask]'"

__all__ = ["INSTALL_HINT", "connect", "lazy_dataset", "mapper", "ordered_map", "require"]


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
) -> Iterator[Any]:
    """``task(plan, start, stop, *arguments)`` for each chunk as Dask tasks, results in order.

    At most :data:`pksim.execution.CHUNKS_IN_FLIGHT_PER_WORKER` chunks per worker thread are
    submitted ahead of the one being collected, so finished results never pile up.
    """
    with _as_client(client) as connected:
        threads = max(1, sum(connected.nthreads().values()))
        window = threads * execution.CHUNKS_IN_FLIGHT_PER_WORKER
        shared = connected.scatter(plan, broadcast=True, hash=False)
        run_id = uuid.uuid4().hex[:12]
        try:
            yield from execution.ordered_results(
                lambda start, stop, shared=shared: connected.submit(
                    task,
                    shared,
                    start,
                    stop,
                    *arguments,
                    key=f"pksim-{task.__name__}-{run_id}-{start}",
                    pure=False,
                ),
                bounds,
                window,
            )
        finally:
            del shared


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
