"""Drawing parts shared by the figures: panels, legends, titles, labels, target bands and
co-medication spans, read from a run's provenance attrs and a table's target ranges."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pksim.results.figure_text import (
    font_size_pt,
    provenance_line,
    text_width_pt,
    wrap_to_width,
)
from pksim.results.tables import format_range
from pksim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

POINTS_PER_INCH = 72.0
TARGET_COLOUR, TARGET_ALPHA = "tab:green", 0.15
OTHER_TARGET_COLOUR, OTHER_TARGET_ALPHA = "tab:red", 0.08
COMEDICATION_COLOUR, COMEDICATION_ALPHA = "0.5", 0.12
LEGEND_FONT_SIZE = "small"
LEGEND_ENTRY_EXTRA_EM = 5.0
"""Width of a legend entry beyond its text, in font sizes (the handle, padding and the space
between columns: matplotlib's defaults 2 + 0.8 + 2 em, rounded up)."""
MAX_LEGEND_COLUMNS = 4
PANEL_SIZE_IN = (7.5, 3.2)
LEGEND_SPACE_IN = 2.0
PANEL_COLUMNS = 2
MAX_OTHER_TARGETS = 3
TITLE_MARGIN_IN = 0.3
"""Room (inches) left beside a figure title, which is wrapped to the rest of the width."""
PROVENANCE_LINE_IN = 0.22
"""Height (inches) of the line under the title saying what the figure was computed from."""
PROVENANCE_COLOUR = "0.3"
Y_AXIS_ROOM_IN = 1.0
"""Width (inches) taken by a y axis with its label: the rest is the room of the x labels."""
TICK_LABEL_FILL = 0.92
"""Part of its slot an x label may fill, so that neighbouring labels never touch."""
MAX_TICK_LABEL_LINES = 3
"""Lines of an x label before the labels are set in a smaller font."""
TICK_LABEL_SIZES = ("medium", "small", "x-small")
"""Font sizes tried for x labels, largest first."""


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


def axis_label(attrs: Mapping[str, Any], default: str) -> str:
    """``long_name (units)`` from a variable's attrs, units left out when they only repeat
    the name ("Day of treatment", not "Day of treatment (day)")."""
    name = str(attrs.get("long_name", default))
    units = str(attrs.get("units", "")).strip()
    words = {word.strip("()").lower() for word in name.split()}
    if not units or units.lower() == "1" or {units.lower(), units.lower() + "s"} & words:
        return name
    return f"{name} ({units})"


def level_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def new_figure(width_in: float, height_in: float, attrs: Mapping[str, Any]) -> tuple:
    """A figure ``width_in`` x ``height_in`` inches (plus the provenance line) and the
    subfigure to draw in; under the title, one small line says what it was computed from
    (cohort size, seed, scenario, parameter set, pksim version: :func:`provenance_line`)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in + PROVENANCE_LINE_IN), layout="constrained")
    line, main = fig.subfigures(2, 1, height_ratios=[PROVENANCE_LINE_IN, height_in])
    line.text(
        0.5,
        0.5,
        provenance_line(attrs),
        fontsize="x-small",
        color=PROVENANCE_COLOUR,
        ha="center",
        va="center",
        gid="provenance",
    )
    return fig, main


def figure_title(fig: Figure, text: str) -> None:
    """The figure title, each line wrapped to the figure's width (measured in its font)."""
    from matplotlib import rcParams

    size = font_size_pt(rcParams["figure.titlesize"])
    width_pt = (fig.get_figwidth() - TITLE_MARGIN_IN) * POINTS_PER_INCH
    lines = wrap_to_width(text, width_pt, size)
    low = 0.0  # balance the lines: the narrowest width that needs no more of them
    while width_pt - low > 1.0:
        middle = (low + width_pt) / 2
        if len(wrap_to_width(text, middle, size)) <= len(lines):
            width_pt = middle
        else:
            low = middle
    fig.suptitle("\n".join(wrap_to_width(text, width_pt, size)) or text)


def label_regimens(ax: Axes, names: Sequence[str], slot_in: float) -> None:
    """The regimens' names under their positions 0, 1, ..., each wrapped to its slot
    (``slot_in`` inches wide); in a smaller font when a name would need more than
    MAX_TICK_LABEL_LINES lines, so that neighbours never overlap."""
    width_pt = TICK_LABEL_FILL * slot_in * POINTS_PER_INCH
    for size in TICK_LABEL_SIZES:
        points = font_size_pt(size)
        wrapped = [wrap_to_width(name, width_pt, points) for name in names]
        if max(len(lines) for lines in wrapped) <= MAX_TICK_LABEL_LINES:
            break
    ax.set_xticks(range(len(names)), ["\n".join(lines) for lines in wrapped], fontsize=size)


def palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return [palette(i % palette.N) for i in range(n)]


def legend_patch(colour: Any, text: str, *, edgecolor: Any = "black"):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor=edgecolor, label=text)


