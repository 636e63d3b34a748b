"""The exact kernels, called serially for the small batches of the optimiser and forecasts.

The MAP optimiser sends a few dozen parameter rows per call; the parallel kernels of
:mod:`pksim.model.kernels` and :mod:`pksim.model.kernels_two_compartment` would start their
thread pool for each call, which costs more than the work and, on a busy machine, far more.
These loops walk the same per-subject code (the exact closed-form walks) without ``prange``
and release the GIL, so patients can be fitted on several threads at once.

:func:`exposure_state` walks the two-compartment state itself (one compartment: Q = 0) and
returns the gut, central and peripheral amounts and the central amount's derivative at each
sample: what the exact daily AUC (mass balance) and Cmax (a root of the derivative) need.
:func:`steady_state_virtual_doses` places the exact two-compartment steady state as three
virtual doses (see :mod:`pksim.mipd.predict`).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from pksim.model import kernels_two_compartment as two
from pksim.model.kernels import _lags_differ, _row, simulate_rows, transfer

__all__ = [
    "exposure_state",
    "simulate_serial",
    "simulate_serial_two_compartment",
    "steady_state_virtual_doses",
]

STATE_GUT, STATE_CENTRAL, STATE_PERIPHERAL, STATE_SLOPE, STATE_CURVATURE = 0, 1, 2, 3, 4
"""Columns of :func:`exposure_state`'s output: total gut amount, central amount, peripheral
amount (mg), d(central)/dt (mg/h) and d²(central)/dt² (mg/h²)."""
N_STATE = 5
"""Number of columns of :func:`exposure_state`'s output."""


# fmt: off
@nb.njit(cache=True, nogil=True)
def simulate_serial(k, v, tlag, f, ka, class_lag, times, amounts, klass, dose_f, samples,
                    change_times, k_mult, out):
    """As :func:`pksim.model.kernels.simulate` (same arguments, same results), one thread."""
    simulate_rows(0, k.shape[0], k, v, tlag, f, ka, class_lag, times, amounts, klass, dose_f,
                  samples, change_times, k_mult, out, _lags_differ(class_lag))


@nb.njit(cache=True, nogil=True)
def simulate_serial_two_compartment(k10, k12, k21, v1, tlag, f, ka, class_lag, times, amounts,
                                    klass, dose_f, samples, change_times, k_mult, out):
    """As :func:`pksim.model.kernels_two_compartment.simulate` (same arguments, same results),
    one thread."""
    two.simulate_rows(0, k10.shape[0], k10, k12, k21, v1, tlag, f, ka, class_lag, times,
                      amounts, klass, dose_f, samples, change_times, k_mult, out,
                      _lags_differ(class_lag))


@nb.njit(cache=True, nogil=True)
def steady_state_virtual_doses(k10, k12, k21, ka, bolus_ka, tau, dose, settle, out):
    """Three virtual doses (mg per unit F) that place the exact two-compartment steady state of
    ``dose`` mg every ``tau`` h before a steady-state dose; written into ``out`` (n, 3):

    0. a dose into a gut with ka = ``bolus_ka`` one interval before the last virtual arrival,
    1. the steady-state gut amount G = D / (1 - exp(-ka·tau)) into the real gut, and
    2. a dose into the ``bolus_ka`` gut, both at the last virtual arrival (one interval before
       the steady-state dose's arrival).

    The two bolus-gut amounts solve x2·b(settle) + x0·b(settle + tau) = E(settle)·A, with A the
    steady-state (central, peripheral) amounts just after an arrival (the fixed point
    A = E(tau)·A + G·c(tau), E the disposition propagator, c the gut's input), and b(t) the
    exact (central, peripheral) response to a unit dose in the ``bolus_ka`` gut after t h:
    ``settle`` h after the last virtual arrival, when exp(-bolus_ka·settle) has underflowed,
    the state equals the steady state exactly, and so at every later time (the same linear
    flow). All inputs (n,) but ``bolus_ka`` and ``settle``.
    """
    for i in range(k10.shape[0]):
        q1, q2, kai, taui = k12[i], k21[i], ka[i], tau[i]
        alpha, beta, p, r = two.disposition(k10[i], q1, q2)
        ea = math.exp(-alpha * taui)
        eb = math.exp(-beta * taui)
        tab = transfer(alpha, beta, taui, eb, ea)
        _, c1, c2 = two._input(kai, alpha, r, q1, beta, taui, ea, eb)
        gut = dose[i] / -math.expm1(-kai * taui)
        one_minus_ea = -math.expm1(-alpha * taui)
        one_minus_eb = -math.expm1(-beta * taui)
        det = one_minus_ea * one_minus_eb
        central = gut * ((one_minus_eb + r * tab) * c1 + q2 * tab * c2) / det
        peripheral = gut * (q1 * tab * c1 + (one_minus_eb + p * tab) * c2) / det
        # the steady state propagated by settle h (no input: the real gut's dose is placed)
        es_a = math.exp(-alpha * settle)
        es_b = math.exp(-beta * settle)
        ts = transfer(alpha, beta, settle, es_b, es_a)
        y1 = central * (es_a + r * ts) + peripheral * q2 * ts
        y2 = central * q1 * ts + peripheral * (es_a + p * ts)
        _, b1_near, b2_near = two._input(bolus_ka, alpha, r, q1, beta, settle, es_a, es_b)
        t_far = settle + taui
        _, b1_far, b2_far = two._input(bolus_ka, alpha, r, q1, beta, t_far,
                                       math.exp(-alpha * t_far), math.exp(-beta * t_far))
        d = b1_near * b2_far - b1_far * b2_near
        out[i, 0] = (b1_near * y2 - b2_near * y1) / d
        out[i, 1] = gut
        out[i, 2] = (y1 * b2_far - b1_far * y2) / d


