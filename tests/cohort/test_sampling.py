"""Virtual cohorts, CSV patients and variability, checked against independent references.

Trough references are the analytic one-compartment steady-state formula (with lag) and
single-dose superposition written out here, never the code under test. Published numbers
come from /work/shared/PK_REFERENCE.md, sections named in each docstring.
"""

from __future__ import annotations

import io
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from pksim import model, rng
from pksim.cohort import covariates
from pksim.cohort import sampling as cohort
from pksim.library.parameters import load_parameter_set, override_parameter_set

DATA = Path(__file__).parents[1] / "data"
DEFAULT = load_parameter_set("default")
LN = "chinese-adult-ln"
Z95 = stats.norm.ppf(0.95)


def ss_trough(cl, v, ka, tlag, f, dose_mg, tau_h):
    """Analytic steady-state concentration (ng/mL) just before a dose, lag < tau."""
    k = cl / v
    dt = tau_h - tlag
    return (
        f
        * dose_mg
        * ka
        / (v * (ka - k))
        * (
            np.exp(-k * dt) / (1 - np.exp(-k * tau_h))
            - np.exp(-ka * dt) / (1 - np.exp(-ka * tau_h))
        )
        * 1000.0
    )


def superposed(cl, v, ka, tlag, dose_f, dose_mg, dose_times, t):
    """Per-dose contributions (n, m) at time t of single doses with F multipliers (ng/mL)."""
    k, ka, v, tlag = (np.asarray(a, dtype=float)[:, None] for a in (cl / v, ka, v, tlag))
    dt = np.clip(t - dose_times[None, :] - tlag, 0, None)
    return dose_f * dose_mg * ka / (v * (ka - k)) * (np.exp(-k * dt) - np.exp(-ka * dt)) * 1e3


def cohort_params(n, seed, overrides=None, pset=DEFAULT, **kw):
    pop = cohort.load_population(LN, overrides or {})
    cov = cohort.sample_covariates(pop, seed=seed, start=0, stop=n)
    return cov, cohort.individual_parameters(pset, cov, seed=seed, **kw)


# --------------------------------------------------------------------------- populations


def test_population_listing_and_settings():
    assert LN in cohort.list_populations()
    table = cohort.population_settings(LN)
    assert table["female_fraction"]["default"] == 0.9
    assert table["cyp3a5_expresser_fraction"]["default"] == pytest.approx(1 - 0.72**2)
    assert table["weight_kg_min"]["allowed"] == (10.0, 250.0)
    with pytest.raises(ValueError, match="Did you mean 'chinese-adult-ln'"):
        cohort.load_population("chinese-adult")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"femal_fraction": 0.5}, "Did you mean 'female_fraction'"),
        ({"female_fraction": 1.5}, r"female_fraction = 1.5 is outside the allowed range \[0, 1\]"),
        ({"weight_kg_min": 80.0, "weight_kg_max": 60.0}, "weight_kg_min .* must not exceed"),
        ({"cyp3a5_expresser_fraction": 0.5, "cyp3a5_star3_allele_frequency": 0.7}, "not both"),
        (
            {"liver_elevated_enzymes_fraction": 0.7, "liver_severe_impairment_fraction": 0.5},
            "add up to 1.2",
        ),
        ({"prednisone_mg_per_day": 30.0, "prednisone_mg_per_kg_per_day": 0.5}, "not both"),
        ({"age_y_sd": 0.0, "age_y_mean": 70.0}, "must lie in"),
        ({"egfr_mean": 10.0, "egfr_sd": 1.0, "egfr_min": 100.0}, "holds almost none"),
        ({"female_fraction": "half"}, "must be a finite number"),
    ],
)
def test_bad_overrides_name_the_key_and_the_allowed_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        cohort.load_population(LN, overrides)


def test_expresser_fraction_override_sets_the_allele_frequency():
    pop = cohort.load_population(LN, {"cyp3a5_expresser_fraction": 0.48})
    assert pop["cyp3a5_star3_allele_frequency"] == pytest.approx(math.sqrt(0.52))
    assert pop.overrides == {"cyp3a5_expresser_fraction": 0.48}
    assert any("Zhou" in r for r in cohort.load_population(LN).references)


