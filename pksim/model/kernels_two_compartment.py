"""Numba kernels of the two-compartment oral model with lag: float64 arrays in, arrays out.

No validation, no objects, no RNG (``pksim.model.two_compartment`` checks the inputs). The
state of a subject is one gut amount per absorption class, the central amount A1 and the
peripheral amount A2 (mg), with micro-constants k10 = CL/V1, k12 = Q/V1, k21 = Q/V2 (1/h):

    dG/dt  = -ka·G
    dA1/dt =  ka·G - (k10 + k12)·A1 + k21·A2
    dA2/dt =  k12·A1 - k21·A2

The disposition matrix M has eigenvalues -alpha, -beta, alpha > beta >= 0,
alpha·beta = k10·k21, alpha + beta = k10 + k12 + k21. Between events every amount is propagated
in closed form (Sylvester's formula, no eigenvectors):

    exp(M·t) = exp(-alpha·t)·I + [[r, k21], [k12, p]] · T(alpha, beta, t)

with p = alpha - k21 >= 0, r = k21 - beta >= 0 (p·r = k12·k21) and T(a, b, t) =
(exp(-b·t) - exp(-a·t)) / (a - b), the convolution of two exponentials. A gut amount G adds

    A1 += G·ka·(T(ka, alpha, t) + r·J),   A2 += G·ka·k12·J,   J = conv(alpha, beta, ka)(t)

where J, the convolution of three exponentials, is the second divided difference of
x -> exp(-x·t) at alpha, beta and ka. Every coefficient is a sum of non-negative terms, so
nothing cancels; T and J are evaluated with expm1 / a series when their rates are close,
which keeps them exact in the limits ka -> alpha, ka -> beta and alpha -> beta (a tiny
discriminant: Q -> 0 with k10 + k12 ≈ k21). p and r come from the discriminant without
cancellation either (see :func:`disposition`).

Events, arrival order, shared rows, exponential caching and scratch arrays work exactly as in
the one-compartment kernel (``pksim/model/kernels.py``, whose helpers are reused), with the
clearance multiplier acting on k10 only (Q, V1 and V2 unchanged).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from pksim.model.kernels import (
    SUBJECTS_PER_TASK,
    _arrivals_ascending,
    _lags_differ,
    _reset_order,
    _row,
    _sort_by_arrival,
    transfer,
)
from pksim.units import MG_PER_L_TO_NG_PER_ML

SECOND_DIFFERENCE_SERIES_LIMIT = 1.0
"""Below this spread (largest - smallest rate)·t the three-exponential convolution is summed as
a series (no cancellation); above it the difference of two transfers loses under 2 bits."""

SECOND_DIFFERENCE_TERMS = 24
"""Most series terms: term k is at most (k + 1)/(k + 2)! of the sum's scale when the spread is
<= 1, below 1e-21 for k = 20, so the loop always ends by convergence."""

SERIES_TOLERANCE = 2.0**-60
"""The series stops when a term falls below this fraction of the sum."""


@nb.njit(cache=True, inline="always")
def disposition(k10, k12, k21):
    """alpha, beta (1/h): minus the eigenvalues of the disposition matrix, alpha > beta >= 0;
    and p = alpha - k21, r = k21 - beta (1/h, both >= 0, p·r = k12·k21), free of cancellation.

    The discriminant (k10 + k12 + k21)^2 - 4·k10·k21 is written as u^2 + 4·k12·k21 with
    u = k10 + k12 - k21 (a sum of squares, never negative). alpha = (sum + sqrt)/2 adds
    positive numbers; beta = k10·k21/alpha. Of p = (u + d)/2 and r = (d - u)/2 the one that
    adds same-signed numbers is computed directly, the other from p·r = k12·k21.
    Needs k10 > 0 and k12, k21 >= 0 (Q = 0 gives p = k10, r = 0: one compartment).
    """
    u = k10 + k12 - k21
    d = math.hypot(u, 2.0 * math.sqrt(k12 * k21))
    alpha = 0.5 * ((k10 + k12 + k21) + d)
    beta = k10 * k21 / alpha
    if u >= 0.0:
        p = 0.5 * (u + d)
        r = k12 * k21 / p
    else:
        r = 0.5 * (d - u)
        p = k12 * k21 / r
    return alpha, beta, p, r


@nb.njit(cache=True)
def convolution3(a, b, c, t, ea, eb, ec):
    """(exp(-a·) * exp(-b·) * exp(-c·))(t): the convolution of three exponentials at t (h²,
    > 0), i.e. the second divided difference of x -> exp(-x·t) at a, b, c.

    ``ea, eb, ec`` are exp(-a·t), exp(-b·t), exp(-c·t). Exact in every limit of coinciding
    rates: with the rates sorted hi >= mid >= lo and z = (rate - lo)·t, the value is
    t²·exp(-lo·t)·Σ_k (-1)^k h_k(z_hi, z_mid)/(k + 2)!, h_k the complete homogeneous
    polynomial, while z_hi <= :data:`SECOND_DIFFERENCE_SERIES_LIMIT`; otherwise
    (T(mid, lo) - T(hi, mid)) / (hi - lo) with T the stable two-exponential transfer.
    """
    # Sort (a, b, c) into hi >= mid >= lo, carrying the exponentials along.
    hi, e_hi, mid, e_mid, lo, e_lo = a, ea, b, eb, c, ec
    if hi < mid:
        hi, e_hi, mid, e_mid = mid, e_mid, hi, e_hi
    if mid < lo:
        mid, e_mid, lo, e_lo = lo, e_lo, mid, e_mid
        if hi < mid:
            hi, e_hi, mid, e_mid = mid, e_mid, hi, e_hi
    spread = (hi - lo) * t
    if spread <= SECOND_DIFFERENCE_SERIES_LIMIT:
        z1 = spread
        z2 = (mid - lo) * t
        total = 0.5  # k = 0: h_0 / 2!
        h = 1.0
        z2_power = 1.0
        factorial = 2.0
        sign = 1.0
        for k in range(1, SECOND_DIFFERENCE_TERMS):
            z2_power *= z2
            h = z1 * h + z2_power
            factorial *= k + 2
            sign = -sign
            term = h / factorial
            total += sign * term
            if term <= SERIES_TOLERANCE * total:
                break
        return t * t * e_lo * total
    return (transfer(mid, lo, t, e_lo, e_mid) - transfer(hi, mid, t, e_mid, e_hi)) / (hi - lo)


@nb.njit(cache=True)  # not inlined: called on cache misses only; compiles 3x faster
def _input(ka, alpha, r, k12, beta, t, ea, eb):
    """exp(-ka·t) and the central and peripheral amounts (per mg in the gut) after t h."""
    eka = math.exp(-ka * t)
    j = convolution3(alpha, beta, ka, t, ea, eb, eka)
    to_central = ka * (transfer(ka, alpha, t, ea, eka) + r * j)
    return eka, to_central, ka * k12 * j


# fmt: off
@nb.njit(cache=True, inline="always")
def _propagate(alpha, beta, p, r, k12, k21, dt, ka, i, n_classes, eka, c1, c2):
    """Propagators over ``dt`` h: the disposition matrix (e11, e12, e21, e22) and, for class
    0, exp(-ka·dt) and the central / peripheral amounts per mg in its gut; classes 1..K-1 are
    written into ``eka``, ``c1``, ``c2``."""
    ea = math.exp(-alpha * dt)
    eb = math.exp(-beta * dt)
    tab = transfer(alpha, beta, dt, eb, ea)
    e11 = ea + r * tab
    e12 = k21 * tab
    e21 = k12 * tab
    e22 = ea + p * tab
    eka0, c1_0, c2_0 = _input(ka[i, 0], alpha, r, k12, beta, dt, ea, eb)
    for c in range(1, n_classes):
        eka[c], c1[c], c2[c] = _input(ka[i, c], alpha, r, k12, beta, dt, ea, eb)
    return e11, e12, e21, e22, eka0, c1_0, c2_0


@nb.njit(cache=True, inline="always")
def _simulate_subject(i, k10, k12, k21, v1, tlag, f, ka, class_lag, times, amounts, klass,
                      dose_f, samples, change_times, k_mult, out, gut, adv_eka, adv_c1, adv_c2,
                      smp_eka, smp_c1, smp_c2, lags_differ, arrival, order):
    """Concentrations (ng/mL) of subject ``i`` at its sorted sample times, into ``out[i]``.

    The walk of the one-compartment kernel (``kernels._simulate_subject``: arrival order,
    in-place row indexing, class 0 in scalars) with the two-compartment state and propagators.
    """
    n_classes = ka.shape[1]
    n_doses = times.shape[1]
    n_samples = samples.shape[1]
    n_changes = change_times.shape[0]
    rt, ra, rc, rf = _row(times, i), _row(amounts, i), _row(klass, i), _row(dose_f, i)
    rs, rk = _row(samples, i), _row(k_mult, i)
    q1, q2, v1i, lag0, fi = k12[i], k21[i], v1[i], tlag[i], f[i]
    by_arrival = lags_differ and not _arrivals_ascending(lag0, class_lag, times, klass, rt, rc)
    if by_arrival:
        _sort_by_arrival(lag0, class_lag, times, klass, rt, rc, arrival, order)
    for c in range(n_classes):
        gut[c] = 0.0
    gut0 = 0.0
    central = 0.0
    peripheral = 0.0
    started = False
    # Current time = cur_base + cur_off, as in the one-compartment kernel (cache hits).
    cur_base = 0.0
    cur_off = 0.0
    seg = 0
    kk = k10[i] * k_mult[rk, 0]
    alpha, beta, p, r = disposition(kk, q1, q2)
    # Cached propagators for state advances (adv_*) and for samples (smp_*).
    adv_dt = adv_k = smp_dt = smp_k = -1.0
    a11 = a12 = a21 = a22 = adv_eka0 = adv_c1_0 = adv_c2_0 = 0.0
    s11 = s12 = smp_c1_0 = 0.0
    pos = 0  # position in the walk over doses; j: its column
    j = 0
    s = 0
    off = 0.0
    inf = np.inf
    while s < n_samples:
        t_arrival = inf
        while pos < n_doses:
            j = order[pos]
            if not math.isnan(times[rt, j]):  # NaN = no dose (missed or padding)
                off = lag0 + class_lag[klass[rc, j]]
                t_arrival = times[rt, j] + off
                break
            pos += 1
        t_change = change_times[seg] if seg < n_changes else inf
        t_sample = samples[rs, s]
        if t_sample <= t_arrival and t_sample <= t_change:
            if not started:
                out[i, s] = 0.0
            else:
                dt = (t_sample - cur_base) - cur_off
                if dt != smp_dt or kk != smp_k:
                    smp_dt, smp_k = dt, kk
                    s11, s12, _, _, _, smp_c1_0, _ = _propagate(
                        alpha, beta, p, r, q1, q2, dt, ka, i, n_classes, smp_eka, smp_c1, smp_c2)
                value = central * s11 + peripheral * s12 + gut0 * smp_c1_0
                for c in range(1, n_classes):
                    value += gut[c] * smp_c1[c]
                out[i, s] = value / v1i * MG_PER_L_TO_NG_PER_ML
            s += 1
            continue
        if t_change < t_arrival:
            next_base, next_off = t_change, 0.0
        else:
            next_base, next_off = times[rt, j], off
        if started:
            dt = (next_base - cur_base) + (next_off - cur_off)
            # dt >= 0 but for rounding (an arrival tied to the ulp through another lag): skip.
            if dt > 0.0:
                if dt != adv_dt or kk != adv_k:
                    adv_dt, adv_k = dt, kk
                    a11, a12, a21, a22, adv_eka0, adv_c1_0, adv_c2_0 = _propagate(
                        alpha, beta, p, r, q1, q2, dt, ka, i, n_classes, adv_eka, adv_c1, adv_c2)
                central, peripheral = (
                    central * a11 + peripheral * a12 + gut0 * adv_c1_0,
                    central * a21 + peripheral * a22 + gut0 * adv_c2_0,
                )
                gut0 *= adv_eka0
                for c in range(1, n_classes):
                    central += gut[c] * adv_c1[c]
                    peripheral += gut[c] * adv_c2[c]
                    gut[c] *= adv_eka[c]
        cur_base, cur_off = next_base, next_off
        if t_change < t_arrival:
            seg += 1
            kk = k10[i] * k_mult[rk, seg]
            alpha, beta, p, r = disposition(kk, q1, q2)
        else:
            started = True
            amount = amounts[ra, j] * fi * dose_f[rf, j]
            c = klass[rc, j]
            if c == 0:
                gut0 += amount
            else:
                gut[c] += amount
            pos += 1
    if by_arrival:
        _reset_order(order)


@nb.njit(parallel=True, cache=True)
def simulate(k10, k12, k21, v1, tlag, f, ka, class_lag, times, amounts, klass, dose_f, samples,
             change_times, k_mult, out):
    """Concentrations (ng/mL) for every subject, written into ``out`` (n, s).

    k10, k12, k21: (n,) micro-constants CL/V1, Q/V1, Q/V2 (1/h; k10 > 0, k12, k21 >= 0);
    v1, tlag, f: (n,) central volume (L), lag (h), bioavailability. Everything else as in
    ``kernels.simulate``: ka (n, K) 1/h and class_lag (K,) h; dose rows (n|1, m) sorted by
    dose time (NaN = no dose), absorbed in arrival order; samples (n|1, s) ascending;
    change_times (c,) ascending and k_mult (n|1, c + 1), the multiplier on k10 per segment.
    """
    n = k10.shape[0]
    n_tasks = (n + SUBJECTS_PER_TASK - 1) // SUBJECTS_PER_TASK
    lags_differ = _lags_differ(class_lag)
    for task in nb.prange(n_tasks):
        simulate_rows(task * SUBJECTS_PER_TASK, min(n, (task + 1) * SUBJECTS_PER_TASK), k10,
                      k12, k21, v1, tlag, f, ka, class_lag, times, amounts, klass, dose_f,
                      samples, change_times, k_mult, out, lags_differ)


@nb.njit(cache=True, nogil=True, inline="always")
def simulate_rows(first, stop, k10, k12, k21, v1, tlag, f, ka, class_lag, times, amounts, klass,
                  dose_f, samples, change_times, k_mult, out, lags_differ):
    """:func:`simulate` for the subjects ``first`` to ``stop - 1`` on one thread, with their own
    scratch arrays; ``lags_differ``: whether the class lags differ (``kernels._lags_differ``)."""
    n_classes = ka.shape[1]
    gut = np.empty(n_classes)
    adv_eka = np.empty(n_classes)
    adv_c1 = np.empty(n_classes)
    adv_c2 = np.empty(n_classes)
    smp_eka = np.empty(n_classes)
    smp_c1 = np.empty(n_classes)
    smp_c2 = np.empty(n_classes)
    arrival = np.empty(times.shape[1])
    order = np.arange(times.shape[1])
    for i in range(first, stop):
        _simulate_subject(i, k10, k12, k21, v1, tlag, f, ka, class_lag, times, amounts, klass,
                          dose_f, samples, change_times, k_mult, out, gut, adv_eka, adv_c1,
                          adv_c2, smp_eka, smp_c1, smp_c2, lags_differ, arrival, order)
# fmt: on


@nb.njit(parallel=True, cache=True)
def steady_state_trough(k10, k12, k21, v1, ka, tlag, f, dose, tau, out):
    """Analytic steady-state concentration (ng/mL) just before a dose, regular regimen.

    All inputs (n,): micro-constants k10, k12, k21 (1/h), v1 (L), ka (1/h), tlag (h), f,
    dose (mg), tau (h). Just after an arrival at steady state the gut holds
    G = f·D / (1 - exp(-ka·tau)) and A = (A1, A2) solves A = E·A + G·c, E = exp(M·tau) and c
    the gut's input over tau: A = G·adj(I - E)·c / det(I - E) (the sum of the matrix geometric
    series). Written with the beta form of Sylvester's formula,
    I - E = (1 - exp(-beta·tau))·I + [[p, -k21], [-k12, r]]·T(alpha, beta, tau), the diagonal
    adds non-negative terms and det(I - E) = (1 - exp(-alpha·tau))(1 - exp(-beta·tau)), both by
    expm1. With beta = 0 (Q = 0) the peripheral compartment is cut off and A1 = G·c1 /
    (1 - exp(-alpha·tau)). The trough is that state propagated to the next dose time,
    (tau - tlag) mod tau later (tau when tlag is a multiple of tau: a sample at a dose time is
    pre-dose).
    """
    for i in nb.prange(k10.shape[0]):
        q1, q2, kai, taui = k12[i], k21[i], ka[i], tau[i]
        alpha, beta, p, r = disposition(k10[i], q1, q2)
        ea = math.exp(-alpha * taui)
        eb = math.exp(-beta * taui)
        tab = transfer(alpha, beta, taui, eb, ea)
        _, c1, c2 = _input(kai, alpha, r, q1, beta, taui, ea, eb)
        gut = f[i] * dose[i] / -math.expm1(-kai * taui)
        one_minus_ea = -math.expm1(-alpha * taui)
        if beta == 0.0:
            central = gut * c1 / one_minus_ea
            peripheral = 0.0
        else:
            one_minus_eb = -math.expm1(-beta * taui)
            det = one_minus_ea * one_minus_eb
            i11 = one_minus_eb + p * tab  # 1 - e11
            i22 = one_minus_eb + r * tab  # 1 - e22
            central = gut * (i22 * c1 + q2 * tab * c2) / det
            peripheral = gut * (q1 * tab * c1 + i11 * c2) / det
        dt = taui - tlag[i] % taui
        ea = math.exp(-alpha * dt)
        eb = math.exp(-beta * dt)
        tab = transfer(alpha, beta, dt, eb, ea)
        _, to_central, _ = _input(kai, alpha, r, q1, beta, dt, ea, eb)
        trough = central * (ea + r * tab) + peripheral * q2 * tab + gut * to_central
        out[i] = trough / v1[i] * MG_PER_L_TO_NG_PER_ML
