"""Consensus target ranges and per-subject bounds (renal impairment: tests/cohort/test_renal.py).

Reference for every number: Chinese expert consensus on tacrolimus in lupus nephritis
(source key LNConsensus; /work/shared/seeds/000_925da1d3fb61b989.txt, section 1.2):
induction 6-10 ng/mL, maintenance 3-6 ng/mL; serum creatinine more than 20 % above normal or
eGFR < 40 mL/min/1.73 m2: trough <= 4 ng/mL.
"""

import tomllib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pksim.errors import Invalid, Problems
from pksim.library import targets
from pksim.library.targets import TargetPlan, TargetRange


def test_bundled_ranges_are_the_consensus_values():
    """LNConsensus 1.2 (1)-(3): 6-10, 3-6 and <= 4 ng/mL; the renal floor is the maintenance
    lower bound (3 ng/mL), so a sub-therapeutic regimen cannot be 'in range' (issue 12)."""
    ranges = targets.load_targets()
    assert set(ranges) == {"induction", "maintenance", "renal_impairment"}
    assert (ranges["induction"].lower, ranges["induction"].upper) == (6.0, 10.0)
    assert (ranges["maintenance"].lower, ranges["maintenance"].upper) == (3.0, 6.0)
    assert ranges["renal_impairment"].upper == 4.0
    assert ranges["renal_impairment"].lower == ranges["maintenance"].lower == 3.0
    assert {r.source for r in ranges.values()} == {"LNConsensus"}


def test_every_source_resolves_and_has_an_evidence_tag():
    data = tomllib.loads(resources.files("pksim").joinpath("data/targets.toml").read_text())
    refs = tomllib.loads(resources.files("pksim").joinpath("data/references.toml").read_text())
    entries = [*data["ranges"].values(), *data["renal_impairment"].values()]
    for entry in entries:
        assert entry["source"] in refs
        assert entry["evidence"] in {"V", "I", "M", "D"}
        assert entry["units"]


def test_load_targets_returns_a_copy():
    first = targets.load_targets()
    first.pop("induction")
    assert "induction" in targets.load_targets()


def test_subject_bounds_apply_the_ceiling_per_subject():
    impaired = np.array([False, True, False, True])
    lower, upper = targets.subject_target_bounds("induction", impaired)
    np.testing.assert_array_equal(lower, [6.0, 3.0, 6.0, 3.0])
    np.testing.assert_array_equal(upper, [10.0, 4.0, 10.0, 4.0])
    lower, upper = targets.subject_target_bounds("maintenance", impaired)
    np.testing.assert_array_equal(upper, [6.0, 4.0, 6.0, 4.0])


def test_custom_ranges_for_phase_and_renal_ceiling():
    custom = TargetRange(5, 8, label="5-8", source="user")
    lower, upper = targets.subject_target_bounds(custom, np.array([False, True]))
    np.testing.assert_array_equal(lower, [5.0, 3.0])
    np.testing.assert_array_equal(upper, [8.0, 4.0])
    # A phase ceiling below the renal one wins for impaired subjects too.
    low = TargetRange(1, 3, label="1-3", source="user")
    lower, upper = targets.subject_target_bounds(low, np.array([True]))
    assert (lower[0], upper[0]) == (1.0, 3.0)  # the floor is never above the phase's own
    renal = TargetRange(2, 5, label="renal 2-5", source="user")
    lower, upper = targets.subject_target_bounds("induction", np.array([True]), renal=renal)
    assert (lower[0], upper[0]) == (2.0, 5.0)
    lower, upper = targets.subject_target_bounds(
        low, np.array([True]), renal=TargetRange(3.5, 4, "x", "y")
    )
    assert (lower[0], upper[0]) == (1.0, 3.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lower": 6, "upper": 6}, "lower must be below upper"),
        ({"lower": 10, "upper": 6}, "lower must be below upper"),
        ({"lower": -1, "upper": 6}, "lower: must be a finite number >= 0"),
        ({"lower": 1, "upper": float("inf")}, "upper: must be a finite number >= 0"),
        ({"lower": "6", "upper": 10}, "lower: must be a number in ng/mL"),
        ({"lower": True, "upper": 10}, "lower: must be a number"),
        ({"label": ""}, "label: must be a non-empty string"),
        ({"source": None}, "source: must be a non-empty string"),
        ({"label": "a\x00b"}, "label: must hold printable characters only"),
        ({"label": "l" * 101}, "label: must be at most 100 characters"),
        ({"lower": 10**400}, "lower: must be a finite number >= 0 ng/mL, got an integer of"),
    ],
)
def test_bad_target_ranges_are_refused(kwargs, message):
    args = {"lower": 1.0, "upper": 2.0, "label": "x", "source": "user"} | kwargs
    with pytest.raises(ValueError, match=message):
        TargetRange(**args)


