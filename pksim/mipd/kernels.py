"""The exact one-compartment kernel, called serially for the small batches of the optimiser.

The MAP optimiser sends a few dozen parameter rows per call; the parallel kernel of
:mod:`pksim.model.kernels` would start its thread pool for each call, which costs more than
the work and, on a busy machine, far more. This loop walks the same per-subject code
(:func:`pksim.model.kernels._simulate_subject`, the exact closed-form walk) without ``prange``
and releases the GIL, so patients can be fitted on several threads at once.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from pksim.model.kernels import _lags_differ, _simulate_subject

__all__ = ["simulate_serial"]


# fmt: off
@nb.njit(cache=True, nogil=True)
def simulate_serial(k, v, tlag, f, ka, class_lag, times, amounts, klass, dose_f, samples,
                    change_times, k_mult, out):
    """As :func:`pksim.model.kernels.simulate` (same arguments, same results), one thread."""
    n_classes = ka.shape[1]
    lags_differ = _lags_differ(class_lag)
    gut = np.empty(n_classes)
    adv_eka = np.empty(n_classes)
    adv_coef = np.empty(n_classes)
    smp_eka = np.empty(n_classes)
    smp_coef = np.empty(n_classes)
    arrival = np.empty(times.shape[1])
    order = np.arange(times.shape[1])
    for i in range(k.shape[0]):
        _simulate_subject(i, k, v, tlag, f, ka, class_lag, times, amounts, klass, dose_f,
                          samples, change_times, k_mult, out, gut, adv_eka, adv_coef,
                          smp_eka, smp_coef, lags_differ, arrival, order)
# fmt: on
