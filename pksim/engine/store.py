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
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import xarray as xr

from pksim.checks import unknown_name_message
from pksim.files import write_atomically

ENGINES = {".nc": "h5netcdf", ".zarr": "zarr"}
"""Store suffix -> xarray engine."""
NETCDF_CHUNK_SUBJECTS = 4096
"""HDF5 chunk length along ``subject`` (a whole chunk of a few MB at most)."""
ZARR_FORMAT = 2

__all__ = ["ENGINES", "check_store_path", "open_store", "write"]


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
    write_atomically(path, lambda temporary: writer(temporary, chunks, attrs))


def open_store(path: str | Path) -> xr.Dataset:
    """The Dataset in a store, opened lazily (values are read when used)."""
    path = Path(path)
    if path.suffix == ".zarr":
        return xr.open_dataset(path, engine="zarr", chunks=None, consolidated=True)
    return xr.open_dataset(path, engine=ENGINES[path.suffix])


def _write_zarr(target: Path, chunks: Iterable[xr.Dataset], attrs: dict) -> None:
    first = True
    for chunk in chunks:
        chunk = chunk.assign_attrs(attrs)  # an append rewrites the group's attributes
        if first:
            chunk.to_zarr(target, mode="w-", zarr_format=ZARR_FORMAT, consolidated=True)
            first = False
        else:
            chunk.to_zarr(target, append_dim="subject", consolidated=True)


def _write_netcdf(target: Path, chunks: Iterable[xr.Dataset], attrs: dict) -> None:
    import h5netcdf
    from xarray import conventions

    iterator = iter(chunks)
    first = next(iterator).assign_attrs(attrs)
    encoding = {
        name: {"chunksizes": _hdf5_chunks(variable)}
        for name, variable in first.variables.items()
        if "subject" in variable.dims
    }
    first.to_netcdf(target, engine="h5netcdf", unlimited_dims=["subject"], encoding=encoding)
    size = first.sizes["subject"]
    with h5netcdf.File(target, "a") as file:
        for chunk in iterator:
            variables, _ = conventions.encode_dataset_coordinates(chunk)
            encoded, _ = conventions.cf_encoder(variables, {})
            stop = size + chunk.sizes["subject"]
            file.resize_dimension("subject", stop)
            for name, variable in encoded.items():
                if "subject" not in variable.dims:
                    continue
                index = tuple(
                    slice(size, stop) if dim == "subject" else slice(None) for dim in variable.dims
                )
                file.variables[name][index] = variable.values
            size = stop


def _hdf5_chunks(variable: xr.Variable) -> tuple[int, ...]:
    return tuple(
        min(NETCDF_CHUNK_SUBJECTS, length) if dim == "subject" else length
        for dim, length in zip(variable.dims, variable.shape, strict=True)
    )
