"""Dose changes on a trough-course panel: scheduled changes, holds and monitoring days.

On a trough-day axis the trough of day d is at x = d, and a dose given from the first dose of
day d acts from x = d - 1; a hold of days a..b spans [a - 1, b]. The days come from the run's
``dose_timeline`` attr (:func:`pksim.contract.dose_timeline`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pksim.contract import DOSE_TIMELINE
from pksim.results.figure_parts import json_attr

__all__ = ["mark_dose_timeline"]

CHANGE_COLOUR = "tab:purple"
"""Colour of the lines at scheduled dose changes and at doses set by a monitoring result."""
HOLD_COLOUR = "tab:red"
"""Colour of the hatched spans of held doses."""
HOLD_ALPHA = 0.12
DRAW_MARKER = "v"
"""Marker of a monitoring draw (at the top of the panel)."""


def mark_dose_timeline(ax: Any, attrs: Mapping[str, Any], regimen: str) -> list[Any]:
    """Mark ``regimen``'s dose changes, holds and monitoring on ``ax`` (x limits set first);
    the legend handles, one per kind drawn."""
    timeline = json_attr(attrs, DOSE_TIMELINE, {}).get(regimen)
    if not timeline:
        return []
    handles: dict[str, Any] = {}
    for day in timeline["changes"]:
        line = ax.axvline(day - 1, color=CHANGE_COLOUR, linestyle="--", linewidth=1.0)
        handles.setdefault("scheduled dose change", line)
    for day in timeline["tdm_effective"]:
        line = ax.axvline(day - 1, color=CHANGE_COLOUR, linestyle=":", linewidth=1.0)
        handles.setdefault("doses set by a monitoring result", line)
    for first, last in timeline["holds"]:
        span = ax.axvspan(
            first - 1,
            last,
            facecolor=HOLD_COLOUR,
            alpha=HOLD_ALPHA,
            hatch="xx",
            edgecolor=HOLD_COLOUR,
        )
        handles.setdefault("doses held", span)
    if timeline["tdm_draws"]:
        (draws,) = ax.plot(
            timeline["tdm_draws"],
            [1.0] * len(timeline["tdm_draws"]),
            linestyle="none",
            marker=DRAW_MARKER,
            color=CHANGE_COLOUR,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )
        handles.setdefault("monitoring draw (trough)", draws)
    for text, handle in handles.items():
        handle.set_label(text)
    return list(handles.values())
