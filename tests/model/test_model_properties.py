"""Invariants of the exact kernel (hypothesis)."""

import math

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pksim import model
from tests import naive

positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
clearances = st.floats(min_value=1.0, max_value=60.0)
volumes = st.floats(min_value=100.0, max_value=2000.0)
absorption = st.floats(min_value=0.05, max_value=10.0)
lags = st.floats(min_value=0.0, max_value=2.0)
bioavailability = st.floats(min_value=0.1, max_value=3.0)
dose_lists = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=300.0), st.floats(min_value=0.0, max_value=10.0)),
    min_size=0,
    max_size=15,
)
sample_lists = st.lists(st.floats(min_value=-10.0, max_value=400.0), min_size=1, max_size=20)


def run(params, doses, samples):
    cl, v, ka, tlag, f = params
    times = np.array([[t for t, _ in doses]]) if doses else np.full((1, 1), np.nan)
    amounts = np.array([[a for _, a in doses]]) if doses else np.zeros((1, 1))
    return model.concentrations([cl], [v], [ka], [tlag], [f], times, amounts, samples)[0]


parameters = st.tuples(clearances, volumes, absorption, lags, bioavailability)


@given(parameters, dose_lists, sample_lists)
def test_concentrations_are_finite_and_non_negative(params, doses, samples):
    result = run(params, doses, samples)
    assert np.all(np.isfinite(result)) and np.all(result >= 0)


@given(parameters, dose_lists, sample_lists, st.floats(min_value=0.01, max_value=100.0))
def test_linear_in_dose(params, doses, samples, factor):
    scaled = [(t, a * factor) for t, a in doses]
    np.testing.assert_allclose(
        run(params, scaled, samples), factor * run(params, doses, samples), rtol=1e-12, atol=1e-300
    )


@given(parameters, dose_lists, dose_lists, sample_lists)
def test_superposition_of_two_schedules(params, first, second, samples):
    together = run(params, first + second, samples)
    apart = run(params, first, samples) + run(params, second, samples)
    np.testing.assert_allclose(together, apart, rtol=1e-10, atol=1e-12 * max(1.0, apart.max()))


@given(parameters, dose_lists, sample_lists, st.floats(min_value=-100.0, max_value=100.0))
def test_shifting_doses_and_samples_shifts_the_result(params, doses, samples, delta):
    shifted = run(params, [(t + delta, a) for t, a in doses], [s + delta for s in samples])
    # Shifting rounds times to the float grid, so allow for a tiny change in elapsed time.
    np.testing.assert_allclose(shifted, run(params, doses, samples), rtol=1e-9, atol=1e-9)


STEADY_STATE_RESIDUAL = 2.0**-30
"""Largest relative gap between the trough of a finite regular regimen and steady state that
the steady-state property accepts before comparing at rtol 1e-8 (leaves room for rounding)."""


def steady_state_gap_bound(k, ka, tlag, tau, intervals):
    """Upper bound on 1 - trough / steady-state trough after ``intervals`` doses of a regimen.

    One dose leaves an amount proportional to g(t) = (exp(-r·t) - exp(-R·t)) / (R - r), with
    r = min(k, ka), R = max(k, ka) (1/h) and t the time since its arrival (h). The doses that the
    finite regimen lacks are those of the infinite one shifted by D = intervals·tau (h), and for
    every t >= a = tau - tlag (the shortest time since an arrival at a trough, tlag < tau)

        g(t + D) / g(t) <= exp(-r·D) · min(1 + D/a, 1 / (1 - exp(-(R - r)·a))).

    So the slowest rate sets the pace, and when ka ≈ k (a double root) the approach to steady
    state goes as t·exp(-r·t), not exp(-r·t): "N half-lives" leaves up to (1 + D/a)·2^-N.
    """
    slow, fast = min(k, ka), max(k, ka)
    shortest = tau - tlag
    shift = intervals * tau
    separation = -math.expm1(-(fast - slow) * shortest)
    factor = 1 + shift / shortest if separation == 0 else min(1 + shift / shortest, 1 / separation)
    return math.exp(-slow * shift) * factor


def intervals_to_steady_state(k, ka, tlag, tau, residual=STEADY_STATE_RESIDUAL):
    """Fewest dosing intervals whose :func:`steady_state_gap_bound` is at most ``residual``."""
    intervals = math.ceil(-math.log(residual) / (min(k, ka) * tau))  # the exp(-r·D) part alone
    while steady_state_gap_bound(k, ka, tlag, tau, intervals) > residual:
        intervals += 1
    return intervals


def regular_trough(params, dose, tau, intervals):
    """Kernel trough just before dose ``intervals`` (0-based) of ``dose`` mg every ``tau`` h."""
    cl, v, ka, tlag, f = params
    times = (np.arange(intervals + 1) * tau)[np.newaxis, :]
    return model.concentrations(
        [cl], [v], [ka], [tlag], [f], times, np.full_like(times, dose), [intervals * tau]
    )[0, 0]


NEAR_DOUBLE_ROOT = (46.0, 966.0, 0.05, 2.0, 1.0)
"""cl (L/h), v (L), ka (1/h), tlag (h), f with ka = 0.05 /h close to k = 46/966 = 0.0476 /h."""


