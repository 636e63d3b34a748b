"""Dosing regimens: the validated spec of one ``[[regimens]]`` table of a scenario.

A :class:`Regimen` is checked once, when it is made (from a scenario table by
:meth:`Regimen.from_mapping`, or directly in Python): every problem is reported at once, under
its key, and a Regimen that exists is valid. Units: dose mg, weight kg, clock time "HH:MM".

- **Dose**: exactly one of ``daily_dose_mg``, ``mg_per_kg_per_day`` or ``weight_bands``
  (:class:`~pksim.dosing.dose_spec.WeightBand`: band i applies to
  ``below_kg[i-1] <= weight < below_kg[i]``, the last band has no ``below_kg``; the consensus
  bands are ``< 60 kg -> 2 mg/day, >= 60 kg -> 3 mg/day``); ceilings ``max_daily_dose_mg``
  and ``max_mg_per_kg_per_day``; rounding to ``round_to_mg`` steps (an amount the
  formulation's capsules make) or to the capsules themselves (``round_to_capsules = true``).
  Dose numbers lie between the dose resolution and a plausibility limit
  (:mod:`pksim.dosing.dose_spec`). What they give per subject is :mod:`pksim.dosing.amounts`.
- **Schedule**: ``doses_per_day`` (1..:data:`MAX_DOSES_PER_DAY`, the first dose at
  :data:`FIRST_DOSE_CLOCK` and the others evenly spaced: 08:00/20:00 for BID) or
  ``dose_clock_times`` in the order they are taken from the first dose of the day.
- **Name**: printable text of at most :data:`MAX_NAME_CHARS` characters (it labels tables, plots
  and the result's ``regimen`` coordinate).
- **Formulation**: a product name or alias (:mod:`pksim.library.formulations`), stored as the
  canonical name; it must allow the doses per day.
- **Over time** (:mod:`pksim.dosing.over_time`, :mod:`pksim.dosing.tdm`): ``changes`` from a
  day on (a new dose, a ``dose_factor``, a formulation or schedule switch), ``holds`` (no doses
  over a span of days) and a monitoring plan ``tdm``. They make the regimen's :attr:`phases`:
  the regimen in force from each change day, each itself a valid Regimen. A change keeps the
  first dose of the day at the same clock time (the trough is drawn just before it).
- **Adherence**: each dose is missed with probability ``missed_dose_probability``; a dose taken
  is late with probability ``late_dose_probability`` (default 1) by a delay uniform on
  [0, ``late_dose_max_h``) h, shorter than the shortest interval between doses so that doses
  keep their order (:mod:`pksim.dosing.events`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from pksim.checks import text_problem
from pksim.dosing.clock import clock_hours, format_clock
from pksim.dosing.dose_spec import (
    DOSE_LIMITS,
    MAX_DAILY_DOSE_MG,
    MAX_MG_PER_KG_PER_DAY,
    WeightBand,
    bands_from_tables,
    check_bands,
    check_dose,
)
from pksim.dosing.over_time import DoseChange, Hold, changes_from_tables, holds_from_tables
from pksim.dosing.phases import Phase, build_phases
from pksim.dosing.rounding import DOSE_RESOLUTION_MG, can_make, whole_micrograms
from pksim.dosing.tdm import TdmPlan
from pksim.errors import Invalid, Problems, collect, moved_names, shown, unknown_name
from pksim.library import formulations
from pksim.library.cited import finite_float
from pksim.units import HOURS_PER_DAY

__all__ = [
    "DEFAULT_FORMULATION",
    "FIRST_DOSE_CLOCK",
    "MAX_DAILY_DOSE_MG",
    "MAX_DOSES_PER_DAY",
    "MAX_MG_PER_KG_PER_DAY",
    "MAX_NAME_CHARS",
    "Phase",
    "Regimen",
    "WeightBand",
    "clock_hours",
    "format_clock",
]

MAX_DOSES_PER_DAY = 4
"""Most doses in one day (q6h). Also the number of adherence draws per subject per day."""

FIRST_DOSE_CLOCK = "08:00"
"""Default clock time of the first dose of the day (the usual morning dose)."""

DEFAULT_FORMULATION = "prograf"
"""Immediate-release tacrolimus, the formulation of the consensus and of the parameter sets."""

MAX_NAME_CHARS = 100
"""Longest regimen name (characters): it labels table rows, plot legends and the result's
``regimen`` coordinate."""

_NUMBER_UNITS = {
    "daily_dose_mg": "mg/day",
    "mg_per_kg_per_day": "mg/kg/day",
    "max_daily_dose_mg": "mg/day",
    "max_mg_per_kg_per_day": "mg/kg/day",
    "round_to_mg": "mg",
    "missed_dose_probability": "probability (0-1)",
    "late_dose_max_h": "h",
    "late_dose_probability": "probability (0-1)",
}
"""Number fields of a regimen and their units (for messages)."""


@dataclass(frozen=True, slots=True)
class Regimen:
    """A validated dosing regimen (see the module docstring for every rule).

    Exactly one of ``daily_dose_mg`` (mg/day), ``mg_per_kg_per_day`` or ``weight_bands``.
    ``dose_clock_times`` are "HH:MM" in the order taken (default from ``doses_per_day``).
    Numbers are stored as floats, the clock times as "HH:MM" and the formulation as its
    canonical name. A bad value raises :class:`pksim.errors.Invalid` listing every problem.
    """

    name: str
    daily_dose_mg: float | None = None
    mg_per_kg_per_day: float | None = None
    weight_bands: tuple[WeightBand, ...] = ()
    doses_per_day: int | None = None
    dose_clock_times: tuple[str, ...] = ()
    max_daily_dose_mg: float | None = None
    max_mg_per_kg_per_day: float | None = None
    round_to_mg: float | None = None
    round_to_capsules: bool = False
    formulation: str = DEFAULT_FORMULATION
    missed_dose_probability: float = 0.0
    late_dose_max_h: float = 0.0
    late_dose_probability: float = 1.0
    changes: tuple[DoseChange, ...] = ()
    holds: tuple[Hold, ...] = ()
    tdm: TdmPlan | None = None
    built_phases: tuple[Phase, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = Problems()
        resolved = _check(self, problems)
        if problems:
            label = f"regimen {shown(self.name)}" if isinstance(self.name, str) else "regimen"
            raise Invalid(label, problems)
        for name, value in resolved.items():
            object.__setattr__(self, name, value)
        if self.varies_over_time:
            found = Problems()
            object.__setattr__(self, "built_phases", build_phases(self, found))
            if found:
                raise Invalid(f"regimen {shown(self.name)}", found)

    @property
    def phases(self) -> tuple[Phase, ...]:
        """The regimen in force from each change day (one phase, itself, without changes).
        Phase regimens have no changes, so no regimen refers to itself (tools that walk the
        fields, as Dask does, stay finite)."""
        return self.built_phases or (Phase(1, self, "set", 1.0),)

    @property
    def varies_over_time(self) -> bool:
        """Whether the dose or schedule may change during the run (changes, holds or TDM)."""
        return bool(self.changes or self.holds or self.tdm is not None)

    @property
    def dose_clock_h(self) -> tuple[float, ...]:
        """Clock time of each dose of the day (h after midnight)."""
        return tuple(int(c[:2]) + int(c[3:]) / 60 for c in self.dose_clock_times)

    @classmethod
    def from_mapping(cls, mapping: Any, where: str, problems: Problems) -> Regimen | None:
        """The regimen of one ``[[regimens]]`` table, or None after adding every problem to
        ``problems`` under ``where`` (e.g. ``regimens[0]``)."""
        if not isinstance(mapping, Mapping):
            problems.add(where, f"must be a table of regimen settings, got {shown(mapping)}")
            return None
        found = Problems()
        keys = [f.name for f in fields(cls) if f.init]
        for key in mapping:
            if key not in keys:
                found.add(str(key), unknown_name("regimen key", key, keys))
        given = {key: value for key, value in mapping.items() if key in keys}
        given.setdefault("name", None)
        if "weight_bands" in given:
            given["weight_bands"] = bands_from_tables(given["weight_bands"], found)
        if "changes" in given:
            given["changes"] = changes_from_tables(given["changes"], found)
        if "holds" in given:
            given["holds"] = holds_from_tables(given["holds"], found)
        if "tdm" in given:
            given["tdm"] = TdmPlan.from_mapping(given["tdm"], "tdm", found)
        if found:  # phases from a partly read list would name the wrong changes[i]
            given.update(changes=(), holds=(), tdm=None)
        regimen = collect(found, "", cls, **given)
        problems.extend(where, found)
        return None if found else regimen


# ----------------------------------------------------------------------------- validation


def _check(r: Regimen, problems: Problems) -> dict[str, Any]:
    """Add every problem of ``r`` to ``problems``; return the normalised fields."""
    resolved: dict[str, Any] = {}
    if r.name is None:
        problems.add("name", 'required, e.g. name = "3 mg QD"')
    elif not isinstance(r.name, str):
        problems.add("name", f"must be a non-empty string, got {shown(r.name)}")
    elif problem := text_problem(r.name, MAX_NAME_CHARS):
        problems.add("name", problem)
    numbers = {}
    for key, units in _NUMBER_UNITS.items():
        value = getattr(r, key)
        if value is None:
            continue
        number = finite_float(value)
        if number is not None:
            numbers[key] = resolved[key] = number
        else:
            problems.add(key, f"must be a finite number in {units}, got {shown(value)}")

    bands_given = r.weight_bands != ()
    ways = [k for k in ("daily_dose_mg", "mg_per_kg_per_day") if getattr(r, k) is not None]
    ways += ["weight_bands"] if bands_given else []
    if len(ways) != 1:
        problems.add(
            "",
            "give exactly one of daily_dose_mg, mg_per_kg_per_day or weight_bands, "
            f"got {' and '.join(ways) or 'none'}",
        )
    for key, limit in DOSE_LIMITS.items():
        if key in numbers:
            check_dose(numbers[key], key, limit, _NUMBER_UNITS[key], problems)
    if bands_given:
        resolved["weight_bands"] = check_bands(r.weight_bands, problems)

    doses, offsets = _check_schedule(r, problems, resolved)
    _check_formulation(r, doses, problems, resolved)
    _check_rounding(r, numbers, resolved.get("formulation"), problems)
    _check_adherence(r, numbers, offsets, problems)
    return resolved


def _check_schedule(
    r: Regimen, problems: Problems, resolved: dict[str, Any]
) -> tuple[int | None, tuple[float, ...]]:
    """Doses per day and clock times: the number of doses a day (None if unknown) and the
    offsets (h) of each dose from the first of the day (empty if unknown)."""
    doses = r.doses_per_day
    if doses is not None and (isinstance(doses, bool) or not isinstance(doses, int)):
        problems.add(
            "doses_per_day", f"must be a whole number 1..{MAX_DOSES_PER_DAY}, got {shown(doses)}"
        )
        doses = None
    elif doses is not None and not 1 <= doses <= MAX_DOSES_PER_DAY:
        problems.add("doses_per_day", f"must be 1..{MAX_DOSES_PER_DAY}, got {doses}")
        doses = None
    clocks = r.dose_clock_times
    if clocks == ():
        if r.doses_per_day is None:
            problems.add(
                "",
                f"give doses_per_day (1..{MAX_DOSES_PER_DAY}) or dose_clock_times "
                '(e.g. ["08:00", "20:00"])',
            )
        if doses is None:
            return None, ()
        first = clock_hours(FIRST_DOSE_CLOCK)
        hours = [(first + j * HOURS_PER_DAY / doses) % HOURS_PER_DAY for j in range(doses)]
        resolved["dose_clock_times"] = tuple(format_clock(h) for h in hours)
        return doses, tuple(j * HOURS_PER_DAY / doses for j in range(doses))
    if not isinstance(clocks, tuple | list) or not clocks:
        problems.add(
            "dose_clock_times",
            f'must be a non-empty list like ["08:00", "20:00"], got {shown(clocks)}',
        )
        return doses, ()
    if len(clocks) > MAX_DOSES_PER_DAY:
        problems.add(
            "dose_clock_times", f"at most {MAX_DOSES_PER_DAY} doses a day, got {len(clocks)}"
        )
        return None, ()
    hours = []
    for i, clock in enumerate(clocks):
        hour = clock_hours(clock)
        if hour is None:
            problems.add(
                f"dose_clock_times[{i}]",
                f'must be a clock time "HH:MM" from 00:00 to 23:59 (to the minute), got '
                f"{shown(clock)}",
            )
        hours.append(hour)
    if doses is not None and doses != len(clocks):
        problems.add(
            "doses_per_day",
            f"{doses} does not match the {len(clocks)} dose_clock_times (give one or the other)",
        )
    if None in hours:
        return None, ()
    offsets = tuple((h - hours[0]) % HOURS_PER_DAY for h in hours)
    if any(b <= a for a, b in itertools.pairwise(offsets)):
        problems.add(
            "dose_clock_times",
            "clock times must be distinct and listed in the order they are taken from the "
            f"first dose of the day, got {[format_clock(h) for h in hours]}",
        )
        offsets = ()  # no intervals to hold late doses to
    resolved["dose_clock_times"] = tuple(format_clock(h) for h in hours)
    resolved["doses_per_day"] = len(clocks)
    return len(clocks), offsets


def _check_formulation(
    r: Regimen, doses: int | None, problems: Problems, resolved: dict[str, Any]
) -> None:
    try:
        product = formulations.lookup_formulation(r.formulation)
    except ValueError as error:  # not a string, or an unknown name
        problems.add("formulation", str(error))
        return
    resolved["formulation"] = product.name
    problem = None if doses is None else formulations.doses_per_day_problem(product.name, doses)
    if problem:
        problems.add("doses_per_day", problem)


def _check_rounding(
    r: Regimen, numbers: Mapping[str, float], formulation: str | None, problems: Problems
) -> None:
    """``round_to_capsules`` a bool; ``round_to_mg`` whole micrograms, at most the largest daily
    dose, and an amount the formulation's capsules make (so that every dose, a whole number of
    steps, can be given); not both."""
    if not isinstance(r.round_to_capsules, bool):
        problems.add(
            "round_to_capsules", f"must be true or false, got {shown(r.round_to_capsules)}"
        )
    step = numbers.get("round_to_mg")
    if step is None:
        return
    if step <= 0:
        problems.add("round_to_mg", f"must be > 0 mg, got {step:g}")
    elif step > MAX_DAILY_DOSE_MG:
        problems.add("round_to_mg", f"must be <= {MAX_DAILY_DOSE_MG:g} mg, got {step:g}")
    elif whole_micrograms(step) is None:
        problems.add(
            "round_to_mg",
            f"must be a whole number of micrograms ({DOSE_RESOLUTION_MG} mg), got {step!r}",
        )
    elif formulation is not None:
        strengths = formulations.capsule_strengths(formulation)
        if not can_make(step, strengths):
            listed = ", ".join(f"{s:g}" for s in strengths)
            problems.add(
                "round_to_mg",
                f"{step:g} mg cannot be made from the {formulation} strengths ({listed} mg); "
                "give an amount they make (e.g. "
                f"{strengths[0]:g}) so that every dose can be given",
            )
    if r.round_to_capsules is True:
        problems.add("", "give round_to_mg or round_to_capsules = true, not both")


def _check_adherence(
    r: Regimen, numbers: Mapping[str, float], offsets: Sequence[float], problems: Problems
) -> None:
    p_miss = numbers.get("missed_dose_probability", 0.0)
    p_late = numbers.get("late_dose_probability", 1.0)
    late_h = numbers.get("late_dose_max_h", 0.0)
    if not 0 <= p_miss < 1:
        problems.add("missed_dose_probability", f"must be in [0, 1), got {p_miss:g}")
    if not 0 <= p_late <= 1:
        problems.add("late_dose_probability", f"must be in [0, 1], got {p_late:g}")
    if late_h < 0:
        problems.add("late_dose_max_h", f"must be >= 0 h, got {late_h:g}")
    elif offsets and late_h >= _shortest_interval(offsets):
        problems.add(
            "late_dose_max_h",
            "must be shorter than the shortest interval between doses "
            f"({_shortest_interval(offsets):g} h), got {late_h:g} h",
        )
    if p_late != 1.0 and late_h == 0.0:
        problems.add("late_dose_probability", "needs late_dose_max_h (the largest delay) > 0 h")


def _shortest_interval(offsets: Sequence[float]) -> float:
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    return min([*gaps, HOURS_PER_DAY - offsets[-1]])


__getattr__ = moved_names(
    __name__,
    {
        "DoseEvents": "pksim.dosing.events",
        "dose_events": "pksim.dosing.events",
        "base_daily_dose": "pksim.dosing.amounts",
        "intended_daily_dose": "pksim.dosing.amounts",
        "round_daily_dose": "pksim.dosing.rounding",
        "split_daily_dose": "pksim.dosing.rounding",
    },
)
