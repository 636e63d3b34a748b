"""What an attainment table evaluates, checked once for the in-memory and the streamed paths.

:func:`attainment_spec` checks the arguments of ``target_attainment`` / ``summarize`` against
what is available (a Dataset's days and subject coordinates, or a scenario's) and returns an
:class:`AttainmentSpec`. Both paths default to the same days: the scenario's ``[target]``
window, else its day, else the last day (a Dataset carries them as the attrs
:data:`~pksim.contract.TARGET_FIRST_DAY`, :data:`~pksim.contract.TARGET_LAST_DAY` and
:data:`~pksim.contract.TARGET_IS_WINDOW`; one without them is judged on its last day).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from pksim import contract
from pksim.checks import unknown_name_message
from pksim.results.percentiles import PERCENTILE_METHODS
from pksim.scenario import Scenario

__all__ = [
    "AttainmentSpec",
    "JudgedTroughs",
    "attainment_spec",
    "checked_groupings",
    "checked_measured",
    "dataset_days_and_coordinates",
    "dataset_spec",
    "grouping",
    "scenario_coordinates",
    "scenario_spec",
]

REGIMEN = "regimen"
"""The grouping every table starts with (named in ``by`` or not)."""


class JudgedTroughs:
    """What every spec of trough tables derives from its ``measured`` flag and its
    ``groupings`` (a base of the frozen spec dataclasses, which hold those fields)."""

    __slots__ = ()
    measured: bool
    groupings: tuple[tuple[str, ...], ...]

    @property
    def variable(self) -> str:
        """The Dataset variable judged."""
        return contract.MEASURED if self.measured else contract.TROUGH

    @property
    def coordinates(self) -> frozenset[str]:
        """Subject coordinates the groupings need."""
        return frozenset(name for grouping in self.groupings for name in grouping)


@dataclass(frozen=True, slots=True)
class AttainmentSpec(JudgedTroughs):
    """What attainment tables evaluate.

    ``groupings``: per table, the subgroup coordinates after ``regimen``; ``first_day`` to
    ``last_day`` (inclusive; equal for one day) and whether that is a ``window`` (in range on
    every day); ``measured`` troughs (with assay error) or true ones; a ``target`` (lower,
    upper) ng/mL for everyone, or None for the per-subject targets; ``percentiles``:
    ``"exact"`` or ``"histogram"``.
    """

    groupings: tuple[tuple[str, ...], ...]
    first_day: int
    last_day: int
    window: bool
    measured: bool
    target: tuple[float, float] | None
    percentiles: str


def attainment_spec(
    groupings: Sequence[str | Sequence[str]],
    *,
    day: Any,
    window: Any,
    measured: Any,
    target: Any,
    percentiles: Any,
    days: Sequence[int],
    default: tuple[int, int, bool],
    coordinates: Mapping[str, bool],
    source: str,
) -> AttainmentSpec:
    """Check the arguments; raise ValueError naming what is wrong and what is allowed.

    ``days``: the day numbers available; ``default``: (first, last, is_window) when neither
    ``day`` nor ``window`` is given; ``coordinates``: subject coordinate -> whether it is
    categorical (groupable); ``source``: what holds them, for messages ("dataset", "scenario").
    """
    checked = checked_groupings(groupings, coordinates)
    checked_measured(measured)
    if percentiles not in PERCENTILE_METHODS:
        raise ValueError(
            unknown_name_message("percentiles method", str(percentiles), PERCENTILE_METHODS)
        )
    first, last, is_window = _days(day, window, days, default, source)
    return AttainmentSpec(
        groupings=checked,
        first_day=first,
        last_day=last,
        window=is_window,
        measured=measured,
        target=_target_override(target),
        percentiles=percentiles,
    )


def dataset_spec(
    ds: xr.Dataset, groupings: Sequence[str | Sequence[str]], **arguments: Any
) -> AttainmentSpec:
    """:func:`attainment_spec` against a result Dataset: its days, its categorical subject
    coordinates, and by default the target days in its attrs (else its last day)."""
    days, coordinates = dataset_days_and_coordinates(ds)
    return attainment_spec(
        groupings,
        days=days,
        default=_dataset_target_days(ds, days),
        coordinates=coordinates,
        source="dataset",
        **arguments,
    )


def scenario_spec(
    scenario: Scenario, groupings: Sequence[str | Sequence[str]], **arguments: Any
) -> AttainmentSpec:
    """:func:`attainment_spec` against what a run of ``scenario`` will hold: days 1..days,
    the contract's subject coordinates, by default the scenario's target days."""
    first, last = contract.target_days(scenario)
    return attainment_spec(
        groupings,
        days=range(1, scenario.days + 1),
        default=(first, last, scenario.target.window is not None),
        coordinates=scenario_coordinates(),
        source="scenario",
        **arguments,
    )


def dataset_days_and_coordinates(ds: xr.Dataset) -> tuple[list[int], dict[str, bool]]:
    """A result Dataset's day numbers and its subject coordinates (name -> categorical), or a
    ValueError when it has no days."""
    if "day" not in ds.coords:
        raise ValueError("dataset has no 'day' coordinate")
    days = [int(d) for d in np.atleast_1d(ds["day"].values)]
    if not days:
        raise ValueError("dataset has no days")
    coordinates = {
        str(name): coord.dtype.kind not in "fc"
        for name, coord in ds.coords.items()
        if coord.dims == ("subject",) and name != "subject"
    }
    return days, coordinates


def scenario_coordinates() -> dict[str, bool]:
    """The subject coordinates a run of any scenario holds (name -> categorical)."""
    return {
        name: name not in contract.CONTINUOUS_COORDINATES for name in contract.SUBJECT_COORDINATES
    }


def checked_groupings(
    groupings: Any, coordinates: Mapping[str, bool]
) -> tuple[tuple[str, ...], ...]:
    """Each :func:`grouping` of a non-empty list of them, checked against ``coordinates``."""
    if isinstance(groupings, str) or not isinstance(groupings, Sequence) or not groupings:
        raise ValueError(f"groupings must be a non-empty list of groupings, got {groupings!r}")
    return tuple(grouping(by, coordinates) for by in groupings)


def checked_measured(measured: Any) -> bool:
    """``measured`` when it is True or False, else a ValueError."""
    if not isinstance(measured, bool):
        raise ValueError(f"measured must be True or False, got {measured!r}")
    return measured


def _dataset_target_days(ds: xr.Dataset, days: list[int]) -> tuple[int, int, bool]:
    names = (contract.TARGET_FIRST_DAY, contract.TARGET_LAST_DAY, contract.TARGET_IS_WINDOW)
    if not all(name in ds.attrs for name in names):
        return days[-1], days[-1], False
    first, last, is_window = (int(ds.attrs[name]) for name in names)
    missing = sorted({first, last} - set(days))
    if missing:
        raise ValueError(
            f"the dataset's target days (attrs {names[0]}={first}, {names[1]}={last}) are not "
            f"all in its days {days[0]}..{days[-1]}; pass day= or window="
        )
    return first, last, bool(is_window)


def grouping(by: Any, coordinates: Mapping[str, bool]) -> tuple[str, ...]:
    """The subgroup coordinates of one grouping (``regimen`` dropped), checked against the
    available ``coordinates`` (name -> categorical)."""
    names = [by] if isinstance(by, str) else by
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"by must be a coordinate name or a sequence of names, got {by!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"by names a grouping twice: {list(names)}")
    valid = [REGIMEN, *coordinates]
    subgroups = tuple(name for name in names if name != REGIMEN)
    for name in subgroups:
        if name not in coordinates:
            raise ValueError("by: " + unknown_name_message("grouping", name, valid))
        if not coordinates[name]:
            categorical = [REGIMEN, *(n for n, groupable in coordinates.items() if groupable)]
            raise ValueError(
                f"by: {name!r} is a continuous (float) coordinate; group by a categorical one "
                f"instead, e.g. 'weight_band'. Categorical: {categorical}"
            )
    return subgroups


def _days(
    day: Any, window: Any, days: Sequence[int], default: tuple[int, int, bool], source: str
) -> tuple[int, int, bool]:
    """(first, last, is_window): the arguments, else ``default``."""
    if day is not None and window is not None:
        raise ValueError("give either day or window, not both")
    if day is None and window is None:
        return default
    allowed = f"integers {min(days)}..{max(days)}"
    if window is not None:
        if isinstance(window, str | bytes) or not isinstance(window, Sequence) or len(window) != 2:
            raise ValueError(f"window must be (first_day, last_day), got {window!r}")
        first, last = (_day("window", value, days, allowed, source) for value in window)
        if first > last:
            raise ValueError(f"window: first_day ({first}) must be <= last_day ({last})")
        return first, last, True
    chosen = _day("day", day, days, allowed, source)
    return chosen, chosen, False


def _day(argument: str, value: Any, days: Sequence[int], allowed: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{argument} must be a day number ({allowed}), got {value!r}")
    if int(value) not in days:
        raise ValueError(f"{argument}: day {int(value)} is not in the {source}; allowed: {allowed}")
    return int(value)


def _target_override(target: Any) -> tuple[float, float] | None:
    if target is None:
        return None
    if isinstance(target, str | bytes) or not isinstance(target, Sequence) or len(target) != 2:
        raise ValueError(f"target must be (lower, upper) in ng/mL, got {target!r}")
    for name, value in zip(("lower", "upper"), target, strict=True):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"target {name} must be a number in ng/mL, got {value!r}")
    lower, upper = float(target[0]), float(target[1])
    if not (math.isfinite(lower) and lower >= 0.0 and upper > lower):
        raise ValueError(
            "target must satisfy 0 <= lower < upper (ng/mL, upper may be inf), "
            f"got ({lower}, {upper})"
        )
    return lower, upper
