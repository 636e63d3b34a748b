"""The two-compartment model through the engine: a parameter set declaring
``two-compartment-oral-lag`` (Q/F, V2/F, their IIV) runs every bundled scenario, and its troughs
are those of an independent ``solve_ivp`` solve on the doses the engine realised."""

import dataclasses
import math

import numpy as np
import pytest

from pksim import run
from pksim.cohort import structural_inputs, typical_parameters
from pksim.dosing.events import dose_events
from pksim.library import parameters as P
from pksim.scenario import list_scenarios, load_scenario, scenario_from_text
from tests import naive

ANDREWS = "andrews2019"

# Andrews 2019 final model, Table 2 / Equation 1, written out here (not read from the set).
CL, V1, Q, V2, KA, TLAG = 23.0, 692.0, 11.6, 5340.0, 3.58, 0.38
EXPRESSER = 1.631
AGE_REF, AGE_EXP = 55.72, -0.43
CREAT_REF_UMOL, CREAT_EXP, UMOL_PER_MG_DL = 134.98, -0.14, 88.4
HCT_REF, HCT_EXP = 34.0, -0.76


def _andrews_cl(genotype, age, creatinine_mg_dl, hematocrit):
    genotype_factor = np.where(np.asarray(genotype) == "*3/*3", 1.0, EXPRESSER)
    creatinine = np.asarray(creatinine_mg_dl) * UMOL_PER_MG_DL / CREAT_REF_UMOL
    return (
        CL
        * genotype_factor
        * (np.asarray(age) / AGE_REF) ** AGE_EXP
        * creatinine**CREAT_EXP
        * (np.asarray(hematocrit) / HCT_REF) ** HCT_EXP
    )


ADHERENCE = """
title = "typical patients, two-compartment, missed and late doses"
subjects = 5
days = 12
seed = 11
[parameters]
name = "andrews2019"
[population]
cyp3a5_expresser_fraction = 0.5
[variability]
typical_only = true
[[regimens]]
name = "2 mg BID, missed and late"
daily_dose_mg = 4
doses_per_day = 2
missed_dose_probability = 0.2
late_dose_max_h = 3
[[regimens]]
name = "4 mg QD"
daily_dose_mg = 4
doses_per_day = 1
"""


def test_two_compartment_troughs_match_solve_ivp_on_the_realised_doses():
    """Typical patients (no IIV, IOV or assay error), genotype mix, missed and late doses: each
    subject's daily troughs equal a DOP853 solve (rtol 1e-12) of the two-compartment ODEs on
    the doses the engine drew, with CL/F from Equation 1 of Andrews 2019 written out here."""
    scenario = scenario_from_text(ADHERENCE)
    ds = run(scenario)
    assert ds.attrs["parameter_set"] == ANDREWS
    cl = _andrews_cl(
        ds.cyp3a5.values,
        ds.age_y.values,
        ds.serum_creatinine_mg_dl.values,
        ds.hematocrit_pct.values,
    )
    assert len(set(np.round(cl, 6))) > 1, "the check needs subjects with different CL/F"
    samples = np.arange(1, scenario.days + 1) * 24.0
    for regimen in scenario.regimens:
        events = dose_events(
            regimen, ds.weight_kg.values, scenario.days, seed=scenario.seed, start=0
        )
        simulated = ds.trough.sel(regimen=regimen.name).values
        for i in range(ds.sizes["subject"]):
            parameters = {"cl": cl[i], "v1": V1, "q": Q, "v2": V2, "ka": KA, "tlag": TLAG, "f": 1.0}
            times = np.broadcast_to(events.times, (ds.sizes["subject"], events.times.shape[1]))
            amounts = np.broadcast_to(events.amounts, times.shape)
            expected = naive.two_compartment_oral_lag(parameters, times[i], amounts[i], samples)
            np.testing.assert_allclose(simulated[i], expected, rtol=1e-8, err_msg=regimen.name)
    missed = np.isnan(
        dose_events(scenario.regimens[0], ds.weight_kg.values, 12, seed=11, start=0).times
    )
    assert missed.any(), "the check needs missed doses"


