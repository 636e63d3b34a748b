"""Doses are absorbed in arrival order (dose time + tlag + class lag), whatever their dose order.

A dose with a longer lag (a with-meal dose taken late) can arrive after a dose given later. The
reference is tests.naive.high_precision_superposition: 50-digit decimal arithmetic, one dose at
a time (no event walk, no ordering), itself checked against the Bateman sum and solve_ivp here.
Agreement: |pksim - reference| <= AGREEMENT_RTOL·|reference| + AGREEMENT_ATOL_NG_PER_ML.
"""

import math

import numpy as np
import pytest

from pksim import model
from tests import naive

TOLERANCES = {"rtol": naive.AGREEMENT_RTOL, "atol": naive.AGREEMENT_ATOL_NG_PER_ML}

LATE_MEAL_LAG_H = 10.0
"""Extra lag (h) of the with-meal class in the minimal case."""


def late_meal_case(ka):
    """Minimal inversion: dose 1 (t 0 h, with meal, arrives at 10 h), dose 2 (t 1 h, arrives 1 h).

    One subject, cl 10 L/h, v 100 L, tlag 0, f 1, 1 mg each; samples every 0.5 h over 30 h,
    which include both dose times and both arrivals.
    """
    return {
        "cl": np.array([10.0]),
        "v": np.array([100.0]),
        "ka": np.array([[ka, ka]]),
        "tlag": np.array([0.0]),
        "f": np.array([1.0]),
        "dose_times": np.array([[0.0, 1.0]]),
        "dose_amounts": np.array([[1.0, 1.0]]),
        "sample_times": np.arange(0.0, 30.25, 0.5),
        "dose_class": np.array([[1, 0]]),
        "class_lag": np.array([0.0, LATE_MEAL_LAG_H]),
    }


@pytest.mark.parametrize("ka", [50.0, 100.0])
def test_a_late_meal_dose_arriving_after_the_next_dose(ka):
    """Walking doses in dose order gave 0 everywhere (ka 50) or NaN after 10 h (ka 100)."""
    case = late_meal_case(ka)
    result = model.concentrations_general(**case)
    expected = naive.concentrations_general_reference(**case)
    np.testing.assert_allclose(result, expected, **TOLERANCES)
    assert np.all(np.isfinite(result)) and np.all(result >= 0)
    assert 13.3 < result.max() < 13.5  # both doses absorbed: about 13.4 ng/mL after 10 h


def random_inversions(rng, n, m, *, on_grid):
    """Random subjects whose doses often arrive out of dose order.

    Three absorption classes with different ka and lags up to 16 h over doses spread across
    4 days (so a lagged dose often arrives after later ones), rows in random order with NaN
    (no dose) anywhere, four clearance change points, per-subject samples at random times,
    at dose times, at arrivals, between consecutive arrivals and at the change points.
    ``on_grid`` puts every time on a quarter-hour grid, so that arrivals tie with each other,
    with change points and with samples exactly.
    """
    cl = rng.lognormal(math.log(15), 0.6, n)
    v = rng.lognormal(math.log(600), 0.7, n)
    ka = rng.lognormal(math.log(2), 1.0, (n, 3))
    f = rng.uniform(0.3, 2.5, n)
    if on_grid:
        times = rng.integers(0, 96 * 4, (n, m)) / 4
        tlag = rng.integers(0, 8, n) / 4
        class_lag = np.array([0.0, 0.75, 12.5])
        changes = np.array([6.0, 24.5, 50.25, 75.0])
    else:
        times = rng.uniform(0, 96, (n, m))
        tlag = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0, 1.5, n))
        class_lag = np.array([0.0, rng.uniform(0.5, 4.0), rng.uniform(8.0, 16.0)])
        changes = np.sort(rng.uniform(0, 120, 4))
    times[rng.random((n, m)) < 0.2] = np.nan
    klass = rng.integers(0, 3, (n, m))
    arrivals = np.sort(times + (tlag[:, None] + class_lag[klass]), axis=1)  # NaN sorted last
    given = np.nan_to_num(arrivals, nan=60.0)  # a subject without doses: samples anyway
    between = (given[:, :-1] + given[:, 1:]) / 2
    samples = np.concatenate(
        [
            rng.uniform(-5, 140, (n, 16)),
            np.nan_to_num(times[:, :4], nan=30.0),
            given[:, :6],
            between[:, :6],
            np.broadcast_to(changes, (n, changes.size)),
        ],
        axis=1,
    )
    return {
        "cl": cl,
        "v": v,
        "ka": ka,
        "tlag": tlag,
        "f": f,
        "dose_times": times,
        "dose_amounts": rng.choice([0.0, 0.5, 1.0, 1.5, 3.0, 5.0], (n, m)),
        "sample_times": samples,
        "dose_class": klass,
        "class_lag": class_lag,
        "dose_f": rng.uniform(0.5, 1.5, (n, m)),
        "cl_change_times": changes,
        "cl_multipliers": rng.uniform(0.3, 3.0, (n, changes.size + 1)),
    }


