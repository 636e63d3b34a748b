"""Dosing regimens -> per-subject dose times and amounts.

A :class:`Regimen` is one validated ``[[regimens]]`` table of a scenario. :func:`dose_events`
turns it into arrays over subjects (no per-subject Python loops). Units: dose mg, weight kg,
time h (t = 0 at the first dose), clock time of day h in [0, 24).

How the daily dose of a subject is made, in this order:

1. **Base dose**: ``daily_dose_mg``; or ``mg_per_kg_per_day`` x weight; or ``weight_bands``:
   band i applies to ``below_kg[i-1] <= weight < below_kg[i]`` (the last band has no
   ``below_kg`` and takes everyone heavier), each band giving ``daily_dose_mg`` or
   ``mg_per_kg_per_day``. The consensus bands are ``< 60 kg -> 2 mg/day, >= 60 kg -> 3 mg/day``.
2. **Ceilings**: at most ``max_daily_dose_mg`` and at most ``max_mg_per_kg_per_day`` x weight.
3. **Rounding** (``round_to_mg = q`` or ``round_to_capsules = true``): the daily dose becomes the
   nearest amount that can be given with the available units (multiples of q, or sums of the
   formulation's capsule strengths; every dose of the day must itself be made of whole units);
   ties go up (2.75 mg with 0.5 mg units -> 3 mg). Rounding never crosses a ceiling (the dose
   then goes down to the largest amount under it) and never turns a positive dose into 0 mg
   (the smallest unit is given instead), unless a ceiling is below the smallest unit.
4. **Splitting** into the doses of the day: without rounding, equal doses. With rounding, the
   *split rule*: each dose is a whole number of units and the larger doses come first in the
   day (morning). With R mg left for j doses, the next dose is the smallest makeable amount
   >= R / j whose remainder is makeable; the doses are then sorted largest first. When every
   multiple of the smallest unit is makeable (0.5 mg steps, Prograf 0.5/1/5 mg) this is the
   most even split, the doses differing by at most one unit: 2.5 mg/day BID -> 1.5 mg + 1 mg,
   3 mg/day BID -> 1.5 + 1.5 mg, 3.5 mg in three doses -> 1.5 + 1 + 1 mg. With other strength
   sets it is the most even split for one or two doses a day, and a greedy approximation for
   three or four.

Dose times: day d (1..days) has doses at ``24 (d - 1) + offset_j`` h, where ``offset_j`` is the
clock time of dose j minus that of the first dose of the day (wrapping past midnight), so the
trough at t = 24 d h is just before the first dose of day d + 1. Default clock times: the first
dose at :data:`FIRST_DOSE_CLOCK` and the others evenly spaced (08:00/20:00 for BID).

Adherence (drawn from stream ``"adherence"``: one 64-bit word per subject, day and dose slot
of the day, for :data:`MAX_DOSES_PER_DAY` slots, so subject i's behaviour depends only on
(seed, days, i) and every regimen of a scenario sees the same patients, slot by slot): each
dose is missed with probability ``missed_dose_probability`` (time NaN, amount 0 mg); a dose
taken is late with probability ``late_dose_probability`` (default 1) by a delay uniform on
[0, ``late_dose_max_h``) h. The delay must be shorter than the shortest interval between
doses so that doses keep their order.
"""

from __future__ import annotations

import datetime
import itertools
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim import rng
from pksim.library import formulations