def test_typical_two_compartment_trough_is_the_matrix_exponential_steady_state():
    """Day 120 of 1.5 mg BID in the Andrews reference patient (terminal half-life about 20 days:
    six half-lives) is within 2 % of the exact steady state, and rising towards it."""
    text = ADHERENCE.replace("days = 12", "days = 120").replace(
        "cyp3a5_expresser_fraction = 0.5", "cyp3a5_expresser_fraction = 0"
    )
    scenario = scenario_from_text(text)
    ds = run(scenario, n_subjects=1)
    cl = float(
        _andrews_cl(
            ds.cyp3a5.values,
            ds.age_y.values,
            ds.serum_creatinine_mg_dl.values,
            ds.hematocrit_pct.values,
        )[0]
    )
    steady = naive.steady_state_trough_two_compartment(cl, V1, Q, V2, KA, TLAG, 1.0, 4.0, 24.0)
    trough = ds.trough.sel(regimen="4 mg QD").values[0]
    assert np.all(np.diff(trough) > 0)
    assert trough[-1] < steady
    np.testing.assert_allclose(trough[-1], steady, rtol=0.02)


@pytest.mark.parametrize("name", list_scenarios())
@pytest.mark.parametrize("parameter_set", ["default", ANDREWS, "bergmann2014", "lu2015"])
def test_every_bundled_scenario_runs_with_both_structures(name, parameter_set):
    scenario = load_scenario(name)
    pset = P.load_parameter_set(parameter_set)
    scenario = dataclasses.replace(scenario, parameter_set=pset)
    ds = run(scenario, n_subjects=12)
    trough = ds.trough.values
    assert np.all(np.isfinite(trough)) and np.all(trough >= 0)
    assert trough[..., -1].max() > 0
    assert ds.attrs["parameter_set"] == parameter_set


def test_structural_inputs_name_what_each_model_takes():
    one = P.load_parameter_set("default")
    two = P.load_parameter_set(ANDREWS)
    cov = _covariates()
    pk1, pk2 = typical_parameters(one, cov), typical_parameters(two, cov)
    assert pk1.q is None and pk1.v2 is None
    inputs1 = structural_inputs(pk1, cl=pk1.cl, ka=pk1.ka)
    assert set(inputs1) == {"cl", "v", "ka", "tlag", "f"}
    inputs2 = structural_inputs(pk2, cl=pk2.cl * 2.0, ka=pk2.ka)
    assert set(inputs2) == {"cl", "v", "v1", "q", "v2", "ka", "tlag", "f"}
    np.testing.assert_array_equal(inputs2["cl"], pk2.cl * 2.0)
    np.testing.assert_array_equal(inputs2["v1"], pk2.v)
    np.testing.assert_allclose(pk2.q, Q)
    np.testing.assert_allclose(pk2.v2, V2)
    np.testing.assert_allclose(pk2.v, V1)
    expected = _andrews_cl(
        np.array(["*3/*3", "*1/*3", "*1/*1"]),
        cov.age_y,
        cov.serum_creatinine_mg_dl,
        cov.hematocrit_pct,
    )
    # rtol: the set's creatinine reference is 134.98/88.4 rounded to 8 digits (1.5269231 mg/dL).
    np.testing.assert_allclose(pk2.cl, expected, rtol=1e-8)


def _covariates():
    from pksim.cohort import Covariates

    return Covariates(
        weight_kg=np.array([50.0, 60.0, 80.0]),
        sex=np.array([0, 0, 1]),
        age_y=np.array([25.0, 55.72, 70.0]),
        hematocrit_pct=np.array([30.0, 34.0, 42.0]),
        egfr=np.array([90.0, 60.0, 30.0]),
        serum_creatinine_mg_dl=np.array([0.8, 1.5269231, 2.5]),
        cyp3a5=np.array([0, 1, 2]),
        liver_function=np.array([0, 0, 0]),
        prednisone_mg_per_day=np.array([0.0, 10.0, 40.0]),
    )


def test_two_compartment_iiv_uses_its_own_columns_of_the_iiv_stream():
    """Q/F and V2/F draw columns 5 and 6 of stream ``iiv`` (after cl, v, ka, tlag, f), so a
    one-compartment set's draws do not move; with a diagonal omega each log-ratio is
    sd·z of its own column."""
    from pksim import rng
    from pksim.cohort import individual_parameters

    pset = P.load_parameter_set(ANDREWS)
    cov = _covariates()
    typical = typical_parameters(pset, cov)
    individual = individual_parameters(pset, cov, seed=5, start=0)
    z = rng.normal_columns(5, "iiv", 0, 3, 7)
    for column, name, cv in ((0, "cl", 38.6), (1, "v", 49.2), (5, "q", 78.7), (6, "v2", 53.0)):
        sd = math.sqrt(math.log1p((cv / 100) ** 2))
        ratio = getattr(individual, name) / getattr(typical, name)
        np.testing.assert_allclose(np.log(ratio), sd * z[:, column], rtol=1e-12, err_msg=name)
    np.testing.assert_array_equal(individual.ka, typical.ka)
