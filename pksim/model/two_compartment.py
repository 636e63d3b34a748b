"""Two-compartment oral model with lag: the validated, array-level entry points.

First-order absorption after a lag time into a central compartment (V1/F) exchanging with a
peripheral one (V2/F) through the inter-compartmental clearance Q/F, linear elimination CL/F
from the central compartment: the structure of the published tacrolimus population models
(e.g. Andrews 2019). Apparent parameters, as in the one-compartment model: ``f`` is a relative
bioavailability multiplier on the dose. Concentrations are the central amount over V1.

Same event semantics as :func:`pksim.model.concentrations_general` (NaN dose time = no dose,
unsorted rows, shared (1, m) rows, absorption classes with their own ka and lag, per-dose F,
piecewise-constant clearance, doses absorbed in arrival order, a sample at a dose time taken
before that dose). The clearance multipliers act on CL only; Q, V1 and V2 stay. Integration is
exact in closed form between events (``kernels_two_compartment``).

Units: time h, dose mg, volume L, clearance L/h, rate constants 1/h, concentration ng/mL.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.model import kernels_two_compartment
from pksim.model.inputs import (
    CL_BOUND,
    F_BOUND,
    KA_BOUND,
    NON_NEGATIVE,
    POSITIVE,
    TLAG_BOUND,
    Bound,
    broadcast_scalars,
    check_range,
    checked_inputs,
)

__all__ = ["concentrations_two_compartment", "steady_state_trough_two_compartment"]

Array = NDArray[np.float64]

V1_BOUND = Bound(0.0, inclusive=False, what="finite and > 0 (L)")
"""Apparent central volume V1/F."""
V2_BOUND = Bound(0.0, inclusive=False, what="finite and > 0 (L)")
"""Apparent peripheral volume V2/F."""
Q_BOUND = Bound(0.0, inclusive=True, what="finite and >= 0 (L/h)")
"""Apparent inter-compartmental clearance Q/F; 0 cuts the peripheral compartment off (the
one-compartment model with V1)."""


def concentrations_two_compartment(
    cl: ArrayLike,
    v1: ArrayLike,
    q: ArrayLike,
    v2: ArrayLike,
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
    """Whole-blood concentrations (ng/mL), exact for the two-compartment oral model with lag.

    Parameters
    ----------
    cl, v1, q, v2, tlag, f
        Per subject, shape (n,) (a scalar is broadcast): apparent clearance CL/F (L/h, > 0),
        central volume V1/F (L, > 0), inter-compartmental clearance Q/F (L/h, >= 0), peripheral
        volume V2/F (L, > 0), lag time (h, >= 0), relative bioavailability (> 0).
    ka
        (n,) or (n, K): absorption rate constant per subject and absorption class (1/h, > 0).
    dose_times, dose_amounts
        (n, m) or (1, m): dose times (h; NaN = no dose, any order) and amounts (mg, >= 0).
    sample_times
        (s,) shared, or (n, s) / (1, s) per subject (h, any order).
    dose_class, class_lag, dose_f, cl_change_times, cl_multipliers
        As in :func:`pksim.model.concentrations_general`; the multipliers scale CL only.

    Returns
    -------
    ndarray (n, s)
        Concentration in the central compartment (ng/mL); a sample at a dose time is pre-dose.
    """
    p, events = checked_inputs(
        {
            "cl": (cl, CL_BOUND),
            "v1": (v1, V1_BOUND),
            "q": (q, Q_BOUND),
            "v2": (v2, V2_BOUND),
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
    kernels_two_compartment.simulate(
        p["cl"] / p["v1"],
        p["q"] / p["v1"],
        p["q"] / p["v2"],
        p["v1"],
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


def steady_state_trough_two_compartment(
    cl: ArrayLike,
    v1: ArrayLike,
    q: ArrayLike,
    v2: ArrayLike,
    ka: ArrayLike,
    tlag: ArrayLike,
    f: ArrayLike,
    dose: ArrayLike,
    tau: ArrayLike,
) -> Array:
    """Analytic steady-state trough (ng/mL) of ``dose`` mg every ``tau`` h, two compartments.

    The concentration just before a dose once infinitely many doses have been given (the
    fixed point of one dosing interval, in closed form: the matrix geometric series).
    Arguments broadcast against each other (scalars or 1-D arrays); units as in
    :func:`concentrations_two_compartment`; ``q``, ``tlag`` and ``dose`` >= 0, the rest > 0.
    """
    names = ("cl", "v1", "q", "v2", "ka", "tlag", "f", "dose", "tau")
    arrays, shape = broadcast_scalars(names, (cl, v1, q, v2, ka, tlag, f, dose, tau))
    for name in names:
        check_range(name, arrays[name], NON_NEGATIVE if name in ("q", "tlag", "dose") else POSITIVE)
    out = np.empty(arrays["cl"].size)
    kernels_two_compartment.steady_state_trough(
        arrays["cl"] / arrays["v1"],
        arrays["q"] / arrays["v1"],
        arrays["q"] / arrays["v2"],
        arrays["v1"],
        arrays["ka"],
        arrays["tlag"],
        arrays["f"],
        arrays["dose"],
        arrays["tau"],
        out,
    )
    return out.reshape(shape)
