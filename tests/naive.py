"""Slow, obviously correct references for pksim's structural models.

Independent of pksim's kernels: a loop over doses with the textbook single-dose (Bateman)
formula, scipy's ODE solver integrating the two compartments from event to event, and a
dose-by-dose superposition in 50-digit decimal arithmetic for piecewise-constant clearance.
Units: h, mg, L, L/h, 1/h; concentrations in ng/mL.

Every structural model of ``pksim.model.structural.STRUCTURAL_MODELS`` has one entry in
:data:`MODEL_REFERENCES`: its naive function (one subject, scalar parameters by name, plain
doses) and example parameters, used by ``tests/model/test_structural_references.py``.
"""

from __future__ import annotations

import bisect
import decimal
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import expm

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


def ode_reference_two_compartment(
    v1, q, v2, doses, sample_times, cl_segments, rtol=1e-12, method="DOP853"
):
    """Concentrations (ng/mL) of the two-compartment model from ``solve_ivp``, one subject.

    State: central and peripheral amounts (mg), then one gut per dose. doses: list of (arrival
    time h, amount reaching the gut mg, ka 1/h), any order, NaN arrival = no dose.
    cl_segments: list of (start time h, clearance L/h), the first start being -inf. The ODEs

        dA1/dt = sum(ka_j·G_j) - (CL + Q)/V1·A1 + Q/V2·A2,  dA2/dt = Q/V1·A1 - Q/V2·A2,
        dG_j/dt = -ka_j·G_j

    are integrated piecewise from event to event (arrivals, clearance changes, samples); a
    sample at an arrival is taken before that dose enters the gut.
    """
    doses = sorted(d for d in doses if not math.isnan(d[0]))
    starts = [s for s, _ in cl_segments]
    events = sorted({*(t for t, _, _ in doses), *starts[1:], *sample_times})
    state = np.zeros(2 + len(doses))
    rates = np.array([ka for _, _, ka in doses])
    k12, k21 = q / v1, q / v2
    t_now = min(events)
    results = {}

    def rhs(_t, y, k10):
        gut = y[2:]
        central = np.dot(rates, gut) - (k10 + k12) * y[0] + k21 * y[1]
        return np.concatenate(([central, k12 * y[0] - k21 * y[1]], -rates * gut))

    for t_event in events:
        if t_event > t_now:
            cl = cl_segments[int(np.searchsorted(starts, t_now, side="right")) - 1][1]
            solution = solve_ivp(
                rhs, (t_now, t_event), state, method=method, rtol=rtol, atol=1e-20, args=(cl / v1,)
            )
            state = solution.y[:, -1]
            t_now = t_event
        results[t_event] = state[0] / v1 * NG_PER_ML_PER_MG_PER_L
        for index, (arrival, amount, _) in enumerate(doses):
            if arrival == t_event:
                state[2 + index] += amount
    return np.array([results[t] for t in sample_times])


def steady_state_trough_two_compartment(cl, v1, q, v2, ka, tlag, f, dose, tau):
    """Steady-state trough (ng/mL) of ``dose`` mg every ``tau`` h from matrix exponentials.

    x = (gut, central, peripheral) mg; one interval maps x -> P·x + (f·dose, 0, 0) with
    P = expm(A·tau); the state just after an arrival at steady state solves (I - P)·x = b
    (needs q > 0), and the trough is expm(A·dt)·x with dt = tau - (tlag mod tau).
    """
    k10, k12, k21 = cl / v1, q / v1, q / v2
    system = np.array([[-ka, 0.0, 0.0], [ka, -(k10 + k12), k21], [0.0, k12, -k21]])
    after_arrival = np.linalg.solve(np.eye(3) - expm(system * tau), np.array([f * dose, 0.0, 0.0]))
    trough = expm(system * (tau - tlag % tau)) @ after_arrival
    return trough[1] / v1 * NG_PER_ML_PER_MG_PER_L


def two_compartment_oral_lag(parameters, dose_times, dose_amounts, sample_times):
    """Naive reference of ``two-compartment-oral-lag``, one subject, by ``solve_ivp``.

    parameters: scalar ``cl`` (L/h), ``v1`` (L), ``q`` (L/h), ``v2`` (L), ``ka`` (1/h),
    ``tlag`` (h), ``f``; doses at ``dose_times`` (h, NaN = none) of ``dose_amounts`` (mg)
    reach the gut ``tlag`` h later.
    """
    p = parameters
    doses = [
        (t + p["tlag"], p["f"] * amount, p["ka"])
        for t, amount in zip(dose_times, dose_amounts, strict=True)
        if not math.isnan(t)
    ]
    return ode_reference_two_compartment(
        p["v1"], p["q"], p["v2"], doses, list(sample_times), [(-math.inf, p["cl"])]
    )