def test_covariate_distributions_match_their_definitions():
    """Sex Bernoulli(0.9); CYP3A5 Hardy-Weinberg with q = 0.72 (PK_REFERENCE 1.2: about 52 %
    *3/*3, 40 % *1/*3, 8 % *1/*1); truncated normal age and eGFR (scipy truncnorm moments);
    truncated log-normal weight by sex; serum creatinine consistent with CKD-EPI."""
    n = 200_000
    pop = cohort.load_population(LN)
    cov = cohort.sample_covariates(pop, seed=42, start=0, stop=n)
    female = cov.sex == 0
    assert female.mean() == pytest.approx(0.9, abs=4 * math.sqrt(0.09 / n))
    q = 0.72
    hwe = [q * q, 2 * q * (1 - q), (1 - q) ** 2]
    assert np.bincount(cov.cyp3a5, minlength=3) / n == pytest.approx(hwe, abs=0.005)
    age = stats.truncnorm((18 - 33) / 10, (60 - 33) / 10, loc=33, scale=10)
    assert cov.age_y.mean() == pytest.approx(age.mean(), abs=4 * age.std() / math.sqrt(n))
    assert cov.age_y.std() == pytest.approx(age.std(), rel=0.01)
    assert cov.age_y.min() >= 18 and cov.age_y.max() <= 60
    egfr = stats.truncnorm((15 - 111.7) / 33.7, (160 - 111.7) / 33.7, loc=111.7, scale=33.7)
    assert cov.egfr.mean() == pytest.approx(egfr.mean(), abs=4 * egfr.std() / math.sqrt(n))
    for is_female, mean, sd in ((True, 57.2, 8.6), (False, 65.9, 10.6)):
        sigma = math.sqrt(math.log1p((sd / mean) ** 2))
        mu = math.log(mean) - sigma**2 / 2
        a, b = (math.log(35) - mu) / sigma, (math.log(110) - mu) / sigma
        log_w = stats.truncnorm(a, b, loc=mu, scale=sigma)
        expected = log_w.expect(np.exp)
        w = cov.weight_kg[female == is_female]
        assert w.mean() == pytest.approx(expected, abs=4 * w.std() / math.sqrt(w.size))
    assert cov.weight_kg.min() >= 35 and cov.weight_kg.max() <= 110
    back = covariates.egfr_from_serum_creatinine(cov.serum_creatinine_mg_dl, cov.age_y, cov.sex)
    np.testing.assert_allclose(back, cov.egfr, rtol=1e-9)
    assert np.all(cov.liver_function == 0) and np.all(cov.prednisone_mg_per_day == 0)


def test_weight_based_prednisone_is_capped_and_liver_fractions_apply():
    pop = cohort.load_population(
        LN,
        {
            "prednisone_mg_per_kg_per_day": 0.6,
            "liver_elevated_enzymes_fraction": 0.1,
            "liver_severe_impairment_fraction": 0.05,
        },
    )
    cov = cohort.sample_covariates(pop, seed=3, start=0, stop=50_000)
    np.testing.assert_allclose(cov.prednisone_mg_per_day, np.minimum(0.6 * cov.weight_kg, 40.0))
    share = np.bincount(cov.liver_function, minlength=4) / len(cov)
    assert share == pytest.approx([0.85, 0.1, 0.0, 0.05], abs=0.006)


def test_population_taper_settings():
    pop = cohort.load_population(LN, {"prednisone_mg_per_day": 40, "prednisone_taper_step_mg": 5})
    taper = pop.prednisone_taper
    assert (taper.step_mg, taper.every_days, taper.first_step_day, taper.floor_mg) == (
        5,
        14,
        28,
        10,
    )
    assert cohort.load_population(LN).prednisone_taper is None


# --------------------------------------------------------------------------- reproducibility


