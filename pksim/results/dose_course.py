"""The realised daily dose per regimen and day, reduced to counts that merge across chunks.

Realised doses take few distinct values (capsule strengths, rounding, 0 mg on held days), so
:class:`DoseCounts` keeps how many subjects took each distinct dose on each day: percentiles
from them are exact. When a run has more than :data:`EXACT_DOSE_LIMIT` distinct doses
(unrounded mg/kg doses), the counts become a :data:`DOSE_BINS` histogram (each percentile
within 0.12 %), so memory stays bounded whatever the cohort. Whether that happens depends only
on the distinct doses of the whole run, never on the chunking: a merge's distinct doses are the
union of its parts'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pksim.results.percentiles import PERCENTILES, LogBins, lerp

__all__ = ["DOSE_BINS", "EXACT_DOSE_LIMIT", "DoseCounts", "counted_percentile"]

EXACT_DOSE_LIMIT = 1024
"""Most distinct realised doses kept exactly per run (beyond: a :data:`DOSE_BINS` histogram);
at most regimens x days x 1024 counts, 2.9 MB for 2 regimens x 180 days."""

DOSE_BINS = LogBins(1e-2, 1e3, 1000)
"""Histogram bins of realised daily doses (mg/day) beyond :data:`EXACT_DOSE_LIMIT` distinct
values: 1000 log bins per decade over 0.01-1000 mg/day, each percentile within 0.12 % of the
exact value; held days (exactly 0 mg) keep their own bin."""
_ZERO_BIN = 1
"""Bin of :data:`DOSE_BINS` holding exact zeros."""


@dataclass(frozen=True, slots=True)
class DoseCounts:
    """Subjects per regimen, day and dose: ``counts`` (R, D, U) of the ascending distinct
    ``values`` (mg/day), or, when ``values`` is None, (R, D, bins) over :data:`DOSE_BINS`."""

    counts: np.ndarray
    values: np.ndarray | None

    @classmethod
    def of(cls, doses: np.ndarray) -> DoseCounts:
        """Counts of (regimen, subject, day) doses (finite, >= 0 mg/day)."""
        values, codes = np.unique(doses, return_inverse=True)
        codes = codes.reshape(doses.shape)
        n_regimens, _, n_days = doses.shape
        if values.size > EXACT_DOSE_LIMIT:
            return cls(_binned(doses), None)
        rows = np.arange(n_regimens)[:, None, None] * n_days + np.arange(n_days)[None, :, None]
        keys = rows * values.size + np.moveaxis(codes, 1, 2)  # (R, D, N)
        counts = np.bincount(keys.ravel(), minlength=n_regimens * n_days * values.size)
        return cls(counts.reshape(n_regimens, n_days, values.size), values)

    def __add__(self, other: DoseCounts) -> DoseCounts:
        if self.values is None or other.values is None:
            return DoseCounts(self.binned() + other.binned(), None)
        values = np.union1d(self.values, other.values)
        if values.size > EXACT_DOSE_LIMIT:
            return DoseCounts(self.binned() + other.binned(), None)
        counts = np.zeros((*self.counts.shape[:2], values.size), dtype=np.int64)
        counts[:, :, np.searchsorted(values, self.values)] += self.counts
        counts[:, :, np.searchsorted(values, other.values)] += other.counts
        return DoseCounts(counts, values)

    @property
    def exact(self) -> bool:
        return self.values is not None

    def binned(self) -> np.ndarray:
        """The counts as a (R, D, bins) :data:`DOSE_BINS` histogram."""
        if self.values is None:
            return self.counts
        bins = DOSE_BINS.index(self.values)
        out = np.zeros((*self.counts.shape[:2], DOSE_BINS.size), dtype=np.int64)
        np.add.at(out, (slice(None), slice(None), bins), self.counts)
        return out

    def percentiles(self, regimen: int, day: int) -> dict[str, float]:
        """:data:`~pksim.results.percentiles.PERCENTILES` of one regimen's doses on one day
        (index into the evaluated days), mg/day."""
        counts = self.counts[regimen, day]
        if self.values is None:
            return DOSE_BINS.percentiles(counts)
        return {name: counted_percentile(counts, self.values, q) for name, q in PERCENTILES.items()}

    def held(self, regimen: int, day: int) -> int:
        """Subjects given no dose (0 mg) on that day."""
        if self.values is None:
            return int(self.counts[regimen, day, _ZERO_BIN])
        return int(self.counts[regimen, day][self.values == 0.0].sum())

    def describe(self) -> str:
        """How the dose percentiles were computed."""
        if self.values is not None:
            return "exact (numpy linear method over every realised daily dose)"
        return DOSE_BINS.describe().replace("ng/mL", "mg/day")


def _binned(doses: np.ndarray) -> np.ndarray:
    n_regimens, _, n_days = doses.shape
    size = DOSE_BINS.size
    histogram = np.empty((n_regimens, n_days, size), dtype=np.int64)
    offsets = np.arange(n_regimens)[:, None] * size
    for t in range(n_days):  # one day at a time: temporaries of one day's size
        keys = offsets + DOSE_BINS.index(doses[:, :, t])
        histogram[:, t] = np.bincount(keys.ravel(), minlength=n_regimens * size).reshape(
            n_regimens, size
        )
    return histogram


def counted_percentile(counts: np.ndarray, values: np.ndarray, q: float) -> float:
    """Type-7 percentile ``q`` (0-100) of a sample given as ``counts`` of each of the ascending
    ``values`` (the last may be inf): the order statistics interpolated as numpy's ``linear``
    method does; inf when it interpolates towards an infinite value; NaN for no sample."""
    cumulative = np.cumsum(counts)
    count = int(cumulative[-1]) if cumulative.size else 0
    if count == 0:
        return math.nan
    position = (count - 1) * (q / 100.0)
    below = math.floor(position)
    above = min(below + 1, count - 1)
    a, b = (float(v) for v in values[np.searchsorted(cumulative, [below, above], side="right")])
    fraction = position - below
    if fraction == 0.0 or a == b:
        return a
    if math.isinf(a) or math.isinf(b):
        return math.inf
    return lerp(a, b, fraction)
