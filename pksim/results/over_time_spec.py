"""What attainment over time evaluates, checked once for the in-memory and the streamed paths.

:func:`over_time_spec` checks the arguments of ``pksim.attainment_over_time`` /
``pksim.summarize_over_time`` against what is available (a Dataset's days and subject
coordinates, or a scenario's) and returns an :class:`OverTimeSpec`. Both paths default to the
same span: every simulated day.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr

from pksim.results.spec import (
    JudgedTroughs,
    _target_override,
    checked_groupings,
    checked_measured,
    dataset_days_and_coordinates,
    scenario_coordinates,
)
from pksim.scenario import Scenario

__all__ = [
    "OVER_EXPOSURE_NG_PER_ML",
    "UNDER_EXPOSURE_NG_PER_ML",
    "OverTimeSpec",
    "dataset_over_time_spec",
    "over_time_spec",
    "scenario_over_time_spec",
]

OVER_EXPOSURE_NG_PER_ML = 15.0
"""Default over-exposure limit (ng/mL): a subject whose trough is ever *above* it (strictly)
over the span counts as over-exposed. The value is the one stated by the project's issue 11
("the fraction ever above 15 ng/mL (over-exposure)"), which also uses it as the hold rule of
its example TDM step table; neither DOMAIN.md nor PK_REFERENCE.md (nor the LN consensus they
cite, whose highest target bound is 10 ng/mL) gives a sourced toxicity threshold, so it is a
setting (``above_ng_per_ml=``), not a cited fact."""

UNDER_EXPOSURE_NG_PER_ML = 3.0
"""Default under-exposure limit (ng/mL): a subject whose trough is ever *below* it (strictly)
over the span counts as under-exposed. Stated by issue 11 ("ever below 3 ng/mL"); it equals the
lowest lower bound of the LN consensus targets (maintenance 3-6 ng/mL, ``library/targets``,
source LNConsensus, evidence V). A setting (``below_ng_per_ml=``)."""


@dataclass(frozen=True, slots=True)
class OverTimeSpec(JudgedTroughs):
    """What attainment over time evaluates.

    ``groupings``: per table, the subgroup coordinates after ``regimen``; the span
    ``first_day``..``last_day`` (inclusive) whose days are evaluated; ``measured`` troughs (with
    assay error) or true ones; a ``target`` (lower, upper) ng/mL for everyone, or None for the
    per-subject targets; ``above_ng_per_ml`` / ``below_ng_per_ml``: the over- and
    under-exposure limits (ng/mL, strict comparisons).
    """

    groupings: tuple[tuple[str, ...], ...]
    first_day: int
    last_day: int
    measured: bool
    target: tuple[float, float] | None
    above_ng_per_ml: float
    below_ng_per_ml: float


def over_time_spec(
    groupings: Sequence[str | Sequence[str]],
    *,
    span: Any,
    measured: Any,
    target: Any,
    above_ng_per_ml: Any,
    below_ng_per_ml: Any,
    days: Sequence[int],
    coordinates: Mapping[str, bool],
    source: str,
) -> OverTimeSpec:
    """Check the arguments; raise ValueError naming what is wrong and what is allowed.

    ``span``: (first_day, last_day) or None for every day of ``days``; ``coordinates``: subject
    coordinate -> whether it is categorical; ``source``: what holds them, for messages.
    """
    checked = checked_groupings(groupings, coordinates)
    checked_measured(measured)
    first, last = _span(span, days, source)
    return OverTimeSpec(
        groupings=checked,
        first_day=first,
        last_day=last,
        measured=measured,
        target=_target_override(target),
        above_ng_per_ml=_limit("above_ng_per_ml", above_ng_per_ml),
        below_ng_per_ml=_limit("below_ng_per_ml", below_ng_per_ml),
    )


def dataset_over_time_spec(
    ds: xr.Dataset, groupings: Sequence[str | Sequence[str]], **arguments: Any
) -> OverTimeSpec:
    """:func:`over_time_spec` against a result Dataset: its days and its subject coordinates."""
    days, coordinates = dataset_days_and_coordinates(ds)
    return over_time_spec(
        groupings, days=days, coordinates=coordinates, source="dataset", **arguments
    )


def scenario_over_time_spec(
    scenario: Scenario, groupings: Sequence[str | Sequence[str]], **arguments: Any
) -> OverTimeSpec:
    """:func:`over_time_spec` against what a run of ``scenario`` will hold: days 1..days and
    the contract's subject coordinates."""
    return over_time_spec(
        groupings,
        days=range(1, scenario.days + 1),
        coordinates=scenario_coordinates(),
        source="scenario",
        **arguments,
    )


def _span(span: Any, days: Sequence[int], source: str) -> tuple[int, int]:
    """(first, last) of the span: the argument, else every day."""
    if span is None:
        return min(days), max(days)
    if isinstance(span, str | bytes) or not isinstance(span, Sequence) or len(span) != 2:
        raise ValueError(f"span must be (first_day, last_day), got {span!r}")
    allowed = f"integers {min(days)}..{max(days)}"
    checked = []
    for value in span:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"span must hold day numbers ({allowed}), got {value!r}")
        if int(value) not in days:
            raise ValueError(f"span: day {int(value)} is not in the {source}; allowed: {allowed}")
        checked.append(int(value))
    first, last = checked
    if first > last:
        raise ValueError(f"span: first_day ({first}) must be <= last_day ({last})")
    return first, last


def _limit(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a concentration in ng/mL, got {value!r}")
    if not (math.isfinite(float(value)) and float(value) > 0.0):
        raise ValueError(f"{name} must be a finite concentration > 0 ng/mL, got {value!r}")
    return float(value)
