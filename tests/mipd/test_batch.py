"""Fitting many patients at once gives the single fits, and batched predictions are the
single predictions bit for bit, under a one- and a two-compartment set."""

from __future__ import annotations

import numpy as np
import pytest

from pksim.library.parameters import load_parameter_set
from pksim.mipd import read_nonmem_text
from pksim.mipd.batch_fit import fit_many
from pksim.mipd.batch_predict import BatchPredictor
from pksim.mipd.design import design
from pksim.mipd.fit import fit_patient
from pksim.mipd.forecast import FutureRegimen
from pksim.mipd.predict import Predictor
from pksim.mipd.simulate import simulate_tdm
from tests.mipd.two_compartment_reference import ANDREWS_COVARIATES

MIXED_ONE_COMPARTMENT = (
    "ID,TIME,AMT,EVID,II,ADDL,SS,DV,BLQ,LLOQ,OCC,WT,CYP3A5,HCT,PRED,AGE\n"
    "A,0,2,1,12,3,1,.,0,,1,60,*3/*3,30,20,33\n"
    "A,30,0,2,0,0,0,.,0,,1,61,*3/*3,33,10,33\n"
    "A,48,0,0,0,0,0,5.2,0,,1,61,*3/*3,33,10,33\n"
    "A,60,0,3,0,0,0,.,0,,1,61,*3/*3,33,10,33\n"
    "A,61,1.5,1,12,4,0,.,0,,1,62,*3/*3,36,5,33\n"
    "A,100,0,0,0,0,0,.,1,1.0,1,62,*3/*3,36,5,33\n"
    "A,109,0,0,0,0,0,3.3,0,,1,62,*3/*3,36,5,33\n"
    "B,0,3,1,24,5,0,.,0,,1,80,*1/*1,40,0,33\n"
    "B,96,0,0,0,0,0,2.5,0,,1,80,*1/*1,40,0,33\n"
    "C,0,3,1,12,5,0,.,0,,1,50,*1/*3,25,0,33\n"
    "C,20,0,2,0,0,0,.,0,,1,50,*1/*3,35,0,33\n"
    "C,50,0,0,0,0,0,2.5,0,,1,50,*1/*3,35,0,33\n"
    "C,51,0,0,0,0,0,2.7,0,,1,50,*1/*3,35,0,33\n"
)


MIXED_TWO_COMPARTMENT = (
    "ID,TIME,AMT,EVID,II,ADDL,SS,DV,BLQ,LLOQ,OCC,CYP3A5,AGE,SCR,HCT\n"
    f"A,0,2,1,12,3,1,.,0,,1,{ANDREWS_COVARIATES},30\n"
    f"A,30,0,2,0,0,0,.,0,,1,{ANDREWS_COVARIATES},33\n"
    f"A,48,0,0,0,0,0,5.2,0,,1,{ANDREWS_COVARIATES},33\n"
    f"A,60,0,3,0,0,0,.,0,,1,{ANDREWS_COVARIATES},33\n"
    f"A,61,1.5,1,12,4,0,.,0,,2,{ANDREWS_COVARIATES},36\n"
    f"A,100,0,0,0,0,0,.,1,1.0,2,{ANDREWS_COVARIATES},36\n"
    f"A,109,0,0,0,0,0,3.3,0,,2,{ANDREWS_COVARIATES},36\n"
    "B,0,3,1,24,2,0,.,0,,1,*1/*1,60,0.9,40\n"
    "B,72,3,1,24,2,0,.,0,,2,*1/*1,60,0.9,40\n"
    "B,96,0,0,0,0,0,2.5,0,,2,*1/*1,60,0.9,40\n"
    "C,0,3,1,12,2,0,.,0,,1,*3/*3,35,2.0,25\n"
    "C,20,0,2,0,0,0,.,0,,1,*3/*3,35,2.0,35\n"
    "C,36,3,1,12,2,0,.,0,,2,*3/*3,35,2.0,35\n"
    "C,50,0,0,0,0,0,2.5,0,,2,*3/*3,35,2.0,35\n"
    "C,51,0,0,0,0,0,2.7,0,,2,*3/*3,35,2.0,35\n"
)
MIXED = {"default": MIXED_ONE_COMPARTMENT, "andrews2019": MIXED_TWO_COMPARTMENT}
"""Patients of each test set: steady state, a reset, BLQ, IOV and covariate changes."""

PATIENT_COVARIATES = {
    "default": {"weight_kg": 60.0, "cyp3a5": "*1/*3", "hematocrit_pct": 35.0, "age_y": 33.0},
    "andrews2019": {
        "cyp3a5": "*1/*3",
        "age_y": 50.0,
        "serum_creatinine_mg_dl": 1.2,
        "hematocrit_pct": 35.0,
    },
}
"""Covariates of the simulated TDM patients of each test set."""


@pytest.mark.parametrize("name", MIXED)
def test_batched_predictions_equal_single_ones(name):
    """Steady state, a reset, BLQ, IOV and covariate changes at different times."""
    pset = load_parameter_set(name)
    designs = [design(h, pset) for h in read_nonmem_text(MIXED[name])]
    batch = BatchPredictor(designs)
    eta = np.random.default_rng(0).normal(0, 0.3, size=(3, 4, designs[0].n_eta))
    out = batch(eta)
    for b, d in enumerate(designs):
        single = Predictor(d, d.history.obs_times)(eta[b])
        np.testing.assert_array_equal(out[b, :, : single.shape[1]], single)
        assert np.isnan(out[b, :, single.shape[1] :]).all()
    np.testing.assert_array_equal(batch(eta[[2, 0]], np.array([2, 0])), out[[2, 0]])


@pytest.mark.parametrize(
    ("name", "n", "objective_tol"), [("default", 40, 1e-9), ("andrews2019", 15, 1e-8)]
)
def test_fit_many_agrees_with_single_fits(name, n, objective_tol):
    pset = load_parameter_set(name)
    histories, _ = simulate_tdm(
        pset, n, regimen=FutureRegimen((2.0, 1.5)), days=10, sample_days=[3, 6, 9],
        covariates=PATIENT_COVARIATES[name], seed=4, lloq=2.0,
    )  # fmt: skip
    histories = (*histories, *read_nonmem_text(MIXED[name]))
    many = fit_many(histories, pset)
    for h, fit in zip(histories, many, strict=True):
        single = fit_patient(h, pset)
        assert fit.history is h
        np.testing.assert_allclose(fit.eta, single.eta, atol=1e-6)
        assert abs(fit.objective - single.objective) < objective_tol
        np.testing.assert_allclose(fit.covariance, single.covariance, rtol=1e-4, atol=1e-8)
