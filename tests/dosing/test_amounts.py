"""Daily amounts per subject: weight bands, mg/kg, ceilings, rounding to units, splitting.

Clinical references: Chinese LN consensus (LNConsensus, seeds/000_925da1d3fb61b989.txt 1.2):
weight >= 60 kg -> 3 mg/day, < 60 kg -> 2 mg/day or 0.05 mg/kg/day, up to 0.1 mg/kg/day.
Prograf capsules 0.5, 1 and 5 mg (PrografLabel); Envarsus XR tablets 0.75, 1 and 4 mg
(EnvarsusXRLabel).
"""

import numpy as np
import pytest

from pksim.dosing import amounts
from pksim.dosing.rounding import round_daily_dose
from tests.dosing.regimens import events, load

# ----------------------------------------------------------------------------- daily doses


def test_consensus_weight_bands():
    """LNConsensus: < 60 kg -> 2 mg/day, >= 60 kg -> 3 mg/day; 60 kg exactly is >= 60."""
    r = load(
        name="bands",
        doses_per_day=2,
        weight_bands=[{"below_kg": 60, "daily_dose_mg": 2}, {"daily_dose_mg": 3}],
    )
    w = [35.0, 59.99, 60.0, 60.01, 120.0]
    np.testing.assert_array_equal(amounts.intended_daily_dose(r, w), [2, 2, 3, 3, 3])


def test_bands_mixing_fixed_and_per_kg_doses():
    """Consensus alternative for < 60 kg: 0.05 mg/kg/day; three bands with ascending limits."""
    r = load(
        name="bands",
        doses_per_day=1,
        weight_bands=[
            {"below_kg": 45, "daily_dose_mg": 1.5},
            {"below_kg": 60, "mg_per_kg_per_day": 0.05},
            {"daily_dose_mg": 3},
        ],
    )
    np.testing.assert_allclose(
        amounts.intended_daily_dose(r, [40.0, 45.0, 50.0, 59.0, 60.0]), [1.5, 2.25, 2.5, 2.95, 3.0]
    )


def test_mg_per_kg_with_ceilings():
    """0.15 mg/kg/day capped at the consensus maximum 0.1 mg/kg/day, and at 7 mg/day."""
    r = load(
        name="x",
        mg_per_kg_per_day=0.15,
        doses_per_day=2,
        max_mg_per_kg_per_day=0.1,
        max_daily_dose_mg=7,
    )
    np.testing.assert_allclose(amounts.intended_daily_dose(r, [50.0, 65.0, 90.0]), [5.0, 6.5, 7.0])
    below = load(name="x", mg_per_kg_per_day=0.05, doses_per_day=2, max_mg_per_kg_per_day=0.1)
    np.testing.assert_allclose(amounts.intended_daily_dose(below, [50.0, 80.0]), [2.5, 4.0])
    fixed = load(name="x", daily_dose_mg=3, doses_per_day=1, max_mg_per_kg_per_day=0.05)
    np.testing.assert_allclose(amounts.intended_daily_dose(fixed, [40.0, 70.0]), [2.0, 3.0])


@pytest.mark.parametrize(
    ("weight", "daily", "doses"),
    [
        (55.0, 3.0, [1.5, 1.5]),  # 0.05 x 55 = 2.75 mg -> tie between 2.5 and 3 -> up to 3
        (50.0, 2.5, [1.5, 1.0]),  # 2.5 mg/day cannot be split evenly: 1.5 mg + 1 mg
        (45.0, 2.5, [1.5, 1.0]),  # 2.25 -> tie between 2 and 2.5 -> 2.5
        (44.0, 2.0, [1.0, 1.0]),  # 2.2 -> 2
        (47.0, 2.5, [1.5, 1.0]),  # 2.35 -> 2.5
        (66.0, 3.5, [2.0, 1.5]),  # 3.3 -> 3.5
    ],
)
def test_design_rounding_example(weight, daily, doses):
    """DESIGN.md "0.05 mg/kg/day BID, rounded to 0.5 mg"; ties go up (module docstring rule)."""
    r = load(name="x", mg_per_kg_per_day=0.05, doses_per_day=2, round_to_mg=0.5)
    e = events(r, [weight], days=1)
    assert e.daily_dose_mg[0] == daily
    np.testing.assert_array_equal(e.amounts[0], doses)
    np.testing.assert_array_equal(e.clock_h[0], [8.0, 20.0])


def test_fixed_doses_qd_and_bid():
    qd = events(load(name="3 mg QD", daily_dose_mg=3, doses_per_day=1), [60.0], days=2)
    np.testing.assert_array_equal(qd.amounts, [[3.0, 3.0]])
    np.testing.assert_array_equal(qd.times, [[0.0, 24.0]])
    bid = events(
        load(name="2.5 BID", daily_dose_mg=2.5, doses_per_day=2, round_to_mg=0.5), [60.0], days=2
    )
    np.testing.assert_array_equal(bid.amounts, [[1.5, 1.0, 1.5, 1.0]])
    unrounded = events(load(name="2.5 BID", daily_dose_mg=2.5, doses_per_day=2), [60.0], days=1)
    np.testing.assert_array_equal(unrounded.amounts, [[1.25, 1.25]])


def test_capsule_rounding_uses_the_formulation_strengths():
    """Prograf 0.5/1/5 mg behaves as 0.5 mg steps; Envarsus 0.75/1/4 mg tablets make 2.25 but
    not 2.2 or 0.5 mg."""
    prograf = load(name="x", mg_per_kg_per_day=0.05, doses_per_day=2, round_to_capsules=True)
    np.testing.assert_array_equal(amounts.intended_daily_dose(prograf, [55.0, 47.0]), [3.0, 2.5])
    envarsus = load(
        name="x",
        mg_per_kg_per_day=0.04,
        doses_per_day=1,
        round_to_capsules=True,
        formulation="envarsus",
    )
    # 0.04 x 55 = 2.2 -> 2.25 (2 = 1 + 1 is 0.2 away, 2.25 = 0.75 x 3 is 0.05 away)
    # 0.04 x 15 = 0.6 -> 0.75 (the smallest tablet); 0.04 x 30 = 1.2 -> 1.0 (1.5 is 0.3 away)
    np.testing.assert_allclose(
        amounts.intended_daily_dose(envarsus, [55.0, 15.0, 30.0]), [2.25, 0.75, 1.0]
    )


def test_rounding_never_crosses_a_ceiling_and_never_gives_zero():
    r = load(
        name="x", mg_per_kg_per_day=0.1, doses_per_day=2, round_to_mg=0.5, max_mg_per_kg_per_day=0.1
    )
    # 0.1 x 48 = 4.8 would round up to 5.0 > 4.8 mg ceiling -> 4.5
    np.testing.assert_array_equal(amounts.intended_daily_dose(r, [48.0, 52.0]), [4.5, 5.0])
    np.testing.assert_array_equal(round_daily_dose([0.2, 0.0], (0.5,)), [0.5, 0.0])
    np.testing.assert_array_equal(round_daily_dose([0.2], (0.5,), cap_mg=0.3), [0.0])
