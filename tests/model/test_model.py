"""The exact kernel against independent references (tests/naive.py) and its input checks."""

import math

import numpy as np
import pytest

from pksim import model
from tests import naive

RTOL = 1e-8


def random_subjects(rng, n, max_doses, *, nan_padding=True):
    """Random parameters and irregular, padded dose lists over 3 weeks."""
    cl = rng.lognormal(math.log(15), 0.6, n)
    v = rng.lognormal(math.log(600), 0.7, n)
    ka = rng.lognormal(math.log(3), 1.0, n)
    tlag = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0, 1.5, n))
    f = rng.uniform(0.3, 2.5, n)
    times = np.cumsum(rng.exponential(10, (n, max_doses)), axis=1)
    amounts = rng.choice([0.0, 0.5, 1.0, 1.5, 3.0, 5.0], (n, max_doses))
    if nan_padding:
        counts = rng.integers(0, max_doses + 1, n)
        times[np.arange(max_doses)[None, :] >= counts[:, None]] = np.nan
    return cl, v, ka, tlag, f, times, amounts


def test_matches_superposition_on_hundreds_of_irregular_subjects():
    rng = np.random.default_rng(2026)
    n = 400
    cl, v, ka, tlag, f, times, amounts = random_subjects(rng, n, 12)
    # Samples include exact dose times (trough convention) and times before the first dose.
    samples = np.concatenate([[-5.0, 0.0], np.sort(rng.uniform(0, 200, 30)), times[0, :3]])
    samples = samples[np.isfinite(samples)]
    result = model.concentrations(cl, v, ka, tlag, f, times, amounts, samples)
    for i in range(n):
        expected = naive.superposition(
            cl[i], v[i], ka[i], tlag[i], f[i], times[i], amounts[i], samples
        )
        np.testing.assert_allclose(result[i], expected, rtol=RTOL, atol=1e-300)


