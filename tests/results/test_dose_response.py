"""pksim.dose_response: each candidate's row is what target_attainment says of a run of that
dose (same counts, interval and days), at any chunking; same doses and the best-dose rule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

import pksim
from pksim.results.dose_response import BestDoseRule, best_dose, dose_response
from pksim.results.percentiles import HISTOGRAM_RELATIVE_ERROR, PERCENTILES
from pksim.scenario import scenario_from_text

N = 600
SEED = 3
SCENARIO = """
schema_version = 1
title = "dose response results test"
subjects = 600
days = 10
seed = 5

[population]
name = "chinese-adult-ln"

[[regimens]]
name = "BID, 0.5 mg steps"
daily_dose_mg = 3
doses_per_day = 2
round_to_mg = 0.5
missed_dose_probability = 0.05

[[regimens]]
name = "QD"
daily_dose_mg = 3
doses_per_day = 1

[[comedications]]
drug = "voriconazole"
start_day = 3
fraction = 0.3

[target]
phase = "induction"
window = [8, 10]
"""
DOSES = [1.0, 2.4, 2.6, 4.0, 6.0, 9.0]


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_text(SCENARIO)


@pytest.fixture(scope="module")
def response(scenario):
    return dose_response(
        scenario,
        regimen="BID, 0.5 mg steps",
        doses_mg_per_day=DOSES,
        by="weight_band",
        n_subjects=N,
        seed=SEED,
    )


def _run_of(scenario, dose: float) -> xr.Dataset:
    regimen = dataclasses.replace(scenario.regimens[0], daily_dose_mg=dose)
    return pksim.run(scenario.replace(regimens=(regimen,)), N, SEED)


@pytest.mark.parametrize("dose", DOSES)
def test_each_candidate_is_a_run_of_that_dose(scenario, response, dose):
    table = pksim.target_attainment(_run_of(scenario, dose), by=("regimen", "weight_band"))
    row = response.sel(dose=dose)
    for record in table.to_dict("records"):
        here = row.sel(weight_band=record["weight_band"])
        assert int(here["n"]) == record["n"]
        for name in (
            "pct_in_range",
            "pct_below",
            "pct_above",
            "pct_in_range_ci_low",
            "pct_in_range_ci_high",
        ):
            assert float(here[name]) == pytest.approx(record[name], rel=1e-12), name
        for name in PERCENTILES:
            assert float(here[name]) == pytest.approx(
                record[name], rel=1.01 * HISTOGRAM_RELATIVE_ERROR
            )


def test_measured_troughs_judged_as_target_attainment_does(scenario):
    ds = dose_response(
        scenario, regimen="QD", doses_mg_per_day=[2, 5], measured=True, n_subjects=N, seed=SEED
    )
    for dose in (2, 5):
        regimen = dataclasses.replace(scenario.regimens[1], daily_dose_mg=dose)
        changed = scenario.replace(
            regimens=(regimen,), output=dataclasses.replace(scenario.output, measured=True)
        )
        table = pksim.target_attainment(pksim.run(changed, N, SEED), measured=True)
        for name in ("pct_in_range", "pct_below", "pct_above", "pct_below_lloq"):
            assert float(ds[name].sel(dose=dose)) == pytest.approx(table[name][0], rel=1e-12)


def test_same_result_at_any_chunking_and_threads(scenario, response):
    again = dose_response(
        scenario,
        regimen="BID, 0.5 mg steps",
        doses_mg_per_day=DOSES,
        by="weight_band",
        n_subjects=N,
        seed=SEED,
        chunk_subjects=97,
        threads=2,
    )
    xr.testing.assert_identical(again, response)


def test_candidates_that_round_alike_are_the_same_dose(response):
    """2.4 and 2.6 mg/day both round to 2.5 mg/day (0.5 mg steps): the same doses."""
    assert np.isnan(response["same_dose_as"].sel(dose=2.4))
    assert float(response["same_dose_as"].sel(dose=2.6)) == 2.4
    assert int(np.isfinite(response["same_dose_as"]).sum()) == 1
    for name in ("pct_in_range", "median", "pct_above"):
        xr.testing.assert_identical(
            response[name].sel(dose=2.4, drop=True), response[name].sel(dose=2.6, drop=True)
        )
    assert float(response["daily_dose_low_mg"].sel(dose=2.6)) == 2.5
    assert float(response["daily_dose_high_mg"].sel(dose=9.0)) == 9.0


def test_best_dose_follows_the_rule(response):
    best = response["best_dose"]
    assert best.dims == ("weight_band",)
    for band in response["weight_band"].values:
        table = response.sel(weight_band=band)
        allowed = table["pct_above"].values <= 10.0
        pta = np.where(allowed, table["pct_in_range"].values, -1)
        assert float(best.sel(weight_band=band)) == DOSES[int(np.argmax(pta))]
        assert int(table["best"].sum()) == 1
    strict = best_dose(response, max_above_pct=0.0, max_below_pct=0.0)
    assert np.isnan(strict).all()
    assert "at most 0 % above range and at most 0 % below it" in strict.attrs["rule"]


def test_rule_picks_the_lowest_dose_on_ties():
    rule = BestDoseRule(max_above_pct=10)
    pta = np.array([10.0, 40.0, 40.0, 50.0])
    assert rule.choose(pta, np.array([0, 5, 10, 10.5]), np.zeros(4)) == 1
    assert rule.choose(pta, np.array([11, 12, 13, 14.0]), np.zeros(4)) is None
    below = BestDoseRule(max_above_pct=100, max_below_pct=20)
    assert below.choose(pta, np.zeros(4), np.array([50, 30, 20, 10.0])) == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_above_pct": 120}, r"max_above_pct must be a percentage 0..100, got 120"),
        ({"max_below_pct": -1}, r"max_below_pct must be a percentage 0..100"),
        ({"max_above_pct": True}, r"max_above_pct must be a percentage"),
        ({"by": "weight_kg"}, r"continuous \(float\) coordinate"),
        ({"by": ["cyp3a5", "weight_band"]}, r"by must be one subject coordinate name"),
        ({"day": 11}, r"day: day 11 is not in the scenario"),
        ({"regimen": None}, r"the scenario has 2 regimens"),
        ({"n_subjects": 0}, r"n_subjects must be a whole number"),
    ],
)
def test_bad_arguments(scenario, arguments, message):
    given = {"regimen": "QD", "doses_mg_per_day": [1, 2], "n_subjects": 10} | arguments
    with pytest.raises(ValueError, match=message):
        dose_response(scenario, **given)


def test_exported_and_documented(response):
    assert pksim.dose_response is dose_response
    assert response["dose"].attrs["units"] == "mg/day"
    assert response["pct_in_range"].attrs["units"] == "%"
    assert response["median"].attrs["units"] == "ng/mL"
    assert response.attrs["dose_response_regimen"] == "BID, 0.5 mg steps"
    assert response.attrs["seed"] == SEED and response.attrs["n_subjects"] == N
    assert (response.attrs["first_day"], response.attrs["last_day"]) == (8, 10)
    assert "at most 10 % above range" in response.attrs["best_rule"]
