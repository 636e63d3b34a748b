"""Invariants of the exact kernel (hypothesis)."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pksim import model

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


@settings(max_examples=50)
@given(parameters, st.floats(min_value=0.1, max_value=10.0), st.sampled_from([8.0, 12.0, 24.0]))
def test_steady_state_helper_equals_the_kernel_after_30_half_lives(params, dose, tau):
    cl, v, ka, tlag, f = params
    half_life = math.log(2) * v / cl
    n_doses = math.ceil(30 * max(half_life, math.log(2) / ka) / tau) + 1
    times = (np.arange(n_doses) * tau)[np.newaxis, :]
    trough = model.concentrations(
        [cl], [v], [ka], [tlag], [f], times, np.full_like(times, dose), [(n_doses - 1) * tau]
    )[0, 0]
    expected = model.steady_state_trough(cl, v, ka, tlag, f, dose, tau)
    # 30 half-lives leave 2^-30 ≈ 1e-9 of the way to steady state.
    np.testing.assert_allclose(trough, expected, rtol=1e-8)