def test_matches_ode_solver_with_classes_per_dose_f_and_changing_clearance():
    """solve_ivp (DOP853, rtol 1e-12) with per-dose ka/lag/F and a piecewise clearance."""
    rng = np.random.default_rng(7)
    n, m = 40, 8
    cl, v, ka, tlag, f, times, amounts = random_subjects(rng, n, m, nan_padding=False)
    ka_table = np.column_stack([ka, ka * 0.25, ka * 3.0])
    class_lag = np.array([0.0, 0.5, 0.1])
    klass = rng.integers(0, 3, (n, m))
    dose_f = rng.uniform(0.5, 1.5, (n, m))
    changes = np.array([20.0, 45.5, 60.0])
    multipliers = rng.uniform(0.3, 3.0, (n, 4))
    samples = np.sort(np.concatenate([rng.uniform(0, 120, 25), changes, times[0, :2]]))
    result = model.concentrations_general(
        cl,
        v,
        ka_table,
        tlag,
        f,
        times,
        amounts,
        samples,
        dose_class=klass,
        class_lag=class_lag,
        dose_f=dose_f,
        cl_change_times=changes,
        cl_multipliers=multipliers,
    )
    for i in range(n):
        doses = [
            (
                times[i, j] + tlag[i] + class_lag[klass[i, j]],
                amounts[i, j] * f[i] * dose_f[i, j],
                ka_table[i, klass[i, j]],
            )
            for j in range(m)
        ]
        segments = [(-np.inf, cl[i] * multipliers[i, 0])] + [
            (t, cl[i] * multipliers[i, s + 1]) for s, t in enumerate(changes)
        ]
        expected = naive.ode_reference(v[i], doses, samples, segments)
        np.testing.assert_allclose(result[i], expected, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("relative_gap", [0.0, 1e-15, 1e-12, 1e-9, 1e-6, 1e-3, -1e-9, -1e-3])
def test_ka_equal_or_nearly_equal_to_k_gives_the_limit(relative_gap):
    cl, v = 14.0, 700.0
    k = cl / v
    ka = k * (1 + relative_gap)
    times = np.array([[0.0, 12.0, 24.0, 36.0]])
    samples = np.array([1.0, 12.0, 30.0, 100.0, 1000.0])
    result = model.concentrations(
        [cl], [v], [ka], [0.3], [1.0], times, np.full((1, 4), 2.0), samples
    )[0]
    doses = [(t + 0.3, 2.0, ka) for t in times[0]]
    expected = naive.ode_reference(v, doses, samples, [(-np.inf, cl)])
    np.testing.assert_allclose(result, expected, rtol=RTOL)
    if relative_gap == 0.0:  # the analytic limit F·D·k·t·exp(-k·t)/V, superposed
        limit = naive.superposition(cl, v, k, 0.3, 1.0, times[0], np.full(4, 2.0), samples)
        np.testing.assert_allclose(result, limit, rtol=1e-12)


def test_zero_lag_zero_doses_and_samples_before_dosing():
    times = np.array([[0.0, 12.0], [np.nan, np.nan], [5.0, 6.0]])
    amounts = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    samples = np.array([-1.0, 0.0, 6.0, 13.0])
    result = model.concentrations(
        [20.0] * 3, [800.0] * 3, [4.5] * 3, [0.0] * 3, [1.0] * 3, times, amounts, samples
    )
    assert result[0, 0] == 0.0 and result[0, 1] == 0.0
    assert np.all(result[1] == 0.0) and np.all(result[2] == 0.0)
    expected = naive.superposition(20.0, 800.0, 4.5, 0.0, 1.0, times[0], amounts[0], samples)
    np.testing.assert_allclose(result[0], expected, rtol=RTOL)


def test_sample_at_a_dose_time_is_taken_before_that_dose():
    with_dose = model.concentrations(
        [20.0], [800.0], [4.5], [0.0], [1.0], [[0.0, 12.0]], [[1.5, 1.5]], [12.0]
    )
    without = model.concentrations(
        [20.0], [800.0], [4.5], [0.0], [1.0], [[0.0, np.nan]], [[1.5, 1.5]], [12.0]
    )
    assert with_dose[0, 0] == without[0, 0] > 0


def test_lag_shifts_arrival_not_the_dose_time():
    samples = np.array([0.2, 0.5, 3.0, 12.0, 12.3, 30.0])
    lagged = model.concentrations(
        [20.0], [800.0], [4.5], [0.4], [1.0], [[0.0, 12.0]], [[1.5, 1.5]], samples
    )
    shifted = model.concentrations(
        [20.0], [800.0], [4.5], [0.0], [1.0], [[0.4, 12.4]], [[1.5, 1.5]], samples
    )
    np.testing.assert_allclose(lagged, shifted, rtol=1e-13)
    assert lagged[0, 0] == 0.0  # 0.2 h after the first dose, nothing has arrived yet


def test_unsorted_inputs_and_shared_rows_give_the_same_answer():
    rng = np.random.default_rng(3)
    cl, v, ka, tlag, f, times, amounts = random_subjects(rng, 30, 6)
    samples = rng.uniform(0, 100, 12)
    order = rng.permutation(6)
    sorted_result = model.concentrations(cl, v, ka, tlag, f, times, amounts, np.sort(samples))
    shuffled = model.concentrations(cl, v, ka, tlag, f, times[:, order], amounts[:, order], samples)
    np.testing.assert_array_equal(shuffled[:, np.argsort(samples)], sorted_result)
    shared = model.concentrations(cl, v, ka, tlag, f, times[:1], amounts[:1], samples)
    each = model.concentrations(
        cl,
        v,
        ka,
        tlag,
        f,
        np.repeat(times[:1], 30, axis=0),
        np.repeat(amounts[:1], 30, axis=0),
        samples,
    )
    np.testing.assert_array_equal(shared, each)


def test_steady_state_trough_matches_the_textbook_formula():
    rng = np.random.default_rng(11)
    cl, v, ka = rng.uniform(5, 40, 50), rng.uniform(200, 1500, 50), rng.uniform(0.2, 8, 50)
    tlag, f, dose = rng.uniform(0, 1, 50), rng.uniform(0.5, 2, 50), rng.uniform(0.5, 5, 50)
    tau = rng.choice([8.0, 12.0, 24.0], 50)
    result = model.steady_state_trough(cl, v, ka, tlag, f, dose, tau)
    expected = [
        naive.steady_state_trough(*args) for args in zip(cl, v, ka, tlag, f, dose, tau, strict=True)
    ]
    np.testing.assert_allclose(result, expected, rtol=1e-10)
    # ka == k: the limit, continuous with a tiny perturbation of ka.
    exact = model.steady_state_trough(14.0, 700.0, 0.02, 0.4, 1.0, 1.5, 12.0)
    near = naive.steady_state_trough(14.0, 700.0, 0.02 * (1 + 1e-7), 0.4, 1.0, 1.5, 12.0)
    np.testing.assert_allclose(exact, near, rtol=1e-6)


def good_arguments():
    return {
        "cl": [20.0, 10.0],
        "v": [800.0, 500.0],
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
        ("cl", [0.0, 1.0], r"cl must be finite and > 0"),
        ("v", [-800.0, 1.0], r"v must be finite and > 0 \(L\)"),
        ("ka", [4.5, 0.0], r"ka must be finite and > 0 \(1/h\)"),
        ("tlag", [-0.1, 0.0], r"tlag must be finite and >= 0 \(h\)"),
        ("f", [0.0, 1.0], r"f must be finite and > 0 \(relative bioavailability\)"),
        ("f", [1.0, np.inf], r"f must be finite and > 0"),
        (
            "cl",
            [20.0, 10.0, 5.0],
            r"must have one value per subject \(the same length\); got cl=3, v=2",
        ),
        ("sample_times", [24.0, np.nan], r"sample_times must be finite"),
        ("sample_times", [[24.0]], r"sample_times must be 1-D"),
        ("dose_times", [0.0, 12.0], r"dose_times must be 2-D"),
        ("dose_times", [[0.0, np.inf], [0.0, 1.0]], r"dose_times must be finite or NaN"),
        ("dose_amounts", [[1.5], [2.0]], r"dose_amounts must have the shape of dose_times"),
        ("dose_amounts", [[1.5, -1.0], [2.0, 0.0]], r"dose_amounts must be finite and >= 0"),
        ("dose_amounts", [[1.5, np.nan], [2.0, 0.0]], r"dose_amounts must be finite and >= 0"),
        ("dose_times", [[0.0, 1.0]] * 3, r"dose_times must have one row per subject \(2\)"),
    ],
)
def test_bad_input_names_the_argument_and_the_allowed_range(argument, value, message):
    arguments = good_arguments() | {argument: value}
    with pytest.raises(ValueError, match=message):
        model.concentrations(**arguments)


