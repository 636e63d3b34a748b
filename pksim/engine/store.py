"""Result stores written chunk by chunk and atomically: Zarr (v2 format) and NetCDF4.

:func:`write` takes the run's chunk Datasets one at a time, in subject order, so memory stays
bounded by one chunk whatever the cohort size. Everything is written under a temporary name
in the destination folder and renamed at the end: an interrupted run leaves no partial store,
and an existing store is replaced only by a complete one.

- ``.nc``: NetCDF4/HDF5 through h5netcdf (a pksim dependency). ``subject`` is an unlimited
  dimension; each chunk is encoded with xarray's CF conventions and appended in place.
- ``.zarr``: a Zarr directory store in format 2 (every Zarr reader supports it, and its
  fixed-width text type has a specification, unlike format 3's), appended along ``subject``.
  Needs the optional ``zarr`` package: ``pip install 'pksim[zarr]'``.

A full disk is an ``OSError`` (``ENOSPC``) and nothing is left behind (Zarr's metadata writes
run as concurrent tasks: the siblings of the write that failed fail too, and asyncio would
print each of them as an unretrieved task exception; :class:`_SiblingDiskFullFilter` drops
those copies of the one error that is reported). HDF5 must never meet
one: it does not report a failed write to Python reliably (it may only print it while it
releases an object, leave a corrupt file and crash the process at exit). So before each append
the NetCDF writer claims the disk blocks the append will use for the file
(:func:`pksim.files.reserve`; where the file system cannot, it checks the free space), and a
full disk is an ``ENOSPC`` there, before HDF5 writes; what was not used is given back.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import xarray as xr

from pksim import files
from pksim.checks import unknown_name_message

ENGINES = {".nc": "h5netcdf", ".zarr": "zarr"}
"""Store suffix -> xarray engine."""
NETCDF_CHUNK_SUBJECTS = 4096
"""HDF5 chunk length along ``subject`` (a whole chunk of a few MB at most)."""
ZARR_FORMAT = 2
WRITE_RESERVE_BYTES = 2**18
"""Disk space (bytes) reserved beyond an append's own data: HDF5's metadata."""
NETCDF_OVERHEAD_BYTES = 2**16
"""HDF5 metadata of a store (superblock, headers, chunk indexes), for the size estimate."""

__all__ = ["ENGINES", "check_store_path", "estimated_size", "open_store", "write"]


def check_store_path(path: str | Path) -> Path:
    """The store path, checked: a known suffix and its engine installed."""
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"store must be a path ending in .zarr or .nc, got {path!r}")
    path = Path(path)
    if path.suffix not in ENGINES:
        raise ValueError(
            f"store {str(path)!r}: "
            + unknown_name_message("store suffix", path.suffix or "(none)", ENGINES)
        )
    if path.suffix == ".zarr":
        _require_zarr()
    return path


def _require_zarr() -> None:
    try:
        import zarr  # noqa: F401
    except ImportError:
        raise ModuleNotFoundError(
            "writing a .zarr store needs the optional zarr package: pip install 'pksim[zarr]' "
            "(or write NetCDF: a path ending in .nc)"
        ) from None


def write(path: str | Path, chunks: Iterable[xr.Dataset], *, attrs: dict) -> None:
    """Write the chunk Datasets (in subject order) to ``path`` atomically, with ``attrs``."""
    path = check_store_path(path)
    writer = _write_zarr if path.suffix == ".zarr" else _write_netcdf
    files.write_atomically(path, lambda temporary: writer(temporary, chunks, attrs))


def estimated_size(sample: xr.Dataset, n_subjects: int) -> int:
    """Bytes of a store of ``n_subjects`` subjects whose chunks look like ``sample`` (a chunk of
    the run): its values uncompressed, as the NetCDF store holds them (a Zarr store compresses
    them, so it is smaller)."""
    per_subject = sum(v.nbytes for v in sample.variables.values() if "subject" in v.dims)
    fixed = sum(v.nbytes for v in sample.variables.values() if "subject" not in v.dims)
    return per_subject * n_subjects // sample.sizes["subject"] + fixed + NETCDF_OVERHEAD_BYTES


def open_store(path: str | Path) -> xr.Dataset:
    """The Dataset in a store, opened lazily (values are read when used)."""
    path = Path(path)
    if path.suffix == ".zarr":
        return xr.open_dataset(path, engine="zarr", chunks=None, consolidated=True)
    return xr.open_dataset(path, engine=ENGINES[path.suffix])


def _write_zarr(target: Path, chunks: Iterable[xr.Dataset], attrs: dict) -> None:
    first = True
    try:
        for chunk in chunks:
            chunk = chunk.assign_attrs(attrs)  # an append rewrites the group's attributes
            if first:
                chunk.to_zarr(target, mode="w-", zarr_format=ZARR_FORMAT, consolidated=True)
                first = False
            else:
                chunk.to_zarr(target, append_dim="subject", consolidated=True)
    except OSError as error:
        if error.errno in DISK_FULL_ERRNOS:
            _silence_sibling_disk_full_tasks()
        raise


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
UNRETRIEVED_TASK_MESSAGE = "Task exception was never retrieved"
"""How asyncio's default exception handler starts its report of a failed task nobody awaited."""