@settings(max_examples=50)
@given(parameters, st.floats(min_value=0.1, max_value=10.0), st.sampled_from([8.0, 12.0, 24.0]))
@example(NEAR_DOUBLE_ROOT, 1.0, 8.0)
def test_steady_state_helper_equals_the_kernel_near_steady_state(params, dose, tau):
    cl, v, ka, tlag, f = params
    intervals = intervals_to_steady_state(cl / v, ka, tlag, tau)
    expected = model.steady_state_trough(cl, v, ka, tlag, f, dose, tau)
    # The kernel's trough misses at most STEADY_STATE_RESIDUAL ≈ 9e-10 of steady state.
    np.testing.assert_allclose(regular_trough(params, dose, tau, intervals), expected, rtol=1e-8)


def test_thirty_half_lives_are_not_enough_when_ka_is_close_to_k():
    """Near the double root the gap after N half-lives is up to (1 + D/a)·2^-N, not 2^-N."""
    cl, v, ka, tlag, f = NEAR_DOUBLE_ROOT
    k, dose, tau = cl / v, 1.0, 8.0
    expected = model.steady_state_trough(cl, v, ka, tlag, f, dose, tau)
    half_life = math.log(2) / min(k, ka)
    gaps = {}
    for half_lives in (30, 60):
        intervals = math.ceil(half_lives * half_life / tau)
        gaps[half_lives] = 1 - regular_trough(NEAR_DOUBLE_ROOT, dose, tau, intervals) / expected
        assert -1e-15 <= gaps[half_lives] <= steady_state_gap_bound(k, ka, tlag, tau, intervals)
    assert gaps[30] > 1e-8  # what the old rule (30 half-lives, then rtol 1e-8) tripped on
    assert gaps[60] < 1e-14


class_lags = st.sampled_from([0.0, 0.5, 1.0, 11.0, 12.0]) | st.floats(min_value=0.0, max_value=24.0)
"""Extra lag per absorption class (h); the round values make arrivals tie exactly."""

any_dose_time = (
    st.just(math.nan)
    | st.sampled_from([0.0, 1.0, 11.0, 12.0, 24.0])
    | st.floats(min_value=0.0, max_value=96.0)
)
"""A dose time (h), round values for ties, or NaN (no dose) anywhere in the row."""


@st.composite
def arrival_inversions(draw):
    """One subject whose doses may arrive out of dose order (keyword arguments of
    ``concentrations_general``): 1-3 absorption classes with their own ka and lag, dose times
    in any order with NaN anywhere, up to 3 clearance change points, samples at random, at the
    dose times, at the arrivals and between consecutive arrivals."""
    n_classes = draw(st.integers(min_value=1, max_value=3))
    per_class = {"min_size": n_classes, "max_size": n_classes}
    class_lag = draw(st.lists(class_lags, **per_class))
    ka = draw(st.lists(absorption, **per_class))
    cl, v, tlag, f = draw(clearances), draw(volumes), draw(lags), draw(bioavailability)
    doses = draw(
        st.lists(
            st.tuples(
                any_dose_time,
                st.floats(min_value=0.0, max_value=10.0),
                st.integers(min_value=0, max_value=n_classes - 1),
                st.floats(min_value=0.5, max_value=1.5),
            ),
            min_size=1,
            max_size=10,
        )
    )
    times, amounts, klass, dose_f = (np.array([column]) for column in zip(*doses, strict=True))
    changes = sorted(
        draw(st.lists(st.floats(min_value=-10.0, max_value=150.0), max_size=3, unique=True))
    )
    multipliers = draw(
        st.lists(
            st.floats(min_value=0.2, max_value=5.0),
            min_size=len(changes) + 1,
            max_size=len(changes) + 1,
        )
    )
    arrivals = np.sort(times[0] + (tlag + np.array(class_lag)[klass[0]]))
    arrivals = arrivals[~np.isnan(arrivals)]
    samples = np.concatenate(
        [
            draw(st.lists(st.floats(min_value=-10.0, max_value=200.0), min_size=1, max_size=10)),
            times[0][~np.isnan(times[0])],
            arrivals,
            (arrivals[1:] + arrivals[:-1]) / 2,
        ]
    )
    return {
        "cl": np.array([cl]),
        "v": np.array([v]),
        "ka": np.array([ka]),
        "tlag": np.array([tlag]),
        "f": np.array([f]),
        "dose_times": times,
        "dose_amounts": amounts,
        "sample_times": samples,
        "dose_class": klass,
        "class_lag": np.array(class_lag),
        "dose_f": dose_f,
        "cl_change_times": np.array(changes),
        "cl_multipliers": np.array([multipliers]),
    }


LATE_MEAL_DOSE = {
    "cl": np.array([10.0]),
    "v": np.array([100.0]),
    "ka": np.array([[50.0, 50.0]]),
    "tlag": np.array([0.0]),
    "f": np.array([1.0]),
    "dose_times": np.array([[0.0, 1.0]]),
    "dose_amounts": np.array([[1.0, 1.0]]),
    "sample_times": np.array([0.0, 1.0, 5.0, 10.0, 10.5, 20.0]),
    "dose_class": np.array([[1, 0]]),
    "class_lag": np.array([0.0, 10.0]),
    "dose_f": np.array([[1.0, 1.0]]),
    "cl_change_times": np.array([]),
    "cl_multipliers": np.array([[1.0]]),
}
"""The dose taken at 0 h with a meal (lag 10 h) arrives after the one taken at 1 h."""


@settings(max_examples=200)
@given(arrival_inversions())
@example(LATE_MEAL_DOSE)
def test_doses_are_absorbed_in_arrival_order(case):
    np.testing.assert_allclose(
        model.concentrations_general(**case),
        naive.concentrations_general_reference(**case),
        rtol=naive.AGREEMENT_RTOL,
        atol=naive.AGREEMENT_ATOL_NG_PER_ML,
    )
