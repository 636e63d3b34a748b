"""Prednisone over time and its effect on tacrolimus bioavailability.

Prednisone (equivalent, mg/day) acts on F through the parameter set's effect(s) on ``f``. The
baseline dose is a covariate (its effect is already in each subject's typical F); a taper
(:class:`~pksim.library.populations.PrednisoneTaper`) changes the dose stepwise, and the change
enters the kernel as per-dose F multipliers relative to the baseline. Time h from the first
tacrolimus dose (t = 0); day d runs from 24·d to 24·(d+1) h.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.cohort.effects import covariate_factor
from pksim.library.parameters import ParameterSet
from pksim.library.populations import PrednisoneTaper
from pksim.units import HOURS_PER_DAY

__all__ = [
    "PrednisoneTaper",
    "prednisone_f_factor",
    "prednisone_f_multipliers",
    "prednisone_mg_per_day_at",
]

FloatArray = NDArray[np.float64]


def prednisone_mg_per_day_at(
    baseline_mg: ArrayLike, taper: PrednisoneTaper | None, times_h: ArrayLike
) -> FloatArray:
    """Daily prednisone dose (mg/day) in effect at ``times_h`` ((n|1, m) h; NaN kept as NaN)."""
    p0 = np.asarray(baseline_mg, dtype=np.float64)[:, None]
    t = np.asarray(times_h, dtype=np.float64)
    if t.ndim != 2:
        raise ValueError(f"times_h must be 2-D (subjects|1, times), got shape {t.shape}")
    if taper is None or taper.step_mg == 0:
        return np.where(
            np.isnan(t), np.nan, np.broadcast_to(p0, np.broadcast_shapes(p0.shape, t.shape))
        )
    day = np.floor(t / HOURS_PER_DAY)
    steps = np.where(
        day < taper.first_step_day,
        0.0,
        np.floor((day - taper.first_step_day) / taper.every_days) + 1.0,
    )
    tapered = np.maximum(taper.floor_mg, p0 - taper.step_mg * steps)
    return np.where(p0 > taper.floor_mg, tapered, p0 + 0.0 * t)


def prednisone_f_factor(pset: ParameterSet, prednisone_mg_per_day: ArrayLike) -> FloatArray:
    """Relative F of the set's prednisone effect(s) at the given daily doses (1 if none)."""
    x = np.asarray(prednisone_mg_per_day, dtype=np.float64)
    return covariate_factor(pset, "f", "prednisone_mg_per_day", x)


def prednisone_f_multipliers(
    pset: ParameterSet,
    baseline_mg: ArrayLike,
    taper: PrednisoneTaper | None,
    dose_times_h: ArrayLike,
) -> FloatArray:
    """Per-dose F multipliers (n, m) for a prednisone taper, *relative to the baseline dose*.

    :func:`pksim.cohort.effects.typical_parameters` already puts the baseline prednisone effect
    into ``f``; these multipliers (F at the dose's prednisone dose / F at baseline) go into
    ``dose_f`` of :func:`pksim.model.concentrations_general`. NaN dose times (padding) get 1.
    """
    times = np.asarray(dose_times_h, dtype=np.float64)
    base = np.asarray(baseline_mg, dtype=np.float64)
    mg = prednisone_mg_per_day_at(base, taper, times)
    ratio = prednisone_f_factor(pset, mg) / prednisone_f_factor(pset, base)[:, None]
    return np.where(np.isnan(times), 1.0, ratio)
