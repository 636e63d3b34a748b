"""Attainment tables from the reducer's counts, their target text, and their text renderings.

One assembly for every path (``target_attainment``, ``summarize``, ``pksim run``): one row per
regimen and subgroup level with subjects, trough percentiles, the percentages in range, below
and above, and the Wilson interval of the attainment. Regimens keep their run order; subgroup
levels are ordered ``"none"`` first, then by the first number in the label (``"< 60 kg"``
before ``"≥ 60 kg"``), then alphabetically.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pksim.results.percentiles import (
    CONFIDENCE,
    EXACT_TEXT,
    PERCENTILES,
    TABLE_BINS,
    grouped_percentiles,
    wilson_interval,
)
from pksim.results.reducer import BELOW_LLOQ_CLASS, CLASSES, AttainmentCounts, Level, TargetKey
from pksim.results.spec import AttainmentSpec

__all__ = [
    "assemble",
    "format_attainment",
    "format_range",
    "judged_attrs",
    "level_key",
    "level_order",
    "target_text",
    "tidy_summary",
]

EN_DASH = "\N{EN DASH}"
CI_COLUMNS = ("pct_in_range_ci_low", "pct_in_range_ci_high")
DAY_COLUMNS = ("first_day", "last_day")
_COMPARISON_RANK = {"<": 0, "≤": 0, "<=": 0, ">": 2, "≥": 2, ">=": 2}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_REFERENCE_LEVEL = "none"


def assemble(
    spec: AttainmentSpec, counts: AttainmentCounts, *, target_label: str
) -> list[pd.DataFrame]:
    """One table per grouping of ``spec`` from the summed ``counts`` (see the module doc).

    Columns: ``regimen``, the subgroups, ``n``, :data:`PERCENTILES` (ng/mL), ``pct_in_range``,
    ``pct_below``, ``pct_above``, the Wilson interval ``pct_in_range_ci_low``/``_high``,
    ``pct_below_lloq`` for measured troughs, ``first_day``, ``last_day``. ``attrs`` hold the
    variable, its long name and units, the target text and ranges, the days, the confidence,
    the subjects, the days evaluated and how the percentiles were computed.
    """
    exact = spec.percentiles == "exact"
    values = _all_values(counts) if exact else None
    classes = (*CLASSES, BELOW_LLOQ_CLASS) if spec.measured else CLASSES
    attrs = {
        **judged_attrs(spec, counts, target_label),
        "window": spec.window,
        "confidence": CONFIDENCE,
        "subjects": counts.n_subjects,
        "days_evaluated": spec.last_day - spec.first_day + 1,
        "percentiles": EXACT_TEXT if exact else TABLE_BINS.describe(),
    }
    tables = []
    for g, grouping in enumerate(spec.groupings):
        levels = counts.groups[g]
        order = level_order(levels)
        found = _exact_percentiles(values, counts, g, order) if values is not None else None
        rows: dict[str, list] = {"regimen": [], **{name: [] for name in grouping}, "n": []}
        rows |= {name: [] for name in (*PERCENTILES, *classes, "hits")}
        for r, regimen in enumerate(counts.regimens):
            for j, level in enumerate(order):
                group = levels[level]
                n = int(group.n[r])
                if n == 0:
                    continue
                rows["regimen"].append(regimen)
                for name, value in zip(grouping, level, strict=True):
                    rows[name].append(value)
                rows["n"].append(n)
                if found is not None:
                    percentiles = {name: found[name][r * len(order) + j] for name in PERCENTILES}
                else:
                    percentiles = TABLE_BINS.percentiles(group.histogram[r])
                for name in PERCENTILES:
                    rows[name].append(percentiles[name])
                for name in classes:
                    rows[name].append(100.0 * group.hits[name][r] / n)
                rows["hits"].append(group.hits["pct_in_range"][r])
        table = _frame(rows, grouping, classes, spec)
        table.attrs.update(attrs)
        tables.append(table)
    return tables


def judged_attrs(spec: Any, counts: Any, target_label: str) -> dict[str, Any]:
    """The attrs every table of ``spec`` starts with: the variable judged (name, long name,
    units), the target (text and ranges of ``counts``) and the days ``first_day``..``last_day``."""
    return {
        "variable": spec.variable,
        "long_name": counts.long_name,
        "units": counts.units,
        "target": target_text(spec.target, counts.targets, target_label),
        "target_ranges": target_ranges(counts.targets),
        "first_day": spec.first_day,
        "last_day": spec.last_day,
    }


def _frame(
    rows: dict[str, list], grouping: Sequence[str], classes: Sequence[str], spec: AttainmentSpec
) -> pd.DataFrame:
    n = np.asarray(rows["n"], dtype=np.int64)
    ci_low, ci_high = wilson_interval(np.asarray(rows["hits"], dtype=np.int64), n)
    columns: dict[str, Any] = {"regimen": np.asarray(rows["regimen"])}
    for name in grouping:
        columns[name] = pd.Series(rows[name]).to_numpy()
    columns["n"] = n
    for name in (*PERCENTILES, *CLASSES):
        columns[name] = np.asarray(rows[name], dtype=np.float64)
    columns[CI_COLUMNS[0]] = 100.0 * ci_low
    columns[CI_COLUMNS[1]] = 100.0 * ci_high
    for name in classes[len(CLASSES) :]:
        columns[name] = np.asarray(rows[name], dtype=np.float64)
    columns["first_day"] = np.full(n.size, spec.first_day)
    columns["last_day"] = np.full(n.size, spec.last_day)
    return pd.DataFrame(columns)


def _all_values(counts: AttainmentCounts) -> np.ndarray:
    """Every chunk's evaluated values, (regimen, subject, day) (no copy for one chunk)."""
    if len(counts.values) == 1:
        return counts.values[0]
    return np.concatenate(counts.values, axis=1)


