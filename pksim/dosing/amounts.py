"""Daily amounts: the daily dose (mg/day) of each subject under a regimen, from its weight.

In this order: the **base dose** (``daily_dose_mg``; or ``mg_per_kg_per_day`` x weight; or
``weight_bands``: band i applies to ``below_kg[i-1] <= weight < below_kg[i]``, the last band
taking everyone heavier); the **ceilings** (at most ``max_daily_dose_mg`` and at most
``max_mg_per_kg_per_day`` x weight); then **rounding** to the available units
(``round_to_mg`` or the formulation's capsule strengths, :mod:`pksim.dosing.rounding`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.dosing.regimen import Regimen
from pksim.dosing.rounding import round_daily_dose
from pksim.library import formulations

__all__ = [
    "base_daily_dose",
    "ceiling",
    "intended_daily_dose",
    "rounding_strengths",
    "subject_weights",
]


def subject_weights(weight_kg: ArrayLike) -> NDArray[np.float64]:
    """Body weights (kg) as a checked 1-D float array (finite, > 0)."""
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
    w = subject_weights(weight_kg)
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


def ceiling(regimen: Regimen, w: NDArray[np.float64]) -> NDArray[np.float64]:
    """The most each subject may get (mg/day): ``max_daily_dose_mg`` and
    ``max_mg_per_kg_per_day`` x weight (kg); inf without ceilings."""
    cap = np.full(w.shape, np.inf)
    if regimen.max_daily_dose_mg is not None:
        cap = np.minimum(cap, regimen.max_daily_dose_mg)
    if regimen.max_mg_per_kg_per_day is not None:
        cap = np.minimum(cap, regimen.max_mg_per_kg_per_day * w)
    return cap


def rounding_strengths(regimen: Regimen) -> tuple[float, ...] | None:
    """The units (mg) daily doses are made of, or None when the regimen does not round."""
    if regimen.round_to_mg is not None:
        return (regimen.round_to_mg,)
    if regimen.round_to_capsules:
        return formulations.capsule_strengths(regimen.formulation)
    return None


def intended_daily_dose(regimen: Regimen, weight_kg: ArrayLike) -> NDArray[np.float64]:
    """Daily dose (mg/day) per subject after bands, ceilings and rounding."""
    w = subject_weights(weight_kg)
    cap = ceiling(regimen, w)
    dose = np.minimum(base_daily_dose(regimen, w), cap)
    strengths = rounding_strengths(regimen)
    return dose if strengths is None else round_daily_dose(dose, strengths, cap)
