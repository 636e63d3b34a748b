"""Regimens over time: the keys load as written, phases, schedules and every bad input refused
with its dotted key and what is allowed."""

import numpy as np
import pytest

from pksim.dosing.events import dose_events
from pksim.dosing.rounding import split_daily_dose
from pksim.dosing.schedule import schedule
from pksim.errors import ScenarioError
from pksim.scenario import scenario_from_text
from tests.dosing.regimens import load, problems_of

ISSUE_EXAMPLE = dict(
    name="3 mg/day BID, 5 mg/day from day 43",
    daily_dose_mg=3,
    doses_per_day=2,
    changes=[{"day": 43, "daily_dose_mg": 5}],
    holds=[{"first_day": 15, "last_day": 19}],
)


def test_the_issue_example_loads_as_written():
    r = load(**ISSUE_EXAMPLE)
    assert [(p.first_day, p.dose, p.regimen.daily_dose_mg) for p in r.phases] == [
        (1, "set", 3.0),
        (43, "set", 5.0),
    ]
    assert r.holds[0].first_day == 15 and r.holds[0].last_day == 19
    assert r.varies_over_time


def test_daily_doses_follow_changes_and_holds():
    r = load(**ISSUE_EXAMPLE)
    e = dose_events(r, np.array([55.0, 80.0]), 60, seed=1, start=0)
    daily = e.amounts.reshape(2, 60, 2).sum(axis=2)
    expected = np.where(np.arange(1, 61) >= 43, 5.0, 3.0)
    expected[14:19] = 0.0
    np.testing.assert_array_equal(daily, np.tile(expected, (2, 1)))
    np.testing.assert_array_equal(e.in_force[0], np.where(np.arange(1, 61) >= 43, 5.0, 3.0))


def test_switch_prograf_bid_to_advagraf_qd_one_to_one():
    r = load(
        name="switch",
        daily_dose_mg=4,
        doses_per_day=2,
        changes=[{"day": 29, "formulation": "advagraf", "doses_per_day": 1}],
    )
    s = schedule(r, 35)
    assert [p.dose for p in r.phases] == ["set", "keep"]
    assert s.day.size == 28 * 2 + 7
    np.testing.assert_array_equal(s.times[56:], 24.0 * np.arange(28, 35))  # once daily 08:00
    e = dose_events(r, np.array([70.0]), 35, seed=1, start=0)
    assert e.amounts[0, :56].sum() == pytest.approx(28 * 4)
    np.testing.assert_array_equal(e.amounts[0, 56:], 4.0)
    assert s.phases[1].regimen.formulation == "advagraf"


def test_dose_factor_scales_the_dose_in_force_then_rounds():
    r = load(
        name="vori",
        mg_per_kg_per_day=0.05,
        doses_per_day=2,
        round_to_capsules=True,
        changes=[{"day": 8, "dose_factor": 0.3333}],
    )
    w = np.array([50.0, 63.0, 90.0])
    e = dose_events(r, w, 10, seed=1, start=0)
    first = e.in_force[:, 0]
    # 2.5, 3.15 -> 3, 4.5 mg/day; a third rounded to 0.5 mg capsules (ties up), never 0
    np.testing.assert_array_equal(first, [2.5, 3.0, 4.5])
    np.testing.assert_array_equal(e.in_force[:, 7], [1.0, 1.0, 1.5])


def test_changed_dose_count_keeps_the_first_clock_time():
    r = load(
        name="x",
        daily_dose_mg=3,
        dose_clock_times=["07:00", "19:30"],
        changes=[{"day": 3, "doses_per_day": 2}, {"day": 5, "doses_per_day": 1}],
    )
    assert r.phases[1].regimen.dose_clock_times == ("07:00", "19:00")
    assert r.phases[2].regimen.dose_clock_times == ("07:00",)


def test_a_constant_regimen_has_one_phase_and_the_old_split():
    r = load(name="x", daily_dose_mg=2.5, doses_per_day=2, round_to_capsules=True)
    e = dose_events(r, np.array([60.0]), 3, seed=1, start=0)
    assert len(r.phases) == 1 and not r.varies_over_time and e.in_force is None
    np.testing.assert_array_equal(
        e.amounts[0], np.tile(split_daily_dose([2.5], 2, (0.5, 1, 5))[0], 3)
    )


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ({"changes": [{"day": 0, "daily_dose_mg": 5}]}, "changes[0].day", ">= 1"),
        ({"changes": [{"day": 5}]}, "changes[0]", "changes nothing"),
        ({"changes": [{"day": 5, "daily_dose_mg": 5, "dose_factor": 0.5}]}, "changes[0]",
         "at most one"),
        ({"changes": [{"day": 9, "daily_dose_mg": 5}, {"day": 5, "daily_dose_mg": 4}]},
         "changes", "increase"),
        ({"changes": [{"day": 5, "dose": 5}]}, "changes[0].dose", "unknown key"),
        ({"changes": [{"day": 5, "formulation": "advagraf"}]}, "changes[0].doses_per_day",
         "1 time(s) a day"),
        ({"changes": [{"day": 5, "formulation": "envarsus", "doses_per_day": 1,
                       "daily_dose_mg": 3.3}]}, "changes[0].formulation", "cannot give"),
        ({"changes": [{"day": 5, "dose_clock_times": ["09:00", "21:00"]}]},
         "changes[0].dose_clock_times", "must stay at 08:00"),
        ({"holds": [{"first_day": 15, "last_day": 19}, {"first_day": 19, "last_day": 22}]},
         "holds[1]", "overlap"),
        ({"holds": [{"first_day": 15, "last_day": 12}]}, "holds[0].last_day", ">= first_day"),
        ({"holds": [{"first_day": 15}]}, "holds[0].last_day", "required"),
        ({"changes": {"day": 5}}, "changes", "list of tables"),
    ],
)  # fmt: skip
def test_bad_changes_and_holds_are_refused_under_their_key(table, key, words):
    base = {"name": "x", "daily_dose_mg": 3, "doses_per_day": 2}
    found = problems_of(base | table)
    assert any(p.startswith(f"regimens[2].{key}:") and words in p for p in found), found


SCENARIO = """
days = 60
[[regimens]]
name = "a"
daily_dose_mg = 3
doses_per_day = 2
{extra}
[target]
phase = "induction"
"""


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("changes = [{ day = 61, daily_dose_mg = 5 }]", "regimens[0].changes[0].day", "1..60"),
        ("holds = [{ first_day = 55, last_day = 65 }]", "regimens[0].holds[0]", "1..60"),
        ("holds = [{ first_day = 12, last_day = 16 }]\n[regimens.tdm]\nsample_days = [7, 14]\n"
         'rule = "proportional"', "regimens[0].holds[0]", "contain the monitoring draws"),
        ('[regimens.tdm]\nsample_days = [7, 59]\nrule = "proportional"',
         "regimens[0].tdm.sample_days", "after the run's last day"),
        ('[regimens.tdm]\nsample_days = [7, 14]\nrule = "proportional"\naim_ng_per_ml = 12',
         "regimens[0].tdm.aim_ng_per_ml", "6-10 ng/mL"),
    ],
)  # fmt: skip
def test_run_checks_name_the_file_and_key(extra, key, words):
    with pytest.raises(ScenarioError) as error:
        scenario_from_text(SCENARIO.format(extra=extra), origin="trial.toml")
    message = str(error.value)
    assert message.startswith("trial.toml") and f"{key}:" in message and words in message, message
