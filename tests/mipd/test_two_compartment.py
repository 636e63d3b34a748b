"""Individualisation under a two-compartment set: predictions against scipy's solve_ivp,
steady-state records against many explicit doses and the analytic trough, the MAP against a
grid posterior, simulate-and-recover with andrews2019 (batched fits: test_batch.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pksim.library.parameters import load_parameter_set
from pksim.mipd import fit_patient, individualize, read_nonmem_text
from pksim.mipd.design import design
from pksim.mipd.history import PatientHistory
from pksim.mipd.predict import Predictor
from pksim.model import concentrations_two_compartment, steady_state_trough_two_compartment
from tests.mipd.reference import posthoc_objective
from tests.mipd.two_compartment_reference import (
    ANDREWS_COVARIATES,
    andrews_with_assay,
    toy_two_compartment_set,
    two_compartment_ode,
)

ALL_IIV = {"cl": 0.09, "v": 0.1, "q": 0.2, "v2": 0.1, "ka": 0.2, "tlag": 0.05}


def test_predictions_match_the_ode_with_iiv_on_every_parameter_iov_and_a_reset():
    pset = toy_two_compartment_set(iiv=ALL_IIV, correlation={"cl,v": 0.4, "q,v2": -0.3}, iov_f=0.02)
    text = (
        "ID,TIME,AMT,EVID,II,ADDL,DV,OCC\n"
        "1,0,2,1,12,5,.,1\n1,1,0,0,0,0,3,1\n1,5,0,0,0,0,3,1\n1,30.5,0,0,0,0,3,1\n"
        "1,61,0,0,0,0,3,1\n1,70,0,3,0,0,.,2\n1,72,3,1,12,2,.,2\n1,73,0,0,0,0,3,2\n"
        "1,74.2,0,0,0,0,3,2\n1,100,0,0,0,0,3,2\n"
    )
    (h,) = read_nonmem_text(text)
    d = design(h, pset)
    assert d.eta_names == ("cl", "v", "ka", "tlag", "q", "v2", "iov_f[1]", "iov_f[2]")
    eta = np.array(
        [
            [0.3, -0.2, 0.4, -0.3, 0.5, -0.4, 0.1, -0.15],
            [-0.4, 0.3, -0.5, 0.2, -0.6, 0.5, -0.1, 0.2],
        ]
    )
    ours = Predictor(d, h.obs_times)(eta)
    t = {k: v.value for k, v in pset.typical.items()}
    for row, e in zip(ours, eta, strict=True):
        p = {n: t[n] * np.exp(e[j]) for j, n in enumerate(("cl", "v", "ka", "tlag", "q", "v2"))}
        first = h.obs_times < 70
        ref = np.empty(h.obs_times.size)
        for piece, kappa, doses in (
            (first, e[6], h.dose_times < 70),
            (~first, e[7], h.dose_times > 70),
        ):
            ref[piece] = two_compartment_ode(
                p["cl"], p["v"], p["q"], p["v2"], p["ka"], p["tlag"],
                h.dose_times[doses], h.dose_amounts[doses] * np.exp(kappa), h.obs_times[piece],
            )  # fmt: skip
        np.testing.assert_allclose(row, ref, rtol=1e-8)


def test_clearance_changing_over_time_matches_the_ode():
    """andrews2019: haematocrit 30 % then 38 % from t = 40 h (LOCF) changes CL/F only."""
    pset = load_parameter_set("andrews2019")
    text = (
        "ID,TIME,AMT,EVID,II,ADDL,DV,CYP3A5,AGE,SCR,HCT\n"
        f"1,0,2,1,12,7,.,{ANDREWS_COVARIATES},30\n1,30,0,0,0,0,4,{ANDREWS_COVARIATES},30\n"
        f"1,40,0,2,0,0,.,{ANDREWS_COVARIATES},38\n1,41.5,0,0,0,0,4,{ANDREWS_COVARIATES},38\n"
        f"1,95,0,0,0,0,4,{ANDREWS_COVARIATES},38\n"
    )
    (h,) = read_nonmem_text(text, covariate_rule="locf")
    d = design(h, pset)
    eta = np.array([[0.2, -0.3, 0.4, 0.1]])  # cl, v, q, v2
    ours = Predictor(d, h.obs_times)(eta)[0]
    t = d.typical
    p = {n: t[n] * np.exp(eta[0, j]) for j, n in enumerate(("cl", "v", "q", "v2"))}
    ref = two_compartment_ode(
        p["cl"], p["v"], p["q"], p["v2"], t["ka"], t["tlag"], h.dose_times, h.dose_amounts,
        h.obs_times, cl_change_times=[40.0], cl_multipliers=[1.0, (38 / 30) ** -0.76],
    )  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=1e-8)


@pytest.mark.parametrize(("name", "tlag"), [("toy", 0.0), ("toy", 0.4), ("andrews2019", None)])
def test_steady_state_record_equals_2000_explicit_doses_and_the_analytic_trough(name, tlag):
    if name == "toy":
        pset = toy_two_compartment_set(iiv=ALL_IIV, tlag=tlag)
    else:
        pset = load_parameter_set(name)
    cov = "" if name == "toy" else f",{ANDREWS_COVARIATES},34"
    header = "ID,TIME,AMT,EVID,II,ADDL,SS,DV" + ("" if name == "toy" else ",CYP3A5,AGE,SCR,HCT")
    text = f"{header}\n1,100,3,1,12,3,1,.{cov}\n" + "".join(
        f"1,{t},0,0,0,0,0,1{cov}\n"
        for t in (100.0, 100.2, 101.0, 104.0, 111.9, 112.0, 130.0, 150.0)
    )
    (h,) = read_nonmem_text(text)
    d = design(h, pset)
    rng = np.random.default_rng(5)
    eta = -np.abs(rng.normal(0, 0.3, size=(3, d.n_eta)))  # no slower terminal phase than typical
    ours = Predictor(d, h.obs_times)(eta)
    p = Predictor(d, []).parameters(eta)
    times = (100.0 + 12.0 * np.arange(-2000, 4))[None]
    ref = concentrations_two_compartment(
        p["cl"], p["v"], p["q"], p["v2"], p["ka"], p["tlag"], 1.0, times,
        np.full(times.shape, 3.0), h.obs_times,
    )  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    trough = steady_state_trough_two_compartment(
        p["cl"], p["v"], p["q"], p["v2"], p["ka"], p["tlag"], 1.0, 3.0, 12.0
    )
    np.testing.assert_allclose(ours[:, 0], trough, rtol=1e-12)


def _history(times, values, doses, amount=2.0, covariates=None) -> PatientHistory:
    n = len(times)
    return PatientHistory(
        id="1",
        dose_times=doses,
        dose_amounts=np.full(doses.size, amount),
        dose_ss=np.zeros(doses.size, bool),
        dose_ii=np.full(doses.size, 12.0),
        dose_occasion=np.zeros(doses.size, int),
        reset_times=[],
        obs_times=np.asarray(times, float),
        obs_values=np.asarray(values, float),
        obs_blq=np.zeros(n, bool),
        obs_lloq=np.full(n, np.nan),
        obs_occasion=np.zeros(n, int),
        obs_rows=np.arange(1, n + 1),
        record_times=[0.0],
        covariates=covariates or {},
    )


def test_one_eta_matches_the_grid_posterior():
    """IIV on Q/F only: the MAP is the grid posterior's mode and the Laplace variance its
    curvature (OBJ on the grid through the public two-compartment API)."""
    pset = toy_two_compartment_set(iiv={"q": 0.3}, proportional=10.0)
    doses = np.arange(0.0, 240.0, 12.0)
    times = np.array([1.0, 3.0, 6.0, 96.0, 168.0, 228.0])
    grid = np.linspace(-2.5, 2.5, 50001)
    t = {k: v.value for k, v in pset.typical.items()}

    def public(q):
        return concentrations_two_compartment(
            t["cl"], t["v"], q, t["v2"], t["ka"], t["tlag"], 1.0,
            doses[None], np.full((1, doses.size), 2.0), times,
        )  # fmt: skip

    truth = public([t["q"] * np.exp(0.6)])[0]
    y = truth * (1 + 0.1 * np.random.default_rng(2).standard_normal(times.size))
    h = _history(times, y, doses)
    f = public(t["q"] * np.exp(grid))
    _, omega = pset.iiv_covariance()
    none = np.zeros(h.obs_times.size, bool)
    obj = np.array(
        [
            posthoc_objective(
                f[i], h.obs_values, none, h.obs_lloq, 0.1, 0.0, grid[i : i + 1], omega
            )
            for i in range(grid.size)
        ]
    )
    i = int(np.argmin(obj))
    fit = fit_patient(h, pset)
    assert abs(fit.eta[0] - grid[i]) < 2e-4  # grid step 1e-4
    curvature = (obj[i + 1] - 2 * obj[i] + obj[i - 1]) / (grid[1] - grid[0]) ** 2
    assert fit.covariance[0, 0] == pytest.approx(2 / curvature, rel=1e-3)


def test_andrews2019_recovers_known_etas_from_rich_data():
    """andrews2019's typical values, covariates and Omega with a 2 % assay: CL/F and V1/F
    within 0.05 of the truth, every eta within 3 Laplace SDs."""
    pset = andrews_with_assay(2.0)
    truth = np.array([0.3, -0.3, 0.4, -0.25])  # cl, v (V1), q, v2
    doses = np.arange(0.0, 24 * 14, 12.0)
    after = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 11.9])
    times = np.concatenate([after, 144.0 + after, 312.0 + after])
    covariates = {
        "cyp3a5": np.array([1]),
        "age_y": np.array([50.0]),
        "serum_creatinine_mg_dl": np.array([1.2]),
        "hematocrit_pct": np.array([35.0]),
    }
    template = _history(times, np.ones(times.size), doses, 3.0, covariates)
    f = Predictor(design(template, pset), times)(truth[None])[0]
    y = f * (1 + 0.02 * np.random.default_rng(3).standard_normal(times.size))
    h = _history(times, y, doses, 3.0, covariates)
    fit = fit_patient(h, pset)
    assert np.all(np.abs(fit.eta[:2] - truth[:2]) < 0.05)
    assert np.all(np.abs(fit.eta - truth) < 3 * np.sqrt(np.diag(fit.covariance)))
    ds = individualize(h, pset)
    assert list(ds["parameter"].values) == ["cl", "v", "ka", "tlag", "f", "q", "v2"]
    assert ds["parameter_units"].sel(parameter="q").item() == "L/h"
