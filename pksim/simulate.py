"""Orchestration: one :class:`~pksim.scenario.Scenario` -> an ``xarray.Dataset`` of troughs.

For every chunk of subjects: covariates and individual parameters are drawn once; then for
each regimen the dose events, the per-dose bioavailability (food, formulation, IOV, prednisone
taper, co-medications) and the clearance over time (liver function, co-medications) are built
and handed to the exact kernel. Every random draw of subject i depends only on (seed, i), so
the result does not depend on the chunk size, and every regimen sees the same patients
(common random numbers).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

from pksim import __version__, cohort, covariates, food, interactions, model, rng, targets
from pksim.regimen import Regimen, dose_events
from pksim.scenario import Scenario, load_scenario

HOURS_PER_DAY = 24.0
DEFAULT_CHUNK_SUBJECTS = 20_000
"""Subjects simulated together; bounds memory (about 2 kB per subject, regimen and day)."""
MAX_PROFILE_VALUES = 200_000_000
"""Largest regimen x subject x time profile array kept in memory (8 bytes each)."""

Progress = Callable[[int, int], None]


def run(
    scenario: Scenario | str | Path,
    n_subjects: int | None = None,
    seed: int | None = None,
    *,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    progress: Progress | None = None,
) -> xr.Dataset:
    """Simulate a scenario (an object, a file path or a bundled scenario name).

    ``n_subjects`` and ``seed`` override the scenario's. ``progress(done, total)`` is called
    after each chunk. Returns the Dataset described in DESIGN.md: ``trough`` (ng/mL,
    regimen x subject x day) and its measured counterpart, per-subject covariates as
    coordinates, units and provenance in attrs.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    n = scenario.subjects if n_subjects is None else n_subjects
    seed = scenario.seed if seed is None else seed
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n_subjects must be a whole number >= 1, got {n!r}")
    if scenario.patients is not None and n > len(scenario.patients):
        raise ValueError(
            f"n_subjects ({n}) exceeds the {len(scenario.patients)} patients of the CSV table"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    if chunk_subjects < 1:
        raise ValueError(f"chunk_subjects must be >= 1, got {chunk_subjects}")
    if scenario.output.profiles:
        points = len(scenario.regimens) * n * len(profile_times(scenario))
        if points > MAX_PROFILE_VALUES:
            raise ValueError(
                f"concentration profiles would hold {points:,} values (limit "
                f"{MAX_PROFILE_VALUES:,}): lower the subject count or raise output.profile_step_h"
            )
    chunks = []
    for start in range(0, n, chunk_subjects):
        stop = min(n, start + chunk_subjects)
        chunks.append(simulate_chunk(scenario, seed, start, stop))
        if progress is not None:
            progress(stop, n)
    dataset = xr.concat(chunks, dim="subject") if len(chunks) > 1 else chunks[0]
    dataset.attrs = provenance(scenario, seed, n)
    return dataset


def profile_times(scenario: Scenario) -> np.ndarray:
    """Times (h) of the concentration profiles: every ``profile_step_h`` over the whole run."""
    step = scenario.output.profile_step_h
    return np.arange(0.0, scenario.days * HOURS_PER_DAY + step / 2, step)


def _covariates(scenario: Scenario, seed: int, start: int, stop: int) -> covariates.Covariates:
    if scenario.patients is not None:
        return scenario.patients.slice(start, stop)
    return cohort.sample_covariates(scenario.population, seed=seed, start=start, stop=stop)


def _comedication_mask(scenario: Scenario, seed: int, start: int, stop: int) -> np.ndarray:
    """(n, k) bool: which subjects take each co-medication (stream ``comedication``)."""
    k = len(scenario.comedications)
    fractions = np.array([plan.fraction for plan in scenario.comedications])
    if k == 0 or np.all(fractions == 1.0):
        return np.ones((stop - start, k), dtype=bool)

    def sampler(generator: np.random.Generator, size: int) -> np.ndarray:
        return generator.random((size, len(rng.STREAMS)))  # fixed width: columns never move

    uniform = rng.draw(seed, "comedication", start, stop, sampler)[:, :k]
    return uniform < fractions


def _comedication_effects(scenario, taking, expresser, times):
    """(cl_change_times, cl_multipliers, dose_f) for the co-medications subjects take."""
    n = taking.shape[0]
    if not scenario.comedications:
        return None, None, np.ones((1, times.shape[1]))
    combos, combo_of_subject = np.unique(taking, axis=0, return_inverse=True)
    combo_of_subject = combo_of_subject.reshape(-1)
    end_h = scenario.days * HOURS_PER_DAY
    grids, dose_f = [], np.ones(times.shape)
    for index, combo in enumerate(combos):
        courses = [
            plan.course for plan, used in zip(scenario.comedications, combo, strict=True) if used
        ]
        members = combo_of_subject == index
        if not courses:
            grids.append((np.empty(0), np.ones((1, 1)), members))
            continue
        grid = interactions.cl_multiplier_grid(courses, expresser, t_begin=0.0, t_end=end_h)
        grids.append(
            (
                grid.change_times,
                np.broadcast_to(grid.multipliers, (n, grid.change_times.size + 1)),
                members,
            )
        )
        f = interactions.f_multipliers(courses, times, expresser)
        dose_f = np.where(members[:, None], f, dose_f)
    change_times = np.unique(np.concatenate([g[0] for g in grids]))
    multipliers = np.ones((n, change_times.size + 1))
    for own_times, own_multipliers, members in grids:
        # Segment s of the union grid starts at change_times[s - 1]; find the combo's segment.
        segment = np.searchsorted(
            own_times, np.concatenate([[-np.inf], change_times]), side="right"
        )
        own = np.broadcast_to(own_multipliers, (n, own_times.size + 1))
        multipliers[members] = own[members][:, segment]
    return change_times, multipliers, dose_f


def _food_conditions(scenario: Scenario, regimen: Regimen, events, seed, start, stop):
    """Condition code of every dose, (n|1, m)."""
    plan = scenario.food
    if plan.meals:
        clock = [int(c[:2]) + int(c[3:]) / 60.0 for c in regimen.dose_clock_times]
        per_slot = food.conditions_from_schedule(clock, plan.meals)
        planned = [per_slot[slot] for slot in events.slot]
    else:
        planned = [plan.condition] * events.slot.size
    return food.draw_dose_conditions(
        planned,
        seed=seed,
        start=start,
        stop=stop,
        fraction_against_rule=plan.fraction_against_rule,
        violation=plan.violation,
    )


def _dose_times_after_draws(events, sample_times: np.ndarray) -> np.ndarray:
    """Dose times with a late trough draw respected: the dose due then waits for the draw."""
    times = np.array(events.times)
    first_of_day = (events.slot == 0) & (events.day >= 2)
    columns = np.flatnonzero(first_of_day)
    draw = sample_times[:, events.day[columns] - 2]  # trough of the day before that dose
    times[:, columns] = np.where(
        np.isnan(times[:, columns]), np.nan, np.maximum(times[:, columns], draw)
    )
    return times


def simulate_chunk(scenario: Scenario, seed: int, start: int, stop: int) -> xr.Dataset:
    """Dataset for subjects [start, stop) (see :func:`run`)."""
    pset, variability = scenario.parameter_set, scenario.variability
    typical_only = variability.typical_only
    cov = _covariates(scenario, seed, start, stop)
    pk = cohort.individual_parameters(pset, cov, seed=seed, start=start, typical_only=typical_only)
    expresser = np.asarray(cov.cyp3a5) > 0
    cl = pk.cl * covariates.liver_cl_multiplier(pset, cov.liver_function)
    days = np.arange(1, scenario.days + 1)
    offsets = cohort.sampling_time_offsets(
        variability, scenario.days, seed=seed, start=start, stop=stop
    )
    sample_times = days * HOURS_PER_DAY + offsets
    taking = _comedication_mask(scenario, seed, start, stop)
    taper = scenario.population.prednisone_taper

    troughs, measured, below, daily = [], [], [], []
    profiles = []
    for regimen in scenario.regimens:
        events = dose_events(regimen, cov.weight_kg, scenario.days, seed=seed, start=start)
        times = _dose_times_after_draws(events, sample_times)
        conditions = _food_conditions(scenario, regimen, events, seed, start, stop)
        absorption = food.absorption_arrays(pk.ka, conditions, regimen.formulation)
        iov = cohort.iov_f_multipliers(
            pset,
            times,
            seed=seed,
            start=start,
            stop=stop,
            occasion_length_h=variability.occasion_length_h,
            typical_only=typical_only,
        )
        dose_f = absorption.dose_f * iov
        if taper is not None:
            dose_f = dose_f * covariates.prednisone_f_multipliers(
                pset, cov.prednisone_mg_per_day, taper, times
            )
        change_times, cl_multipliers, comed_f = _comedication_effects(
            scenario, taking, expresser, times
        )
        dose_f = dose_f * comed_f
        arguments = dict(
            dose_class=absorption.dose_class,
            class_lag=absorption.class_lag,
            dose_f=dose_f,
            cl_change_times=change_times,
            cl_multipliers=cl_multipliers,
        )
        true = model.concentrations_general(
            cl, pk.v, absorption.ka, pk.tlag, pk.f, times, events.amounts, sample_times, **arguments
        )
        observed = cohort.residual_error(
            pset,
            true,
            seed=seed,
            start=start,
            lloq_ng_per_ml=variability.lloq_ng_per_ml,
            typical_only=typical_only,
        )
        troughs.append(true)
        measured.append(observed.measured)
        below.append(observed.below_lloq)
        daily.append(events.daily_dose_mg)
        if scenario.output.profiles:
            profiles.append(
                model.concentrations_general(
                    cl,
                    pk.v,
                    absorption.ka,
                    pk.tlag,
                    pk.f,
                    times,
                    events.amounts,
                    profile_times(scenario),
                    **arguments,
                )
            )

    return _chunk_dataset(
        scenario, cov, start, stop, taking, troughs, measured, below, daily, profiles
    )


def _weight_bands(scenario: Scenario, weight_kg: np.ndarray) -> np.ndarray:
    """Band labels such as "< 60 kg" / "≥ 60 kg" from the scenario's (or consensus) bands."""
    edges = sorted(
        {
            band.below_kg
            for r in scenario.regimens
            for band in r.weight_bands
            if band.below_kg is not None
        }
        or set(targets.weight_band_edges_kg())
    )
    labels = [f"< {edges[0]:g} kg"]
    labels += [f"{low:g}-{high:g} kg" for low, high in itertools.pairwise(edges)]
    labels.append(f"≥ {edges[-1]:g} kg")
    return np.asarray(labels)[np.searchsorted(edges, weight_kg, side="right")]


def _comedication_labels(scenario: Scenario, taking: np.ndarray) -> np.ndarray:
    """ "none" or the drugs a subject takes, joined by " + "."""
    names = [plan.course.drug for plan in scenario.comedications]
    combos, inverse = np.unique(taking, axis=0, return_inverse=True)
    labels = [
        " + ".join(n for n, used in zip(names, row, strict=True) if used) or "none"
        for row in combos
    ]
    return np.asarray(labels)[inverse.reshape(-1)]


def _subject_coords(scenario: Scenario, cov, start: int, stop: int, taking) -> dict:
    renal = targets.is_renal_impaired(
        cov.egfr, cov.serum_creatinine_mg_dl, cov.serum_creatinine_uln_mg_dl
    )
    coords = {
        "subject": ("subject", np.arange(start, stop), {"long_name": "Subject index"}),
        "weight_kg": ("subject", cov.weight_kg, {"units": "kg", "long_name": "Body weight"}),
        "sex": ("subject", np.where(np.asarray(cov.sex) == 1, "M", "F"), {"long_name": "Sex"}),
        "age_y": ("subject", cov.age_y, {"units": "years", "long_name": "Age"}),
        "hematocrit_pct": (
            "subject",
            cov.hematocrit_pct,
            {"units": "%", "long_name": "Hematocrit"},
        ),
        "egfr": ("subject", cov.egfr, {"units": "mL/min/1.73 m2", "long_name": "eGFR (CKD-EPI)"}),
        "serum_creatinine_mg_dl": (
            "subject",
            cov.serum_creatinine_mg_dl,
            {"units": "mg/dL", "long_name": "Serum creatinine"},
        ),
        "cyp3a5": ("subject", cov.labels("cyp3a5"), {"long_name": "CYP3A5 genotype"}),
        "cyp3a5_expresser": (
            "subject",
            np.asarray(cov.cyp3a5) > 0,
            {"long_name": "CYP3A5 expresser (*1 carrier)"},
        ),
        "liver_function": (
            "subject",
            cov.labels("liver_function"),
            {"long_name": "Liver function"},
        ),
        "prednisone_mg_per_day": (
            "subject",
            cov.prednisone_mg_per_day,
            {"units": "mg/day", "long_name": "Prednisone at start"},
        ),
        "renal_impairment": ("subject", renal, {"long_name": "Renal impairment (consensus)"}),
        "weight_band": (
            "subject",
            _weight_bands(scenario, cov.weight_kg),
            {"long_name": "Weight band"},
        ),
        "comedication": (
            "subject",
            _comedication_labels(scenario, taking),
            {"long_name": "Co-medication"},
        ),
    }
    if cov.patient_id is not None:
        coords["patient_id"] = ("subject", np.asarray(cov.patient_id), {"long_name": "Patient"})
    return coords


def _chunk_dataset(
    scenario, cov, start, stop, taking, troughs, measured, below, daily, profiles
) -> xr.Dataset:
    plan = scenario.target
    renal = targets.is_renal_impaired(
        cov.egfr, cov.serum_creatinine_mg_dl, cov.serum_creatinine_uln_mg_dl
    )
    lower, upper = targets.subject_target_bounds(
        plan.target, renal if plan.renal_ceiling else np.zeros_like(renal)
    )
    dims = ("regimen", "subject", "day")
    trough_attrs = {"units": "ng/mL", "long_name": "Whole-blood trough concentration"}
    variables = {
        "trough": (dims, np.stack(troughs), trough_attrs),
        "trough_measured": (
            dims,
            np.stack(measured),
            trough_attrs | {"long_name": "Measured whole-blood trough (with assay error)"},
        ),
        "below_lloq": (
            dims,
            np.stack(below),
            {
                "long_name": "Measured trough below the assay LLOQ",
                "lloq_ng_per_ml": scenario.variability.lloq_ng_per_ml,
            },
        ),
        "daily_dose_mg": (
            ("regimen", "subject"),
            np.stack(daily),
            {"units": "mg/day", "long_name": "Intended daily dose"},
        ),
        "target_lower": (
            "subject",
            lower,
            {"units": "ng/mL", "long_name": "Target lower bound", "source": plan.target.source},
        ),
        "target_upper": (
            "subject",
            upper,
            {"units": "ng/mL", "long_name": "Target upper bound", "source": plan.target.source},
        ),
    }
    coords = _subject_coords(scenario, cov, start, stop, taking) | {
        "regimen": ("regimen", [r.name for r in scenario.regimens], {"long_name": "Regimen"}),
        "day": (
            "day",
            np.arange(1, scenario.days + 1),
            {
                "long_name": "Day of treatment",
                "units": "day",
                "description": "trough at t = 24·day h, just before any dose given then",
            },
        ),
    }
    if profiles:
        variables["concentration"] = (
            ("regimen", "subject", "time"),
            np.stack(profiles),
            {"units": "ng/mL", "long_name": "Whole-blood concentration"},
        )
        coords["time"] = (
            "time",
            profile_times(scenario),
            {"units": "h", "long_name": "Time since first dose"},
        )
    return xr.Dataset(variables, coords=coords)


def _nominal_dose_times(scenario: Scenario) -> dict[str, list[float]]:
    """Scheduled dose times (h) of each regimen, for marking doses on plots."""
    out = {}
    for regimen in scenario.regimens:
        punctual = dataclasses.replace(regimen, missed_dose_probability=0.0, late_dose_max_h=0.0)
        events = dose_events(punctual, np.array([60.0]), scenario.days, seed=0, start=0)
        out[regimen.name] = [float(t) for t in events.times[0]]
    return out


def provenance(scenario: Scenario, seed: int, n: int) -> dict[str, object]:
    """Dataset attrs: the scenario, seed, parameter set and its references, pksim version."""
    plan = scenario.target
    references = sorted({*scenario.parameter_set.references, *scenario.population.references})
    return {
        "title": scenario.title,
        "pksim_version": __version__,
        "scenario": scenario.text,
        "scenario_origin": scenario.origin,
        "seed": int(seed),
        "n_subjects": int(n),
        "days": int(scenario.days),
        "population": scenario.population.name,
        "parameter_set": scenario.parameter_set.name,
        "references": "\n".join(references),
        "target_phase": plan.phase or "custom",
        "target_label": plan.target.label,
        "target_day": plan.day if plan.day is not None else int(scenario.days),
        "target_window": json.dumps(plan.window),
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
        "dose_times_h": json.dumps(_nominal_dose_times(scenario)),
        "typical_only": int(scenario.variability.typical_only),
    }