def panel_grid(n: int, attrs: Mapping[str, Any]) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels sharing their axes (two columns from three panels on), under
    the provenance line of ``attrs``, and the panels."""
    columns = 1 if n <= PANEL_COLUMNS else PANEL_COLUMNS
    rows = math.ceil(n / columns)
    width, height = PANEL_SIZE_IN
    fig, main = new_figure(width * columns, height * rows + LEGEND_SPACE_IN, attrs)
    grid = main.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    for extra in grid[n:]:
        extra.remove()
    return fig, list(grid[:n])


class LegendEntry:
    """A legend entry drawing several artists on top of each other under one label."""

    def __init__(self, artists: tuple, text: str) -> None:
        self.artists, self.label = artists, text


def figure_legend(fig: Figure, handles: list[Any], *, title: str | None = None) -> None:
    """One legend under the panels, as many columns as the figure width allows."""
    from matplotlib.legend_handler import HandlerTuple

    artists = [h.artists if isinstance(h, LegendEntry) else h for h in handles]
    labels = [h.label if isinstance(h, LegendEntry) else h.get_label() for h in handles]
    size = font_size_pt(LEGEND_FONT_SIZE)
    room = (fig.get_figwidth() - TITLE_MARGIN_IN) * POINTS_PER_INCH
    widest = max(text_width_pt(str(label), size) for label in labels)
    columns = int(room // (widest + LEGEND_ENTRY_EXTRA_EM * size))
    columns = max(1, min(len(handles), MAX_LEGEND_COLUMNS, columns))
    fig.legend(
        artists,
        labels,
        title=title,
        fontsize=LEGEND_FONT_SIZE,
        loc="outside lower center",
        ncols=columns,
        handler_map={tuple: HandlerTuple(ndivide=1)},
    )


def label_panel_axes(
    fig: Figure | SubFigure, axes: Sequence[Axes], xlabel: str, ylabel: str
) -> None:
    """Axis labels on every panel's x axis (a figure-level x label would collide with the
    legend below the panels) and one y label."""
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.xaxis.set_tick_params(labelbottom=True)
    if len(axes) == 1:
        axes[0].set_ylabel(ylabel)
    else:
        fig.supylabel(ylabel)


def target_top(ranges: Sequence[Mapping[str, Any]]) -> float:
    """Highest finite upper target limit (0 when none), so the band always shows."""
    finite = [r["upper"] for r in ranges if math.isfinite(r["upper"])]
    return float(max(finite)) if finite else 0.0


def shade_targets(
    ax: Axes,
    ranges: Sequence[Mapping[str, Any]],
    attrs: Mapping[str, Any],
    *,
    primary_only: bool = False,
) -> list[Any]:
    """Shade the target ranges (at most 1 + MAX_OTHER_TARGETS; only the main one with
    ``primary_only``): the scenario's target (the range of most subjects without renal
    impairment) green, others (the renal ceiling) lighter and hatched. Each legend entry gives
    the numbers, what the range is for and, when subjects have different ranges, how many."""
    handles = []
    for k, entry in enumerate(_main_first(ranges)):
        if k > (0 if primary_only else MAX_OTHER_TARGETS):
            break
        low, high = entry["lower"], entry["upper"]
        text = target_legend_text(entry, ranges, attrs)
        if k == 0:
            patch = ax.axhspan(low, high, color=TARGET_COLOUR, alpha=TARGET_ALPHA, zorder=0)
        else:
            patch = ax.axhspan(
                low,
                high,
                facecolor=OTHER_TARGET_COLOUR,
                alpha=OTHER_TARGET_ALPHA,
                hatch="//",
                edgecolor=OTHER_TARGET_COLOUR,
                zorder=0,
            )
        patch.set_label(text)
        handles.append(patch)
    return handles


def _renal_only(entry: Mapping[str, Any], ranges: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a range is the renal ceiling: every subject judged by it (and no one else) has
    renal impairment, and other subjects have another range."""
    renal = entry["renal_impaired"]
    return len(ranges) > 1 and renal is not None and renal == entry["subjects"] > 0


def _main_first(ranges: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ranges, the scenario's own target (most subjects, not the renal ceiling) first."""
    return sorted(ranges, key=lambda entry: _renal_only(entry, ranges))


def target_legend_text(
    entry: Mapping[str, Any], ranges: Sequence[Mapping[str, Any]], attrs: Mapping[str, Any]
) -> str:
    """ "target induction 6-10 ng/mL (263 subjects)", "target ≤ 4 ng/mL (renal impairment,
    37 subjects)": the range's numbers always, its phase or use, its subjects when ranges
    differ between subjects."""
    numbers = f"{format_range(entry['lower'], entry['upper'])} ng/mL"
    count = entry["subjects"]
    if _renal_only(entry, ranges):
        return f"target {numbers} (renal impairment, {count:,} subjects)"
    label = str(attrs.get("target_label") or "").strip()
    if not label or label == numbers:
        name = f"target {numbers}"
    else:
        name = f"target {label}" if numbers in label else f"target {label} {numbers}"
    return f"{name} ({count:,} subjects)" if len(ranges) > 1 else name


def shade_comedications(ax: Axes, attrs: Mapping[str, Any], *, hours: bool) -> list:
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
        fraction = course.get("fraction")
        who = "" if fraction is None or fraction >= 1 else f", {fraction:.0%} of subjects"
        if left <= low and right >= high:  # throughout: shading everything would hide nothing
            text = f"{course['drug']} throughout{f' ({who[2:]})' if who else ''}"
            handles.append(legend_patch("none", text, edgecolor="none"))
            continue
        span = ax.axvspan(
            left, right, color=COMEDICATION_COLOUR, alpha=COMEDICATION_ALPHA, zorder=0
        )
        span.set_label(f"{course['drug']} ({begin} to {end}{who})")
        handles.append(span)
    ax.set_xlim(low, high)
    return handles
