"""Numba kernels: plain float64 arrays in, arrays out. No validation, no objects, no RNG.

The model is one-compartment with first-order absorption and a lag time. The state of a
subject is the amount in the central compartment plus one gut amount per *absorption
class* (doses that share an absorption rate constant and lag share a gut compartment, which
keeps the propagation exact when food or formulation changes ka from dose to dose).
Between events every amount is propagated in closed form:

    gut(t + dt)     = gut(t) · exp(-ka·dt)
    central(t + dt) = central(t) · exp(-k·dt) + gut(t) · ka · T(ka, k, dt)
    T(ka, k, dt)    = (exp(-k·dt) - exp(-ka·dt)) / (ka - k)

with the ka → k limit of ``T`` taken smoothly (see :func:`transfer`). Events are dose
arrivals (dose time + tlag + class lag), clearance change points and samples, processed in
time order. Samples do not change the state; they are evaluated from the last state change.
Exponentials are cached and reused while consecutive intervals and rate constants repeat
(regular regimens), which is where most of the speed comes from.

Doses are absorbed in *arrival* order, which is not always dose order: a dose of a class
with a longer lag (a with-meal dose taken late) may arrive after a later dose. Rows come
sorted by dose time, which is the arrival order when all class lags are equal; otherwise
each subject's arrivals are checked in O(m) and only a subject whose arrivals do not ascend
is walked in arrival order (a stable sort of its columns).

Arrays whose first dimension is documented as ``n|1`` may have a single row shared by all
subjects.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from pksim.units import MG_PER_L_TO_NG_PER_ML

TRANSFER_SERIES_LIMIT = 1.0
"""Below this |(ka - k)·dt| the transfer term uses expm1 (no cancellation)."""

SUBJECTS_PER_TASK = 256
"""Subjects handled by one parallel task (scratch arrays are allocated per task)."""


@nb.njit(cache=True, inline="always")
def transfer(ka: float, k: float, dt: float, ek: float, eka: float) -> float:
    """(exp(-k·dt) - exp(-ka·dt)) / (ka - k), exact in the limit ka → k (equals dt·exp(-k·dt)).

    ``ek`` and ``eka`` are exp(-k·dt) and exp(-ka·dt), already computed by the caller.
    """
    d = ka - k
    x = d * dt
    if x == 0.0:
        return dt * ek
    if abs(x) <= TRANSFER_SERIES_LIMIT:
        # exp(-k dt) (1 - exp(-(ka-k) dt)) / (ka - k): expm1 keeps full precision.
        return -ek * math.expm1(-x) / d
    return (ek - eka) / d


@nb.njit(cache=True, inline="always")
def _row(a, i):
    """Row index i of an (n|1, ...) array: 0 when its single row is shared by all subjects."""
    return i if a.shape[0] > 1 else 0


@nb.njit(cache=True, inline="always")
def _propagate(k, dt, ka, i, n_classes, eka, coef):
    """Propagators over ``dt`` h: returns exp(-k·dt), and for class 0 exp(-ka·dt) and
    ka·T(ka, k, dt); classes 1..K-1 are written into ``eka`` and ``coef``."""
    ek = math.exp(-k * dt)
    ka0 = ka[i, 0]
    eka0 = math.exp(-ka0 * dt)
    coef0 = ka0 * transfer(ka0, k, dt, ek, eka0)
    for c in range(1, n_classes):
        kac = ka[i, c]
        eka[c] = math.exp(-kac * dt)
        coef[c] = kac * transfer(kac, k, dt, ek, eka[c])
    return ek, eka0, coef0


@nb.njit(cache=True, inline="always")
def _lags_differ(class_lag):
    """True when some absorption classes have different lags (h). If not, every dose of a
    subject is shifted by the same float lag, so doses in dose-time order arrive in order."""
    for c in range(1, class_lag.shape[0]):
        if class_lag[c] != class_lag[0]:
            return True
    return False


@nb.njit(cache=True, inline="always")
def _arrivals_ascending(lag0, class_lag, times, klass, rt, rc):
    """True when the arrivals (h) of dose row ``rt`` (classes from row ``rc``) never decrease
    from column to column, NaN dose times (no dose) ignored.

    An arrival is dose time + (tlag + class lag), added exactly as the walk adds them.
    """
    last = -np.inf
    for j in range(times.shape[1]):
        t = times[rt, j] + (lag0 + class_lag[klass[rc, j]])
        if t < last:
            return False
        if t == t:  # not NaN
            last = t
    return True


@nb.njit(cache=True, inline="always")
def _sort_by_arrival(lag0, class_lag, times, klass, rt, rc, arrival, order):
    """Columns of dose row ``rt`` (classes from row ``rc``) in arrival order into ``order``
    (m,), NaN dose times (no dose) last. ``arrival`` (m,) h is scratch."""
    for j in range(times.shape[1]):
        t = times[rt, j] + (lag0 + class_lag[klass[rc, j]])
        arrival[j] = t if t == t else np.inf
    _stable_argsort(arrival, order)


@nb.njit(cache=True)  # not inlined: keeps the rarely taken path out of the walk's code
def _stable_argsort(keys, order):
    """Indices that sort ``keys`` (m,) into ``order`` (m,), ties kept in index order.

    Insertion sort: compiles in a fraction of the time of numpy's mergesort in numba, and is
    quick on the keys it gets, arrivals of doses in dose-time order, where a dose moves back
    only past the doses given less than one class-lag difference before it.
    """
    for j in range(keys.shape[0]):
        p = j
        while p > 0 and keys[order[p - 1]] > keys[j]:
            order[p] = order[p - 1]
            p -= 1
        order[p] = j


@nb.njit(cache=True, inline="always")
def _reset_order(order):
    """Back to the column order: ``order[p] = p``."""
    for p in range(order.shape[0]):
        order[p] = p


# fmt: off
@nb.njit(cache=True, inline="always")
def _simulate_subject(i, k, v, tlag, f, ka, class_lag, times, amounts, klass, dose_f, samples,
                      change_times, k_mult, out, gut, adv_eka, adv_coef, smp_eka, smp_coef,
                      lags_differ, arrival, order):
    """Concentrations (ng/mL) of subject ``i`` at its sorted sample times, into ``out[i]``.

    Doses are absorbed in arrival order: the columns are walked in the order ``order`` (m,),
    which is the column order (0, 1, ..., m - 1) on entry and on exit. Unless ``lags_differ``
    that is the arrival order (dose times ascend); if they do, one O(m) pass checks the
    subject's arrivals and only a subject whose arrivals do not ascend has ``order`` sorted
    by arrival (:func:`_sort_by_arrival`; ``arrival`` (m,) is scratch).
    Rows are indexed in place (no per-subject array views: views of a shared row would
    contend on its reference count across threads). Class 0 of the gut lives in scalars (the
    common single-class case stays in registers); classes 1..K-1 in the scratch arrays.
    """
    n_classes = ka.shape[1]
    n_doses = times.shape[1]
    n_samples = samples.shape[1]
    n_changes = change_times.shape[0]
    rt, ra, rc, rf = _row(times, i), _row(amounts, i), _row(klass, i), _row(dose_f, i)
    rs, rk = _row(samples, i), _row(k_mult, i)
    k0, vi, lag0, fi = k[i], v[i], tlag[i], f[i]
    by_arrival = lags_differ and not _arrivals_ascending(lag0, class_lag, times, klass, rt, rc)
    if by_arrival:
        _sort_by_arrival(lag0, class_lag, times, klass, rt, rc, arrival, order)
    for c in range(n_classes):
        gut[c] = 0.0
    gut0 = 0.0
    central = 0.0
    started = False
    # Current time = cur_base + cur_off. Arrivals keep base = dose time and off = lag, so the
    # interval between two arrivals with the same lag is the difference of their dose times,
    # bit-for-bit equal from dose to dose in a regular regimen (cache hits).
    cur_base = 0.0
    cur_off = 0.0
    seg = 0
    kk = k0 * k_mult[rk, 0]
    # Cached propagators for state advances (adv_*) and for samples (smp_*).
    adv_dt = adv_k = smp_dt = smp_k = -1.0
    adv_ek = adv_eka0 = adv_coef0 = smp_ek = smp_coef0 = 0.0
    p = 0  # position in the walk over doses; j: its column
    j = 0
    s = 0
    off = 0.0
    inf = np.inf
    while s < n_samples:
        t_arrival = inf
        while p < n_doses:
            j = order[p]
            if not math.isnan(times[rt, j]):  # NaN = no dose (missed or padding)
                off = lag0 + class_lag[klass[rc, j]]
                t_arrival = times[rt, j] + off
                break
            p += 1
        t_change = change_times[seg] if seg < n_changes else inf
        t_sample = samples[rs, s]
        if t_sample <= t_arrival and t_sample <= t_change:
            if not started:
                out[i, s] = 0.0
            else:
                dt = (t_sample - cur_base) - cur_off
                if dt != smp_dt or kk != smp_k:
                    smp_dt, smp_k = dt, kk
                    smp_ek, _, smp_coef0 = _propagate(kk, dt, ka, i, n_classes,
                                                     smp_eka, smp_coef)
                value = central * smp_ek + gut0 * smp_coef0
                for c in range(1, n_classes):
                    value += gut[c] * smp_coef[c]
                out[i, s] = value / vi * MG_PER_L_TO_NG_PER_ML
            s += 1
            continue
        if t_change < t_arrival:
            next_base, next_off = t_change, 0.0
        else:
            next_base, next_off = times[rt, j], off
        if started:
            dt = (next_base - cur_base) + (next_off - cur_off)
            # Events come in time order, so dt >= 0 but for rounding: an arrival tied (to the
            # ulp) with the previous event through a different lag may give -ulp. Skip that.
            if dt > 0.0:
                if dt != adv_dt or kk != adv_k:
                    adv_dt, adv_k = dt, kk
                    adv_ek, adv_eka0, adv_coef0 = _propagate(kk, dt, ka, i, n_classes,
                                                             adv_eka, adv_coef)
                central = central * adv_ek + gut0 * adv_coef0
                gut0 *= adv_eka0
                for c in range(1, n_classes):
                    central += gut[c] * adv_coef[c]
                    gut[c] *= adv_eka[c]
        cur_base, cur_off = next_base, next_off
        if t_change < t_arrival:
            seg += 1
            kk = k0 * k_mult[rk, seg]
        else:
            started = True
            amount = amounts[ra, j] * fi * dose_f[rf, j]
            c = klass[rc, j]
            if c == 0:
                gut0 += amount
            else:
                gut[c] += amount
            p += 1
    if by_arrival:
        _reset_order(order)


@nb.njit(parallel=True, cache=True)
def simulate(k, v, tlag, f, ka, class_lag, times, amounts, klass, dose_f, samples,
             change_times, k_mult, out):
    """Concentrations (ng/mL) for every subject, written into ``out`` (n, s).

    k, v, tlag, f: (n,) elimination rate constant (1/h), volume (L), lag (h), bioavailability.
    ka: (n, K) absorption rate constant per absorption class (1/h); class_lag: (K,) h.
    times, amounts, klass, dose_f: (n|1, m) dose times (h, ascending apart from NaN = no dose),
    amounts (mg), class index, per-dose bioavailability multiplier. Doses are absorbed in
    arrival order (dose time + tlag + class_lag), which is not the column order when a dose of
    a class with a longer lag arrives after a later dose: such a subject is sorted by arrival
    (any column order then works; with equal class lags, dose times must ascend).
    samples: (n|1, s) ascending sample times (h).
    change_times: (c,) ascending; k_mult: (n|1, c + 1) multiplier on k per segment.
    """
    n = k.shape[0]
    n_tasks = (n + SUBJECTS_PER_TASK - 1) // SUBJECTS_PER_TASK
    lags_differ = _lags_differ(class_lag)
    for task in nb.prange(n_tasks):
        simulate_rows(task * SUBJECTS_PER_TASK, min(n, (task + 1) * SUBJECTS_PER_TASK), k, v,
                      tlag, f, ka, class_lag, times, amounts, klass, dose_f, samples,
                      change_times, k_mult, out, lags_differ)


@nb.njit(cache=True, nogil=True, inline="always")
def simulate_rows(first, stop, k, v, tlag, f, ka, class_lag, times, amounts, klass, dose_f,
                  samples, change_times, k_mult, out, lags_differ):
    """:func:`simulate` for the subjects ``first`` to ``stop - 1`` on one thread, with their own
    scratch arrays; ``lags_differ``: whether the class lags differ (``_lags_differ``)."""
    n_classes = ka.shape[1]
    gut = np.empty(n_classes)
    adv_eka = np.empty(n_classes)
    adv_coef = np.empty(n_classes)
    smp_eka = np.empty(n_classes)
    smp_coef = np.empty(n_classes)
    arrival = np.empty(times.shape[1])
    order = np.arange(times.shape[1])
    for i in range(first, stop):
        _simulate_subject(i, k, v, tlag, f, ka, class_lag, times, amounts, klass, dose_f,
                          samples, change_times, k_mult, out, gut, adv_eka, adv_coef,
                          smp_eka, smp_coef, lags_differ, arrival, order)
# fmt: on


@nb.njit(cache=True)
def rows_ascending(times):
    """True when every row's non-NaN entries are in ascending order (NaN entries ignored)."""
    for i in range(times.shape[0]):
        last = -np.inf
        for j in range(times.shape[1]):
            t = times[i, j]
            if t < last:
                return False
            if t == t:  # not NaN
                last = t
    return True


