"""A regimen's dosing over time in the form: texts read into the scenario's changes, holds and
monitoring plan, back again, and bad texts named with what is allowed."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pksim.app.over_time_form import NO_TDM, OverTimeForm, over_time_form, write_over_time
from pksim.app.scenario_form import (
    FormError,
    bundled_mapping,
    form_from_mapping,
    mapping_from_form,
)
from pksim.app.toml_text import to_toml
from pksim.scenario import scenario_from_text


def _scenario_with(over_time: OverTimeForm, name: str = "tdm-proportional"):
    original = bundled_mapping(name)
    form = form_from_mapping(original)
    first = dataclasses.replace(form.regimens[0], over_time=over_time)
    form = dataclasses.replace(form, regimens=(first, *form.regimens[1:]), subjects=10)
    return scenario_from_text(to_toml(mapping_from_form(form, original)))


def test_changes_holds_and_steps_reach_the_scenario():
    regimen = _scenario_with(
        OverTimeForm(
            changes="10: 4 mg; 20: x0.5, advagraf, 1/day, max 6 mg; 30: 0.06 mg/kg",
            holds="12-13; 40",
            rule="steps",
            sample_days="7, 21, 35",
            result_delay_days=2,
            steps="0-6: +0.5; 6-10: 0; 10-15: -0.5; 15-: -1 hold 1",
        )
    ).regimens[0]
    first, second, third = regimen.changes
    assert (first.day, dict(first.settings)) == (10, {"daily_dose_mg": 4})
    assert (second.day, second.dose_factor) == (20, 0.5)
    assert second.settings["formulation"] == "advagraf"
    assert second.settings["doses_per_day"] == 1
    assert second.settings["max_daily_dose_mg"] == 6
    assert (third.day, dict(third.settings)) == (30, {"mg_per_kg_per_day": 0.06})
    assert [(h.first_day, h.last_day) for h in regimen.holds] == [(12, 13), (40, 40)]
    tdm = regimen.tdm
    assert tdm.sample_days == (7, 21, 35) and tdm.result_delay_days == 2
    assert [
        (b.from_ng_per_ml, b.to_ng_per_ml, b.change_mg_per_day, b.hold_days) for b in tdm.steps
    ] == [(0, 6, 0.5, 0), (6, 10, 0, 0), (10, 15, -0.5, 0), (15, None, -1, 1)]


@pytest.mark.parametrize("name", ["consensus-escalation", "voriconazole-dose-cut"])
def test_the_form_texts_read_back_to_the_same_texts(name):
    for table in bundled_mapping(name)["regimens"]:
        form = over_time_form(table)
        written: dict = {}
        problems: list[str] = []
        write_over_time(form, written, table, "regimens[0]", problems)
        assert not problems and over_time_form(written) == form


def test_removing_monitoring_and_changing_the_rule():
    original = bundled_mapping("consensus-escalation")
    table = dict(original["regimens"][1], tdm=dict(original["regimens"][1]["tdm"], from_day=43))
    form = over_time_form(table)
    kept: dict = {}
    write_over_time(form, kept, table, "r", [])
    assert kept["tdm"]["from_day"] == 43  # a setting the form does not show is kept
    switched: dict = {}
    proportional = dataclasses.replace(form, rule="proportional", aim_ng_per_ml=8.0)
    write_over_time(proportional, switched, table, "r", [])
    assert "from_day" not in switched["tdm"] and switched["tdm"]["aim_ng_per_ml"] == 8.0
    none: dict = {"tdm": {}}
    write_over_time(dataclasses.replace(form, rule=NO_TDM), none, table, "r", [])
    assert "tdm" not in none


def test_bad_texts_name_the_field_and_the_form():
    original = bundled_mapping("tdm-proportional")
    form = form_from_mapping(original)
    bad = OverTimeForm(
        changes="day ten: 4 mg", holds="a-b", rule="steps", sample_days="7, x", steps="6: +1"
    )
    form = dataclasses.replace(
        form, regimens=(dataclasses.replace(form.regimens[0], over_time=bad),)
    )
    with pytest.raises(FormError) as error:
        mapping_from_form(form, original)
    text = str(error.value)
    for needle in (
        "regimens[0].changes: 'day ten: 4 mg' cannot be read",
        "15: x0.3333",
        "regimens[0].holds: 'a-b'",
        "regimens[0].tdm.sample_days: '7, x'",
        "regimens[0].tdm.steps: '6: +1'",
    ):
        assert needle in text, needle


def test_the_validator_names_a_change_outside_the_run():
    with pytest.raises(Exception, match=r"regimens\[0\]\.changes\[0\]\.day"):
        _scenario_with(OverTimeForm(changes="90: 4 mg"))


days = st.integers(1, 56)
doses = st.floats(0.5, 20).map(lambda x: round(x, 3))


@given(
    st.lists(st.tuples(days, doses, st.sampled_from(["", "advagraf", "1/day"])), max_size=4),
    st.lists(st.tuples(days, st.integers(0, 3)), max_size=3),
)
def test_texts_round_trip(changes, holds):
    table = {
        "changes": [
            {"day": d, "daily_dose_mg": x, **({"formulation": f} if f == "advagraf" else {})}
            | ({"doses_per_day": 1} if f == "1/day" else {})
            for d, x, f in changes
        ],
        "holds": [{"first_day": d, "last_day": d + n} for d, n in holds],
    }
    form = over_time_form(table)
    written: dict = {}
    problems: list[str] = []
    write_over_time(form, written, {}, "r", problems)
    assert not problems
    assert written.get("changes", []) == table["changes"]
    assert written.get("holds", []) == table["holds"]
