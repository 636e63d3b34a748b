"""Dosing over time in the engine: troughs from the realised doses against independent
references, the issue's exact checks, the rules' decisions, common random numbers and
chunk invariance."""

import numpy as np
import pytest

import pksim
from pksim.dosing.rounding import round_daily_dose
from pksim.scenario import scenario_from_text
from tests import naive

COHORT = """
title = "titration test"
subjects = {n}
days = {days}
seed = 5
[population]
age_y_mean = 33  # the default set's reference age (its age effect is 1)
age_y_sd = 0
[parameters.overrides]
"iov.f" = 0
[variability]
sampling_offset_min_h = 0
sampling_offset_max_h = 0
{variability}
[output]
measured = true
[target]
phase = "induction"
{regimens}
"""

PROPORTIONAL_QD = """
[[regimens]]
name = "fixed"
daily_dose_mg = 3
doses_per_day = 1
round_to_capsules = true
[[regimens]]
name = "proportional"
daily_dose_mg = 3
doses_per_day = 1
round_to_capsules = true
[regimens.tdm]
sample_days = [7, 14, 28]
result_delay_days = 1
rule = "proportional"
aim_ng_per_ml = 8
"""


def cohort(regimens, n=60, days=35, variability=""):
    text = COHORT.format(n=n, days=days, regimens=regimens, variability=variability)
    return scenario_from_text(text, origin="test.toml")


@pytest.fixture(scope="module")
def proportional():
    return pksim.run(cohort(PROPORTIONAL_QD))


def test_realised_doses_reproduce_every_trough(proportional):
    """Each subject's troughs from its realised daily doses and reported PK parameters, by the
    textbook single-dose superposition (no pksim kernel)."""
    ds = proportional.sel(regimen="proportional")
    days = ds.day.values
    for i in range(0, ds.sizes["subject"], 7):
        s = ds.isel(subject=i)
        doses = s.realised_daily_dose_mg.values
        expected = naive.superposition(
            float(s.cl), float(s.v), float(s.ka), float(s.tlag), float(s.f),
            24.0 * (days - 1), doses, 24.0 * days,
        )  # fmt: skip
        np.testing.assert_allclose(s.trough.values, expected, rtol=1e-10)


def test_realised_doses_reproduce_troughs_through_the_public_model(proportional):
    ds = proportional.sel(regimen="proportional")
    days = ds.day.values
    doses = ds.realised_daily_dose_mg.values
    troughs = pksim.model.concentrations(
        ds.cl.values, ds.v.values, ds.ka.values, ds.tlag.values, ds.f.values,
        np.broadcast_to(24.0 * (days - 1), doses.shape), doses, 24.0 * days,
    )  # fmt: skip
    np.testing.assert_allclose(ds.trough.values, troughs, rtol=1e-12)


def test_proportional_rule_decides_from_that_days_measured_trough(proportional):
    """Common random numbers: the result acted on is the day's measured trough (the same assay
    draw the output reports); the dose is dose x aim / result within x2, rounded to capsules;
    a renal-impaired subject (range 3-4 ng/mL) aims at the middle of its own range."""
    ds = proportional.sel(regimen="proportional")
    for day, effective in ((7, 9), (14, 16), (28, 30)):
        before = ds.realised_daily_dose_mg.sel(day=day).values
        result = ds.trough_measured.sel(day=day).values
        result = np.where(ds.below_lloq.sel(day=day).values, 1.0, result)  # LLOQ 1 ng/mL
        lower, upper = ds.target_lower.values, ds.target_upper.values
        aim = np.where((lower <= 8) & (8 <= upper), 8.0, (lower + upper) / 2)  # renal: 3-4
        asked = before * np.clip(aim / result, 0.5, 2.0)
        expected = round_daily_dose(asked, (0.5, 1.0, 5.0))
        np.testing.assert_array_equal(ds.realised_daily_dose_mg.sel(day=effective).values, expected)
        changed = expected != before
        assert np.all(ds.dose_changes.values >= changed)


def test_both_regimens_see_the_same_patients(proportional):
    fixed = proportional.sel(regimen="fixed")
    tdm = proportional.sel(regimen="proportional")
    up_to_first_effect = slice(1, 8)
    np.testing.assert_array_equal(
        fixed.trough.sel(day=up_to_first_effect), tdm.trough.sel(day=up_to_first_effect)
    )
    np.testing.assert_array_equal(
        fixed.trough_measured.sel(day=7) / fixed.trough.sel(day=7),
        tdm.trough_measured.sel(day=7) / tdm.trough.sel(day=7),
    )
    assert int(fixed.dose_changes.sum()) == 0


def test_bit_identical_at_any_chunking_and_threads(proportional):
    scenario = cohort(PROPORTIONAL_QD)
    for kwargs in ({"chunk_subjects": 7}, {"chunk_subjects": 13, "threads": 2}):
        other = pksim.run(scenario, **kwargs)
        for name in ("trough", "trough_measured", "realised_daily_dose_mg", "dose_changes"):
            np.testing.assert_array_equal(other[name].values, proportional[name].values)