class _SiblingDiskFullFilter(logging.Filter):
    """Drops asyncio's reports of unawaited tasks that failed on a full disk: Zarr writes a
    store's metadata documents as concurrent tasks (``asyncio.as_completed``) and stops at the
    first failure, so its siblings' identical ``ENOSPC`` errors are printed when the tasks are
    garbage-collected, after pksim has reported the full disk once."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            record.getMessage().startswith(UNRETRIEVED_TASK_MESSAGE)
            and isinstance(error, OSError)
            and error.errno in DISK_FULL_ERRNOS
        )


def _silence_sibling_disk_full_tasks() -> None:
    """Install :class:`_SiblingDiskFullFilter` on the ``asyncio`` logger (once)."""
    logger = logging.getLogger("asyncio")
    if not any(isinstance(f, _SiblingDiskFullFilter) for f in logger.filters):
        logger.addFilter(_SiblingDiskFullFilter())


def _write_netcdf(target: Path, chunks: Iterable[xr.Dataset], attrs: dict) -> None:
    """xarray encodes the file's structure (no subject yet) in memory, written here; every
    chunk is then appended in place, into disk space reserved for it beforehand."""
    import h5netcdf
    import h5py
    from xarray import conventions

    iterator = iter(chunks)
    first = next(iterator).assign_attrs(attrs)
    encoding = {
        name: {"chunksizes": _hdf5_chunks(variable)}
        for name, variable in first.variables.items()
        if "subject" in variable.dims
    }
    structure = io.BytesIO()
    first.isel(subject=slice(0, 0)).to_netcdf(
        structure, engine="h5netcdf", unlimited_dims=["subject"], encoding=encoding
    )
    target.write_bytes(structure.getbuffer())
    failures: list[BaseException] = []
    with _collected_write_failures(failures), open(target, "r+b") as reservation:
        with h5py.File(target, "a") as raw, h5netcdf.File(raw, "a") as file:
            size = 0
            for chunk in itertools.chain([first], iterator):
                variables, _ = conventions.encode_dataset_coordinates(chunk)
                encoded, _ = conventions.cf_encoder(variables, {})
                stop = size + chunk.sizes["subject"]
                needed = _appended_bytes(chunk, size, stop, encoding) + WRITE_RESERVE_BYTES
                _reserve(reservation.fileno(), raw.id.get_filesize(), needed, target)
                file.resize_dimension("subject", stop)
                for name, variable in encoded.items():
                    if "subject" not in variable.dims:
                        continue
                    index = tuple(
                        slice(size, stop) if dim == "subject" else slice(None)
                        for dim in variable.dims
                    )
                    file.variables[name][index] = variable.values
                raw.flush()  # a failed write surfaces here, not when HDF5 closes the file
                if failures:
                    break
                size = stop
        files.release_reserved(reservation.fileno())
    if failures:
        raise OSError(errno.EIO, f"HDF5 could not write the file: {failures[0]}", str(target))


def _appended_bytes(chunk: xr.Dataset, start: int, stop: int, encoding: dict) -> int:
    """Bytes HDF5 allocates to append subjects [start, stop): whole HDF5 chunks."""
    total = 0
    for name, options in encoding.items():
        variable = chunk.variables[name]
        axis = variable.dims.index("subject")
        length = options["chunksizes"][axis]
        per_subject = variable.nbytes // max(variable.shape[axis], 1)
        chunks = -(-stop // length) - start // length
        total += chunks * length * per_subject
    return total


def _reserve(descriptor: int, offset: int, length: int, target: Path) -> None:
    """Claim the disk blocks HDF5 will write next, so that it never meets a full disk (ENOSPC
    here instead, before it writes); where the file system cannot, check that it has room."""
    if not files.reserve(descriptor, offset, length) and length > files.free_bytes(target.parent):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))


@contextlib.contextmanager
def _collected_write_failures(failures: list[BaseException]) -> Iterator[None]:
    """HDF5 write failures that h5py reports only as 'exception ignored' while it releases an
    object go to ``failures`` (a file with such a failure is not kept); other reports pass."""
    previous = sys.unraisablehook

    def collect(report) -> None:
        if re.search(r"errno = \d+|write failed", str(report.exc_value)):
            failures.append(report.exc_value)
        else:
            previous(report)

    sys.unraisablehook = collect
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _hdf5_chunks(variable: xr.Variable) -> tuple[int, ...]:
    return tuple(
        min(NETCDF_CHUNK_SUBJECTS, length) if dim == "subject" else length
        for dim, length in zip(variable.dims, variable.shape, strict=True)
    )
