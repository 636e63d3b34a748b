"""The output contract of a run: variable and coordinate names, dims, units, long names, and
the provenance attrs. Arrays of one chunk -> ``xarray.Dataset``.

Everything that reads a result (``pksim.results``, plots, the command line, users) relies on
these names only, never on simulator internals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from pksim import __version__, units
from pksim.library import covariates as registry

if TYPE_CHECKING:
    from pksim.scenario import Scenario

TROUGH = "trough"
MEASURED = "trough_measured"
BELOW_LLOQ = "below_lloq"
DAILY_DOSE = "daily_dose_mg"
REALISED_DAILY_DOSE = "realised_daily_dose_mg"
"""Optional variable (regimen, subject, day) mg/day: the daily dose given on each day after
dose changes, holds (0 mg) and monitoring decisions (before missed doses); absent when every
regimen keeps one dose."""
DOSE_CHANGES = "dose_changes"
"""Optional variable (regimen, subject), integer: monitoring results that changed (or held)
the dose; present when a regimen monitors."""
REALISED_DAILY_DOSE_LONG_NAME = "Daily dose given (0 on held days)"
DOSE_CHANGES_LONG_NAME = "Monitoring results that changed or held the dose"
TARGET_LOWER, TARGET_UPPER = "target_lower", "target_upper"
CONCENTRATION = "concentration"
TROUGH_DIMS = ("regimen", "subject", "day")

TROUGH_LONG_NAME = "Whole-blood trough concentration"
MEASURED_LONG_NAME = "Measured whole-blood trough (with assay error)"

TARGET_FIRST_DAY, TARGET_LAST_DAY = "target_first_day", "target_last_day"
"""Dataset attrs: the days the scenario's ``[target]`` judges (equal for a single day)."""
DOSE_TIMELINE = "dose_timeline"
"""Dataset attr (JSON): per regimen whose doses vary, its change days, holds and monitoring
days (:func:`dose_timeline`)."""
TARGET_IS_WINDOW = "target_is_window"
"""Dataset attr: 1 when the target is a window (in range on every day), 0 for one day."""

SUBJECT_COORDINATES: tuple[str, ...] = tuple(c.name for c in registry.result_coordinates())
"""Per-subject coordinates of the result (plus ``patient_id`` for a CSV cohort), from the
covariate registry."""
CONTINUOUS_COORDINATES: frozenset[str] = registry.continuous_coordinates()
"""Subject coordinates holding floats: attainment cannot be grouped by them (group by a
categorical coordinate such as ``weight_band`` instead)."""
PATIENT_ID = "patient_id"
RENAL_IMPAIRMENT = "renal_impairment"
"""Subject coordinate: True for subjects with renal impairment (who may have a lower target)."""

COORDINATE_ATTRS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "subject": {"long_name": "Subject index"},
        **{c.name: dict(c.attrs) for c in registry.result_coordinates()},
        PATIENT_ID: {"long_name": "Patient"},
    }
)


@dataclass(frozen=True, slots=True)
class ChunkArrays:
    """Simulated arrays of subjects [start, stop) of a run.

    ``trough`` (regimen, subject, day) ng/mL on ``days``; ``measured``/``below_lloq`` the same
    shape, or None when not asked for; ``daily_dose_mg`` (regimen, subject); ``target_lower``
    and ``target_upper`` (subject,) ng/mL; ``coords`` name -> (subject,) array;
    ``profiles`` (regimen, subject, time) ng/mL or None; ``realised_daily_dose`` (regimen,
    subject, day) mg/day and ``dose_changes`` (regimen, subject), or None; ``individual`` the
    subjects' PK parameters, name -> ((subject,) values, units, long name).
    """

    start: int
    stop: int
    days: np.ndarray
    trough: np.ndarray
    measured: np.ndarray | None
    below_lloq: np.ndarray | None
    daily_dose_mg: np.ndarray
    target_lower: np.ndarray
    target_upper: np.ndarray
    coords: dict[str, np.ndarray]
    profiles: np.ndarray | None
    realised_daily_dose: np.ndarray | None = None
    dose_changes: np.ndarray | None = None
    individual: Mapping[str, tuple[np.ndarray, str, str]] = field(default_factory=dict)


