"""The dose part of a regimen spec: a fixed daily dose (mg/day), a dose per kg (mg/kg/day) or
weight bands (:class:`WeightBand`), and the limits every dose number is checked against.

Checked as part of :class:`~pksim.dosing.regimen.Regimen` (problems under the regimen's field
names); what the doses give per subject is :mod:`pksim.dosing.amounts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pksim.dosing.rounding import DOSE_RESOLUTION_MG
from pksim.errors import Problems, shown, unknown_name
from pksim.library import covariates as registry
from pksim.library.cited import finite_float

__all__ = [
    "DOSE_LIMITS",
    "MAX_DAILY_DOSE_MG",
    "MAX_MG_PER_KG_PER_DAY",
    "MAX_WEIGHT_BANDS",
    "MIN_DOSE",
    "WeightBand",
    "band_edge_range_kg",
    "bands_from_tables",
    "check_bands",
    "check_dose",
]

MAX_DAILY_DOSE_MG = 100.0
"""Plausibility guard against unit slips (g or ug typed as mg): ten times the highest daily dose
the LN consensus reaches (0.1 mg/kg/day, about 10 mg/day at 100 kg)."""

MAX_MG_PER_KG_PER_DAY = 1.0
"""Plausibility guard, ten times the consensus maximum of 0.1 mg/kg/day."""

MIN_DOSE = DOSE_RESOLUTION_MG
"""Smallest dose number of a regimen, in its own units (mg/day, or mg/kg/day): the dose
resolution of :mod:`pksim.dosing.rounding` (1 microgram). A smaller daily dose cannot be
rounded or split and treats no one; 0.001 mg/kg/day is a fiftieth of the lowest consensus
dose."""

MAX_WEIGHT_BANDS = 10
"""Most weight bands of one regimen (the consensus uses two)."""

DOSE_LIMITS: Mapping[str, float] = {
    "daily_dose_mg": MAX_DAILY_DOSE_MG,
    "mg_per_kg_per_day": MAX_MG_PER_KG_PER_DAY,
    "max_daily_dose_mg": MAX_DAILY_DOSE_MG,
    "max_mg_per_kg_per_day": MAX_MG_PER_KG_PER_DAY,
}
"""Largest value of each dose field of a regimen (its units are those of the field name)."""

_BAND_UNITS = {"below_kg": "kg", "daily_dose_mg": "mg/day", "mg_per_kg_per_day": "mg/kg/day"}
_BAND_EXAMPLE = "{ below_kg = 60, daily_dose_mg = 2 }"


def band_edge_range_kg() -> tuple[float, float]:
    """Lowest and highest ``below_kg`` (kg): the plausible range of a patient's weight in the
    covariate registry (which patient tables are also held to). A band edge outside it sorts
    no patient and is a unit slip (g, lb)."""
    return registry.get("weight_kg").allowed


@dataclass(frozen=True, slots=True)
class WeightBand:
    """One weight band: applies below ``below_kg`` (kg; None for the last, open band) and down
    to the previous band's limit; gives ``daily_dose_mg`` (mg/day) or ``mg_per_kg_per_day``.
    Checked as part of its :class:`~pksim.dosing.regimen.Regimen`."""

    below_kg: float | None = None
    daily_dose_mg: float | None = None
    mg_per_kg_per_day: float | None = None


def bands_from_tables(bands: Any, problems: Problems) -> Any:
    """Band tables as :class:`WeightBand` objects (unknown keys reported and dropped); anything
    else is left for the regimen's check to refuse."""
    if not isinstance(bands, list) or len(bands) > MAX_WEIGHT_BANDS:
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


def check_dose(value: float, where: str, limit: float, units: str, problems: Problems) -> None:
    """Add a problem unless :data:`MIN_DOSE` <= ``value`` <= ``limit`` (in ``units``)."""
    if value <= 0:
        problems.add(where, f"must be > 0 {units}, got {value:g}")
    elif value < MIN_DOSE:
        problems.add(
            where,
            f"must be at least {MIN_DOSE:g} {units} (the dose resolution: smaller doses cannot "
            f"be made), got {value:g}",
        )
    elif value > limit:
        problems.add(
            where,
            f"{value:g} {units} is implausible for tacrolimus (allowed up to {limit:g} "
            f"{units}); is the unit right (mg, not ug or g)?",
        )


def check_bands(bands: Any, problems: Problems) -> tuple[WeightBand, ...]:
    """Check the bands (ascending limits within :func:`band_edge_range_kg`, one dose each);
    return them with float numbers."""
    if not isinstance(bands, tuple | list) or not bands:
        problems.add(
            "weight_bands",
            f"must be a non-empty list of tables like [{_BAND_EXAMPLE}, {{ daily_dose_mg = 3 }}]",
        )
        return ()
    if len(bands) > MAX_WEIGHT_BANDS:
        problems.add("weight_bands", f"at most {MAX_WEIGHT_BANDS} bands, got {len(bands)}")
        return ()
    low, high = band_edge_range_kg()
    out, previous = [], low
    for i, band in enumerate(bands):
        here = f"weight_bands[{i}]"
        if not isinstance(band, WeightBand):
            problems.add(here, f"must be a table like {_BAND_EXAMPLE}, got {shown(band)}")
            continue
        values, bad = {}, False
        for key, units in _BAND_UNITS.items():
            value = getattr(band, key)
            if value is None or finite_float(value) is not None:
                values[key] = None if value is None else finite_float(value)
            else:
                problems.add(
                    f"{here}.{key}", f"must be a finite number in {units}, got {shown(value)}"
                )
                bad = True
        if bad:
            continue
        band = WeightBand(**values)
        out.append(band)
        last = i == len(bands) - 1
        edge = band.below_kg
        if last and edge is not None:
            problems.add(f"{here}.below_kg", "the last band is open-ended; remove below_kg")
        elif not last and edge is None:
            problems.add(f"{here}.below_kg", "required on every band but the last")
        elif edge is not None and not low < edge <= high:
            problems.add(
                f"{here}.below_kg",
                f"must be > {low:g} kg and <= {high:g} kg (plausible body weights), got {edge:g}",
            )
        elif edge is not None and edge <= previous:
            problems.add(
                f"{here}.below_kg", f"must be > {previous:g} kg (bands ascending), got {edge:g}"
            )
        else:
            previous = edge if edge is not None else previous
        doses = [k for k in ("daily_dose_mg", "mg_per_kg_per_day") if getattr(band, k) is not None]
        if len(doses) != 1:
            problems.add(
                here,
                "give exactly one of daily_dose_mg or mg_per_kg_per_day, "
                f"got {' and '.join(doses) or 'none'}",
            )
        for key in doses:
            limit, units = DOSE_LIMITS[key], _BAND_UNITS[key]
            check_dose(getattr(band, key), f"{here}.{key}", limit, units, problems)
    return tuple(out)
