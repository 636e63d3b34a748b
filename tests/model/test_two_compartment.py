"""The two-compartment kernel against solve_ivp (tests/naive.py), its limits and input checks.

Agreement: |pksim - reference| <= RTOL·|reference| + ATOL_NG_PER_ML, the reference being
``solve_ivp`` (DOP853, rtol 1e-12, atol 1e-20 mg) integrated from event to event with one gut
per dose. The absolute floor is the one of the one-compartment arrival-order tests
(``naive.AGREEMENT_ATOL_NG_PER_ML``, 1e-8 ng/mL): the kernel forms the time since an arrival
from float64 dose times and lags, which may be off by an ulp (3e-14 h at 200 h); at
|dC/dt| <= ka·G/V1 (< 1e5 ng/mL/h here) that is < 3e-9 ng/mL, e.g. at a sample placed exactly
at a first arrival, where the exact value is 0.
"""

import math

import numpy as np
import pytest

from pksim import model
from pksim.model.kernels_two_compartment import disposition
from tests import naive
from tests.model.test_arrival_order import inverted_pairs, random_inversions

RTOL = 1e-8
"""Relative agreement with the ODE reference."""

TOLERANCES = {"rtol": RTOL, "atol": naive.AGREEMENT_ATOL_NG_PER_ML}

PARAMETERS = ("cl", "v1", "q", "v2", "ka", "tlag", "f")


def random_two_compartment(rng, n, m, *, on_grid):
    """Random subjects with every event feature (``test_arrival_order.random_inversions``:
    three absorption classes with lags up to 16 h, arrival-order inversions, rows in random
    order with NaN anywhere, per-dose F, four clearance change points, per-subject samples at
    dose times, arrivals and change points) and two-compartment disposition: V1/F 150 L,
    Q/F 40 L/h, V2/F 700 L (medians, log-normal CV about 90 %)."""
    case = random_inversions(rng, n, m, on_grid=on_grid)
    del case["v"]
    disposition_draws = {
        "v1": rng.lognormal(math.log(150), 0.8, n),
        "q": rng.lognormal(math.log(40), 0.8, n),
        "v2": rng.lognormal(math.log(700), 0.8, n),
    }
    return {"cl": case.pop("cl"), **disposition_draws, **case}


def single(parameters, times, amounts, samples, **events):
    """One subject: scalar parameters by name, plain lists of doses and samples."""
    values = [np.atleast_1d(parameters[name]) for name in PARAMETERS]
    return model.concentrations_two_compartment(
        *values, np.array([times], dtype=float), np.array([amounts], dtype=float), samples, **events
    )[0]


@pytest.mark.parametrize(
    ("seed", "n", "on_grid"),
    [(31, 250, False), (32, 150, True)],
    ids=["continuous", "quarter-hour-grid"],
)
def test_hundreds_of_random_subjects_match_the_ode_solver(seed, n, on_grid):
    case = random_two_compartment(np.random.default_rng(seed), n, 8, on_grid=on_grid)
    assert np.mean(inverted_pairs(case) > 0) > 0.4  # arrival-order inversions are exercised
    result = model.concentrations_two_compartment(**case)
    expected = naive.concentrations_two_compartment_reference(**case)
    assert np.all(result >= 0) and np.all(np.isfinite(result))
    np.testing.assert_allclose(result, expected, **TOLERANCES)


def test_shared_rows_equal_one_copy_per_subject_and_unsorted_samples_keep_their_order():
    rng = np.random.default_rng(8)
    case = random_two_compartment(rng, 40, 10, on_grid=False)
    for name in ("dose_times", "dose_amounts", "dose_class", "dose_f", "sample_times"):
        case[name] = case[name][:1]
    case["dose_times"] = np.array([[30.0, np.nan, 2.0, 14.0, 13.0, 0.5, 50.0, 26.0, 25.0, 1.0]])
    shared = model.concentrations_two_compartment(**case)
    copies = {
        name: np.repeat(case[name], 40, axis=0)
        for name in ("dose_times", "dose_amounts", "dose_class", "dose_f", "sample_times")
    }
    np.testing.assert_array_equal(shared, model.concentrations_two_compartment(**(case | copies)))
    np.testing.assert_allclose(
        shared, naive.concentrations_two_compartment_reference(**case), **TOLERANCES
    )
    order = rng.permutation(case["sample_times"].shape[1])
    permuted = model.concentrations_two_compartment(
        **(case | {"sample_times": case["sample_times"][:, order]})
    )
    np.testing.assert_array_equal(permuted, shared[:, order])


