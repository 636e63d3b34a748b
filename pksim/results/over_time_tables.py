"""Attainment-over-time tables from the reducer's merged counts (one assembly for every path).

:func:`assemble_over_time` turns :class:`~pksim.results.over_time.OverTimeCounts` into an
:class:`AttainmentOverTime` per grouping: a ``daily``, a ``weekly`` and a ``summary`` table
(regimens in run order, subgroup levels in the attainment tables' order) and, when the run has
realised doses, a ``dose`` table. Every number comes from integer counts; the percentiles of
days are exact (type 7 over whole days), those of doses too (see
:mod:`pksim.results.dose_course`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pksim.files import write_atomically
from pksim.results.dose_course import counted_percentile
from pksim.results.over_time import DAILY_CLASSES, OverTimeCounts
from pksim.results.over_time_spec import OverTimeSpec
from pksim.results.percentiles import CONFIDENCE, PERCENTILES, wilson_interval
from pksim.results.tables import judged_attrs, level_order, tidy_summary

__all__ = [
    "OVER_TIME_FILES",
    "AttainmentOverTime",
    "assemble_over_time",
    "tidy_over_time",
    "write_over_time_csv",
]

OVER_TIME_FILES = {
    "daily": "over_time.csv",
    "weekly": "over_time_weekly.csv",
    "summary": "over_time_summary.csv",
}
"""CSV file of each tidy table of :func:`write_over_time_csv`."""
DOSE_FILE = "realised_dose.csv"
"""CSV file of the realised dose percentiles (written when the run has realised doses)."""

DAY_PERCENTILES = {"p25": 25.0, "median": 50.0, "p75": 75.0}
"""Percentiles reported of the first in-range day and of the time in range."""


@dataclass(frozen=True, slots=True)
class AttainmentOverTime:
    """Attainment over time of one grouping (columns ``regimen`` then its subgroups).

    ``daily``: per evaluated day, ``n``, ``pct_in_range`` with its Wilson interval
    ``pct_in_range_ci_low``/``_high``, ``pct_below``, ``pct_above`` (percent of subjects).
    ``weekly``: per week of treatment (``week``, its evaluated ``first_day``..``last_day``),
    ``pct_in_range_every_day`` (subjects in range on every evaluated day of the week) with its
    Wilson interval, and ``pct_subject_days_in_range``.
    ``summary``: per level over the span, ``first_in_range_day_p25``/``_median``/``_p75``
    (day of the first in-range trough; the trough of day d is at 24 d h after the first dose;
    inf for a subject never in range, so a percentile that reaches them is inf),
    ``pct_never_in_range``, ``pct_time_in_range_mean``/``_p25``/``_median``/``_p75`` (percent
    of the span's evaluated days in range, per subject), ``pct_ever_above``/``pct_ever_below``
    (strictly above ``above_ng_per_ml`` / below ``below_ng_per_ml`` on any day),
    ``mean_dose_changes`` and ``pct_dose_changed`` (at least one TDM dose change).
    ``dose``: per regimen and day, the realised daily dose percentiles (mg/day) and
    ``pct_no_dose`` (held that day); None when the run has no realised dose.
    ``attrs`` of every table: target text and ranges, span, limits, confidence, subjects.
    """

    daily: pd.DataFrame
    weekly: pd.DataFrame
    summary: pd.DataFrame
    dose: pd.DataFrame | None

    @property
    def dose_varies(self) -> bool:
        """Whether any subject's realised dose changes over the span."""
        if self.dose is None:
            return False
        return sum(self.dose.attrs["subjects_dose_varies"].values()) > 0


def assemble_over_time(
    spec: OverTimeSpec, counts: OverTimeCounts, *, target_label: str
) -> list[AttainmentOverTime]:
    """One :class:`AttainmentOverTime` per grouping of ``spec`` from merged ``counts``."""
    attrs = {
        **judged_attrs(spec, counts, target_label),
        "days_evaluated": int(counts.days.size),
        "above_ng_per_ml": spec.above_ng_per_ml,
        "below_ng_per_ml": spec.below_ng_per_ml,
        "confidence": CONFIDENCE,
        "subjects": counts.n_subjects,
        "dose_changes_known": counts.has_dose_changes,
    }
    dose = _dose_table(counts, attrs)
    results = []
    for g, grouping in enumerate(spec.groupings):
        levels = counts.groups[g]
        rows = [
            (r, regimen, level, levels[level])
            for r, regimen in enumerate(counts.regimens)
            for level in level_order(levels)
            if int(levels[level].n[r]) > 0
        ]
        tables = (
            _daily(rows, grouping, counts),
            _weekly(rows, grouping, counts),
            _summary(rows, grouping, counts, spec),
        )
        for table in tables:
            table.attrs.update(attrs)
        results.append(AttainmentOverTime(*tables, dose=dose))
    return results


def _keys(rows: list, grouping: Sequence[str], repeat: int) -> dict[str, np.ndarray]:
    """The ``regimen`` and subgroup columns, each row repeated ``repeat`` times."""
    columns = {"regimen": np.repeat(np.asarray([str(row[1]) for row in rows]), repeat)}
    for k, name in enumerate(grouping):
        values = pd.Series([row[2][k] for row in rows]).to_numpy()
        columns[name] = np.repeat(values, repeat)
    return columns


def _percent_with_ci(hits: np.ndarray, n: np.ndarray, name: str) -> dict[str, np.ndarray]:
    low, high = wilson_interval(hits, n)
    return {
        name: 100.0 * hits / n,
        f"{name}_ci_low": 100.0 * low,
        f"{name}_ci_high": 100.0 * high,
    }


def _daily(rows: list, grouping: Sequence[str], counts: OverTimeCounts) -> pd.DataFrame:
    n_days = counts.days.size
    n = np.repeat(np.asarray([int(row[3].n[row[0]]) for row in rows], dtype=np.int64), n_days)
    daily = {
        name: np.concatenate([row[3].daily[name][row[0]] for row in rows]).astype(np.int64)
        for name in DAILY_CLASSES
    }
    columns = _keys(rows, grouping, n_days) | {"day": np.tile(counts.days, len(rows)), "n": n}
    columns |= _percent_with_ci(daily["in_range"], n, "pct_in_range")
    columns |= {"pct_below": 100.0 * daily["below"] / n, "pct_above": 100.0 * daily["above"] / n}
    return pd.DataFrame(columns)


def _weekly(rows: list, grouping: Sequence[str], counts: OverTimeCounts) -> pd.DataFrame:
    weeks = counts.weeks
    numbers = np.unique(weeks)
    first = np.array([counts.days[weeks == w].min() for w in numbers])
    last = np.array([counts.days[weeks == w].max() for w in numbers])
    evaluated = np.array([int((weeks == w).sum()) for w in numbers])
    k = numbers.size
    n = np.repeat(np.asarray([int(row[3].n[row[0]]) for row in rows], dtype=np.int64), k)
    whole = np.concatenate([row[3].whole_week[row[0]] for row in rows]).astype(np.int64)
    subject_days = np.array(
        [row[3].daily["in_range"][row[0]][weeks == w].sum() for row in rows for w in numbers],
        dtype=np.float64,
    )
    columns = _keys(rows, grouping, k) | {
        "week": np.tile(numbers, len(rows)),
        "first_day": np.tile(first, len(rows)),
        "last_day": np.tile(last, len(rows)),
        "days_evaluated": np.tile(evaluated, len(rows)),
        "n": n,
    }
    columns |= _percent_with_ci(whole, n, "pct_in_range_every_day")
    columns["pct_subject_days_in_range"] = 100.0 * subject_days / (n * columns["days_evaluated"])
    return pd.DataFrame(columns)


def _summary(
    rows: list, grouping: Sequence[str], counts: OverTimeCounts, spec: OverTimeSpec
) -> pd.DataFrame:
    n_days = counts.days.size
    first_day_values = np.append(counts.days.astype(np.float64), math.inf)  # last bin: never
    tir_values = 100.0 * np.arange(n_days + 1) / n_days
    records = []
    for r, regimen, level, group in rows:
        n = int(group.n[r])
        record = {"regimen": str(regimen), **dict(zip(grouping, level, strict=True)), "n": n}
        record |= {"first_day": spec.first_day, "last_day": spec.last_day}
        record["days_evaluated"] = n_days
        for name, q in DAY_PERCENTILES.items():
            value = counted_percentile(group.first_in_range[r], first_day_values, q)
            record[f"first_in_range_day_{name}"] = value
        record["pct_never_in_range"] = 100.0 * int(group.first_in_range[r][-1]) / n
        in_range_days = float(np.dot(np.arange(n_days + 1), group.days_in_range[r]))
        record["pct_time_in_range_mean"] = 100.0 * in_range_days / (n * n_days)
        for name, q in DAY_PERCENTILES.items():
            value = counted_percentile(group.days_in_range[r], tir_values, q)
            record[f"pct_time_in_range_{name}"] = value
        record["pct_ever_above"] = 100.0 * int(group.ever["ever_above"][r]) / n
        record["pct_ever_below"] = 100.0 * int(group.ever["ever_below"][r]) / n
        record["above_ng_per_ml"] = spec.above_ng_per_ml
        record["below_ng_per_ml"] = spec.below_ng_per_ml
        record["mean_dose_changes"] = int(group.dose_changes[r]) / n
        record["pct_dose_changed"] = 100.0 * int(group.dose_changed[r]) / n
        records.append(record)
    columns = ["regimen", *grouping, "n", "first_day", "last_day", "days_evaluated"]
    columns += [f"first_in_range_day_{name}" for name in DAY_PERCENTILES]
    columns += ["pct_never_in_range", "pct_time_in_range_mean"]
    columns += [f"pct_time_in_range_{name}" for name in DAY_PERCENTILES]
    columns += ["pct_ever_above", "pct_ever_below", "above_ng_per_ml", "below_ng_per_ml"]
    columns += ["mean_dose_changes", "pct_dose_changed"]
    return pd.DataFrame.from_records(records, columns=columns)


def _dose_table(counts: OverTimeCounts, attrs: dict) -> pd.DataFrame | None:
    """Realised daily dose percentiles (mg/day) per regimen and day, or None."""
    doses = counts.doses
    if doses is None:
        return None
    records = []
    for r, regimen in enumerate(counts.regimens):
        for t, day in enumerate(counts.days):
            n = int(doses.counts[r, t].sum())
            found = doses.percentiles(r, t)
            record = {"regimen": str(regimen), "day": int(day), "n": n}
            record |= {f"dose_{name}": found[name] for name in PERCENTILES}
            record["pct_no_dose"] = 100.0 * doses.held(r, t) / n
            records.append(record)
    table = pd.DataFrame.from_records(records)
    table.attrs.update(
        {k: v for k, v in attrs.items() if k in ("first_day", "last_day", "subjects")}
        | {
            "units": "mg/day",
            "percentiles": doses.describe(),
            "subjects_dose_varies": {
                str(regimen): int(count)
                for regimen, count in zip(counts.regimens, counts.dose_varies, strict=True)
            },
        }
    )
    return table


def tidy_over_time(results: Sequence[AttainmentOverTime], part: str) -> pd.DataFrame:
    """One tidy table (``regimen``, ``subgroup``, ``level``, then the columns) of ``part``
    (``"daily"``, ``"weekly"`` or ``"summary"``) from the overall result followed by results
    split by one subgroup each; a subgroup with a single level adds nothing and is left out."""
    return tidy_summary([getattr(result, part) for result in results])


def write_over_time_csv(
    directory: str | os.PathLike, results: Sequence[AttainmentOverTime]
) -> list[Path]:
    """Write the tidy daily, weekly and summary tables of ``results`` (overall, then one
    subgroup each, as :func:`tidy_over_time`) as :data:`OVER_TIME_FILES`, and the realised dose
    table as :data:`DOSE_FILE` when there is one, each file atomically; return the paths."""
    folder = Path(directory)
    tables = {name: tidy_over_time(results, part) for part, name in OVER_TIME_FILES.items()}
    if results[0].dose is not None:
        tables[DOSE_FILE] = results[0].dose
    written = []
    for name, table in tables.items():
        path = folder / name
        write_atomically(path, lambda temporary, t=table: t.to_csv(temporary, index=False))
        written.append(path)
    return written
