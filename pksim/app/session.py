"""What the app does with a scenario, without any widgets: validate, simulate, tabulate, plot
and export. The Panel views (:mod:`pksim.app.views`) call these and only display the results.

Everything goes through the public API: :func:`pksim.scenario.scenario_from_text` (the same
messages as ``pksim validate``), :func:`pksim.results.report.run_report` (the one pass of
``pksim run``: tables by regimen and subgroup, the trough course), the figures of
:mod:`pksim.results.figures` and the report of :mod:`pksim.results.html_report`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pksim.app.toml_text import to_toml
from pksim.results.figures import course_figure, distribution_figure
from pksim.results.html_report import html_report, over_time_html
from pksim.results.over_time_tables import tidy_over_time
from pksim.results.report import RunReport, run_report
from pksim.results.tables import tidy_summary
from pksim.scenario import DEFAULT_SCENARIO, Scenario, bundled_scenarios_dir, scenario_from_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CSV_ENCODING",
    "Outcome",
    "comparison",
    "csv_bytes",
    "excel_bytes",
    "over_time_figures",
    "over_time_table",
    "report_bytes",
    "scenario_text",
    "simulate",
    "subgroup_comparison",
    "subgroup_figure",
    "warm_up",
]

CSV_ENCODING = "utf-8-sig"
"""CSV downloads start with a byte-order mark, so Excel reads Chinese text correctly."""
WARM_UP_SUBJECTS = 8
"""Subjects of the warm-up run that compiles the kernels when the app starts."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished run: the scenario, its reduced results and how long the simulation took."""

    scenario: Scenario
    report: RunReport
    seconds: float
    text: str


def scenario_text(mapping: dict[str, Any], origin: str) -> str:
    """The scenario file of ``mapping`` (what the download button gives)."""
    return to_toml(mapping, header=f"Scenario written by the pksim app ({origin}).")


