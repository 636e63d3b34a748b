"""Joint calibration of CL/F and its IIV (and the proportional error): simulate-and-recover
with known values, standard errors checked by their coverage over seeds, and the CLI."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np

from pksim.cli import main
from pksim.library.parameter_overrides import override_parameter_set
from pksim.library.parameters import load_parameter_set
from pksim.mipd.calibrate import calibrate, parse_estimate
from pksim.mipd.forecast import FutureRegimen
from pksim.mipd.simulate import simulate_tdm
from pksim.mipd.vpc import visual_predictive_check
from pksim.mipd.writing import write_nonmem
from tests.mipd.sets import toy_set

COVARIATES = {
    "weight_kg": 60.0,
    "cyp3a5": "*1/*3",
    "hematocrit_pct": 35.0,
    "age_y": 33.0,
}
REGIMEN = FutureRegimen((2.0, 1.5))
TRUE_CL, TRUE_CV = 19.0, 45.0


def _sparse(pset, n, seed, covariates=COVARIATES):
    return simulate_tdm(
        pset, n, regimen=REGIMEN, days=10, sample_days=[3, 6, 9], covariates=covariates, seed=seed
    )


def test_recovers_clearance_and_its_iiv_from_300_sparse_patients():
    prior = load_parameter_set("default")
    truth = override_parameter_set(prior, {"typical.cl": TRUE_CL, "iiv.cl": TRUE_CV})
    histories, etas = _sparse(truth, 300, seed=5)
    result = calibrate(histories, prior, "cl,iiv_cl")
    cl, iiv = result.estimate("cl"), result.estimate("iiv_cl")
    assert result.converged
    assert abs(cl.value - TRUE_CL) < 2 * cl.se
    assert abs(iiv.value - TRUE_CV) < 2 * iiv.se
    # the estimates follow this sample's realised etas (mean and SD of the true eta_CL)
    prior_sd = math.sqrt(prior.iiv_covariance()[1][0, 0])
    assert abs(cl.theta - (math.log(TRUE_CL / 14.0) + etas[:, 0].mean())) < cl.theta_se
    assert abs(iiv.theta - math.log(etas[:, 0].std() / prior_sd)) < 1.5 * iiv.theta_se
    # SEs of the expected size: omega/sqrt(n) on ln CL/F, about 1/sqrt(2n) and more on ln omega
    assert 0.02 < cl.theta_se < 0.04
    assert 0.04 < iiv.theta_se < 0.12
    assert result.minus_two_ll < result.minus_two_ll_prior - 50
    assert result.calibrated.typical["cl"].value == cl.value


def test_standard_errors_cover_the_truth_over_seeds():
    """Six independent datasets of 100 patients (one eta): at least 9 of the 12 estimates
    within 2 SE of the truth and mean z^2 < 3 (nominal: 95 % and 1; an SE half the true
    one gives a mean z^2 of about 4)."""
    truth = toy_set(iiv={"cl": 0.12}, cl=TRUE_CL)
    prior = toy_set(iiv={"cl": 0.09}, cl=14.0)
    z = []
    for seed in range(1, 7):
        histories, _ = _sparse(truth, 100, seed, covariates={})
        result = calibrate(histories, prior, "cl,iiv_cl")
        cl, iiv = result.estimate("cl"), result.estimate("iiv_cl")
        z.append((cl.theta - math.log(TRUE_CL / 14.0)) / cl.theta_se)
        z.append((iiv.theta - 0.5 * math.log(0.12 / 0.09)) / iiv.theta_se)
    z = np.array(z)
    assert np.sum(np.abs(z) < 2) >= 9
    assert np.mean(z**2) < 3


def test_estimates_the_proportional_error_with_the_rest():
    truth = toy_set(iiv={"cl": 0.12}, proportional=12.0, cl=TRUE_CL)
    prior = toy_set(iiv={"cl": 0.09}, proportional=20.0, cl=14.0)
    histories, _ = _sparse(truth, 120, seed=3, covariates={})
    result = calibrate(histories, prior, "cl,iiv_cl,residual")
    residual = result.estimate("residual")
    assert residual.units == "%" and residual.prior == 20.0
    assert abs(residual.value - 12.0) < 2 * residual.se
    assert residual.se < 1.5
    assert result.calibrated.residual_proportional == residual.value / 100


def test_parse_estimate_refuses_unknown_names():
    assert parse_estimate("iiv_cl, cl") == ("cl", "iiv_cl")
    for bad in ("v", "", "cl,ka"):
        try:
            parse_estimate(bad)
        except ValueError as error:
            assert "cl, iiv_cl, residual" in str(error)
        else:
            raise AssertionError(bad)


def test_pksim_calibrate_estimates_iiv_and_draws_a_vpc(tmp_path, capsys):
    truth = override_parameter_set(load_parameter_set("default"), {"typical.cl": 10.0})
    histories, _ = _sparse(truth, 40, seed=2)
    data = tmp_path / "local.csv"
    write_nonmem(data, histories)
    out, png = tmp_path / "local.toml", tmp_path / "vpc.png"
    args = ["calibrate", str(data), "--out", str(out), "--estimate", "cl,iiv_cl", "--vpc", str(png)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "IIV of CL/F" in printed and "observed 5/50/95th percentiles inside" in printed
    assert png.read_bytes()[:4] == b"\x89PNG"
    written = tomllib.loads(out.read_text(encoding="utf-8"))
    for table in (written["typical"]["cl"], written["iiv"]["cl"]):
        assert table["evidence"] == "D" and "local.csv" in table["note"]
        assert "VPC (200 replicates" in table["note"]
    assert written["iiv"]["cl"]["units"] == "%CV"
    assert written["residual"]["proportional"]["value"] == 20.0  # not estimated: kept


def test_patients_without_genotype_enter_as_mixtures():
    """Half *3/*3, half *1/*3 (CL/F x1.6), genotypes hidden, prior 50/50: the typical CL/F
    is still recovered; knowing the genotypes gives a smaller SE."""
    truth = override_parameter_set(load_parameter_set("default"), {"typical.cl": TRUE_CL})
    groups = []
    for seed, genotype in ((11, "*3/*3"), (12, "*1/*3")):
        histories, _ = _sparse(truth, 80, seed, covariates={**COVARIATES, "cyp3a5": genotype})
        groups += [dataclasses.replace(h, id=f"{genotype}-{h.id}") for h in histories]
    hidden = [
        dataclasses.replace(h, covariates={k: v for k, v in h.covariates.items() if k != "cyp3a5"})
        for h in groups
    ]
    prior = {"*3/*3": 0.5, "*1/*3": 0.5}
    blind = calibrate(tuple(hidden), load_parameter_set("default"), genotype_prior=prior)
    known = calibrate(tuple(groups), load_parameter_set("default"))
    assert abs(blind.cl - TRUE_CL) < 2 * blind.cl_se
    assert abs(known.cl - TRUE_CL) < 2 * known.cl_se
    assert known.cl_se < blind.cl_se
    # the VPC draws each hidden patient's genotype from the prior: close to the VPC that
    # knows the genotypes (the same observed percentiles, the medians of the replicates'
    # percentiles within a few %)
    blind_check = visual_predictive_check(
        tuple(hidden), known.calibrated, replicates=100, genotype_prior=prior
    )
    known_check = visual_predictive_check(tuple(groups), known.calibrated, replicates=100)
    np.testing.assert_array_equal(blind_check.observed, known_check.observed)
    np.testing.assert_allclose(
        blind_check.simulated_median, known_check.simulated_median, rtol=0.05
    )
