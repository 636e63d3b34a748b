"""Figures of attainment over time, drawn from reduced results (no cohort is read).

:func:`pta_over_time_figure`: the percentage of subjects in their target range day by day, one
line per regimen with its Wilson band, and below it the percentages below and above the range;
:func:`dose_course_figure`: the realised daily dose (median, 25th-75th and 5th-95th percentile)
per regimen over time, drawn when doses change during the run. :func:`write_time_plots` writes
them as PNG files atomically. Both return a :class:`matplotlib.figure.Figure` built without
pyplot; the trough of day d is the concentration at t = 24 d h, the end of that day.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pksim.files import write_atomically
from pksim.results.figure_parts import (
    figure_legend,
    figure_title,
    label_panel_axes,
    new_figure,
    palette,
    panel_grid,
    shade_comedications,
)
from pksim.results.figure_text import figure_style
from pksim.results.over_time_tables import AttainmentOverTime
from pksim.results.percentiles import CONFIDENCE
from pksim.results.tables import EN_DASH

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["dose_course_figure", "pta_over_time_figure", "write_time_plots"]

CI_ALPHA = 0.2
OUTER_ALPHA, INNER_ALPHA = 0.18, 0.35
PTA_FIGURE_IN = (8.0, 6.5)
PTA_HEIGHT_RATIOS = (2.2, 1.0)
DPI = 120
PERCENT_TOP = 100.0
HEADROOM = 1.05


def pta_over_time_figure(result: AttainmentOverTime, attrs: Mapping[str, Any]) -> Figure:
    """% of subjects in their target range per day and regimen (lines, with the
    :data:`~pksim.results.percentiles.CONFIDENCE` Wilson interval as a band) over a lower panel
    of the % below (dashed) and above (dotted) the range; co-medication periods shaded.
    ``result`` must be by regimen only; ``attrs`` the run's provenance (title, n, seed)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    daily = _by_regimen_only(result.daily)
    regimens = list(dict.fromkeys(str(r) for r in daily["regimen"]))
    colours = palette(len(regimens))
    fig, main = new_figure(*PTA_FIGURE_IN, attrs)  # under the run's provenance line
    top, bottom = main.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": PTA_HEIGHT_RATIOS})
    handles: list[Any] = []
    for name, colour in zip(regimens, colours, strict=True):
        rows = daily[daily["regimen"] == name]
        days = rows["day"].to_numpy(dtype=np.float64)
        top.fill_between(
            days,
            rows["pct_in_range_ci_low"],
            rows["pct_in_range_ci_high"],
            color=colour,
            alpha=CI_ALPHA,
            linewidth=0,
        )
        (line,) = top.plot(days, rows["pct_in_range"], color=colour, marker=".", linewidth=1.4)
        line.set_label(name)
        handles.append(line)
        bottom.plot(days, rows["pct_below"], color=colour, linestyle="--", linewidth=1.2)
        bottom.plot(days, rows["pct_above"], color=colour, linestyle=":", linewidth=1.6)
    first, last = float(daily["day"].min()), float(daily["day"].max())
    for ax in (top, bottom):
        ax.set_xlim(first - 0.5, last + 0.5)
        ax.set_ylim(0.0, PERCENT_TOP * HEADROOM)
        ax.grid(alpha=0.3)
        handles_here = shade_comedications(ax, attrs, hours=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles += handles_here
    handles.append(
        _patch(f"{100 * result.daily.attrs.get('confidence', CONFIDENCE):g} % Wilson interval")
    )
    handles += [
        Line2D([], [], color="black", linestyle="--", label="% below the range (lower panel)"),
        Line2D([], [], color="black", linestyle=":", label="% above the range (lower panel)"),
    ]
    target = result.daily.attrs.get("target", "")
    top.set_ylabel("% of subjects in range")
    top.set_title(
        f"Subjects whose trough is in their target range ({target}), day by day", fontsize="small"
    )
    bottom.set_ylabel("% of subjects")
    label_panel_axes(fig, [bottom], "Day of treatment (trough at the end of the day)", "")
    bottom.set_ylabel("% below / above")
    figure_title(fig, _title(attrs, "Attainment over time"))
    figure_legend(fig, handles)
    return fig


def dose_course_figure(dose: pd.DataFrame, attrs: Mapping[str, Any]) -> Figure:
    """Realised daily dose per regimen over time: median, 25th-75th and 5th-95th percentile,
    one panel per regimen (``dose`` is :attr:`AttainmentOverTime.dose`)."""
    from matplotlib.ticker import MaxNLocator

    if not isinstance(dose, pd.DataFrame) or "dose_median" not in dose.columns:
        raise ValueError("dose must be the dose table of an AttainmentOverTime (not None)")
    regimens = list(dict.fromkeys(str(r) for r in dose["regimen"]))
    fig, axes = panel_grid(len(regimens), attrs)
    handles: list[Any] = []
    top = 0.0
    for ax, name in zip(axes, regimens, strict=True):
        rows = dose[dose["regimen"] == name]
        days = rows["day"].to_numpy(dtype=np.float64)
        edges = np.append(days - 1.0, days[-1])  # day d's dose drawn over [d - 1, d]

        def steps(column: str, frame: pd.DataFrame = rows) -> np.ndarray:
            values = frame[column].to_numpy(dtype=np.float64)
            return np.append(values, values[-1])

        outer, inner = (
            ax.fill_between(
                edges,
                steps(f"dose_{low}"),
                steps(f"dose_{high}"),
                color="tab:purple",
                alpha=alpha,
                step="post",
                linewidth=0,
            )
            for low, high, alpha in (("p5", "p95", OUTER_ALPHA), ("p25", "p75", INNER_ALPHA))
        )
        (median,) = ax.step(edges, steps("dose_median"), where="post", color="tab:purple")
        outer.set_label(f"5th{EN_DASH}95th percentile")
        inner.set_label(f"25th{EN_DASH}75th percentile")
        median.set_label("median")
        handles = [median, inner, outer]
        top = max(top, float(np.nanmax(rows["dose_p95"].to_numpy(dtype=np.float64))))
        ax.set_title(name, fontsize="medium")
        ax.set_xlim(edges[0], edges[-1])
        handles += shade_comedications(ax, attrs, hours=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0.0, HEADROOM * top if top > 0 else 1.0)
    day_label = "Day of treatment (the dose of day d is drawn from d - 1 to d)"
    label_panel_axes(fig, axes, day_label, "Realised daily dose (mg/day)")
    figure_title(
        fig,
        _title(attrs, "Realised daily dose")
        + f"\nRealised daily dose (after changes, holds and TDM decisions): median, "
        f"25th{EN_DASH}75th and 5th{EN_DASH}95th percentile",
    )
    figure_legend(fig, handles)
    return fig


def write_time_plots(
    directory: str | os.PathLike, result: AttainmentOverTime, attrs: Mapping[str, Any]
) -> list[Path]:
    """Write ``pta_over_time.png`` (when more than one day is evaluated) and, when some
    subject's dose changes, ``realised_dose.png`` into ``directory``; return the paths."""
    folder = Path(directory)
    plots = []
    if result.daily["day"].nunique() > 1:
        plots.append(("pta_over_time", lambda: pta_over_time_figure(result, attrs)))
    if result.dose_varies:
        plots.append(("realised_dose", lambda: dose_course_figure(result.dose, attrs)))
    written = []
    with figure_style():  # fonts with Chinese characters where installed
        for stem, make in plots:
            path = folder / f"{stem}.png"
            fig = make()
            write_atomically(
                path, lambda temporary, f=fig: f.savefig(temporary, format="png", dpi=DPI)
            )
            written.append(path)
    return written


def _title(attrs: Mapping[str, Any], default: str) -> str:
    """The scenario's title, then its cohort size and seed when known."""
    title = str(attrs.get("title", default))
    known = [f"n = {int(attrs['n_subjects']):,}"] if "n_subjects" in attrs else []
    known += [f"seed {int(attrs['seed'])}"] if "seed" in attrs else []
    return f"{title}\n{', '.join(known)}" if known else title


def _by_regimen_only(daily: pd.DataFrame) -> pd.DataFrame:
    extra = [c for c in daily.columns[1 : daily.columns.get_loc("day")]]
    if extra:
        raise ValueError(
            f"the PTA-over-time plot draws one line per regimen; this result is split by "
            f"{extra}: compute it with by='regimen'"
        )
    return daily


def _patch(text: str):
    from matplotlib.patches import Patch

    return Patch(facecolor="tab:blue", alpha=CI_ALPHA, edgecolor="none", label=text)
