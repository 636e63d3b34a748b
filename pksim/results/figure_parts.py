"""Drawing parts shared by the figures: panels, legends, titles, labels, target bands and
co-medication spans, read from a run's provenance attrs and a table's target ranges."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pksim.results.tables import format_range
from pksim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TARGET_COLOUR, TARGET_ALPHA = "tab:green", 0.15
OTHER_TARGET_COLOUR, OTHER_TARGET_ALPHA = "tab:orange", 0.08
COMEDICATION_COLOUR, COMEDICATION_ALPHA = "0.5", 0.12
LEGEND_COLUMN_IN = 2.6
MAX_LEGEND_COLUMNS = 4
LABEL_WRAP_CHARS = 18
PANEL_SIZE_IN = (7.5, 3.2)
LEGEND_SPACE_IN = 2.0
PANEL_COLUMNS = 2
MAX_OTHER_TARGETS = 3
TITLE_CHARS_PER_INCH = 9
"""Characters of a figure title that fit one inch of figure width (large font)."""


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


def figure_title(fig: Figure, text: str) -> None:
    """The figure title, each line wrapped to the figure's width."""
    import textwrap

    width = int(TITLE_CHARS_PER_INCH * fig.get_figwidth())
    lines = [wrapped for line in text.split("\n") for wrapped in textwrap.wrap(line, width)]
    fig.suptitle("\n".join(lines) or text)


def wrap_label(text: str) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, LABEL_WRAP_CHARS)) or text


def palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return [palette(i % palette.N) for i in range(n)]


def legend_patch(colour: Any, text: str, *, edgecolor: Any = "black"):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor=edgecolor, label=text)


def panel_grid(n: int) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    columns = 1 if n <= PANEL_COLUMNS else PANEL_COLUMNS
    rows = math.ceil(n / columns)
    width, height = PANEL_SIZE_IN
    fig = Figure(figsize=(width * columns, height * rows + LEGEND_SPACE_IN), layout="constrained")
    grid = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
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


def label_panel_axes(fig: Figure, axes: Sequence[Axes], xlabel: str, ylabel: str) -> None:
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
    """Shade the most common target range; others (e.g. renal) lighter and hatched."""
    renal_total = sum(r["renal_impaired"] or 0 for r in ranges)
    handles = []
    for k, entry in enumerate(ranges):
        if k > (0 if primary_only else MAX_OTHER_TARGETS):
            break
        low, high, count = entry["lower"], entry["upper"], entry["subjects"]
        text = f"{format_range(low, high)} ng/mL"
        renal = bool(renal_total) and entry["renal_impaired"] == count == renal_total
        if k == 0:
            patch = ax.axhspan(low, high, color=TARGET_COLOUR, alpha=TARGET_ALPHA, zorder=0)
            # The most common range is the renal one when most subjects are impaired.
            name = f"{text} (renal impairment)" if renal else attrs.get("target_label") or text
            patch.set_label(f"target {name}")
        else:
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
        if left <= low and right >= high:  # throughout: shading everything would hide nothing
            handles.append(legend_patch("none", f"{course['drug']} throughout", edgecolor="none"))
            continue
        span = ax.axvspan(
            left, right, color=COMEDICATION_COLOUR, alpha=COMEDICATION_ALPHA, zorder=0
        )
        span.set_label(f"{course['drug']} ({begin} to {end})")
        handles.append(span)
    ax.set_xlim(low, high)
    return handles
