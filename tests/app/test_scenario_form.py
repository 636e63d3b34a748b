"""The app's form and TOML writer: a bundled scenario read into the form and written back is
the same scenario; edits land where they should; text fields name their mistakes."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pksim.app.scenario_form import (
    ComedicationForm,
    FormError,
    bundled_mapping,
    form_from_mapping,
    format_bands,
    mapping_from_form,
    parse_bands,
)
from pksim.app.toml_text import to_toml
from pksim.scenario import list_scenarios, load_scenario, scenario_from_text

SCENARIO_FIELDS = ("title", "subjects", "days", "seed", "regimens", "food", "comedications")


@pytest.mark.parametrize("name", list_scenarios())
def test_toml_text_round_trips_every_bundled_scenario(name):
    mapping = bundled_mapping(name)
    assert tomllib.loads(to_toml(mapping, header="a\nb")) == mapping


@pytest.mark.parametrize("name", list_scenarios())
def test_form_and_back_is_the_same_scenario(name):
    original = bundled_mapping(name)
    written = mapping_from_form(form_from_mapping(original), original)
    folder = load_scenario(name).origin.rsplit("/", 1)[0]
    again = scenario_from_text(to_toml(written), base_dir=folder)
    bundled = load_scenario(name)
    for field in SCENARIO_FIELDS:
        assert getattr(again, field) == getattr(bundled, field), field
    assert again.target.target == bundled.target.target
    assert (again.target.day or again.days) == (bundled.target.day or bundled.days)
    assert again.target.window == bundled.target.window
    assert again.population.settings == bundled.population.settings
    assert again.parameter_set.name == bundled.parameter_set.name


def test_edits_land_in_the_scenario():
    original = bundled_mapping("ln-induction")
    form = form_from_mapping(original)
    first = dataclasses.replace(form.regimens[0], amount=4.5, doses_per_day=2, rounding="0.5")
    bands = dataclasses.replace(form.regimens[2], bands="50: 1.5; 70: 0.04/kg; 3")
    form = dataclasses.replace(
        form,
        regimens=(first, form.regimens[1], bands),
        comedications=(ComedicationForm("伏立康唑", "-inf", "", 0.25),),
        phase="custom",
        lower=5.0,
        upper=8.0,
        target_day=21,
        population_settings={"female_fraction": 0.5},
        food="with_meal",
    )
    scenario = scenario_from_text(to_toml(mapping_from_form(form, original)))
    regimen = scenario.regimens[0]
    assert (regimen.daily_dose_mg, len(regimen.dose_clock_times), regimen.round_to_mg) == (
        4.5,
        2,
        0.5,
    )
    assert [
        (b.below_kg, b.daily_dose_mg, b.mg_per_kg_per_day)
        for b in scenario.regimens[2].weight_bands
    ] == [(50, 1.5, None), (70, None, 0.04), (None, 3, None)]
    assert len(scenario.regimens) == 3
    (course,) = scenario.comedications
    assert course.course.drug == "voriconazole" and course.fraction == 0.25
    assert math.isinf(course.course.start_day) and course.course.stop_day is None
    assert (scenario.target.target.lower, scenario.target.target.upper) == (5, 8)
    assert scenario.target.day == 21
    assert scenario.population["female_fraction"] == 0.5
    assert scenario.population["prednisone_mg_per_day"] == 30  # kept from the file
    assert scenario.food.condition == "with_meal"


def test_a_changed_dose_count_drops_the_files_clock_times():
    original = bundled_mapping("food-timing")
    form = form_from_mapping(original)
    once = dataclasses.replace(form.regimens[0], doses_per_day=1)
    kept = form.regimens[1]
    form = dataclasses.replace(form, regimens=(once, kept))
    written = mapping_from_form(form, original)["regimens"]
    assert "dose_clock_times" not in written[0]
    assert written[1]["dose_clock_times"] == ["08:00", "20:00"]
    assert "meals" in mapping_from_form(form, original)["food"]  # food stays the file's meals


def test_form_mistakes_are_named():
    original = bundled_mapping("ln-induction")
    form = form_from_mapping(original)
    form = dataclasses.replace(
        form,
        regimens=(
            dataclasses.replace(form.regimens[0], amount=None),
            dataclasses.replace(form.regimens[2], bands="60: two; 3"),
        ),
        comedications=(ComedicationForm("voriconazole", "day one"),),
    )
    with pytest.raises(FormError) as raised:
        mapping_from_form(form, original)
    problems = raised.value.problems
    assert problems[0] == "regimens[0].daily_dose_mg: give the dose (a number)"
    assert problems[1].startswith("regimens[1].weight_bands: '60: two' is not a band;")
    assert problems[2].startswith("comedications[0].start_day: 'day one' is not a day")


def test_bands_text_round_trips():
    bands = [{"below_kg": 45.5, "daily_dose_mg": 1.5}, {"below_kg": 70, "mg_per_kg_per_day": 0.05}]
    bands.append({"daily_dose_mg": 4.0})
    assert format_bands(bands) == "45.5: 1.5; 70: 0.05/kg; 4"
    assert parse_bands(format_bands(bands), "x") == bands
    with pytest.raises(FormError, match="x: no bands given"):
        parse_bands(" ; ", "x")


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(
            st.text(max_size=20),
            st.integers(-(2**63), 2**63 - 1),
            st.floats(allow_nan=False),
            st.booleans(),
            st.lists(st.text(max_size=5), max_size=3),
        ),
        max_size=5,
    )
)
def test_toml_text_writes_any_strings_and_numbers(mapping):
    document = {"top": mapping, "rows": [dict(mapping), {"x": 1}]}
    assert tomllib.loads(to_toml(document)) == document