__all__ = [
    "DEFAULT_FORMULATION",
    "FIRST_DOSE_CLOCK",
    "MAX_DOSES_PER_DAY",
    "DoseEvents",
    "Regimen",
    "WeightBand",
    "base_daily_dose",
    "dose_events",
    "intended_daily_dose",
    "round_daily_dose",
    "split_daily_dose",
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

DOSE_RESOLUTION_MG = 0.001
"""Rounding units and capsule strengths are handled as whole micrograms."""

_UNIT_TOL = 1e-6
"""Tolerance, in rounding units, for deciding ties and exact multiples (floating-point noise
such as 0.05 * 55 = 2.7500000000000004)."""

_WORD = 2**32
"""Resolution of the adherence uniforms (32 bits each)."""

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_H = 24.0

_NUMBER_KEYS = (
    "daily_dose_mg",
    "mg_per_kg_per_day",
    "max_daily_dose_mg",
    "max_mg_per_kg_per_day",
    "round_to_mg",
    "missed_dose_probability",
    "late_dose_max_h",
    "late_dose_probability",
)
_KEYS = (
    "name",
    "daily_dose_mg",
    "mg_per_kg_per_day",
    "weight_bands",
    "doses_per_day",
    "dose_clock_times",
    "max_daily_dose_mg",
    "max_mg_per_kg_per_day",
    "round_to_mg",
    "round_to_capsules",
    "formulation",
    "missed_dose_probability",
    "late_dose_max_h",
    "late_dose_probability",
)
_BAND_KEYS = ("below_kg", "daily_dose_mg", "mg_per_kg_per_day")


# ----------------------------------------------------------------------------- small checks


def _did_you_mean(key: str, valid: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}valid keys: {', '.join(valid)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, where: str, problems: list[str], units: str) -> float | None:
    """The value as a finite float, or None after recording why it is not one."""
    if not _is_number(value) or not math.isfinite(value):
        problems.append(f"{where}: must be a finite number in {units}, got {value!r}")
        return None
    return float(value)


def _check_dose(value: float, where: str, limit: float, units: str, problems: list[str]) -> None:
    if value <= 0:
        problems.append(f"{where}: must be > 0 {units}, got {value:g}")
    elif value > limit:
        problems.append(
            f"{where}: {value:g} {units} is implausible for tacrolimus (allowed up to {limit:g} "
            f"{units}); is the unit right (mg, not ug or g)?"
        )


def _micrograms(value: float) -> int | None:
    """Whole micrograms of a mg amount, or None if it is not a whole number of micrograms."""
    units = value / DOSE_RESOLUTION_MG
    whole = round(units)
    return whole if whole > 0 and abs(units - whole) <= _UNIT_TOL * max(1.0, units) else None


def _clock_hours(value: Any, where: str, problems: list[str]) -> float | None:
    """A clock time "HH:MM" (or a TOML local time) as hours since midnight."""
    if isinstance(value, datetime.time):
        return value.hour + value.minute / 60 + value.second / 3600
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        problems.append(f'{where}: must be a clock time "HH:MM" from 00:00 to 23:59, got {value!r}')
        return None
    return int(match[1]) + int(match[2]) / 60


def _format_clock(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _dose_offsets(clock_h: Sequence[float], where: str, problems: list[str]) -> tuple[float, ...]:
    """Hours from the first dose of the day to each dose, wrapping past midnight."""
    offsets = tuple((c - clock_h[0]) % _DAY_H for c in clock_h)
    if any(b <= a for a, b in itertools.pairwise(offsets)):
        problems.append(
            f"{where}: clock times must be distinct and listed in the order they are taken "
            f"from the first dose of the day, got {[_format_clock(c) for c in clock_h]}"
        )
    return offsets


def _shortest_interval(offsets: Sequence[float]) -> float:
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    return min([*gaps, _DAY_H - offsets[-1]])


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class WeightBand:
    """One weight band: applies below ``below_kg`` (kg; None for the last, open band) and down
    to the previous band's limit; gives ``daily_dose_mg`` (mg/day) or ``mg_per_kg_per_day``."""

    below_kg: float | None = None
    daily_dose_mg: float | None = None
    mg_per_kg_per_day: float | None = None


@dataclass(frozen=True, slots=True)
class Regimen:
    """A validated dosing regimen (see the module docstring for every rule).

    Exactly one of ``daily_dose_mg`` (mg/day), ``mg_per_kg_per_day`` or ``weight_bands``.
    ``dose_clock_times`` are "HH:MM" in the order taken (default from ``doses_per_day``).
    ``formulation`` is a name or alias from :func:`pksim.formulations.list_formulations`, stored
    as the canonical name; ``round_to_capsules`` uses its strengths.
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
        problems: list[str] = []
        resolved = _check_regimen(self, "Regimen", problems)
        if problems:
            raise ValueError("invalid regimen:\n  " + "\n  ".join(problems))
        for name, value in resolved.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], where: str = "regimen") -> Regimen:
        """Validate one ``[[regimens]]`` table; ValueError listing every problem by dotted key."""
        if not isinstance(mapping, Mapping):
            raise ValueError(f"{where}: must be a table of regimen settings, got {mapping!r}")
        problems: list[str] = []
        for key in mapping:
            if key not in _KEYS:
                problems.append(f"{where}.{key}: {_did_you_mean(str(key), _KEYS)}")
        kwargs: dict[str, Any] = {}
        for key in _NUMBER_KEYS:
            if key in mapping:
                units = {"late_dose_max_h": "h"}.get(key, "mg" if key.endswith("_mg") else "")
                units = units or ("mg/kg/day" if "per_kg" in key else "probability (0-1)")
                value = _number(mapping[key], f"{where}.{key}", problems, units)
                if value is not None:
                    kwargs[key] = value
        if "name" in mapping:
            kwargs["name"] = mapping["name"]
        else:
            problems.append(f'{where}.name: required, e.g. name = "3 mg QD"')
        if "doses_per_day" in mapping:
            value = mapping["doses_per_day"]
            if isinstance(value, int) and not isinstance(value, bool):
                kwargs["doses_per_day"] = value
            else:
                problems.append(
                    f"{where}.doses_per_day: must be a whole number 1..{MAX_DOSES_PER_DAY}, "
                    f"got {value!r}"
                )
        if "dose_clock_times" in mapping:
            value = mapping["dose_clock_times"]
            if isinstance(value, list) and value:
                kwargs["dose_clock_times"] = tuple(value)
            else:
                problems.append(
                    f'{where}.dose_clock_times: must be a non-empty list like ["08:00", "20:00"], '
                    f"got {value!r}"
                )
        if "round_to_capsules" in mapping:
            value = mapping["round_to_capsules"]
            if isinstance(value, bool):
                kwargs["round_to_capsules"] = value
            else:
                problems.append(f"{where}.round_to_capsules: must be true or false, got {value!r}")
        if "formulation" in mapping:
            kwargs["formulation"] = mapping["formulation"]
        if "weight_bands" in mapping:
            kwargs["weight_bands"] = _bands_from_list(
                mapping["weight_bands"], f"{where}.weight_bands", problems
            )
        draft = _Draft(**kwargs)
        _check_regimen(draft, where, problems, given=set(mapping))
        if problems:
            raise ValueError("\n".join(problems))
        return cls(**{f.name: getattr(draft, f.name) for f in fields(_Draft)})


@dataclass(slots=True)
class _Draft:
    """Mutable twin of :class:`Regimen` used to collect every problem before construction."""

    name: Any = None
    daily_dose_mg: float | None = None
    mg_per_kg_per_day: float | None = None
    weight_bands: tuple[WeightBand, ...] = ()
    doses_per_day: int | None = None
    dose_clock_times: tuple[Any, ...] = ()
    max_daily_dose_mg: float | None = None
    max_mg_per_kg_per_day: float | None = None
    round_to_mg: float | None = None
    round_to_capsules: bool = False
    formulation: Any = DEFAULT_FORMULATION
    missed_dose_probability: float = 0.0
    late_dose_max_h: float = 0.0
    late_dose_probability: float = 1.0


def _bands_from_list(value: Any, where: str, problems: list[str]) -> tuple[WeightBand, ...]:
    if not isinstance(value, list) or not value:
        problems.append(
            f"{where}: must be a non-empty list of tables like "
            "[{ below_kg = 60, daily_dose_mg = 2 }, { daily_dose_mg = 3 }]"
        )
        return ()
    bands = []
    for i, band in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(band, Mapping):
            problems.append(f"{here}: must be a table like {{ below_kg = 60, daily_dose_mg = 2 }}")
            continue
        for key in band:
            if key not in _BAND_KEYS:
                problems.append(f"{here}.{key}: {_did_you_mean(str(key), _BAND_KEYS)}")
        units = {"below_kg": "kg", "daily_dose_mg": "mg", "mg_per_kg_per_day": "mg/kg/day"}
        numbers = {
            key: _number(band[key], f"{here}.{key}", problems, units[key])
            for key in _BAND_KEYS
            if key in band
        }
        bands.append(WeightBand(**numbers))
    return tuple(bands)


def _check_regimen(
    r: Regimen | _Draft, where: str, problems: list[str], given: set[str] | None = None
) -> dict[str, Any]:
    """Append every problem of ``r`` to ``problems``; return the normalised derived fields."""
    resolved: dict[str, Any] = {}
    name_given = given is None or "name" in given
    if name_given and (not isinstance(r.name, str) or not r.name.strip()):
        problems.append(f"{where}.name: must be a non-empty string, got {r.name!r}")
    if given is None:  # direct construction: check the types from_mapping checks while parsing
        for key in _NUMBER_KEYS:
            value = getattr(r, key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Real)
            ):
                problems.append(f"{where}.{key}: must be a number, got {value!r}")
                return resolved
        doses = r.doses_per_day
        if doses is not None and (isinstance(doses, bool) or not isinstance(doses, int)):
            problems.append(f"{where}.doses_per_day: must be a whole number, got {doses!r}")
            return resolved
        if not all(
            isinstance(b, WeightBand)
            and all(
                v is None or (_is_number(v) and math.isfinite(v))
                for v in (b.below_kg, b.daily_dose_mg, b.mg_per_kg_per_day)
            )
            for b in r.weight_bands
        ):
            problems.append(f"{where}.weight_bands: must be WeightBand objects holding numbers")
            return resolved

    # dose: exactly one way
    ways = [k for k in ("daily_dose_mg", "mg_per_kg_per_day") if getattr(r, k) is not None]
    ways += ["weight_bands"] if r.weight_bands else []
    if given is not None:  # a bad value already reported still counts as given
        ways = [k for k in ("daily_dose_mg", "mg_per_kg_per_day", "weight_bands") if k in given]
    if len(ways) != 1:
        what = "none" if not ways else " and ".join(ways)
        problems.append(
            f"{where}: give exactly one of daily_dose_mg, mg_per_kg_per_day or weight_bands, "
            f"got {what}"
        )
    for key, limit, units in (
        ("daily_dose_mg", MAX_DAILY_DOSE_MG, "mg/day"),
        ("mg_per_kg_per_day", MAX_MG_PER_KG_PER_DAY, "mg/kg/day"),
        ("max_daily_dose_mg", MAX_DAILY_DOSE_MG, "mg/day"),
        ("max_mg_per_kg_per_day", MAX_MG_PER_KG_PER_DAY, "mg/kg/day"),
    ):
        value = getattr(r, key)
        if value is not None:
            _check_dose(value, f"{where}.{key}", limit, units, problems)
    _check_bands(r.weight_bands, f"{where}.weight_bands", problems)

    # schedule
    doses, clocks = r.doses_per_day, r.dose_clock_times
    if doses is not None and not 1 <= doses <= MAX_DOSES_PER_DAY:
        problems.append(f"{where}.doses_per_day: must be 1..{MAX_DOSES_PER_DAY}, got {doses!r}")
        doses = None
    offsets: tuple[float, ...] = ()
    if clocks:
        if len(clocks) > MAX_DOSES_PER_DAY:
            problems.append(
                f"{where}.dose_clock_times: at most {MAX_DOSES_PER_DAY} doses a day, "
                f"got {len(clocks)}"
            )
        hours = [
            _clock_hours(c, f"{where}.dose_clock_times[{i}]", problems)
            for i, c in enumerate(clocks)
        ]
        if doses is not None and doses != len(clocks):
            problems.append(
                f"{where}.doses_per_day: {doses} does not match the {len(clocks)} "
                "dose_clock_times (give one or the other)"
            )
        if all(h is not None for h in hours) and len(clocks) <= MAX_DOSES_PER_DAY:
            offsets = _dose_offsets(hours, f"{where}.dose_clock_times", problems)
            resolved["dose_clock_times"] = tuple(_format_clock(h) for h in hours)
            resolved["doses_per_day"] = len(clocks)
    elif doses is None and r.doses_per_day is None and not (given and "doses_per_day" in given):
        problems.append(
            f"{where}: give doses_per_day (1..{MAX_DOSES_PER_DAY}) or dose_clock_times "
            '(e.g. ["08:00", "20:00"])'
        )
    elif doses is not None:
        first = _clock_hours(FIRST_DOSE_CLOCK, "FIRST_DOSE_CLOCK", problems) or 0.0
        hours = [(first + j * _DAY_H / doses) % _DAY_H for j in range(doses)]
        offsets = tuple(j * _DAY_H / doses for j in range(doses))
        resolved["dose_clock_times"] = tuple(_format_clock(h) for h in hours)

    # formulation and rounding
    product = None
    try:
        product = formulations.lookup_formulation(r.formulation)
        resolved["formulation"] = product.name
    except ValueError as error:
        problems.append(f"{where}.formulation: {error}")
    n_doses = resolved.get("doses_per_day", doses)
    if product is not None and n_doses is not None:
        try:
            formulations.check_doses_per_day(product.name, n_doses)
        except ValueError as error:
            problems.append(f"{where}.doses_per_day: {error}")
    if r.round_to_mg is not None:
        if r.round_to_mg <= 0:
            problems.append(f"{where}.round_to_mg: must be > 0 mg, got {r.round_to_mg:g}")
        elif _micrograms(r.round_to_mg) is None:
            problems.append(
                f"{where}.round_to_mg: must be a whole number of micrograms "
                f"({DOSE_RESOLUTION_MG} mg), got {r.round_to_mg!r}"
            )
        if r.round_to_capsules:
            problems.append(f"{where}: give round_to_mg or round_to_capsules = true, not both")
    if not isinstance(r.round_to_capsules, bool):
        problems.append(f"{where}.round_to_capsules: must be true or false")

    # adherence
    p_miss, late_h, p_late = r.missed_dose_probability, r.late_dose_max_h, r.late_dose_probability
    if not 0 <= p_miss < 1:
        problems.append(f"{where}.missed_dose_probability: must be in [0, 1), got {p_miss:g}")
    if not 0 <= p_late <= 1:
        problems.append(f"{where}.late_dose_probability: must be in [0, 1], got {p_late:g}")
    if late_h < 0:
        problems.append(f"{where}.late_dose_max_h: must be >= 0 h, got {late_h:g}")
    elif offsets and late_h >= _shortest_interval(offsets):
        problems.append(
            f"{where}.late_dose_max_h: must be shorter than the shortest interval between doses "
            f"({_shortest_interval(offsets):g} h), got {late_h:g} h"
        )
    if given is not None and "late_dose_probability" in given and "late_dose_max_h" not in given:
        problems.append(f"{where}.late_dose_probability: needs late_dose_max_h (the largest delay)")
    return resolved


def _check_bands(bands: Sequence[WeightBand], where: str, problems: list[str]) -> None:
    previous = 0.0
    for i, band in enumerate(bands):
        here = f"{where}[{i}]"
        last = i == len(bands) - 1
        if last and band.below_kg is not None:
            problems.append(f"{here}.below_kg: the last band is open-ended; remove below_kg")
        elif not last and band.below_kg is None:
            problems.append(f"{here}.below_kg: required on every band but the last")
        elif band.below_kg is not None and band.below_kg <= previous:
            problems.append(
                f"{here}.below_kg: must be > {previous:g} kg (bands ascending), "
                f"got {band.below_kg:g}"
            )
        else:
            previous = band.below_kg if band.below_kg is not None else previous
        doses = [k for k in ("daily_dose_mg", "mg_per_kg_per_day") if getattr(band, k) is not None]
        if len(doses) != 1:
            problems.append(
                f"{here}: give exactly one of daily_dose_mg or mg_per_kg_per_day, "
                f"got {' and '.join(doses) or 'none'}"
            )
        for key, limit, units in (
            ("daily_dose_mg", MAX_DAILY_DOSE_MG, "mg/day"),
            ("mg_per_kg_per_day", MAX_MG_PER_KG_PER_DAY, "mg/kg/day"),
        ):
            if getattr(band, key) is not None:
                _check_dose(getattr(band, key), f"{here}.{key}", limit, units, problems)


# ----------------------------------------------------------------------------- dose arithmetic


def _weights(weight_kg: ArrayLike) -> NDArray[np.float64]:
    w = np.asarray(weight_kg, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"weight_kg must be 1-D (one per subject), got shape {w.shape}")
    bad = ~np.isfinite(w) | (w <= 0)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"weight_kg must be finite and > 0 kg; got {w[i]} at index {i}")
    return w


def base_daily_dose(regimen: Regimen, weight_kg: ArrayLike) -> NDArray[np.float64]:
    """Daily dose (mg/day) per subject before ceilings and rounding (fixed, mg/kg or bands)."""
    w = _weights(weight_kg)
    if regimen.daily_dose_mg is not None:
        return np.full(w.shape, regimen.daily_dose_mg)
    if regimen.mg_per_kg_per_day is not None:
        return regimen.mg_per_kg_per_day * w
    bands = regimen.weight_bands
    edges = np.array([b.below_kg for b in bands[:-1]], dtype=np.float64)
    index = np.searchsorted(edges, w, side="right")  # weight == below_kg goes to the next band
    fixed = np.array([np.nan if b.daily_dose_mg is None else b.daily_dose_mg for b in bands])
    per_kg = np.array(
        [np.nan if b.mg_per_kg_per_day is None else b.mg_per_kg_per_day for b in bands]
    )
    return np.where(np.isnan(fixed[index]), per_kg[index] * w, fixed[index])


def _ceiling(regimen: Regimen, w: NDArray[np.float64]) -> NDArray[np.float64]:
    cap = np.full(w.shape, np.inf)
    if regimen.max_daily_dose_mg is not None:
        cap = np.minimum(cap, regimen.max_daily_dose_mg)
    if regimen.max_mg_per_kg_per_day is not None:
        cap = np.minimum(cap, regimen.max_mg_per_kg_per_day * w)
    return cap


def _units(strengths_mg: Sequence[float]) -> tuple[int, NDArray[np.int64]]:
    """(g, strengths in units of g micrograms) with g the gcd of the strengths in micrograms."""
    if not strengths_mg:
        raise ValueError("strengths_mg must list at least one unit or capsule strength (mg)")
    ug = []
    for s in strengths_mg:
        whole = _micrograms(float(s)) if _is_number(s) or isinstance(s, np.number) else None
        if whole is None:
            raise ValueError(f"strengths_mg must be whole numbers of micrograms > 0, got {s!r}")
        ug.append(whole)
    g = math.gcd(*ug)
    return g, np.array([u // g for u in ug], dtype=np.int64)


def _reachable(units: NDArray[np.int64], limit: int) -> NDArray[np.bool_]:
    """reach[t]: t units are a sum of the unit sizes (any counts), for 0 <= t <= limit."""
    reach = np.zeros(limit + 1, dtype=bool)
    reach[0] = True
    for u in np.unique(units):
        for start in range(min(int(u), limit + 1)):
            reach[start::u] = np.logical_or.accumulate(reach[start::u])
    return reach


def _round_units(
    x: NDArray[np.float64], cap: NDArray[np.float64], reach: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """Nearest makeable totals (ties up), floored at the smallest unit and capped (units)."""
    made = np.flatnonzero(reach)
    hi_index = np.searchsorted(made, x - _UNIT_TOL, side="left")
    hi = made[np.minimum(hi_index, made.size - 1)]
    lo = made[np.maximum(hi_index - 1, 0)]
    total = np.where(hi - x <= x - lo + _UNIT_TOL, hi, lo)
    smallest = made[1] if made.size > 1 else 0
    total = np.where((total == 0) & (x > 0), smallest, total)
    cap_units = np.floor(np.minimum(cap, made[-1]) + _UNIT_TOL).astype(np.int64)
    under = made[np.searchsorted(made, cap_units, side="right") - 1]
    return np.minimum(total, under).astype(np.int64)


def round_daily_dose(
    daily_mg: ArrayLike, strengths_mg: Sequence[float], cap_mg: ArrayLike = np.inf
) -> NDArray[np.float64]:
    """Round daily doses (mg) to the nearest amount the strengths (mg) can make, ties up,
    never above ``cap_mg`` and never to 0 for a positive dose (unless the cap forces it)."""
    x_mg = np.asarray(daily_mg, dtype=np.float64)
    cap = np.broadcast_to(np.asarray(cap_mg, dtype=np.float64), x_mg.shape)
    if np.any(~np.isfinite(x_mg) | (x_mg < 0)) or np.any(np.isnan(cap) | (cap < 0)):
        raise ValueError("daily_mg must be finite and >= 0 mg, and cap_mg >= 0 mg")
    g, units = _units(strengths_mg)
    scale = 1.0 / (g * DOSE_RESOLUTION_MG)
    x = x_mg * scale
    limit = math.ceil(float(x.max(initial=0.0))) + int(units.max()) + 1
    total = _round_units(x, cap * scale, _reachable(units, limit))
    return total / scale


def _split_units(total: int, n_doses: int, reach: NDArray[np.bool_]) -> list[int]:
    """The split rule on one total (units): as equal as possible, larger doses first."""
    out, left = [], total
    for j in range(n_doses, 0, -1):
        share = -(-left // j)
        dose = next(a for a in range(share, left + 1) if reach[a] and reach[left - a])
        out.append(dose)
        left -= dose
    return sorted(out, reverse=True)


def split_daily_dose(
    daily_mg: ArrayLike, doses_per_day: int, strengths_mg: Sequence[float] | None = None
) -> NDArray[np.float64]:
    """Per-dose amounts (mg), shape (n, doses_per_day), in the order of the day.

    Without ``strengths_mg``: equal doses. With them: each daily dose must already be makeable
    (see :func:`round_daily_dose`) and is split by the split rule (2.5 mg BID -> 1.5 + 1 mg).
    """
    d = np.atleast_1d(np.asarray(daily_mg, dtype=np.float64))
    if d.ndim != 1 or np.any(~np.isfinite(d) | (d < 0)):
        raise ValueError("daily_mg must be a 1-D array of finite doses >= 0 mg")
    if (
        isinstance(doses_per_day, bool)
        or not isinstance(doses_per_day, int | np.integer)
        or not (1 <= doses_per_day <= MAX_DOSES_PER_DAY)
    ):
        raise ValueError(f"doses_per_day must be 1..{MAX_DOSES_PER_DAY}, got {doses_per_day!r}")
    if strengths_mg is None:
        return np.repeat(d[:, None] / doses_per_day, doses_per_day, axis=1)
    g, units = _units(strengths_mg)
    scale = 1.0 / (g * DOSE_RESOLUTION_MG)
    x = d * scale
    totals = np.rint(x).astype(np.int64)
    reach = _reachable(units, int(totals.max(initial=0)))
    if np.any(np.abs(x - totals) > _UNIT_TOL) or not np.all(reach[totals]):
        bad = d[(np.abs(x - totals) > _UNIT_TOL) | ~reach[totals]][0]
        raise ValueError(
            f"daily dose {bad:g} mg cannot be made from strengths {tuple(strengths_mg)} mg; "
            "round it first with round_daily_dose"
        )
    if np.all(reach):  # every amount is makeable: the rule reduces to quotient and remainder
        base, extra = np.divmod(totals, doses_per_day)
        table = base[:, None] + (np.arange(doses_per_day) < extra[:, None])
        return table / scale
    unique, inverse = np.unique(totals, return_inverse=True)
    table = np.array([_split_units(int(t), doses_per_day, reach) for t in unique], dtype=np.int64)
    return table.reshape(-1, doses_per_day)[inverse.ravel()] / scale


def _rounding_strengths(regimen: Regimen) -> tuple[float, ...] | None:
    if regimen.round_to_mg is not None:
        return (regimen.round_to_mg,)
    if regimen.round_to_capsules:
        return formulations.capsule_strengths(regimen.formulation)
    return None


def intended_daily_dose(regimen: Regimen, weight_kg: ArrayLike) -> NDArray[np.float64]:
    """Daily dose (mg/day) per subject after bands, ceilings and rounding."""
    w = _weights(weight_kg)
    cap = _ceiling(regimen, w)
    dose = np.minimum(base_daily_dose(regimen, w), cap)
    strengths = _rounding_strengths(regimen)
    return dose if strengths is None else round_daily_dose(dose, strengths, cap)


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class DoseEvents:
    """Dose events of one regimen for n subjects and m = days x doses_per_day dose slots.

    ``times`` (n, m) h from the first dose (NaN: missed); ``amounts`` (n, m) mg (0 when
    missed); ``clock_h`` (n, m) actual clock time of day of each dose in [0, 24) h (NaN when
    missed); ``daily_dose_mg`` (n,) intended daily dose; ``day`` (m,) day 1..days of each slot;
    ``slot`` (m,) index of the dose within its day (0 = first dose of the day). Arrays are
    read-only.
    """

    times: NDArray[np.float64]
    amounts: NDArray[np.float64]
    clock_h: NDArray[np.float64]
    daily_dose_mg: NDArray[np.float64]
    day: NDArray[np.int64]
    slot: NDArray[np.int64]


def _adherence_bits(days: int) -> rng.Sampler:
    """Sampler of (size, days, MAX_DOSES_PER_DAY) raw 64-bit words, one per dose slot: the high
    32 bits decide a missed dose, the low 32 bits lateness and delay (two independent uniforms
    with 2**-32 resolution). The shape does not depend on the regimen."""

    def sampler(generator: np.random.Generator, size: int) -> np.ndarray:
        raw = generator.bit_generator.random_raw(size * days * MAX_DOSES_PER_DAY)
        return raw.reshape(size, days, MAX_DOSES_PER_DAY)

    return sampler


def dose_events(
    regimen: Regimen, weight_kg: ArrayLike, days: int, *, seed: int, start: int
) -> DoseEvents:
    """Dose times, amounts and clock times for subjects ``start .. start + n`` over ``days`` days.

    ``weight_kg`` (n,) kg. Adherence draws come from stream ``"adherence"`` and depend only on
    (seed, subject index, days), so results do not depend on chunking or on the regimen.
    """
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise ValueError(f"days must be a whole number >= 1, got {days!r}")
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
        raise ValueError(f"start must be a subject index >= 0, got {start!r}")
    w = _weights(weight_kg)
    n, k = w.size, int(regimen.doses_per_day)
    daily = intended_daily_dose(regimen, w)
    per_dose = split_daily_dose(daily, k, _rounding_strengths(regimen))

    clock = np.array([int(c[:2]) + int(c[3:]) / 60 for c in regimen.dose_clock_times])
    offsets = (clock - clock[0]) % _DAY_H
    day = np.repeat(np.arange(1, days + 1, dtype=np.int64), k)
    slot = np.tile(np.arange(k, dtype=np.int64), days)
    times = np.broadcast_to(_DAY_H * (day - 1) + offsets[slot], (n, days * k))
    clock_h = np.broadcast_to(clock[slot], (n, days * k))
    amounts = np.tile(per_dose, (1, days))

    if regimen.missed_dose_probability > 0 or regimen.late_dose_max_h > 0:
        bits = rng.draw(seed, "adherence", int(start), int(start) + n, _adherence_bits(days))
        bits = bits[:, :, :k].reshape(n, days * k)
        p_late = regimen.late_dose_probability
        if regimen.late_dose_max_h > 0 and p_late > 0:
            low = (bits & np.uint64(_WORD - 1)).astype(np.float64) / _WORD  # uniform [0, 1)
            delay = np.where(low < p_late, low * (regimen.late_dose_max_h / p_late), 0.0)
            times = times + delay
            clock_h = clock_h + delay
            clock_h = np.where(clock_h >= _DAY_H, clock_h - _DAY_H, clock_h)
        missed = (bits >> np.uint64(32)) < np.uint64(regimen.missed_dose_probability * _WORD)
        times = np.where(missed, np.nan, times)
        clock_h = np.where(missed, np.nan, clock_h)
        amounts = np.where(missed, 0.0, amounts)

    times = np.array(times, dtype=np.float64, order="C")  # rows contiguous, as the kernel reads
    clock_h = np.array(clock_h, dtype=np.float64, order="C")
    arrays = (times, amounts, clock_h, daily, day, slot)
    for array in arrays:
        array.flags.writeable = False
    return DoseEvents(*arrays)
