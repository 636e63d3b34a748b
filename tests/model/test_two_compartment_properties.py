"""Invariants of the two-compartment kernel (hypothesis, the suite's derandomized profile) and
its steady state."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pksim import model
from pksim.model.kernels_two_compartment import disposition
from tests import naive
from tests.model.test_model_properties import (
    absorption,
    bioavailability,
    clearances,
    dose_lists,
    lags,
    sample_lists,
)

central_volumes = st.floats(min_value=20.0, max_value=1000.0)
inter_compartmental = st.sampled_from([0.0, 1e-9]) | st.floats(min_value=0.1, max_value=200.0)
peripheral_volumes = st.floats(min_value=50.0, max_value=10000.0)
parameters = st.tuples(
    clearances, central_volumes, inter_compartmental, peripheral_volumes, absorption, lags,
    bioavailability,
)  # fmt: skip
"""cl (L/h), v1 (L), q (L/h, including 0), v2 (L), ka (1/h), tlag (h), f."""


def rates(params):
    """alpha, beta (1/h) of (cl, v1, q, v2, ...) as the kernel computes them."""
    cl, v1, q, v2 = params[:4]
    alpha, beta, _, _ = disposition(cl / v1, q / v1, q / v2)
    return alpha, beta


TYPICAL = (20.0, 100.0, 50.0, 800.0, 4.5, 0.4, 1.0)
KA_AT_ALPHA = (*TYPICAL[:4], rates(TYPICAL)[0], *TYPICAL[5:])
KA_AT_BETA = (*TYPICAL[:4], rates(TYPICAL)[1], *TYPICAL[5:])
"""The typical subject with ka equal to alpha or beta (the coinciding-rate limits)."""


def run(params, doses, samples):
    times = np.array([[t for t, _ in doses]]) if doses else np.full((1, 1), np.nan)
    amounts = np.array([[a for _, a in doses]]) if doses else np.zeros((1, 1))
    values = [[value] for value in params]
    return model.concentrations_two_compartment(*values, times, amounts, samples)[0]


@given(parameters, dose_lists, sample_lists)
@example(KA_AT_ALPHA, [(0.0, 1.5), (12.0, 1.5)], [0.0, 1.0, 13.0, 400.0])
@example(KA_AT_BETA, [(0.0, 1.5), (12.0, 1.5)], [0.0, 1.0, 13.0, 400.0])
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
@example(KA_AT_BETA, [(0.0, 1.5)], [(5.0, 3.0), (7.5, 1.0)], [0.0, 6.0, 24.0])
def test_superposition_of_two_schedules(params, first, second, samples):
    together = run(params, first + second, samples)
    apart = run(params, first, samples) + run(params, second, samples)
    np.testing.assert_allclose(together, apart, rtol=1e-10, atol=1e-12 * max(1.0, apart.max()))


@given(parameters, dose_lists, sample_lists, st.floats(min_value=-100.0, max_value=100.0))
def test_shifting_doses_and_samples_shifts_the_result(params, doses, samples, delta):
    shifted = run(params, [(t + delta, a) for t, a in doses], [s + delta for s in samples])
    # Shifting rounds times to the float grid, so allow for a tiny change in elapsed time.
    np.testing.assert_allclose(shifted, run(params, doses, samples), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------- steady state

STEADY_STATE_E_FOLDS = 60.0
"""Regular dosing for this many time constants of the slowest process (min(beta, ka)) leaves
a gap to steady state of order exp(-60) ≈ 1e-26 times polynomial factors of the coinciding-rate
limits (at most (60)² here), far below the rtol 1e-8 of the comparison."""

taus = st.sampled_from([8.0, 12.0, 24.0])
positive_q = st.floats(min_value=0.1, max_value=200.0)


def regular_trough(params, dose, tau):
    """Kernel trough just before the dose that follows :data:`STEADY_STATE_E_FOLDS` time
    constants of the slowest process of ``dose`` mg every ``tau`` h (doses from 0 h on)."""
    slowest = min(rates(params)[1], params[4])
    intervals = math.ceil(STEADY_STATE_E_FOLDS / (slowest * tau))
    times = (np.arange(intervals + 1) * tau)[np.newaxis, :]
    values = [[value] for value in params]
    return model.concentrations_two_compartment(
        *values, times, np.full_like(times, dose), [intervals * tau]
    )[0, 0]


@settings(max_examples=40)
@given(
    st.tuples(clearances, central_volumes, positive_q, peripheral_volumes, absorption, lags,
              bioavailability),
    st.floats(min_value=0.1, max_value=10.0),
    taus,
)  # fmt: skip
@example(KA_AT_ALPHA, 1.5, 12.0)
@example(KA_AT_BETA, 1.5, 12.0)
@example((22.5, 685.0, 10.6, 6590.0, 3.7, 0.39, 1.0), 5.0, 12.0)  # Andrews 2019 typical values
@example((20.0, 100.0, 50.0, 800.0, 4.5, 13.0, 1.0), 1.5, 12.0)  # lag longer than tau
@example((20.0, 100.0, 50.0, 800.0, 4.5, 12.0, 1.0), 1.5, 12.0)  # lag = tau: arrival at dose
def test_steady_state_is_the_limit_of_regular_dosing_and_the_matrix_exponential_one(
    params, dose, tau
):
    expected = model.steady_state_trough_two_compartment(*params, dose, tau)
    np.testing.assert_allclose(regular_trough(params, dose, tau), expected, rtol=1e-8)
    np.testing.assert_allclose(
        naive.steady_state_trough_two_compartment(*params, dose, tau), expected, rtol=1e-9
    )


@pytest.mark.parametrize("tlag", [0.0, 0.4, 12.0, 30.0])
def test_steady_state_without_exchange_is_the_one_compartment_one(tlag):
    cl, v1, v2, ka = 14.0, 300.0, 900.0, 4.5
    one = model.steady_state_trough(cl, v1, ka, tlag, 1.2, 1.5, 12.0)
    two = model.steady_state_trough_two_compartment(cl, v1, 0.0, v2, ka, tlag, 1.2, 1.5, 12.0)
    np.testing.assert_allclose(two, one, rtol=1e-13)


def test_steady_state_broadcasts_over_subjects():
    cl = np.array([10.0, 20.0, 40.0])
    got = model.steady_state_trough_two_compartment(cl, 100.0, 50.0, 800.0, 4.5, 0.4, 1.0, 1.5, 12)
    each = [
        model.steady_state_trough_two_compartment(c, 100.0, 50.0, 800.0, 4.5, 0.4, 1.0, 1.5, 12)
        for c in cl
    ]
    assert got.shape == (3,)
    np.testing.assert_array_equal(got, each)
