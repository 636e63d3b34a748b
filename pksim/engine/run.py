"""``run``: one :class:`~pksim.scenario.Scenario` -> an ``xarray.Dataset`` of troughs.

``run`` returns the whole Dataset in memory (the default), streams it to a Zarr or NetCDF
store chunk by chunk (``store=``), or returns it backed by Dask arrays (``lazy=True``).
Attainment tables over any cohort size, in bounded memory, come from
:func:`pksim.results.summarize`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pksim.engine.chunk import dataset_chunk
from pksim.engine.execution import (
    DEFAULT_CHUNK_SUBJECTS,
    Mapper,
    Progress,
    check_execution,
    map_chunks,
)
from pksim.engine.plan import prepare, provenance
from pksim.scenario import Scenario

MAX_PROFILE_VALUES = 200_000_000
"""Largest regimen x subject x time profile array kept in memory (8 bytes each)."""


def run(
    scenario: Scenario | str | Path,
    n_subjects: int | None = None,
    seed: int | None = None,
    *,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    progress: Progress | None = None,
    store: str | Path | None = None,
    threads: int | None = None,
    client: Any = None,
    lazy: bool = False,
) -> xr.Dataset:
    """Simulate a scenario (an object, a file path or a bundled scenario name).

    ``n_subjects`` and ``seed`` override the scenario's. ``progress(done, total)`` is called
    after each chunk. Returns the Dataset described in DESIGN.md: ``trough`` (ng/mL,
    regimen x subject x day) and its measured counterpart, per-subject covariates as
    coordinates, units and provenance in attrs. The numbers are bit-identical whatever
    ``chunk_subjects``, ``threads`` or Dask workers.

    Parameters
    ----------
    chunk_subjects
        Subjects simulated together; memory grows with it (and with ``threads``): roughly
        150-200 MB per chunk being simulated at the default size, 2 regimens and 28 days.
    store
        A path ending in ``.zarr`` (Zarr v2 format, needs ``pip install 'pksim[zarr]'``) or
        ``.nc`` (NetCDF4 through h5netcdf): the Dataset is written chunk by chunk, under a
        temporary name renamed at the end (an interrupted run leaves nothing), so memory stays
        bounded by the chunk size. Returns the Dataset opened lazily from the store (values
        are read when used; close it when done).
    threads
        Chunks simulated at the same time in this process (default: one per CPU core, at most
        :data:`MAX_DEFAULT_THREADS`). Each chunk's kernel call is parallel with numba's threads
        on its own; the threads overlap the NumPy work of one chunk with another. Where
        numba's threading layer cannot be entered from several threads at once (the
        ``workqueue`` fallback, without OpenMP or TBB), chunks run one at a time.
    client
        A ``dask.distributed.Client`` or a scheduler address: chunks run as tasks on that
        cluster and come back here (into memory or into ``store``). Needs
        ``pip install 'pksim[dask]'``.
    lazy
        Return the Dataset backed by Dask arrays, one task per chunk, computed only when
        values are used (on the active Dask scheduler, e.g. the last ``Client`` created).
        Needs ``pip install 'pksim[dask]'``. Exclusive with ``store``.
    """
    plan = prepare(scenario, n_subjects, seed)
    check_execution(chunk_subjects, threads)
    if not isinstance(lazy, bool):
        raise ValueError(f"lazy must be True or False, got {lazy!r}")
    if plan.scenario.output.profiles:
        points = len(plan.scenario.regimens) * plan.n_subjects * plan.profile_times.size
        if points > MAX_PROFILE_VALUES and store is None and not lazy:
            raise ValueError(
                f"concentration profiles would hold {points:,} values (limit "
                f"{MAX_PROFILE_VALUES:,}): lower the subject count, raise "
                "output.profile_step_h, or write them to a store (store='result.zarr')"
            )
    if lazy:
        if store is not None:
            raise ValueError("give either lazy=True or store=..., not both")
        if client is not None:
            raise ValueError(
                "lazy=True returns Dask arrays computed on the active Dask scheduler (the last "
                "Client created); leave out client, or drop lazy=True to run on that client now"
            )
        from pksim.engine import distributed

        return distributed.lazy_dataset(plan, chunk_subjects)
    if store is not None:
        from pksim.engine import store as stores

        path = stores.check_store_path(store)
        chunks = map_chunks(
            dataset_chunk,
            plan,
            chunk_subjects,
            threads=threads,
            mapper=chunk_mapper(client),
            progress=progress,
        )
        stores.write(path, chunks, attrs=provenance(plan))
        return stores.open_store(path)
    chunks = map_chunks(
        dataset_chunk,
        plan,
        chunk_subjects,
        threads=threads,
        mapper=chunk_mapper(client),
        progress=progress,
    )
    return _assemble(chunks, plan.n_subjects).assign_attrs(provenance(plan))


def _assemble(chunks: Iterator[xr.Dataset], n_subjects: int) -> xr.Dataset:
    """One Dataset from the chunks (in subject order), filled into arrays allocated once."""
    first = next(chunks)
    if first.sizes["subject"] == n_subjects:
        return first
    full = {}
    for name, variable in first.variables.items():
        if "subject" in variable.dims:
            shape = tuple(
                n_subjects if dim == "subject" else size for dim, size in variable.sizes.items()
            )
            full[name] = np.empty(shape, dtype=variable.dtype)
    for chunk in itertools.chain([first], chunks):
        start = int(chunk["subject"].values[0])
        for name, values in full.items():
            variable = chunk.variables[name]
            if variable.dtype != values.dtype:
                raise RuntimeError(f"chunks disagree on the dtype of {name!r}: a pksim bug")
            axis = variable.dims.index("subject")
            index = (slice(None),) * axis + (slice(start, start + chunk.sizes["subject"]),)
            values[index] = variable.values
    return xr.Dataset(
        {
            name: (variable.dims, full[name], variable.attrs)
            for name, variable in first.data_vars.items()
        },
        coords={
            name: (
                coord.dims,
                full[name] if name in full else coord.values,
                coord.attrs,
            )
            for name, coord in first.coords.items()
        },
    )


def chunk_mapper(client: Any) -> Mapper | None:
    """The chunk mapper for a Dask ``client`` (None: run here)."""
    if client is None:
        return None
    from pksim.engine import distributed

    return distributed.mapper(client)
