"""Regimen specs: loaded from scenario tables or built in Python, checked once, every problem
reported under its key (DESIGN.md's regimens load as written)."""

import dataclasses
import datetime
import math
import tomllib

import pytest

from pksim.dosing.regimen import Regimen, WeightBand
from pksim.errors import Invalid, Problems
from tests.dosing.regimens import load, problems_of
from tests.test_scenario import DESIGN_EXAMPLE  # DESIGN.md's scenario, verbatim

# ----------------------------------------------------------------------------- loading


def test_design_scenario_regimens_load_as_written():
    tables = tomllib.loads(DESIGN_EXAMPLE)["regimens"]
    problems = Problems()
    regimens = [Regimen.from_mapping(t, f"regimens[{i}]", problems) for i, t in enumerate(tables)]
    assert not problems
    assert [r.doses_per_day for r in regimens] == [1, 2, 2, 2]
    assert regimens[0].dose_clock_times == ("08:00",)
    assert regimens[1].dose_clock_times == ("08:00", "20:00")
    assert regimens[2].weight_bands == (
        WeightBand(below_kg=60.0, daily_dose_mg=2.0),
        WeightBand(daily_dose_mg=3.0),
    )
    assert regimens[3].round_to_mg == 0.5
    assert all(r.formulation == "prograf" for r in regimens)


def test_regimen_is_frozen_and_can_be_built_directly():
    r = Regimen("x", daily_dose_mg=3, doses_per_day=2)
    assert r.dose_clock_times == ("08:00", "20:00")
    with pytest.raises(AttributeError):
        r.daily_dose_mg = 4  # type: ignore[misc]
    with pytest.raises(ValueError, match="give exactly one of daily_dose_mg"):
        Regimen("x", doses_per_day=2)
    with pytest.raises(ValueError, match="daily_dose_mg: must be a finite number"):
        Regimen("x", daily_dose_mg="3", doses_per_day=2)  # type: ignore[arg-type]
    with pytest.raises(Invalid, match=r"regimen 'x': 2 problems"):
        Regimen("x", daily_dose_mg=math.nan, doses_per_day=2, missed_dose_probability=1.0)


def test_one_validation_keeps_a_regimen_valid_after_replace():
    """dataclasses.replace re-checks the changed regimen: the normalised fields stay valid."""
    r = Regimen("x", daily_dose_mg=3, dose_clock_times=("07:30", "19:30"))
    later = dataclasses.replace(r, late_dose_max_h=2.0)
    assert later.dose_clock_times == ("07:30", "19:30") and later.doses_per_day == 2
    with pytest.raises(Invalid, match="late_dose_max_h: must be shorter"):
        dataclasses.replace(r, late_dose_max_h=12.0)


def test_formulation_aliases_resolve_to_the_product_name():
    assert load(name="a", daily_dose_mg=3, doses_per_day=1, formulation="LCP").formulation == (
        "envarsus"
    )
    assert load(name="a", daily_dose_mg=3, doses_per_day=2, formulation="ir").formulation == (
        "prograf"
    )


# ----------------------------------------------------------------------------- bad input


