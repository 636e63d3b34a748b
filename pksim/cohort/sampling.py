"""Virtual cohorts: covariates of subjects [start, stop) drawn from a population, and the
imputation of unknown values of real patients by the same draws.

Every draw comes from stream ``covariates`` (:func:`pksim.rng.uniform_columns`): column j
always belongs to the covariate whose registry entry lists j in ``draw_columns``, so subject
i's covariates depend only on (seed, i), whatever the chunking, and a new covariate (a new
column) moves no existing draw. A covariate drawn by a registry distribution needs no code
here; the ``custom`` and ``derived`` ones have their rule below.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from pksim import rng
from pksim.cohort.covariates import LIVER_FUNCTION, SEXES, Covariates
from pksim.cohort.renal import serum_creatinine_from_egfr
from pksim.library import covariates as registry
from pksim.library.populations import (
    CYP2C19_LOF_ALLELE_FREQUENCY,
    LIVER_FRACTIONS,
    STAR3_ALLELE_FREQUENCY,
    Population,
    lognormal_parameters,
)

__all__ = ["impute_unknown", "sample_covariates"]

STREAM = "covariates"
"""The random stream of covariate draws."""

Values = dict[str, np.ndarray]
Columns = Callable[[str], np.ndarray]
"""Column(s) of the ``covariates`` stream of a covariate, (n,) or (n, k)."""


def _truncated_normal(
    u: np.ndarray,
    mean: float,
    sd: float,
    lo: float,
    hi: float,
    group: np.ndarray | None = None,
    mean_2: float = 0.0,
    sd_2: float = 0.0,
) -> np.ndarray:
    """Inverse-CDF draw of N(mean, sd) truncated to [lo, hi]; sd = 0 gives the mean.

    With a boolean ``group``, subjects where it is False use ``mean_2`` and ``sd_2`` instead.
    """
    from scipy.special import ndtr, ndtri  # lazily: checking a scenario needs no scipy

    def bounds(m: float, s: float) -> tuple[float, float, float]:
        if s == 0:
            return 0.0, 0.0, 0.0
        return float(ndtr((lo - m) / s)), float(ndtr((hi - m) / s)), s

    pa, pb, s = bounds(mean, sd)
    if group is None and s == 0:
        return np.full(u.shape, float(mean))
    if group is not None:
        pa2, pb2, s2 = bounds(mean_2, sd_2)
        pa, pb = np.where(group, pa, pa2), np.where(group, pb, pb2)
        s, mean = np.where(group, s, s2), np.where(group, mean, mean_2)
    p = u * (pb - pa)
    p += pa
    np.minimum(p, rng.LARGEST_BELOW_ONE, out=p)
    x = ndtri(p)
    if group is not None:
        x[s == 0] = 0.0  # sd = 0: the mean itself
    x *= s
    x += mean
    np.minimum(x, hi, out=x)
    np.maximum(x, lo, out=x)
    return x


def _distribution(
    covariate: registry.Covariate, u: np.ndarray, s: Mapping[str, float], values: Values
) -> np.ndarray:
    """A draw of a registry distribution (settings named after the covariate)."""
    name = covariate.name
    if covariate.virtual == registry.TRUNCATED_NORMAL:
        return _truncated_normal(
            u, s[f"{name}_mean"], s[f"{name}_sd"], s[f"{name}_min"], s[f"{name}_max"]
        )
    mu_f, sigma_f = lognormal_parameters(s[f"{name}_mean_female"], s[f"{name}_sd_female"])
    mu_m, sigma_m = lognormal_parameters(s[f"{name}_mean_male"], s[f"{name}_sd_male"])
    return np.exp(
        _truncated_normal(
            u,
            float(mu_f),
            float(sigma_f),
            math.log(s[f"{name}_min"]),
            math.log(s[f"{name}_max"]),
            group=values["sex"] == SEXES.index("female"),
            mean_2=float(mu_m),
            sd_2=float(sigma_m),
        )
    )


def _sex(u: Columns, s: Mapping[str, float], values: Values) -> np.ndarray:
    """Bernoulli(female_fraction)."""
    female = u("sex") < s["female_fraction"]
    return np.where(female, SEXES.index("female"), SEXES.index("male")).astype(np.int8)


def _cyp3a5(u: Columns, s: Mapping[str, float], values: Values) -> np.ndarray:
    """Number of *1 alleles: two independent alleles, *3 with the population's frequency."""
    q = s[STAR3_ALLELE_FREQUENCY]
    alleles = u("cyp3a5")
    return (alleles[:, 0] >= q).astype(np.int8) + (alleles[:, 1] >= q).astype(np.int8)


