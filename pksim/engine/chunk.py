"""One chunk of a run: subjects [start, stop) from covariates to troughs.

For every chunk, covariates and individual parameters are drawn once; then for each regimen the
dose events, the per-dose bioavailability (food, formulation, IOV, prednisone taper,
co-medications) and the clearance over time (liver function, co-medications) are built and
handed to the exact kernel. Every random draw of subject i depends only on (seed, i), and
everything else a subject sees (the clearance change points included) depends only on the plan,
so a chunk's numbers do not depend on the chunk size, threads or Dask workers, and every
regimen sees the same patients (common random numbers).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from pksim import contract
from pksim.cohort import effects, renal, sampling, variability
from pksim.cohort.covariates import Covariates
from pksim.contract import ChunkArrays
from pksim.dosing.absorption import absorption_arrays, draw_dose_conditions
from pksim.dosing.events import DoseEvents, dose_events
from pksim.dosing.regimen import Regimen
from pksim.engine.bayesian_rule import ClinicKnowledge, clinic_knowledge
from pksim.engine.plan import Plan, weight_band_labels
from pksim.engine.titration import titrate
from pksim.library import covariates as registry
from pksim.library import food, targets
from pksim.model import structural
from pksim.modifiers import comedication, liver, prednisone
from pksim.scenario import Scenario
from pksim.units import HOURS_PER_DAY


def dataset_chunk(plan: Plan, start: int, stop: int, **outputs) -> xr.Dataset:
    """Dataset of subjects [start, stop) of a prepared run (no run attrs); ``outputs`` (days,
    measured, coordinates, profiles) limit what is simulated, as in :func:`simulate_arrays`."""
    scenario = plan.scenario
    return contract.chunk_dataset(
        simulate_arrays(plan, start, stop, **outputs),
        regimens=[r.name for r in scenario.regimens],
        lloq_ng_per_ml=scenario.variability.lloq_ng_per_ml,
        target_source=scenario.target.target.source,
        profile_times=plan.profile_times,
    )


def stored_chunk(plan: Plan, start: int, stop: int) -> xr.Dataset:
    """A chunk as a run returns or stores it: every day and coordinate, and the measured
    troughs and concentration profiles when the scenario's ``[output]`` asks for them."""
    return dataset_chunk(plan, start, stop, measured=plan.scenario.output.measured)


@dataclass(frozen=True, slots=True)
class RegimenInputs:
    """What the kernel integrates for one regimen of subjects [start, stop).

    ``events`` the regimen's dose events; ``times`` and ``amounts`` (n|1, m) h and mg (one
    shared row when every subject has the same; a late trough draw delays the dose due then);
    ``individual`` the structural model's parameters by name (``ka`` (n, K): one per
    absorption class); ``arguments`` the kernel's event keywords (``dose_class`` and
    ``dose_f`` (n|1, m), one value per dose column; ``class_lag``, ``cl_change_times``,
    ``cl_multipliers``).
    """

    regimen: Regimen
    events: DoseEvents
    times: np.ndarray
    amounts: np.ndarray
    individual: dict[str, np.ndarray]
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChunkInputs:
    """The kernel inputs of a chunk: the subjects (``cov``, ``pk``, ``cl`` after liver
    function, CYP3A5 ``expresser`` flags, co-medication ``combo`` index), the trough
    ``sample_times`` (n, days) h, and per regimen asked for its :class:`RegimenInputs`."""

    spec: structural.StructuralModel
    cov: Covariates
    pk: Any
    cl: np.ndarray
    expresser: np.ndarray
    combo: np.ndarray
    sample_times: np.ndarray
    regimens: tuple[RegimenInputs, ...]


