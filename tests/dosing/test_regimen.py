"""Regimens: bands, mg/kg, ceilings, rounding and splitting, clock times, adherence, errors.

Clinical references: Chinese LN consensus (LNConsensus, seeds/000_925da1d3fb61b989.txt 1.2):
weight >= 60 kg -> 3 mg/day, < 60 kg -> 2 mg/day or 0.05 mg/kg/day, up to 0.1 mg/kg/day.
Prograf capsules 0.5, 1 and 5 mg (PrografLabel); Envarsus XR tablets 0.75, 1 and 4 mg
(EnvarsusXRLabel). Rounding and splitting are checked against a brute-force enumeration of
capsule combinations written here, not against the module's own arithmetic.
"""

import itertools
import math
import re
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pksim.dosing import regimen as rg
from pksim.dosing.regimen import Regimen, WeightBand
from tests.test_scenario import DESIGN_EXAMPLE  # DESIGN.md's scenario, verbatim


def load(**table):
    return Regimen.from_mapping(table, "regimens[2]")


def events(regimen, weights, days=3, seed=11, start=0):
    return rg.dose_events(regimen, np.asarray(weights, dtype=float), days, seed=seed, start=start)


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


# ----------------------------------------------------------------------------- loading


def test_design_scenario_regimens_load_as_written():
    tables = tomllib.loads(DESIGN_EXAMPLE)["regimens"]
    regimens = [Regimen.from_mapping(t, f"regimens[{i}]") for i, t in enumerate(tables)]
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
    with pytest.raises(ValueError, match="daily_dose_mg: must be a number"):
        Regimen("x", daily_dose_mg="3", doses_per_day=2)  # type: ignore[arg-type]


def test_formulation_aliases_resolve_to_the_product_name():
    assert load(name="a", daily_dose_mg=3, doses_per_day=1, formulation="LCP").formulation == (
        "envarsus"
    )
    assert load(name="a", daily_dose_mg=3, doses_per_day=2, formulation="ir").formulation == (
        "prograf"
    )


# ----------------------------------------------------------------------------- daily doses


def test_consensus_weight_bands():
    """LNConsensus: < 60 kg -> 2 mg/day, >= 60 kg -> 3 mg/day; 60 kg exactly is >= 60."""
    r = load(
        name="bands",
        doses_per_day=2,
        weight_bands=[{"below_kg": 60, "daily_dose_mg": 2}, {"daily_dose_mg": 3}],
    )
    w = [35.0, 59.99, 60.0, 60.01, 120.0]
    np.testing.assert_array_equal(rg.intended_daily_dose(r, w), [2, 2, 3, 3, 3])


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
        rg.intended_daily_dose(r, [40.0, 45.0, 50.0, 59.0, 60.0]), [1.5, 2.25, 2.5, 2.95, 3.0]
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
    np.testing.assert_allclose(rg.intended_daily_dose(r, [50.0, 65.0, 90.0]), [5.0, 6.5, 7.0])
    below = load(name="x", mg_per_kg_per_day=0.05, doses_per_day=2, max_mg_per_kg_per_day=0.1)
    np.testing.assert_allclose(rg.intended_daily_dose(below, [50.0, 80.0]), [2.5, 4.0])
    fixed = load(name="x", daily_dose_mg=3, doses_per_day=1, max_mg_per_kg_per_day=0.05)
    np.testing.assert_allclose(rg.intended_daily_dose(fixed, [40.0, 70.0]), [2.0, 3.0])


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
    np.testing.assert_array_equal(rg.intended_daily_dose(prograf, [55.0, 47.0]), [3.0, 2.5])
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
        rg.intended_daily_dose(envarsus, [55.0, 15.0, 30.0]), [2.25, 0.75, 1.0]
    )


def test_rounding_never_crosses_a_ceiling_and_never_gives_zero():
    r = load(
        name="x", mg_per_kg_per_day=0.1, doses_per_day=2, round_to_mg=0.5, max_mg_per_kg_per_day=0.1
    )
    # 0.1 x 48 = 4.8 would round up to 5.0 > 4.8 mg ceiling -> 4.5
    np.testing.assert_array_equal(rg.intended_daily_dose(r, [48.0, 52.0]), [4.5, 5.0])
    np.testing.assert_array_equal(rg.round_daily_dose([0.2, 0.0], (0.5,)), [0.5, 0.0])
    np.testing.assert_array_equal(rg.round_daily_dose([0.2], (0.5,), cap_mg=0.3), [0.0])


