"""The one attainment reducer: a result Dataset (a chunk of a run, or a whole run) -> counts that
merge across chunks.

Per regimen and subgroup level it keeps exact integer counts (subjects, in range, below, above,
below the LLOQ) and, for the percentiles, either a :data:`~pksim.results.percentiles.TABLE_BINS`
histogram (memory independent of the cohort size) or the evaluated values themselves (exact).
``pksim.target_attainment`` feeds it a whole Dataset as one chunk; ``pksim.summarize`` and
``pksim run`` feed it every chunk of a run as it is simulated. The counts of two chunks add up
to those of the two together, so every path gives the same table.

Classification (on the days ``first_day``..``last_day`` of the spec): a subject is *in range*
when ``lower <= trough <= upper`` (limits inclusive) on every day, *below* when
``trough < lower`` on any day and *above* when ``trough > upper`` on any day (on one day the
three partition the subjects). Measured values flagged below the LLOQ count as 0 ng/mL and as
-inf for percentiles (a percentile touching them is NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from pksim import contract
from pksim.engine.run import Outputs
from pksim.library.targets import in_range
from pksim.results.percentiles import TABLE_BINS
from pksim.results.spec import AttainmentSpec

__all__ = [
    "AttainmentCounts",
    "AttainmentReducer",
    "LevelCounts",
    "attainment_flags",
    "check_result_dataset",
    "check_same_regimens",
    "judged_values",
    "level_codes",
    "merge_groups",
    "merge_targets",
    "python_scalar",
    "target_counts",
    "trough_outputs",
    "troughs",
]

CLASSES = ("pct_in_range", "pct_below", "pct_above")
"""Classifications counted for every table (column names of the percentages)."""
BELOW_LLOQ_CLASS = "pct_below_lloq"
"""Classification counted for measured troughs: below the LLOQ on any evaluated day."""

Level = tuple[Any, ...]
TargetKey = tuple[float, float, bool | None]
"""(lower, upper, renal-impaired or None when the chunk has no renal_impairment coordinate)."""


@dataclass(frozen=True, slots=True)
class LevelCounts:
    """Counts of one subgroup level, arrays over regimens: ``n`` subjects, ``hits`` per
    classification, ``histogram`` (regimen, bin) of the evaluated values (histogram mode)."""

    n: np.ndarray
    hits: Mapping[str, np.ndarray]
    histogram: np.ndarray | None

    def __add__(self, other: LevelCounts) -> LevelCounts:
        return LevelCounts(
            n=self.n + other.n,
            hits={name: value + other.hits[name] for name, value in self.hits.items()},
            histogram=None if self.histogram is None else self.histogram + other.histogram,
        )


@dataclass(frozen=True, slots=True)
class AttainmentCounts:
    """What the reducer keeps of some chunks.

    ``groups``: per grouping of the spec, level tuple -> :class:`LevelCounts`; ``targets``:
    subjects per (lower, upper, renal-impaired) target; in exact mode ``values`` (one
    (regimen, subject, day) array per chunk, -inf below the LLOQ) and ``codes`` (per chunk, per
    grouping: each subject's level index and the levels). ``regimens``, ``long_name`` and
    ``units`` describe the variable judged.
    """

    regimens: np.ndarray
    long_name: str
    units: str
    n_subjects: int
    groups: tuple[Mapping[Level, LevelCounts], ...]
    targets: Mapping[TargetKey, int]
    values: tuple[np.ndarray, ...] = ()
    codes: tuple[tuple[tuple[np.ndarray, tuple[Level, ...]], ...], ...] = ()

    def __add__(self, other: AttainmentCounts) -> AttainmentCounts:
        """These chunks and ``other``'s, in that subject order (exact integer sums)."""
        check_same_regimens(self.regimens, other.regimens)
        return AttainmentCounts(
            regimens=self.regimens,
            long_name=self.long_name,
            units=self.units,
            n_subjects=self.n_subjects + other.n_subjects,
            groups=merge_groups(self.groups, other.groups),
            targets=merge_targets(self.targets, other.targets),
            values=self.values + other.values,
            codes=self.codes + other.codes,
        )


@dataclass(frozen=True, slots=True)
class AttainmentReducer:
    """The :class:`~pksim.engine.run.ChunkReducer` of attainment tables for one spec."""

    spec: AttainmentSpec

    @property
    def outputs(self) -> Outputs:
        return trough_outputs(self.spec)

    def reduce(self, chunk: xr.Dataset) -> AttainmentCounts:
        """Counts (and histograms or values) of the subjects of ``chunk``."""
        spec = self.spec
        array = troughs(chunk, spec.variable)
        values = array.sel(day=slice(spec.first_day, spec.last_day)).values
        n_regimens, n_subjects, _ = values.shape
        lower, upper = _targets(chunk, spec.target, n_subjects)
        values, blq = judged_values(chunk, spec, values)
        quantified = values
        flags: dict[str, np.ndarray] = {}
        if blq is not None:
            quantified = np.where(blq, -np.inf, values)
            flags[BELOW_LLOQ_CLASS] = np.any(blq, axis=2)
        flags = attainment_flags(values, lower, upper) | flags
        bins = TABLE_BINS.index(quantified) if spec.percentiles == "histogram" else None

        groups, codes = [], []
        for grouping in spec.groupings:
            local, found = level_codes(chunk, grouping)
            groups.append(_count(local, found, n_regimens, flags, bins))
            codes.append((local, found))
        renal = chunk.get(contract.RENAL_IMPAIRMENT)
        exact = spec.percentiles == "exact"
        return AttainmentCounts(
            regimens=np.asarray(array["regimen"].values),
            long_name=str(array.attrs.get("long_name", spec.variable)),
            units=str(array.attrs.get("units", "ng/mL")),
            n_subjects=n_subjects,
            groups=tuple(groups),
            targets=target_counts(lower, upper, None if renal is None else renal.values),
            values=(quantified,) if exact else (),
            codes=(tuple(codes),) if exact else (),
        )

    def merge(self, total: AttainmentCounts, part: AttainmentCounts) -> AttainmentCounts:
        return total + part


def troughs(ds: xr.Dataset, variable: str) -> xr.DataArray:
    """``ds[variable]`` as (regimen, subject, day), or a ValueError saying what is missing."""
    if variable not in ds.data_vars:
        present = sorted(str(v) for v in ds.data_vars)
        hint = (
            " (measured troughs are simulated when the scenario says [output] measured = true)"
            if variable == contract.MEASURED
            else ""
        )
        raise ValueError(
            f"dataset has no variable {variable!r}{hint}; variables present: {present}"
        )
    array = ds[variable]
    if set(array.dims) != set(contract.TROUGH_DIMS):
        raise ValueError(
            f"{variable} must have dims {contract.TROUGH_DIMS}, got "
            f"{tuple(str(d) for d in array.dims)}"
        )
    return array.transpose(*contract.TROUGH_DIMS)


def attainment_flags(
    values: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> dict[str, np.ndarray]:
    """Per :data:`CLASSES`, the (regimen, subject) flags of the (regimen, subject, day)
    ``values`` against each subject's ``lower``/``upper`` target: in range on every day, below
    on any day, above on any day."""
    lo, hi = lower[None, :, None], upper[None, :, None]
    return {
        "pct_in_range": np.all(in_range(values, lo, hi), axis=2),
        "pct_below": np.any(values < lo, axis=2),
        "pct_above": np.any(values > hi, axis=2),
    }


def check_result_dataset(ds: Any, measured: Any) -> None:
    """A ValueError unless ``ds`` is a Dataset holding the variable judged (``measured``
    troughs or true ones), so that a missing variable is named before any other argument
    (a ``measured`` that is not a bool is left to the spec's checks)."""
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if isinstance(measured, bool):
        troughs(ds, contract.MEASURED if measured else contract.TROUGH)


def level_codes(ds: xr.Dataset, names: Sequence[str]) -> tuple[np.ndarray, tuple[Level, ...]]:
    """Each subject's index into the level tuples over the coordinates ``names`` present in
    ``ds`` (in order of first appearance), and those tuples (Python scalars)."""
    n = ds.sizes["subject"]
    if not names:
        return np.zeros(n, dtype=np.int64), ((),)
    combined = np.zeros(n, dtype=np.int64)
    uniques = []
    for name in names:
        codes, found = pd.factorize(np.asarray(ds[name].values), use_na_sentinel=True)
        if np.any(codes < 0):
            raise ValueError(f"by: coordinate {name!r} has missing values; fill them first")
        combined = combined * len(found) + codes
        uniques.append([python_scalar(value) for value in found])
    present, local = np.unique(combined, return_inverse=True)
    positions = np.unravel_index(present, [len(u) for u in uniques])
    levels = tuple(
        tuple(u[i] for u, i in zip(uniques, index, strict=True))
        for index in zip(*positions, strict=True)
    )
    return local.reshape(-1).astype(np.int64), levels


def python_scalar(value: Any) -> Any:
    """A NumPy scalar as the Python value (``np.str_("x")`` -> ``"x"``)."""
    return value.item() if isinstance(value, np.generic) else value


def _count(
    codes: np.ndarray,
    levels: tuple[Level, ...],
    n_regimens: int,
    flags: Mapping[str, np.ndarray],
    bins: np.ndarray | None,
) -> dict[Level, LevelCounts]:
    n_levels = len(levels)
    keys = np.arange(n_regimens)[:, None] * n_levels + codes[None, :]  # (regimen, subject)
    size = n_regimens * n_levels
    flat = keys.ravel()
    n = np.bincount(flat, minlength=size).reshape(n_regimens, n_levels)
    hits = {
        name: np.bincount(flat[flag.ravel()], minlength=size).reshape(n_regimens, n_levels)
        for name, flag in flags.items()
    }
    histogram = None
    if bins is not None:
        binned = (keys[:, :, None] * TABLE_BINS.size + bins).ravel()
        histogram = np.bincount(binned, minlength=size * TABLE_BINS.size).reshape(
            n_regimens, n_levels, TABLE_BINS.size
        )
    return {
        level: LevelCounts(
            n=n[:, j].copy(),
            hits={name: value[:, j].copy() for name, value in hits.items()},
            histogram=None if histogram is None else histogram[:, j].copy(),
        )
        for j, level in enumerate(levels)
    }


def _targets(
    ds: xr.Dataset, target: tuple[float, float] | None, n_subjects: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each subject's (lower, upper) target in ng/mL: the override, else the Dataset's."""
    if target is not None:
        return np.full(n_subjects, target[0]), np.full(n_subjects, target[1])
    names = (contract.TARGET_LOWER, contract.TARGET_UPPER)
    missing = [name for name in names if name not in ds.variables]
    if missing:
        raise ValueError(
            f"dataset has no {' / '.join(missing)}; pass target=(lower, upper) in ng/mL"
        )
    lower, upper = (
        np.broadcast_to(np.asarray(ds[name].values, dtype=np.float64), (n_subjects,))
        for name in names
    )
    if np.any(~np.isfinite(lower) | (lower < 0)) or np.any(~(upper > lower)):
        raise ValueError(f"{names[0]}/{names[1]} must satisfy 0 <= lower < upper for every subject")
    return lower, upper


def _below_lloq(ds: xr.Dataset, spec: AttainmentSpec, shape: tuple[int, ...]) -> np.ndarray:
    if contract.BELOW_LLOQ not in ds.data_vars:
        return np.zeros(shape, dtype=bool)
    flags = ds[contract.BELOW_LLOQ]
    if set(flags.dims) != set(contract.TROUGH_DIMS):
        raise ValueError(f"{contract.BELOW_LLOQ} must have dims {contract.TROUGH_DIMS}")
    flags = flags.transpose(*contract.TROUGH_DIMS)
    return flags.sel(day=slice(spec.first_day, spec.last_day)).values.astype(bool)


def target_counts(
    lower: np.ndarray, upper: np.ndarray, renal: np.ndarray | None
) -> dict[TargetKey, int]:
    """Subjects per (lower, upper, renal-impaired) target (renal None when unknown)."""
    lows, low_codes = np.unique(lower, return_inverse=True)
    ups, up_codes = np.unique(upper, return_inverse=True)
    flags = np.zeros(lower.shape, np.int64) if renal is None else np.asarray(renal, dtype=bool)
    key = (low_codes.reshape(-1) * ups.size + up_codes.reshape(-1)) * 2 + flags.astype(np.int64)
    counts = np.bincount(key, minlength=2 * lows.size * ups.size)
    out: dict[TargetKey, int] = {}
    for k in np.flatnonzero(counts):
        pair, flag = divmod(int(k), 2)
        renal_flag = None if renal is None else bool(flag)
        out[(float(lows[pair // ups.size]), float(ups[pair % ups.size]), renal_flag)] = int(
            counts[k]
        )
    return out


def trough_outputs(spec: Any) -> Outputs:
    """What a reducer of the troughs of ``spec`` (days, measured, coordinates) needs of a run."""
    return Outputs(
        days=(spec.first_day, spec.last_day),
        measured=spec.measured,
        coordinates=spec.coordinates | {contract.RENAL_IMPAIRMENT},
        profiles=False,
    )


def judged_values(
    chunk: xr.Dataset, spec: Any, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """The (regimen, subject, day) troughs of the span of ``spec`` to judge, measured values
    flagged below the LLOQ as 0 ng/mL, and those flags (None unless ``spec.measured``); a
    ValueError for an unflagged NaN measured value or a non-finite simulated one."""
    if not spec.measured:
        if not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).sum())
            raise ValueError(f"{spec.variable} has {bad} non-finite values")
        return values, None
    blq = _below_lloq(chunk, spec, values.shape)
    unflagged = np.isnan(values) & ~blq
    if unflagged.any():
        raise ValueError(
            f"{contract.MEASURED} has {int(unflagged.sum())} NaN values not flagged in "
            f"{contract.BELOW_LLOQ}"
        )
    return np.where(blq, 0.0, values), blq


def check_same_regimens(mine: np.ndarray, theirs: np.ndarray) -> None:
    """A ValueError unless two chunks' counts are of the same regimens, in the same order."""
    if list(mine) != list(theirs):
        raise ValueError(f"chunks disagree on the regimens: {list(mine)} and {list(theirs)}")


def merge_groups(
    mine: Sequence[Mapping[Level, Any]], theirs: Sequence[Mapping[Level, Any]]
) -> tuple[dict[Level, Any], ...]:
    """Per grouping, the counts of every level of two chunks added (a level of one alone kept)."""
    groups = []
    for ours, others in zip(mine, theirs, strict=True):
        merged = dict(ours)
        for level, counts in others.items():
            merged[level] = merged[level] + counts if level in merged else counts
        groups.append(merged)
    return tuple(groups)


def merge_targets(
    mine: Mapping[TargetKey, int], theirs: Mapping[TargetKey, int]
) -> dict[TargetKey, int]:
    """Subjects per target of two chunks added."""
    targets = dict(mine)
    for key, count in theirs.items():
        targets[key] = targets.get(key, 0) + count
    return targets
