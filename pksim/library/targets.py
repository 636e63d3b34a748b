"""Consensus trough target ranges (``pksim/data/targets.toml``) and per-subject attainment.

Targets are whole-blood trough concentrations in ng/mL, bounds inclusive. The Chinese LN
consensus (source key ``LNConsensus``) gives induction 6-10 ng/mL and maintenance 3-6 ng/mL,
and a ceiling of 4 ng/mL for renal-impaired patients (eGFR < 40 mL/min/1.73 m2 or serum
creatinine > 1.2 x the upper limit of normal). The ceiling replaces the phase range subject by
subject: see :func:`subject_target_bounds`; who is renal-impaired is
:func:`pksim.cohort.renal.is_renal_impaired`.

Every function here is a pure array function; none loops over subjects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.checks import check_keys as check_table_keys
from pksim.checks import get_bool, get_number, get_str, text_problem
from pksim.errors import Invalid, Problems, collect, shown, unknown_name
from pksim.library.cited import (
    check_keys,
    finite_float,
    read_cited,
    read_data,
    read_evidence,
    read_sources,
)

__all__ = [
    "RenalThresholds",
    "TargetPlan",
    "TargetRange",
    "in_range",
    "in_range_every_day",
    "in_range_on_day",
    "load_renal_thresholds",
    "load_targets",
    "resolve_target",
    "subject_target_bounds",
]

TARGET_UNITS = "ng/mL"
"""The only unit of target bounds: whole-blood trough concentration."""

RENAL_RANGE = "renal_impairment"
"""Name of the range in targets.toml applied to renal-impaired subjects."""

MAX_TARGET_NG_PER_ML = 100.0
"""Highest bound of a custom target range (ng/mL): ten times the top of the consensus induction
range; a larger bound is a unit slip (ng/L typed as ng/mL)."""

MAX_LABEL_CHARS = 100
"""Longest label or source of a target range (characters): it is a result attribute and a plot
annotation."""

TARGET_KEYS = ("phase", "lower_ng_per_ml", "upper_ng_per_ml", "day", "window", "renal_ceiling")
"""Keys of a scenario's ``[target]`` table."""