@settings(max_examples=60)
@given(
    strengths=st.lists(
        st.sampled_from([0.25, 0.5, 0.75, 1.0, 3.0, 4.0, 5.0]), min_size=1, max_size=3, unique=True
    ),
    dose=st.floats(0.0, 9.0),
    cap=st.one_of(st.just(math.inf), st.floats(0.5, 9.0)),
)
def test_rounding_matches_brute_force(strengths, dose, cap):
    dose = min(dose, cap)
    got = rg.round_daily_dose([dose], tuple(strengths), cap_mg=cap)[0]
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
    got = rg.split_daily_dose([total / 1000], doses, tuple(strengths))[0]
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
    got = rg.split_daily_dose([units * 0.5], doses, (0.5, 1.0, 5.0))[0]
    assert got.sum() == pytest.approx(units * 0.5)
    assert np.all(np.diff(got) <= 0) and got[0] - got[-1] <= 0.5
    assert np.allclose(got * 2, np.round(got * 2))


def test_split_examples_and_errors():
    np.testing.assert_array_equal(rg.split_daily_dose([3.5], 3, (0.5,)), [[1.5, 1.0, 1.0]])
    np.testing.assert_array_equal(rg.split_daily_dose([3.0], 2), [[1.5, 1.5]])
    with pytest.raises(ValueError, match=r"daily dose 2.2 mg cannot be made from strengths"):
        rg.split_daily_dose([2.2], 1, (0.75, 1.0, 4.0))
    with pytest.raises(ValueError, match=r"doses_per_day must be 1\.\.4, got 5"):
        rg.split_daily_dose([3.0], 5)
    with pytest.raises(ValueError, match="whole numbers of micrograms"):
        rg.round_daily_dose([3.0], (0.0001,))
    with pytest.raises(ValueError, match="daily_mg must be finite and >= 0"):
        rg.round_daily_dose([-1.0], (0.5,))


# ----------------------------------------------------------------------------- dose times


@pytest.mark.parametrize(
    ("clock", "offsets", "clock_h"),
    [
        (["08:00", "20:00"], [0.0, 12.0], [8.0, 20.0]),
        (["07:30", "19:00"], [0.0, 11.5], [7.5, 19.0]),
        (["20:00", "08:00"], [0.0, 12.0], [20.0, 8.0]),  # evening first, wraps past midnight
        (["22:15"], [0.0], [22.25]),
    ],
)
def test_clock_times_give_dose_times(clock, offsets, clock_h):
    r = load(name="x", daily_dose_mg=3, dose_clock_times=clock)
    e = events(r, [60.0, 70.0], days=3)
    expected = np.concatenate([24.0 * d + np.array(offsets) for d in range(3)])
    np.testing.assert_array_equal(e.times, np.tile(expected, (2, 1)))
    np.testing.assert_array_equal(e.clock_h[0], np.tile(clock_h, 3))
    np.testing.assert_array_equal(e.day, np.repeat([1, 2, 3], len(clock)))
    np.testing.assert_array_equal(e.slot, np.tile(np.arange(len(clock)), 3))
    assert r.doses_per_day == len(clock)


def test_toml_local_times_are_accepted():
    table = tomllib.loads('name = "x"\ndaily_dose_mg = 3\ndose_clock_times = [07:00:00, 19:00:00]')
    assert load(**table).dose_clock_times == ("07:00", "19:00")


def test_doses_fall_on_the_trough_grid():
    """First dose of day d at 24 (d - 1) h: the trough at 24 d h is just before it."""
    e = events(load(name="x", daily_dose_mg=3, doses_per_day=2), [60.0], days=28)
    np.testing.assert_array_equal(e.times[0, ::2], 24.0 * np.arange(28))
    assert e.amounts.sum() == pytest.approx(28 * 3.0)


# ----------------------------------------------------------------------------- adherence


ADHERENCE_N = 4000
ADHERENCE_DAYS = 28


