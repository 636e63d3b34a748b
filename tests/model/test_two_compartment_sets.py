"""East Asian two-compartment parameter sets through the engine (Lu 2015; every bundled
scenario runs with it: test_two_compartment_engine.py): its typical troughs are those of
independent references written out here (Table 2 values typed from the source, not read from
the set): a DOP853 ``solve_ivp`` solve on the doses the engine realised and the
matrix-exponential steady state."""

import numpy as np

from pksim import run
from pksim.dosing.events import dose_events
from pksim.scenario import scenario_from_text
from tests import naive

LU = "lu2015"

# Lu 2015 Table 2 final model (Chinese adults), typed from the nlmixr2lib transcription.
HEALTHY_CL, LIVER_TRANSPLANT, V1, Q, V2, KA, TLAG = 32.8, 0.562, 22.7, 76.3, 916.0, 0.419, 0.404
CL = HEALTHY_CL * LIVER_TRANSPLANT

TYPICAL_BID = """
title = "Lu 2015 typical patients, 2 mg BID with missed doses, then steady"
subjects = 4
days = {days}
seed = 5
[parameters]
name = "lu2015"
[population]
cyp3a5_expresser_fraction = 0.5
[variability]
typical_only = true
[[regimens]]
name = "2 mg BID"
daily_dose_mg = 4
doses_per_day = 2
missed_dose_probability = {missed}
"""


def test_lu_troughs_match_solve_ivp_on_the_realised_doses():
    """Missed doses make the subjects differ; each daily trough equals a DOP853 solve of the
    two-compartment ODEs (rtol 1e-12) on the doses the engine drew, to 1e-8."""
    scenario = scenario_from_text(TYPICAL_BID.format(days=10, missed=0.2))
    ds = run(scenario)
    assert ds.attrs["parameter_set"] == LU
    regimen = scenario.regimens[0]
    events = dose_events(regimen, ds.weight_kg.values, scenario.days, seed=scenario.seed, start=0)
    assert np.isnan(events.times).any(), "the check needs missed doses"
    samples = np.arange(1, scenario.days + 1) * 24.0
    simulated = ds.trough.sel(regimen=regimen.name).values
    parameters = {"cl": CL, "v1": V1, "q": Q, "v2": V2, "ka": KA, "tlag": TLAG, "f": 1.0}
    for i in range(ds.sizes["subject"]):
        times = np.broadcast_to(events.times, (ds.sizes["subject"], events.times.shape[1]))[i]
        amounts = np.broadcast_to(events.amounts, (ds.sizes["subject"], events.times.shape[1]))[i]
        expected = naive.two_compartment_oral_lag(parameters, times, amounts, samples)
        np.testing.assert_allclose(simulated[i], expected, rtol=1e-8)


def test_lu_typical_trough_is_the_matrix_exponential_steady_state():
    """Day 40 of 2 mg BID (terminal half-life about 43 h: 22 half-lives) equals the exact
    steady state to 1e-6; the genotype does not matter (the model has no CYP3A5 effect)."""
    scenario = scenario_from_text(TYPICAL_BID.format(days=40, missed=0.0))
    ds = run(scenario)
    steady = naive.steady_state_trough_two_compartment(CL, V1, Q, V2, KA, TLAG, 1.0, 2.0, 12.0)
    trough = ds.trough.sel(regimen="2 mg BID").values[:, -1]
    assert len(set(ds.cyp3a5.values.tolist())) > 1, "the check needs both genotypes"
    np.testing.assert_allclose(trough, steady, rtol=1e-6)
