"""Renal function: CKD-EPI 2009 eGFR and serum creatinine, the creatinine upper limit of normal,
and the consensus renal-impairment classification.

Units: eGFR mL/min/1.73 m2, serum creatinine mg/dL (unless stated), age years; sex is the
registry code (0 female, 1 male). Constants come from ``populations/_shared.toml`` (CKD-EPI,
ULN) and ``targets.toml`` (the impairment thresholds). Everything is vectorised.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.cohort.covariates import SEXES, Covariates
from pksim.library.populations import shared_constants
from pksim.library.targets import load_renal_thresholds
from pksim.units import EGFR

__all__ = [
    "THRESHOLD_RTOL",
    "complete_renal_covariates",
    "creatinine_uln_mg_dl",
    "egfr_from_serum_creatinine",
    "is_renal_impaired",
    "renal_impairment",
    "serum_creatinine_from_egfr",
]

FloatArray = NDArray[np.float64]

THRESHOLD_RTOL = 1e-9
"""Relative distance within which a value counts as *on* a renal threshold: creatinine of exactly
1.2 x ULN computed in floating point (e.g. 1.2 * 97 = 116.39999999999999) must not be flagged."""


def _ckd(sex: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, ...]:
    c = {k: v.value for k, v in shared_constants()["ckd_epi_2009"].items()}
    female = np.asarray(sex) == SEXES.index("female")
    kappa = np.where(female, c["kappa_female"], c["kappa_male"])
    alpha = np.where(female, c["alpha_female"], c["alpha_male"])
    scale = (
        c["multiplier"]
        * c["age_base"] ** np.asarray(age, dtype=np.float64)
        * np.where(female, c["female_factor"], 1.0)
    )
    return kappa, alpha, scale, np.full(kappa.shape, c["beta"])


def egfr_from_serum_creatinine(
    scr_mg_dl: ArrayLike, age_y: ArrayLike, sex: ArrayLike
) -> FloatArray:
    """eGFR (mL/min/1.73 m2) by the CKD-EPI 2009 creatinine equation (non-Black)."""
    kappa, alpha, scale, beta = _ckd(np.asarray(sex), np.asarray(age_y))
    s = np.asarray(scr_mg_dl, dtype=np.float64) / kappa
    return scale * np.minimum(s, 1.0) ** alpha * np.maximum(s, 1.0) ** beta


def serum_creatinine_from_egfr(egfr: ArrayLike, age_y: ArrayLike, sex: ArrayLike) -> FloatArray:
    """Serum creatinine (mg/dL) that gives ``egfr`` under CKD-EPI 2009 (exact inverse)."""
    kappa, alpha, scale, beta = _ckd(np.asarray(sex), np.asarray(age_y))
    log_ratio = np.log(np.asarray(egfr, dtype=np.float64) / scale)
    # ratio >= 1 <=> S/kappa <= 1 (the alpha branch), otherwise the beta branch.
    log_ratio /= np.where(log_ratio >= 0.0, alpha, beta)
    return kappa * np.exp(log_ratio)


def complete_renal_covariates(
    egfr: ArrayLike, scr_mg_dl: ArrayLike, age_y: ArrayLike, sex: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """(eGFR, serum creatinine) with each one's NaN derived from the other (CKD-EPI 2009)."""
    egfr = np.asarray(egfr, dtype=np.float64)
    scr = np.asarray(scr_mg_dl, dtype=np.float64)
    egfr = np.where(np.isnan(egfr), egfr_from_serum_creatinine(scr, age_y, sex), egfr)
    scr = np.where(np.isnan(scr), serum_creatinine_from_egfr(egfr, age_y, sex), scr)
    return egfr, scr


def creatinine_uln_mg_dl(age_y: ArrayLike, sex: ArrayLike) -> FloatArray:
    """Upper limit of normal of serum creatinine (mg/dL) by sex and age band."""
    consts = shared_constants()
    u = {k: v.value for k, v in consts["creatinine_uln"].items()}
    per = consts["creatinine"]["umol_per_l_per_mg_per_dl"].value
    age = np.asarray(age_y, dtype=np.float64)
    female = np.asarray(sex) == SEXES.index("female")
    old = age >= u["age_split_years"]
    umol = np.where(
        female,
        np.where(old, u["female_from_split"], u["female_below_split"]),
        np.where(old, u["male_from_split"], u["male_below_split"]),
    )
    return umol / per


def _positive_finite(name: str, value: ArrayLike, units: str) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    bad = ~np.isfinite(array) | (array <= 0)
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite and > 0 {units}; got {float(array[index])} at index "
            f"{index[0] if len(index) == 1 else index}"
        )
    return array


def is_renal_impaired(
    egfr: ArrayLike, serum_creatinine: ArrayLike, creatinine_uln: ArrayLike
) -> NDArray[np.bool_]:
    """True where eGFR < 40 mL/min/1.73 m2 or serum creatinine > 1.2 x ULN (both strict; the
    thresholds of ``targets.toml``, LN consensus).

    ``serum_creatinine`` and ``creatinine_uln`` must share units (e.g. umol/L); the three
    inputs broadcast together. Values within :data:`THRESHOLD_RTOL` of a threshold count as on it
    (not impaired).
    """
    rule = load_renal_thresholds()
    egfr = _positive_finite("egfr", egfr, EGFR)
    scr = _positive_finite("serum_creatinine", serum_creatinine, "(units of creatinine_uln)")
    uln = _positive_finite("creatinine_uln", creatinine_uln, "(units of serum_creatinine)")
    try:
        np.broadcast_shapes(egfr.shape, scr.shape, uln.shape)
    except ValueError:
        raise ValueError(
            "egfr, serum_creatinine and creatinine_uln must broadcast together, got shapes "
            f"{egfr.shape}, {scr.shape}, {uln.shape}"
        ) from None
    low_egfr = (egfr < rule.egfr_below) & ~np.isclose(
        egfr, rule.egfr_below, rtol=THRESHOLD_RTOL, atol=0.0
    )
    limit = rule.creatinine_uln_factor * uln
    high_scr = (scr > limit) & ~np.isclose(scr, limit, rtol=THRESHOLD_RTOL, atol=0.0)
    return np.asarray(low_egfr | high_scr)


def renal_impairment(cov: Covariates) -> NDArray[np.bool_]:
    """The consensus renal-impairment flag of each subject (creatinine ULN by age and sex)."""
    uln = creatinine_uln_mg_dl(cov.age_y, cov.sex)
    return is_renal_impaired(cov.egfr, cov.serum_creatinine_mg_dl, uln)