def concentrations_two_compartment_reference(
    cl,
    v1,
    q,
    v2,
    ka,
    tlag,
    f,
    dose_times,
    dose_amounts,
    sample_times,
    *,
    dose_class=None,
    class_lag=None,
    dose_f=None,
    cl_change_times=(),
    cl_multipliers=None,
    method="DOP853",
):
    """:func:`ode_reference_two_compartment` for the arguments of
    ``concentrations_two_compartment`` (shapes as in :func:`concentrations_general_reference`;
    a dose arrives at dose time + (tlag + class lag), added in float64 as the model does).
    Returns (n, s) ng/mL."""
    n = len(cl)
    times = np.asarray(dose_times, dtype=float)
    amounts = np.asarray(dose_amounts, dtype=float)
    klass = np.zeros(times.shape, dtype=int) if dose_class is None else np.asarray(dose_class)
    lags = np.zeros(np.shape(ka)[1]) if class_lag is None else np.asarray(class_lag, dtype=float)
    per_dose = np.ones(times.shape) if dose_f is None else np.asarray(dose_f, dtype=float)
    samples = np.atleast_2d(sample_times)
    multipliers = np.ones((1, 1)) if cl_multipliers is None else np.asarray(cl_multipliers)
    changes = () if cl_change_times is None else cl_change_times

    def row(array, i):
        return array[i if array.shape[0] > 1 else 0]

    out = np.empty((n, samples.shape[1]))
    for i in range(n):
        doses = [
            (t + (tlag[i] + lags[c]), amount * f[i] * extra_f, ka[i][c])
            for t, amount, c, extra_f in zip(
                row(times, i), row(amounts, i), row(klass, i), row(per_dose, i), strict=True
            )
        ]
        segments = [(-np.inf, cl[i] * row(multipliers, i)[0])] + [
            (start, cl[i] * row(multipliers, i)[s + 1]) for s, start in enumerate(changes)
        ]
        out[i] = ode_reference_two_compartment(
            v1[i], q[i], v2[i], doses, list(row(samples, i)), segments, method=method
        )
    return out


def disposition_rates(cl, v1, q, v2):
    """alpha, beta (1/h) of the two-compartment model, textbook formula (no care for rounding)."""
    k10, k12, k21 = cl / v1, q / v1, q / v2
    total = k10 + k12 + k21
    root = math.sqrt(total**2 - 4 * k10 * k21)
    return (total + root) / 2, (total - root) / 2


KA_EQUALS_BETA = disposition_rates(24.0, 240.0, 30.0, 600.0)[1]
"""beta (1/h) of CL 24 L/h, V1 240 L, Q 30 L/h, V2 600 L: about 0.0196 /h."""


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
    "two-compartment-oral-lag": ModelReference(
        two_compartment_oral_lag,
        (
            {"cl": 20.0, "v1": 100.0, "q": 50.0, "v2": 800.0, "ka": 4.5, "tlag": 0.4, "f": 1.0},
            {"cl": 46.0, "v1": 300.0, "q": 20.0, "v2": 400.0, "ka": 0.05, "tlag": 2.0, "f": 0.7},
            # ka = beta (the slower disposition rate, within rounding of the kernel's), no lag.
            {
                "cl": 24.0,
                "v1": 240.0,
                "q": 30.0,
                "v2": 600.0,
                "ka": KA_EQUALS_BETA,
                "tlag": 0.0,
                "f": 1.8,
            },
        ),
    ),
}
"""Structural model name -> its naive reference (one entry per registered model)."""


REFERENCE_DIGITS = 50
"""Significant digits of :func:`high_precision_superposition` (stdlib ``decimal``)."""


