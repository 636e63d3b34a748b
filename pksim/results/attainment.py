"""Target attainment over a result Dataset: trough percentiles and PTA by regimen and subgroup.

Works on the output contract of ``pksim.run`` only (variable names, dims, attrs), never on
simulator internals. Concentrations are in ng/mL.

Definitions used throughout:

- a trough is *in range* when ``lower <= trough <= upper`` (both limits inclusive), *below*
  when ``trough < lower`` and *above* when ``trough > upper``;
- the target is per subject (``target_lower``/``target_upper``: renal-impaired subjects have a
  lower ceiling), unless the caller overrides it;
- percentiles use linear interpolation between order statistics (numpy's default ``linear``
  method, Hyndman & Fan type 7);
- the confidence interval of the attainment estimate is the Wilson score interval, which
  quantifies the Monte-Carlo error of the simulated proportion.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from pksim.library.targets import in_range

__all__ = [
    "CONFIDENCE",
    "PERCENTILES",
    "format_attainment",
    "format_range",
    "target_attainment",
    "wilson_interval",
]

PERCENTILES: dict[str, float] = {"median": 50.0, "p5": 5.0, "p25": 25.0, "p75": 75.0, "p95": 95.0}
"""Reported trough percentiles: column name -> percentile (0-100)."""

CONFIDENCE = 0.95
"""Confidence level of the attainment interval."""

TROUGH = "trough"
MEASURED = "trough_measured"
BELOW_LLOQ = "below_lloq"
LOWER, UPPER = "target_lower", "target_upper"
TROUGH_DIMS = ("regimen", "subject", "day")

_SMALL_KEY_LIMIT = np.iinfo(np.int16).max  # group keys fit int16: numpy's radix sort applies
_COMPARISON_RANK = {"<": 0, "≤": 0, "<=": 0, ">": 2, "≥": 2, ">=": 2}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_REFERENCE_LEVEL = "none"
EN_DASH = "\N{EN DASH}"


def wilson_interval(
    successes: Any, n: Any, *, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (Wilson 1927; Newcombe 1998, method 3).

    ``successes`` and ``n`` are counts (array-like, broadcast together). Returns ``(low, high)``
    as proportions in [0, 1]; NaN where ``n == 0``. No continuity correction.
    """
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    k = np.asarray(successes, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    if np.any(~np.isfinite(k)) or np.any(~np.isfinite(total)):
        raise ValueError("successes and n must be finite counts")
    if np.any(total < 0) or np.any(k < 0) or np.any(k > total):
        raise ValueError("need 0 <= successes <= n for every pair")
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / total
        z2n = z * z / total
        centre = (p + z2n / 2.0) / (1.0 + z2n)
        half = z / (1.0 + z2n) * np.sqrt(p * (1.0 - p) / total + z2n / (4.0 * total))
    low = np.where(total > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(total > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def target_attainment(
    ds: xr.Dataset,
    *,
    by: str | Sequence[str] = ("regimen",),
    day: int | None = None,
    window: tuple[int, int] | None = None,
    measured: bool = False,
    target: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Probability of target attainment and trough percentiles, one row per group.

    Parameters
    ----------
    ds
        A result Dataset (``pksim.run``): ``trough`` (regimen, subject, day) in ng/mL,
        per-subject ``target_lower``/``target_upper`` and subgroup coordinates on ``subject``.
    by
        Grouping: ``"regimen"`` (always the first grouping, whether named or not) and any
        categorical coordinate on ``subject``, e.g. ``("regimen", "cyp3a5")``.
    day
        Day evaluated (default: the last day). Exclusive with ``window``.
    window
        ``(first_day, last_day)``, inclusive: a subject is in range when the trough is in range
        on *every* day of the window, below when it is under the lower limit on *any* day, above
        when it is over the upper limit on any day (so below and above may overlap and the three
        need not sum to 100 %). Percentiles are then over all subject-days of the window.
    measured
        Use ``trough_measured`` (with residual error) instead of the true ``trough``. Values
        flagged ``below_lloq`` count as 0 ng/mL for classification; a percentile that falls on
        them is NaN (unknown, under the LLOQ); column ``pct_below_lloq`` is added.
    target
        ``(lower, upper)`` in ng/mL overriding the per-subject targets for everyone.

    Returns
    -------
    pandas.DataFrame
        Columns: ``regimen``, the subgroups, ``n`` (subjects), ``median``, ``p5``, ``p25``,
        ``p75``, ``p95`` (ng/mL), ``pct_in_range``, ``pct_below``, ``pct_above`` (percent of
        subjects), ``pct_in_range_ci_low``/``_high`` (Wilson score 95 % interval of the
        attainment, percent), ``first_day``, ``last_day`` (equal for a single day). Regimens keep
        their Dataset order; subgroup levels are ordered ``"none"`` first, then by the first
        number in the label (``"< 60 kg"`` before ``"≥ 60 kg"``), then alphabetically.
        ``DataFrame.attrs`` holds ``variable``, ``units``, ``target``, ``first_day``,
        ``last_day``, ``window`` and ``confidence``.
    """
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if not isinstance(measured, bool):
        raise ValueError(f"measured must be True or False, got {measured!r}")
    variable = MEASURED if measured else TROUGH
    troughs = _trough_array(ds, variable)
    subgroups = _subgroups(ds, by)
    first, last = _evaluated_days(ds, day, window)
    values = troughs.sel(day=slice(first, last)).values  # (regimen, subject, days)
    lower, upper, target_text = _targets(ds, target, troughs.sizes["subject"])

    quantified = values
    blq = None
    if measured:
        blq = _below_lloq(ds, first, last)
        bad = np.isnan(values) & ~blq
        if np.any(bad):
            raise ValueError(
                f"{MEASURED} has {int(bad.sum())} NaN values not flagged in {BELOW_LLOQ}"
            )
        values = np.where(blq, 0.0, values)
        quantified = np.where(blq, -np.inf, values)
    elif not np.all(np.isfinite(values)):
        raise ValueError(f"{TROUGH} has {int((~np.isfinite(values)).sum())} non-finite values")

    codes, levels = _group_codes(ds, subgroups)
    n_groups = max(1, math.prod(len(level) for level in levels))
    n_regimens, n_subjects, n_days = values.shape
    keys = np.arange(n_regimens)[:, None] * n_groups + codes[None, :]  # (regimen, subject)
    n_keys = n_regimens * n_groups

    lo, hi = lower[None, :, None], upper[None, :, None]
    counts = {
        "pct_in_range": np.all(in_range(values, lo, hi), axis=2),
        "pct_below": np.any(values < lo, axis=2),
        "pct_above": np.any(values > hi, axis=2),
    }
    if blq is not None:
        counts["pct_below_lloq"] = np.any(blq, axis=2)
    n = np.bincount(keys.ravel(), minlength=n_keys)
    hits = {
        name: np.bincount(keys.ravel(), weights=flag.ravel(), minlength=n_keys)
        for name, flag in counts.items()
    }
    percentiles = grouped_percentiles(
        np.broadcast_to(keys[:, :, None], values.shape).ravel(), quantified.ravel(), n_keys
    )

    present = np.flatnonzero(n > 0)
    ci_low, ci_high = wilson_interval(hits["pct_in_range"][present], n[present])
    columns: dict[str, Any] = {
        "regimen": np.asarray(troughs["regimen"].values)[present // n_groups],
    }
    if subgroups:
        unravelled = np.unravel_index(present % n_groups, [len(level) for level in levels])
        for name, level, index in zip(subgroups, levels, unravelled, strict=True):
            columns[name] = pd.Series(level).take(index).to_numpy()
    columns["n"] = n[present]
    for name in PERCENTILES:
        columns[name] = percentiles[name][present]
    for name in ("pct_in_range", "pct_below", "pct_above"):
        columns[name] = 100.0 * hits[name][present] / n[present]
    columns["pct_in_range_ci_low"] = 100.0 * ci_low
    columns["pct_in_range_ci_high"] = 100.0 * ci_high
    if blq is not None:
        columns["pct_below_lloq"] = 100.0 * hits["pct_below_lloq"][present] / n[present]
    columns["first_day"] = np.full(present.size, first)
    columns["last_day"] = np.full(present.size, last)
    table = pd.DataFrame(columns)
    table.attrs.update(
        {
            "variable": variable,
            "long_name": str(troughs.attrs.get("long_name", variable)),
            "units": str(troughs.attrs.get("units", "ng/mL")),
            "target": target_text,
            "first_day": first,
            "last_day": last,
            "window": window is not None,
            "confidence": CONFIDENCE,
            "subjects": n_subjects,
            "days_evaluated": n_days,
        }
    )
    return table


def format_attainment(table: pd.DataFrame) -> str:
    """A fixed-width text rendering of a :func:`target_attainment` table for the terminal."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    required = ["regimen", "n", *PERCENTILES, "pct_in_range", "pct_below", "pct_above"]
    required += ["pct_in_range_ci_low", "pct_in_range_ci_high", "first_day", "last_day"]
    missing = [name for name in required if name not in table.columns]
    if missing:
        raise ValueError(
            f"table lacks columns {missing}; pass the DataFrame returned by target_attainment"
        )
    known = {*required, "pct_below_lloq"}
    subgroups = [c for c in table.columns if c not in known]
    with_lloq = "pct_below_lloq" in table.columns
    confidence = table.attrs.get("confidence", CONFIDENCE)

    header = ["regimen", *subgroups, "n", "median", "p5", "p25", "p75", "p95"]
    header += ["in range %", f"{100 * confidence:g}% CI", "below %", "above %"]
    header += ["< LLOQ %"] if with_lloq else []
    rows = []
    for record in table.to_dict("records"):
        row = [str(record["regimen"]), *(_level_text(record[name]) for name in subgroups)]
        row.append(f"{int(record['n'])}")
        row += [_concentration_text(record[name]) for name in PERCENTILES]
        row.append(f"{record['pct_in_range']:.1f}")
        row.append(
            f"{record['pct_in_range_ci_low']:.1f}{EN_DASH}{record['pct_in_range_ci_high']:.1f}"
        )
        row += [f"{record['pct_below']:.1f}", f"{record['pct_above']:.1f}"]
        row += [f"{record['pct_below_lloq']:.1f}"] if with_lloq else []
        rows.append(row)

    text_columns = 1 + len(subgroups)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([*_caption(table), line(header), rule, *map(line, rows)])


def _caption(table: pd.DataFrame) -> list[str]:
    attrs = table.attrs
    if table.empty:
        return ["(no rows)"]
    first, last = int(table["first_day"].iloc[0]), int(table["last_day"].iloc[0])
    name = attrs.get("long_name", "Trough")
    units = attrs.get("units", "ng/mL")
    if attrs.get("window", first != last):
        when = f"in range on every day of days {first}{EN_DASH}{last}"
    else:
        when = f"on day {first}"
    lines = [f"{name} ({units}) {when}"]
    if "target" in attrs:
        lines.append(f"target: {attrs['target']}")
    return lines


def _level_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def _concentration_text(value: float) -> str:
    return "<LLOQ" if math.isnan(value) else f"{value:.2f}"


def _trough_array(ds: xr.Dataset, variable: str) -> xr.DataArray:
    if variable not in ds.data_vars:
        present = sorted(str(v) for v in ds.data_vars)
        raise ValueError(f"dataset has no variable {variable!r}; variables present: {present}")
    array = ds[variable]
    if set(array.dims) != set(TROUGH_DIMS):
        raise ValueError(
            f"{variable} must have dims {TROUGH_DIMS}, got {tuple(str(d) for d in array.dims)}"
        )
    return array.transpose(*TROUGH_DIMS)


def _subject_coordinates(ds: xr.Dataset) -> list[str]:
    return sorted(
        str(name)
        for name, coord in ds.coords.items()
        if coord.dims == ("subject",) and name != "subject"
    )


def _subgroups(ds: xr.Dataset, by: str | Sequence[str]) -> list[str]:
    names = [by] if isinstance(by, str) else by
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"by must be a coordinate name or a sequence of names, got {by!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"by names a grouping twice: {list(names)}")
    available = _subject_coordinates(ds)
    subgroups = [name for name in names if name != "regimen"]
    for name in subgroups:
        if name not in available:
            raise ValueError(_unknown("by", name, ["regimen", *available], "grouping"))
        if ds[name].dtype.kind in "fc":
            raise ValueError(
                f"by: {name!r} is a continuous (float) coordinate; group by a categorical one "
                f"instead, e.g. 'weight_band'. Available: {['regimen', *available]}"
            )
    return subgroups


def _unknown(argument: str, name: Hashable, valid: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(str(name), list(valid), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{argument}: unknown {what} {name!r}{hint} Present in this dataset: {list(valid)}"


def _evaluated_days(
    ds: xr.Dataset, day: int | None, window: tuple[int, int] | None
) -> tuple[int, int]:
    days = np.asarray(ds["day"].values)
    if days.size == 0:
        raise ValueError("dataset has no days")
    first_day, last_day = int(days.min()), int(days.max())
    allowed = f"integers {first_day}..{last_day}"
    if day is not None and window is not None:
        raise ValueError("give either day or window, not both")
    if window is not None:
        if isinstance(window, str | bytes) or not isinstance(window, Sequence) or len(window) != 2:
            raise ValueError(f"window must be (first_day, last_day), got {window!r}")
        first, last = (_day_number("window", value, days, allowed) for value in window)
        if first > last:
            raise ValueError(f"window: first_day ({first}) must be <= last_day ({last})")
        return first, last
    if day is None:
        return last_day, last_day
    chosen = _day_number("day", day, days, allowed)
    return chosen, chosen


def _day_number(argument: str, value: Any, days: np.ndarray, allowed: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{argument} must be a day number ({allowed}), got {value!r}")
    if int(value) not in days:
        raise ValueError(f"{argument}: day {int(value)} is not in the dataset; allowed: {allowed}")
    return int(value)


def _targets(
    ds: xr.Dataset, target: tuple[float, float] | None, n_subjects: int
) -> tuple[np.ndarray, np.ndarray, str]:
    if target is not None:
        if isinstance(target, str | bytes) or not isinstance(target, Sequence) or len(target) != 2:
            raise ValueError(f"target must be (lower, upper) in ng/mL, got {target!r}")
        lower, upper = target
        for name, value in (("lower", lower), ("upper", upper)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"target {name} must be a number in ng/mL, got {value!r}")
        lower, upper = float(lower), float(upper)
        if not (math.isfinite(lower) and lower >= 0.0 and upper > lower):
            raise ValueError(
                f"target must satisfy 0 <= lower < upper (ng/mL, upper may be inf), "
                f"got ({lower}, {upper})"
            )
        return (
            np.full(n_subjects, lower),
            np.full(n_subjects, upper),
            f"{format_range(lower, upper)} ng/mL (override)",
        )
    missing = [name for name in (LOWER, UPPER) if name not in ds.variables]
    if missing:
        raise ValueError(
            f"dataset has no {' / '.join(missing)}; pass target=(lower, upper) in ng/mL"
        )
    lower = np.broadcast_to(ds[LOWER].values.astype(np.float64), (n_subjects,))
    upper = np.broadcast_to(ds[UPPER].values.astype(np.float64), (n_subjects,))
    if np.any(~np.isfinite(lower) | (lower < 0)) or np.any(~(upper > lower)):
        raise ValueError(f"{LOWER}/{UPPER} must satisfy 0 <= lower < upper for every subject")
    pairs = pd.DataFrame({"lower": lower, "upper": upper}).value_counts().sort_index()
    ranges = [f"{format_range(a, b)} ng/mL" for a, b in pairs.index]
    counts = pairs.to_numpy()
    label = str(ds.attrs.get("target_label", ""))
    if len(ranges) == 1:
        text = label or ranges[0]
    else:
        detail = ", ".join(f"{r} (n={c})" for r, c in zip(ranges, counts, strict=True))
        text = f"{label}; per subject: {detail}" if label else f"per subject: {detail}"
    return lower, upper, text


def format_range(lower: float, upper: float) -> str:
    """Target range text without units: "6<en dash>10", "≤ 4" (lower 0), "≥ 5" (no upper)."""
    if lower == 0.0:
        return f"≤ {upper:g}"
    if math.isinf(upper):
        return f"≥ {lower:g}"
    return f"{lower:g}{EN_DASH}{upper:g}"


def _below_lloq(ds: xr.Dataset, first: int, last: int) -> np.ndarray:
    if BELOW_LLOQ not in ds.data_vars:
        return np.zeros((ds.sizes["regimen"], ds.sizes["subject"], last - first + 1), dtype=bool)
    flags = ds[BELOW_LLOQ]
    if set(flags.dims) != set(TROUGH_DIMS):
        raise ValueError(f"{BELOW_LLOQ} must have dims {TROUGH_DIMS}")
    return flags.transpose(*TROUGH_DIMS).sel(day=slice(first, last)).values.astype(bool)


def level_key(value: Any) -> tuple:
    """Display order of subgroup levels: "none" first, then by first number, then by label."""
    text = str(value)
    number = _NUMBER.search(text)
    prefix = text.strip().split(" ")[0] if text.strip() else ""
    return (
        text != _REFERENCE_LEVEL,
        float(number.group()) if number else math.inf,
        _COMPARISON_RANK.get(prefix, 1),
        text,
    )


def _group_codes(ds: xr.Dataset, subgroups: list[str]) -> tuple[np.ndarray, list[list[Any]]]:
    """Combined integer code per subject over the subgroup coordinates, and each one's levels."""
    n_subjects = ds.sizes["subject"]
    combined = np.zeros(n_subjects, dtype=np.int64)
    levels: list[list[Any]] = []
    for name in subgroups:
        values = ds[name].values
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if np.any(codes < 0):
            raise ValueError(f"by: coordinate {name!r} has missing values; fill them first")
        uniques = list(np.asarray(uniques, dtype=object))
        order = sorted(range(len(uniques)), key=lambda i: level_key(uniques[i]))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        combined = combined * len(order) + rank[codes]
        levels.append([python_scalar(uniques[i]) for i in order])
    return combined, levels


def python_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def grouped_percentiles(keys: np.ndarray, values: np.ndarray, n_keys: int) -> dict:
    """Percentiles of ``values`` within each key (0..n_keys-1), numpy's ``linear`` method.

    Values are grouped by a stable (radix) sort on the key, then each group needs only the
    order statistics around each percentile, found with ``np.partition`` in linear time.
    Non-finite results (a percentile touching a -inf, i.e. below-LLOQ, value) become NaN.
    """
    key_type = np.int16 if n_keys <= _SMALL_KEY_LIMIT else np.int64
    grouped = values[np.argsort(keys.astype(key_type), kind="stable")]
    counts = np.bincount(keys, minlength=n_keys)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    result = {name: np.full(n_keys, np.nan) for name in PERCENTILES}
    for key in np.flatnonzero(counts):
        count = int(counts[key])
        segment = grouped[starts[key] : starts[key] + count]
        positions = {name: (count - 1) * (q / 100.0) for name, q in PERCENTILES.items()}
        below = {name: math.floor(p) for name, p in positions.items()}
        above = {name: min(b + 1, count - 1) for name, b in below.items()}
        part = np.partition(segment, sorted({*below.values(), *above.values()}))
        for name, position in positions.items():
            a, b = float(part[below[name]]), float(part[above[name]])
            fraction = position - below[name]
            value = _lerp(a, b, fraction)
            result[name][key] = value if math.isfinite(value) else math.nan
    return result


def _lerp(a: float, b: float, fraction: float) -> float:
    """Linear interpolation written as numpy's ``_lerp`` (same branches, same rounding)."""
    if math.isinf(a) or math.isinf(b):
        return math.nan
    difference = b - a
    return b - difference * (1.0 - fraction) if fraction >= 0.5 else a + difference * fraction