def test_nan_amount_behind_a_missing_dose_is_ignored():
    arguments = good_arguments() | {"dose_amounts": [[1.5, 1.5], [2.0, np.nan]]}
    np.testing.assert_array_equal(
        model.concentrations(**arguments), model.concentrations(**good_arguments())
    )


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"dose_class": [[0, 2], [0, 0]]}, r"dose_class values must be in \[0, 1\)"),
        ({"class_lag": [-1.0]}, r"class_lag must be finite and >= 0"),
        ({"dose_f": [[1.0, 0.0]]}, r"dose_f must be finite and > 0"),
        ({"cl_change_times": [10.0]}, "must be given together"),
        (
            {"cl_change_times": [10.0, 5.0], "cl_multipliers": [[1.0, 1.0, 1.0]]},
            "strictly ascending",
        ),
        ({"cl_change_times": [10.0], "cl_multipliers": [[1.0]]}, r"len\(cl_change_times\) \+ 1"),
        ({"cl_change_times": [10.0], "cl_multipliers": [[1.0, -2.0]]}, "cl_multipliers must be"),
    ],
)
def test_bad_general_input_is_refused(keywords, message):
    with pytest.raises(ValueError, match=message):
        model.concentrations_general(**good_arguments(), **keywords)


def test_steady_state_trough_refuses_bad_input():
    with pytest.raises(ValueError, match=r"tau must be finite and > 0"):
        model.steady_state_trough(20.0, 800.0, 4.5, 0.4, 1.0, 1.5, 0.0)


def test_scalar_parameters_are_broadcast_over_subjects():
    result = model.concentrations(
        20.0, 800.0, [4.5, 3.0], 0.4, 1.0, [[0.0, 12.0]], [[1.0, 1.0]], [24.0]
    )
    each = [
        model.concentrations(
            [20.0], [800.0], [ka], [0.4], [1.0], [[0.0, 12.0]], [[1.0, 1.0]], [24.0]
        )[0, 0]
        for ka in (4.5, 3.0)
    ]
    np.testing.assert_array_equal(result[:, 0], each)
    assert np.ndim(model.steady_state_trough(20.0, 800.0, 4.5, 0.4, 1.0, 1.5, 12.0)) == 0


@pytest.mark.parametrize(("cl", "expected_ratio"), [(14.0, 0.88), (22.4, 0.81)])
def test_once_vs_twice_daily_trough_ratio(cl, expected_ratio):
    """PK_REFERENCE §6.3 [D]: C0 QD/BID at the same daily dose ≈ 0.88 (k 0.02 /h), 0.81 (0.032)."""
    qd = model.steady_state_trough(cl, 700.0, 4.5, 0.4, 1.0, 3.0, 24.0)
    bid = model.steady_state_trough(cl, 700.0, 4.5, 0.4, 1.0, 1.5, 12.0)
    assert qd / bid == pytest.approx(expected_ratio, abs=0.01)


def test_a_missed_dose_in_the_middle_of_a_row_is_skipped():
    samples = np.array([10.0, 30.0, 60.0])
    missed = model.concentrations(
        [20.0],
        [800.0],
        [4.5],
        [0.4],
        [1.0],
        [[0.0, np.nan, 24.0, 36.0]],
        [[1.5, 9.9, 1.5, 1.5]],
        samples,
    )
    expected = naive.superposition(
        20.0, 800.0, 4.5, 0.4, 1.0, [0.0, 24.0, 36.0], [1.5] * 3, samples
    )
    np.testing.assert_allclose(missed[0], expected, rtol=RTOL)


