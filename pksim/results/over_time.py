"""The attainment-over-time reducer: a result Dataset (a chunk of a run, or a whole run) ->
integer counts per regimen, subgroup level and day that merge across chunks exactly.

Over the evaluated days of the span (``first_day``..``last_day`` of the spec, those the
Dataset holds), per regimen and subgroup level it keeps:

- per day: subjects in range (``lower <= trough <= upper``), below and above their target;
- per week of treatment (days 7w-6..7w, cut to the span): subjects in range on every
  evaluated day of that week;
- a histogram of each subject's first in-range day (index into the evaluated days; one extra
  bin: never in range) and of the number of evaluated days in range (time in range);
- subjects ever above ``above_ng_per_ml`` and ever below ``below_ng_per_ml`` (strictly);
- when the Dataset has :data:`~pksim.contract.DOSE_CHANGES`: the dose changes summed and the
  subjects with at least one (without it every regimen keeps its dose: zero changes);
- when it has :data:`~pksim.contract.REALISED_DAILY_DOSE`: per regimen and day the subjects
  per realised daily dose (:class:`~pksim.results.dose_course.DoseCounts`), and the subjects
  whose dose varies.

Everything is an integer count, so the counts of two chunks add up exactly to those of the two
together: ``pksim.attainment_over_time`` (the whole Dataset as one chunk) and
``pksim.summarize_over_time`` (every chunk as simulated) give the same numbers, in memory
independent of the cohort size. Measured values flagged below the LLOQ count as 0 ng/mL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from pksim import contract
from pksim.engine.run import Outputs
from pksim.library.targets import in_range
from pksim.results.dose_course import DoseCounts
from pksim.results.over_time_spec import OverTimeSpec
from pksim.results.reducer import (
    Level,
    TargetKey,
    _targets,
    check_same_regimens,
    judged_values,
    level_codes,
    merge_groups,
    merge_targets,
    target_counts,
    trough_outputs,
    troughs,
)

__all__ = ["DAILY_CLASSES", "OverTimeCounts", "OverTimeLevel", "OverTimeReducer"]

DAILY_CLASSES = ("in_range", "below", "above")
"""Classifications counted per day (they partition the subjects on each day)."""
EVER_CLASSES = ("ever_above", "ever_below")
"""Subjects ever above the over-exposure limit / ever below the under-exposure limit."""
DAYS_PER_WEEK = 7


@dataclass(frozen=True, slots=True)
class OverTimeLevel:
    """Counts of one subgroup level; every array's first axis is the regimen.

    ``n`` (R,) subjects; ``daily`` class -> (R, D) subjects per evaluated day; ``whole_week``
    (R, W) subjects in range on every evaluated day of each week; ``first_in_range`` (R, D + 1)
    histogram of the index of the first in-range day (last bin: never); ``days_in_range``
    (R, D + 1) histogram of the days in range; ``ever`` class -> (R,); ``dose_changes`` (R,)
    changes summed; ``dose_changed`` (R,) subjects with at least one change.
    """

    n: np.ndarray
    daily: Mapping[str, np.ndarray]
    whole_week: np.ndarray
    first_in_range: np.ndarray
    days_in_range: np.ndarray
    ever: Mapping[str, np.ndarray]
    dose_changes: np.ndarray
    dose_changed: np.ndarray

    def __add__(self, other: OverTimeLevel) -> OverTimeLevel:
        return OverTimeLevel(
            n=self.n + other.n,
            daily={name: value + other.daily[name] for name, value in self.daily.items()},
            whole_week=self.whole_week + other.whole_week,
            first_in_range=self.first_in_range + other.first_in_range,
            days_in_range=self.days_in_range + other.days_in_range,
            ever={name: value + other.ever[name] for name, value in self.ever.items()},
            dose_changes=self.dose_changes + other.dose_changes,
            dose_changed=self.dose_changed + other.dose_changed,
        )


@dataclass(frozen=True, slots=True)
class OverTimeCounts:
    """What the reducer keeps of some chunks: ``regimens``, the evaluated ``days``, the
    ``weeks`` they fall in (week number per day), the variable's ``long_name``/``units``,
    ``n_subjects``, per grouping level -> :class:`OverTimeLevel`, subjects per target, and the
    realised dose (``doses`` per regimen, day and dose, and ``dose_varies`` (R,) subjects whose dose
    is not the same on every evaluated day; None when the Dataset has no realised dose)."""

    regimens: np.ndarray
    days: np.ndarray
    long_name: str
    units: str
    n_subjects: int
    groups: tuple[Mapping[Level, OverTimeLevel], ...]
    targets: Mapping[TargetKey, int]
    doses: DoseCounts | None
    dose_varies: np.ndarray | None
    has_dose_changes: bool

    @property
    def weeks(self) -> np.ndarray:
        """Week of treatment of each evaluated day (days 1-7: week 1)."""
        return (self.days - 1) // DAYS_PER_WEEK + 1

    def __add__(self, other: OverTimeCounts) -> OverTimeCounts:
        """These chunks and ``other``'s (exact integer sums)."""
        check_same_regimens(self.regimens, other.regimens)
        if not np.array_equal(self.days, other.days):
            raise ValueError("chunks disagree on the evaluated days: a pksim bug")
        if (self.doses is None) != (other.doses is None) or (
            self.has_dose_changes != other.has_dose_changes
        ):
            raise ValueError("chunks disagree on whether they hold realised doses: a pksim bug")
        dosed = self.doses is not None
        return OverTimeCounts(
            regimens=self.regimens,
            days=self.days,
            long_name=self.long_name,
            units=self.units,
            n_subjects=self.n_subjects + other.n_subjects,
            groups=merge_groups(self.groups, other.groups),
            targets=merge_targets(self.targets, other.targets),
            doses=self.doses + other.doses if dosed else None,
            dose_varies=self.dose_varies + other.dose_varies if dosed else None,
            has_dose_changes=self.has_dose_changes,
        )