@dataclass(frozen=True, slots=True)
class TargetRange:
    """A trough target window ``lower <= C0 <= upper`` in ng/mL, with its label and source key.

    A custom range is ``TargetRange(5, 8, label="my range", source="user")``.
    """

    lower: float
    upper: float
    label: str
    source: str

    def __post_init__(self) -> None:
        problems = Problems()
        for name in ("lower", "upper"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                problems.add(name, f"must be a number in ng/mL, got {shown(value)}")
            elif finite_float(value) is None or value < 0:
                problems.add(name, f"must be a finite number >= 0 ng/mL, got {shown(value)}")
        if not problems and not self.lower < self.upper:
            problems.add(
                "",
                f"lower must be below upper, got lower={self.lower!r}, upper={self.upper!r} ng/mL",
            )
        for name in ("label", "source"):
            value = getattr(self, name)
            if not isinstance(value, str):
                problems.add(name, f"must be a non-empty string, got {shown(value)}")
            elif problem := text_problem(value, MAX_LABEL_CHARS):
                problems.add(name, problem)
        if problems:
            raise Invalid("TargetRange", problems)
        object.__setattr__(self, "lower", float(self.lower))
        object.__setattr__(self, "upper", float(self.upper))


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """The target range and when attainment is judged (``day`` or a ``window`` of days)."""

    target: TargetRange
    phase: str | None
    renal_ceiling: bool = True
    day: int | None = None
    window: tuple[int, int] | None = None

    @classmethod
    def from_mapping(
        cls, table: Mapping, where: str, problems: Problems, *, days: int
    ) -> TargetPlan | None:
        """The plan of a scenario's ``[target]`` table over ``days`` days (None if unusable);
        problems are added under ``where``."""
        check_table_keys(table, TARGET_KEYS, where, problems)
        known = load_targets()
        phases = [name for name in known if name != RENAL_RANGE]
        custom = "lower_ng_per_ml" in table or "upper_ng_per_ml" in table
        phase = get_str(
            table,
            "phase",
            where,
            problems,
            default=None if custom else "induction",
            choices=phases,
            kind="target phase",
        )
        if custom and "phase" in table:
            problems.add(where, "give either phase or lower_ng_per_ml/upper_ng_per_ml, not both")
        renal = get_bool(table, "renal_ceiling", where, problems, default=True)
        day = get_number(
            table,
            "day",
            where,
            problems,
            default=None,
            minimum=1,
            maximum=days,
            integer=True,
        )
        window = table.get("window")
        if window is not None:
            if not (
                isinstance(window, list)
                and len(window) == 2
                and all(isinstance(d, int) and not isinstance(d, bool) for d in window)
                and 1 <= window[0] <= window[1] <= days
            ):
                problems.add(
                    f"{where}.window",
                    f"must be [first_day, last_day] with 1 <= first <= last <= {days}, "
                    f"got {shown(window)}",
                )
                window = None
            elif day is not None:
                problems.add(where, "give either day or window, not both")
        if custom:
            lower = get_number(
                table,
                "lower_ng_per_ml",
                where,
                problems,
                default=0.0,
                minimum=0.0,
                maximum=MAX_TARGET_NG_PER_ML,
                units="ng/mL",
            )
            upper = get_number(
                table,
                "upper_ng_per_ml",
                where,
                problems,
                minimum=0.0,
                exclusive_minimum=True,
                maximum=MAX_TARGET_NG_PER_ML,
                units="ng/mL",
            )
            if lower is None or upper is None:
                return None
            label = f"custom {lower:g}-{upper:g} ng/mL"
            target = collect(
                problems, where, TargetRange, float(lower), float(upper), label, "user"
            )
        else:
            target = known.get(phase) if phase else None
        if target is None:
            return None
        return cls(
            target=target,
            phase=phase,
            renal_ceiling=renal,
            day=day,
            window=tuple(window) if window else None,
        )


@dataclass(frozen=True, slots=True)
class RenalThresholds:
    """Renal-impairment rule: impaired when eGFR < ``egfr_below`` (mL/min/1.73 m2) or serum
    creatinine > ``creatinine_uln_factor`` x the upper limit of normal."""

    egfr_below: float
    creatinine_uln_factor: float
    source: str


_DATA_FILE = "targets.toml"
_RANGE_KEYS = ("label", "lower", "upper", "units", "source", "evidence", "note")


@cache
def _read_data() -> Mapping[str, Any]:
    data = read_data(_DATA_FILE)
    check_keys(data, ("ranges", "renal_impairment", "subgroups"), _DATA_FILE)
    return MappingProxyType(data)


@cache
def _targets() -> Mapping[str, TargetRange]:
    out = {}
    for name, entry in _read_data()["ranges"].items():
        where = f"{_DATA_FILE}: ranges.{name}"
        check_keys(entry, _RANGE_KEYS, where)
        if entry.get("units") != TARGET_UNITS:
            raise ValueError(f"{where}.units must be {TARGET_UNITS!r}, got {entry.get('units')!r}")
        (source,) = read_sources(entry.get("source"), f"{where}.source")
        read_evidence(entry.get("evidence"), f"{where}.evidence")
        out[name] = TargetRange(entry["lower"], entry["upper"], entry["label"], source)
    return MappingProxyType(out)


@cache
def weight_band_edges_kg() -> tuple[float, ...]:
    """Default weight-band edges (kg) for subgroup tables: the consensus starting-dose bands."""
    table = _read_data()["subgroups"]["weight_band_edges_kg"]
    where = f"{_DATA_FILE}: subgroups.weight_band_edges_kg"
    return read_cited(table, where, "kg", minimum=0, many=True).value


def load_targets() -> dict[str, TargetRange]:
    """Bundled target ranges by name: ``induction``, ``maintenance``, ``renal_impairment``."""
    return dict(_targets())


@cache
def load_renal_thresholds() -> RenalThresholds:
    """The bundled renal-impairment thresholds (eGFR mL/min/1.73 m2, creatinine x ULN)."""
    rule = _read_data()["renal_impairment"]
    egfr, factor = rule["egfr_below"], rule["serum_creatinine_above_uln_factor"]
    if egfr["source"] != factor["source"]:
        raise ValueError("targets.toml: the two renal thresholds must share one source")
    return RenalThresholds(float(egfr["value"]), float(factor["value"]), egfr["source"])


def resolve_target(target: str | TargetRange) -> TargetRange:
    """A :class:`TargetRange` as given, or the bundled range of that name."""
    if isinstance(target, TargetRange):
        return target
    if not isinstance(target, str) or target not in _targets():
        raise ValueError(
            unknown_name("target phase", target, _targets())
            + " or a TargetRange(lower, upper, label, source)"
        )
    return _targets()[target]


def subject_target_bounds(
    phase: str | TargetRange,
    renal_impaired: ArrayLike,
    *,
    renal: str | TargetRange = RENAL_RANGE,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-subject (lower, upper) trough bounds in ng/mL, arrays shaped like ``renal_impaired``.

    Subjects who are not renal-impaired get the ``phase`` range (a bundled name or a custom
    :class:`TargetRange`). Renal-impaired subjects get the ``renal`` range (default the bundled
    ``renal_impairment``: 3-4 ng/mL, the consensus ceiling 4 ng/mL with the consensus
    maintenance floor 3 ng/mL, so that a sub-therapeutic regimen never counts as in range), with
    neither bound above the phase's own (a custom phase range of 1-3 ng/mL stays 1-3).
    """
    target, ceiling = resolve_target(phase), resolve_target(renal)
    flags = np.asarray(renal_impaired)
    if flags.dtype != np.bool_:
        raise ValueError(f"renal_impaired must be a boolean array, got dtype {flags.dtype}")
    # Neither bound of the renal range is above the phase's own: a window always remains.
    renal_upper = min(ceiling.upper, target.upper)
    renal_lower = min(ceiling.lower, target.lower)
    lower = np.where(flags, renal_lower, target.lower)
    upper = np.where(flags, renal_upper, target.upper)
    return lower.astype(np.float64), upper.astype(np.float64)


def in_range(trough: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> NDArray[np.bool_]:
    """``lower <= trough <= upper`` elementwise (ng/mL, broadcasting); NaN troughs are False."""
    c = np.asarray(trough, dtype=np.float64)
    return np.asarray((c >= np.asarray(lower)) & (c <= np.asarray(upper)))


def _day_index(n_days: int, day: int, name: str) -> int:
    if isinstance(day, bool) or not isinstance(day, int | np.integer) or not 1 <= day <= n_days:
        raise ValueError(f"{name} must be an integer day in 1..{n_days}, got {day!r}")
    return int(day) - 1


def _subject_day(trough: ArrayLike) -> NDArray[np.float64]:
    c = np.asarray(trough, dtype=np.float64)
    if c.ndim < 2 or c.shape[-1] == 0:
        raise ValueError(
            f"trough must have dims (..., subject, day) with at least one day, got shape {c.shape}"
        )
    return c


def in_range_on_day(
    trough: ArrayLike, lower: ArrayLike, upper: ArrayLike, day: int | None = None
) -> NDArray[np.bool_]:
    """In range on one day: ``trough`` (..., subject, day), day 1..D (default the last, D);
    ``lower``/``upper`` (subject,) ng/mL. Returns (..., subject) booleans."""
    c = _subject_day(trough)
    index = c.shape[-1] - 1 if day is None else _day_index(c.shape[-1], day, "day")
    return in_range(c[..., index], lower, upper)


def in_range_every_day(
    trough: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    first_day: int,
    last_day: int | None = None,
) -> NDArray[np.bool_]:
    """In range on every day of ``first_day``..``last_day`` (inclusive, default to the last day):
    ``trough`` (..., subject, day) ng/mL, bounds (subject,). Returns (..., subject) booleans."""
    c = _subject_day(trough)
    first = _day_index(c.shape[-1], first_day, "first_day")
    last = c.shape[-1] - 1 if last_day is None else _day_index(c.shape[-1], last_day, "last_day")
    if last < first:
        raise ValueError(f"last_day ({last + 1}) must not be before first_day ({first + 1})")
    window = c[..., first : last + 1]
    ok = in_range(window, np.asarray(lower)[..., None], np.asarray(upper)[..., None])
    return np.asarray(ok.all(axis=-1))
