"""Fitting many patients at once gives the single fits, and batched predictions are the
single predictions bit for bit."""

from __future__ import annotations

import numpy as np

from pksim.library.parameters import load_parameter_set
from pksim.mipd import read_nonmem_text
from pksim.mipd.batch_fit import fit_many
from pksim.mipd.batch_predict import BatchPredictor
from pksim.mipd.design import design
from pksim.mipd.fit import fit_patient
from pksim.mipd.forecast import FutureRegimen
from pksim.mipd.predict import Predictor
from pksim.mipd.simulate import simulate_tdm

MIXED = (
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


def test_batched_predictions_equal_single_ones():
    """Steady state, a reset, BLQ, IOV and covariate changes at different times."""
    pset = load_parameter_set("default")
    designs = [design(h, pset) for h in read_nonmem_text(MIXED)]
    batch = BatchPredictor(designs)
    eta = np.random.default_rng(0).normal(0, 0.3, size=(3, 4, designs[0].n_eta))
    out = batch(eta)
    for b, d in enumerate(designs):
        single = Predictor(d, d.history.obs_times)(eta[b])
        np.testing.assert_array_equal(out[b, :, : single.shape[1]], single)
        assert np.isnan(out[b, :, single.shape[1] :]).all()
    np.testing.assert_array_equal(batch(eta[[2, 0]], np.array([2, 0])), out[[2, 0]])


def test_fit_many_agrees_with_single_fits():
    pset = load_parameter_set("default")
    histories, _ = simulate_tdm(
        pset, 40, regimen=FutureRegimen((2.0, 1.5)), days=10, sample_days=[3, 6, 9],
        covariates={"weight_kg": 60.0, "cyp3a5": "*1/*3", "hematocrit_pct": 35.0, "age_y": 33.0},
        seed=4,
        lloq=2.0,
    )  # fmt: skip
    histories = (*histories, *read_nonmem_text(MIXED))
    many = fit_many(histories, pset)
    for h, fit in zip(histories, many, strict=True):
        single = fit_patient(h, pset)
        assert fit.history is h
        np.testing.assert_allclose(fit.eta, single.eta, atol=1e-6)
        assert abs(fit.objective - single.objective) < 1e-9
        np.testing.assert_allclose(fit.covariance, single.covariance, rtol=1e-4, atol=1e-8)