@nb.njit(cache=True, nogil=True)
def exposure_state(k10, k12, k21, tlag, f, ka, times, amounts, klass, dose_f, samples,
                   change_times, k_mult, out):
    """Amounts at each sample of each row, written into ``out`` (n, s, 5) (columns
    :data:`STATE_GUT` ...): gut (all classes), central, peripheral (mg), d(central)/dt
    (mg/h) and d²(central)/dt² (mg/h²), exact (closed-form propagation between events;
    ``k12 = k21 = 0`` is the one-compartment model). A sample at an arrival time is taken
    before that dose.

    As :func:`simulate_serial_two_compartment` but every class shares the row's lag (no class
    lags: doses arrive in dose-time order) and ``samples`` (n|1, s) are ascending; dose rows
    (n|1, m) ascending with NaN = no dose; k_mult (n|1, c + 1) multiplies k10 per segment of
    ``change_times`` (c,).
    """
    n_classes = ka.shape[1]
    gut = np.empty(n_classes)
    eka = np.empty(n_classes)
    c1 = np.empty(n_classes)
    c2 = np.empty(n_classes)
    n_doses = times.shape[1]
    n_changes = change_times.shape[0]
    for i in range(k10.shape[0]):
        rt, ra, rc, rf = _row(times, i), _row(amounts, i), _row(klass, i), _row(dose_f, i)
        rs, rk = _row(samples, i), _row(k_mult, i)
        q1, q2, lag, fi = k12[i], k21[i], tlag[i], f[i]
        for c in range(n_classes):
            gut[c] = 0.0
        a1 = 0.0
        a2 = 0.0
        started = False
        now = 0.0
        seg = 0
        kk = k10[i] * k_mult[rk, 0]
        alpha, beta, p, r = two.disposition(kk, q1, q2)
        pos = 0
        for s in range(samples.shape[1]):
            t_sample = samples[rs, s]
            while True:
                while pos < n_doses and math.isnan(times[rt, pos]):
                    pos += 1
                t_arrival = times[rt, pos] + lag if pos < n_doses else np.inf
                t_change = change_times[seg] if seg < n_changes else np.inf
                t_next = min(t_arrival, t_change)
                if t_next >= t_sample:
                    break
                if started and t_next > now:
                    a1, a2 = _advance(alpha, beta, p, r, q1, q2, t_next - now, ka, i,
                                      n_classes, gut, eka, c1, c2, a1, a2)
                now = t_next
                if t_change <= t_arrival:
                    seg += 1
                    kk = k10[i] * k_mult[rk, seg]
                    alpha, beta, p, r = two.disposition(kk, q1, q2)
                else:
                    gut[klass[rc, pos]] += amounts[ra, pos] * fi * dose_f[rf, pos]
                    started = True
                    pos += 1
            if started and t_sample > now:
                a1, a2 = _advance(alpha, beta, p, r, q1, q2, t_sample - now, ka, i, n_classes,
                                  gut, eka, c1, c2, a1, a2)
                now = t_sample
            total = 0.0
            slope = -(kk + q1) * a1 + q2 * a2
            input_slope = 0.0  # d/dt of the absorption rate
            for c in range(n_classes):
                total += gut[c]
                slope += ka[i, c] * gut[c]
                input_slope -= ka[i, c] * ka[i, c] * gut[c]
            out[i, s, 0] = total
            out[i, s, 1] = a1
            out[i, s, 2] = a2
            out[i, s, 3] = slope
            out[i, s, 4] = input_slope - (kk + q1) * slope + q2 * (q1 * a1 - q2 * a2)


@nb.njit(cache=True, inline="always")
def _advance(alpha, beta, p, r, q1, q2, dt, ka, i, n_classes, gut, eka, c1, c2, a1, a2):
    """The central and peripheral amounts ``dt`` h later; the guts decay in place."""
    e11, e12, e21, e22, eka0, c1_0, c2_0 = two._propagate(
        alpha, beta, p, r, q1, q2, dt, ka, i, n_classes, eka, c1, c2)
    n1 = a1 * e11 + a2 * e12 + gut[0] * c1_0
    n2 = a1 * e21 + a2 * e22 + gut[0] * c2_0
    gut[0] *= eka0
    for c in range(1, n_classes):
        n1 += gut[c] * c1[c]
        n2 += gut[c] * c2[c]
        gut[c] *= eka[c]
    return n1, n2
# fmt: on
