"""Dosing regimens: the validated spec of one ``[[regimens]]`` table of a scenario.

A :class:`Regimen` is checked once, when it is made (from a scenario table by
:meth:`Regimen.from_mapping`, or directly in Python): every problem is reported at once, under
its key, and a Regimen that exists is valid. Units: dose mg, weight kg, clock time "HH:MM".

- **Dose**: exactly one of ``daily_dose_mg``, ``mg_per_kg_per_day`` or ``weight_bands``
  (:class:`WeightBand`: band i applies to ``below_kg[i-1] <= weight < below_kg[i]``, the last
  band has no ``below_kg``; the consensus bands are ``< 60 kg -> 2 mg/day, >= 60 kg ->
  3 mg/day``); ceilings ``max_daily_dose_mg`` and ``max_mg_per_kg_per_day``; rounding to
  ``round_to_mg`` steps or to the formulation's capsules (``round_to_capsules = true``). What
  they give per subject is :mod:`pksim.dosing.amounts`.
- **Schedule**: ``doses_per_day`` (1..:data:`MAX_DOSES_PER_DAY`, the first dose at
  :data:`FIRST_DOSE_CLOCK` and the others evenly spaced: 08:00/20:00 for BID) or
  ``dose_clock_times`` in the order they are taken from the first dose of the day.
- **Formulation**: a product name or alias (:mod:`pksim.library.formulations`), stored as the
  canonical name; it must allow the doses per day.
- **Adherence**: each dose is missed with probability ``missed_dose_probability``; a dose taken
  is late with probability ``late_dose_probability`` (default 1) by a delay uniform on
  [0, ``late_dose_max_h``) h, shorter than the shortest interval between doses so that doses
  keep their order (:mod:`pksim.dosing.events`).
"""

from __future__ import annotations

import datetime
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from pksim.dosing.rounding import DOSE_RESOLUTION_MG, whole_micrograms
from pksim.errors import Invalid, Problems, collect, moved_names, unknown_name
from pksim.library import formulations
from pksim.library.cited import is_real
from pksim.units import HOURS_PER_DAY

__all__ = [
    "DEFAULT_FORMULATION",
    "FIRST_DOSE_CLOCK",
    "MAX_DAILY_DOSE_MG",
    "MAX_DOSES_PER_DAY",
    "MAX_MG_PER_KG_PER_DAY",
    "Regimen",
    "WeightBand",
    "clock_hours",
]

MAX_DOSES_PER_DAY = 4
"""Most doses in one day (q6h). Also the number of adherence draws per subject per day."""

FIRST_DOSE_CLOCK = "08:00"
"""Default clock time of the first dose of the day (the usual morning dose)."""

DEFAULT_FORMULATION = "prograf"
"""Immediate-release tacrolimus, the formulation of the consensus and of the parameter sets."""

MAX_DAILY_DOSE_MG = 100.0
"""Plausibility guard against unit slips (g or ug typed as mg): ten times the highest daily dose
the LN consensus reaches (0.1 mg/kg/day, about 10 mg/day at 100 kg)."""

MAX_MG_PER_KG_PER_DAY = 1.0
"""Plausibility guard, ten times the consensus maximum of 0.1 mg/kg/day."""

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")

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
_DOSE_LIMITS = {
    "daily_dose_mg": MAX_DAILY_DOSE_MG,
    "mg_per_kg_per_day": MAX_MG_PER_KG_PER_DAY,
    "max_daily_dose_mg": MAX_DAILY_DOSE_MG,
    "max_mg_per_kg_per_day": MAX_MG_PER_KG_PER_DAY,
}
_BAND_UNITS = {"below_kg": "kg", "daily_dose_mg": "mg/day", "mg_per_kg_per_day": "mg/kg/day"}
_BAND_EXAMPLE = "{ below_kg = 60, daily_dose_mg = 2 }"


