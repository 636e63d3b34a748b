"""Courses of catalogued co-medications for the validation recipes: one typical patient's
concentrations under pksim's own time course of each effect (the clearance grid of
:func:`pksim.modifiers.interactions.cl_multiplier_grid` and the per-dose bioavailability of
:func:`pksim.modifiers.interactions.f_multipliers`), so onset, offset and holds are those a
scenario run would show. Immediate-release tacrolimus, fasted; units h, mg, ng/mL.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pksim.cohort import structural_inputs
from pksim.library.drugs import genotype_class
from pksim.library.parameter_set import ParameterSet
from pksim.model.structural import structural_model
from pksim.modifiers.interactions import CoMedication, cl_multiplier_grid, f_multipliers
from validation.exposure import Patient, pk_classes_table, typical_patient

CYP2C19_CODES = {"normal": 0, "intermediate": 1, "poor": 2}
"""CYP2C19 metaboliser status -> pksim code (:data:`pksim.library.drugs.CYP2C19_PHENOTYPES`)."""


def genotype_of(genotype: str, cyp2c19: str = "normal") -> int:
    """pksim genotype class of a CYP3A5 genotype ("*3/*3", ...) and CYP2C19 status."""
    return int(genotype_class(genotype != "*3/*3", CYP2C19_CODES[cyp2c19]))


def concentrations_with(
    pset: ParameterSet,
    patient: Patient,
    genotype: str,
    dose_times_h: np.ndarray,
    dose_mg: np.ndarray,
    comedications: tuple[CoMedication, ...],
    samples_h: np.ndarray,
    cyp2c19: str = "normal",
) -> np.ndarray:
    """Concentrations (ng/mL) at ``samples_h`` of IR doses ``dose_mg`` at ``dose_times_h``
    with the co-medications' effects over time (CL grid, F per dose), one genotype."""
    pk = typical_patient(pset, patient, genotype)
    ir = pk_classes_table()["ir"]
    klass = genotype_of(genotype, cyp2c19)
    times = np.asarray(dose_times_h, dtype=float)
    dose_f = ir["f"] * f_multipliers(comedications, times, klass)[0]
    grid = cl_multiplier_grid(comedications, klass, t_begin=min(0.0, float(times.min())))
    events = {}
    if grid.change_times.size:
        events = {
            "cl_change_times": grid.change_times,
            "cl_multipliers": np.atleast_2d(grid.multipliers)[:1],
        }
    inputs = structural_inputs(pk, cl=pk.cl, ka=np.array([[pk.ka[0] * ir["ka"]]]))
    out = structural_model(pset.structural_model).simulate(
        inputs,
        times[np.newaxis, :],
        np.asarray(dose_mg, dtype=float)[np.newaxis, :],
        np.asarray(samples_h, dtype=float),
        dose_class=np.zeros((1, times.size), dtype=np.int64),
        class_lag=np.array([ir["lag"]]),
        dose_f=dose_f[np.newaxis, :],
        **events,
    )
    return out[0]


def with_genotype(patient: Patient, genotype: str) -> Patient:
    return replace(patient, genotypes={genotype: 1.0})