def test_proportional_titration_brings_the_median_to_the_aim_in_one_step():
    ds = pksim.run(cohort(PROPORTIONAL_QD.replace("doses_per_day = 1", "doses_per_day = 2"),
                          n=600, days=30))  # fmt: skip
    aiming_at_8 = ds.trough.sel(regimen="proportional").isel(subject=~ds.renal_impairment.values)
    before = float(aiming_at_8.sel(day=7).median())
    after = float(aiming_at_8.sel(day=14).median())
    assert abs(before - 8) > 1.0
    assert after == pytest.approx(8.0, abs=0.4)


def test_typical_patient_dose_change_scales_the_steady_state_trough_by_5_3():
    regimens = """
[[regimens]]
name = "3 then 5"
daily_dose_mg = 3
doses_per_day = 2
changes = [ { day = 43, daily_dose_mg = 5 } ]
"""
    ds = pksim.run(cohort(regimens, n=5, days=84, variability="typical_only = true"))
    trough = ds.trough.isel(regimen=0)
    ratio = trough.sel(day=84) / trough.sel(day=42)
    np.testing.assert_allclose(ratio, 5 / 3, rtol=1e-9)
    expected = [
        naive.steady_state_trough(float(s.cl), float(s.v), float(s.ka), float(s.tlag),
                                  float(s.f), 2.5, 12.0)
        for s in (ds.isel(subject=i) for i in range(5))
    ]  # fmt: skip
    np.testing.assert_allclose(trough.sel(day=84), expected, rtol=1e-9)


def test_steps_rule_holds_then_lowers_and_raises_low_troughs():
    regimens = """
[[regimens]]
name = "steps"
daily_dose_mg = 6
doses_per_day = 2
round_to_capsules = true
[regimens.tdm]
sample_days = [10]
result_delay_days = 0
rule = "steps"
steps = [
  { from_ng_per_ml = 0, to_ng_per_ml = 6, change_mg_per_day = 0.5 },
  { from_ng_per_ml = 6, to_ng_per_ml = 15, change_mg_per_day = 0 },
  { from_ng_per_ml = 15, change_mg_per_day = -1, hold_days = 1 },
]
"""
    ds = pksim.run(cohort(regimens, n=300, days=14)).isel(regimen=0)
    result = np.where(ds.below_lloq.sel(day=10), 0.0, ds.trough_measured.sel(day=10))
    given = ds.realised_daily_dose_mg
    high, low = result >= 15, result < 6
    assert high.any() and low.any()
    np.testing.assert_array_equal(given.sel(day=11)[high], 0.0)  # held the next day
    np.testing.assert_array_equal(given.sel(day=12)[high], 5.0)
    np.testing.assert_array_equal(given.sel(day=11)[low], 6.5)
    middle = ~high & ~low
    np.testing.assert_array_equal(given.sel(day=12)[middle], 6.0)
    np.testing.assert_array_equal(ds.dose_changes.values, (high | low).astype(int))


def test_consensus_escalation_waits_two_months_then_steps_up_to_0_1_mg_per_kg():
    regimens = """
[[regimens]]
name = "consensus"
weight_bands = [ { below_kg = 60, daily_dose_mg = 2 }, { daily_dose_mg = 3 } ]
doses_per_day = 2
[regimens.tdm]
sample_days = [28, 56, 63, 70, 77, 84, 91]
rule = "consensus-escalation"
"""
    ds = pksim.run(cohort(regimens, n=200, days=100)).isel(regimen=0)
    given = ds.realised_daily_dose_mg
    start = ds.daily_dose_mg
    np.testing.assert_array_equal(given.sel(day=slice(1, 57)), start.broadcast_like(
        given.sel(day=slice(1, 57))))  # fmt: skip
    cap = 0.1 * ds.weight_kg
    assert bool((given.sel(day=100) <= np.maximum(cap, start) + 1e-12).all())
    low = (ds.trough_measured.sel(day=56) < 6) | ds.below_lloq.sel(day=56)
    raised = given.sel(day=58) > start
    assert raised[low].mean() > 0.5 and not bool(raised[~low].any())
    high = (ds.trough_measured.sel(day=56) > 10) & ~ds.below_lloq.sel(day=56)
    np.testing.assert_array_equal(given.sel(day=58)[high], start[high] - 0.5)


def test_dask_workers_give_identical_results(proportional):
    """Monitoring decided on Dask workers (the plan travels as a task) gives the same doses."""
    pytest.importorskip("distributed")
    from pksim.engine import distributed

    with distributed.connect(workers=2, processes=False) as client:
        got = pksim.run(cohort(PROPORTIONAL_QD), chunk_subjects=11, client=client)
    for name in ("trough", "realised_daily_dose_mg", "dose_changes"):
        np.testing.assert_array_equal(got[name].values, proportional[name].values)