def _exact_percentiles(
    values: np.ndarray, counts: AttainmentCounts, grouping: int, order: list[Level]
) -> dict[str, np.ndarray]:
    """Exact percentiles per (regimen, level) key, keys numbered regimen-major in ``order``."""
    index = {level: j for j, level in enumerate(order)}
    codes = np.concatenate(
        [
            np.array([index[level] for level in found], dtype=np.int64)[local]
            for local, found in (chunk[grouping] for chunk in counts.codes)
        ]
    )
    n_regimens = values.shape[0]
    keys = np.arange(n_regimens)[:, None] * len(order) + codes[None, :]
    return grouped_percentiles(
        np.broadcast_to(keys[:, :, None], values.shape).ravel(),
        values.ravel(),
        n_regimens * len(order),
    )


def level_order(levels: Sequence[Level]) -> list[Level]:
    """Display order of level tuples: per coordinate, "none" first, then by the first number
    in the label ("< 60 kg" before "≥ 60 kg"), then by label."""
    return sorted(levels, key=lambda level: tuple(level_key(value) for value in level))


def level_key(value: Any) -> tuple:
    """Sort key of one subgroup level (see :func:`level_order`)."""
    text = str(value)
    number = _NUMBER.search(text)
    prefix = text.strip().split(" ")[0] if text.strip() else ""
    return (
        text != _REFERENCE_LEVEL,
        float(number.group()) if number else math.inf,
        _COMPARISON_RANK.get(prefix, 1),
        text,
    )


# --------------------------------------------------------------------------- targets


def format_range(lower: float, upper: float) -> str:
    """Target range text without units: "6<en dash>10", "≤ 4" (lower 0), "≥ 5" (no upper)."""
    if lower == 0.0:
        return f"≤ {upper:g}"
    if math.isinf(upper):
        return f"≥ {lower:g}"
    return f"{lower:g}{EN_DASH}{upper:g}"


def _pairs(targets: Mapping[TargetKey, int]) -> dict[tuple[float, float], int]:
    pairs: dict[tuple[float, float], int] = {}
    for (lower, upper, _), count in targets.items():
        pairs[(lower, upper)] = pairs.get((lower, upper), 0) + count
    return pairs


