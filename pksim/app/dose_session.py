"""Dose response in the app, without widgets: one regimen of the form's scenario over a grid
of candidate daily doses (:func:`pksim.dose_response`), its table and the best dose.

The candidates are read as ``pksim dose-response --doses`` reads them
(:func:`~pksim.results.dose_response_report.parse_doses`: ``1:6:0.5`` or ``2, 3, 4.5``);
the plot is ``pksim dose-response``'s
(:func:`~pksim.results.dose_response_report.dose_response_figure`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import xarray as xr

from pksim.results.dose_response import (
    BEST_DOSE,
    DOSE,
    GIVEN_HIGH,
    GIVEN_LOW,
    SAME_DOSE_AS,
    dose_response,
)
from pksim.results.dose_response_report import parse_doses
from pksim.results.tables import CI_COLUMNS, EN_DASH
from pksim.scenario import bundled_scenarios_dir, scenario_from_text

__all__ = ["DEFAULT_DOSES", "PER_KG_UNITS", "best_text", "dose_table", "respond"]

DEFAULT_DOSES = "1:6:0.5"
"""Candidate grid the form starts with (mg/day)."""
PER_KG_UNITS = "mg/kg/day"
"""Unit choice that makes the candidates mg/kg/day (else mg/day)."""


def respond(
    text: str,
    regimen: str,
    doses: str,
    *,
    per_kg: bool = False,
    max_above_pct: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
    base_dir: str | Path | None = None,
) -> xr.Dataset:
    """The dose response of ``regimen`` of the scenario ``text`` over the candidates
    ``doses`` (raises :class:`pksim.ScenarioError` or ValueError naming what is wrong)."""
    folder = bundled_scenarios_dir() if base_dir is None else Path(base_dir)
    scenario = scenario_from_text(text, origin="the app's scenario", base_dir=folder)
    grid = parse_doses(doses, "candidate doses")
    key = "doses_mg_per_kg_per_day" if per_kg else "doses_mg_per_day"
    return dose_response(
        scenario,
        regimen=regimen,
        max_above_pct=max_above_pct,
        progress=progress,
        **{key: grid},
    )


def dose_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per candidate: n, % in range with its interval, % below and above, median and
    5th-95th trough, the daily dose given and a note (best / the same dose after rounding)."""
    best = float(ds[BEST_DOSE])
    units = ds[DOSE].attrs.get("units", "mg/day")
    rows = []
    for dose in ds[DOSE].values:
        row = ds.sel({DOSE: dose})
        low, high = float(row[GIVEN_LOW]), float(row[GIVEN_HIGH])
        same = float(row[SAME_DOSE_AS])
        notes = ["best"] if dose == best else []
        notes += [] if math.isnan(same) else [f"same dose as {same:g}"]
        rows.append(
            {
                f"dose ({units})": f"{dose:g}",
                "n": f"{int(row['n']):,}",
                "% in range": f"{float(row['pct_in_range']):.1f}",
                "95 % CI": f"{float(row[CI_COLUMNS[0]]):.1f}{EN_DASH}"
                f"{float(row[CI_COLUMNS[1]]):.1f}",
                "% below": f"{float(row['pct_below']):.1f}",
                "% above": f"{float(row['pct_above']):.1f}",
                "median (ng/mL)": f"{float(row['median']):.2f}",
                f"5th{EN_DASH}95th": f"{float(row['p5']):.2f}{EN_DASH}{float(row['p95']):.2f}",
                "given (mg/day)": f"{low:g}" if low == high else f"{low:g}{EN_DASH}{high:g}",
                "note": ", ".join(notes),
            }
        )
    return pd.DataFrame(rows)


def best_text(ds: xr.Dataset) -> str:
    """The best dose and the rule that chose it, in words."""
    best = float(ds[BEST_DOSE])
    units = ds[DOSE].attrs.get("units", "mg/day")
    rule = ds.attrs.get("best_rule", "")
    if math.isnan(best):
        return f"No candidate meets the rule ({rule})."
    return f"Best dose: {best:g} {units} ({rule}). Target: {ds.attrs.get('target', '')}."
