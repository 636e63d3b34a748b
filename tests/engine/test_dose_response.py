"""Dose response engine: every candidate's troughs from k unit-dose slot runs equal those of
running the regimen with that dose through pksim.run (the independent reference: the ordinary
pipeline, one regimen per candidate), with IIV, IOV, food against the rule, prednisone, a
co-medication's clearance grid, missed and late doses and late trough draws all present."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import pksim
from pksim.contract import target_days
from pksim.dosing.events import dose_events
from pksim.dosing.regimen import Regimen
from pksim.engine.dose_response import (
    MAX_CANDIDATES,
    DoseGrid,
    candidate_chunk,
    dose_grid,
    dose_request,
    slot_amounts,
)
from pksim.engine.plan import prepare
from pksim.scenario import scenario_from_text

N = 400
SEED = 11

SCENARIO = """
schema_version = 1
title = "dose response test"
subjects = 400
days = 14
seed = 5

[population]
name = "chinese-adult-ln"
prednisone_mg_per_day = 30

[variability]
sampling_offset_min_h = -1
sampling_offset_max_h = 1.5

[[regimens]]
name = "BID capsules, adherence"
daily_dose_mg = 3
dose_clock_times = ["07:00", "19:00"]
round_to_capsules = true
missed_dose_probability = 0.1
late_dose_max_h = 3
late_dose_probability = 0.3

[[regimens]]
name = "mg/kg BID, ceiling"
mg_per_kg_per_day = 0.05
doses_per_day = 2
round_to_mg = 0.5
max_daily_dose_mg = 4

[[regimens]]
name = "QD with holds"
daily_dose_mg = 3
doses_per_day = 1
holds = [ { first_day = 4, last_day = 6 } ]

[[regimens]]
name = "BID unrounded"
daily_dose_mg = 3
doses_per_day = 2
missed_dose_probability = 0.1

[[regimens]]
name = "changes"
daily_dose_mg = 3
doses_per_day = 2
changes = [ { day = 8, daily_dose_mg = 4 } ]

[food]
meals = [
  { clock = "07:30", kind = "standard" },
  { clock = "18:30", kind = "standard" },
]
fraction_against_rule = 0.3
violation = "with_meal"

[[comedications]]
drug = "voriconazole"
start_day = 5
stop_day = 9
fraction = 0.5

