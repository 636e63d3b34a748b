"""Exposure of one typical patient under a parameter set, through pksim's public API.

Parameters come from :func:`pksim.cohort.typical_parameters` and
:func:`pksim.cohort.structural_inputs`; concentrations from the set's structural model
(:func:`pksim.model.structural.structural_model`), with formulations, food and co-medication
effects read from the bundled catalogues. Units: h, mg, ng/mL, L/h.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pksim.cohort import Covariates, structural_inputs, typical_parameters
from pksim.library import covariates as registry
from pksim.library.food import lookup_effect
from pksim.library.formulations import pk_classes
from pksim.library.parameter_set import ParameterSet
from pksim.model.structural import structural_model

HOURS_PER_DAY = 24.0

GRID_POINTS = 961
"""Samples over the last dosing interval for AUC (trapezoid), Cmax and tmax: every 1.5 min of a
24 h interval (AUC error well below 0.1 % for these absorption rates)."""

STEADY_DAYS = 90
"""Days simulated to reach steady state: five terminal half-lives of the slowest bundled set
(Andrews 2019, about 20 days [D]); the one-compartment sets are there within a week."""

GENOTYPES = registry.get("cyp3a5").categories
"""CYP3A5 genotypes in the registry's order (codes 0, 1, 2)."""


@dataclass(frozen=True)
class Patient:
    """A typical patient's covariates (pksim registry units) and CYP3A5 genotype mix.

    ``genotypes`` maps genotype -> weight; a metric of a mix is the weighted mean of the
    genotypes' metrics (a stand-in for a cohort mean or median)."""

    weight_kg: float = 60.0
    age_y: float = 45.0
    female: bool = True
    hematocrit_pct: float = 35.0
    serum_creatinine_mg_dl: float = 0.8
    egfr: float = 90.0
    prednisone_mg_per_day: float = 0.0
    genotypes: dict[str, float] = field(default_factory=lambda: {"*3/*3": 1.0})

    def with_genotypes(self, **weights: float) -> Patient:
        return replace(self, genotypes=_genotype_weights(weights))


def _genotype_weights(weights: dict[str, float]) -> dict[str, float]:
    names = {"nonexp": "*3/*3", "het": "*1/*3", "hom": "*1/*1"}
    return {names.get(k, k): v for k, v in weights.items()}


@dataclass(frozen=True)
class Segment:
    """Doses of ``dose_mg`` every ``tau_h`` from ``start_day`` (0-based) for ``days`` days."""

    dose_mg: float
    tau_h: float
    days: int
    pk_class: str = "ir"
    food: str = "fasted"


@dataclass(frozen=True)
class Course:
    """A dosing course (segments one after the other), optional clearance changes
    (``cl_changes``: (time h, multiplier from then on)) and a constant co-medication effect
    (``cl_multiplier``, ``f_multiplier``), and the sampling window after the course.

    ``stop_dosing_h``: no dose at or after this time (a held drug)."""

    segments: tuple[Segment, ...]
    cl_multiplier: float = 1.0
    f_multiplier: float = 1.0
    cl_changes: tuple[tuple[float, float], ...] = ()
    stop_dosing_h: float = float("inf")

    @property
    def end_h(self) -> float:
        return sum(s.days for s in self.segments) * HOURS_PER_DAY


def steady(dose_mg: float, tau_h: float, pk_class: str = "ir", food: str = "fasted") -> Course:
    """A course at a fixed dose long enough for steady state (:data:`STEADY_DAYS`)."""
    return Course((Segment(dose_mg, tau_h, STEADY_DAYS, pk_class, food),))


def typical_patient(pset: ParameterSet, patient: Patient, genotype: str):
    """The typical parameters of ``patient`` with CYP3A5 ``genotype`` under ``pset``."""
    cov = Covariates(
        weight_kg=[patient.weight_kg],
        sex=[0 if patient.female else 1],
        age_y=[patient.age_y],
        hematocrit_pct=[patient.hematocrit_pct],
        egfr=[patient.egfr],
        serum_creatinine_mg_dl=[patient.serum_creatinine_mg_dl],
        cyp3a5=[GENOTYPES.index(genotype)],
        prednisone_mg_per_day=[patient.prednisone_mg_per_day],
    )
    return typical_parameters(pset, cov)


