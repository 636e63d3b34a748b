"""Slow, obviously correct references for the one-compartment oral model with lag.

Independent of pksim's kernels: a loop over doses with the textbook single-dose (Bateman)
formula, and scipy's ODE solver integrating the two compartments from event to event.
Units: h, mg, L, L/h, 1/h; concentrations in ng/mL.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

NG_PER_ML_PER_MG_PER_L = 1000.0


def single_dose(cl, v, ka, tlag, f, dose, t_after_dose):
    """Bateman function: concentration (ng/mL) ``t_after_dose`` h after one oral dose."""
    t = t_after_dose - tlag
    if t <= 0:
        return 0.0
    k = cl / v
    if ka == k:
        amount = f * dose * k * t * math.exp(-k * t)
    else:
        amount = f * dose * ka / (ka - k) * (math.exp(-k * t) - math.exp(-ka * t))
    return amount / v * NG_PER_ML_PER_MG_PER_L


def superposition(cl, v, ka, tlag, f, dose_times, dose_amounts, sample_times):
    """Sum of single-dose curves, one subject; NaN dose times are skipped."""
    out = np.zeros(len(sample_times))
    for s, t in enumerate(sample_times):
        for td, amount in zip(dose_times, dose_amounts, strict=True):
            if not math.isnan(td):
                out[s] += single_dose(cl, v, ka, tlag, f, amount, t - td)
    return out


def ode_reference(v, doses, sample_times, cl_segments, rtol=1e-12):
    """Concentrations (ng/mL) from ``solve_ivp`` (DOP853), one subject.

    doses: list of (arrival time h, amount reaching the gut mg, ka 1/h); each dose has its own
    gut compartment. cl_segments: list of (start time h, clearance L/h), the first start being
    -inf. The ODE is integrated piecewise between consecutive events.
    """
    doses = sorted(doses)
    starts = [s for s, _ in cl_segments]
    events = sorted({*(t for t, _, _ in doses), *starts[1:], *sample_times})
    state = np.zeros(1 + len(doses))  # central, then one gut per dose
    rates = np.array([ka for _, _, ka in doses])
    t_now = min(events)
    results = {}

    def rhs(_t, y, k):
        gut = y[1:]
        return np.concatenate(([np.dot(rates, gut) - k * y[0]], -rates * gut))

    for t_event in events:
        if t_event > t_now:
            cl = cl_segments[int(np.searchsorted(starts, t_now, side="right")) - 1][1]
            solution = solve_ivp(
                rhs, (t_now, t_event), state, method="DOP853", rtol=rtol, atol=1e-20, args=(cl / v,)
            )
            state = solution.y[:, -1]
            t_now = t_event
        results[t_event] = state[0] / v * NG_PER_ML_PER_MG_PER_L
        for index, (arrival, amount, _) in enumerate(doses):
            if arrival == t_event:
                state[1 + index] += amount
    return np.array([results[t] for t in sample_times])


def steady_state_trough(cl, v, ka, tlag, f, dose, tau):
    """Textbook steady-state concentration just before a dose (ng/mL); needs tlag < tau, ka != k."""
    k = cl / v
    t = tau - tlag
    amount = (
        f
        * dose
        * ka
        / (ka - k)
        * (
            math.exp(-k * t) / (1 - math.exp(-k * tau))
            - math.exp(-ka * t) / (1 - math.exp(-ka * tau))
        )
    )
    return amount / v * NG_PER_ML_PER_MG_PER_L
