"""Liver function and tacrolimus clearance.

A subject's liver-function category (a registry code) scales CL/F through the parameter set's
categorical effect on ``cl``. A category that changes over time enters the kernel as a
clearance change-point grid (times h, multipliers relative to the first segment).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.cohort.covariates import LIVER_FUNCTION
from pksim.cohort.effects import covariate_factor
from pksim.library.parameters import ParameterSet

__all__ = ["liver_cl_grid", "liver_cl_multiplier"]

FloatArray = NDArray[np.float64]


def liver_cl_multiplier(pset: ParameterSet, liver_function: ArrayLike) -> FloatArray:
    """CL/F multiplier of each subject's liver-function code (1 when the set has no such effect)."""
    return covariate_factor(pset, "cl", "liver_function", np.asarray(liver_function, np.int8))


def liver_cl_grid(
    pset: ParameterSet, change_times_h: ArrayLike, liver_function: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Clearance grid for liver function that changes over time.

    ``liver_function``: (n, c + 1) codes, column j holding the category in segment j of
    (-inf, t0), [t0, t1), ..., [t_{c-1}, inf). Returns ``(cl_change_times, cl_multipliers)`` for
    :func:`pksim.model.concentrations_general`, the multipliers *relative to segment 0*: use
    them with a CL/F that already includes the segment-0 category (the subject's covariate).
    """
    times = np.asarray(change_times_h, dtype=np.float64)
    codes = np.asarray(liver_function, dtype=np.int8)
    if times.ndim != 1 or np.any(np.diff(times) <= 0) or not np.all(np.isfinite(times)):
        raise ValueError("change_times_h must be a 1-D strictly increasing array of finite hours")
    if codes.ndim != 2 or codes.shape[1] != times.size + 1:
        raise ValueError(
            f"liver_function must have shape (n, {times.size + 1}) for "
            f"{times.size} change times, got {codes.shape}"
        )
    if codes.size and (codes.min() < 0 or codes.max() >= len(LIVER_FUNCTION)):
        raise ValueError(
            f"liver_function codes must be in 0..{len(LIVER_FUNCTION) - 1} "
            f"({', '.join(LIVER_FUNCTION)})"
        )
    factors = liver_cl_multiplier(pset, codes)
    return times, factors / factors[:, :1]