def _everything(seed, start, stop, days=14):
    pop = cohort.load_population(LN)
    cov = cohort.sample_covariates(pop, seed=seed, start=start, stop=stop)
    ind = cohort.individual_parameters(DEFAULT, cov, seed=seed, start=start)
    doses = np.arange(0, days * 24, 12.0)[None, :]
    iov = cohort.iov_f_multipliers(DEFAULT, doses, seed=seed, start=start, stop=stop)
    conc = np.outer(ind.cl, np.ones(days)) / 3
    meas = cohort.residual_error(DEFAULT, conc, seed=seed, start=start, lloq_ng_per_ml=1.0)
    offsets = cohort.sampling_time_offsets(
        cohort.load_variability({"sampling_offset_min_h": -1, "sampling_offset_max_h": 1}),
        days,
        seed=seed,
        start=start,
        stop=stop,
    )
    return np.column_stack(
        [cov.weight_kg, cov.age_y, cov.cyp3a5, ind.cl, ind.v, ind.ka, iov, meas.measured, offsets]
    )


def test_draws_depend_only_on_seed_and_subject():
    """Two independent runs agree bit for bit; any chunking gives the same subjects."""
    n = 2 * rng.BLOCK_SIZE + 100
    whole = _everything(7, 0, n)
    np.testing.assert_array_equal(whole, _everything(7, 0, n))
    cuts = [0, 3, 1000, rng.BLOCK_SIZE + 1, n]
    pieces = [_everything(7, a, b) for a, b in itertools.pairwise(cuts)]
    np.testing.assert_array_equal(whole, np.vstack(pieces))
    other = _everything(8, 0, n)
    assert not np.any(np.all(whole == other, axis=0))


def test_longer_runs_keep_the_earlier_draws():
    """Occasion k and sample j get the same draws whatever the number simulated."""
    short, long = (np.arange(0, d * 24, 12.0)[None, :] for d in (7, 21))
    a = cohort.iov_f_multipliers(DEFAULT, short, seed=1, start=0, stop=500)
    b = cohort.iov_f_multipliers(DEFAULT, long, seed=1, start=0, stop=500)
    np.testing.assert_array_equal(a, b[:, : short.shape[1]])
    conc = np.full((500, 10), 5.0)
    m5 = cohort.residual_error(DEFAULT, conc[:, :5], seed=1, start=0, lloq_ng_per_ml=1.0)
    m10 = cohort.residual_error(DEFAULT, conc, seed=1, start=0, lloq_ng_per_ml=1.0)
    np.testing.assert_array_equal(m5.measured, m10.measured[:, :5])


# --------------------------------------------------------------------------- variability


def test_iiv_has_the_specified_full_covariance():
    """Log individual / typical parameters have covariance Omega (CL-V correlation 0.5 added);
    with CL-only dispersion, the 5-95 % range of Cavg = F D / (CL tau) is exp(2 z95 omega_CL)."""
    pset = override_parameter_set(DEFAULT, {"iiv_correlation.cl,v": 0.5})
    n = 100_000
    pop = cohort.load_population(LN)
    cov = cohort.sample_covariates(pop, seed=9, start=0, stop=n)
    typ = covariates.typical_parameters(pset, cov)
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
    typ = covariates.typical_parameters(DEFAULT, cov)
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
    m = cohort.iov_f_multipliers(DEFAULT, doses, seed=2, start=0, stop=20_000)
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
    iov = cohort.iov_f_multipliers(DEFAULT, doses[None, :], seed=5, start=0, stop=n)
    trough = superposed(
        ind.cl, ind.v, ind.ka, ind.tlag, ind.f[:, None] * iov, dose, doses, t_end
    ).sum(axis=1)
    simulated = math.log(np.percentile(trough, 95) / np.percentile(trough, 5))

    typ = covariates.typical_parameters(DEFAULT, cov.slice(0, 1))
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
    out = cohort.residual_error(DEFAULT, conc, seed=6, start=0, lloq_ng_per_ml=1.0)
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
    with pytest.raises(ValueError, match="Did you mean 'lloq_ng_per_ml'"):
        cohort.load_variability({"lloq_ng_ml": 1})
    with pytest.raises(ValueError, match="must not exceed"):
        cohort.load_variability({"sampling_offset_min_h": 1.0})


# --------------------------------------------------------------------------- CSV patients


