"""Covariate model: effect formulas, prednisone taper, liver function, CKD-EPI, Covariates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pksim import model
from pksim.cohort import covariates as C
from pksim.library.parameters import load_parameter_set

DEFAULT = load_parameter_set("default")


def _subjects(n=3, **kw) -> C.Covariates:
    base = dict(
        weight_kg=np.full(n, 60.0),
        sex=np.zeros(n),
        age_y=np.full(n, 30.0),
        hematocrit_pct=np.full(n, 35.0),
        egfr=np.full(n, 100.0),
        serum_creatinine_mg_dl=np.full(n, 0.7),
        serum_creatinine_uln_mg_dl=np.full(n, 0.8),
        cyp3a5=np.zeros(n),
        liver_function=np.zeros(n),
        prednisone_mg_per_day=np.zeros(n),
    )
    base.update(kw)
    return C.Covariates(**base)


def _effect(parameter, covariate):
    (effect,) = [
        e for e in DEFAULT.effects if e.parameter == parameter and e.covariate == covariate
    ]
    return effect


@given(st.floats(20, 200), st.floats(15, 60), st.floats(0, 200))
@settings(max_examples=50, deadline=None)
def test_effect_forms_follow_their_formulas(weight, hct, pred):
    assert C.effect_factor(_effect("cl", "weight_kg"), [weight])[0] == pytest.approx(
        (weight / 60) ** 0.75
    )
    assert C.effect_factor(_effect("cl", "hematocrit_pct"), [hct])[0] == pytest.approx(
        (hct / 35) ** -0.5
    )
    assert C.effect_factor(_effect("f", "prednisone_mg_per_day"), [pred])[0] == pytest.approx(
        1 - 0.67 * pred / (pred + 35)
    )
    han = load_parameter_set("han2013")
    (v_weight,) = han.effects_on("v")
    assert C.effect_factor(v_weight, [weight])[0] == pytest.approx(
        math.exp(0.355 * weight / 59.025)
    )
    (step,) = [e for e in han.effects if e.form == "threshold"]
    assert C.effect_factor(step, [hct])[0] == (1.3458 if hct < 33 else 1.124)


def test_missing_covariate_used_by_an_effect_is_refused():
    cov = _subjects(hematocrit_pct=np.array([35.0, np.nan, 30.0]))
    with pytest.raises(ValueError, match=r"hematocrit_pct effect on cl .* subject 1"):
        C.typical_parameters(DEFAULT, cov)
    # An unknown eGFR is fine: no effect in the default set uses it.
    C.typical_parameters(DEFAULT, _subjects(egfr=np.full(3, np.nan)))


def test_taper_40_by_5_weekly_to_10():
    """Issue 3 example: 40 mg/day tapered by 5 mg every week to 10 mg."""
    taper = C.PrednisoneTaper(step_mg=5, every_days=7, first_step_day=7, floor_mg=10)
    days = np.arange(0, 60)
    mg = C.prednisone_mg_per_day_at([40.0], taper, (days * 24.0 + 8.0)[None, :])[0]
    expected = [max(10.0, 40.0 - 5.0 * (d // 7)) for d in days]
    assert mg.tolist() == expected
    assert mg[0] == 40 and mg[42] == 10 and mg[59] == 10


def test_taper_exposure_change_matches_emax_model():
    """Issue 3: a 40 -> 10 mg/day taper changes tacrolimus exposure by 30-60 % over weeks.
    With the Storset Emax model the F ratio is (1 - 0.67*10/45) / (1 - 0.67*40/75) = 1.324."""
    taper = C.PrednisoneTaper(step_mg=5, every_days=7, first_step_day=7, floor_mg=10)
    dose_times = np.arange(0, 60 * 24, 12.0)[None, :]
    mult = C.prednisone_f_multipliers(DEFAULT, [40.0], taper, dose_times)[0]
    assert mult[0] == 1.0
    assert mult[-1] == pytest.approx((1 - 0.67 * 10 / 45) / (1 - 0.67 * 40 / 75))
    assert 1.3 <= mult[-1] <= 1.6
    assert np.all(np.diff(mult) >= 0)


@given(st.floats(0, 80), st.floats(0, 20), st.floats(1, 30), st.floats(0, 30), st.floats(0, 40))
@settings(max_examples=100, deadline=None)
def test_taper_is_monotone_and_respects_the_floor(p0, step, every, first, floor):
    taper = C.PrednisoneTaper(step_mg=step, every_days=every, first_step_day=first, floor_mg=floor)
    t = np.linspace(0, 24 * 200, 400)[None, :]
    mg = C.prednisone_mg_per_day_at([p0], taper, t)[0]
    assert np.all(np.diff(mg) <= 0)
    assert mg[0] == pytest.approx(p0) if first > 0 else True
    assert np.all(mg >= min(p0, floor) - 1e-12)


def test_taper_rejects_bad_values():
    with pytest.raises(ValueError, match="every_days must be finite and > 0"):
        C.PrednisoneTaper(step_mg=5, every_days=0)
    with pytest.raises(ValueError, match="step_mg"):
        C.PrednisoneTaper(step_mg=-1)


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
    cov = _subjects(1, prednisone_mg_per_day=np.array([40.0]))
    typ = C.typical_parameters(DEFAULT, cov)
    taper = C.PrednisoneTaper(step_mg=5, every_days=7, first_step_day=7, floor_mg=10)
    doses = np.arange(0, 56 * 24, 12.0)
    dose_f = C.prednisone_f_multipliers(DEFAULT, [40.0], taper, doses[None, :])
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


def test_liver_function_multiplier_and_time_varying_grid():
    """Prograf label: oral CL/F 0.016 (severe, Pugh > 10) vs 0.034 L/h/kg (mild), and mild
    hepatic impairment not substantially different from normal; Lu 2015 ALT effect
    exp(-0.0237 * 120 / 40) for enzymes at 3 x ULN."""
    codes = np.arange(len(C.LIVER_FUNCTION))
    got = C.liver_cl_multiplier(DEFAULT, codes)
    assert got == pytest.approx([1.0, math.exp(-0.0237 * 3), 1.0, 0.016 / 0.034], abs=0.001)
    times, mult = C.liver_cl_grid(DEFAULT, [240.0], [[0, 3], [3, 0]])
    assert times.tolist() == [240.0]
    np.testing.assert_allclose(mult, [[1, 0.47], [1, 1 / 0.47]])
    with pytest.raises(ValueError, match="shape"):
        C.liver_cl_grid(DEFAULT, [240.0], [[0, 3, 3]])
    typ = C.typical_parameters(
        DEFAULT, _subjects(1, liver_function=np.array([3])), exclude={"liver_function"}
    )
    assert typ.cl[0] == pytest.approx(14.0)


def test_ckd_epi_values():
    """CKD-EPI 2009 (Levey 2009): at S = kappa the eGFR is 141 x 0.993^age (x 1.018 for women);
    a 30-year-old woman with 0.7 mg/dL has 141 x 0.993^30 x 1.018 = 116.3."""
    assert C.egfr_from_serum_creatinine([0.7], [30], [0])[0] == pytest.approx(116.26, abs=0.01)
    assert C.egfr_from_serum_creatinine([0.9], [50], [1])[0] == pytest.approx(141 * 0.993**50)
    # Male, 60 y, 1.2 mg/dL: 141 x (1.2/0.9)^-1.209 x 0.993^60.
    assert C.egfr_from_serum_creatinine([1.2], [60], [1])[0] == pytest.approx(
        141 * (1.2 / 0.9) ** -1.209 * 0.993**60
    )


@given(st.floats(0.2, 15), st.floats(18, 90), st.integers(0, 1))
@settings(max_examples=200, deadline=None)
def test_creatinine_and_egfr_are_exact_inverses(scr, age, sex):
    egfr = C.egfr_from_serum_creatinine([scr], [age], [sex])
    assert C.serum_creatinine_from_egfr(egfr, [age], [sex])[0] == pytest.approx(scr, rel=1e-10)


def test_creatinine_uln_by_sex_and_age():
    """WS/T 404.5-2015 (recalled [M]): 73 / 81 umol/L women, 97 / 111 men (< 60 / >= 60 y);
    88.4 umol/L per mg/dL."""
    got = C.creatinine_uln_mg_dl([30, 65, 30, 65], [0, 0, 1, 1])
    assert got == pytest.approx(np.array([73, 81, 97, 111]) / 88.4)


def test_covariates_are_validated_and_read_only():
    cov = _subjects(4)
    assert len(cov) == 4 and len(cov.slice(1, 3)) == 2
    with pytest.raises(ValueError, match="read-only"):
        cov.weight_kg[0] = 1.0
    with pytest.raises(ValueError, match="has 4 subjects, expected 2"):
        _subjects(4, weight_kg=np.ones(2))
    with pytest.raises(ValueError, match=r"cyp3a5 codes must be in 0..2"):
        _subjects(2, cyp3a5=np.array([0, 3]))
    assert cov.labels("cyp3a5").tolist() == ["*3/*3"] * 4
    with pytest.raises(ValueError, match="Did you mean"):
        C.category_codes("cyp3a5", ["*1/*2"])
