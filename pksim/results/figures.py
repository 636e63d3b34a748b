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

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pksim.checks import unknown_name_message
from pksim.results.course import Course
from pksim.results.tables import EN_DASH, format_range, when_judged
from pksim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["course_figure", "distribution_figure", "ribbons_figure"]

TARGET_COLOUR, TARGET_ALPHA = "tab:green", 0.15
OTHER_TARGET_COLOUR, OTHER_TARGET_ALPHA = "tab:orange", 0.08
COMEDICATION_COLOUR, COMEDICATION_ALPHA = "0.5", 0.12
OUTER_ALPHA, INNER_ALPHA = 0.18, 0.35
SUBGROUP_ALPHA = 0.2
LEGEND_COLUMN_IN = 2.6
MAX_LEGEND_COLUMNS = 4
LABEL_WRAP_CHARS = 18
PANEL_SIZE_IN = (7.5, 3.2)
LEGEND_SPACE_IN = 2.0
BOX_WIDTH_IN, MIN_WIDTH_IN, MAX_WIDTH_IN, DISTRIBUTION_HEIGHT_IN = 0.55, 6.0, 16.0, 5.0
MAX_TICKS = 8
HEADROOM = 1.05
TICK_STEPS_DAYS = (1, 2, 7, 14, 28)
PANEL_COLUMNS = 2
MAX_OTHER_TARGETS = 3
TITLE_CHARS_PER_INCH = 9
"""Characters of a figure title that fit one inch of figure width (large font)."""


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
    from matplotlib.figure import Figure

    regimens = [str(r) for r in dict.fromkeys(table["regimen"])]
    levels = list(dict.fromkeys(table[subgroup])) if subgroup else [None]
    width = 0.8 / len(levels)
    n_boxes = len(regimens) * len(levels)
    fig_width = min(MAX_WIDTH_IN, max(MIN_WIDTH_IN, 1.5 + BOX_WIDTH_IN * n_boxes))
    fig = Figure(figsize=(fig_width, DISTRIBUTION_HEIGHT_IN), layout="constrained")
    ax = fig.add_subplot()
    colours = _colours(len(levels))
    ranges = table.attrs.get("target_ranges", [])
    handles = _target_bands(ax, ranges, attrs) if show_target else []
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
            handles.append(_patch(colours[j], level_text(level)))
    ax.set_xticks(range(len(regimens)), [_wrap(r) for r in regimens])
    ax.set_xlim(-0.6, len(regimens) - 0.4)
    ax.set_ylim(bottom=0.0)
    ax.set_ylabel(label(table.attrs, "Trough"))
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
    _title(fig, str(attrs.get("title", "Trough distribution")))
    if handles:
        _legend(fig, handles, title=subgroup_title if subgroup else None)
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
    from matplotlib.ticker import MaxNLocator

    split = course.levels != ((),)
    days = course.axis
    colours = _colours(len(course.levels)) if split else ["tab:blue"]
    fig, axes = _panels(len(course.regimens))
    handles: list[Any] = []
    top = _target_top(target_ranges)
    p = course.percentiles
    for r, (ax, name) in enumerate(zip(axes, course.regimens, strict=True)):
        handles = _target_bands(ax, target_ranges, attrs, primary_only=True)
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
                handles.append(_Entry((inner, median), level_text(level[0])))
            top = max(top, float(np.nanmax(band["p75" if split else "p95"])))
        ax.set_title(name, fontsize="medium")
        ax.set_xlim(days.min() - 1.0, days.max() + 0.5)
        handles += _comedication_spans(ax, attrs, hours=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0.0, HEADROOM * top)
    day_label = label(course.axis_attrs, "Day") + " (trough at the end of the day)"
    _label_panels(fig, axes, day_label, label(course.value_attrs, "Trough"))
    title = str(attrs.get("title", "Trough course"))
    if split:
        title += f"\nby {subgroup_title}: median (line) and 25th{EN_DASH}75th percentile (band)"
    _title(fig, title)
    _legend(fig, handles)
    return fig


def ribbons_figure(
    course: Course,
    attrs: Mapping[str, Any],
    *,
    regimen: str | None = None,
    target_ranges: Sequence[Mapping[str, Any]] = (),
) -> Figure:
    """Percentile ribbons (5/25/50/75/95) of concentration over time, one panel per regimen
    (or only ``regimen``), nominal doses (``attrs["dose_times_h"]``) marked."""
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
    fig, axes = _panels(len(chosen))
    handles: list[Any] = []
    top = _target_top(target_ranges)
    for ax, name in zip(axes, chosen, strict=True):
        r = course.regimens.index(name)
        band = {key: values[r, 0] for key, values in course.percentiles.items()}
        handles = _target_bands(ax, target_ranges, attrs, primary_only=True)
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
        handles += _comedication_spans(ax, attrs, hours=True)
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
    _label_panels(fig, axes, label(course.axis_attrs, "Time"), label(course.value_attrs, "Conc"))
    _title(fig, str(attrs.get("title", "Concentration")))
    _legend(fig, handles)
    return fig


# --- helpers -----------------------------------------------------------------------------------


def json_attr(attrs: Mapping[str, Any], name: str, default: Any) -> Any:
    """``attrs[name]`` decoded from JSON (``default`` when absent)."""
    value = attrs.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"ds.attrs[{name!r}] is not valid JSON: {error}") from None


def label(attrs: Mapping[str, Any], default: str) -> str:
    """``long_name (units)`` from a variable's attrs, units left out when they only repeat
    the name."""
    name = str(attrs.get("long_name", default))
    units = str(attrs.get("units", "")).strip()
    if not units or units.lower() in {"1", name.lower(), name.lower() + "s"}:
        return name
    return f"{name} ({units})"


