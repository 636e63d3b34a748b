"""The CYP3A5 mixture prior against a brute-force reference: a fine grid over the one eta
under each genotype, the marginal likelihood integrated numerically with the public model
API and NONMEM's objective written out independently (tests/mipd/reference.py)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from pksim.cli import main
from pksim.library.parameters import load_parameter_set
from pksim.mipd.forecast import FutureRegimen, forecast
from pksim.mipd.history import PatientHistory
from pksim.mipd.individualize import individualize
from pksim.mipd.mixture import (
    fit_mixture,
    fit_with_genotype_mixture,
    genotype_prior,
    needs_genotype,
    with_genotype,
)
from pksim.mipd.mixture_forecast import mixture_dose_options, mixture_forecast
from pksim.mipd.recommend import dose_options
from pksim.mipd.simulate import simulate_tdm
from pksim.mipd.writing import write_nonmem
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
    for g in FACTORS:
        assert abs(got[g] - reference[g]) < 0.01
    # Laplace: each genotype's posterior of eta is skewed (concentration ~ 1/CL with a
    # proportional error), so its log-normal mean is off by a few %; SIR follows the skew.
    assert mix.posterior_mean("cl") == pytest.approx(mean_cl, rel=0.06)
    assert mix.posterior_mean("cl", method="sir") == pytest.approx(mean_cl, rel=0.015)


def test_genotype_prior_from_a_population_or_given():
    prior = genotype_prior("chinese-adult-ln")
    assert sum(prior.values()) == pytest.approx(1.0)
    q = math.sqrt(prior["*3/*3"])  # Hardy-Weinberg: *3/*3 = q^2, *1/*3 = 2pq
    assert prior["*1/*3"] == pytest.approx(2 * q * (1 - q))
    assert genotype_prior("*3/*3=0.5,*1/*3=0.5") == {"*3/*3": 0.5, "*1/*3": 0.5, "*1/*1": 0.0}
    for bad in ("*3/*3=0.5", "*2/*2=1", "martian", "*3/*3=x"):
        with pytest.raises(ValueError, match="genotype prior"):
            genotype_prior(bad)


def test_a_certain_prior_is_the_known_genotype():
    """With all prior mass on one genotype the mixture is that genotype's fit: the same MAP,
    and forecasts and dose options agree with the single-fit functions (to the Monte Carlo
    error of different draws)."""
    h, pset = _patient(), _set()
    mix = fit_mixture(h, pset, {"*1/*3": 1.0})
    assert mix.genotypes == ("*1/*3",) and mix.posterior[0] == 1.0
    single = fit_with_genotype_mixture([with_genotype(h, "*1/*3")], pset)["U"]
    np.testing.assert_allclose(mix.mode.eta, single.eta, atol=1e-9)
    ours = mixture_forecast(mix, days=5, samples=2000)
    theirs = forecast(single, days=5, samples=2000)
    np.testing.assert_allclose(ours["trough_map"], theirs["trough_map"], rtol=1e-12)
    np.testing.assert_allclose(ours["trough_percentile"], theirs["trough_percentile"], rtol=0.05)
    a = mixture_dose_options(mix, "induction", samples=2000)
    b = dose_options(single, "induction", samples=2000)
    assert [o.regimen for o in a][:3] == [o.regimen for o in b][:3]
    for x, y in zip(a, b, strict=True):
        assert x.trough_map == pytest.approx(y.trough_map, rel=1e-12)
        assert x.p_in_range == pytest.approx(y.p_in_range, abs=0.05)


def test_mixture_draws_in_proportion_and_widen_the_forecast():
    h, pset = _patient(), _set()
    mix = fit_mixture(h, pset, genotype_prior())
    counts = mix.draws_per_genotype(500)
    assert counts.sum() == 500
    np.testing.assert_allclose(counts / 500, mix.posterior, atol=1 / 500)
    wide = mixture_forecast(mix, FutureRegimen((3.0, 3.0)), days=5)
    narrow = forecast(mix.mode, FutureRegimen((3.0, 3.0)), days=5)
    spread = wide["trough_percentile"].sel(percentile=95.0) - wide["trough_percentile"].sel(
        percentile=5.0
    )
    single = narrow["trough_percentile"].sel(percentile=95.0) - narrow["trough_percentile"].sel(
        percentile=5.0
    )
    assert np.all(spread.values > single.values)
    assert wide.attrs["map_genotype"] == mix.mode_genotype


def _unknown_genotype_patients(n=3):
    pset = load_parameter_set("default")
    covariates = {"weight_kg": 60.0, "cyp3a5": "*1/*3", "hematocrit_pct": 35.0, "age_y": 33.0}
    histories, _ = simulate_tdm(
        pset,
        n,
        regimen=FutureRegimen((2.0, 1.5)),
        days=6,
        sample_days=[3, 5],
        covariates=covariates,
        seed=4,
    )
    keep = {"weight_kg", "hematocrit_pct", "age_y"}
    return [
        dataclasses.replace(h, covariates={k: v for k, v in h.covariates.items() if k in keep})
        for h in histories
    ]


def test_individualize_reports_the_genotype_posterior():
    unknown = _unknown_genotype_patients(2)
    known = with_genotype(unknown[0], "*1/*1")
    known = dataclasses.replace(known, id="K")
    ds = individualize([*unknown, known], "default")
    posterior = ds["genotype_posterior"]
    assert posterior.dims == ("patient", "genotype")
    np.testing.assert_allclose(posterior.sum("genotype"), 1.0)
    assert posterior.sel(patient="K", genotype="*1/*1") == 1.0
    assert str(ds["genotype_of_fit"].sel(patient="K").values) == "*1/*1"
    mix = fit_mixture(unknown[0], load_parameter_set("default"))
    np.testing.assert_allclose(posterior.sel(patient=unknown[0].id), mix.posterior)
    assert ds["eta"].sel(patient=unknown[0].id).values[0] == pytest.approx(mix.mode.eta[0])


def test_pksim_dose_doses_a_patient_without_genotype(tmp_path, capsys):
    path = tmp_path / "unknown.csv"
    write_nonmem(path, _unknown_genotype_patients(1))
    assert main(["dose", str(path), "--no-plot"]) == 0
    printed = capsys.readouterr().out
    assert "CYP3A5 unknown; posterior genotype:" in printed and "dose options" in printed
    assert main(["dose", str(path), "--no-plot", "--genotype-prior", "*1/*1=1"]) == 0
    assert "*1/*1 100.0%" in capsys.readouterr().out
