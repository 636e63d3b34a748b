"""What ``pksim run`` writes beside its result store, and the room it needs for it.

summary.csv (with its days), the attainment over time (CSV), the PNG plots, all written into
the run's staging folder (:mod:`pksim.results.output_folder`), from the reduced data of one
pass (:func:`pksim.results.report.run_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pksim.engine.run import stored_size
from pksim.results.over_time_tables import write_over_time_csv
from pksim.results.plots import write_plots
from pksim.results.report import SUBGROUPS, RunReport
from pksim.results.summary_csv import write_summary_csv
from pksim.results.tables import format_attainment
from pksim.results.time_figures import write_time_plots

__all__ = ["needed_bytes", "tables_text", "write_run_outputs", "write_standard_plots"]

SUMMARY_BYTES = 2**16
"""Room (bytes) for summary.csv, the over-time CSVs and the manifest in the free-space check."""
PLOT_BYTES = 2**19
"""Room (bytes) for one PNG plot in the free-space check (they are 0.1-0.4 MB)."""
PLOTS_BESIDE_SUBGROUPS = 5
"""Plots of one run besides one per subgroup: the distribution, the course, the ribbons, the
attainment over time and the realised dose."""
ZARR_COMPRESSION_ALLOWANCE = 4
"""A Zarr store is compressed: the free-space check assumes it may be this many times smaller
than its values (refusing only a run that clearly cannot fit)."""


def tables_text(report: RunReport) -> str:
    """The run's attainment table (and one per further day it reports), as printed."""
    tables = [format_attainment(table) + "\n" for table in (report.tables[0], *report.day_tables)]
    return "\n".join(tables) + f"\npercentiles: {report.tables[0].attrs['percentiles']}"


def write_run_outputs(folder: Path, report: RunReport, plots: bool) -> list[str]:
    """Write summary.csv, the attainment over time (and the plots) into ``folder``; the names
    written."""
    write_summary_csv(folder / "summary.csv", report.tables, report.attrs, report.day_tables)
    names = ["summary.csv"]
    if report.over_time:
        names += [path.name for path in write_over_time_csv(folder, report.over_time)]
    if plots:
        names += [path.name for path in write_standard_plots(folder, report)]
        if report.over_time:
            names += [p.name for p in write_time_plots(folder, report.over_time[0], report.attrs)]
    return names


def write_standard_plots(folder: str | Path, report: RunReport) -> list[Path]:
    """Write the standard PNG plots of ``report`` (distribution, course, ribbons, subgroups)
    into ``folder``; their paths."""
    return write_plots(
        folder,
        report.tables,
        report.attrs,
        trough_course=report.trough_course,
        ribbons=report.ribbons,
        subgroup_titles=report.subgroup_titles,
    )


def needed_bytes(plan: Any, store_name: str | None, plots: bool) -> int:
    """Bytes a run clearly needs: the store (a compressed Zarr store counted at its smallest
    plausible size), the summaries and the plots."""
    plot_count = PLOTS_BESIDE_SUBGROUPS + len(SUBGROUPS)
    needed = SUMMARY_BYTES + (plot_count * PLOT_BYTES if plots else 0)
    if store_name is not None:
        size = stored_size(plan)
        needed += size // ZARR_COMPRESSION_ALLOWANCE if store_name.endswith(".zarr") else size
    return needed
