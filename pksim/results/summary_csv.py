"""``summary.csv``: the attainment tables as one CSV that reads in Excel and pandas alike.

The file starts with lines beginning ``#``: what produced it (scenario, subjects, seed,
parameter set, pksim version; no date, so that the same run writes the same bytes), the target
and days judged, and every column's units.
The table follows, text quoted (a ``#`` in a regimen name stays text), numbers rounded for
reading: concentrations to :data:`CONCENTRATION_DECIMALS` decimals (ng/mL), percentages to
:data:`PERCENT_DECIMALS`; the exact values are in the result store. It is UTF-8 with a byte
order mark, which Excel needs to show "≥ 60 kg" and Chinese names correctly.

Read it with :func:`read_summary_csv` or ``pandas.read_csv(path, comment="#")``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pksim.files import write_atomically
from pksim.results.percentiles import CONFIDENCE, PERCENTILES
from pksim.results.reducer import BELOW_LLOQ_CLASS, CLASSES
from pksim.results.tables import CI_COLUMNS, tidy_summary

__all__ = [
    "COLUMN_UNITS",
    "CONCENTRATION_DECIMALS",
    "PERCENT_DECIMALS",
    "read_summary_csv",
    "summary_header",
    "write_summary_csv",
]

ENCODING = "utf-8-sig"
"""UTF-8 with a byte order mark: Excel reads a CSV without one in the system's code page."""
COMMENT = "#"
CONCENTRATION_DECIMALS = 2
"""Decimals of concentrations (ng/mL): 0.01 ng/mL, far below any assay's quantification limit."""
PERCENT_DECIMALS = 1
"""Decimals of percentages (as the terminal table shows them)."""
PERCENT_COLUMNS = (*CLASSES, *CI_COLUMNS, BELOW_LLOQ_CLASS)

COLUMN_UNITS: Mapping[str, str] = {
    "regimen": "the regimen's name in the scenario",
    "subgroup": "the subgroup the row is split by (all: the whole cohort)",
    "level": "the subgroup's level",
    "n": "subjects",
    **{name: "ng/mL, whole-blood trough percentile" for name in PERCENTILES},
    "pct_in_range": "% of subjects in their target range",
    "pct_below": "% of subjects below their target range",
    "pct_above": "% of subjects above their target range",
    CI_COLUMNS[0]: f"%, lower end of the {100 * CONFIDENCE:g} % Wilson interval of pct_in_range",
    CI_COLUMNS[1]: f"%, upper end of the {100 * CONFIDENCE:g} % Wilson interval of pct_in_range",
    BELOW_LLOQ_CLASS: "% of measured troughs below the assay's quantification limit",
    "first_day": "first day of treatment judged",
    "last_day": "last day of treatment judged",
}
"""What each column holds and its units (the header lines of the file list them)."""


def summary_header(
    tables: Sequence[pd.DataFrame], attrs: Mapping[str, Any], columns: Sequence[str]
) -> list[str]:
    """The ``#`` lines above the table: provenance, target, rounding and the units of
    ``columns`` (no commas, so that Excel keeps each line in one cell)."""
    first = tables[0].attrs
    lines = [
        f"pksim summary: {attrs.get('title', '')}",
        f"scenario: {attrs.get('scenario_origin', '')}",
        f"subjects: {attrs.get('n_subjects', '')}; seed: {attrs.get('seed', '')}; "
        f"parameter set: {attrs.get('parameter_set', '')}; "
        f"population: {attrs.get('population', '')}",
        f"pksim version: {attrs.get('pksim_version', '')} (the date: pksim-manifest.json)",
        f"target: {first.get('target', '')}",
        f"percentiles: {first.get('percentiles', '')}",
        f"rounded for reading: ng/mL to {10.0**-CONCENTRATION_DECIMALS:g}; % to "
        f"{10.0**-PERCENT_DECIMALS:g} (exact values: the result store)",
        "columns:",
    ]
    lines += [f"  {name}: {COLUMN_UNITS.get(name, name.replace('_', ' '))}" for name in columns]
    lines.append("read in pandas: pandas.read_csv(path; comment='#')")
    return [f"{COMMENT} {line.replace(',', ';')}" for line in lines]


def rounded(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy table with concentrations and percentages rounded for reading."""
    out = table.copy()
    for name in PERCENTILES:
        out[name] = out[name].round(CONCENTRATION_DECIMALS)
    for name in PERCENT_COLUMNS:
        if name in out.columns:
            out[name] = out[name].round(PERCENT_DECIMALS)
    return out


def write_summary_csv(
    path: str | os.PathLike,
    tables: Sequence[pd.DataFrame],
    attrs: Mapping[str, Any],
    day_tables: Sequence[pd.DataFrame] = (),
) -> Path:
    """Write the attainment ``tables`` (overall, then one per subgroup) of a run with
    provenance ``attrs`` (a Dataset's attrs) as ``summary.csv`` at ``path``, atomically;
    ``day_tables`` (overall, on further days) follow as rows of subgroup "all"."""
    path = Path(path)
    table = tidy_summary(tables)
    extra = [t.assign(subgroup="all", level="all")[table.columns] for t in day_tables]
    table = rounded(pd.concat([table, *extra], ignore_index=True))
    header = "\n".join(summary_header(tables, attrs, list(table.columns))) + "\n"

    def write(temporary: Path) -> None:
        with open(temporary, "w", encoding=ENCODING, newline="") as file:
            file.write(header)
            table.to_csv(file, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")

    write_atomically(path, write)
    return path


def read_summary_csv(path: str | os.PathLike) -> pd.DataFrame:
    """A ``summary.csv`` back as a DataFrame (the ``#`` lines skipped)."""
    return pd.read_csv(path, comment=COMMENT, encoding=ENCODING)