@dataclass(frozen=True, slots=True)
class WeightBand:
    """One weight band: applies below ``below_kg`` (kg; None for the last, open band) and down
    to the previous band's limit; gives ``daily_dose_mg`` (mg/day) or ``mg_per_kg_per_day``.
    Checked as part of its :class:`Regimen`."""

    below_kg: float | None = None
    daily_dose_mg: float | None = None
    mg_per_kg_per_day: float | None = None


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

    def __post_init__(self) -> None:
        problems = Problems()
        resolved = _check(self, problems)
        if problems:
            label = f"regimen {self.name!r}" if isinstance(self.name, str) else "regimen"
            raise Invalid(label, problems)
        for name, value in resolved.items():
            object.__setattr__(self, name, value)

    @property
    def dose_clock_h(self) -> tuple[float, ...]:
        """Clock time of each dose of the day (h after midnight)."""
        return tuple(int(c[:2]) + int(c[3:]) / 60 for c in self.dose_clock_times)

    @classmethod
    def from_mapping(cls, mapping: Any, where: str, problems: Problems) -> Regimen | None:
        """The regimen of one ``[[regimens]]`` table, or None after adding every problem to
        ``problems`` under ``where`` (e.g. ``regimens[0]``)."""
        if not isinstance(mapping, Mapping):
            problems.add(where, f"must be a table of regimen settings, got {mapping!r}")
            return None
        found = Problems()
        keys = [field.name for field in fields(cls)]
        for key in mapping:
            if key not in keys:
                found.add(str(key), unknown_name("regimen key", key, keys))
        given = {key: value for key, value in mapping.items() if key in keys}
        given.setdefault("name", None)
        if "weight_bands" in given:
            given["weight_bands"] = _bands_from_tables(given["weight_bands"], found)
        regimen = collect(found, "", cls, **given)
        problems.extend(where, found)
        return None if found else regimen


def _bands_from_tables(bands: Any, problems: Problems) -> Any:
    """Band tables as :class:`WeightBand` objects (unknown keys reported and dropped); anything
    else is left for :class:`Regimen` to refuse."""
    if not isinstance(bands, list):
        return bands
    out = []
    for index, band in enumerate(bands):
        if isinstance(band, Mapping):
            for key in band:
                if key not in _BAND_UNITS:
                    here = f"weight_bands[{index}].{key}"
                    problems.add(here, unknown_name("weight band key", key, _BAND_UNITS))
            band = WeightBand(**{key: value for key, value in band.items() if key in _BAND_UNITS})
        out.append(band)
    return out


# ----------------------------------------------------------------------------- validation


def _check(r: Regimen, problems: Problems) -> dict[str, Any]:
    """Add every problem of ``r`` to ``problems``; return the normalised fields."""
    resolved: dict[str, Any] = {}
    if r.name is None:
        problems.add("name", 'required, e.g. name = "3 mg QD"')
    elif not isinstance(r.name, str) or not r.name.strip():
        problems.add("name", f"must be a non-empty string, got {r.name!r}")
    numbers = {}
    for key, units in _NUMBER_UNITS.items():
        value = getattr(r, key)
        if value is None:
            continue
        if is_real(value) and math.isfinite(value):
            numbers[key] = resolved[key] = float(value)
        else:
            problems.add(key, f"must be a finite number in {units}, got {value!r}")

    bands_given = r.weight_bands != ()
    ways = [k for k in ("daily_dose_mg", "mg_per_kg_per_day") if getattr(r, k) is not None]
    ways += ["weight_bands"] if bands_given else []
    if len(ways) != 1:
        problems.add(
            "",
            "give exactly one of daily_dose_mg, mg_per_kg_per_day or weight_bands, "
            f"got {' and '.join(ways) or 'none'}",
        )
    for key, limit in _DOSE_LIMITS.items():
        if key in numbers:
            _check_dose(numbers[key], key, limit, _NUMBER_UNITS[key], problems)
    if bands_given:
        resolved["weight_bands"] = _check_bands(r.weight_bands, problems)

    doses, offsets = _check_schedule(r, problems, resolved)
    _check_formulation(r, doses, problems, resolved)
    _check_rounding(r, numbers, problems)
    _check_adherence(r, numbers, offsets, problems)
    return resolved


def _check_dose(value: float, where: str, limit: float, units: str, problems: Problems) -> None:
    if value <= 0:
        problems.add(where, f"must be > 0 {units}, got {value:g}")
    elif value > limit:
        problems.add(
            where,
            f"{value:g} {units} is implausible for tacrolimus (allowed up to {limit:g} "
            f"{units}); is the unit right (mg, not ug or g)?",
        )