def test_every_problem_of_a_range_is_reported():
    with pytest.raises(Invalid) as caught:
        TargetRange(-1, "x", "", "user")
    assert list(caught.value.problems) == [
        "lower: must be a finite number >= 0 ng/mL, got -1",
        "upper: must be a number in ng/mL, got 'x'",
        "label: must be a non-empty string, got ''",
    ]


def test_unknown_phase_suggests_the_closest_name():
    with pytest.raises(ValueError, match=r"'inducton' \(did you mean \"induction\"\?\); valid: "):
        targets.subject_target_bounds("inducton", np.array([False]))


def test_renal_flags_must_be_boolean():
    with pytest.raises(ValueError, match="renal_impaired must be a boolean array"):
        targets.subject_target_bounds("induction", np.array([0, 1]))


def test_in_range_is_inclusive_and_nan_is_out():
    lower, upper = np.array([6.0, 6.0, 6.0, 6.0, 0.0]), np.array([10.0, 10.0, 10.0, 10.0, 4.0])
    trough = np.array([6.0, 10.0, 5.999, np.nan, 0.1])
    np.testing.assert_array_equal(targets.in_range(trough, lower, upper), [1, 1, 0, 0, 1])


def test_in_range_on_day_and_every_day():
    # dims (regimen=2, subject=2, day=3); bounds per subject
    trough = np.array(
        [
            [[5.0, 7.0, 8.0], [3.0, 3.5, 4.5]],
            [[7.0, 9.0, 11.0], [4.0, 3.9, 3.0]],
        ]
    )
    lower, upper = np.array([6.0, 0.0]), np.array([10.0, 4.0])
    np.testing.assert_array_equal(
        targets.in_range_on_day(trough, lower, upper), [[True, False], [False, True]]
    )
    np.testing.assert_array_equal(
        targets.in_range_on_day(trough, lower, upper, day=1), [[False, True], [True, True]]
    )
    np.testing.assert_array_equal(
        targets.in_range_every_day(trough, lower, upper, first_day=2),
        [[True, False], [False, True]],
    )
    np.testing.assert_array_equal(
        targets.in_range_every_day(trough, lower, upper, first_day=1, last_day=2),
        [[False, True], [True, True]],
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: targets.in_range_on_day(c, 0, 1, day=0), r"integer day in 1\.\.3, got 0"),
        (lambda c: targets.in_range_on_day(c, 0, 1, day=4), r"integer day in 1\.\.3, got 4"),
        (lambda c: targets.in_range_on_day(c, 0, 1, day=2.0), "day must be an integer"),
        (lambda c: targets.in_range_every_day(c, 0, 1, 3, 2), "must not be before first_day"),
        (lambda c: targets.in_range_on_day(c[0], 0, 1), r"dims \(\.\.\., subject, day\)"),
    ],
)
def test_bad_days_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.ones((2, 3)))


@given(
    st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=6),
    st.floats(0, 10),
    st.floats(0.1, 10),
)
def test_every_day_implies_in_range_on_each_day(days, lower, width):
    """The window criterion equals the conjunction of the single-day criterion."""
    trough = np.array([days])
    lo, hi = np.array([lower]), np.array([lower + width])
    every = targets.in_range_every_day(trough, lo, hi, first_day=1)
    each = [targets.in_range_on_day(trough, lo, hi, day=d + 1)[0] for d in range(len(days))]
    assert every[0] == all(each)


def test_custom_bounds_beyond_plausibility_are_refused():
    """An upper bound of 10**400 crashed the label ("custom 5-1e400 ng/mL") with OverflowError."""
    problems = Problems()
    table = {"lower_ng_per_ml": 5, "upper_ng_per_ml": 10**400}
    assert TargetPlan.from_mapping(table, "target", problems, days=28) is None
    assert list(problems) == [
        "target.upper_ng_per_ml: must be > 0 ng/mL and <= 100 ng/mL, got an integer of 1,329 bits"
    ]