def concentrations(
    pset: ParameterSet, patient: Patient, course: Course, times_h: np.ndarray, genotype: str
) -> np.ndarray:
    """Concentrations (ng/mL) of one genotype at ``times_h``."""
    pk = typical_patient(pset, patient, genotype)
    classes = sorted({(s.pk_class, s.food) for s in course.segments})
    ka, class_lag, class_f = [], [], []
    for pk_class, food in classes:
        formulation = pk_classes_table()[pk_class]
        effect = lookup_effect(pk_class, food)
        ka.append(pk.ka[0] * formulation["ka"] * effect.ka.value)
        class_lag.append(formulation["lag"] + effect.lag.value)
        expresser = genotype != "*3/*3"
        class_f.append(formulation["f_expresser" if expresser else "f"] * effect.f.value)
    dose_times, amounts, dose_class = [], [], []
    start = 0.0
    for segment in course.segments:
        index = classes.index((segment.pk_class, segment.food))
        n = round(segment.days * HOURS_PER_DAY / segment.tau_h)
        for k in range(n):
            t = start + k * segment.tau_h
            if t < course.stop_dosing_h:
                dose_times.append(t)
                amounts.append(segment.dose_mg)
                dose_class.append(index)
        start += segment.days * HOURS_PER_DAY
    dose_f = np.array([class_f[c] for c in dose_class]) * course.f_multiplier
    change_times = np.array([t for t, _ in course.cl_changes], dtype=float)
    multipliers = np.array([[1.0, *(m for _, m in course.cl_changes)]])
    spec = structural_model(pset.structural_model)
    inputs = structural_inputs(pk, cl=pk.cl * course.cl_multiplier, ka=np.array([ka]))
    out = spec.simulate(
        inputs,
        np.array([dose_times]),
        np.array([amounts]),
        np.asarray(times_h, dtype=float),
        dose_class=np.array([dose_class], dtype=np.int64),
        class_lag=np.array(class_lag),
        dose_f=dose_f[np.newaxis, :],
        cl_change_times=change_times if change_times.size else None,
        cl_multipliers=multipliers if change_times.size else None,
    )
    return out[0]


def pk_classes_table() -> dict[str, dict[str, float]]:
    """Relative F (non-expressers ``f``, CYP3A5 expressers ``f_expresser``), ka multiplier and
    lag (h) of each formulation class (formulations.toml)."""
    from pksim.library.formulations import lookup_formulation  # the products' classes

    table = {}
    for product in ("prograf", "advagraf", "envarsus"):
        formulation = lookup_formulation(product)
        table[formulation.pk_class] = {
            "f": formulation.relative_f_for(False),
            "f_expresser": formulation.relative_f_for(True),
            "ka": formulation.ka_multiplier.value,
            "lag": formulation.lag.value,
        }
    assert set(table) == set(pk_classes())
    return table


@dataclass(frozen=True)
class Interval:
    """Exposure over the last dosing interval of a course: trough (pre-dose at its end),
    concentration ``c12`` 12 h after its dose, AUC over the interval, Cmax and tmax (h after
    the dose)."""

    trough: float
    c12: float
    auc: float
    cmax: float
    tmax: float


def last_interval(pset: ParameterSet, patient: Patient, course: Course, genotype: str) -> Interval:
    """Exposure over the last dosing interval of ``course`` for one genotype."""
    tau = course.segments[-1].tau_h
    dose_time = course.end_h - tau
    grid = dose_time + np.linspace(0.0, tau, GRID_POINTS)
    c = concentrations(pset, patient, course, np.append(grid, dose_time + 12.0), genotype)
    profile, c12 = c[:-1], c[-1]
    return Interval(
        trough=float(profile[-1]),
        c12=float(c12),
        auc=float(np.trapezoid(profile, grid)),
        cmax=float(profile.max()),
        tmax=float(grid[int(profile.argmax())] - dose_time),
    )


def metric(pset: ParameterSet, patient: Patient, course: Course, name: str) -> float:
    """Metric ``name`` (a field of :class:`Interval`) of the patient's genotype mix."""
    total = sum(patient.genotypes.values())
    return sum(
        weight / total * getattr(last_interval(pset, patient, course, genotype), name)
        for genotype, weight in patient.genotypes.items()
    )