# ----------------------------------------------------------------------------- shapes and dtypes


def test_ka_without_columns_is_refused_not_read_out_of_bounds():
    """A (n, 0) ka table used to be accepted: the kernel read class 0 beyond the array."""
    with pytest.raises(ValueError, match=r"ka must have at least one column .* shape \(1, 0\)"):
        model.concentrations_general(
            10.0, 100.0, np.zeros((1, 0)), 0.0, 1.0, [[0.0]], [[1.0]], [1.0, 2.0]
        )


@pytest.mark.parametrize("bad", [[[0.7, 1.0]], [[0.0, 1.9]], [[0.0, np.nan]], [[np.inf, 0.0]]])
def test_non_integral_dose_class_is_refused_not_truncated(bad):
    arguments = dict(ka=[[50.0, 5.0]], dose_times=[[0.0, 1.0]], dose_amounts=[[1.0, 1.0]])
    general = {"cl": 10.0, "v": 100.0, "tlag": 0.0, "f": 1.0, "sample_times": [2.0]}
    with pytest.raises(ValueError, match=r"dose_class must hold whole numbers .* at index"):
        model.concentrations_general(**general, **arguments, dose_class=bad)


def test_integer_valued_float_dose_class_equals_the_integer_one():
    """Documented: whole-valued floats (as np.zeros makes them) are class indices."""
    common = dict(
        cl=10.0, v=100.0, ka=[[50.0, 5.0]], tlag=0.0, f=1.0, dose_times=[[0.0, 1.0]],
        dose_amounts=[[1.0, 1.0]], sample_times=[2.0, 5.0],
    )  # fmt: skip
    as_float = model.concentrations_general(**common, dose_class=np.array([[1.0, 0.0]]))
    as_int = model.concentrations_general(**common, dose_class=np.array([[1, 0]]))
    np.testing.assert_array_equal(as_float, as_int)
    swapped = model.concentrations_general(**common, dose_class=np.array([[0, 1]]))
    assert not np.array_equal(as_int, swapped)  # the class really changes the answer


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("cl", np.array([20.0, "a"], dtype=object), r"cl must hold real numbers .* dtype object"),
        ("v", np.array([800.0 + 1j, 500.0]), r"v must hold real numbers .* complex"),
        ("ka", np.array([True, True]), r"ka must hold real numbers .* dtype bool"),
        ("tlag", ["0.4", "0.0"], r"tlag must hold real numbers .*strings are not numbers"),
        ("f", [1.0, None], r"f must hold real numbers .* dtype object"),
        ("dose_times", [[0.0, 12.0], [0.0]], r"dose_times must be a rectangular array"),
        ("dose_amounts", np.ones((2, 2), dtype=bool), r"dose_amounts must hold real numbers"),
        ("sample_times", [24.0, 1j], r"sample_times must hold real numbers .* complex"),
    ],
)
def test_bad_dtypes_and_ragged_lists_name_the_argument(argument, value, message):
    """Checked before any numba code: complex parts were dropped, bools and numeric strings
    were taken as numbers, ragged lists failed inside NumPy naming nothing."""
    arguments = good_arguments() | {argument: value}
    with pytest.raises(ValueError, match=message):
        model.concentrations(**arguments)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"dose_class": [[False, True]]}, r"dose_class must hold real numbers .* bool"),
        ({"dose_class": [[0], [0, 0]]}, r"dose_class must be a rectangular array"),
        ({"class_lag": [1j]}, r"class_lag must hold real numbers"),
        ({"dose_f": [["1", "1"]]}, r"dose_f must hold real numbers"),
        ({"cl_change_times": [True], "cl_multipliers": [[1.0, 2.0]]}, r"cl_change_times must"),
    ],
)
def test_bad_dtypes_of_the_general_keywords_name_the_argument(keywords, message):
    with pytest.raises(ValueError, match=message):
        model.concentrations_general(**good_arguments(), **keywords)


def test_steady_state_trough_names_arguments_of_different_lengths():
    with pytest.raises(ValueError, match=r"one length; got cl \(2,\), v \(3,\)"):
        model.steady_state_trough([20.0, 10.0], [800.0] * 3, 4.5, 0.4, 1.0, 1.5, 12.0)
    with pytest.raises(ValueError, match=r"dose must hold real numbers"):
        model.steady_state_trough(20.0, 800.0, 4.5, 0.4, 1.0, "1.5", 12.0)