[target]
phase = "induction"
window = [10, 14]
"""


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_text(SCENARIO)


def _reference(scenario, candidate: Regimen, days):
    """Troughs (n, days) of the candidate run on its own through pksim.run."""
    ds = pksim.run(scenario.replace(regimens=(candidate,)), N, SEED)
    return ds, ds["trough"].sel(day=slice(*days)).values[0]


@pytest.mark.parametrize(
    ("name", "grid"),
    [
        ("BID capsules, adherence", dose_grid([0.5, 1, 2.5, 3.2, 7])),
        ("mg/kg BID, ceiling", dose_grid(doses_mg_per_kg_per_day=[0.02, 0.05, 0.11])),
        ("QD with holds", dose_grid([1.5, 4])),
        ("BID unrounded", dose_grid([0.7, 3.3])),
        ("BID capsules, adherence", dose_grid([1, 2, 6])),  # capsules, but even splits
    ],
)
def test_candidate_troughs_equal_a_run_of_each_dose(scenario, name, grid):
    days = target_days(scenario)
    request = dose_request(scenario, name, grid, days=days, measured=True)
    chunk = candidate_chunk(prepare(scenario, N, SEED), 0, N, request)
    every = np.stack([chunk.troughs(c) for c in range(len(request.candidates))])
    np.testing.assert_array_equal(chunk.all_troughs(), every)
    scenario = scenario.replace(output=dataclasses.replace(scenario.output, measured=True))
    for index, candidate in enumerate(request.candidates):
        ds, expected = _reference(scenario, candidate, days)
        got = chunk.troughs(index)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(
            np.broadcast_to(chunk.daily[index], (N,)), ds["daily_dose_mg"].values[0]
        )
        observed = chunk.measured(index)
        measured = ds["trough_measured"].sel(day=slice(*days)).values[0]
        np.testing.assert_allclose(observed.measured, measured, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize(
    ("name", "grid", "even"),
    [
        ("BID unrounded", dose_grid([0.7, 3.3]), True),  # no rounding: equal doses
        ("QD with holds", dose_grid([1.5, 4]), True),  # one dose a day
        ("BID capsules, adherence", dose_grid([1, 2, 6]), True),  # 0.5+0.5, 1+1, 3+3
        ("BID capsules, adherence", dose_grid([1, 2.5]), False),  # 1.5+1
        ("mg/kg BID, ceiling", dose_grid(doses_mg_per_kg_per_day=[0.02]), False),  # per weight
    ],
)
def test_one_unit_run_when_every_candidate_splits_evenly(scenario, name, grid, even):
    request = dose_request(scenario, name, grid, days=(14, 14), measured=False)
    assert request.even_split is even
    chunk = candidate_chunk(prepare(scenario, 20, SEED), 0, 20, request)
    assert chunk.responses.shape[0] == (1 if even else 2 if "BID" in name else 1)


def test_candidate_amounts_are_the_regimens_doses(scenario):
    """Per-subject amounts (mg/kg with ceiling and rounding) as dose_events gives them."""
    weight = np.linspace(38.0, 110.0, 50)
    regimen = scenario.regimens[1]
    for value in (0.02, 0.05, 0.08):
        candidate = dataclasses.replace(regimen, mg_per_kg_per_day=value)
        daily, per_dose = slot_amounts(candidate, weight)
        events = dose_events(candidate, weight, 2, seed=1, start=0)
        np.testing.assert_array_equal(np.broadcast_to(per_dose, (50, 2)), events.amounts[:, :2])
        np.testing.assert_array_equal(np.broadcast_to(daily, (50,)), events.daily_dose_mg)
        assert np.all(daily <= 4.0)


@pytest.mark.parametrize(
    ("daily", "strengths_key", "expected"),
    [
        (2.5, {"round_to_capsules": True}, [1.5, 1.0]),  # the split rule: larger dose first
        (2.4, {"round_to_mg": 0.5}, [1.5, 1.0]),  # 2.4 rounds to 2.5 mg/day
        (2.74, {"round_to_mg": 0.5}, [1.5, 1.0]),
        (2.75, {"round_to_mg": 0.5}, [1.5, 1.5]),  # ties go up
        (3.0, {}, [1.5, 1.5]),
        (2.5, {}, [1.25, 1.25]),  # no rounding: equal doses
    ],
)
def test_capsule_rounding_and_split(daily, strengths_key, expected):
    regimen = Regimen(name="r", daily_dose_mg=daily, doses_per_day=2, **strengths_key)
    _, per_dose = slot_amounts(regimen, np.array([50.0, 70.0]))
    np.testing.assert_array_equal(per_dose, [expected])


def test_subjects_do_not_depend_on_the_chunk(scenario):
    days = target_days(scenario)
    request = dose_request(
        scenario, "BID capsules, adherence", dose_grid([2, 3]), days=days, measured=False
    )
    plan = prepare(scenario, N, SEED)
    whole = candidate_chunk(plan, 0, N, request)
    parts = [candidate_chunk(plan, a, b, request) for a, b in ((0, 150), (150, 333), (333, N))]
    for c in range(2):
        np.testing.assert_array_equal(
            np.concatenate([p.troughs(c) for p in parts]), whole.troughs(c)
        )


def test_changes_and_tdm_are_refused_with_the_reason(scenario):
    days = target_days(scenario)
    with pytest.raises(
        ValueError,
        match=r"regimen 'changes' cannot have a dose response: it "
        r"changes its dose or schedule during the run \(changes from day 8\)",
    ):
        dose_request(scenario, "changes", dose_grid([1]), days=days, measured=False)
    tdm = Regimen.from_mapping(
        {
            "name": "tdm",
            "daily_dose_mg": 3,
            "doses_per_day": 2,
            "tdm": {
                "sample_days": [7],
                "result_delay_days": 1,
                "rule": "proportional",
                "aim_ng_per_ml": 8,
            },
        },
        "regimens[0]",
        problems := __import__("pksim.errors", fromlist=["Problems"]).Problems(),
    )
    assert tdm is not None, list(problems)
    with pytest.raises(
        ValueError,
        match=r"regimen 'tdm' cannot have a dose response: its doses "
        r"are decided by monitoring",
    ):
        dose_request(
            scenario.replace(regimens=(tdm,)), None, dose_grid([1]), days=days, measured=False
        )


def test_regimen_names(scenario):
    days = target_days(scenario)
    with pytest.raises(ValueError, match=r"the scenario has 5 regimens: name the one"):
        dose_request(scenario, None, dose_grid([1]), days=days, measured=False)
    with pytest.raises(ValueError, match=r"unknown regimen 'QD with hold'.*did you mean"):
        dose_request(scenario, "QD with hold", dose_grid([1]), days=days, measured=False)
    with pytest.raises(
        ValueError,
        match=r"candidate dose 150 mg/day of regimen 'QD with holds'"
        r": daily_dose_mg: 150 mg/day is implausible",
    ):
        dose_request(scenario, "QD with holds", dose_grid([1, 150]), days=days, measured=False)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "exactly one of doses_mg_per_day or doses_mg_per_kg_per_day, got 0"),
        ({"doses_mg_per_day": [1], "doses_mg_per_kg_per_day": [0.1]}, "got 2"),
        ({"doses_mg_per_day": "1:8"}, "must be a list of numbers"),
        ({"doses_mg_per_day": [1, "2"]}, "must hold numbers"),
        ({"doses_mg_per_day": [1, True]}, "must hold numbers"),
        ({"doses_mg_per_day": [0, 1]}, r"must be finite and > 0 mg/day, got 0"),
        ({"doses_mg_per_kg_per_day": [0.1, float("nan")]}, r"> 0 mg/kg/day, got nan"),
        ({"doses_mg_per_day": []}, "at least one dose"),
        ({"doses_mg_per_day": [2, 1, 2]}, "lists 2 more than once"),
        ({"doses_mg_per_day": [[1, 2]]}, "must be a list of numbers"),
        ({"doses_mg_per_day": np.arange(1, MAX_CANDIDATES + 2)}, "at most 500 candidate"),
    ],
)
def test_bad_grids(arguments, message):
    with pytest.raises(ValueError, match=message):
        dose_grid(**arguments)


def test_grid_is_sorted():
    assert dose_grid([3, 1, 2.5]) == DoseGrid((1.0, 2.5, 3.0), "mg/day")
    with pytest.raises(ValueError, match="unknown dose units"):
        DoseGrid((1.0,), "mg")
