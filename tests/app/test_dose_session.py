"""The app's dose response: pksim.dose_response of the form's scenario, its table and best dose."""

from __future__ import annotations

import math

import pytest

import pksim
from pksim.app import dose_session, session
from pksim.app.scenario_form import bundled_mapping
from pksim.errors import ScenarioError
from pksim.results.dose_response import best_dose

N = 200


@pytest.fixture(scope="module")
def response():
    text = session.scenario_text(bundled_mapping("ln-induction") | {"subjects": N}, "test")
    return dose_session.respond(text, "1.5 mg BID", "1:5:1")


def test_it_is_pksim_dose_response(response):
    scenario = pksim.load_scenario("ln-induction")
    expected = pksim.dose_response(
        scenario, regimen="1.5 mg BID", doses_mg_per_day=[1, 2, 3, 4, 5], n_subjects=N
    )
    assert response.equals(expected)


def test_table_and_best_dose(response):
    table = dose_session.dose_table(response)
    assert list(table["dose (mg/day)"]) == ["1", "2", "3", "4", "5"]
    for i, dose in enumerate(response["dose"].values):
        row = response.sel(dose=dose)
        assert table["% in range"][i] == f"{float(row['pct_in_range']):.1f}"
        assert table["% above"][i] == f"{float(row['pct_above']):.1f}"
    best = float(best_dose(response))
    assert not math.isnan(best)
    assert table.loc[table["note"] == "best", "dose (mg/day)"].tolist() == [f"{best:g}"]
    assert dose_session.best_text(response).startswith(f"Best dose: {best:g} mg/day")


def test_messages():
    text = session.scenario_text(bundled_mapping("voriconazole-dose-cut") | {"subjects": 20}, "t")
    with pytest.raises(ValueError, match="changes"):
        dose_session.respond(text, "cut to 1/3 on day 15", "1:3:1")
    with pytest.raises(ValueError, match="candidate doses 'two' is not a list of numbers"):
        dose_session.respond(text, "3 mg/day, unchanged", "two")
    with pytest.raises((ScenarioError, ValueError), match="nobody"):
        dose_session.respond(text, "nobody", "1:3:1")