def test_example_patients_csv():
    pop = cohort.load_population(LN)
    cov = cohort.read_patients_csv(DATA / "patients.csv", population=pop, seed=1)
    assert cov.patient_id == ("LN-001", "LN-002", "LN-003", "LN-004", "LN-005")
    assert cov.labels("sex").tolist() == ["female", "female", "male", "female", "female"]
    assert cov.cyp3a5[:3].tolist() == [0, 1, 2] and cov.liver_function[4] == 1
    # Missing eGFR derived from creatinine and vice versa (CKD-EPI 2009).
    assert cov.egfr[0] == pytest.approx(141 * 0.993**28 * 1.018 * (0.68 / 0.7) ** -0.329)
    assert covariates.egfr_from_serum_creatinine(cov.serum_creatinine_mg_dl[1:2], [35], [0])[
        0
    ] == pytest.approx(96.0)
    again = cohort.read_patients_csv(DATA / "patients.csv", population=pop, seed=1)
    assert again.cyp3a5[3] == cov.cyp3a5[3]
    bundled = cohort.read_patients_csv(
        Path(cohort.__file__).parents[1] / "data" / "examples" / "patients.csv",
        population=pop,
        seed=1,
    )
    np.testing.assert_array_equal(bundled.weight_kg, cov.weight_kg)
    umol = cohort.read_patients_csv(DATA / "patients_umol.csv")
    assert umol.serum_creatinine_mg_dl == pytest.approx([61.88 / 88.4, 106.08 / 88.4])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5\n55,female,30,34,*3/*3\nheavy,male,40,40,"
            "*1/*3\n",
            r"row 2 \(line 3\), column 'weight_kg': 'heavy' is not a number",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5\n55000,female,30,34,*3/*3\n",
            r"row 1 .*'weight_kg': 55000 is outside the plausible range .*kg",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5,egrf\n55,female,30,34,*3/*3,90\n",
            "Did you mean 'egfr'",
        ),
        (
            "weight_kg,sex,age_y,cyp3a5\n55,female,30,*3/*3\n",
            r"missing required column\(s\) "
            r"\['hematocrit_pct'\]",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5\n55,female,30,34,*1/*2\n",
            r"row 1 .*'cyp3a5'.*Did you mean",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5\n55,woman,30,34,*3/*3\n",
            "'sex': 'woman' is not one of",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5\n55,female,30,34,unknown\n",
            "pass population= and seed=",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5\n55,female,,34,*3/*3\n",
            "'age_y': a value is required",
        ),
        ("weight_kg,sex,age_y,hematocrit_pct,cyp3a5\n", "no patient rows"),
    ],
)
def test_bad_csv_rows_are_named(text, message):
    with pytest.raises(ValueError, match=message):
        cohort.read_patients_csv(io.StringIO(text))


# --------------------------------------------------------------------------- published checks


def test_healthy_volunteer_set_reproduces_bekersky_2001a():
    """Bekersky 2001a, 5 mg fasting (PK_REFERENCE 5, 6.1): AUCinf 272 ng*h/mL, t1/2 about 34 h,
    tmax 1.37 h. Tolerances: AUC 2 % (trapezoid on a 0.01 h grid plus the analytic tail),
    t1/2 3 %, tmax 0.05 h. Cmax (25.6 ng/mL) is *not* reproduced: a one-compartment model with
    the terminal-phase V/F (902 L) peaks at most at 5 mg / 902 L = 5.5 ng/mL; tacrolimus is
    bi-exponential and trough-based simulation needs the terminal phase. The LN default set
    differs on purpose (CL/F 14 vs 18.4 L/h: steroid-free *3/*3 LN patients vs healthy men of
    mixed genotype)."""
    pset = load_parameter_set("healthy-volunteer")
    one = covariates.Covariates(
        weight_kg=[75.0],
        sex=[1],
        age_y=[30.0],
        hematocrit_pct=[45.0],
        egfr=[100.0],
        serum_creatinine_mg_dl=[0.9],
        serum_creatinine_uln_mg_dl=[1.1],
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
        one = covariates.Covariates(
            weight_kg=[60.0],
            sex=[0],
            age_y=[30.0],
            hematocrit_pct=[35.0],
            egfr=[100.0],
            serum_creatinine_mg_dl=[0.7],
            serum_creatinine_uln_mg_dl=[0.83],
            cyp3a5=[code],
            liver_function=[0],
            prednisone_mg_per_day=[prednisone],
        )
        t = covariates.typical_parameters(DEFAULT, one)
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