@nb.njit(parallel=True, cache=True)
def steady_state_trough(k, v, ka, tlag, f, dose, tau, out):
    """Analytic steady-state concentration (ng/mL) just before a dose, regular regimen.

    All inputs (n,): k (1/h), v (L), ka (1/h), tlag (h), f, dose (mg), tau (h).
    The fixed point of one dosing interval is solved in closed form: at a dose arrival the
    gut holds D/(1 - exp(-ka·tau)) and the central amount A solves A = A·exp(-k·tau) + G·ka·T(tau).
    The trough is that state propagated to the next dose time, (tau - tlag) mod tau later.
    """
    for i in nb.prange(k.shape[0]):
        ki, kai, taui = k[i], ka[i], tau[i]
        ek_tau = math.exp(-k[i] * taui)
        eka_tau = math.exp(-kai * taui)
        gut = f[i] * dose[i] / -math.expm1(-kai * taui)
        central = gut * kai * transfer(kai, ki, taui, ek_tau, eka_tau) / -math.expm1(-ki * taui)
        dt = taui - tlag[i] % taui
        ek = math.exp(-ki * dt)
        eka = math.exp(-kai * dt)
        trough = central * ek + gut * kai * transfer(kai, ki, dt, ek, eka)
        out[i] = trough / v[i] * MG_PER_L_TO_NG_PER_ML