def regimen_kernel_inputs(
    plan: Plan, start: int, stop: int, regimens: Sequence[int] | None = None
) -> ChunkInputs:
    """Everything the kernel needs for subjects [start, stop) and the scenario's regimens at
    the indices ``regimens`` (default: all), the same numbers for a regimen whichever others
    are asked for (every draw depends only on the seed, the stream and the subject)."""
    scenario, seed = plan.scenario, plan.seed
    pset, settings = scenario.parameter_set, scenario.variability
    typical_only = settings.typical_only
    chosen = [
        scenario.regimens[i]
        for i in (range(len(scenario.regimens)) if regimens is None else regimens)
    ]
    cov = _covariates(scenario, seed, start, stop)
    pk = variability.individual_parameters(
        pset, cov, seed=seed, start=start, typical_only=typical_only
    )
    expresser = np.asarray(cov.cyp3a5) > 0
    genotype = comedication.genotype_classes(cov)  # CYP3A5 x CYP2C19, for co-medications
    cl = pk.cl * liver.liver_cl_multiplier(pset, cov.liver_function)
    day_numbers = np.arange(1, scenario.days + 1)
    offsets = variability.sampling_time_offsets(
        settings, scenario.days, seed=seed, start=start, stop=stop
    )
    sample_times = day_numbers * HOURS_PER_DAY + offsets
    taking = comedication.draw_taking(scenario.comedications, seed, start, stop)
    combo = comedication.combination_index(plan.comedication, taking)
    change_times, cl_multipliers = comedication.clearance_rows(plan.comedication, combo, genotype)
    taper = scenario.population.prednisone_taper

    all_events = [
        dose_events(regimen, cov.weight_kg, scenario.days, seed=seed, start=start)
        for regimen in chosen
    ]
    doses = [_shared_rows(_dose_times_after_draws(e, sample_times), e.amounts) for e in all_events]
    all_times = [times for times, _ in doses]
    rows = max(times.shape[0] for times in all_times)
    # One IOV call for every regimen's doses: the same draws, made once.
    all_iov = np.split(
        variability.iov_f_multipliers(
            pset,
            np.concatenate([np.broadcast_to(t, (rows, t.shape[1])) for t in all_times], axis=1),
            seed=seed,
            start=start,
            stop=stop,
            occasion_length_h=settings.occasion_length_h,
            typical_only=typical_only,
        ),
        np.cumsum([times.shape[1] for times in all_times])[:-1],
        axis=1,
    )
    inputs = []
    for regimen, events, (times, amounts), iov in zip(
        chosen, all_events, doses, all_iov, strict=True
    ):
        conditions = _food_conditions(scenario, events, seed, start, stop)
        formulation = [events.schedule.phases[p].regimen.formulation for p in events.schedule.phase]
        absorption = absorption_arrays(pk.ka, conditions, formulation, expresser)
        dose_f = absorption.dose_f * iov
        if taper is not None:
            dose_f = dose_f * prednisone.prednisone_f_multipliers(
                pset, cov.prednisone_mg_per_day, taper, times
            )
        if plan.comedication is not None:
            dose_f = dose_f * comedication.dose_f_multipliers(
                scenario.comedications, plan.comedication, combo, genotype, times
            )
        arguments = dict(
            dose_class=absorption.dose_class,
            class_lag=absorption.class_lag,
            dose_f=dose_f,
            cl_change_times=change_times,
            cl_multipliers=cl_multipliers,
        )
        individual = effects.structural_inputs(pk, cl=cl, ka=absorption.ka)
        inputs.append(RegimenInputs(regimen, events, times, amounts, individual, arguments))
    return ChunkInputs(
        spec=structural.structural_model(pset.structural_model),
        cov=cov,
        pk=pk,
        cl=cl,
        expresser=expresser,
        combo=combo,
        sample_times=sample_times,
        regimens=tuple(inputs),
    )


