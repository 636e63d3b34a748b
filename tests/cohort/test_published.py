"""Published checks: the cohort and parameter sets against PK_REFERENCE numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pksim import cohort, model
from pksim.library.parameters import load_parameter_set
from tests.cohort.reference import DEFAULT, cohort_params, ss_trough

Z95 = stats.norm.ppf(0.95)


def test_healthy_volunteer_set_reproduces_bekersky_2001a():
    """Bekersky 2001a, 5 mg fasting (PK_REFERENCE 5, 6.1): AUCinf 272 ng*h/mL, t1/2 about 34 h,
    tmax 1.37 h. Tolerances: AUC 2 % (trapezoid on a 0.01 h grid plus the analytic tail),
    t1/2 3 %, tmax 0.05 h. Cmax (25.6 ng/mL) is *not* reproduced: a one-compartment model with
    the terminal-phase V/F (902 L) peaks at most at 5 mg / 902 L = 5.5 ng/mL; tacrolimus is
    bi-exponential and trough-based simulation needs the terminal phase. The LN default set
    differs on purpose (CL/F 14 vs 18.4 L/h: steroid-free *3/*3 LN patients vs healthy men of
    mixed genotype)."""
    pset = load_parameter_set("healthy-volunteer")
    one = cohort.Covariates(
        weight_kg=[75.0],
        sex=[1],
        age_y=[30.0],
        hematocrit_pct=[45.0],
        egfr=[100.0],
        serum_creatinine_mg_dl=[0.9],
        cyp3a5=[0],
        liver_function=[0],
        prednisone_mg_per_day=[0.0],
    )
    p = cohort.individual_parameters(pset, one, seed=0, typical_only=True)
    t = np.arange(0.0, 24 * 21, 0.01)
    c = model.concentrations(p.cl, p.v, p.ka, p.tlag, p.f, [[0.0]], [[5.0]], t)[0]
    k = p.cl[0] / p.v[0]
    auc = np.sum((c[1:] + c[:-1]) / 2 * np.diff(t)) + c[-1] / k
    assert auc == pytest.approx(272.0, rel=0.02)
    late = (t >= 72) & (t <= 168)
    slope = np.polyfit(t[late], np.log(c[late]), 1)[0]
    assert math.log(2) / -slope == pytest.approx(34.0, rel=0.03)
    assert t[np.argmax(c)] == pytest.approx(1.37, abs=0.05)
    assert c.max() < 5.0 / p.v[0] * 1000


def test_cyp3a5_expressers_need_higher_doses():
    """PK_REFERENCE 6.2: dose-normalised trough non-expressers / expressers 2.3-fold in
    Japanese kidney transplant patients; expressers need 1.5-2x the dose. Issue 3 check: the
    ratio of medians lies within 1.5-2.5 in the default cohort (with IIV)."""
    cov, ind = cohort_params(50_000, 11)
    dose = 0.05 * cov.weight_kg / 2
    per_mg = ss_trough(ind.cl, ind.v, ind.ka, ind.tlag, ind.f, dose, 12.0) / dose
    ratio = np.median(per_mg[cov.cyp3a5 == 0]) / np.median(per_mg[cov.cyp3a5 > 0])
    assert 1.5 <= ratio <= 2.5


@pytest.mark.parametrize(
    ("daily_mg", "prednisone", "expected"),
    [(6.0, 40.0, (9.7, 6.1)), (3.0, 10.0, (6.4, 4.1)), (2.0, 10.0, (4.3, 2.7))],
)
def test_typical_troughs_match_pk_reference_6_4(daily_mg, prednisone, expected):
    """PK_REFERENCE 6.4 predictions for a 60 kg, HCT 35 % patient on BID dosing: 0.1 mg/kg/d
    (6 mg/d) with prednisone 40 mg -> C0 9.7 (*3/*3) and 6.1 (*1/*3); 3 mg/d with prednisone
    10 mg -> 6.4 and 4.1; 2 mg/d -> 4.3 and 2.7. Those used trough = 0.85 x Cavg; the exact
    steady-state trough differs from that approximation by up to 7 %, hence 10 %."""
    for code, reference in zip((0, 1), expected, strict=True):
        one = cohort.Covariates(
            weight_kg=[60.0],
            sex=[0],
            age_y=[30.0],
            hematocrit_pct=[35.0],
            egfr=[100.0],
            serum_creatinine_mg_dl=[0.7],
            cyp3a5=[code],
            liver_function=[0],
            prednisone_mg_per_day=[prednisone],
        )
        t = cohort.typical_parameters(DEFAULT, one)
        got = ss_trough(t.cl, t.v, t.ka, t.tlag, t.f, daily_mg / 2, 12.0)[0]
        assert got == pytest.approx(reference, rel=0.10)


@pytest.mark.parametrize(
    ("mg_per_kg", "daily_mg", "prednisone", "target"),
    [(0.1, None, 40.0, (5.0, 10.0)), (None, 3.0, 10.0, (3.0, 6.0)), (None, 2.0, 10.0, (3.0, 6.0))],
)
def test_ln_cohort_median_troughs_match_the_consensus(mg_per_kg, daily_mg, prednisone, target):
    """PK_REFERENCE 6.4 / consensus (DOMAIN.md): 0.1 mg/kg/d with induction prednisone about
    40 mg gives troughs of 5-10 ng/mL; maintenance 2-3 mg/d with prednisone 10 mg gives
    3-6 ng/mL. The default cohort's median steady-state BID trough must fall in the range."""
    cov, ind = cohort_params(20_000, 12, {"prednisone_mg_per_day": prednisone})
    daily = mg_per_kg * cov.weight_kg if mg_per_kg else np.full(len(cov), daily_mg)
    trough = ss_trough(ind.cl, ind.v, ind.ka, ind.tlag, ind.f, daily / 2, 12.0)
    assert target[0] <= np.median(trough) <= target[1]
