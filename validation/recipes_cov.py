"""Recipes of the covariate observations (validation/observations_cov.toml): age on CL/F and
prednisone on exposure, through the typical-patient tools of :mod:`validation.patients`."""

from __future__ import annotations

from dataclasses import replace

from pksim.library.parameter_set import ParameterSet
from validation.exposure import steady
from validation.patients import BID, EARLY_KIDNEY, KIDNEY_EUROPEAN, metric_of
from validation.recipes import Recipe

_DOSE = steady(1.0, BID)


def clf_ratio_by_age(pset: ParameterSet, patient, older_y: float, younger_y: float) -> float:
    """CL/F(older) / CL/F(younger) = AUC(younger) / AUC(older) over a steady-state interval."""
    auc = [
        metric_of(pset, replace(patient, age_y=age), _DOSE, "auc") for age in (younger_y, older_y)
    ]
    return auc[0] / auc[1]


def trough_ratio_on_off_prednisone(pset: ParameterSet, patient, mg_per_day: float) -> float:
    """Steady-state trough on prednisone / off it, same dose (C0/D ratio)."""
    on = replace(patient, prednisone_mg_per_day=mg_per_day)
    off = replace(patient, prednisone_mg_per_day=0.0)
    return metric_of(pset, on, _DOSE, "trough") / metric_of(pset, off, _DOSE, "trough")


COV_RECIPES: dict[str, Recipe] = {
    "andrews2019-age-clf-65-25": Recipe(
        "stable European kidney patient (75 kg, *3/*3 mix of the cohort); CL/F at 65 / 25 y",
        lambda p: clf_ratio_by_age(p, KIDNEY_EUROPEAN, 65.0, 25.0),
    ),
    "passey2011-age-clf-70-30": Recipe(
        "as andrews2019-age-clf-65-25; CL/F at 70 / 30 y",
        lambda p: clf_ratio_by_age(p, KIDNEY_EUROPEAN, 70.0, 30.0),
    ),
    "hesselink2003-pred-vs-none-c0d-m1": Recipe(
        "early kidney transplant patient (EARLY_KIDNEY: HCT 30 %, prednisone 20 mg/day assumed, "
        "as for the other first-weeks points), European mix; trough on / off prednisone",
        lambda p: trough_ratio_on_off_prednisone(
            p, replace(EARLY_KIDNEY, genotypes=KIDNEY_EUROPEAN.genotypes), 20.0
        ),
    ),
    "hesselink2003-pred-m1-vs-m4-c0d": Recipe(
        "as hesselink2003-pred-vs-none-c0d-m1 (the steroid part only; time after "
        "transplantation is not modelled)",
        lambda p: trough_ratio_on_off_prednisone(
            p, replace(EARLY_KIDNEY, genotypes=KIDNEY_EUROPEAN.genotypes), 20.0
        ),
    ),
}
"""Merged into :data:`validation.recipes.RECIPES` at the end of that module."""
