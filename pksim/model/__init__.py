"""The validated, array-level public API of the structural models.

One-compartment oral model with lag: :func:`concentrations`, :func:`concentrations_general`,
:func:`steady_state_trough`. Two-compartment oral model with lag:
:func:`concentrations_two_compartment`, :func:`steady_state_trough_two_compartment`
(``pksim/model/two_compartment.py``). The shared input checks live in ``inputs.py``.

Units: time h, dose mg, volume L, clearance L/h, rate constants 1/h, concentration ng/mL.
``f`` is a *relative* bioavailability multiplier on the dose (the model is apparent: CL/F and
V/F refer to the reference F), so it may exceed 1, e.g. when an inhibitor raises F.

Padding convention for per-subject dose lists of different lengths: a NaN dose time means
"no dose"; its amount is ignored. Rows need not be sorted. Every input is checked, with a
message naming the argument and what is allowed, before any numba code runs: its shape, its
dtype (real numbers: integer or float arrays; bool, complex, strings, objects and ragged nested
lists are refused) and its range. Class indices (``dose_class``) are integers, or floats with
whole values (``1.0``, as ``np.zeros`` makes them); ``0.7`` is refused, never truncated.

Because the gut is a separate compartment, the concentration is continuous in time: a sample
taken at exactly a dose time is the value just before that dose (the trough convention), and
a lag time shifts when the dose reaches the gut, not the dose time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.model import kernels
from pksim.model.inputs import (
    CL_BOUND,
    F_BOUND,
    KA_BOUND,
    NON_NEGATIVE,
    POSITIVE,
    TLAG_BOUND,
    V_BOUND,
    _float_array,
    broadcast_scalars,
    check_range,
    checked_inputs,
)
from pksim.model.two_compartment import (
    concentrations_two_compartment,
    steady_state_trough_two_compartment,
)

__all__ = [
    "concentrations",
    "concentrations_general",
    "concentrations_two_compartment",
    "steady_state_trough",
    "steady_state_trough_two_compartment",
]

Array = NDArray[np.float64]


def concentrations(
    cl: ArrayLike,
    v: ArrayLike,
    ka: ArrayLike,
    tlag: ArrayLike,
    f: ArrayLike,
    dose_times: ArrayLike,
    dose_amounts: ArrayLike,
    sample_times: ArrayLike,
) -> Array:
    """Whole-blood concentrations (ng/mL), exact for the one-compartment oral model with lag.

    Parameters
    ----------
    cl, v, ka, tlag, f
        Per subject, shape (n,) (a scalar is broadcast): apparent clearance CL/F (L/h, > 0),
        apparent volume V/F (L, > 0), absorption rate constant (1/h, > 0), lag time (h, >= 0)
        and relative bioavailability (> 0; may exceed 1).
    dose_times, dose_amounts
        Shape (n, m), or (1, m) for a schedule shared by all subjects: dose times (h) and
        amounts (mg, >= 0). NaN time = no dose (padding for shorter dose lists).
    sample_times
        Shape (s,), h, any order.

    Returns
    -------
    ndarray (n, s)
        Concentration in ng/mL at each sample time; a sample at a dose time is pre-dose.
    """
    return concentrations_general(
        cl, v, ka, tlag, f, dose_times, dose_amounts, _float_array("sample_times", sample_times, 1)
    )


def concentrations_general(
    cl: ArrayLike,
    v: ArrayLike,
    ka: ArrayLike,
    tlag: ArrayLike,
    f: ArrayLike,
    dose_times: ArrayLike,
    dose_amounts: ArrayLike,
    sample_times: ArrayLike,
    *,
    dose_class: ArrayLike | None = None,
    class_lag: ArrayLike | None = None,
    dose_f: ArrayLike | None = None,
    cl_change_times: ArrayLike | None = None,
    cl_multipliers: ArrayLike | None = None,
) -> Array:
    """Concentrations (ng/mL) with per-dose absorption and piecewise-constant clearance.

    As :func:`concentrations`, plus:

    ka
        (n,) or (n, K): one absorption rate constant per subject and absorption class (1/h).
    sample_times
        (s,) shared, or (n, s) / (1, s) per subject (h).
    dose_class
        (n|1, m) integers in [0, K): the absorption class of each dose (default 0).
    class_lag
        (K,) extra lag (h, >= 0) added to ``tlag`` for doses of each class (default 0).
    dose_f
        (n|1, m) per-dose bioavailability multiplier (> 0, default 1), on top of ``f``.
    cl_change_times, cl_multipliers
        (c,) strictly ascending times (h) and (n|1, c + 1) multipliers (> 0) on ``cl`` in the
        segments (-inf, t0), [t0, t1), ..., [t_{c-1}, inf). Integration stays exact.
    """
    p, events = checked_inputs(
        {
            "cl": (cl, CL_BOUND),
            "v": (v, V_BOUND),
            "ka": (ka, KA_BOUND),
            "tlag": (tlag, TLAG_BOUND),
            "f": (f, F_BOUND),
        },
        dose_times,
        dose_amounts,
        sample_times,
        dose_class=dose_class,
        class_lag=class_lag,
        dose_f=dose_f,
        cl_change_times=cl_change_times,
        cl_multipliers=cl_multipliers,
    )
    out = np.empty((p["cl"].size, events.samples.shape[1]))
    kernels.simulate(
        p["cl"] / p["v"],
        p["v"],
        p["tlag"],
        p["f"],
        p["ka"],
        events.class_lag,
        events.times,
        events.amounts,
        events.klass,
        events.dose_f,
        events.samples,
        events.change_times,
        events.k_mult,
        out,
    )
    return events.unsort(out)


def steady_state_trough(
    cl: ArrayLike,
    v: ArrayLike,
    ka: ArrayLike,
    tlag: ArrayLike,
    f: ArrayLike,
    dose: ArrayLike,
    tau: ArrayLike,
) -> Array:
    """Analytic steady-state trough (ng/mL) of ``dose`` mg every ``tau`` h.

    The concentration just before a dose once infinitely many doses have been given.
    Arguments broadcast against each other (scalars or 1-D arrays); units as in
    :func:`concentrations`; ``dose`` >= 0 mg, ``tau`` > 0 h.
    """
    names = ("cl", "v", "ka", "tlag", "f", "dose", "tau")
    arrays, shape = broadcast_scalars(names, (cl, v, ka, tlag, f, dose, tau))
    for name in ("cl", "v", "ka", "f", "tau"):
        check_range(name, arrays[name], POSITIVE)
    for name in ("tlag", "dose"):
        check_range(name, arrays[name], NON_NEGATIVE)
    out = np.empty(arrays["cl"].size)
    kernels.steady_state_trough(
        arrays["cl"] / arrays["v"],
        arrays["v"],
        arrays["ka"],
        arrays["tlag"],
        arrays["f"],
        arrays["dose"],
        arrays["tau"],
        out,
    )
    return out.reshape(shape)