BASE = {"name": "r", "daily_dose_mg": 3, "doses_per_day": 2}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"dose_mg": 3},
            "regimens[2].dose_mg: unknown regimen key 'dose_mg' (did you mean \"daily_dose_mg\"?)",
        ),
        ({"name": None}, "regimens[2].name: required"),
        ({"name": ""}, "regimens[2].name: must be a non-empty string"),
        ({"round_to_mg": -1}, "regimens[2].round_to_mg: must be > 0 mg, got -1"),
        ({"round_to_mg": 0.0004}, "regimens[2].round_to_mg: must be a whole number of micrograms"),
        ({"daily_dose_mg": 3000}, "regimens[2].daily_dose_mg: 3000 mg/day is implausible"),
        ({"daily_dose_mg": 0}, "regimens[2].daily_dose_mg: must be > 0 mg/day, got 0"),
        ({"daily_dose_mg": "3"}, "regimens[2].daily_dose_mg: must be a finite number in mg"),
        ({"daily_dose_mg": True}, "regimens[2].daily_dose_mg: must be a finite number"),
        (
            {"daily_dose_mg": None},
            "regimens[2]: give exactly one of daily_dose_mg, "
            "mg_per_kg_per_day or weight_bands, got none",
        ),
        ({"mg_per_kg_per_day": 0.05}, "got daily_dose_mg and mg_per_kg_per_day"),
        (
            {"daily_dose_mg": None, "mg_per_kg_per_day": 5},
            "regimens[2].mg_per_kg_per_day: 5 mg/kg/day is implausible",
        ),
        ({"max_mg_per_kg_per_day": 0}, "regimens[2].max_mg_per_kg_per_day: must be > 0"),
        ({"doses_per_day": 0}, r"regimens[2].doses_per_day: must be 1..4, got 0"),
        ({"doses_per_day": 2.5}, "regimens[2].doses_per_day: must be a whole number 1..4"),
        ({"doses_per_day": None}, "regimens[2]: give doses_per_day (1..4) or dose_clock_times"),
        ({"formulation": "envarsus"}, "regimens[2].doses_per_day: envarsus is taken 1 time(s)"),
        (
            {"formulation": "prograff"},
            """regimens[2].formulation: unknown formulation 'prograff' (did you mean "prograf"?)""",
        ),
        (
            {"dose_clock_times": ["08:00", "20:00", "14:00"]},
            "regimens[2].doses_per_day: 2 does not match the 3 dose_clock_times",
        ),
        (
            {"doses_per_day": None, "dose_clock_times": ["8am", "24:00"]},
            'regimens[2].dose_clock_times[0]: must be a clock time "HH:MM"',
        ),
        (
            {"doses_per_day": None, "dose_clock_times": ["08:00", "08:00"]},
            "regimens[2].dose_clock_times: clock times must be distinct and listed in the order",
        ),
        (
            {"doses_per_day": None, "dose_clock_times": []},
            "regimens[2].dose_clock_times: must be a non-empty list",
        ),
        ({"round_to_capsules": "yes"}, "regimens[2].round_to_capsules: must be true or false"),
        (
            {"round_to_capsules": True, "round_to_mg": 0.5},
            "regimens[2]: give round_to_mg or round_to_capsules = true, not both",
        ),
        (
            {"missed_dose_probability": 1.0},
            r"regimens[2].missed_dose_probability: must be in [0, 1), got 1",
        ),
        ({"missed_dose_probability": -0.1}, "regimens[2].missed_dose_probability: must be in"),
        (
            {"late_dose_max_h": 12},
            "regimens[2].late_dose_max_h: must be shorter than the "
            "shortest interval between doses (12 h), got 12 h",
        ),
        ({"late_dose_max_h": -1}, "regimens[2].late_dose_max_h: must be >= 0 h"),
        (
            {"late_dose_probability": 0.5},
            "regimens[2].late_dose_probability: needs late_dose_max_h (the largest delay) > 0 h",
        ),
        (
            {"late_dose_max_h": 1, "late_dose_probability": 1.5},
            r"regimens[2].late_dose_probability: must be in [0, 1], got 1.5",
        ),
    ],
)
def test_bad_regimen_keys_are_named(change, message):
    table = {k: v for k, v in (BASE | change).items() if v is not None}
    found = problems_of(table)
    assert any(message in problem for problem in found), found


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([], "regimens[2].weight_bands: must be a non-empty list of tables"),
        ([3], "regimens[2].weight_bands[0]: must be a table"),
        (
            [{"below_kg": 60, "daily_dose_mg": 2}, {"below_kg": 90, "daily_dose_mg": 3}],
            "regimens[2].weight_bands[1].below_kg: the last band is open-ended; remove below_kg",
        ),
        (
            [{"daily_dose_mg": 2}, {"daily_dose_mg": 3}],
            "regimens[2].weight_bands[0].below_kg: required on every band but the last",
        ),
        (
            [
                {"below_kg": 60, "daily_dose_mg": 2},
                {"below_kg": 50, "daily_dose_mg": 2},
                {"daily_dose_mg": 3},
            ],
            "regimens[2].weight_bands[1].below_kg: must be > 60 kg (bands ascending), got 50",
        ),
        (
            [{"below_kg": 60, "daily_dose_mg": 2, "mg_per_kg_per_day": 0.05}, {"daily_dose_mg": 3}],
            "regimens[2].weight_bands[0]: give exactly one of daily_dose_mg or mg_per_kg_per_day, "
            "got daily_dose_mg and mg_per_kg_per_day",
        ),
        (
            [{"below_kg": 60, "dose": 2}, {"daily_dose_mg": 3}],
            "regimens[2].weight_bands[0].dose: unknown weight band key 'dose'",
        ),
        (
            [{"below_kg": -60, "daily_dose_mg": 2}, {"daily_dose_mg": 3}],
            "regimens[2].weight_bands[0].below_kg: must be > 2 kg and <= 300 kg (plausible body "
            "weights), got -60",
        ),
        (
            [{"below_kg": 60, "daily_dose_mg": 2000}, {"daily_dose_mg": 3}],
            "regimens[2].weight_bands[0].daily_dose_mg: 2000 mg/day is implausible",
        ),
    ],
)
def test_bad_weight_bands_are_named(bands, message):
    table = {"name": "b", "doses_per_day": 2, "weight_bands": bands}
    found = problems_of(table)
    assert any(message in problem for problem in found), found


def test_every_problem_is_reported_at_once():
    table = {
        "nme": "x",
        "daily_dose_mg": -1,
        "doses_per_day": 7,
        "round_to_mg": 0,
        "missed_dose_probability": 2,
        "formulation": "nope",
    }
    lines = problems_of(table, "regimens[0]")
    keys = [
        "nme",
        "name",
        "daily_dose_mg",
        "doses_per_day",
        "round_to_mg",
        "missed_dose_probability",
        "formulation",
    ]
    assert len(lines) == len(keys)
    for key in keys:
        assert any(line.startswith(f"regimens[0].{key}:") for line in lines), key