def _check_bands(bands: Any, problems: Problems) -> tuple[WeightBand, ...]:
    """Check the bands (ascending limits, one dose each); return them with float numbers."""
    if not isinstance(bands, tuple | list) or not bands:
        problems.add(
            "weight_bands",
            f"must be a non-empty list of tables like [{_BAND_EXAMPLE}, {{ daily_dose_mg = 3 }}]",
        )
        return ()
    out, previous = [], 0.0
    for i, band in enumerate(bands):
        here = f"weight_bands[{i}]"
        if not isinstance(band, WeightBand):
            problems.add(here, f"must be a table like {_BAND_EXAMPLE}, got {band!r}")
            continue
        values, bad = {}, False
        for key, units in _BAND_UNITS.items():
            value = getattr(band, key)
            if value is None or (is_real(value) and math.isfinite(value)):
                values[key] = None if value is None else float(value)
            else:
                problems.add(f"{here}.{key}", f"must be a finite number in {units}, got {value!r}")
                bad = True
        if bad:
            continue
        band = WeightBand(**values)
        out.append(band)
        last = i == len(bands) - 1
        if last and band.below_kg is not None:
            problems.add(f"{here}.below_kg", "the last band is open-ended; remove below_kg")
        elif not last and band.below_kg is None:
            problems.add(f"{here}.below_kg", "required on every band but the last")
        elif band.below_kg is not None and band.below_kg <= previous:
            problems.add(
                f"{here}.below_kg",
                f"must be > {previous:g} kg (bands ascending), got {band.below_kg:g}",
            )
        else:
            previous = band.below_kg if band.below_kg is not None else previous
        doses = [k for k in ("daily_dose_mg", "mg_per_kg_per_day") if getattr(band, k) is not None]
        if len(doses) != 1:
            problems.add(
                here,
                "give exactly one of daily_dose_mg or mg_per_kg_per_day, "
                f"got {' and '.join(doses) or 'none'}",
            )
        for key in ("daily_dose_mg", "mg_per_kg_per_day"):
            if getattr(band, key) is not None:
                limit = _DOSE_LIMITS[key]
                _check_dose(getattr(band, key), f"{here}.{key}", limit, _BAND_UNITS[key], problems)
    return tuple(out)


def _check_schedule(
    r: Regimen, problems: Problems, resolved: dict[str, Any]
) -> tuple[int | None, tuple[float, ...]]:
    """Doses per day and clock times: the number of doses a day (None if unknown) and the
    offsets (h) of each dose from the first of the day (empty if unknown)."""
    doses = r.doses_per_day
    if doses is not None and (isinstance(doses, bool) or not isinstance(doses, int)):
        problems.add(
            "doses_per_day", f"must be a whole number 1..{MAX_DOSES_PER_DAY}, got {doses!r}"
        )
        doses = None
    elif doses is not None and not 1 <= doses <= MAX_DOSES_PER_DAY:
        problems.add("doses_per_day", f"must be 1..{MAX_DOSES_PER_DAY}, got {doses!r}")
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
        resolved["dose_clock_times"] = tuple(_format_clock(h) for h in hours)
        return doses, tuple(j * HOURS_PER_DAY / doses for j in range(doses))
    if not isinstance(clocks, tuple | list) or not clocks:
        problems.add(
            "dose_clock_times", f'must be a non-empty list like ["08:00", "20:00"], got {clocks!r}'
        )
        return doses, ()
    if len(clocks) > MAX_DOSES_PER_DAY:
        problems.add(
            "dose_clock_times", f"at most {MAX_DOSES_PER_DAY} doses a day, got {len(clocks)}"
        )
    hours = []
    for i, clock in enumerate(clocks):
        hour = clock_hours(clock)
        if hour is None:
            problems.add(
                f"dose_clock_times[{i}]",
                f'must be a clock time "HH:MM" from 00:00 to 23:59, got {clock!r}',
            )
        hours.append(hour)
    if doses is not None and doses != len(clocks):
        problems.add(
            "doses_per_day",
            f"{doses} does not match the {len(clocks)} dose_clock_times (give one or the other)",
        )
    if None in hours or len(clocks) > MAX_DOSES_PER_DAY:
        return None, ()
    offsets = tuple((h - hours[0]) % HOURS_PER_DAY for h in hours)
    if any(b <= a for a, b in itertools.pairwise(offsets)):
        problems.add(
            "dose_clock_times",
            "clock times must be distinct and listed in the order they are taken from the "
            f"first dose of the day, got {[_format_clock(h) for h in hours]}",
        )
    resolved["dose_clock_times"] = tuple(_format_clock(h) for h in hours)
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


def _check_rounding(r: Regimen, numbers: Mapping[str, float], problems: Problems) -> None:
    if not isinstance(r.round_to_capsules, bool):
        problems.add("round_to_capsules", f"must be true or false, got {r.round_to_capsules!r}")
    step = numbers.get("round_to_mg")
    if step is None:
        return
    if step <= 0:
        problems.add("round_to_mg", f"must be > 0 mg, got {step:g}")
    elif whole_micrograms(step) is None:
        problems.add(
            "round_to_mg",
            f"must be a whole number of micrograms ({DOSE_RESOLUTION_MG} mg), got {step!r}",
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


def clock_hours(value: Any) -> float | None:
    """A clock time "HH:MM" (00:00 to 23:59, or a TOML local time) as hours after midnight;
    None if it is not one."""
    if isinstance(value, datetime.time):
        return value.hour + value.minute / 60 + value.second / 3600
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return int(match[1]) + int(match[2]) / 60


def _format_clock(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


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