def level_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def _title(fig: Figure, text: str) -> None:
    """The figure title, each line wrapped to the figure's width."""
    import textwrap

    width = int(TITLE_CHARS_PER_INCH * fig.get_figwidth())
    lines = [wrapped for line in text.split("\n") for wrapped in textwrap.wrap(line, width)]
    fig.suptitle("\n".join(lines) or text)


def _wrap(text: str) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, LABEL_WRAP_CHARS)) or text


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return [palette(i % palette.N) for i in range(n)]


def _patch(colour: Any, text: str, *, edgecolor: Any = "black"):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor=edgecolor, label=text)


def _panels(n: int) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    columns = 1 if n <= PANEL_COLUMNS else PANEL_COLUMNS
    rows = math.ceil(n / columns)
    width, height = PANEL_SIZE_IN
    fig = Figure(figsize=(width * columns, height * rows + LEGEND_SPACE_IN), layout="constrained")
    grid = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    for extra in grid[n:]:
        extra.remove()
    return fig, list(grid[:n])


class _Entry:
    """A legend entry drawing several artists on top of each other under one label."""

    def __init__(self, artists: tuple, text: str) -> None:
        self.artists, self.label = artists, text


def _legend(fig: Figure, handles: list[Any], *, title: str | None = None) -> None:
    """One legend under the panels, as many columns as the figure width allows."""
    from matplotlib.legend_handler import HandlerTuple

    artists = [h.artists if isinstance(h, _Entry) else h for h in handles]
    labels = [h.label if isinstance(h, _Entry) else h.get_label() for h in handles]
    width = fig.get_figwidth()
    columns = max(1, min(len(handles), MAX_LEGEND_COLUMNS, int(width // LEGEND_COLUMN_IN)))
    fig.legend(
        artists,
        labels,
        title=title,
        fontsize="small",
        loc="outside lower center",
        ncols=columns,
        handler_map={tuple: HandlerTuple(ndivide=1)},
    )


def _label_panels(fig: Figure, axes: Sequence[Axes], xlabel: str, ylabel: str) -> None:
    """Axis labels on every panel's x axis (a figure-level x label would collide with the
    legend below the panels) and one y label."""
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.xaxis.set_tick_params(labelbottom=True)
    if len(axes) == 1:
        axes[0].set_ylabel(ylabel)
    else:
        fig.supylabel(ylabel)


def _target_top(ranges: Sequence[Mapping[str, Any]]) -> float:
    """Highest finite upper target limit (0 when none), so the band always shows."""
    finite = [r["upper"] for r in ranges if math.isfinite(r["upper"])]
    return float(max(finite)) if finite else 0.0


def _target_bands(
    ax: Axes,
    ranges: Sequence[Mapping[str, Any]],
    attrs: Mapping[str, Any],
    *,
    primary_only: bool = False,
) -> list[Any]:
    """Shade the most common target range; others (e.g. renal) lighter and hatched."""
    renal_total = sum(r["renal_impaired"] or 0 for r in ranges)
    handles = []
    for k, entry in enumerate(ranges):
        if k > (0 if primary_only else MAX_OTHER_TARGETS):
            break
        low, high, count = entry["lower"], entry["upper"], entry["subjects"]
        text = f"{format_range(low, high)} ng/mL"
        if k == 0:
            patch = ax.axhspan(low, high, color=TARGET_COLOUR, alpha=TARGET_ALPHA, zorder=0)
            patch.set_label(f"target {attrs.get('target_label') or text}")
        else:
            renal = entry["renal_impaired"] is not None and (
                entry["renal_impaired"] == count == renal_total
            )
            who = ", renal impairment" if renal else ""
            patch = ax.axhspan(
                low,
                high,
                facecolor=OTHER_TARGET_COLOUR,
                alpha=OTHER_TARGET_ALPHA,
                hatch="//",
                edgecolor=OTHER_TARGET_COLOUR,
                zorder=0,
            )
            patch.set_label(f"target {text} ({count} subjects{who})")
        handles.append(patch)
    return handles


def _comedication_spans(ax: Axes, attrs: Mapping[str, Any], *, hours: bool) -> list:
    """Shade each co-medication course over the current x limits (set them first).

    A course from ``start_day`` to ``stop_day`` (inclusive) is active on
    t in [24 (start_day - 1), 24 stop_day) h. On a time axis that is the span in hours; on a
    trough-day axis (the trough of day d is at t = 24 d) it is [start_day - 1, stop_day].
    """
    courses = json_attr(attrs, "comedications", [])
    if not isinstance(courses, list) or not all(
        isinstance(c, dict) and "drug" in c for c in courses
    ):
        raise ValueError(
            "ds.attrs['comedications'] must be a JSON list of "
            '{"drug", "start_day", "stop_day"} objects'
        )
    low, high = ax.get_xlim()
    scale = HOURS_PER_DAY if hours else 1.0
    handles = []
    for course in courses:
        start, stop = course.get("start_day"), course.get("stop_day")
        start = -math.inf if start is None else float(start)
        left = max(low, scale * (start - 1.0))
        right = high if stop is None else min(high, scale * float(stop))
        if right <= left:
            continue
        begin = "before day 1" if math.isinf(start) else f"day {start:g}"
        end = "end" if stop is None else f"day {float(stop):g}"
        if left <= low and right >= high:  # throughout: shading everything would hide nothing
            handles.append(_patch("none", f"{course['drug']} throughout", edgecolor="none"))
            continue
        span = ax.axvspan(
            left, right, color=COMEDICATION_COLOUR, alpha=COMEDICATION_ALPHA, zorder=0
        )
        span.set_label(f"{course['drug']} ({begin} to {end})")
        handles.append(span)
    ax.set_xlim(low, high)
    return handles