def test_non_table_regimen():
    assert problems_of(["3 mg"], "regimens[1]") == [
        "regimens[1]: must be a table of regimen settings, got ['3 mg']"
    ]


def test_direct_construction_reports_every_problem_under_its_field():
    with pytest.raises(Invalid) as caught:
        Regimen(
            "x",
            weight_bands=(WeightBand(below_kg="60", daily_dose_mg=2), WeightBand(daily_dose_mg=3)),
            dose_clock_times=("8am",),
            round_to_capsules="yes",  # type: ignore[arg-type]
        )
    assert list(caught.value.problems) == [
        "weight_bands[0].below_kg: must be a finite number in kg, got '60'",
        'dose_clock_times[0]: must be a clock time "HH:MM" from 00:00 to 23:59 (to the minute), '
        "got '8am'",
        "round_to_capsules: must be true or false, got 'yes'",
    ]


# ----------------------------------------------------------------------------- limits (issue 15)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "a\x00b"}, "regimens[2].name: must hold printable characters only"),
        ({"name": "\x1b[31mred"}, r"found ESC (escape sequence) at position 0 of '\x1b[31mred'"),
        ({"name": "r\u202e"}, "found U+202E at position 1"),
        ({"name": "n" * 101}, "regimens[2].name: must be at most 100 characters"),
        ({"daily_dose_mg": 5e-324}, "must be at least 0.001 mg/day (the dose resolution"),
        ({"daily_dose_mg": 0.0009}, "must be at least 0.001 mg/day"),
        (
            {"daily_dose_mg": None, "mg_per_kg_per_day": 1e-5},
            "regimens[2].mg_per_kg_per_day: must be at least 0.001 mg/kg/day",
        ),
        ({"max_daily_dose_mg": 1e-9}, "regimens[2].max_daily_dose_mg: must be at least 0.001"),
        ({"daily_dose_mg": 10**400}, "got an integer of 1,329 bits"),
        ({"round_to_mg": 0.3}, "0.3 mg cannot be made from the prograf strengths (0.5, 1, 5 mg)"),
        ({"round_to_mg": 1e300}, "regimens[2].round_to_mg: must be <= 100 mg, got 1e+300"),
        (
            {"round_to_mg": 0.25, "formulation": "envarsus", "doses_per_day": 1},
            "0.25 mg cannot be made from the envarsus strengths (0.75, 1, 4 mg)",
        ),
    ],
)
def test_values_that_used_to_pass_are_refused(change, message):
    table = {k: v for k, v in (BASE | change).items() if v is not None}
    found = problems_of(table)
    assert any(message in problem for problem in found), found


@pytest.mark.parametrize(
    ("name", "formulation", "step"), [("a", "prograf", 1.5), ("b", "envarsus", 1.75)]
)
def test_a_rounding_step_the_capsules_make_is_accepted(name, formulation, step):
    table = {"name": name, "daily_dose_mg": 3, "doses_per_day": 1, "round_to_mg": step}
    assert load(**table, formulation=formulation).round_to_mg == step


def test_names_in_any_script_with_spaces_are_accepted_up_to_the_limit():
    assert load(**BASE | {"name": "他克莫司 1.5 mg　BID"}).name == "他克莫司 1.5 mg　BID"
    assert load(**BASE | {"name": "n" * 100}).name == "n" * 100


def test_too_many_bands_or_clock_times_are_one_problem_each():
    bands = [{"below_kg": 10 + i, "daily_dose_mg": 2} for i in range(10**4)] + [
        {"daily_dose_mg": 3}
    ]
    found = problems_of({"name": "b", "doses_per_day": 2, "weight_bands": bands})
    assert found == ["regimens[2].weight_bands: at most 10 bands, got 10001"]
    clocks = ["bad"] * 10**4
    found = problems_of({"name": "c", "daily_dose_mg": 3, "dose_clock_times": clocks})
    assert found == ["regimens[2].dose_clock_times: at most 4 doses a day, got 10000"]


def test_late_doses_are_not_judged_against_clock_times_out_of_order():
    """One problem (the order), not a second one about a 0 h or negative interval."""
    found = problems_of(
        {
            "name": "c",
            "daily_dose_mg": 3,
            "dose_clock_times": ["08:00", "08:00"],
            "late_dose_max_h": 1,
        }
    )
    assert len(found) == 1 and "clock times must be distinct" in found[0], found


def test_clock_times_are_kept_to_the_minute():
    """08:00:10 and 08:00:20 loaded as two doses both written "08:00" (found by hunting)."""
    found = problems_of(
        {
            "name": "s",
            "daily_dose_mg": 3,
            "dose_clock_times": [datetime.time(8, 0, 10), datetime.time(8, 0, 20)],
        }
    )
    assert found[0].startswith('regimens[2].dose_clock_times[0]: must be a clock time "HH:MM"')
    on_the_minute = [datetime.time(8, 0), datetime.time(20, 0)]
    assert load(name="m", daily_dose_mg=3, dose_clock_times=on_the_minute).dose_clock_times == (
        "08:00",
        "20:00",
    )
