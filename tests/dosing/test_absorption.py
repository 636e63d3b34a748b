"""Per-dose absorption (pksim.dosing.absorption): reproducible food adherence draws and the
kernel's absorption arrays from formulation and food."""

import numpy as np
import pytest

from pksim.dosing import absorption
from pksim.errors import Problems
from pksim.library import food
from pksim.model import concentrations_general

CL, V, KA, TLAG = 18.4, 883.0, 4.5, 0.4  # healthy volunteers (tests/library/test_food.py)


def test_adherence_draws_are_reproducible_and_chunk_invariant():
    planned = ["1h_before_meal", "2h_after_meal", "with_meal"] * 20
    kwargs = {"seed": 11, "fraction_against_rule": 0.3}
    whole = absorption.draw_dose_conditions(planned, start=0, stop=9000, **kwargs)
    again = absorption.draw_dose_conditions(planned, start=0, stop=9000, **kwargs)
    np.testing.assert_array_equal(whole, again)
    chunks = np.vstack(
        [
            absorption.draw_dose_conditions(planned, start=a, stop=b, **kwargs)
            for a, b in ((0, 3000), (3000, 4100), (4100, 9000))
        ]
    )
    np.testing.assert_array_equal(whole, chunks)
    shorter = absorption.draw_dose_conditions(planned[:10], start=0, stop=9000, **kwargs)
    np.testing.assert_array_equal(shorter, whole[:, :10])
    other = absorption.draw_dose_conditions(
        planned, start=0, stop=9000, seed=12, fraction_against_rule=0.3
    )
    assert np.any(other != whole)


def test_adherence_fraction_and_untouched_doses():
    planned = ["1h_before_meal", "with_meal"] * 50
    codes = absorption.draw_dose_conditions(
        planned, seed=3, start=0, stop=2000, fraction_against_rule=0.25
    )
    with_meal = food.lookup_condition("with_meal").code
    switched = np.mean(codes[:, 0::2] == with_meal)
    n = codes[:, 0::2].size
    assert abs(switched - 0.25) < 5 * np.sqrt(0.25 * 0.75 / n)  # binomial, 5 SD
    assert np.all(codes[:, 1::2] == with_meal)
    zero = absorption.draw_dose_conditions(
        planned, seed=3, start=0, stop=2000, fraction_against_rule=0
    )
    assert zero.shape == (1, len(planned))


def test_absorption_arrays_combine_formulation_and_food():
    codes = np.array([[0, 3, 0, 3], [0, 0, 3, 3]])
    arrays = absorption.absorption_arrays(
        np.array([4.0, 2.0]), codes, ["prograf"] * 2 + ["envarsus"] * 2
    )
    assert arrays.classes == (
        ("ir", "fasted"),
        ("ir", "with_meal"),
        ("lcp", "fasted"),
        ("lcp", "with_meal"),
    )
    np.testing.assert_array_equal(arrays.dose_class, [[0, 1, 2, 3], [0, 0, 3, 3]])
    # Prograf with meal: F 0.61 (label); Envarsus: relative F 1 / 0.7 (EU SmPC 1:0.7 conversion).
    np.testing.assert_allclose(arrays.dose_f[0], [1.0, 0.61, 1.43, 1.43 * 0.75])
    np.testing.assert_allclose(arrays.ka[:, 1], [4.0 * 0.25, 2.0 * 0.25])
    np.testing.assert_allclose(arrays.class_lag, [0.0, 0.5, 0.0, 0.0])


def test_fasted_prograf_is_the_reference_model():
    times = np.arange(0.0, 240.0, 12.0)[np.newaxis, :]
    amounts = np.full(times.shape, 1.5)
    samples = np.arange(1.0, 240.0, 1.0)
    arrays = absorption.absorption_arrays(np.array([KA]), ["fasted"] * times.shape[1])
    general = concentrations_general(
        CL,
        V,
        arrays.ka,
        TLAG,
        1.0,
        times,
        amounts,
        samples,
        dose_class=arrays.dose_class,
        class_lag=arrays.class_lag,
        dose_f=arrays.dose_f,
    )
    plain = concentrations_general(CL, V, KA, TLAG, 1.0, times, amounts, samples)
    np.testing.assert_array_equal(general, plain)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: absorption.draw_dose_conditions(
                ["fasted"], seed=1, start=0, stop=2, fraction_against_rule=1.5
            ),
            "fraction_against_rule",
        ),
        (
            lambda: absorption.draw_dose_conditions(
                ["fasted"], seed=1, start=0, stop=2, fraction_against_rule=0.5, violation="fasted"
            ),
            "breaks the rule",
        ),
        (
            lambda: absorption.absorption_arrays(np.array([4.5]), ["fasted"], "prograff"),
            'did you mean "prograf"',
        ),
        (lambda: absorption.absorption_arrays(np.array([-1.0]), ["fasted"]), "ka"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_meal_plan_has_a_few_meals_at_distinct_times():
    """72 meals at one clock time used to load (issue 15)."""
    problems = Problems()
    absorption.FoodPlan.from_mapping({"meals": [{"clock": "08:00"}] * 72}, "food", problems)
    assert list(problems) == ["food.meals: at most 8 meals a day, got 72"]
    problems = Problems()
    meals = [{"clock": "07:30"}, {"clock": "12:00"}, {"clock": "07:30", "kind": "high_fat"}]
    absorption.FoodPlan.from_mapping({"meals": meals}, "food", problems)
    assert list(problems) == [
        "food.meals[2].clock: meals must have distinct clock times; food.meals[0] is also at 07:30"
    ]
    problems = Problems()
    plan = absorption.FoodPlan.from_mapping(
        {"meals": [{"clock": f"{h:02d}:00"} for h in range(8)]}, "f", problems
    )
    assert not problems and len(plan.meals) == 8
