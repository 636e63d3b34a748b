"""Prednisone taper: daily doses over time and the F multipliers it gives the kernel."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from pksim import model
from pksim.cohort.effects import typical_parameters
from pksim.library.parameters import load_parameter_set
from pksim.library.populations import PrednisoneTaper
from pksim.modifiers import prednisone as P
from tests.cohort.test_covariates import subjects

DEFAULT = load_parameter_set("default")


def test_taper_40_by_5_weekly_to_10():
    """Issue 3 example: 40 mg/day tapered by 5 mg every week to 10 mg."""
    taper = PrednisoneTaper(step_mg=5, every_days=7, first_step_day=7, floor_mg=10)
    days = np.arange(0, 60)
    mg = P.prednisone_mg_per_day_at([40.0], taper, (days * 24.0 + 8.0)[None, :])[0]
    expected = [max(10.0, 40.0 - 5.0 * (d // 7)) for d in days]
    assert mg.tolist() == expected
    assert mg[0] == 40 and mg[42] == 10 and mg[59] == 10


def test_taper_exposure_change_matches_emax_model():
    """Issue 3: a 40 -> 10 mg/day taper changes tacrolimus exposure by 30-60 % over weeks.
    With the Storset Emax model the F ratio is (1 - 0.67*10/45) / (1 - 0.67*40/75) = 1.324."""
    taper = PrednisoneTaper(step_mg=5, every_days=7, first_step_day=7, floor_mg=10)
    dose_times = np.arange(0, 60 * 24, 12.0)[None, :]
    mult = P.prednisone_f_multipliers(DEFAULT, [40.0], taper, dose_times, half_life_h=0)[0]
    assert mult[0] == 1.0
    assert mult[-1] == pytest.approx((1 - 0.67 * 10 / 45) / (1 - 0.67 * 40 / 75))
    assert 1.3 <= mult[-1] <= 1.6
    assert np.all(np.diff(mult) >= 0)


@given(st.floats(0, 80), st.floats(0, 20), st.floats(1, 30), st.floats(0, 30), st.floats(0, 40))
@settings(max_examples=100, deadline=None)
def test_taper_is_monotone_and_respects_the_floor(p0, step, every, first, floor):
    taper = PrednisoneTaper(step_mg=step, every_days=every, first_step_day=first, floor_mg=floor)
    t = np.linspace(0, 24 * 200, 400)[None, :]
    mg = P.prednisone_mg_per_day_at([p0], taper, t)[0]
    assert np.all(np.diff(mg) <= 0)
    assert mg[0] == pytest.approx(p0) if first > 0 else True
    assert np.all(mg >= min(p0, floor) - 1e-12)


def _superposed(cl, v, ka, tlag, doses, amounts, fs, t):
    """Independent reference: sum of single-dose Bateman curves (constant CL), ng/mL."""
    k = cl / v
    out = np.zeros_like(t)
    for td, amount, f in zip(doses, amounts, fs, strict=True):
        dt = np.clip(t - td - tlag, 0, None)
        out += f * amount * ka / (v * (ka - k)) * (np.exp(-k * dt) - np.exp(-ka * dt)) * 1000
    return out


def test_taper_through_the_kernel_is_exact():
    """Piecewise-constant prednisone enters as per-dose F: the kernel with dose_f must equal
    the superposition of single doses with those F values (exact, rtol 1e-10)."""
    cov = subjects(1, prednisone_mg_per_day=np.array([40.0]))
    typ = typical_parameters(DEFAULT, cov)
    taper = PrednisoneTaper(step_mg=5, every_days=7, first_step_day=7, floor_mg=10)
    doses = np.arange(0, 56 * 24, 12.0)
    dose_f = P.prednisone_f_multipliers(DEFAULT, [40.0], taper, doses[None, :])
    samples = np.arange(24.0, 56 * 24 + 1, 24.0)
    got = model.concentrations_general(
        typ.cl,
        typ.v,
        typ.ka,
        typ.tlag,
        typ.f,
        doses[None, :],
        np.full((1, doses.size), 1.5),
        samples,
        dose_f=dose_f,
    )[0]
    ref = _superposed(
        typ.cl[0],
        typ.v[0],
        typ.ka[0],
        typ.tlag[0],
        doses,
        np.full(doses.size, 1.5),
        typ.f[0] * dose_f[0],
        samples,
    )
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    # Troughs rise by 30-60 % over the taper (issue 3), after the new steady state.
    assert 1.3 <= got[-1] / got[6] <= 1.6


TAPER = PrednisoneTaper(step_mg=5, every_days=7, first_step_day=7, floor_mg=10)


def test_induction_half_life_is_the_cited_hepatic_cyp3a_turnover():
    assert P.prednisone_induction_half_life_h() == 72.0


def test_one_step_follows_first_order_turnover():
    """After a single step the multiplier covers 1 - 2^-(t/t1/2) of the jump (analytic)."""
    taper = PrednisoneTaper(step_mg=10, every_days=7, first_step_day=3, floor_mg=10)
    t = 72.0 + np.array([0.0, 36.0, 72.0, 144.0, 2000.0])
    got = P.prednisone_f_multipliers(DEFAULT, [20.0], taper, t[None, :], half_life_h=36.0)[0]
    jump = (1 - 0.67 * 10 / 45) / (1 - 0.67 * 20 / 55) - 1
    np.testing.assert_allclose(got, 1 + jump * np.array([0, 0.5, 0.75, 0.9375, 1.0]), rtol=1e-12)


def test_taper_time_course_matches_the_turnover_ode():
    """Independent reference: dR/dt = kdeg (target - R), solved by solve_ivp (rtol 1e-11)
    segment by segment between the taper steps (days 7, 14, ..., 42), with the immediate
    (half-life 0) multiplier of each segment as its target."""
    kdeg = np.log(2) / 72.0
    times = np.arange(0.0, 70 * 24.0, 12.0) + 5.0  # off the step instants
    got = P.prednisone_f_multipliers(DEFAULT, [40.0], TAPER, times[None, :])[0]
    edges = [0.0, *(24.0 * np.arange(7, 43, 7)), times[-1] + 1.0]
    starts = np.array([edges[:-1]]) + 1.0
    levels = P.prednisone_f_multipliers(DEFAULT, [40.0], TAPER, starts, half_life_h=0)[0]
    ref = _turnover_ode(edges, levels, 1.0, times, kdeg)
    np.testing.assert_allclose(got, ref, rtol=1e-8)


def _turnover_ode(edges, levels, r0, times, kdeg):
    """R at ``times`` (ascending, inside ``edges``) of dR/dt = kdeg (level - R) from R(edges[0])
    = r0, ``levels[k]`` on [edges[k], edges[k+1]), by solve_ivp (rtol 1e-11) per segment."""
    ref = []
    for level, (lo, hi) in zip(levels, itertools.pairwise(edges), strict=True):
        inside = times[(times >= lo) & (times < hi)]
        sol = solve_ivp(
            lambda _t, r, level=level: kdeg * (level - r),
            (lo, hi),
            [r0],
            t_eval=np.append(inside, hi),
            rtol=1e-11,
            atol=1e-13,
        )
        ref.extend(sol.y[0][:-1])
        r0 = sol.y[0][-1]
    return ref


def test_a_zero_half_life_is_the_immediate_step_and_tiny_ones_approach_it():
    times = np.arange(0.0, 60 * 24.0, 12.0)[None, :] + 1.0
    now = P.prednisone_f_multipliers(DEFAULT, [40.0], TAPER, times, half_life_h=0)
    fast = P.prednisone_f_multipliers(DEFAULT, [40.0], TAPER, times, half_life_h=1e-3)
    slow = P.prednisone_f_multipliers(DEFAULT, [40.0], TAPER, times)
    np.testing.assert_allclose(fast, now, rtol=1e-12)
    assert np.all(slow <= now + 1e-12) and np.all(np.diff(slow[0]) >= 0)
    # long after the last step (day 42) the new steady state is reached
    assert slow[0, -1] == pytest.approx(now[0, -1], rel=0.01)


def test_a_bad_half_life_is_refused():
    with pytest.raises(ValueError, match="half_life_h must be a finite number >= 0 h"):
        P.prednisone_f_multipliers(DEFAULT, [40.0], TAPER, np.zeros((1, 1)), half_life_h=-1)


def test_follow_turnover_matches_the_ode_for_any_course():
    """A course that rises and falls (as a patient's recorded prednisone doses may), against
    solve_ivp segment by segment; before the first change it sits at steady state."""
    kdeg = np.log(2) / 50.0
    changes = np.array([30.0, 100.0, 110.0, 400.0])
    levels = np.array([1.0, 0.7, 1.2, 0.9, 0.9])
    times = np.array([-5.0, 10.0, 30.0, 31.5, 99.0, 105.0, 250.0, 400.0, 401.0, 900.0])
    got = P.follow_turnover(changes, levels, times, 50.0)
    ref = _turnover_ode([-10.0, *changes, 1000.0], levels, levels[0], times, kdeg)
    np.testing.assert_allclose(got, ref, rtol=1e-8)
    np.testing.assert_array_equal(
        P.follow_turnover(changes, levels, times, 0.0), levels[[0, 0, 1, 1, 1, 2, 3, 4, 4, 4]]
    )


def test_follow_turnover_refuses_mismatched_levels_and_bad_half_lives():
    with pytest.raises(ValueError, match="one value more than change_times_h"):
        P.follow_turnover([1.0, 2.0], [1.0, 2.0], [0.0], 10.0)
    with pytest.raises(ValueError, match="half_life_h must be a finite number >= 0 h"):
        P.follow_turnover([1.0], [1.0, 2.0], [0.0], float("nan"))
