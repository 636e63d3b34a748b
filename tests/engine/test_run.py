"""End-to-end simulation: independent analytic checks, reproducibility, common random numbers."""

import numpy as np
import pytest
import xarray as xr

from pksim import run
from pksim.scenario import scenario_from_text
from tests import naive

TYPICAL_60_KG = """
title = "typical 60 kg *3/*3 patient"
subjects = 6
days = 28
seed = 1
[population]
weight_kg_mean_female = 60
weight_kg_sd_female = 0
weight_kg_mean_male = 60
weight_kg_sd_male = 0
hematocrit_pct_mean = 35
hematocrit_pct_sd = 0
age_y_mean = 33
age_y_sd = 0
cyp3a5_expresser_fraction = 0
[variability]
typical_only = true
[[regimens]]
name = "3 mg QD"
daily_dose_mg = 3
doses_per_day = 1
[[regimens]]
name = "1.5 mg BID"
daily_dose_mg = 3
doses_per_day = 2
"""


def test_typical_patient_reaches_the_textbook_steady_state_trough():
    """PK_REFERENCE §1.1 typical values (CL/F 14 L/h, V/F 700 L, ka 4.5 /h, tlag 0.4 h) at
    60 kg, HCT 35 %, *3/*3, no steroid: day 28 is 19 half-lives (35 h) in, 2^-19 from steady
    state. The reference is the textbook formula, not pksim's."""
    ds = run(scenario_from_text(TYPICAL_60_KG))
    qd = naive.steady_state_trough(14.0, 700.0, 4.5, 0.4, 1.0, 3.0, 24.0)
    bid = naive.steady_state_trough(14.0, 700.0, 4.5, 0.4, 1.0, 1.5, 12.0)
    day28 = ds.trough.sel(day=28)
    np.testing.assert_allclose(day28.sel(regimen="3 mg QD"), qd, rtol=1e-5)
    np.testing.assert_allclose(day28.sel(regimen="1.5 mg BID"), bid, rtol=1e-5)
    assert ds.trough.attrs["units"] == "ng/mL"
    assert ds.attrs["parameter_set"] == "default" and ds.attrs["seed"] == 1


SMALL = """
title = "small"
subjects = 50
days = 10
seed = 7
[population]
prednisone_mg_per_day = 20
[variability]
sampling_offset_min_h = -1
sampling_offset_max_h = 1
[[regimens]]
name = "QD"
daily_dose_mg = 3
doses_per_day = 1
missed_dose_probability = 0.1
late_dose_max_h = 2
[[regimens]]
name = "bands BID"
doses_per_day = 2
weight_bands = [ { below_kg = 60, daily_dose_mg = 2 }, { daily_dose_mg = 3 } ]
round_to_capsules = true
[food]
meals = [ { clock = "07:30" }, { clock = "19:00", kind = "high_fat" } ]
fraction_against_rule = 0.2
[[comedications]]
drug = "rifampicin"
start_day = 3
fraction = 0.5
[output]
measured = true
"""


def test_same_seed_gives_identical_results_whatever_the_chunking():
    scenario = scenario_from_text(SMALL)
    whole = run(scenario)
    again = run(scenario, chunk_subjects=7)
    xr.testing.assert_identical(whole, again)
    assert not np.array_equal(run(scenario, seed=8).trough, whole.trough)


def test_first_subjects_do_not_depend_on_cohort_size():
    scenario = scenario_from_text(SMALL)
    xr.testing.assert_equal(run(scenario, n_subjects=20), run(scenario).isel(subject=slice(20)))


def test_every_regimen_sees_the_same_patients_and_inducers_lower_troughs():
    ds = run(scenario_from_text(SMALL))
    taking = ds.comedication.values == "rifampicin"
    assert 0 < taking.sum() < ds.sizes["subject"]
    assert set(ds.weight_band.values) <= {"< 60 kg", "≥ 60 kg"}
    assert np.all(np.isfinite(ds.trough)) and np.all(ds.trough >= 0)
    baseline = run(
        scenario_from_text(SMALL.replace('drug = "rifampicin"', 'drug = "azithromycin"'))
    )
    np.testing.assert_array_equal(ds.weight_kg.values, baseline.weight_kg.values)
    late = ds.trough.sel(day=10).values
    before = baseline.trough.sel(day=10).values
    assert np.all(late[:, taking] < before[:, taking])
    # Non-takers step through the takers' clearance change points too: same value, rounding aside.
    np.testing.assert_allclose(late[:, ~taking], before[:, ~taking], rtol=1e-12)


def test_profiles_are_optional_and_bounded():
    text = SMALL + "profiles = true\nprofile_step_h = 6\n"
    ds = run(scenario_from_text(text))
    assert ds.concentration.dims == ("regimen", "subject", "time")
    assert ds.time.values[-1] == 240.0
    # The profile at the trough times equals the troughs where no draw was late or early.
    with pytest.raises(ValueError, match="lower the subject count"):
        run(
            scenario_from_text(text.replace("profile_step_h = 6", "profile_step_h = 0.05")),
            n_subjects=100_000,
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_subjects": 0}, "n_subjects must be"),
        ({"seed": -1}, "seed must be"),
        ({"chunk_subjects": 0}, "chunk_subjects"),
    ],
)
def test_bad_run_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(scenario_from_text(SMALL), **kwargs)