def high_precision_superposition(v, doses, sample_times, cl_segments, digits=REFERENCE_DIGITS):
    """Concentrations (ng/mL) in ``digits``-digit decimal arithmetic, one subject.

    Arguments as :func:`ode_reference`; doses in any order, a NaN arrival is no dose. The model
    is linear, so every dose is followed on its own, from its arrival through each clearance
    segment up to each sample, and the doses are summed: no event walk, no ordering of doses.
    Float inputs are converted to decimals exactly; only the result is rounded to float.
    """
    with decimal.localcontext() as context:
        context.prec = digits
        changes = [decimal.Decimal(start) for start, _ in cl_segments[1:]]
        rates = [decimal.Decimal(cl) / decimal.Decimal(v) for _, cl in cl_segments]
        given = [
            tuple(decimal.Decimal(x) for x in dose) for dose in doses if not math.isnan(dose[0])
        ]
        scale = decimal.Decimal(NG_PER_ML_PER_MG_PER_L) / decimal.Decimal(v)
        out = np.zeros(len(sample_times))
        for s, t in enumerate(sample_times):
            time = decimal.Decimal(t)
            total = sum(
                (_central_after_one_dose(*dose, time, changes, rates) for dose in given),
                decimal.Decimal(0),
            )
            out[s] = float(total * scale)
    return out


def _central_after_one_dose(arrival, amount, ka, time, changes, rates):
    """Central amount (mg) at ``time`` from ``amount`` mg reaching the gut at ``arrival``.

    Decimal arguments; ``rates[i]`` (1/h) holds from ``changes[i - 1]`` (inclusive) on.
    """
    if time <= arrival:
        return decimal.Decimal(0)
    edges = [arrival, *(c for c in changes if arrival < c < time), time]
    gut, central = amount, decimal.Decimal(0)
    for start, end in itertools.pairwise(edges):
        k = rates[bisect.bisect_right(changes, start)]
        dt = end - start
        ek, eka = (-k * dt).exp(), (-ka * dt).exp()
        transfer = dt * ek if ka == k else (ek - eka) / (ka - k)
        central = central * ek + gut * ka * transfer
        gut *= eka
    return central


AGREEMENT_RTOL = 1e-8
"""Relative agreement required between pksim and :func:`high_precision_superposition`."""

AGREEMENT_ATOL_NG_PER_ML = 1e-8
"""Absolute floor (ng/mL) for concentrations near zero. Event times are float64: the kernel
forms the time since an arrival as (sample - dose time) - lag, which may be off by an ulp of the
times (3e-14 h at 200 h); times |dC/dt| = ka·gut/V <= 10 /h · 450 mg / 100 L = 4.5e4 ng/mL/h
(the largest in these tests) that is <= 1.3e-9 ng/mL, e.g. at a sample placed at a first
arrival, where the exact value is 0. 1e-8 ng/mL is 1e-9 of a 10 ng/mL trough."""


def concentrations_general_reference(
    cl,
    v,
    ka,
    tlag,
    f,
    dose_times,
    dose_amounts,
    sample_times,
    *,
    dose_class=None,
    class_lag=None,
    dose_f=None,
    cl_change_times=(),
    cl_multipliers=None,
):
    """:func:`high_precision_superposition` for the arguments of ``concentrations_general``.

    cl, v, tlag, f: (n,); ka: (n, K); dose rows, ``dose_class``, ``dose_f``: (n|1, m);
    sample_times: (n|1, s); cl_multipliers: (n|1, c + 1). A dose arrives at
    dose time + (tlag + class lag), added in float64 as the model does, so that a sample placed
    at an arrival is at the very instant the kernel uses. Returns (n, s) ng/mL.
    """
    n = len(cl)
    times = np.asarray(dose_times, dtype=float)
    amounts = np.asarray(dose_amounts, dtype=float)
    klass = np.zeros(times.shape, dtype=int) if dose_class is None else np.asarray(dose_class)
    lags = np.zeros(np.shape(ka)[1]) if class_lag is None else np.asarray(class_lag, dtype=float)
    per_dose = np.ones(times.shape) if dose_f is None else np.asarray(dose_f, dtype=float)
    samples = np.atleast_2d(sample_times)
    multipliers = np.ones((1, 1)) if cl_multipliers is None else np.asarray(cl_multipliers)

    def row(array, i):
        return array[i if array.shape[0] > 1 else 0]

    out = np.empty((n, samples.shape[1]))
    for i in range(n):
        classes = row(klass, i)
        doses = [
            (t + (tlag[i] + lags[c]), amount * f[i] * extra_f, ka[i][c])
            for t, amount, c, extra_f in zip(
                row(times, i), row(amounts, i), classes, row(per_dose, i), strict=True
            )
        ]
        segments = [(-np.inf, cl[i] * row(multipliers, i)[0])] + [
            (start, cl[i] * row(multipliers, i)[s + 1]) for s, start in enumerate(cl_change_times)
        ]
        out[i] = high_precision_superposition(v[i], doses, row(samples, i), segments)
    return out
