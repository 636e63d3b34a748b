"""Virtual cohorts: covariate draws against their definitions, reproducibility, and the
imputation of unknown genotypes."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from pksim import cohort, rng
from pksim.library import covariates as registry
from tests.cohort.reference import DEFAULT, LN

Z95 = stats.norm.ppf(0.95)


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
    back = cohort.egfr_from_serum_creatinine(cov.serum_creatinine_mg_dl, cov.age_y, cov.sex)
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


def test_a_new_covariate_column_moves_no_existing_draw(monkeypatch):
    """Column j of stream covariates belongs to one covariate for good: drawing more columns
    (what a new registry entry does) leaves every existing covariate bit-identical."""
    pop = cohort.load_population(LN)
    before = cohort.sample_covariates(pop, seed=5, start=100, stop=5000)
    monkeypatch.setattr(registry, "COVARIATE_STREAM_WIDTH", registry.COVARIATE_STREAM_WIDTH + 3)
    after = cohort.sample_covariates(pop, seed=5, start=100, stop=5000)
    for name, values in before.values.items():
        np.testing.assert_array_equal(after[name], values)


# --------------------------------------------------------------------------- imputation


def _allele_reference(seed, n, q):
    """Genotype codes straight from the stream: columns 5 and 6 of 8 uniforms per subject are
    the two alleles, each *1 when the uniform is >= q (the *3 frequency)."""
    u = rng.draw(seed, "covariates", 0, n, lambda g, size: g.random((8, size)).T)
    return (u[:, 5] >= q).astype(int) + (u[:, 6] >= q).astype(int)


def _patients(n, with_unknown=True):
    """n patients; every third genotype (CYP3A5 and CYP2C19) unknown when ``with_unknown``."""
    codes = np.arange(n) % 3
    if with_unknown:
        codes = np.where(codes == 0, -1, codes)
    return cohort.Covariates(
        weight_kg=np.full(n, 60.0),
        sex=np.zeros(n),
        age_y=np.full(n, 30.0),
        hematocrit_pct=np.full(n, 35.0),
        egfr=np.full(n, 100.0),
        serum_creatinine_mg_dl=np.full(n, 0.7),
        cyp3a5=codes,
        cyp2c19=np.where(codes < 0, -1, codes),
    )


def test_unknown_genotypes_are_imputed_from_the_stream():
    pop = cohort.load_population(LN)
    n = rng.BLOCK_SIZE + 500
    patients = _patients(n)
    unknown = patients.cyp3a5 == -1
    got = cohort.impute_unknown(patients, pop, seed=11, start=0)
    expected = _allele_reference(11, n, pop["cyp3a5_star3_allele_frequency"])
    np.testing.assert_array_equal(got.cyp3a5[unknown], expected[unknown])
    np.testing.assert_array_equal(got.cyp3a5[~unknown], patients.cyp3a5[~unknown])
    # A patient's imputed genotype is the virtual subject's with the same index.
    virtual = cohort.sample_covariates(pop, seed=11, start=0, stop=n)
    np.testing.assert_array_equal(got.cyp3a5[unknown], virtual.cyp3a5[unknown])
    # Any chunking gives the same genotypes; another seed others.
    cuts = [0, 7, rng.BLOCK_SIZE + 1, n]
    pieces = [
        cohort.impute_unknown(patients.slice(a, b), pop, seed=11, start=a).cyp3a5
        for a, b in itertools.pairwise(cuts)
    ]
    np.testing.assert_array_equal(np.concatenate(pieces), got.cyp3a5)
    other = cohort.impute_unknown(patients, pop, seed=12, start=0)
    assert not np.array_equal(other.cyp3a5[unknown], got.cyp3a5[unknown])
    # Nothing unknown: the same object back, no draw.
    known = _patients(10, with_unknown=False)
    assert cohort.impute_unknown(known, pop, seed=11, start=0) is known