# ------------------------------------------------------------------------ limits and edge cases

BASE = {"cl": 20.0, "v1": 100.0, "q": 50.0, "v2": 800.0, "ka": 4.5, "tlag": 0.4, "f": 1.0}
"""Typical two-compartment values (the benchmark's): alpha 0.746 /h, beta 0.0168 /h."""

DOSES = ([0.0, 12.0, 24.0, 36.0, 60.0], [1.5, 1.5, 3.0, 1.5, 2.0])
SAMPLES = np.array([-1.0, 0.0, 0.4, 1.0, 3.0, 12.0, 12.4, 20.0, 36.0, 48.0, 61.0, 100.0, 400.0])


def rates(parameters):
    """alpha, beta (1/h) as the kernel computes them."""
    p = parameters
    alpha, beta, _, _ = disposition(p["cl"] / p["v1"], p["q"] / p["v1"], p["q"] / p["v2"])
    return alpha, beta


@pytest.mark.parametrize("which", ["alpha", "beta"])
@pytest.mark.parametrize("relative_gap", [0.0, 1e-15, 1e-12, -1e-12, 1e-9, 1e-6, -1e-3])
def test_ka_equal_or_nearly_equal_to_a_disposition_rate(which, relative_gap):
    """ka -> alpha and ka -> beta are limits, not divisions by zero: the result matches the ODE
    solver (which does not care) and is continuous in ka through the coincidence."""
    alpha, beta = rates(BASE)
    rate = alpha if which == "alpha" else beta
    parameters = BASE | {"ka": rate * (1 + relative_gap)}
    result = single(parameters, *DOSES, SAMPLES)
    expected = naive.two_compartment_oral_lag(parameters, *DOSES, SAMPLES)
    np.testing.assert_allclose(result, expected, **TOLERANCES)
    at_the_limit = single(BASE | {"ka": rate}, *DOSES, SAMPLES)
    np.testing.assert_allclose(result, at_the_limit, rtol=4 * abs(relative_gap) + 1e-13, atol=0)


@pytest.mark.parametrize("q", [1e-9, 1e-6])
@pytest.mark.parametrize("ka_at", ["alpha", "beta", "between"])
def test_a_tiny_discriminant_alpha_close_to_beta(q, ka_at):
    """k10 + k12 = k21 with Q -> 0: alpha - beta = 2·sqrt(k12·k21) is tiny, and ka on or
    between the two; still exact against the ODE solver."""
    k10, v1 = 0.05, 100.0
    v2 = q / (k10 + q / v1)  # k21 = Q/V2 = k10 + k12, up to rounding
    parameters = {"cl": k10 * v1, "v1": v1, "q": q, "v2": v2, "ka": 1.0, "tlag": 0.0, "f": 1.0}
    alpha, beta = rates(parameters)
    assert 0 < alpha - beta < 1e-3 * alpha
    parameters["ka"] = {"alpha": alpha, "beta": beta, "between": (alpha + beta) / 2}[ka_at]
    result = single(parameters, *DOSES, SAMPLES)
    expected = naive.two_compartment_oral_lag(parameters, *DOSES, SAMPLES)
    np.testing.assert_allclose(result, expected, **TOLERANCES)