def chunk_dataset(
    arrays: ChunkArrays,
    *,
    regimens: Sequence[str],
    lloq_ng_per_ml: float,
    target_source: str,
    profile_times: np.ndarray,
) -> xr.Dataset:
    """The Dataset of one chunk from its arrays (variables and coordinates, no run attrs)."""
    trough_attrs = {"units": units.CONCENTRATION, "long_name": TROUGH_LONG_NAME}
    variables: dict[str, Any] = {TROUGH: (TROUGH_DIMS, arrays.trough, trough_attrs)}
    if arrays.measured is not None:
        variables[MEASURED] = (
            TROUGH_DIMS,
            arrays.measured,
            trough_attrs | {"long_name": MEASURED_LONG_NAME},
        )
        variables[BELOW_LLOQ] = (
            TROUGH_DIMS,
            arrays.below_lloq,
            {
                "long_name": "Measured trough below the assay LLOQ",
                "lloq_ng_per_ml": lloq_ng_per_ml,
            },
        )
    target_attrs = {"units": units.CONCENTRATION, "source": target_source}
    variables |= {
        DAILY_DOSE: (
            ("regimen", "subject"),
            arrays.daily_dose_mg,
            {"units": units.DAILY_DOSE, "long_name": "Intended daily dose"},
        ),
        TARGET_LOWER: (
            "subject",
            arrays.target_lower,
            target_attrs | {"long_name": "Target lower bound"},
        ),
        TARGET_UPPER: (
            "subject",
            arrays.target_upper,
            target_attrs | {"long_name": "Target upper bound"},
        ),
    }
    if arrays.realised_daily_dose is not None:
        variables[REALISED_DAILY_DOSE] = (
            TROUGH_DIMS,
            arrays.realised_daily_dose,
            {"units": units.DAILY_DOSE, "long_name": REALISED_DAILY_DOSE_LONG_NAME},
        )
    if arrays.dose_changes is not None:
        variables[DOSE_CHANGES] = (
            ("regimen", "subject"),
            arrays.dose_changes,
            {"units": "1", "long_name": DOSE_CHANGES_LONG_NAME},
        )
    for name, (values, unit, long_name) in arrays.individual.items():
        variables[name] = ("subject", values, {"units": unit, "long_name": long_name})
    coords: dict[str, Any] = {
        "subject": ("subject", np.arange(arrays.start, arrays.stop), COORDINATE_ATTRS["subject"])
    }
    coords |= {
        name: ("subject", values, COORDINATE_ATTRS[name]) for name, values in arrays.coords.items()
    }
    coords |= {
        "regimen": ("regimen", list(regimens), {"long_name": "Regimen"}),
        "day": (
            "day",
            arrays.days,
            {
                "long_name": "Day of treatment",
                "units": units.DAY,
                "description": "trough at t = 24·day h, just before any dose given then",
            },
        ),
    }
    if arrays.profiles is not None:
        variables[CONCENTRATION] = (
            ("regimen", "subject", "time"),
            arrays.profiles,
            {"units": units.CONCENTRATION, "long_name": "Whole-blood concentration"},
        )
        coords["time"] = (
            "time",
            profile_times,
            {"units": units.TIME, "long_name": "Time since first dose"},
        )
    return xr.Dataset(variables, coords=coords)


def provenance(
    scenario: Scenario, seed: int, n_subjects: int, dose_times_h: Mapping[str, list[float]]
) -> dict[str, object]:
    """Dataset attrs: the scenario, seed, parameter set and its references, pksim version,
    the target and the days it judges, and the nominal dose times per regimen (h)."""
    target = scenario.target
    first, last = target_days(scenario)
    references = sorted({*scenario.parameter_set.references, *scenario.population.references})
    return {
        "title": scenario.title,
        "pksim_version": __version__,
        "scenario": scenario.text,
        "scenario_origin": scenario.origin,
        "seed": int(seed),
        "n_subjects": int(n_subjects),
        "days": int(scenario.days),
        "population": scenario.population.name,
        "parameter_set": scenario.parameter_set.name,
        "references": "\n".join(references),
        "target_phase": target.phase or "custom",
        "target_label": target.target.label,
        TARGET_FIRST_DAY: first,
        TARGET_LAST_DAY: last,
        TARGET_IS_WINDOW: int(target.window is not None),
        "comedications": json.dumps(
            [
                {
                    "drug": p.course.drug,
                    "start_day": p.course.start_day if np.isfinite(p.course.start_day) else None,
                    "stop_day": p.course.stop_day,
                    "fraction": p.fraction,
                }
                for p in scenario.comedications
            ]
        ),
        "food": json.dumps(
            {
                "condition": scenario.food.condition,
                "meals": [[m.clock_h, m.kind] for m in scenario.food.meals],
                "fraction_against_rule": scenario.food.fraction_against_rule,
            }
        ),
        "dose_times_h": json.dumps(dict(dose_times_h)),
        DOSE_TIMELINE: json.dumps(dose_timeline(scenario)),
        "typical_only": int(scenario.variability.typical_only),
    }


def dose_timeline(scenario: Scenario) -> dict[str, dict[str, list]]:
    """Per regimen whose doses vary over time: the days its scheduled ``changes`` take effect,
    its ``holds`` ([first, last] days) and its monitoring draws and the first days dosed on
    their results (what the course plot marks)."""
    timeline = {}
    for regimen in scenario.regimens:
        if regimen.varies_over_time:
            plan = regimen.tdm
            timeline[regimen.name] = {
                "changes": [change.day for change in regimen.changes],
                "holds": [[hold.first_day, hold.last_day] for hold in regimen.holds],
                "tdm_draws": list(plan.sample_days) if plan else [],
                "tdm_effective": list(plan.effective_days()) if plan else [],
            }
    return timeline


def target_days(scenario: Scenario) -> tuple[int, int]:
    """(first, last) day the scenario's ``[target]`` judges: its window, else its day, else
    the last simulated day."""
    target = scenario.target
    if target.window is not None:
        first, last = target.window
        return int(first), int(last)
    day = int(scenario.days if target.day is None else target.day)
    return day, day