def subject_targets(
    scenario: Scenario, cov: Covariates
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(renal-impairment flags, lower, upper) per subject: the target in ng/mL, with the
    renal ceiling where the scenario's ``[target]`` applies it."""
    renal_flags = renal.renal_impairment(cov)
    target = scenario.target
    lower, upper = targets.subject_target_bounds(
        target.target, renal_flags if target.renal_ceiling else np.zeros_like(renal_flags)
    )
    return renal_flags, lower, upper


def subject_coordinates(
    plan: Plan, inputs: ChunkInputs, renal_flags: np.ndarray, names: Collection[str]
) -> dict[str, np.ndarray]:
    """The per-subject coordinates ``names`` of a chunk (see :func:`_subject_coordinate`)."""
    derived = {
        "cyp3a5_expresser": inputs.expresser,
        "renal_impairment": renal_flags,
        "combo": inputs.combo,
    }
    return {name: _subject_coordinate(name, plan, inputs.cov, derived) for name in names}


def simulate_arrays(
    plan: Plan,
    start: int,
    stop: int,
    *,
    days: tuple[int, int] | None = None,
    measured: bool = True,
    coordinates: Collection[str] | None = None,
    profiles: bool = True,
) -> ChunkArrays:
    """Simulate subjects [start, stop) of a prepared run.

    ``days`` ``(first, last)`` inclusive limits the troughs returned (default: every day);
    ``measured`` False skips the assay error; ``coordinates`` names the subject coordinates
    wanted (default: all); ``profiles`` False skips concentration profiles. Whatever is
    returned is bit-identical to the same values of a full simulation.
    """
    scenario, seed = plan.scenario, plan.seed
    first, last = (1, scenario.days) if days is None else days
    pset, settings = scenario.parameter_set, scenario.variability
    inputs = regimen_kernel_inputs(plan, start, stop)
    spec, cov, pk, cl = inputs.spec, inputs.cov, inputs.pk, inputs.cl
    typical_only = settings.typical_only
    sample_times = inputs.sample_times
    day_numbers = np.arange(1, scenario.days + 1)
    # The assay error of day d uses the d-th residual draw: simulate days 1..last for it.
    sampled = slice(0, last) if measured else slice(first - 1, last)
    kept = slice(first - 1 - sampled.start, last - sampled.start)
    with_profiles = profiles and scenario.output.profiles
    renal_flags, lower, upper = subject_targets(scenario, cov)
    over_time = any(regimen.varies_over_time for regimen in scenario.regimens)
    monitored = any(regimen.tdm is not None for regimen in scenario.regimens)
    # Residual draws up to the last day measured: the troughs kept, and every monitoring draw.
    drawn_days = max(
        [last if measured else 0]
        + [max(r.tdm.sample_days) for r in scenario.regimens if r.tdm is not None]
    )
    residual_u = None
    if not typical_only and drawn_days:
        residual_u = variability.residual_uniforms(seed, start, stop, drawn_days)

    def measure(true: np.ndarray, first_day: int) -> variability.Measurements:
        """Assay results of true troughs (n, s) drawn on days first_day, first_day + 1, ..."""
        return variability.residual_error(
            pset,
            true,
            seed=seed,
            start=start,
            lloq_ng_per_ml=settings.lloq_ng_per_ml,
            typical_only=typical_only,
            uniforms=None
            if residual_u is None
            else residual_u[:, first_day - 1 : first_day - 1 + true.shape[1]],
        )

    troughs, measured_values, below, daily, profile_values = [], [], [], [], []
    realised, changes = [], []
    for regimen_inputs in inputs.regimens:
        regimen, events = regimen_inputs.regimen, regimen_inputs.events
        times, amounts = regimen_inputs.times, regimen_inputs.amounts
        individual, arguments = regimen_inputs.individual, regimen_inputs.arguments
        given, changed = None, np.zeros(stop - start, dtype=np.int64)
        if regimen.tdm is not None:  # doses per subject: each row its own dose list
            times = np.ascontiguousarray(np.broadcast_to(times, (stop - start, times.shape[1])))
            titration = titrate(
                regimen.tdm,
                spec,
                individual,
                events,
                times,
                arguments,
                sample_times,
                measure=measure,
                lloq_ng_per_ml=settings.lloq_ng_per_ml,
                target_bounds=(lower, upper),
                weight_kg=np.asarray(cov.weight_kg, dtype=np.float64),
                clinic=_clinic(plan, inputs) if regimen.tdm.rule == "bayesian" else None,
            )
            amounts, given = titration.amounts, titration.realised_daily_dose
            changed = titration.changes
        elif regimen.varies_over_time:
            given = np.where(events.schedule.held, 0.0, events.in_force)
        true = spec.simulate(individual, times, amounts, sample_times[:, sampled], **arguments)
        if measured:
            observed = measure(true, sampled.start + 1)
            measured_values.append(observed.measured[:, kept])
            below.append(observed.below_lloq[:, kept])
        troughs.append(true[:, kept])
        daily.append(events.daily_dose_mg)
        changes.append(changed)
        if over_time:
            if given is None:
                given = np.repeat(events.daily_dose_mg[:, np.newaxis], scenario.days, axis=1)
            realised.append(given[:, first - 1 : last])
        if with_profiles:
            profile_values.append(
                spec.simulate(individual, times, amounts, plan.profile_times, **arguments)
            )

    names = contract.SUBJECT_COORDINATES if coordinates is None else coordinates
    coords = subject_coordinates(plan, inputs, renal_flags, names)
    if coordinates is None and cov.patient_id is not None:
        coords |= subject_coordinates(plan, inputs, renal_flags, ["patient_id"])
    return ChunkArrays(
        start=start,
        stop=stop,
        days=day_numbers[first - 1 : last],
        trough=np.stack(troughs),
        measured=np.stack(measured_values) if measured else None,
        below_lloq=np.stack(below) if measured else None,
        daily_dose_mg=np.stack(daily),
        target_lower=lower,
        target_upper=upper,
        coords=coords,
        profiles=np.stack(profile_values) if with_profiles else None,
        realised_daily_dose=np.stack(realised) if over_time else None,
        dose_changes=np.stack(changes) if monitored else None,
        individual=_individual_outputs(spec, pk, cl),
    )


def _clinic(plan: Plan, inputs: ChunkInputs) -> ClinicKnowledge:
    """What the clinic knows of a chunk's subjects (for the bayesian monitoring rule)."""
    courses = [p.course for p in plan.scenario.comedications]
    taking = None if plan.comedication is None else plan.comedication.combos[inputs.combo]
    return clinic_knowledge(plan.scenario.parameter_set, inputs.cov, courses, taking)


def _covariates(scenario: Scenario, seed: int, start: int, stop: int) -> Covariates:
    """Covariates of subjects [start, stop): drawn, or the patients' with unknown values
    imputed with the run's seed (the same draws as a virtual subject's)."""
    if scenario.patients is not None:
        patients = scenario.patients.slice(start, stop)
        return sampling.impute_unknown(patients, scenario.population, seed=seed, start=start)
    return sampling.sample_covariates(scenario.population, seed=seed, start=start, stop=stop)


def _food_conditions(scenario: Scenario, events, seed, start, stop):
    """Condition code of every dose, (n|1, m)."""
    plan = scenario.food
    if plan.meals:
        schedule = events.schedule
        per_slot = [
            food.conditions_from_schedule(list(phase.regimen.dose_clock_h), plan.meals)
            for phase in schedule.phases
        ]
        planned = [per_slot[p][j] for p, j in zip(schedule.phase, schedule.slot, strict=True)]
    else:
        planned = [plan.condition] * events.slot.size
    return draw_dose_conditions(
        planned,
        seed=seed,
        start=start,
        stop=stop,
        fraction_against_rule=plan.fraction_against_rule,
        violation=plan.violation,
    )


def _shared_rows(times: np.ndarray, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1, m) dose times and amounts when every subject has the same (fixed-dose regimens
    taken on time): the kernel then reads one shared row, with the same numbers."""
    if times.shape[0] > 1 and (amounts == amounts[:1]).all() and (times == times[:1]).all():
        return times[:1], amounts[:1]  # (NaN != NaN: a missed dose keeps rows per subject)
    return times, amounts


def _dose_times_after_draws(events, sample_times: np.ndarray) -> np.ndarray:
    """Dose times with a late trough draw respected: the dose due then waits for the draw."""
    times = np.array(events.times, order="C")  # the kernel wants rows contiguous
    columns = np.flatnonzero((events.slot == 0) & (events.day >= 2))
    previous = events.day[columns] - 2  # the trough of the day before that dose
    step = columns[0] if columns.size else 0
    if np.array_equal(columns, np.arange(step, times.shape[1], step or 1)) and np.array_equal(
        previous, np.arange(columns.size)
    ):  # day-major slots: the first doses of days 2.. are every step-th column, in place
        view = times[:, step::step]
        np.maximum(view, sample_times[:, : columns.size], out=view)  # a missed (NaN) stays NaN
    else:
        times[:, columns] = np.maximum(times[:, columns], sample_times[:, previous])
    return times


def _subject_coordinate(
    name: str, plan: Plan, cov: Covariates, derived: dict[str, np.ndarray]
) -> np.ndarray:
    """One per-subject coordinate (subject,) of a chunk: a carried covariate (categories as
    their labels), or one the run derives (``derived`` holds the flags and combination index)."""
    if name in contract.SUBJECT_COORDINATES and registry.get(name).carried:
        covariate = registry.get(name)
        if covariate.kind == registry.CATEGORICAL:
            return np.asarray(covariate.labels)[cov[name]]
        return np.asarray(cov[name])
    if name in ("cyp3a5_expresser", "renal_impairment"):
        return derived[name]
    if name == "weight_band":
        edges = plan.weight_band_edges
        labels = np.asarray(weight_band_labels(edges), dtype=plan.label_dtypes[name])
        return labels[np.searchsorted(edges, cov.weight_kg, side="right")]
    if name == "comedication":
        labels = plan.comedication.labels if plan.comedication else (comedication.NO_COMEDICATION,)
        return np.asarray(labels, dtype=plan.label_dtypes[name])[derived["combo"]]
    if name == "patient_id":
        return np.asarray(cov.patient_id, dtype=plan.label_dtypes[name])
    valid = [*contract.SUBJECT_COORDINATES, contract.PATIENT_ID]
    raise ValueError(f"unknown subject coordinate {name!r}; valid: {valid}")


def _individual_outputs(spec, pk, cl: np.ndarray) -> dict[str, tuple[np.ndarray, str, str]]:
    """The subjects' PK parameters as reported: the model's parameters with their units; CL/F
    after liver function and before co-medication, ka for immediate release fasting (food
    and formulation scale it per dose), F before per-dose food, formulation and IOV."""
    values = effects.structural_inputs(pk, cl=cl, ka=pk.ka)
    return {
        p.name: (np.asarray(values[p.name], dtype=np.float64), p.units, p.long_name)
        for p in spec.parameters
        if p.name in values
    }
