"""Slow, obviously correct references for pksim's structural models.

Independent of pksim's kernels: a loop over doses with the textbook single-dose (Bateman)
formula, and scipy's ODE solver integrating the compartments from event to event.
Units: h, mg, L, L/h, 1/h; concentrations in ng/mL.

Every structural model of ``pksim.model.structural.STRUCTURAL_MODELS`` has one entry in
:data:`MODEL_REFERENCES`: its naive function (one subject, scalar parameters by name, plain
doses) and example parameters, used by ``tests/model/test_structural_references.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

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


def one_compartment_oral_lag(parameters, dose_times, dose_amounts, sample_times):
    """Naive reference of ``one-compartment-oral-lag``, one subject, by ``solve_ivp``.

    parameters: scalar ``cl`` (L/h), ``v`` (L), ``ka`` (1/h), ``tlag`` (h), ``f``; doses at
    ``dose_times`` (h, NaN = none) of ``dose_amounts`` (mg) reach the gut ``tlag`` h later.
    """
    p = parameters
    doses = [
        (t + p["tlag"], p["f"] * amount, p["ka"])
        for t, amount in zip(dose_times, dose_amounts, strict=True)
        if not math.isnan(t)
    ]
    return ode_reference(p["v"], doses, list(sample_times), [(-math.inf, p["cl"])])


@dataclass(frozen=True)
class ModelReference:
    """The naive reference of one structural model and parameters to test it at."""

    concentrations: Callable[..., np.ndarray]
    examples: tuple[Mapping[str, float], ...]


MODEL_REFERENCES: Mapping[str, ModelReference] = {
    "one-compartment-oral-lag": ModelReference(
        one_compartment_oral_lag,
        (
            {"cl": 14.0, "v": 700.0, "ka": 4.5, "tlag": 0.4, "f": 1.0},
            {"cl": 46.0, "v": 966.0, "ka": 0.05, "tlag": 2.0, "f": 0.7},
            {"cl": 24.13, "v": 716.0, "ka": 24.13 / 716.0, "tlag": 0.0, "f": 1.8},
        ),
    ),
}
"""Structural model name -> its naive reference (one entry per registered model)."""
