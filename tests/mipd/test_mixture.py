"""The CYP3A5 mixture prior against a brute-force reference: a fine grid over the one eta
under each genotype, the marginal likelihood integrated numerically with the public model
API and NONMEM's objective written out independently (tests/mipd/reference.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pksim.mipd.history import PatientHistory
from pksim.mipd.mixture import fit_mixture, genotype_prior, needs_genotype
from pksim.mipd.mixture_forecast import mixture_dose_options, mixture_forecast
from pksim.model import concentrations_general
from tests.mipd.reference import posthoc_objective
from tests.mipd.sets import cited, toy_set

FACTORS = {"*3/*3": 1.0, "*1/*3": 1.6, "*1/*1": 2.0}
OMEGA2 = 0.12
PROP = 0.2
TYPICAL_CL = 14.0


def _set():
    effect = {
        "parameter": "cl",
        "covariate": "cyp3a5",
        "form": "categorical",
        "description": "CYP3A5 genotype on CL/F (test input)",
        "factors": {g: cited(f, "1") for g, f in FACTORS.items()},
    }
    return toy_set(iiv={"cl": OMEGA2}, proportional=PROP * 100, cl=TYPICAL_CL, effects=[effect])


def _patient(troughs=(6.0, 5.2), days=(3, 5)):
    times = np.arange(0, 24 * 6, 12.0)
    samples = 24.0 * np.asarray(days, float)
    return PatientHistory(
        id="U",
        dose_times=times,
        dose_amounts=np.full(times.size, 2.0),
        dose_ss=np.zeros(times.size, bool),
        dose_ii=np.full(times.size, 12.0),
        dose_occasion=np.zeros(times.size, int),
        reset_times=[],
        obs_times=samples,
        obs_values=np.asarray(troughs, float),
        obs_blq=np.zeros(samples.size, bool),
        obs_lloq=np.full(samples.size, np.nan),
        obs_occasion=np.zeros(samples.size, int),
        obs_rows=np.arange(1, samples.size + 1),
        record_times=[0.0],
    )


def _grid_reference(h, prior):
    """Posterior genotype probabilities and posterior mean CL/F by quadrature."""
    eta = np.linspace(-8, 8, 8001) * math.sqrt(OMEGA2)
    omega = np.array([[OMEGA2]])
    marginals, means = {}, {}
    for g, factor in FACTORS.items():
        cl = TYPICAL_CL * factor * np.exp(eta)
        n = eta.size
        f = concentrations_general(
            cl,
            np.full(n, 700.0),
            np.full(n, 4.5),
            np.full(n, 0.4),
            np.ones(n),
            h.dose_times[None],
            h.dose_amounts[None],
            h.obs_times,
        )
        log_joint = np.array(
            [
                -0.5
                * posthoc_objective(
                    f[i], h.obs_values, h.obs_blq, h.obs_lloq, PROP, 0.0, eta[i : i + 1], omega
                )
                for i in range(n)
            ]
        )
        density = np.exp(log_joint)
        marginals[g] = np.trapezoid(density, eta)
        means[g] = np.trapezoid(density * cl, eta) / marginals[g]
    weights = {g: prior[g] * marginals[g] for g in FACTORS}
    total = sum(weights.values())
    posterior = {g: w / total for g, w in weights.items()}
    return posterior, sum(posterior[g] * means[g] for g in FACTORS)


@pytest.mark.parametrize("troughs", [(6.0, 5.2), (3.0, 2.6), (9.0, 10.0)])
def test_genotype_posterior_matches_the_grid(troughs):
    h = _patient(troughs)
    pset = _set()
    assert needs_genotype(h, pset)
    prior = genotype_prior("chinese-adult-ln")
    mix = fit_mixture(h, pset, prior)
    reference, mean_cl = _grid_reference(h, prior)
    got = mix.probabilities()
    print(got, reference, mix.posterior_mean(), mean_cl)
    for g in FACTORS:
        assert abs(got[g] - reference[g]) < 0.01
    # Laplace: each genotype's posterior of eta is skewed (concentration ~ 1/CL with a
    # proportional error), so its log-normal mean is off by a few %; SIR follows the skew.
    assert mix.posterior_mean("cl") == pytest.approx(mean_cl, rel=0.06)
    assert mix.posterior_mean("cl", method="sir") == pytest.approx(mean_cl, rel=0.015)
