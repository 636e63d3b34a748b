"""MAP estimates against independent references: a brute-force grid posterior (1 and 2 etas),
NONMEM's POSTHOC objective minimised by scipy through the public API, simulate-and-recover."""

from __future__ import annotations

import numpy as np
import pytest

from pksim.library.parameters import load_parameter_set
from pksim.mipd import fit_patient, read_nonmem_text
from pksim.mipd.history import PatientHistory
from pksim.model import concentrations_general
from tests.mipd.reference import one_compartment, posthoc_objective, scipy_map
from tests.mipd.sets import toy_set

BID = np.arange(0.0, 24 * 10, 12.0)


def history(
    obs_times,
    obs_values,
    *,
    doses=BID,
    amount=2.0,
    blq=None,
    lloq=None,
    occ=None,
    dose_occ=None,
    pid="1",
) -> PatientHistory:
    obs_times = np.asarray(obs_times, dtype=float)
    n = obs_times.size
    blq = np.zeros(n, bool) if blq is None else np.asarray(blq)
    values = np.where(blq, np.nan, obs_values)
    return PatientHistory(
        id=pid,
        dose_times=doses,
        dose_amounts=np.full(doses.size, amount),
        dose_ss=np.zeros(doses.size, bool),
        dose_ii=np.full(doses.size, 12.0),
        dose_occasion=np.zeros(doses.size, int) if dose_occ is None else dose_occ,
        reset_times=[],
        obs_times=obs_times,
        obs_values=values,
        obs_blq=blq,
        obs_lloq=np.full(n, np.nan) if lloq is None else lloq,
        obs_occasion=np.zeros(n, int) if occ is None else occ,
        obs_rows=np.arange(1, n + 1),
        record_times=[0.0],
    )


def _predict(pset, h):
    """Public-API prediction f(eta) for sets with IIV on cl and/or v (and ka)."""
    names, _ = pset.iiv_covariance()
    t = {k: v.value for k, v in pset.typical.items()}

    def predict(eta):
        p = dict(t)
        for name, e in zip(names, eta, strict=True):
            p[name] = t[name] * np.exp(e)
        return one_compartment(
            p["cl"], p["v"], p["ka"], p["tlag"], 1.0, h.dose_times, h.dose_amounts, h.obs_times
        )

    return predict


def _grid_posterior_mode_and_mean(pset, h, grid):
    """OBJ (with NONMEM's constants) at every grid row, all rows in one public-API call."""
    names, omega = pset.iiv_covariance()
    grid = np.asarray(grid, dtype=float).reshape(len(grid), -1)
    t = {k: v.value for k, v in pset.typical.items()}
    p = {k: np.full(len(grid), value) for k, value in t.items()}
    for j, name in enumerate(names):
        p[name] = t[name] * np.exp(grid[:, j])
    f = concentrations_general(
        p["cl"],
        p["v"],
        p["ka"],
        p["tlag"],
        np.ones(len(grid)),
        h.dose_times[None],
        h.dose_amounts[None],
        h.obs_times,
    )
    prop, add = pset.residual_proportional, pset.residual_additive
    return np.array(
        [
            posthoc_objective(f[i], h.obs_values, h.obs_blq, h.obs_lloq, prop, add, grid[i], omega)
            for i in range(len(grid))
        ]
    )


def test_one_eta_matches_the_grid_posterior():
    pset = toy_set(iiv={"cl": 0.09})
    h = history([96.0, 168.0, 228.0], [4.1, 4.6, 3.9])
    grid = np.linspace(-1.5, 1.5, 30001)
    obj = _grid_posterior_mode_and_mean(pset, h, grid)
    mode = grid[np.argmin(obj)]
    density = np.exp(-(obj - obj.min()) / 2)
    mean = np.sum(grid * density) / density.sum()
    sd = np.sqrt(np.sum((grid - mean) ** 2 * density) / density.sum())
    fit = fit_patient(h, pset)
    assert abs(fit.eta[0] - mode) < 2e-4  # grid step 1e-4
    # Laplace: the curvature of the grid's OBJ at its mode (second differences, step 1e-4)
    i = int(np.argmin(obj))
    curvature = (obj[i + 1] - 2 * obj[i] + obj[i - 1]) / (grid[1] - grid[0]) ** 2
    assert fit.covariance[0, 0] == pytest.approx(2 / curvature, rel=1e-3)
    # and close to the grid posterior's SD (not equal: the posterior is not normal)
    assert np.sqrt(fit.covariance[0, 0]) == pytest.approx(sd, rel=0.1)


