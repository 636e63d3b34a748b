"""Independent references for the cohort tests: analytic one-compartment troughs written out
here (never the code under test), and a cohort drawn with the default parameter set."""

from __future__ import annotations

import numpy as np

from pksim import cohort
from pksim.library.parameters import load_parameter_set

DEFAULT = load_parameter_set("default")
LN = "chinese-adult-ln"


def ss_trough(cl, v, ka, tlag, f, dose_mg, tau_h):
    """Analytic steady-state concentration (ng/mL) just before a dose, lag < tau."""
    k = cl / v
    dt = tau_h - tlag
    return (
        f
        * dose_mg
        * ka
        / (v * (ka - k))
        * (
            np.exp(-k * dt) / (1 - np.exp(-k * tau_h))
            - np.exp(-ka * dt) / (1 - np.exp(-ka * tau_h))
        )
        * 1000.0
    )


def superposed(cl, v, ka, tlag, dose_f, dose_mg, dose_times, t):
    """Per-dose contributions (n, m) at time t of single doses with F multipliers (ng/mL)."""
    k, ka, v, tlag = (np.asarray(a, dtype=float)[:, None] for a in (cl / v, ka, v, tlag))
    dt = np.clip(t - dose_times[None, :] - tlag, 0, None)
    return dose_f * dose_mg * ka / (v * (ka - k)) * (np.exp(-k * dt) - np.exp(-ka * dt)) * 1e3


def cohort_params(n, seed, overrides=None, pset=DEFAULT, **kw):
    pop = cohort.load_population(LN, overrides or {})
    cov = cohort.sample_covariates(pop, seed=seed, start=0, stop=n)
    return cov, cohort.individual_parameters(pset, cov, seed=seed, **kw)