def target_text(
    override: tuple[float, float] | None, targets: Mapping[TargetKey, int], label: str
) -> str:
    """The target a table judged: the override, the label when everyone shares one range,
    else the label and every range with its subjects."""
    if override is not None:
        return f"{format_range(*override)} ng/mL (override)"
    pairs = _pairs(targets)
    ordered = sorted(pairs)
    ranges = [f"{format_range(a, b)} ng/mL" for a, b in ordered]
    if len(ranges) == 1:
        return label or ranges[0]
    detail = ", ".join(f"{r} (n={pairs[p]})" for r, p in zip(ranges, ordered, strict=True))
    return f"{label}; per subject: {detail}" if label else f"per subject: {detail}"


def target_ranges(targets: Mapping[TargetKey, int]) -> list[dict[str, Any]]:
    """Every target range judged, most subjects first: ``lower``, ``upper`` (ng/mL),
    ``subjects`` and ``renal_impaired`` (how many of them; None when unknown)."""
    out: dict[tuple[float, float], dict[str, Any]] = {}
    for (lower, upper, renal), count in sorted(targets.items(), key=lambda item: item[0][:2]):
        entry = out.setdefault(
            (lower, upper),
            {"lower": lower, "upper": upper, "subjects": 0, "renal_impaired": None},
        )
        entry["subjects"] += count
        if renal is not None:
            entry["renal_impaired"] = (entry["renal_impaired"] or 0) + (count if renal else 0)
    return sorted(out.values(), key=lambda entry: -entry["subjects"])


# --------------------------------------------------------------------------- text


def format_attainment(table: pd.DataFrame) -> str:
    """A fixed-width text rendering of an attainment table for the terminal."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    required = ["regimen", "n", *PERCENTILES, *CLASSES, *CI_COLUMNS, *DAY_COLUMNS]
    missing = [name for name in required if name not in table.columns]
    if missing:
        raise ValueError(
            f"table lacks columns {missing}; pass the DataFrame returned by target_attainment"
        )
    known = {*required, BELOW_LLOQ_CLASS}
    subgroups = [c for c in table.columns if c not in known]
    with_lloq = BELOW_LLOQ_CLASS in table.columns
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
        row.append(f"{record[CI_COLUMNS[0]]:.1f}{EN_DASH}{record[CI_COLUMNS[1]]:.1f}")
        row += [f"{record['pct_below']:.1f}", f"{record['pct_above']:.1f}"]
        row += [f"{record[BELOW_LLOQ_CLASS]:.1f}"] if with_lloq else []
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
    lines = [f"{name} ({units}) {when_judged(first, last, attrs.get('window', first != last))}"]
    if "target" in attrs:
        lines.append(f"target: {attrs['target']}")
    return lines


def when_judged(first: int, last: int, window: bool) -> str:
    """How a table judged its days: "on day d", or "in range on every day of days a-b"."""
    if window:
        return f"in range on every day of days {first}{EN_DASH}{last}"
    return f"on day {first}"


def _level_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def _concentration_text(value: float) -> str:
    return "<LLOQ" if math.isnan(value) else f"{value:.2f}"


def tidy_summary(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One tidy table (``regimen``, ``subgroup``, ``level``, then the table's columns) from the
    overall table followed by tables split by one subgroup each; a subgroup with a single
    level adds nothing to the overall rows and is left out. The subgroup of a split table is
    its column right after ``regimen``."""
    parts = [tables[0].assign(subgroup="all", level="all")]
    for table in tables[1:]:
        name = str(table.columns[1])
        if table[name].nunique() > 1:
            parts.append(table.rename(columns={name: "level"}).assign(subgroup=name))
    table = pd.concat(parts, ignore_index=True)
    table["level"] = table["level"].astype(str)
    front = ["regimen", "subgroup", "level"]
    return table[front + [c for c in table.columns if c not in front]]
