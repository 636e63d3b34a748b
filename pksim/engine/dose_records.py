"""Every dose event of a chunk's subjects, exactly as simulated, for writing a cohort out
(:mod:`pksim.results.nonmem_cohort`).

:func:`regimen_records` builds the kernel inputs of subjects [start, stop) as
:func:`pksim.engine.chunk.simulate_arrays` does (the same draws, the same monitoring decisions)
and returns them per dose: the time and amount given, the dose's own bioavailability, absorption
rate and lag (food, formulation, IOV, prednisone taper and co-medications folded in), the
clearance over time, and the true and measured troughs computed from exactly these inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pksim.cohort import variability
from pksim.cohort.covariates import Covariates
from pksim.engine.bayesian_rule import clinic_knowledge
from pksim.engine.chunk import ChunkInputs, RegimenInputs, regimen_kernel_inputs, subject_targets
from pksim.engine.plan import Plan
from pksim.engine.titration import Measure, titrate
from pksim.model.structural import StructuralModel

__all__ = ["ChunkRecords", "RegimenRecords", "chunk_records"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RegimenRecords:
    """One regimen's doses and troughs for n subjects (m dose slots, one trough per day).

    ``dose_times`` (n, m) h (NaN: missed), ``dose_amounts`` (n, m) mg (0: missed or held);
    per dose ``dose_f`` (relative bioavailability: the subject's F times food, formulation,
    IOV, prednisone taper and co-medication), ``dose_ka`` (1/h) and ``dose_lag`` (h, the
    subject's lag plus the food / formulation lag); ``dose_occasion`` (n, m) IOV occasion
    1, 2, ... (0 when the run has no IOV). ``cl_change_times`` (c,) h and ``cl`` (n, c + 1)
    L/h: CL/F on (-inf, t0), [t0, t1), ... (liver function and co-medications in).
    ``disposition`` the other structural parameters by name, (n,) each. ``sample_times``,
    ``trough`` (true), ``measured`` (assay error) and ``below_lloq``: (n, days).
    """

    name: str
    dose_times: FloatArray
    dose_amounts: FloatArray
    dose_f: FloatArray
    dose_ka: FloatArray
    dose_lag: FloatArray
    dose_occasion: NDArray[np.int64]
    cl_change_times: FloatArray
    cl: FloatArray
    disposition: Mapping[str, FloatArray]
    sample_times: FloatArray
    trough: FloatArray
    measured: FloatArray
    below_lloq: NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ChunkRecords:
    """The subjects of a chunk (``cov``; ``taking`` (n, k) which of the scenario's
    co-medications each takes) and the records of each regimen asked for."""

    start: int
    stop: int
    cov: Covariates
    taking: NDArray[np.bool_]
    regimens: tuple[RegimenRecords, ...]


def chunk_records(
    plan: Plan, start: int, stop: int, regimens: tuple[int, ...] | None = None
) -> ChunkRecords:
    """The records of subjects [start, stop) for the scenario's regimens at ``regimens``
    (default: all); their troughs are those of :func:`pksim.run` (bit-identical)."""
    scenario, seed = plan.scenario, plan.seed
    inputs = regimen_kernel_inputs(plan, start, stop, regimens)
    settings = scenario.variability
    n = stop - start
    _, lower, upper = subject_targets(scenario, inputs.cov)
    residual_u = None
    if not settings.typical_only:
        residual_u = variability.residual_uniforms(seed, start, stop, scenario.days)

    def measure(true: FloatArray, first_day: int) -> variability.Measurements:
        return variability.residual_error(
            scenario.parameter_set,
            true,
            seed=seed,
            start=start,
            lloq_ng_per_ml=settings.lloq_ng_per_ml,
            typical_only=settings.typical_only,
            uniforms=None
            if residual_u is None
            else residual_u[:, first_day - 1 : first_day - 1 + true.shape[1]],
        )

    clinic = None
    if plan.comedication is None:
        taking = np.zeros((n, 0), dtype=bool)
    else:
        taking = plan.comedication.combos[inputs.combo]
    out = []
    for regimen_inputs in inputs.regimens:
        times = np.ascontiguousarray(
            np.broadcast_to(regimen_inputs.times, (n, regimen_inputs.times.shape[1]))
        )
        amounts = np.broadcast_to(regimen_inputs.amounts, times.shape)
        tdm = regimen_inputs.regimen.tdm
        if tdm is not None:
            if tdm.rule == "bayesian" and clinic is None:
                courses = [p.course for p in scenario.comedications]
                clinic = clinic_knowledge(
                    scenario.parameter_set,
                    inputs.cov,
                    courses,
                    None if plan.comedication is None else taking,
                )
            amounts = titrate(
                tdm,
                inputs.spec,
                regimen_inputs.individual,
                regimen_inputs.events,
                times,
                regimen_inputs.arguments,
                inputs.sample_times,
                measure=measure,
                lloq_ng_per_ml=settings.lloq_ng_per_ml,
                target_bounds=(lower, upper),
                weight_kg=np.asarray(inputs.cov.weight_kg, dtype=np.float64),
                clinic=clinic if tdm.rule == "bayesian" else None,
            ).amounts
        out.append(_records(plan, inputs.spec, regimen_inputs, times, amounts, inputs, measure))
    return ChunkRecords(start, stop, inputs.cov, taking, tuple(out))


def _records(
    plan: Plan,
    spec: StructuralModel,
    regimen_inputs: RegimenInputs,
    times: FloatArray,
    amounts: FloatArray,
    inputs: ChunkInputs,
    measure: Measure,
) -> RegimenRecords:
    """The records of one regimen, its troughs integrated from ``times`` (n, m) h and
    ``amounts`` (n, m) mg."""
    scenario, settings = plan.scenario, plan.scenario.variability
    n = times.shape[0]
    individual, arguments = regimen_inputs.individual, regimen_inputs.arguments
    true = spec.simulate(individual, times, amounts, inputs.sample_times, **arguments)
    observed = measure(true, 1)
    dose_class = np.broadcast_to(arguments["dose_class"], times.shape)
    ka = np.take_along_axis(np.asarray(individual["ka"]), dose_class, axis=1)
    lag = np.asarray(individual["tlag"])[:, None] + np.asarray(arguments["class_lag"])[dose_class]
    per_dose_f = np.broadcast_to(arguments["dose_f"], times.shape)
    dose_f = np.asarray(individual["f"])[:, None] * per_dose_f
    change_times = arguments["cl_change_times"]
    cl = np.asarray(individual["cl"], dtype=np.float64)[:, None]
    if change_times is None:
        change_times = np.empty(0)
    else:
        cl = cl * np.broadcast_to(arguments["cl_multipliers"], (n, change_times.size + 1))
    pset = scenario.parameter_set
    occasion = np.zeros(times.shape, dtype=np.int64)
    if pset.iov_f_sd > 0 and not settings.typical_only:
        given = np.where(np.isnan(times), 0.0, times)
        occasion = (given / settings.occasion_length_h).astype(np.int64) + 1
    disposition = {
        p.name: np.asarray(individual[p.name], dtype=np.float64)
        for p in spec.parameters
        if p.name not in ("cl", "ka", "tlag", "f")
    }
    return RegimenRecords(
        name=regimen_inputs.regimen.name,
        dose_times=times,
        dose_amounts=np.asarray(amounts, dtype=np.float64),
        dose_f=dose_f,
        dose_ka=ka,
        dose_lag=lag,
        dose_occasion=occasion,
        cl_change_times=np.asarray(change_times, dtype=np.float64),
        cl=cl,
        disposition=disposition,
        sample_times=inputs.sample_times,
        trough=true,
        measured=observed.measured,
        below_lloq=observed.below_lloq,
    )
