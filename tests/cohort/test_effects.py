"""Covariate effects: each form against its formula, and covariates an effect cannot use."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pksim.cohort import effects as E
from pksim.library.parameters import load_parameter_set
from tests.cohort.test_covariates import subjects

DEFAULT = load_parameter_set("default")


def _effect(parameter, covariate):
    (effect,) = [
        e for e in DEFAULT.effects if e.parameter == parameter and e.covariate == covariate
    ]
    return effect


@given(st.floats(20, 200), st.floats(15, 60), st.floats(0, 200))
@settings(max_examples=50, deadline=None)
def test_effect_forms_follow_their_formulas(weight, hct, pred):
    assert E.effect_factor(_effect("cl", "weight_kg"), [weight])[0] == pytest.approx(
        (weight / 60) ** 0.75
    )
    assert E.effect_factor(_effect("cl", "hematocrit_pct"), [hct])[0] == pytest.approx(
        (hct / 35) ** -0.5
    )
    assert E.effect_factor(_effect("f", "prednisone_mg_per_day"), [pred])[0] == pytest.approx(
        1 - 0.67 * pred / (pred + 35)
    )
    han = load_parameter_set("han2013")
    (v_weight,) = han.effects_on("v")
    assert E.effect_factor(v_weight, [weight])[0] == pytest.approx(
        math.exp(0.355 * weight / 59.025)
    )
    (step,) = [e for e in han.effects if e.form == "threshold"]
    assert E.effect_factor(step, [hct])[0] == (1.3458 if hct < 33 else 1.124)


def test_missing_covariate_used_by_an_effect_is_refused():
    cov = subjects(hematocrit_pct=np.array([35.0, np.nan, 30.0]))
    with pytest.raises(ValueError, match=r"hematocrit_pct effect on cl .* subject 1"):
        E.typical_parameters(DEFAULT, cov)
    # An unknown eGFR is fine: no effect in the default set uses it.
    E.typical_parameters(DEFAULT, subjects(egfr=np.full(3, np.nan)))


def test_an_unknown_genotype_is_never_read_as_a_category():
    """Code -1 must not index the last factor (*1/*1): the effect refuses it."""
    with pytest.raises(ValueError, match="cyp3a5 effect on cl needs a known category"):
        E.typical_parameters(DEFAULT, subjects(cyp3a5=np.array([0, -1, 1])))


def test_missing_effect_covariates_names_the_first_subject_per_effect():
    cov = subjects(
        4,
        hematocrit_pct=np.array([35.0, 35.0, np.nan, np.nan]),
        cyp3a5=np.array([0, -1, 0, 0]),
        egfr=np.full(4, np.nan),
    )
    # Hematocrit is unknown from subject 2 (one entry per effect using it: cl); an unknown
    # genotype is imputed at run time and eGFR has no effect in the set.
    assert E.missing_effect_covariates(DEFAULT, cov) == [(2, "hematocrit_pct", "cl")]
    assert E.missing_effect_covariates(DEFAULT, subjects(2)) == []


def test_exclude_leaves_an_effect_out_and_names_bad_covariates():
    cov = subjects(1, liver_function=np.array([3]), age_y=np.array([33.0]))  # reference age
    typ = E.typical_parameters(DEFAULT, cov, exclude={"liver_function"})
    assert typ.cl[0] == pytest.approx(14.0)
    severe = E.typical_parameters(DEFAULT, cov).cl[0]
    assert severe == pytest.approx(14.0 * 0.016 / 0.034, abs=14.0 * 0.001)
    with pytest.raises(ValueError, match=r"unknown covariate 'liver_fn'.*liver_function"):
        E.typical_parameters(DEFAULT, cov, exclude={"liver_fn"})


def test_covariate_factor_multiplies_every_effect_of_a_covariate():
    factor = E.covariate_factor(DEFAULT, "cl", "weight_kg", np.array([[60.0, 120.0]]))
    assert factor.shape == (1, 2)
    assert factor[0, 1] == pytest.approx(2**0.75)
    assert E.covariate_factor(DEFAULT, "v", "hematocrit_pct", [30.0, 40.0]).tolist() == [1, 1]
