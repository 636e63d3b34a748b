"""Rounding daily doses to real units and splitting them into the doses of the day.

Capsules: Prograf 0.5, 1 and 5 mg (PrografLabel); Envarsus XR tablets 0.75, 1 and 4 mg
(EnvarsusXRLabel). Checked against a brute-force enumeration of unit combinations written here,
not against the module's own arithmetic.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pksim.dosing import rounding

# ----------------------------------------------------------------------------- brute force


def makeable_ug(strengths_mg, top_mg):
    """Every amount (whole micrograms) up to top_mg made of any counts of the strengths."""
    units = [round(s * 1000) for s in strengths_mg]
    top = round(top_mg * 1000)
    counts = [range(top // u + 1) for u in units]
    return sorted(
        {
            sum(c * u for c, u in zip(combo, units, strict=True))
            for combo in itertools.product(*counts)
        }
    )


def nearest_makeable_mg(dose_mg, strengths_mg, cap_mg=math.inf):
    """Reference rounding rule: nearest makeable amount, ties up; no 0 for a positive dose;
    never above the cap."""
    amounts = makeable_ug(strengths_mg, dose_mg + max(strengths_mg))
    dose_ug = dose_mg * 1000
    best = min(amounts, key=lambda a: (abs(a - dose_ug), -a))
    if best == 0 and dose_mg > 0:
        best = min(a for a in amounts if a > 0)
    if best > cap_mg * 1000 + 1e-6:
        best = max(a for a in makeable_ug(strengths_mg, cap_mg) if a <= cap_mg * 1000 + 1e-6)
    return best / 1000


@settings(max_examples=60)
@given(
    strengths=st.lists(
        st.sampled_from([0.25, 0.5, 0.75, 1.0, 3.0, 4.0, 5.0]), min_size=1, max_size=3, unique=True
    ),
    dose=st.floats(0.0, 9.0),
    cap=st.one_of(st.just(math.inf), st.floats(0.5, 9.0)),
)
@example(strengths=[3.0], dose=5e-324, cap=math.inf)  # underflows to 0 units when scaled
def test_rounding_matches_brute_force(strengths, dose, cap):
    dose = min(dose, cap)
    got = rounding.round_daily_dose([dose], tuple(strengths), cap_mg=cap)[0]
    assert got == pytest.approx(nearest_makeable_mg(dose, strengths, cap), abs=1e-9)


@settings(max_examples=60)
@given(
    strengths=st.lists(
        st.sampled_from([0.25, 0.5, 0.75, 1.0, 3.0, 4.0, 5.0]), min_size=1, max_size=3, unique=True
    ),
    index=st.integers(0, 40),
    doses=st.integers(1, 2),
)
def test_split_is_the_most_even_for_one_or_two_doses(strengths, index, doses):
    """Brute force over every split into makeable amounts: ours sums to the total, uses only
    makeable amounts, puts the larger dose first and has the smallest possible difference."""
    amounts = makeable_ug(strengths, 12.0)
    total = amounts[min(index, len(amounts) - 1)]
    got = rounding.split_daily_dose([total / 1000], doses, tuple(strengths))[0]
    got_ug = [round(g * 1000) for g in got]
    assert sum(got_ug) == total and set(got_ug) <= set(amounts)
    assert got_ug == sorted(got_ug, reverse=True)
    splits = [
        c
        for c in itertools.product([a for a in amounts if a <= total], repeat=doses)
        if sum(c) == total
    ]
    assert max(got_ug) - min(got_ug) == min(max(c) - min(c) for c in splits)


@given(units=st.integers(0, 200), doses=st.integers(1, 4))
def test_split_on_half_milligram_steps_differs_by_at_most_one_step(units, doses):
    got = rounding.split_daily_dose([units * 0.5], doses, (0.5, 1.0, 5.0))[0]
    assert got.sum() == pytest.approx(units * 0.5)
    assert np.all(np.diff(got) <= 0) and got[0] - got[-1] <= 0.5
    assert np.allclose(got * 2, np.round(got * 2))


def test_split_examples_and_errors():
    np.testing.assert_array_equal(rounding.split_daily_dose([3.5], 3, (0.5,)), [[1.5, 1.0, 1.0]])
    np.testing.assert_array_equal(rounding.split_daily_dose([3.0], 2), [[1.5, 1.5]])
    with pytest.raises(ValueError, match=r"daily dose 2.2 mg cannot be made from strengths"):
        rounding.split_daily_dose([2.2], 1, (0.75, 1.0, 4.0))
    with pytest.raises(ValueError, match=r"doses_per_day must be a whole number >= 1, got 0"):
        rounding.split_daily_dose([3.0], 0)
    with pytest.raises(ValueError, match="whole numbers of micrograms"):
        rounding.round_daily_dose([3.0], (0.0001,))
    with pytest.raises(ValueError, match="daily_mg must be finite and >= 0"):
        rounding.round_daily_dose([-1.0], (0.5,))


def test_a_positive_dose_too_small_to_scale_is_never_rounded_to_zero():
    """5e-324 mg is positive, but 0 in units of 3 mg after scaling: the smallest unit is given."""
    np.testing.assert_array_equal(rounding.round_daily_dose([5e-324], (3.0,)), [3.0])


@pytest.mark.parametrize("strengths", [(0.5, 1.0, 5.0), (0.75, 1.0, 4.0), (3.0, 5.0)])
def test_can_make_matches_brute_force(strengths):
    """Every amount from 0.001 to 8 mg in 1 ug steps: can_make agrees with the enumeration."""
    makeable = set(makeable_ug(strengths, 8.0))
    for ug in range(1, 8001):
        assert rounding.can_make(ug / 1000, strengths) == (ug in makeable), ug
    assert not rounding.can_make(0.3, (0.5, 1.0, 5.0))
    assert not rounding.can_make(0.0004, (0.5,))  # not a whole number of micrograms