def simulate(
    text: str,
    *,
    base_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Validate ``text`` (raises :class:`pksim.ScenarioError` with every problem) and run it
    with its own ``subjects`` and ``seed``; the plots' percentile courses are reduced too."""
    folder = bundled_scenarios_dir() if base_dir is None else Path(base_dir)
    scenario = scenario_from_text(text, origin="the app's scenario", base_dir=folder)
    start = time.perf_counter()
    report = run_report(scenario, None, None, plots=True, progress=progress)
    return Outcome(scenario, report, time.perf_counter() - start, text)


def warm_up() -> float:
    """Compile what a run needs (numba) with a tiny run of the default scenario; returns the
    seconds it took."""
    from pksim.scenario import load_scenario

    start = time.perf_counter()
    run_report(load_scenario(DEFAULT_SCENARIO), WARM_UP_SUBJECTS, 0, plots=True)
    return time.perf_counter() - start


def main_figures(outcome: Outcome) -> list[Figure]:
    """The trough distribution per regimen and, for more than one day, the trough course."""
    report = outcome.report
    figures = [distribution_figure(report.tables[0], report.attrs)]
    if report.trough_course is not None and report.trough_course.axis.size > 1:
        ranges = report.tables[0].attrs.get("target_ranges", [])
        figures.append(course_figure(report.trough_course, report.attrs, target_ranges=ranges))
    return figures


def over_time_figures(outcome: Outcome) -> list[Figure]:
    """The over-time plots of ``pksim run``: % in range day by day (more than one day
    evaluated) and the realised daily dose (when some subject's dose changes)."""
    from pksim.results.time_figures import dose_course_figure, pta_over_time_figure

    report = outcome.report
    if not report.over_time:
        return []
    result = report.over_time[0]
    figures = []
    if result.daily["day"].nunique() > 1:
        figures.append(pta_over_time_figure(result, report.attrs))
    if result.dose_varies:
        figures.append(dose_course_figure(result.dose, report.attrs))
    return figures


def over_time_table(outcome: Outcome) -> str:
    """The over-time summary by regimen as HTML (the report's table); "" for a one-day run."""
    over_time = outcome.report.over_time
    return over_time_html(over_time[0]) if over_time else ""


def subgroup_figure(outcome: Outcome, subgroup: str) -> Figure:
    """The trough distribution per regimen split by ``subgroup``."""
    report = outcome.report
    return distribution_figure(
        subgroup_table(outcome, subgroup),
        report.attrs,
        subgroup=subgroup,
        subgroup_title=report.subgroup_titles.get(subgroup, subgroup),
    )


def subgroup_table(outcome: Outcome, subgroup: str) -> pd.DataFrame:
    """The attainment table by regimen and ``subgroup``."""
    for table in outcome.report.tables[1:]:
        if table.columns[1] == subgroup:
            return table
    raise ValueError(f"no table by {subgroup!r}; subgroups: {list(outcome.report.subgroup_titles)}")


def split_subgroups(outcome: Outcome) -> list[str]:
    """Subgroups with at least two levels in this cohort."""
    return [str(t.columns[1]) for t in outcome.report.tables[1:] if t.iloc[:, 1].nunique() > 1]


def comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Regimens side by side: one column per regimen, one row per measure."""
    confidence = round(100 * float(table.attrs.get("confidence", 0.95)))
    rows = {
        "% in range": table["pct_in_range"].map("{:.1f}".format),
        f"{confidence} % CI": [
            f"{low:.1f}-{high:.1f}"
            for low, high in zip(
                table["pct_in_range_ci_low"], table["pct_in_range_ci_high"], strict=True
            )
        ],
        "% below": table["pct_below"].map("{:.1f}".format),
        "% above": table["pct_above"].map("{:.1f}".format),
        "median (ng/mL)": table["median"].map("{:.2f}".format),
        "25th-75th": [f"{a:.2f}-{b:.2f}" for a, b in zip(table["p25"], table["p75"], strict=True)],
        "5th-95th": [f"{a:.2f}-{b:.2f}" for a, b in zip(table["p5"], table["p95"], strict=True)],
        "n": table["n"].map("{:,}".format),
    }
    frame = pd.DataFrame({k: list(v) for k, v in rows.items()}, index=list(table["regimen"]))
    return frame.T


def subgroup_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """% in range of each subgroup level (rows) under each regimen (columns)."""
    name = str(table.columns[1])
    wide = table.pivot(index=name, columns="regimen", values="pct_in_range")
    wide = wide.reindex(index=list(dict.fromkeys(table[name])))
    return wide[list(dict.fromkeys(table["regimen"]))].map("{:.1f}".format)


def csv_bytes(report: RunReport) -> bytes:
    """The tables as one tidy CSV (``summary.csv`` of ``pksim run``), readable by Excel."""
    return tidy_summary(report.tables).to_csv(index=False).encode(CSV_ENCODING)


def excel_bytes(report: RunReport) -> bytes:
    """The tables as an Excel workbook, one sheet per table (needs the ``app`` extra); a run
    of more than one day adds the over-time tables of ``pksim run`` (summary, day by day, the
    realised dose when there is one)."""
    try:
        import openpyxl  # noqa: F401  (pandas writes .xlsx through it)
    except ImportError as error:
        raise ImportError(
            "Excel download needs openpyxl: pip install 'pksim[app]' (CSV needs nothing)"
        ) from error
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for table in report.tables:
            sheet = "by regimen" if len(table.columns) and table.columns[1] == "n" else None
            sheet = sheet or f"by {table.columns[1]}"
            table.to_excel(writer, sheet_name=sheet[:31], index=False)
        if report.over_time:
            for part in ("summary", "daily"):
                table = tidy_over_time(report.over_time, part)
                table.to_excel(writer, sheet_name=f"over time, {part}", index=False)
            dose = report.over_time[0].dose
            if dose is not None:
                dose.to_excel(writer, sheet_name="realised dose", index=False)
    return buffer.getvalue()


def report_bytes(outcome: Outcome) -> bytes:
    """The shareable HTML report of the run (the same as ``pksim run --report``)."""
    text = html_report(
        outcome.report,
        outcome.scenario,
        command="pksim app",
        created=datetime.now(UTC),
    )
    return text.encode("utf-8")