@dataclass(frozen=True, slots=True)
class OverTimeReducer:
    """The :class:`~pksim.engine.run.ChunkReducer` of attainment over time for one spec."""

    spec: OverTimeSpec

    @property
    def outputs(self) -> Outputs:
        return trough_outputs(self.spec)

    def reduce(self, chunk: xr.Dataset) -> OverTimeCounts:
        """Counts of the subjects of ``chunk`` (see the module doc)."""
        spec = self.spec
        array = troughs(chunk, spec.variable).sel(day=slice(spec.first_day, spec.last_day))
        values = np.asarray(array.values, dtype=np.float64)
        days = np.asarray(array["day"].values, dtype=np.int64)
        n_regimens, n_subjects, n_days = values.shape
        lower, upper = _targets(chunk, spec.target, n_subjects)
        values, _ = judged_values(chunk, spec, values)
        lo, hi = lower[None, :, None], upper[None, :, None]
        daily = {
            "in_range": in_range(values, lo, hi),
            "below": values < lo,
            "above": values > hi,
        }
        hits = daily["in_range"]
        weeks = (days - 1) // DAYS_PER_WEEK + 1
        whole_week = np.stack([hits[:, :, weeks == w].all(axis=2) for w in np.unique(weeks)], 2)
        reached = hits.any(axis=2)
        per_subject = {
            "first_in_range": np.where(reached, hits.argmax(axis=2), n_days),
            "days_in_range": hits.sum(axis=2),
        }
        ever = {
            "ever_above": (values > spec.above_ng_per_ml).any(axis=2),
            "ever_below": (values < spec.below_ng_per_ml).any(axis=2),
        }
        changes = _dose_changes(chunk, n_regimens, n_subjects)
        groups = []
        for grouping in spec.groupings:
            local, found = level_codes(chunk, grouping)
            order = np.argsort(local, kind="stable")
            sizes = np.bincount(local, minlength=len(found))
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            sums = {
                "n": np.broadcast_to(sizes, (n_regimens, len(found))),
                **{name: _by_level(flag, order, starts) for name, flag in daily.items()},
                "whole_week": _by_level(whole_week, order, starts),
                **{name: _by_level(flag, order, starts) for name, flag in ever.items()},
                "dose_changes": _by_level(changes, order, starts),
                "dose_changed": _by_level(changes > 0, order, starts),
            }
            histograms = {
                name: _histograms(value, local, len(found), n_days + 1)
                for name, value in per_subject.items()
            }
            groups.append(
                {
                    level: OverTimeLevel(
                        n=sums["n"][:, j].copy(),
                        daily={name: sums[name][:, j] for name in DAILY_CLASSES},
                        whole_week=sums["whole_week"][:, j],
                        first_in_range=histograms["first_in_range"][:, j],
                        days_in_range=histograms["days_in_range"][:, j],
                        ever={name: sums[name][:, j] for name in EVER_CLASSES},
                        dose_changes=sums["dose_changes"][:, j],
                        dose_changed=sums["dose_changed"][:, j],
                    )
                    for j, level in enumerate(found)
                }
            )
        renal = chunk.get(contract.RENAL_IMPAIRMENT)
        doses, dose_varies = _realised_doses(chunk, days, values.shape)
        return OverTimeCounts(
            regimens=np.asarray(array["regimen"].values),
            days=days,
            long_name=str(array.attrs.get("long_name", spec.variable)),
            units=str(array.attrs.get("units", "ng/mL")),
            n_subjects=n_subjects,
            groups=tuple(groups),
            targets=target_counts(lower, upper, None if renal is None else renal.values),
            doses=doses,
            dose_varies=dose_varies,
            has_dose_changes=contract.DOSE_CHANGES in chunk.data_vars,
        )

    def merge(self, total: OverTimeCounts, part: OverTimeCounts) -> OverTimeCounts:
        return total + part