def inverted_pairs(case):
    """Per subject: the dose pairs whose arrival order is the reverse of their dose order."""
    times = case["dose_times"]
    arrivals = times + (case["tlag"][:, None] + case["class_lag"][case["dose_class"]])
    earlier = times[:, :, None] < times[:, None, :]
    later_arrival = arrivals[:, :, None] > arrivals[:, None, :]
    return np.sum(earlier & later_arrival, axis=(1, 2))


@pytest.mark.parametrize("on_grid", [False, True], ids=["continuous", "quarter-hour-grid"])
def test_random_arrival_inversions_match_the_high_precision_reference(on_grid):
    case = random_inversions(np.random.default_rng(20260 + on_grid), 300, 8, on_grid=on_grid)
    assert np.mean(inverted_pairs(case) > 0) > 0.4  # the family does exercise inversions
    result = model.concentrations_general(**case)
    expected = naive.concentrations_general_reference(**case)
    np.testing.assert_allclose(result, expected, **TOLERANCES)


def test_a_shared_dose_row_with_inversions_and_per_subject_lags():
    """A (1, m) row shared by subjects whose tlag differ: the same as one copy per subject."""
    rng = np.random.default_rng(5)
    case = random_inversions(rng, 60, 10, on_grid=False)
    for name in ("dose_times", "dose_amounts", "dose_class", "dose_f"):
        case[name] = case[name][:1]
    case["dose_times"] = np.array([[30.0, np.nan, 2.0, 14.0, 13.0, 0.5, 50.0, 26.0, 25.0, 1.0]])
    case["dose_class"] = np.array([[0, 1, 2, 0, 1, 2, 0, 2, 1, 0]])
    case["sample_times"] = case["sample_times"][:1]
    assert np.all(inverted_pairs(case | {"dose_times": np.repeat(case["dose_times"], 60, 0)}))
    shared = model.concentrations_general(**case)
    copies = {
        name: np.repeat(case[name], 60, axis=0)
        for name in ("dose_times", "dose_amounts", "dose_class", "dose_f")
    }
    np.testing.assert_array_equal(shared, model.concentrations_general(**(case | copies)))
    np.testing.assert_allclose(shared, naive.concentrations_general_reference(**case), **TOLERANCES)


def test_the_high_precision_reference_agrees_with_bateman_and_the_ode_solver():
    """The reference itself: the Bateman sum (constant clearance) and DOP853 at rtol 1e-12."""
    v, ka, tlag = 600.0, 1.7, 0.4
    times, amounts = [0.0, 12.0, np.nan, 24.0], [1.5, 2.0, 9.0, 1.0]
    samples = np.array([-1.0, 0.0, 0.4, 3.0, 12.4, 20.0, 30.0, 100.0])
    doses = [(t + tlag, a, ka) for t, a in zip(times, amounts, strict=True)]
    np.testing.assert_allclose(
        naive.high_precision_superposition(v, doses, samples, [(-np.inf, 15.0)]),
        naive.superposition(15.0, v, ka, tlag, 1.0, times, amounts, samples),
        rtol=1e-13,
        atol=1e-300,
    )
    segments = [(-np.inf, 15.0), (5.0, 40.0), (13.0, 6.0)]
    doses = [(10.4, 1.5, 0.3), (0.4, 2.0, 5.0), (12.0, 1.0, 15.0 / v)]  # out of order; ka = k
    np.testing.assert_allclose(
        naive.high_precision_superposition(v, doses, samples, segments),
        naive.ode_reference(v, doses, samples, segments),
        rtol=1e-10,
        atol=1e-12,
    )
