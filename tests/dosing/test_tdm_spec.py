"""The ``[regimens.tdm]`` table: the issue's keys load as written; every bad plan is refused
with its dotted key and what is allowed."""

import pytest

from pksim.dosing.tdm import CONSENSUS_ESCALATION_FROM_DAY, StepBand
from tests.dosing.regimens import load, problems_of

BASE = {"name": "x", "daily_dose_mg": 3, "doses_per_day": 2}
STEPS = [
    {"from_ng_per_ml": 0, "to_ng_per_ml": 6, "change_mg_per_day": 0.5},
    {"from_ng_per_ml": 6, "to_ng_per_ml": 10, "change_mg_per_day": 0},
    {"from_ng_per_ml": 10, "to_ng_per_ml": 15, "change_mg_per_day": -0.5},
    {"from_ng_per_ml": 15, "change_mg_per_day": -1, "hold_days": 1},
]


def test_the_issue_example_loads_as_written():
    plan = load(
        **BASE,
        tdm={
            "sample_days": [7, 14, 28, 42, 56],
            "result_delay_days": 1,
            "rule": "proportional",
            "aim_ng_per_ml": 8,
        },
    ).tdm
    assert plan.sample_days == (7, 14, 28, 42, 56) and plan.aim_ng_per_ml == 8
    assert plan.effective_days() == (9, 16, 30, 44, 58)


def test_step_table_and_escalation_defaults():
    plan = load(**BASE, tdm={"sample_days": [7], "rule": "steps", "steps": STEPS}).tdm
    assert plan.steps[-1] == StepBand(15.0, None, -1.0, 1)
    plan = load(**BASE, tdm={"sample_days": [56, 70], "rule": "consensus-escalation"}).tdm
    assert plan.from_day == CONSENSUS_ESCALATION_FROM_DAY == 57
    assert plan.max_mg_per_kg_per_day == 0.1 and plan.result_delay_days == 1


@pytest.mark.parametrize(
    ("tdm", "key", "words"),
    [
        ({"rule": "proportional"}, "tdm.sample_days", "required"),
        ({"sample_days": [7, 7], "rule": "proportional"}, "tdm.sample_days", "increasing"),
        ({"sample_days": [7, 14], "rule": "bayes"}, "tdm.rule", "unknown monitoring rule"),
        ({"sample_days": [7, 9], "rule": "proportional", "result_delay_days": 2},
         "tdm.result_delay_days", "shortest gap between draws (2 days)"),
        ({"sample_days": [7], "rule": "proportional", "aim_ng_per_ml": -1},
         "tdm.aim_ng_per_ml", "> 0"),
        ({"sample_days": [7], "rule": "proportional", "steps": STEPS}, "tdm.steps",
         "does not apply"),
        ({"sample_days": [7], "rule": "steps", "steps": [STEPS[0], STEPS[2], STEPS[3]]},
         "tdm.steps[1].from_ng_per_ml", "gap"),
        ({"sample_days": [7], "rule": "steps",
          "steps": [STEPS[0], {**STEPS[1], "from_ng_per_ml": 5}, *STEPS[2:]]},
         "tdm.steps[1].from_ng_per_ml", "overlaps"),
        ({"sample_days": [7], "rule": "steps", "steps": STEPS[1:]},
         "tdm.steps[0].from_ng_per_ml", "must be 0"),
        ({"sample_days": [7], "rule": "steps", "steps": STEPS[:3]}, "tdm.steps[2]",
         "no to_ng_per_ml"),
        ({"sample_days": [7], "rule": "steps", "steps": [{**STEPS[0], "to_ng_per_ml": 0}]},
         "tdm.steps[0].to_ng_per_ml", "above from_ng_per_ml"),
        ({"sample_days": [7], "rule": "consensus-escalation", "step_mg_per_day": 0},
         "tdm.step_mg_per_day", "> 0"),
        ({"sample_days": [7], "rule": "proportional", "typo": 1}, "tdm.typo", "unknown key"),
    ],
)  # fmt: skip
def test_bad_plans_are_refused_under_their_key(tdm, key, words):
    found = problems_of(BASE | {"tdm": tdm})
    assert any(p.startswith(f"regimens[2].{key}:") and words in p for p in found), found


def test_a_plan_made_in_python_is_checked_too():
    from pksim.dosing.tdm import TdmPlan
    from pksim.errors import Invalid

    plan = TdmPlan((7, 14), "steps", steps=(StepBand(0, 6, 0.5), StepBand(6, None, 0.0)))
    assert plan.as_table()["steps"][1] == {"from_ng_per_ml": 6, "change_mg_per_day": 0.0,
                                           "hold_days": 0}  # fmt: skip
    with pytest.raises(Invalid, match="aim_ng_per_ml: must be > 0"):
        TdmPlan((7,), "proportional", aim_ng_per_ml=-1.0)
    with pytest.raises(Invalid, match=r"steps\[1\]\.from_ng_per_ml"):
        TdmPlan((7,), "steps", steps=(StepBand(0, 6, 0.5), StepBand(7, None, 0.0)))
