"""Figures drawn from reduced results: attainment tables and percentile courses.

Nothing here reads a cohort: a trough distribution is drawn from an attainment table (its
percentiles, attainment and ``attrs``), a trough course or concentration ribbons from a
:class:`~pksim.results.course.Course`. ``attrs`` is the run's provenance (a Dataset's attrs:
``title``, ``target_label``, ``comedications`` and ``dose_times_h`` as JSON). Every function
returns a :class:`matplotlib.figure.Figure` built without pyplot (no global figure registry,
nothing to close); matplotlib is imported inside the functions so ``import pksim`` stays light.
Concentrations are in ng/mL, time in h, days numbered from 1; the trough of day d is the
concentration at t = 24 d h, the end of that day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pksim.checks import unknown_name_message
from pksim.results.course import Course
from pksim.results.figure_parts import (
    Y_AXIS_ROOM_IN,
    LegendEntry,
    axis_label,
    figure_legend,
    figure_title,
    json_attr,
    label_panel_axes,
    label_regimens,
    legend_patch,
    level_text,
    new_figure,
    palette,
    panel_grid,
    shade_comedications,
    shade_targets,
    target_top,
)
from pksim.results.figure_text import figure_style
from pksim.results.figure_timeline import mark_dose_timeline
from pksim.results.tables import EN_DASH, when_judged
from pksim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["course_figure", "distribution_figure", "ribbons_figure"]

OUTER_ALPHA, INNER_ALPHA = 0.18, 0.35
SUBGROUP_ALPHA = 0.2
BOX_WIDTH_IN, MIN_WIDTH_IN, MAX_WIDTH_IN, DISTRIBUTION_HEIGHT_IN = 0.55, 6.0, 16.0, 5.0
MIN_LABEL_SLOT_IN = 0.9
"""Least width (inches) under each regimen for its name, while the figure may still grow."""
MAX_TICKS = 8
HEADROOM = 1.05
LABEL_HEADROOM = 1.1
"""Room above the highest whisker of a distribution for the percentage written above it."""
TICK_STEPS_DAYS = (1, 2, 7, 14, 28)


def distribution_figure(
    table: pd.DataFrame,
    attrs: Mapping[str, Any],
    *,
    subgroup: str | None = None,
    subgroup_title: str | None = None,
    show_target: bool = True,
) -> Figure:
    """Trough distribution per regimen (split by ``subgroup``, a column of ``table``) against
    the shaded target band: boxes 25th-75th percentile with the median, whiskers 5th-95th,
    the percentage in range above each box (when ``show_target``)."""
    with figure_style():
        return _distribution_figure(table, attrs, subgroup, subgroup_title, show_target)


def _distribution_figure(
    table: pd.DataFrame,
    attrs: Mapping[str, Any],
    subgroup: str | None,
    subgroup_title: str | None,
    show_target: bool,
) -> Figure:
    regimens = [str(r) for r in dict.fromkeys(table["regimen"])]
    levels = list(dict.fromkeys(table[subgroup])) if subgroup else [None]
    width = 0.8 / len(levels)
    n_boxes = len(regimens) * len(levels)
    wanted = max(1.5 + BOX_WIDTH_IN * n_boxes, Y_AXIS_ROOM_IN + MIN_LABEL_SLOT_IN * len(regimens))
    fig_width = min(MAX_WIDTH_IN, max(MIN_WIDTH_IN, wanted))
    fig, main = new_figure(fig_width, DISTRIBUTION_HEIGHT_IN, attrs)
    ax = main.add_subplot()
    colours = palette(len(levels))
    ranges = table.attrs.get("target_ranges", [])
    handles = shade_targets(ax, ranges, attrs) if show_target else []
    for j, level in enumerate(levels):
        rows = table if level is None else table[table[subgroup] == level]
        stats, positions = [], []
        for row in rows.itertuples(index=False):
            i = regimens.index(str(row.regimen))
            positions.append(i + (j - (len(levels) - 1) / 2) * width)
            stats.append(
                {"med": row.median, "q1": row.p25, "q3": row.p75, "whislo": row.p5}
                | {"whishi": row.p95, "fliers": [], "label": ""}
            )
            if show_target:
                ax.annotate(
                    f"{row.pct_in_range:.0f}%",
                    (positions[-1], row.p95),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                )
        ax.bxp(
            stats,
            positions=positions,
            widths=0.85 * width,
            patch_artist=True,
            showfliers=False,
            boxprops={"facecolor": colours[j], "alpha": 0.8, "edgecolor": "black"},
            medianprops={"color": "black", "gid": "median"},
            whiskerprops={"gid": "whisker"},
        )
        if level is not None:
            handles.append(legend_patch(colours[j], level_text(level)))
    label_regimens(ax, regimens, (fig_width - Y_AXIS_ROOM_IN) / len(regimens))
    ax.set_xlim(-0.6, len(regimens) - 0.4)
    top = max(
        float(np.nanmax(table["p95"], initial=0.0)), target_top(ranges if show_target else [])
    )
    ax.set_ylim(0.0, LABEL_HEADROOM * top if top > 0 else None)
    ax.set_ylabel(axis_label(table.attrs, "Trough"))
    first, last = int(table["first_day"].iloc[0]), int(table["last_day"].iloc[0])
    window = bool(table.attrs.get("window", first != last))
    days = f"days {first}{EN_DASH}{last} (every subject-day)\n" if window else f"day {first}: "
    subtitle = (
        f"Trough on {days}box 25th{EN_DASH}75th percentile with median, "
        f"whiskers 5th{EN_DASH}95th percentile"
    )
    if show_target:
        subtitle += "\nnumber above each box: % of subjects in their target range " + when_judged(
            first, last, window
        ).replace("in range ", "")
    ax.set_title(subtitle, fontsize="small")
    figure_title(fig, str(attrs.get("title", "Trough distribution")))
    if handles:
        figure_legend(fig, handles, title=subgroup_title if subgroup else None)
    ax.grid(axis="y", alpha=0.3)
    return fig


def course_figure(
    course: Course,
    attrs: Mapping[str, Any],
    *,
    target_ranges: Sequence[Mapping[str, Any]] = (),
    subgroup_title: str | None = None,
) -> Figure:
    """Trough percentiles day by day per regimen, co-medication periods shaded. Without levels:
    median, 25th-75th and 5th-95th percentile bands; with levels (a subgroup): the median and
    25th-75th band of each level, in its own colour."""
    with figure_style():
        return _course_figure(course, attrs, target_ranges, subgroup_title)


def _course_figure(
    course: Course,
    attrs: Mapping[str, Any],
    target_ranges: Sequence[Mapping[str, Any]],
    subgroup_title: str | None,
) -> Figure:
    from matplotlib.ticker import MaxNLocator

    split = course.levels != ((),)
    days = course.axis
    colours = palette(len(course.levels)) if split else ["tab:blue"]
    fig, axes = panel_grid(len(course.regimens), attrs)
    handles: list[Any] = []
    marks: list[Any] = []  # dose changes: one legend entry per kind, whichever panel has it
    top = target_top(target_ranges)
    p = course.percentiles
    for r, (ax, name) in enumerate(zip(axes, course.regimens, strict=True)):
        handles = shade_targets(ax, target_ranges, attrs)
        for j, (level, colour) in enumerate(zip(course.levels, colours, strict=True)):
            band = {key: p[key][r, j] for key in p}
            if not split:
                outer = ax.fill_between(
                    days, band["p5"], band["p95"], color=colour, alpha=OUTER_ALPHA
                )
                outer.set_label(f"5th{EN_DASH}95th percentile")
            alpha = SUBGROUP_ALPHA if split else INNER_ALPHA
            inner = ax.fill_between(days, band["p25"], band["p75"], color=colour, alpha=alpha)
            (median,) = ax.plot(days, band["median"], color=colour, marker=".", linewidth=1.2)
            if not split:
                inner.set_label(f"25th{EN_DASH}75th percentile")
                median.set_label("median")
                handles += [median, inner, outer]
            else:  # one legend entry per level: its band and median line drawn together
                handles.append(LegendEntry((inner, median), level_text(level[0])))
            top = max(top, float(np.nanmax(band["p75" if split else "p95"])))
        ax.set_title(name, fontsize="medium")
        ax.set_xlim(days.min() - 1.0, days.max() + 0.5)
        handles += shade_comedications(ax, attrs, hours=False)
        marks += mark_dose_timeline(ax, attrs, name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles += list({handle.get_label(): handle for handle in marks}.values())
    axes[0].set_ylim(0.0, HEADROOM * top)
    day_label = axis_label(course.axis_attrs, "Day") + " (trough at the end of the day)"
    label_panel_axes(fig, axes, day_label, axis_label(course.value_attrs, "Trough"))
    title = str(attrs.get("title", "Trough course"))
    if split:
        by = _lower_first(subgroup_title)
        title += f"\nby {by}: median (line) and 25th{EN_DASH}75th percentile (band)"
    figure_title(fig, title)
    figure_legend(fig, handles)
    return fig


def _lower_first(text: str | None) -> str:
    """ "Co-medication" -> "co-medication" within a sentence; "CYP3A5 genotype" stays."""
    text = str(text or "")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def ribbons_figure(
    course: Course,
    attrs: Mapping[str, Any],
    *,
    regimen: str | None = None,
    target_ranges: Sequence[Mapping[str, Any]] = (),
) -> Figure:
    """Percentile ribbons (5/25/50/75/95) of concentration over time, one panel per regimen
    (or only ``regimen``), nominal doses (``attrs["dose_times_h"]``) marked."""
    with figure_style():
        return _ribbons_figure(course, attrs, regimen, target_ranges)


def _ribbons_figure(
    course: Course,
    attrs: Mapping[str, Any],
    regimen: str | None,
    target_ranges: Sequence[Mapping[str, Any]],
) -> Figure:
    from matplotlib.ticker import MultipleLocator

    if regimen is not None and regimen not in course.regimens:
        raise ValueError("regimen: " + unknown_name_message("regimen", regimen, course.regimens))
    chosen = [regimen] if regimen is not None else list(course.regimens)
    doses = json_attr(attrs, "dose_times_h", {})
    if not isinstance(doses, dict):
        raise ValueError("attrs['dose_times_h'] must be a JSON object: regimen -> hours")
    time = course.axis
    span_days = (time.max() - time.min()) / HOURS_PER_DAY
    step = next((s for s in TICK_STEPS_DAYS if span_days / s <= MAX_TICKS), None)
    fig, axes = panel_grid(len(chosen), attrs)
    handles: list[Any] = []
    top = target_top(target_ranges)
    for ax, name in zip(axes, chosen, strict=True):
        r = course.regimens.index(name)
        band = {key: values[r, 0] for key, values in course.percentiles.items()}
        handles = shade_targets(ax, target_ranges, attrs)
        outer = ax.fill_between(time, band["p5"], band["p95"], color="tab:blue", alpha=OUTER_ALPHA)
        inner = ax.fill_between(time, band["p25"], band["p75"], color="tab:blue", alpha=INNER_ALPHA)
        (median,) = ax.plot(time, band["median"], color="tab:blue", linewidth=1.2)
        outer.set_label(f"5th{EN_DASH}95th percentile")
        inner.set_label(f"25th{EN_DASH}75th percentile")
        median.set_label("median")
        handles += [median, inner, outer]
        top = max(top, float(np.nanmax(band["p95"])))
        dose_times = np.asarray(doses.get(name, []), dtype=np.float64)
        dose_times = dose_times[(dose_times >= time.min()) & (dose_times <= time.max())]
        if dose_times.size:
            (marks,) = ax.plot(
                dose_times,
                np.zeros_like(dose_times),
                linestyle="none",
                marker="^",
                markersize=4,
                color="black",
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label="dose",
            )
            handles.append(marks)
        ax.set_title(name, fontsize="medium")
        ax.set_xlim(time.min(), time.max())
        handles += shade_comedications(ax, attrs, hours=True)
        days_axis = ax.secondary_xaxis(
            "top", functions=(lambda h: h / HOURS_PER_DAY, lambda d: d * HOURS_PER_DAY)
        )
        days_axis.set_xlabel("Days after first dose", fontsize="small")
        days_axis.tick_params(labelsize="small")
        if step is not None:
            ax.xaxis.set_major_locator(MultipleLocator(step * HOURS_PER_DAY))
            days_axis.xaxis.set_major_locator(MultipleLocator(step))
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0.0, HEADROOM * top)
    label_panel_axes(
        fig, axes, axis_label(course.axis_attrs, "Time"), axis_label(course.value_attrs, "Conc")
    )
    figure_title(fig, str(attrs.get("title", "Concentration")))
    figure_legend(fig, handles)
    return fig