def _cyp2c19(u: Columns, s: Mapping[str, float], values: Values) -> np.ndarray:
    """Number of loss-of-function alleles (*2, *3), two independent alleles with the
    population's frequency: 0 normal, 1 intermediate, 2 poor metaboliser."""
    p = s[CYP2C19_LOF_ALLELE_FREQUENCY]
    alleles = u("cyp2c19")
    return (alleles[:, 0] < p).astype(np.int8) + (alleles[:, 1] < p).astype(np.int8)


def _liver(u: Columns, s: Mapping[str, float], values: Values) -> np.ndarray:
    """Categorical with the population's fractions (the rest normal)."""
    column = u("liver_function")
    liver = np.zeros(column.shape[0], dtype=np.int8)
    edge = 0.0
    for category, key in LIVER_FRACTIONS.items():
        hit = (column >= edge) & (column < edge + s[key])
        liver[hit] = LIVER_FUNCTION.index(category)
        edge += s[key]
    return liver


def _prednisone(u: Columns, s: Mapping[str, float], values: Values) -> np.ndarray:
    """The same baseline for everyone, or mg/kg capped at the maximum (no draw)."""
    if s["prednisone_mg_per_kg_per_day"] > 0:
        return np.minimum(
            s["prednisone_mg_per_kg_per_day"] * values["weight_kg"], s["prednisone_max_mg_per_day"]
        )
    return np.full(values["weight_kg"].shape[0], s["prednisone_mg_per_day"])


def _serum_creatinine(u: Columns, s: Mapping[str, float], values: Values) -> np.ndarray:
    """The CKD-EPI 2009 inverse of the subject's eGFR at their age and sex."""
    return serum_creatinine_from_egfr(values["egfr"], values["age_y"], values["sex"])


_RULES: Mapping[str, Callable[[Columns, Mapping[str, float], Values], np.ndarray]] = {
    "sex": _sex,
    "cyp3a5": _cyp3a5,
    "cyp2c19": _cyp2c19,
    "liver_function": _liver,
    "prednisone_mg_per_day": _prednisone,
    "serum_creatinine_mg_dl": _serum_creatinine,
}
"""The rules of the registry's ``custom`` and ``derived`` covariates. Sex is drawn first (by-sex
distributions need it), then the registry distributions, then the other rules in this order."""


def _column_getter(u: np.ndarray) -> Columns:
    def columns(name: str) -> np.ndarray:
        draw_columns = registry.get(name).draw_columns
        return u[:, draw_columns[0]] if len(draw_columns) == 1 else u[:, list(draw_columns)]

    return columns


def sample_covariates(population: Population, *, seed: int, start: int, stop: int) -> Covariates:
    """Covariates of subjects [start, stop) of a virtual cohort of ``population``.

    Sex is Bernoulli(female_fraction); age, hematocrit and eGFR are truncated normal; weight is
    truncated log-normal with sex-specific arithmetic mean and SD; CYP3A5 genotype has two
    independent alleles, *3 with probability ``cyp3a5_star3_allele_frequency``; liver function
    is categorical; serum creatinine is the CKD-EPI 2009 inverse of eGFR at the subject's age
    and sex; prednisone is the same baseline for everyone, or mg/kg capped at the maximum.
    (Each covariate's rule is its registry entry's ``virtual``.)
    """
    s = population.settings
    u = rng.uniform_columns(seed, STREAM, start, stop, registry.COVARIATE_STREAM_WIDTH)
    columns = _column_getter(u)
    values: Values = {"sex": _sex(columns, s, {})}
    for covariate in registry.carried():
        if covariate.virtual in registry.DISTRIBUTIONS:
            values[covariate.name] = _distribution(covariate, columns(covariate.name), s, values)
    for name, rule in _RULES.items():
        if name not in values:
            values[name] = rule(columns, s, values)
    return Covariates(**values)


def impute_unknown(cov: Covariates, population: Population, *, seed: int, start: int) -> Covariates:
    """``cov`` (subjects start, start + 1, ...) with unknown values of imputable covariates
    drawn as a virtual subject of ``population`` with the same index would draw them (same
    column of stream ``covariates``): patient i's imputed genotype is virtual subject i's."""
    imputable = [c.name for c in registry.carried() if c.imputable]
    unknown = {name: cov.unknown(name) for name in imputable}
    unknown = {name: where for name, where in unknown.items() if where.any()}
    if not unknown:
        return cov
    u = rng.uniform_columns(seed, STREAM, start, start + len(cov), registry.COVARIATE_STREAM_WIDTH)
    columns = _column_getter(u)
    drawn = {
        name: np.where(where, _RULES[name](columns, population.settings, {}), cov[name])
        for name, where in unknown.items()
    }
    return cov.replace(**drawn)