@pytest.mark.parametrize("q", [0.0, 1e-14, 1e-12])
def test_q_to_zero_is_the_one_compartment_model_with_v1(q):
    """With every event feature: classes, inversions, per-dose F, clearance change points.
    Q itself moves the answer by about (Q/V1)·t <= 1e-12 L/h / 10 L · 140 h = 1.4e-11."""
    case = random_two_compartment(np.random.default_rng(40), 60, 8, on_grid=False)
    case["q"] = np.full(60, q)
    result = model.concentrations_two_compartment(**case)
    one = {k: v for k, v in case.items() if k not in ("v1", "q", "v2")} | {"v": case["v1"]}
    np.testing.assert_allclose(result, model.concentrations_general(**one), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("v2", [1e-3, 1e-6])
def test_a_tiny_peripheral_volume_equilibrates_at_once(v2):
    """Q 10 L/h into V2 -> 0 (k21 up to 1e7 /h, a very stiff system): the peripheral amount is
    V2/V1 of the central one at all times, i.e. one compartment of V1 + V2."""
    parameters = BASE | {"q": 10.0, "v2": v2}
    result = single(parameters, *DOSES, SAMPLES)
    expected = model.concentrations_general(
        BASE["cl"], BASE["v1"] + v2, BASE["ka"], BASE["tlag"], BASE["f"], [DOSES[0]], [DOSES[1]],
        SAMPLES,
    )[0]  # fmt: skip
    assert np.all(np.isfinite(result))
    np.testing.assert_allclose(result, expected, rtol=1e-7, atol=1e-12)


def test_zero_lag_no_doses_and_samples_before_dosing():
    parameters = BASE | {"tlag": 0.0}
    result = single(parameters, *DOSES, SAMPLES)
    np.testing.assert_allclose(
        result, naive.two_compartment_oral_lag(parameters, *DOSES, SAMPLES), **TOLERANCES
    )
    assert result[0] == result[1] == 0.0  # before and at the first dose time
    assert result[2] > 0  # 0.4 h after a dose without lag
    nothing = single(BASE, [np.nan, np.nan], [1.5, 3.0], SAMPLES)
    assert np.all(nothing == 0.0)
    no_columns = model.concentrations_two_compartment(
        *(np.atleast_1d(BASE[name]) for name in PARAMETERS), np.empty((1, 0)), np.empty((1, 0)),
        SAMPLES,
    )  # fmt: skip
    assert np.all(no_columns == 0.0)
    zero_amounts = single(BASE, DOSES[0], np.zeros(5), SAMPLES)
    assert np.all(zero_amounts == 0.0)


def test_sample_at_a_dose_time_is_the_pre_dose_value():
    before = single(BASE, *DOSES, [24.0 - 1e-9])[0]
    at = single(BASE, *DOSES, [24.0])[0]
    assert at == pytest.approx(before, rel=1e-8)
    assert single(BASE | {"tlag": 0.0}, *DOSES, [24.0])[0] == pytest.approx(
        single(BASE | {"tlag": 0.0}, *DOSES, [24.0 - 1e-9])[0], rel=1e-8
    )


def test_very_late_samples_stay_finite_and_non_negative():
    result = single(BASE | {"q": 200.0, "v2": 5000.0}, *DOSES, [1e3, 1e4, 1e5, 1e6])
    assert np.all(np.isfinite(result)) and np.all(result >= 0)
    assert result[0] > result[1] > result[2] >= result[3]


def test_the_peripheral_compartment_lowers_the_peak_and_raises_the_late_tail():
    """Against one compartment with V = V1: what two compartments are for (exposure shape)."""
    samples = np.array([1.0, 2.0, 200.0])
    two = single(BASE, *DOSES, samples)
    one = model.concentrations(
        BASE["cl"], BASE["v1"], BASE["ka"], BASE["tlag"], BASE["f"], [DOSES[0]], [DOSES[1]],
        samples,
    )[0]  # fmt: skip
    assert two[0] < one[0] and two[1] < one[1] and two[2] > one[2]


def test_clearance_multiplier_scales_cl_only():
    """A multiplier m on CL in every segment equals CL·m with Q, V1, V2 unchanged."""
    times, amounts = DOSES
    scaled = model.concentrations_two_compartment(
        *(np.atleast_1d(BASE[name]) for name in PARAMETERS), [times], [amounts], SAMPLES,
        cl_change_times=[5.0, 30.0], cl_multipliers=[[2.5, 2.5, 2.5]],
    )[0]  # fmt: skip
    np.testing.assert_allclose(
        scaled, single(BASE | {"cl": 2.5 * BASE["cl"]}, *DOSES, SAMPLES), rtol=1e-12, atol=1e-300
    )


# ---------------------------------------------------------------------------------- input checks


def good_arguments():
    return {
        "cl": [20.0, 10.0],
        "v1": [100.0, 80.0],
        "q": [50.0, 30.0],
        "v2": [800.0, 500.0],
        "ka": [4.5, 1.0],
        "tlag": [0.4, 0.0],
        "f": [1.0, 1.2],
        "dose_times": [[0.0, 12.0], [0.0, np.nan]],
        "dose_amounts": [[1.5, 1.5], [2.0, 0.0]],
        "sample_times": [24.0, 48.0],
    }


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("cl", [20.0, np.nan], r"cl must be finite and > 0 \(L/h\); got nan at index 1"),
        ("v1", [0.0, 1.0], r"v1 must be finite and > 0 \(L\)"),
        ("q", [-1.0, 1.0], r"q must be finite and >= 0 \(L/h\)"),
        ("q", [np.inf, 1.0], r"q must be finite and >= 0"),
        ("v2", [800.0, 0.0], r"v2 must be finite and > 0 \(L\); got 0.0 at index 1"),
        ("ka", [4.5, 0.0], r"ka must be finite and > 0 \(1/h\)"),
        ("tlag", [-0.1, 0.0], r"tlag must be finite and >= 0 \(h\)"),
        ("f", [0.0, 1.0], r"f must be finite and > 0 \(relative bioavailability\)"),
        (
            "v2",
            [800.0, 500.0, 1.0],
            r"cl, v1, q, v2, ka, tlag and f must have one value per subject \(the same "
            r"length\); got cl=2, v1=2, q=2, v2=3",
        ),
        ("q", np.array([1.0, 1j]), r"q must hold real numbers .* complex"),
        ("v2", ["800", "500"], r"v2 must hold real numbers .*strings are not numbers"),
        ("dose_times", [[0.0, np.inf], [0.0, 1.0]], r"dose_times must be finite or NaN"),
        ("dose_amounts", [[1.5, -1.0], [2.0, 0.0]], r"dose_amounts must be finite and >= 0"),
        ("sample_times", [24.0, np.nan], r"sample_times must be finite"),
    ],
)
def test_bad_input_names_the_argument(argument, value, message):
    with pytest.raises(ValueError, match=message):
        model.concentrations_two_compartment(**(good_arguments() | {argument: value}))


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"dose_class": [[0, 2], [0, 0]]}, r"dose_class values must be in \[0, 1\)"),
        ({"class_lag": [-1.0]}, r"class_lag must be finite and >= 0"),
        ({"dose_f": [[1.0, 0.0]]}, r"dose_f must be finite and > 0"),
        ({"cl_change_times": [10.0]}, "must be given together"),
        ({"cl_change_times": [10.0], "cl_multipliers": [[1.0, -2.0]]}, "cl_multipliers must be"),
    ],
)
def test_bad_event_keywords_are_refused(keywords, message):
    with pytest.raises(ValueError, match=message):
        model.concentrations_two_compartment(**good_arguments(), **keywords)


def test_steady_state_refuses_bad_input_naming_it():
    arguments = {name: BASE[name] for name in PARAMETERS} | {"dose": 1.5, "tau": 12.0}
    with pytest.raises(ValueError, match=r"tau must be finite and > 0"):
        model.steady_state_trough_two_compartment(**(arguments | {"tau": 0.0}))
    with pytest.raises(ValueError, match=r"v2 must be finite and > 0"):
        model.steady_state_trough_two_compartment(**(arguments | {"v2": -1.0}))
    with pytest.raises(ValueError, match=r"one length; got cl \(2,\), v1 \(\), q \(3,\)"):
        model.steady_state_trough_two_compartment(**(arguments | {"cl": [1, 2], "q": [1, 2, 3]}))
    assert np.ndim(model.steady_state_trough_two_compartment(**arguments)) == 0
