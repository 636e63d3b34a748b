"""The one-patient page's Bayesian individualisation: pksim.individualize and dose_options of
the history, the history written from the form, and messages that name the fault."""

from __future__ import annotations

import numpy as np
import pytest

import pksim
from pksim.app import mipd_session
from pksim.library.cited import data_folder
from pksim.library.parameters import load_parameter_set
from pksim.mipd import dose_options, fit_patients, read_nonmem_text
from pksim.mipd.mixture import MixtureFit, fit_with_genotype_mixture
from pksim.mipd.mixture_forecast import mixture_dose_options

EXAMPLE = data_folder("patients", "example_mipd.csv")
COVARIATES = {
    "sex": "female",
    "age_y": 35.0,
    "weight_kg": 52.0,
    "hematocrit_pct": 35.0,
    "cyp3a5": "*1/*3",
    "egfr": 90.0,
    "prednisone_mg_per_day": 0.0,
}


@pytest.fixture(scope="module")
def result():
    return mipd_session.individualise(mipd_session.example_text(), target="induction")


def test_the_fit_is_pksim_individualize(result):
    ds = pksim.individualize(str(EXAMPLE)).sel(patient="P1")
    shown = result.parameters.set_index("parameter")["individual (MAP)"]
    for p in ds["parameter"].values:
        assert shown[p] == f"{float(ds['individual'].sel(parameter=p)):.4g}"
    observed = result.observations["IPRED (ng/mL)"].tolist()
    assert observed == [f"{v:.3g}" for v in ds["ipred"].values]
    assert result.observations["observed (ng/mL)"].tolist() == ["4.1", "4.6"]


def test_dose_options_are_pksims(result):
    assert result.mixture is None and result.genotypes is None  # the genotype is given
    fit = fit_patients(str(EXAMPLE))["P1"]
    options = dose_options(fit, "induction", days=7)
    assert result.options["regimen"].tolist() == [o.regimen.label for o in options]
    assert result.options["P(in range)"].tolist() == [
        f"{100 * o.p_in_range:.0f} %" for o in options
    ]
    assert (result.target.lower, result.target.upper) == (6.0, 10.0)
    figure = mipd_session.individualisation_figure(result)
    assert "MAP fit and forecast" in figure.axes[0].get_title()


def test_history_from_the_form_is_the_example_patient():
    text = mipd_session.history_csv(
        COVARIATES, 3.0, 2, mipd_session.parse_troughs("4: 4.1; 7: 4.6")
    )
    (written,) = read_nonmem_text(text)
    (example,) = read_nonmem_text(mipd_session.example_text())
    assert np.array_equal(written.obs_times, example.obs_times)
    assert np.array_equal(written.obs_values, example.obs_values)
    before = written.dose_times < written.obs_times[-1]
    assert np.array_equal(written.dose_times[before], np.arange(0, 168, 12.0))
    assert np.allclose(written.dose_amounts, 1.5)
    ours = fit_patients([written])["patient"]
    theirs = fit_patients([example])["P1"]
    assert np.allclose(ours.eta, theirs.eta, atol=1e-8)  # same data, same MAP


def test_messages():
    with pytest.raises(ValueError, match=r"'four: 4\.1' cannot be read"):
        mipd_session.parse_troughs("four: 4.1")
    with pytest.raises(ValueError, match="none given"):
        mipd_session.parse_troughs(" ; ")
    two = mipd_session.example_text() + "P2,0,1,1,1,12,3,0,.,1,60,*3/*3,40\n"
    with pytest.raises(ValueError, match="holds 2 patients"):
        mipd_session.individualise(two)
    with pytest.raises(ValueError, match=r"row 1.*AMT"):
        mipd_session.individualise("ID,TIME,AMT,EVID,DV\nP,0,-1,1,.\nP,12,0,0,5\n")


def test_a_patient_without_genotype_is_fitted_over_the_genotype_mixture():
    """No CYP3A5 under a set with a CYP3A5 effect: as ``pksim dose`` and pksim.individualize,
    the page fits each genotype and shows its posterior; the tables are the most probable
    genotype's fit, the options those of the mixture."""
    unknown = {k: v for k, v in COVARIATES.items() if k != "cyp3a5"}
    text = mipd_session.history_csv(unknown, 3.0, 2, mipd_session.parse_troughs("4: 9.5; 7: 11"))
    result = mipd_session.individualise(text, target="induction")
    assert result.mixture is not None and result.genotypes is not None
    ds = pksim.individualize(read_nonmem_text(text)).sel(patient="patient")
    posterior = ds["genotype_posterior"].sel(genotype=list(result.mixture.genotypes)).values
    np.testing.assert_allclose(result.mixture.posterior, posterior, rtol=1e-12)
    assert result.genotypes["posterior"].tolist() == [f"{100 * p:.1f} %" for p in posterior]
    assert str(ds["genotype_of_fit"].values) == result.mixture.mode_genotype
    shown = result.parameters.set_index("parameter")["individual (MAP)"]
    for p in ds["parameter"].values:
        assert shown[p] == f"{float(ds['individual'].sel(parameter=p)):.4g}"
    pset = load_parameter_set("default")
    mixture = fit_with_genotype_mixture(read_nonmem_text(text), pset)["patient"]
    assert isinstance(mixture, MixtureFit)
    options = mixture_dose_options(mixture, "induction", days=7)
    assert result.options["regimen"].tolist() == [o.regimen.label for o in options]
    assert result.options["P(in range)"].tolist() == [
        f"{100 * o.p_in_range:.0f} %" for o in options
    ]
    assert "posterior genotype" in result.mixture.describe()
    figure = mipd_session.individualisation_figure(result)
    assert "MAP fit and forecast" in figure.axes[0].get_title()