def test_missed_and_late_dose_rates():
    """Missed fraction and late-dose delays match their distributions.

    4000 subjects x 28 days x 2 doses = 224 000 independent slots. Missed: binomial with
    p = 0.15, SE = sqrt(p (1 - p) / N) = 0.00075; we allow 5 SE. Late: each taken dose late with
    p = 0.4 (SE 0.0012 over about 190 000 taken doses, 5 SE allowed), delay uniform on
    [0, 3) h: mean 1.5 h, SE = 3 / sqrt(12 x 76 000) = 0.0031 h, 5 SE allowed; and the
    Kolmogorov distance to the uniform cdf below 1.63 / sqrt(76 000) = 0.0059 (1 % level).
    """
    r = load(
        name="x",
        daily_dose_mg=3,
        doses_per_day=2,
        missed_dose_probability=0.15,
        late_dose_max_h=3,
        late_dose_probability=0.4,
    )
    e = events(r, np.full(ADHERENCE_N, 60.0), days=ADHERENCE_DAYS, seed=2026)
    missed = np.isnan(e.times)
    n_slots = missed.size
    assert abs(missed.mean() - 0.15) < 5 * math.sqrt(0.15 * 0.85 / n_slots)
    np.testing.assert_array_equal(e.amounts[missed], 0.0)
    assert np.all(np.isnan(e.clock_h[missed]))
    scheduled = np.tile(24.0 * (e.day - 1) + 12.0 * e.slot, (ADHERENCE_N, 1))
    delay = (e.times - scheduled)[~missed]
    late = delay[delay > 0]
    taken = delay.size
    assert abs(late.size / taken - 0.4) < 5 * math.sqrt(0.4 * 0.6 / taken)
    assert late.max() < 3.0
    assert abs(late.mean() - 1.5) < 5 * 3.0 / math.sqrt(12 * late.size)
    ecdf = np.arange(1, late.size + 1) / late.size
    assert np.max(np.abs(ecdf - np.sort(late) / 3.0)) < 1.63 / math.sqrt(late.size)
    clock = (8.0 + 12.0 * e.slot + (e.times - scheduled)) % 24.0
    np.testing.assert_allclose(e.clock_h[~missed], np.broadcast_to(clock, e.times.shape)[~missed])


def test_common_random_numbers_across_regimens():
    """Same patients, slot by slot: QD and BID share the morning slot; a higher miss
    probability misses a superset of doses."""
    w = np.full(500, 60.0)
    qd = events(
        load(
            name="qd",
            daily_dose_mg=3,
            doses_per_day=1,
            missed_dose_probability=0.2,
            late_dose_max_h=2,
        ),
        w,
        days=14,
    )
    bid = events(
        load(
            name="bid",
            daily_dose_mg=3,
            doses_per_day=2,
            missed_dose_probability=0.2,
            late_dose_max_h=2,
        ),
        w,
        days=14,
    )
    np.testing.assert_array_equal(qd.times, bid.times[:, ::2])
    worse = events(
        load(name="bid", daily_dose_mg=3, doses_per_day=2, missed_dose_probability=0.35), w, days=14
    )
    assert np.all(np.isnan(worse.times)[np.isnan(bid.times)])
    assert np.isnan(worse.times).sum() > np.isnan(bid.times).sum()


def test_adherence_does_not_depend_on_chunking():
    r = load(
        name="x",
        mg_per_kg_per_day=0.05,
        doses_per_day=2,
        round_to_mg=0.5,
        missed_dose_probability=0.1,
        late_dose_max_h=1.5,
    )
    w = np.random.default_rng(5).uniform(40, 90, 9000)
    whole = events(r, w, days=5, seed=99)
    pieces = [
        events(r, w[a:b], days=5, seed=99, start=a) for a, b in [(0, 3), (3, 4097), (4097, 9000)]
    ]
    for name in ("times", "amounts", "clock_h", "daily_dose_mg"):
        np.testing.assert_array_equal(
            getattr(whole, name), np.concatenate([getattr(p, name) for p in pieces])
        )
    other = events(r, w, days=5, seed=100)
    assert not np.array_equal(np.isnan(whole.times), np.isnan(other.times))


def test_events_are_read_only():
    e = events(load(name="x", daily_dose_mg=3, doses_per_day=2), [60.0])
    with pytest.raises(ValueError, match="read-only"):
        e.times[0, 0] = 1.0


# ----------------------------------------------------------------------------- bad input