def test_two_etas_match_the_grid_posterior_with_a_blq_observation():
    pset = toy_set(iiv={"cl": 0.09, "v": 0.25}, correlation={"cl,v": 0.3}, additive=0.3)
    h = history(
        [2.0, 96.0, 228.0],
        [np.nan, 4.6, 3.9],
        blq=[True, False, False],
        lloq=np.array([1.0, np.nan, np.nan]),
    )
    a = np.linspace(-1.0, 1.0, 401)
    b = np.linspace(-2.0, 2.0, 401)
    grid = np.array([(x, y) for x in a for y in b])
    obj = _grid_posterior_mode_and_mean(pset, h, grid)
    coarse = grid[np.argmin(obj)]
    fit = fit_patient(h, pset)
    assert np.all(np.abs(fit.eta - coarse) <= [0.005 + 1e-9, 0.01 + 1e-9])  # grid steps
    # and the fit's objective is not above the grid's best (it is the true optimum)
    predict = _predict(pset, h)
    _, omega = pset.iiv_covariance()
    ours = posthoc_objective(
        predict(fit.eta), h.obs_values, h.obs_blq, h.obs_lloq, 0.2, 0.3, fit.eta, omega
    )
    assert ours <= obj.min() + 1e-9


@pytest.mark.parametrize(
    ("iiv", "proportional", "additive", "tlag"),
    [
        ({"cl": 0.12, "v": 0.3}, 20.0, 0.0, 0.0),  # proportional error, no lag
        ({"cl": 0.12, "v": 0.3}, 20.0, 0.0, 0.5),  # with lag
        ({"cl": 0.12, "v": 0.3, "ka": 0.4}, 15.0, 0.5, 0.5),  # combined error
        ({"cl": 0.2}, 0.0, 1.0, 0.4),  # additive error only
        ({"cl": 0.12, "tlag": 0.2}, 20.0, 0.0, 0.5),  # IIV on the lag
    ],
)
def test_agrees_with_the_nonmem_posthoc_objective_minimised_by_scipy(
    iiv, proportional, additive, tlag
):
    pset = toy_set(iiv=iiv, proportional=proportional, additive=additive, tlag=tlag)
    rng = np.random.default_rng(7)
    for k in range(5):
        times = np.sort(rng.choice(np.arange(1.0, 230.0, 0.5), size=4, replace=False))
        values = np.exp(rng.normal(np.log(5.0), 0.5, size=4))
        h = history(times, values, pid=str(k))
        fit = fit_patient(h, pset)
        predict = _predict(pset, h)
        _, omega = pset.iiv_covariance()
        prop, add = pset.residual_proportional, pset.residual_additive
        eta, best = scipy_map(predict, h.obs_values, h.obs_blq, h.obs_lloq, prop, add, omega)
        ours = posthoc_objective(
            predict(fit.eta), h.obs_values, h.obs_blq, h.obs_lloq, prop, add, fit.eta, omega
        )
        assert ours <= best + 1e-7  # never a worse optimum than scipy's
        # the same optimum, or (a lag puts kinks in OBJ: local optima) a better one
        assert np.max(np.abs(fit.eta - eta)) < 1e-3 or ours < best - 1e-3
        constant = np.log(2 * np.pi) * 4 + np.linalg.slogdet(2 * np.pi * omega)[1]
        assert fit.objective + constant == pytest.approx(ours, abs=1e-8)


