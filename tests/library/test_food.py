"""Food (pksim.library.food): label food effects through the kernel, and meal-timing rules.

Label numbers (PK_REFERENCE.md section 5): Prograf label (high-fat meal AUC -37 %, Cmax -77 %;
high-carbohydrate AUC -28 %; immediately after a meal AUC -39 %, Cmax -71 %; 1.5 h after AUC
-39 %), Bekersky 2001b (AUCinf 312 fasting vs 276 ng*h/mL dosed 1 h before breakfast),
Huppertz 2021 (continental breakfast: prolonged-release AUC 79 % of fasting).
"""

import numpy as np
import pytest

from pksim.dosing.absorption import absorption_arrays
from pksim.library import food
from pksim.library.formulations import lookup_formulation
from pksim.model import concentrations_general

CL, V, KA, TLAG = 18.4, 883.0, 4.5, 0.4  # healthy volunteers: CL/F = 5 mg / 272 ng*h/mL, t1/2 34 h
DOSE = 5.0
EARLY = np.arange(0.0, 48.0, 0.005)
LATE = np.arange(48.0, 2400.0, 0.25)


def _single_dose(formulation, condition):
    arrays = absorption_arrays(np.array([KA]), [condition], formulation)
    samples = np.concatenate([EARLY, LATE])
    conc = concentrations_general(
        CL,
        V,
        arrays.ka,
        TLAG,
        1.0,
        np.array([[0.0]]),
        np.array([[DOSE]]),
        samples,
        dose_class=arrays.dose_class,
        class_lag=arrays.class_lag,
        dose_f=arrays.dose_f,
    )[0]
    auc = np.trapezoid(conc[: EARLY.size], EARLY) + np.trapezoid(
        conc[EARLY.size - 1 :], samples[EARLY.size - 1 :]
    )
    peak = int(np.argmax(conc))
    return auc, conc[peak], samples[peak]


@pytest.mark.parametrize(
    ("formulation", "condition", "label_auc_ratio", "tolerance"),
    [
        ("prograf", "high_fat_meal", 1 - 0.37, 0.005),  # Prograf label
        ("prograf", "high_carb_meal", 1 - 0.28, 0.005),  # Prograf label
        ("prograf", "with_meal", 1 - 0.39, 0.005),  # Prograf label, immediately after a meal
        ("prograf", "1.5h_after_meal", 1 - 0.39, 0.005),  # Prograf label
        ("prograf", "1h_before_meal", 276 / 312, 0.01),  # Bekersky 2001b, -12 %
        ("advagraf", "with_meal", 0.79, 0.005),  # Huppertz 2021, continental breakfast
    ],
)
def test_single_dose_auc_change_matches_label(formulation, condition, label_auc_ratio, tolerance):
    """AUCinf ratio (fed / fasted) of a single 5 mg dose, integrated from the kernel."""
    fasted, _, _ = _single_dose(formulation, "fasted")
    fed, _, _ = _single_dose(formulation, condition)
    assert fasted == pytest.approx(1000 * DOSE / CL * _relative_f(formulation), rel=1e-3)
    assert fed / fasted == pytest.approx(label_auc_ratio, abs=tolerance)


def _relative_f(formulation):
    return lookup_formulation(formulation).relative_f.value


@pytest.mark.parametrize("condition", ["high_fat_meal", "high_carb_meal", "with_meal"])
def test_food_lowers_rate_and_extent(condition):
    """Label: absorption rate and extent are greatest fasting; food delays the peak and lowers
    Cmax at least as much as AUC."""
    auc0, cmax0, tmax0 = _single_dose("prograf", "fasted")
    auc, cmax, tmax = _single_dose("prograf", condition)
    assert auc < auc0
    assert cmax / cmax0 <= auc / auc0
    assert tmax > tmax0


@pytest.mark.xfail(
    strict=True,
    reason="A one-compartment model whose V/F is set by the 34 h half-life cannot lower Cmax "
    "by 77 % with a high-fat meal (Prograf label): slowing ka only trims the absorption peak "
    "(Cmax ratio about 0.59 at ka x0.2). The label's Cmax fall reflects distribution "
    "(two-compartment) kinetics that pksim does not model; troughs are insensitive to it.",
)
def test_high_fat_cmax_fall_matches_label():
    _, cmax0, _ = _single_dose("prograf", "fasted")
    _, cmax, _ = _single_dose("prograf", "high_fat_meal")
    assert cmax / cmax0 == pytest.approx(1 - 0.77, abs=0.1)


MEALS = [food.Meal(7.0), food.Meal(12.0), food.Meal(18.0)]


@pytest.mark.parametrize(
    ("dose_clock", "meals", "expected"),
    [
        (6.0, MEALS, "1h_before_meal"),  # consensus: 1 h before a meal
        (20.0, MEALS, "2h_after_meal"),  # consensus: 2 h after a meal
        (7.25, MEALS, "with_meal"),
        (6.5, MEALS, "with_meal"),  # breakfast 30 min after the dose
        (8.5, MEALS, "1.5h_after_meal"),  # Prograf label timing
        (3.0, MEALS, "fasted"),  # 9 h after dinner, 4 h before breakfast
        (8.0, [], "fasted"),
        (19.0, [food.Meal(7.0), food.Meal(18.5, "high_fat")], "high_fat_meal"),
        (12.0, [food.Meal(12.0, "high_carb")], "high_carb_meal"),
        (0.5, [food.Meal(23.0)], "1.5h_after_meal"),  # meals repeat across midnight
    ],
)
def test_conditions_from_meal_and_dose_clock_times(dose_clock, meals, expected):
    assert food.conditions_from_schedule([dose_clock], meals) == (expected,)


def test_rule_abiding_conditions():
    complies = {name: food.lookup_condition(name).complies for name in food.list_conditions()}
    assert {name for name, ok in complies.items() if ok} == {
        "fasted",
        "1h_before_meal",
        "2h_after_meal",
    }


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: food.lookup_condition("with_meals"), 'did you mean "with_meal"'),
        (lambda: food.Meal(25.0), r"clock_h: must be a number in \[0, 24\)"),
        (lambda: food.Meal(8.0, "high_fats"), 'kind: unknown meal kind .*did you mean "high_fat"'),
        (lambda: food.conditions_from_schedule([24.0], MEALS), "dose clock"),
        (lambda: food.lookup_effect("xr", "fasted"), "unknown formulation class 'xr'"),
        (lambda: food.absorption_arrays, "moved to pksim.dosing.absorption"),
        (lambda: food.food_effect, "replaced by lookup_effect"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises((ValueError, AttributeError), match=message):
        call()


def test_effects_are_relative_to_the_class_fasting():
    """Fasting is the reference of every class (F, ka multipliers 1, no extra lag)."""
    for pk_class in ("ir", "pr", "lcp"):
        fasted = food.lookup_effect(pk_class, "fasted")
        assert (fasted.f.value, fasted.ka.value, fasted.lag.value) == (1.0, 1.0, 0.0)
    assert food.lookup_effect("ir", "With Meal").f.value == pytest.approx(1 - 0.39)
