"""``run``: one :class:`~pksim.scenario.Scenario` -> an ``xarray.Dataset`` of troughs.

``run`` returns the whole Dataset in memory (the default), streams it to a Zarr or NetCDF
store chunk by chunk (``store=``), or returns it backed by Dask arrays (``lazy=True``).

:func:`reduce_run` is the one-way stream under the store and under every summary: each chunk
is simulated once (only what its consumers need when nothing is stored), reduced where it was
simulated by each :class:`ChunkReducer` (e.g. the attainment counts of :mod:`pksim.results`),
written to the store when there is one, and dropped; the reductions are merged here in subject
order. Nothing is read back.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import xarray as xr

from pksim.engine.chunk import dataset_chunk, stored_chunk
from pksim.engine.execution import (
    DEFAULT_CHUNK_SUBJECTS,
    Mapper,
    Progress,
    check_execution,
    map_chunks,
)
from pksim.engine.plan import Plan, prepare, provenance
from pksim.scenario import Scenario

MAX_PROFILE_VALUES = 200_000_000
"""Largest regimen x subject x time profile array kept in memory (8 bytes each)."""


@dataclass(frozen=True, slots=True)
class Outputs:
    """What a chunk must hold: troughs on ``days`` (first, last) inclusive (None: every day),
    the ``measured`` troughs (assay error), the subject ``coordinates`` named (None: all) and
    the concentration ``profiles`` (when the scenario asks for them)."""

    days: tuple[int, int] | None = None
    measured: bool = True
    coordinates: frozenset[str] | None = None
    profiles: bool = True

    def union(self, other: Outputs) -> Outputs:
        """What both need."""
        days = None
        if self.days is not None and other.days is not None:
            days = (min(self.days[0], other.days[0]), max(self.days[1], other.days[1]))
        coordinates = None
        if self.coordinates is not None and other.coordinates is not None:
            coordinates = self.coordinates | other.coordinates
        return Outputs(
            days=days,
            measured=self.measured or other.measured,
            coordinates=coordinates,
            profiles=self.profiles or other.profiles,
        )


def stored_outputs(plan: Plan) -> Outputs:
    """What a stored (or returned) run holds: every day and coordinate, and the measured
    troughs and profiles when the scenario's ``[output]`` asks for them."""
    return Outputs(measured=plan.scenario.output.measured)


def stored_size(plan: Plan) -> int:
    """Estimated bytes of the store of ``plan`` (its values uncompressed, as the NetCDF store
    holds them), from a chunk of one subject."""
    from pksim.engine import store as stores

    outputs = stored_outputs(plan)
    sample = dataset_chunk(
        plan,
        0,
        1,
        days=outputs.days,
        measured=outputs.measured,
        coordinates=outputs.coordinates,
        profiles=outputs.profiles,
    )
    return stores.estimated_size(sample, plan.n_subjects)


class ChunkReducer(Protocol):
    """Reduces each chunk Dataset of a run to a small partial result, and merges partials.

    ``reduce`` runs where the chunk was simulated (this process, a thread or a Dask worker):
    it must be a pure function of the chunk and pickle with its reducer. ``merge`` runs here,
    in subject order. ``outputs`` says what the chunk must hold for it.
    """

    @property
    def outputs(self) -> Outputs: ...

    def reduce(self, chunk: xr.Dataset) -> Any: ...

    def merge(self, total: Any, part: Any) -> Any: ...


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
    regimen x subject x day) (and its measured counterpart when the scenario's ``[output]``
    says ``measured = true``), per-subject covariates as
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
        reduce_run(
            plan,
            (),
            store=path,
            chunk_subjects=chunk_subjects,
            threads=threads,
            client=client,
            progress=progress,
        )
        return stores.open_store(path)
    chunks = map_chunks(
        stored_chunk,
        plan,
        chunk_subjects,
        threads=threads,
        mapper=chunk_mapper(client),
        progress=progress,
    )
    return _assemble(chunks, plan.n_subjects).assign_attrs(provenance(plan))


def reduce_run(
    plan: Plan,
    reducers: Sequence[ChunkReducer],
    *,
    store: str | Path | None = None,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    threads: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> list[Any]:
    """Simulate every chunk of ``plan`` once; return each reducer's merged partial results.

    Each chunk is reduced where it was simulated by every reducer, then written to ``store``
    (NetCDF or Zarr, atomically, as :func:`run` does) when one is given and dropped. Without
    a store only what the reducers need is simulated (see :class:`Outputs`). Memory is bounded
    by the chunks in flight and the reducers' partials, whatever the cohort size; the results
    are bit-identical whatever ``chunk_subjects``, ``threads`` or Dask workers.
    """
    check_execution(chunk_subjects, threads)
    if store is None and not reducers:
        raise ValueError("reduce_run needs a store or at least one reducer: nothing to do")
    outputs = _needed(reducers) if reducers else None
    if store is not None:
        outputs = stored_outputs(plan) if outputs is None else stored_outputs(plan).union(outputs)
    results = map_chunks(
        _reduced_chunk,
        plan,
        chunk_subjects,
        threads=threads,
        mapper=chunk_mapper(client),
        progress=progress,
        arguments=(tuple(reducers), outputs, store is not None),
    )
    totals: list[Any] = [None] * len(reducers)

    def chunks() -> Iterator[xr.Dataset]:
        for index, (chunk, parts) in enumerate(results):
            for k, (reducer, part) in enumerate(zip(reducers, parts, strict=True)):
                totals[k] = part if index == 0 else reducer.merge(totals[k], part)
            if chunk is not None:
                yield chunk

    if store is not None:
        from pksim.engine import store as stores

        stores.write(stores.check_store_path(store), chunks(), attrs=provenance(plan))
    else:
        for _ in chunks():
            pass
    return totals


def _needed(reducers: Sequence[ChunkReducer]) -> Outputs:
    needed = reducers[0].outputs
    for reducer in reducers[1:]:
        needed = needed.union(reducer.outputs)
    return needed


def _reduced_chunk(
    plan: Plan,
    start: int,
    stop: int,
    reducers: tuple[ChunkReducer, ...],
    outputs: Outputs,
    keep: bool,
) -> tuple[xr.Dataset | None, list[Any]]:
    """One chunk's Dataset (when ``keep``) and its reductions."""
    chunk = dataset_chunk(
        plan,
        start,
        stop,
        days=outputs.days,
        measured=outputs.measured,
        coordinates=outputs.coordinates,
        profiles=outputs.profiles,
    )
    return (chunk if keep else None), [reducer.reduce(chunk) for reducer in reducers]


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
