"""Variability: IIV, IOV, residual error and sampling times against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pksim import cohort
from pksim.library.parameters import override_parameter_set
from tests.cohort.reference import DEFAULT, LN, cohort_params, ss_trough, superposed

Z95 = stats.norm.ppf(0.95)
UNIFORM = override_parameter_set(DEFAULT, {"iov.subject_scale": 0})
"""The default set with every subject's within-subject variability alike (the per-subject
scale is tested in test_within_subject.py)."""


def test_iiv_has_the_specified_full_covariance():
    """Log individual / typical parameters have covariance Omega (CL-V correlation 0.5 added);
    with CL-only dispersion, the 5-95 % range of Cavg = F D / (CL tau) is exp(2 z95 omega_CL)."""
    pset = override_parameter_set(DEFAULT, {"iiv_correlation.cl,v": 0.5})
    n = 100_000
    pop = cohort.load_population(LN)
    cov = cohort.sample_covariates(pop, seed=9, start=0, stop=n)
    typ = cohort.typical_parameters(pset, cov)
    ind = cohort.individual_parameters(pset, cov, seed=9)
    eta = np.log(np.column_stack([ind.cl / typ.cl, ind.v / typ.v, ind.ka / typ.ka]))
    _, omega = pset.iiv_covariance()
    emp = np.cov(eta, rowvar=False)
    np.testing.assert_allclose(np.diag(emp), np.diag(omega), rtol=0.03)
    corr = emp[0, 1] / math.sqrt(emp[0, 0] * emp[1, 1])
    assert corr == pytest.approx(0.5, abs=0.015)
    assert abs(emp[0, 2]) < 0.01 and np.all(ind.tlag == typ.tlag)
    cavg = 1.5 / (ind.cl * 12)
    width = np.log(
        np.percentile(cavg / (1.5 / (typ.cl * 12)), 95)
        / np.percentile(cavg / (1.5 / (typ.cl * 12)), 5)
    )
    assert width == pytest.approx(2 * Z95 * math.sqrt(omega[0, 0]), rel=0.03)


def test_typical_only_switch_removes_all_variability():
    cov, ind = cohort_params(1000, 4, typical_only=True)
    typ = cohort.typical_parameters(DEFAULT, cov)
    for p in ("cl", "v", "ka", "tlag", "f"):
        np.testing.assert_array_equal(getattr(ind, p), getattr(typ, p))
    doses = np.arange(0, 72, 12.0)[None, :]
    assert np.all(
        cohort.iov_f_multipliers(DEFAULT, doses, seed=4, start=0, stop=1000, typical_only=True) == 1
    )
    conc = np.full((1000, 3), 4.0)
    out = cohort.residual_error(
        DEFAULT, conc, seed=4, start=0, lloq_ng_per_ml=1.0, typical_only=True
    )
    np.testing.assert_array_equal(out.measured, conc)
    vs = cohort.load_variability(
        {"typical_only": True, "sampling_offset_min_h": -1, "sampling_offset_max_h": 1}
    )
    assert np.all(cohort.sampling_time_offsets(vs, 3, seed=4, start=0, stop=1000) == 0)


def test_iov_is_shared_within_an_occasion_and_has_the_specified_sd():
    """IOV 20 %CV on F: log multipliers ~ N(0, ln(1.04)); the two doses of a day share one."""
    doses = np.arange(0, 14 * 24, 12.0)[None, :]
    m = cohort.iov_f_multipliers(UNIFORM, doses, seed=2, start=0, stop=20_000)
    np.testing.assert_array_equal(m[:, 0::2], m[:, 1::2])
    assert np.log(m[:, 0::2]).std() == pytest.approx(math.sqrt(math.log(1.04)), rel=0.01)
    weekly = cohort.iov_f_multipliers(
        DEFAULT, doses, seed=2, start=0, stop=10, occasion_length_h=168.0
    )
    assert np.all(weekly[:, :14] == weekly[:, :1]) and np.all(weekly[:, 14:] == weekly[:, 14:15])
    with pytest.raises(ValueError, match=">= 0 h"):
        cohort.iov_f_multipliers(DEFAULT, -doses, seed=2, start=0, stop=10)


def test_trough_dispersion_has_the_width_iiv_and_iov_imply():
    """Issue 3 dispersion check. Fixed covariates (60 kg, *3/*3, HCT 35 %), 1.5 mg q12h for
    28 days, trough before the next dose. Implied log-SD (first-order): s' Omega s + omega_IOV^2
    sum_d w_d^2, with s the elasticities of the trough in CL, V, ka and w_d the share of day d's
    doses in the trough, both from the analytic formula at typical values. The 5-95 % range
    is exp(2 z95 SD); the first-order approximation is good to about 10 % for omegas of
    0.3-0.5, the Monte Carlo error of the simulated range is about 1 %."""
    fixed = {
        "female_fraction": 1.0,
        "weight_kg_mean_female": 60.0,
        "weight_kg_sd_female": 0.0,
        "hematocrit_pct_mean": 35.0,
        "hematocrit_pct_sd": 0.0,
        "cyp3a5_expresser_fraction": 0.0,
    }
    n, dose, days = 40_000, 1.5, 28
    cov, ind = cohort_params(n, 5, fixed)
    doses = np.arange(0, days * 24, 12.0)
    t_end = days * 24.0
    iov = cohort.iov_f_multipliers(UNIFORM, doses[None, :], seed=5, start=0, stop=n)
    trough = superposed(
        ind.cl, ind.v, ind.ka, ind.tlag, ind.f[:, None] * iov, dose, doses, t_end
    ).sum(axis=1)
    simulated = math.log(np.percentile(trough, 95) / np.percentile(trough, 5))

    typ = cohort.typical_parameters(DEFAULT, cov.slice(0, 1))
    base = {"cl": typ.cl, "v": typ.v, "ka": typ.ka}

    def log_trough(**kw):
        p = {**base, **kw}
        return math.log(
            superposed(p["cl"], p["v"], p["ka"], typ.tlag, 1.0, dose, doses, t_end).sum()
        )

    h = 1e-4
    names, omega = DEFAULT.iiv_covariance()
    s = np.array(
        [
            (log_trough(**{p: base[p] * math.exp(h)}) - log_trough(**{p: base[p] * math.exp(-h)}))
            / (2 * h)
            for p in names
        ]
    )
    parts = superposed(typ.cl, typ.v, typ.ka, typ.tlag, 1.0, dose, doses, t_end)[0]
    w = np.bincount((doses // 24).astype(int), weights=parts) / parts.sum()
    implied = 2 * Z95 * math.sqrt(s @ omega @ s + DEFAULT.iov_f_sd**2 * np.sum(w**2))
    assert simulated == pytest.approx(implied, rel=0.10)
    # Sanity of the reference: after 28 days (exp(-k 672 h) = 1.5e-6 left) the typical trough
    # equals the analytic steady-state formula.
    assert parts.sum() == pytest.approx(
        ss_trough(typ.cl, typ.v, typ.ka, typ.tlag, 1.0, dose, 12.0)[0], rel=1e-5
    )


def test_residual_error_is_proportional_plus_additive_and_never_negative():
    """At 10 ng/mL the error SD is sqrt((0.2*10)^2 + 0.5^2) = 2.06 ng/mL with mean 10; at
    0 ng/mL the truncated result is half-normal with SD 0.5 (mean 0.5 sqrt(2/pi) = 0.399)."""
    n = 100_000
    conc = np.column_stack([np.full(n, 10.0), np.zeros(n), np.full(n, np.nan)])
    out = cohort.residual_error(UNIFORM, conc, seed=6, start=0, lloq_ng_per_ml=1.0)
    high, zero = out.measured[:, 0], out.measured[:, 1]
    assert high.mean() == pytest.approx(10.0, abs=0.03)
    assert high.std() == pytest.approx(math.hypot(2.0, 0.5), rel=0.02)
    assert zero.min() >= 0 and zero.mean() == pytest.approx(0.5 * math.sqrt(2 / math.pi), rel=0.02)
    np.testing.assert_array_equal(out.below_lloq[:, :2], out.measured[:, :2] < 1.0)
    assert np.all(np.isnan(out.measured[:, 2])) and not out.below_lloq[:, 2].any()
    assert out.below_lloq[:, 1].mean() == pytest.approx(2 * stats.norm.cdf(1 / 0.5) - 1, abs=0.005)
    with pytest.raises(ValueError, match=">= 0 ng/mL"):
        cohort.residual_error(DEFAULT, -conc[:, :1], seed=6, start=0, lloq_ng_per_ml=1.0)


def test_sampling_time_offsets_are_uniform_in_the_window():
    vs = cohort.load_variability({"sampling_offset_min_h": -1.0, "sampling_offset_max_h": 1.0})
    off = cohort.sampling_time_offsets(vs, 28, seed=3, start=0, stop=10_000)
    assert off.shape == (10_000, 28) and off.min() >= -1 and off.max() < 1
    assert stats.kstest(off.ravel()[:20_000], "uniform", args=(-1, 2)).pvalue > 1e-4
    assert np.all(
        cohort.sampling_time_offsets(cohort.load_variability(), 3, seed=3, start=0, stop=5) == 0
    )
    with pytest.raises(ValueError, match='did you mean "lloq_ng_per_ml"'):
        cohort.load_variability({"lloq_ng_ml": 1})
    with pytest.raises(ValueError, match="must not exceed"):
        cohort.load_variability({"sampling_offset_min_h": 1.0})
