"""Independent references for the MAP tests: NONMEM's POSTHOC objective written out from its
documented conventions, evaluated with the public model API and scipy (no pksim.mipd code).

NONMEM (FOCE with INTERACTION, MAXEVAL=0 POSTHOC) minimises for each individual

    OBJ_i(eta) = sum_j [ ln(2 pi V_ij) + (y_ij - f_ij)^2 / V_ij ]  + ln det(2 pi Omega)
                 + eta' Omega^-1 eta

(NONMEM Users Guide VII / Beal & Sheiner: -2 log of the joint density of data and eta), with
V_ij = f_ij^2 sigma_prop^2 + sigma_add^2 evaluated at the individual prediction f_ij (the
interaction). A below-LLOQ observation contributes -2 ln P(y < LLOQ) = -2 ln Phi((LLOQ - f)/sqrt V)
(Beal 2001, method M3). Constants do not move the minimum but are kept here on purpose.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from pksim.model import concentrations_general


def one_compartment(cl, v, ka, tlag, f, dose_times, dose_amounts, sample_times, **events):
    """Public-API concentrations (ng/mL) of one subject."""
    return concentrations_general(
        [cl],
        [v],
        [ka],
        [tlag],
        [f],
        np.atleast_2d(dose_times),
        np.atleast_2d(dose_amounts),
        np.asarray(sample_times, dtype=float),
        **events,
    )[0]


def posthoc_objective(f, y, blq, lloq, prop, add, eta, omega):
    """-2 log p(y, eta) with all constants (see the module docstring)."""
    var = (prop * f) ** 2 + add**2
    q = ~blq
    data = np.sum(np.log(2 * np.pi * var[q]) + (y[q] - f[q]) ** 2 / var[q])
    data -= 2 * np.sum(stats.norm.logcdf((lloq[blq] - f[blq]) / np.sqrt(var[blq])))
    _, logdet = np.linalg.slogdet(2 * np.pi * omega)
    return data + logdet + eta @ np.linalg.solve(omega, eta)


def scipy_map(predict, y, blq, lloq, prop, add, omega, start=None):
    """MAP etas by scipy: Nelder-Mead to a tight tolerance, then BFGS polish (numerical
    gradients), through ``predict(eta) -> f``."""

    def obj(eta):
        return posthoc_objective(predict(eta), y, blq, lloq, prop, add, eta, omega)

    x0 = np.zeros(omega.shape[0]) if start is None else start
    nm = optimize.minimize(
        obj,
        x0,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000},
    )
    polished = optimize.minimize(obj, nm.x, method="BFGS", options={"gtol": 1e-9})
    best = polished if polished.fun < nm.fun else nm
    return best.x, best.fun