BASE = {"name": "r", "daily_dose_mg": 3, "doses_per_day": 2}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dose_mg": 3}, "regimens[2].dose_mg: unknown key; did you mean 'daily_dose_mg'?"),
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
            "regimens[2].formulation: unknown formulation 'prograff'; did you mean 'prograf'?",
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
            "regimens[2].late_dose_probability: needs late_dose_max_h",
        ),
        (
            {"late_dose_max_h": 1, "late_dose_probability": 1.5},
            r"regimens[2].late_dose_probability: must be in [0, 1], got 1.5",
        ),
    ],
)
def test_bad_regimen_keys_are_named(change, message):
    table = {k: v for k, v in (BASE | change).items() if v is not None}
    with pytest.raises(ValueError, match=re.escape(message)):
        Regimen.from_mapping(table, "regimens[2]")


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
            "regimens[2].weight_bands[0].dose: unknown key",
        ),
        (
            [{"below_kg": -60, "daily_dose_mg": 2}, {"daily_dose_mg": 3}],
            "regimens[2].weight_bands[0].below_kg: must be > 0 kg (bands ascending), got -60",
        ),
        (
            [{"below_kg": 60, "daily_dose_mg": 2000}, {"daily_dose_mg": 3}],
            "regimens[2].weight_bands[0].daily_dose_mg: 2000 mg/day is implausible",
        ),
    ],
)
def test_bad_weight_bands_are_named(bands, message):
    table = {"name": "b", "doses_per_day": 2, "weight_bands": bands}
    with pytest.raises(ValueError, match=re.escape(message)):
        Regimen.from_mapping(table, "regimens[2]")


def test_every_problem_is_reported_at_once():
    table = {
        "nme": "x",
        "daily_dose_mg": -1,
        "doses_per_day": 7,
        "round_to_mg": 0,
        "missed_dose_probability": 2,
        "formulation": "nope",
    }
    with pytest.raises(ValueError) as info:
        Regimen.from_mapping(table, "regimens[0]")
    lines = str(info.value).splitlines()
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
    with pytest.raises(ValueError, match=r"regimens\[1\]: must be a table"):
        Regimen.from_mapping(["3 mg"], "regimens[1]")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight_kg": [60.0, -5.0]}, r"weight_kg must be finite and > 0 kg; got -5.0 at index 1"),
        ({"weight_kg": [60.0, np.nan]}, "weight_kg must be finite and > 0 kg"),
        ({"weight_kg": [[60.0]]}, "weight_kg must be 1-D"),
        ({"days": 0}, "days must be a whole number >= 1, got 0"),
        ({"days": 2.0}, "days must be a whole number >= 1"),
        ({"start": -1}, "start must be a subject index >= 0"),
        ({"seed": -3}, "seed must be a non-negative integer"),
    ],
)
def test_bad_event_arguments_are_named(kwargs, message):
    r = load(name="x", daily_dose_mg=3, doses_per_day=2, missed_dose_probability=0.1)
    args = {"weight_kg": [60.0], "days": 2, "seed": 1, "start": 0} | kwargs
    with pytest.raises(ValueError, match=message):
        rg.dose_events(r, np.asarray(args.pop("weight_kg")), args.pop("days"), **args)


@pytest.mark.parametrize(("daily", "doses"), [(3.0, 1), (3.0, 2)])
def test_events_feed_the_kernel_to_the_analytic_steady_state_trough(daily, doses):
    """QD and BID dose events reach the textbook one-compartment steady-state trough
    C = (F D ka / (V (ka - k))) (e^{-k t} / (1 - e^{-k tau}) - e^{-ka t} / (1 - e^{-ka tau})),
    t = tau - tlag, sampled at 24 d h just before the morning dose (PK_REFERENCE 1.1 defaults:
    CL/F 14 L/h, V/F 700 L, ka 4.5 1/h, tlag 0.4 h). After 60 days (about 40 half-lives of
    35 h) the remaining gap is below 1e-9 relative."""
    from pksim import model

    cl, v, ka, tlag = 14.0, 700.0, 4.5, 0.4
    r = load(name="x", daily_dose_mg=daily, doses_per_day=doses)
    e = events(r, [60.0], days=60)
    trough = model.concentrations_general(
        [cl], [v], [ka], [tlag], [1.0], e.times, e.amounts, [24.0 * 60]
    )[0, 0]
    k, tau, dose = cl / v, 24.0 / doses, daily / doses
    t = tau - tlag
    expected = (
        1000
        * dose
        * ka
        / (v * (ka - k))
        * (
            math.exp(-k * t) / (1 - math.exp(-k * tau))
            - math.exp(-ka * t) / (1 - math.exp(-ka * tau))
        )
    )
    assert trough == pytest.approx(expected, rel=1e-9)
