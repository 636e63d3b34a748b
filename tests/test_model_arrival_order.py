"""Doses are absorbed in arrival order (dose time + tlag + class lag), whatever their dose order.

A dose with a longer lag (a with-meal dose taken late) can arrive after a dose given later. The
reference is tests.naive.high_precision_superposition: 50-digit decimal arithmetic, one dose at
a time (no event walk, no ordering), itself checked against the Bateman sum and solve_ivp here.
Agreement: |pksim - reference| <= AGREEMENT_RTOL·|reference| + AGREEMENT_ATOL_NG_PER_ML.
"""

import numpy as np

from tests import naive


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
