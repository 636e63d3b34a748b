"""Percentile courses for plots: trough percentiles day by day, concentration percentiles over
time, per regimen (and subgroup level), reduced chunk by chunk like the attainment tables.

:class:`CourseReducer` keeps, per regimen, level and day (or time point), either a histogram
(memory independent of the cohort size: :data:`~pksim.results.percentiles.TABLE_BINS` by
default, within 0.023 %; :data:`~pksim.results.percentiles.RIBBON_BINS` for hourly profiles)
or the values themselves (exact, for a Dataset in memory).
:func:`course` turns the merged counts into a :class:`Course` that the plots draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from pksim import contract
from pksim.engine.run import Outputs
from pksim.results.percentiles import PERCENTILES, TABLE_BINS, LogBins, grouped_percentiles
from pksim.results.reducer import Level, level_codes
from pksim.results.tables import level_order

__all__ = ["Course", "CourseCounts", "CourseReducer", "course"]

COURSE_DIMS = {contract.TROUGH: "day", contract.CONCENTRATION: "time"}
"""Variable -> the axis its course runs along."""


@dataclass(frozen=True, slots=True)
class CourseCounts:
    """What the course reducer keeps of some chunks: per level, a (regimen, axis, bin)
    histogram over ``bins``, or (exact) every chunk's (regimen, subject, axis) values and level
    codes."""

    regimens: np.ndarray
    axis: np.ndarray
    axis_attrs: Mapping[str, Any]
    value_attrs: Mapping[str, Any]
    histograms: Mapping[Level, np.ndarray]
    bins: LogBins = TABLE_BINS
    levels: tuple[Level, ...] = ()
    values: tuple[np.ndarray, ...] = ()
    codes: tuple[tuple[np.ndarray, tuple[Level, ...]], ...] = ()

    def __add__(self, other: CourseCounts) -> CourseCounts:
        histograms = dict(self.histograms)
        for level, counts in other.histograms.items():
            histograms[level] = histograms[level] + counts if level in histograms else counts
        levels = self.levels + tuple(lv for lv in other.levels if lv not in self.levels)
        return CourseCounts(
            regimens=self.regimens,
            axis=self.axis,
            axis_attrs=self.axis_attrs,
            value_attrs=self.value_attrs,
            histograms=histograms,
            bins=self.bins,
            levels=levels,
            values=self.values + other.values,
            codes=self.codes + other.codes,
        )


@dataclass(frozen=True, slots=True)
class CourseReducer:
    """The :class:`~pksim.engine.run.ChunkReducer` of a percentile course: ``variable``
    ``"trough"`` (by day) or ``"concentration"`` (by time), split by the subject coordinate
    ``by`` or not, ``percentiles`` ``"histogram"`` (over ``bins``) or ``"exact"``."""

    variable: str = contract.TROUGH
    by: str | None = None
    percentiles: str = "histogram"
    bins: LogBins = TABLE_BINS

    @property
    def outputs(self) -> Outputs:
        return Outputs(
            days=None,
            measured=False,
            coordinates=frozenset({self.by} if self.by else ()),
            profiles=self.variable == contract.CONCENTRATION,
        )

    def reduce(self, chunk: xr.Dataset) -> CourseCounts:
        axis = COURSE_DIMS[self.variable]
        if self.variable not in chunk.data_vars:
            present = sorted(str(v) for v in chunk.data_vars)
            raise ValueError(f"dataset has no variable {self.variable!r}; present: {present}")
        array = chunk[self.variable].transpose("regimen", "subject", axis)
        values = array.values
        local, levels = level_codes(chunk, [self.by] if self.by else [])
        common = {
            "regimens": np.asarray(array["regimen"].values),
            "axis": np.asarray(array[axis].values, dtype=np.float64),
            "axis_attrs": dict(array[axis].attrs),
            "value_attrs": dict(array.attrs),
            "levels": levels,
        }
        if self.percentiles == "exact":
            return CourseCounts(histograms={}, values=(values,), codes=((local, levels),), **common)
        n_regimens, _, n_points = values.shape
        n_levels, size = len(levels), self.bins.size
        keys = (np.arange(n_regimens)[:, None] * n_levels + local[None, :]) * size
        counts = np.empty((n_regimens, n_levels, n_points, size), dtype=np.int64)
        for t in range(n_points):  # one point at a time: temporaries of one day's size
            binned = keys + self.bins.index(values[:, :, t])
            counts[:, :, t] = np.bincount(
                binned.ravel(), minlength=n_regimens * n_levels * size
            ).reshape(n_regimens, n_levels, size)
        histograms = {level: counts[:, j] for j, level in enumerate(levels)}
        return CourseCounts(histograms=histograms, bins=self.bins, **common)

    def merge(self, total: CourseCounts, part: CourseCounts) -> CourseCounts:
        return total + part


@dataclass(frozen=True, slots=True)
class Course:
    """Percentiles along ``axis`` (days, or hours for concentrations): ``percentiles`` name ->
    (regimen, level, axis) array in ng/mL; ``levels`` in display order ((),) without a
    subgroup); ``axis_attrs``/``value_attrs`` the variables' attrs (long name, units)."""

    regimens: tuple[str, ...]
    levels: tuple[Level, ...]
    axis: np.ndarray
    axis_attrs: Mapping[str, Any]
    value_attrs: Mapping[str, Any]
    percentiles: Mapping[str, np.ndarray]


def course(counts: CourseCounts) -> Course:
    """The percentiles of merged course counts."""
    order = level_order(counts.levels)
    n_regimens, n_levels, n_points = len(counts.regimens), len(order), counts.axis.size
    if counts.values:
        values = counts.values[0] if len(counts.values) == 1 else np.concatenate(counts.values, 1)
        index = {level: j for j, level in enumerate(order)}
        codes = np.concatenate(
            [np.array([index[lv] for lv in found], dtype=np.int64)[c] for c, found in counts.codes]
        )
        keys = (np.arange(n_regimens)[:, None] * n_levels + codes[None, :])[:, :, None]
        keys = keys * n_points + np.arange(n_points)[None, None, :]
        found = grouped_percentiles(keys.ravel(), values.ravel(), n_regimens * n_levels * n_points)
        shape = (n_regimens, n_levels, n_points)
        percentiles = {name: found[name].reshape(shape) for name in PERCENTILES}
    else:
        percentiles = {
            name: np.full((n_regimens, n_levels, n_points), np.nan) for name in PERCENTILES
        }
        for j, level in enumerate(order):
            histogram = counts.histograms[level]
            for r in range(n_regimens):
                for t in range(n_points):
                    for name, value in counts.bins.percentiles(histogram[r, t]).items():
                        percentiles[name][r, j, t] = value
    return Course(
        regimens=tuple(str(r) for r in counts.regimens),
        levels=tuple(order),
        axis=counts.axis,
        axis_attrs=counts.axis_attrs,
        value_attrs=counts.value_attrs,
        percentiles=percentiles,
    )
