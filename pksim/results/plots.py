"""Plots of a result: trough distributions, the trough course, concentration ribbons.

The functions taking a Dataset (for notebooks) reduce it first with the same reducers as a
streamed run (exact percentiles) and draw the reduced data with :mod:`pksim.results.figures`;
:func:`write_plots` draws reduced data directly, which is how ``pksim run`` plots a cohort of
any size without reading it back. Every function returns a
:class:`matplotlib.figure.Figure` built without pyplot, labelled from the Dataset's attrs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from pksim import contract
from pksim.files import write_atomically
from pksim.results.course import Course, CourseReducer, course
from pksim.results.figure_text import figure_style
from pksim.results.figures import course_figure, distribution_figure, ribbons_figure
from pksim.results.reducer import AttainmentReducer, target_counts
from pksim.results.report import SUBGROUPS
from pksim.results.spec import REGIMEN, dataset_spec, grouping
from pksim.results.tables import assemble, target_ranges

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "SUBGROUPS",
    "plot_concentration_ribbons",
    "plot_trough_course",
    "plot_trough_distribution",
    "save_plots",
    "write_plots",
]

DPI = 150
"""Resolution of the saved PNG files (dots per inch)."""
COMEDICATION = "comedication"
"""The subgroup a trough course is split by when only some subjects take a co-medication
(takers and non-takers are not pooled)."""
OPEN_TARGET = (0.0, float("inf"))
"""The target judged when a Dataset has none (every trough in range; no band is drawn)."""


def plot_trough_distribution(ds: xr.Dataset, *, day: int | None = None, by: str | None = None):
    """Trough distribution per regimen against the shaded target band.

    Boxes span the 25th-75th percentile with the median, whiskers the 5th-95th (the same
    numbers as :func:`pksim.target_attainment`); the number above each box is the
    percentage of subjects in their target range. ``by`` splits each regimen by a subgroup
    coordinate (e.g. ``"cyp3a5"``). ``day`` defaults, as in ``target_attainment``, to the
    scenario's target day (or window), else the last day.
    """
    subgroup = _single_subgroup(by)
    show_target = _has_target(ds)
    (table,) = _tables(ds, [(REGIMEN, *([subgroup] if subgroup else []))], day, show_target)
    return distribution_figure(
        table,
        ds.attrs,
        subgroup=subgroup,
        subgroup_title=_coordinate_title(ds, subgroup) if subgroup else None,
        show_target=show_target,
    )


def plot_trough_course(ds: xr.Dataset, *, by: str | None = None):
    """Trough percentiles day by day per regimen, co-medication periods shaded.

    Without ``by``: median, 25th-75th and 5th-95th percentile bands. With ``by`` (a subgroup
    coordinate): the median and 25th-75th band of each level, in its own colour.
    """
    subgroup = _single_subgroup(by)
    if subgroup is not None:
        grouping(subgroup, _categorical(ds))
    reducer = CourseReducer(contract.TROUGH, subgroup, percentiles="exact")
    return course_figure(
        course(reducer.reduce(ds)),
        ds.attrs,
        target_ranges=_target_ranges(ds),
        subgroup_title=_coordinate_title(ds, subgroup) if subgroup else None,
    )


def plot_concentration_ribbons(ds: xr.Dataset, *, regimen: str | None = None):
    """Percentile ribbons (5/25/50/75/95) of concentration over time, doses marked.

    Needs the ``concentration`` variable (regimen, subject, time). One panel per regimen, or
    only ``regimen``. Nominal dose times come from ``ds.attrs["dose_times_h"]`` (JSON mapping
    regimen -> hours); co-medication periods from ``ds.attrs["comedications"]``.
    """
    _check_concentration(ds)
    reducer = CourseReducer(contract.CONCENTRATION, percentiles="exact")
    return ribbons_figure(
        course(reducer.reduce(ds)), ds.attrs, regimen=regimen, target_ranges=_target_ranges(ds)
    )


def save_plots(ds: xr.Dataset, directory: str | os.PathLike) -> list[Path]:
    """Write every applicable plot of a Dataset as PNG into ``directory`` (created if missing).

    Always the trough distribution; one split by each of :data:`SUBGROUPS` present with at
    least two levels; the trough course when there is more than one day; the concentration
    ribbons when ``concentration`` is present (see :func:`write_plots`). Returns the paths
    written, in that order.
    """
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    folder = _folder(directory)
    show_target = _has_target(ds)
    names = [name for name in SUBGROUPS if name in ds.coords]
    groupings = [(REGIMEN,), *((REGIMEN, name) for name in names)]
    tables = _tables(ds, groupings, None, show_target)
    trough_course = None
    if ds.sizes.get("day", 0) > 1:
        by = COMEDICATION if _varies(ds, COMEDICATION) else None
        trough_course = course(CourseReducer(by=by, percentiles="exact").reduce(ds))
    ribbons = None
    if contract.CONCENTRATION in ds.data_vars:
        _check_concentration(ds)
        reducer = CourseReducer(contract.CONCENTRATION, percentiles="exact")
        ribbons = course(reducer.reduce(ds))
    return write_plots(
        folder,
        tables,
        ds.attrs,
        trough_course=trough_course,
        ribbons=ribbons,
        subgroup_titles={name: _coordinate_title(ds, name) for name in names},
        show_target=show_target,
    )


def write_plots(
    directory: str | os.PathLike,
    tables: Sequence[pd.DataFrame],
    attrs: Mapping[str, Any],
    *,
    trough_course: Course | None = None,
    ribbons: Course | None = None,
    subgroup_titles: Mapping[str, str] | None = None,
    show_target: bool = True,
) -> list[Path]:
    """Write the plots of reduced results as PNG files into ``directory``.

    ``tables``: the attainment table by regimen, then tables by regimen and one subgroup each
    (one ``trough_distribution_by_<subgroup>.png`` for a subgroup with two or more levels);
    ``trough_course`` and ``ribbons`` when given. ``attrs``: the run's provenance attrs. Each
    file is written to a temporary file in the same folder and renamed over the target, so a
    reader never sees half a file. Returns the paths written, in that order.
    """
    folder = _folder(directory)
    titles = subgroup_titles or {}
    plots = [
        (
            "trough_distribution",
            lambda: distribution_figure(tables[0], attrs, show_target=show_target),
        )
    ]
    for table in tables[1:]:
        name = str(table.columns[1])
        if table[name].nunique() > 1:
            plots.append(
                (
                    f"trough_distribution_by_{name}",
                    lambda t=table, n=name: distribution_figure(
                        t,
                        attrs,
                        subgroup=n,
                        subgroup_title=titles.get(n, n),
                        show_target=show_target,
                    ),
                )
            )
    ranges = tables[0].attrs.get("target_ranges", []) if show_target else []
    if trough_course is not None and trough_course.axis.size > 1:
        split = trough_course.levels != ((),)
        course_title = titles.get(COMEDICATION, "co-medication") if split else None
        plots.append(
            (
                "trough_course",
                lambda: course_figure(
                    trough_course, attrs, target_ranges=ranges, subgroup_title=course_title
                ),
            )
        )
    if ribbons is not None:
        plots.append(
            ("concentration_ribbons", lambda: ribbons_figure(ribbons, attrs, target_ranges=ranges))
        )
    written = []
    for stem, make in plots:
        path = folder / f"{stem}.png"
        _save(make(), path)
        written.append(path)
    return written


# --- helpers -----------------------------------------------------------------------------------


def _save(fig: Figure, path: Path) -> None:
    with figure_style():
        write_atomically(path, lambda temporary: fig.savefig(temporary, format="png", dpi=DPI))


def _folder(directory: Any) -> Path:
    if not isinstance(directory, str | os.PathLike):
        raise ValueError(f"directory must be a path, got {directory!r}")
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"directory {str(folder)!r} exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _tables(
    ds: xr.Dataset, groupings: list[tuple[str, ...]], day: int | None, show_target: bool
) -> list[pd.DataFrame]:
    """Attainment tables of a Dataset (one reducer pass for all groupings, exact)."""
    spec = dataset_spec(
        ds,
        groupings,
        day=day,
        window=None,
        measured=False,
        target=None if show_target else OPEN_TARGET,
        percentiles="exact",
    )
    counts = AttainmentReducer(spec).reduce(ds)
    return assemble(spec, counts, target_label=str(ds.attrs.get("target_label", "")))


def _varies(ds: xr.Dataset, name: str) -> bool:
    return name in ds.coords and np.unique(np.asarray(ds[name].values)).size > 1


def _single_subgroup(by: Any) -> str | None:
    if by is None:
        return None
    if not isinstance(by, str):
        raise ValueError(f"by must be one subgroup coordinate name or None, got {by!r}")
    return None if by == REGIMEN else by


def _categorical(ds: xr.Dataset) -> dict[str, bool]:
    return {
        str(name): coord.dtype.kind not in "fc"
        for name, coord in ds.coords.items()
        if coord.dims == ("subject",) and name != "subject"
    }


def _has_target(ds: xr.Dataset) -> bool:
    return contract.TARGET_LOWER in ds.variables and contract.TARGET_UPPER in ds.variables


def _target_ranges(ds: xr.Dataset) -> list[dict[str, Any]]:
    if not _has_target(ds):
        return []
    n = ds.sizes["subject"]
    lower, upper = (
        np.broadcast_to(np.asarray(ds[name].values, dtype=np.float64), (n,))
        for name in (contract.TARGET_LOWER, contract.TARGET_UPPER)
    )
    renal = ds.get(contract.RENAL_IMPAIRMENT)
    return target_ranges(target_counts(lower, upper, None if renal is None else renal.values))


def _coordinate_title(ds: xr.Dataset, name: str) -> str:
    return str(ds[name].attrs.get("long_name", name.replace("_", " ")))


def _check_concentration(ds: xr.Dataset) -> None:
    if contract.CONCENTRATION not in ds.data_vars:
        raise ValueError(
            "ribbons need the 'concentration' variable (regimen, subject, time), which this "
            f"dataset lacks; variables present: {sorted(str(v) for v in ds.data_vars)}"
        )
    dims = ds[contract.CONCENTRATION].dims
    if set(dims) != {"regimen", "subject", "time"}:
        raise ValueError(
            "concentration must have dims (regimen, subject, time), "
            f"got {tuple(str(d) for d in dims)}"
        )