def test_recovers_known_etas_from_rich_data():
    pset = toy_set(iiv={"cl": 0.09, "v": 0.25, "ka": 0.25}, proportional=2.0)
    truth = np.array([0.35, -0.4, 0.3])
    times = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 11.9, 96.0, 97.0, 100.0, 107.9])
    p = {k: v.value for k, v in pset.typical.items()}
    f = one_compartment(
        p["cl"] * np.exp(truth[0]),
        p["v"] * np.exp(truth[1]),
        p["ka"] * np.exp(truth[2]),
        p["tlag"],
        1.0,
        BID,
        np.full(BID.size, 2.0),
        times,
    )
    rng = np.random.default_rng(3)
    y = f * (1 + 0.02 * rng.standard_normal(times.size))
    fit = fit_patient(history(times, y), pset)
    assert np.all(np.abs(fit.eta[:2] - truth[:2]) < 0.05)  # ka is weakly identified
    assert np.all(np.abs(fit.eta - truth) < 3 * np.sqrt(np.diag(fit.covariance)))


def test_sparse_troughs_recover_clearance_and_laplace_intervals_cover():
    """200 simulated patients, 3 troughs each: MAP eta_CL tracks the truth and the 90 %
    Laplace interval of eta_CL covers it in about 90 % of patients."""
    pset = toy_set(iiv={"cl": 0.12, "v": 0.2}, proportional=15.0)
    p = {k: v.value for k, v in pset.typical.items()}
    rng = np.random.default_rng(11)
    times = np.array([96.0, 168.0, 228.0])
    truth, estimate, covered = [], [], 0
    n = 200
    for i in range(n):
        eta = rng.multivariate_normal(np.zeros(2), np.diag([0.12, 0.2]))
        f = one_compartment(
            p["cl"] * np.exp(eta[0]),
            p["v"] * np.exp(eta[1]),
            p["ka"],
            p["tlag"],
            1.0,
            BID,
            np.full(BID.size, 2.0),
            times,
        )
        y = f * (1 + 0.15 * rng.standard_normal(3))
        fit = fit_patient(history(times, y, pid=str(i)), pset)
        truth.append(eta[0])
        estimate.append(fit.eta[0])
        covered += abs(fit.eta[0] - eta[0]) <= 1.6449 * np.sqrt(fit.covariance[0, 0])
    assert np.corrcoef(truth, estimate)[0, 1] > 0.85
    assert 0.83 * n <= covered <= 0.97 * n  # binomial(200, 0.9): +-2.4 SD


def test_iov_occasion_etas_match_scipy():
    pset = toy_set(iiv={"cl": 0.09}, iov_f=0.04)
    occ = np.where(BID < 120, 1, 2)
    h = history(
        [96.0, 108.0, 216.0, 228.0], [4.0, 4.3, 6.1, 5.8], dose_occ=occ, occ=np.array([1, 1, 2, 2])
    )
    fit = fit_patient(h, pset)
    assert fit.design.eta_names == ("cl", "iov_f[1]", "iov_f[2]")
    t = {k: v.value for k, v in pset.typical.items()}

    def predict(eta):
        dose_f = np.exp(np.where(occ == 1, eta[1], eta[2]))[None]
        return one_compartment(
            t["cl"] * np.exp(eta[0]),
            t["v"],
            t["ka"],
            t["tlag"],
            1.0,
            BID,
            np.full(BID.size, 2.0),
            h.obs_times,
            dose_f=dose_f,
        )

    omega = np.diag([0.09, 0.04, 0.04])
    eta, _ = scipy_map(predict, h.obs_values, h.obs_blq, h.obs_lloq, 0.2, 0.0, omega)
    assert np.max(np.abs(fit.eta - eta)) < 1e-3


def test_no_observations_gives_the_prior():
    pset = load_parameter_set("default")
    text = "ID,TIME,AMT,EVID,DV,WT,CYP3A5,HCT,AGE\n1,0,2,1,.,60,*3/*3,35,33\n"
    h = read_nonmem_text(text)[0]
    fit = fit_patient(h, pset)
    assert np.all(fit.eta == 0)
    np.testing.assert_allclose(fit.covariance, fit.design.omega)