def _by_level(values: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(R, N, ...) flags or counts summed per level -> (R, L, ...) int64 (exact): subjects
    taken in level ``order``, level l starting at ``starts[l]`` (every level has subjects)."""
    return np.add.reduceat(values[:, order], starts, axis=1, dtype=np.int64)


def _histograms(values: np.ndarray, codes: np.ndarray, n_levels: int, size: int) -> np.ndarray:
    """(R, N) integers in [0, size) -> (R, L, size) counts per regimen and level."""
    n_regimens = values.shape[0]
    keys = (np.arange(n_regimens)[:, None] * n_levels + codes[None, :]) * size + values
    counts = np.bincount(keys.ravel(), minlength=n_regimens * n_levels * size)
    return counts.reshape(n_regimens, n_levels, size)


def _dose_changes(chunk: xr.Dataset, n_regimens: int, n_subjects: int) -> np.ndarray:
    """(R, N) dose changes of each subject (zeros without :data:`~pksim.contract.DOSE_CHANGES`)."""
    if contract.DOSE_CHANGES not in chunk.data_vars:
        return np.zeros((n_regimens, n_subjects), dtype=np.int64)
    array = chunk[contract.DOSE_CHANGES]
    if set(array.dims) != {"regimen", "subject"}:
        raise ValueError(
            f"{contract.DOSE_CHANGES} must have dims ('regimen', 'subject'), got {array.dims}"
        )
    values = np.asarray(array.transpose("regimen", "subject").values)
    if values.dtype.kind not in "iu" or np.any(values < 0):
        raise ValueError(f"{contract.DOSE_CHANGES} must hold whole numbers >= 0")
    return values.astype(np.int64)


def _realised_doses(
    chunk: xr.Dataset, days: np.ndarray, shape: tuple[int, ...]
) -> tuple[DoseCounts | None, np.ndarray | None]:
    """The realised daily doses of the evaluated days as :class:`DoseCounts`, and per regimen
    the subjects whose dose varies (None, None without them)."""
    name = contract.REALISED_DAILY_DOSE
    if name not in chunk.data_vars:
        return None, None
    array = chunk[name]
    if set(array.dims) != set(contract.TROUGH_DIMS):
        raise ValueError(f"{name} must have dims {contract.TROUGH_DIMS}, got {array.dims}")
    held = {int(d) for d in np.atleast_1d(array["day"].values)}
    missing = [int(d) for d in days if int(d) not in held]
    if missing:
        raise ValueError(f"{name} lacks the evaluated days {missing}")
    doses = np.asarray(
        array.transpose(*contract.TROUGH_DIMS).sel(day=days).values, dtype=np.float64
    )
    if doses.shape != shape or not np.all(np.isfinite(doses) & (doses >= 0.0)):
        raise ValueError(f"{name} must hold finite doses >= 0 mg/day for every trough")
    varies = np.any(doses != doses[:, :, :1], axis=2).sum(axis=1).astype(np.int64)
    return DoseCounts.of(doses), varies
