"""Renal function: CKD-EPI 2009, the creatinine upper limit of normal, and the consensus
renal-impairment rule (LNConsensus 1.2: serum creatinine more than 20 % above normal or
eGFR < 40 mL/min/1.73 m2 -> trough <= 4 ng/mL)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pksim.cohort import renal
from tests.cohort.test_covariates import subjects


def test_ckd_epi_values():
    """CKD-EPI 2009 (Levey 2009): at S = kappa the eGFR is 141 x 0.993^age (x 1.018 for women);
    a 30-year-old woman with 0.7 mg/dL has 141 x 0.993^30 x 1.018 = 116.3."""
    assert renal.egfr_from_serum_creatinine([0.7], [30], [0])[0] == pytest.approx(116.26, abs=0.01)
    assert renal.egfr_from_serum_creatinine([0.9], [50], [1])[0] == pytest.approx(141 * 0.993**50)
    # Male, 60 y, 1.2 mg/dL: 141 x (1.2/0.9)^-1.209 x 0.993^60.
    assert renal.egfr_from_serum_creatinine([1.2], [60], [1])[0] == pytest.approx(
        141 * (1.2 / 0.9) ** -1.209 * 0.993**60
    )


@given(st.floats(0.2, 15), st.floats(18, 90), st.integers(0, 1))
@settings(max_examples=200, deadline=None)
def test_creatinine_and_egfr_are_exact_inverses(scr, age, sex):
    egfr = renal.egfr_from_serum_creatinine([scr], [age], [sex])
    assert renal.serum_creatinine_from_egfr(egfr, [age], [sex])[0] == pytest.approx(scr, rel=1e-10)


def test_complete_renal_covariates_fills_each_from_the_other():
    egfr, scr = renal.complete_renal_covariates(
        [np.nan, 90.0, 80.0], [0.7, np.nan, 1.0], [30, 30, 30], [0, 0, 1]
    )
    assert egfr[0] == pytest.approx(141 * 0.993**30 * 1.018)
    assert renal.egfr_from_serum_creatinine(scr[1:2], [30], [0])[0] == pytest.approx(90.0)
    assert (egfr[2], scr[2]) == (80.0, 1.0)  # both given: kept as given


def test_creatinine_uln_by_sex_and_age():
    """WS/T 404.5-2015 (recalled [M]): 73 / 81 umol/L women, 97 / 111 men (< 60 / >= 60 y);
    88.4 umol/L per mg/dL."""
    got = renal.creatinine_uln_mg_dl([30, 65, 30, 65], [0, 0, 1, 1])
    assert got == pytest.approx(np.array([73, 81, 97, 111]) / 88.4)


@pytest.mark.parametrize(
    ("egfr", "expected"), [(39.0, True), (39.999, True), (40.0, False), (40.001, False)]
)
def test_egfr_threshold_is_strictly_below_40(egfr, expected):
    """eGFR < 40 mL/min/1.73 m2 is impaired; exactly 40 is not (LNConsensus)."""
    assert bool(renal.is_renal_impaired(egfr, 70.0, 97.0)) is expected


@pytest.mark.parametrize("uln", [97.0, 73.0, 111.0, 81.0, 1.1, 0.3])
def test_creatinine_threshold_is_strictly_above_1_2_uln(uln):
    """Creatinine more than 20 % above the upper limit of normal is impaired (LNConsensus).

    The boundary value is typed as a user would (1.2 * 97 = 116.4 exactly in decimal) and also
    computed in floating point; both count as on the boundary, i.e. not impaired.
    """
    boundary_decimal = float(f"{1.2 * uln:.6g}")
    scr = np.array(
        [boundary_decimal, 1.2 * uln, boundary_decimal * 1.001, boundary_decimal * 0.999]
    )
    got = renal.is_renal_impaired(90.0, scr, uln)
    np.testing.assert_array_equal(got, [False, False, True, False])


def test_either_criterion_suffices_and_inputs_broadcast():
    egfr = np.array([[30.0, 30.0, 90.0, 90.0]])
    scr = np.array([70.0, 200.0, 200.0, 70.0])
    got = renal.is_renal_impaired(egfr, scr, 97.0)
    np.testing.assert_array_equal(got, [[True, True, True, False]])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-5.0, 70.0, 97.0), "egfr must be finite and > 0 mL/min/1.73 m2"),
        ((np.nan, 70.0, 97.0), "egfr must be finite and > 0"),
        ((50.0, [70.0, 0.0], 97.0), r"serum_creatinine must be finite and > 0 .* at index 1"),
        ((50.0, 70.0, np.inf), "creatinine_uln must be finite and > 0"),
        (([50.0, 60.0], [70.0, 80.0, 90.0], 97.0), "must broadcast together"),
    ],
)
def test_bad_renal_inputs_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        renal.is_renal_impaired(*args)


def test_renal_impairment_of_subjects_uses_their_uln():
    """A 30-year-old woman's ULN is 73 umol/L = 0.826 mg/dL: 1.2 x ULN = 0.991 mg/dL."""
    cov = subjects(
        3,
        egfr=np.array([90.0, 90.0, 35.0]),
        serum_creatinine_mg_dl=np.array([0.98, 1.00, 0.7]),
    )
    assert renal.renal_impairment(cov).tolist() == [False, True, True]
