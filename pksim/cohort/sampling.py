"""Virtual cohorts and variability: populations, CSV patients, IIV, IOV, residual error.

Everything works on a slice of subjects [start, stop) of a cohort, vectorised, and every
random number comes from :func:`pksim.rng.draw`, so subject i's values depend only on
(seed, stream, i): the same whatever the chunking. Draws are laid out so that a subject's
first k values of a stream do not change when more are requested (more occasions, samples
or covariates): each block draws a (k, block) array and hands it back transposed.

Streams: ``covariates`` (8 uniforms per subject, :data:`COVARIATE_COLUMNS`), ``iiv``
(one standard normal per PK parameter in :data:`pksim.parameters.PK_PARAMETERS` order),
``iov`` (one standard normal per occasion), ``residual`` (one uniform per sample),
``sampling_time`` (one uniform per sample).
"""

from __future__ import annotations

import csv
import io
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

from pksim import rng
from pksim.cohort.covariates import (
    CYP3A5_GENOTYPES,
    LIVER_FUNCTION,
    SEXES,
    Covariates,
    PKParameters,
    PrednisoneTaper,
    category_codes,
    creatinine_uln_mg_dl,
    egfr_from_serum_creatinine,
    serum_creatinine_from_egfr,
    shared_constants,
    typical_parameters,
)
from pksim.library.parameters import (
    PK_PARAMETERS,
    ParameterSet,
    cited_value,
    did_you_mean,
    load_references,
)

__all__ = [
    "COVARIATE_COLUMNS",
    "CSV_COLUMNS",
    "Measurements",
    "Population",
    "VariabilitySettings",
    "individual_parameters",
    "iov_f_multipliers",
    "list_populations",
    "load_population",
    "load_variability",
    "population_settings",
    "read_patients_csv",
    "residual_error",
    "sample_covariates",
    "sampling_time_offsets",
    "variability_settings",
]

COVARIATE_COLUMNS: tuple[str, ...] = (
    "sex",
    "age",
    "weight",
    "hematocrit",
    "egfr",
    "cyp3a5_allele_1",
    "cyp3a5_allele_2",
    "liver",
)
"""Uniform columns of the ``covariates`` stream, in draw order. Append only."""

_EXPRESSER = "cyp3a5_expresser_fraction"
_ALLELE = "cyp3a5_star3_allele_frequency"
_LIVER_KEYS = {
    "elevated_enzymes": "liver_elevated_enzymes_fraction",
    "mild_impairment": "liver_mild_impairment_fraction",
    "severe_impairment": "liver_severe_impairment_fraction",
}
_RANGES = ("age_y", "weight_kg", "hematocrit_pct", "egfr")
_P_MAX = float(np.nextafter(1.0, 0.0))


# --------------------------------------------------------------------------- populations


def _populations_dir():
    return resources.files("pksim").joinpath("data", "populations")


def list_populations() -> list[str]:
    """Names of the bundled virtual populations."""
    return sorted(
        p.name.removesuffix(".toml")
        for p in _populations_dir().iterdir()
        if p.name.endswith(".toml") and not p.name.startswith("_")
    )


@cache
def _population_file(name: str) -> Mapping[str, Any]:
    valid = list_populations()
    if name not in valid:
        raise did_you_mean("population", name, valid)
    origin = f"populations/{name}.toml"
    raw = tomllib.loads(_populations_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8"))
    settings = {}
    for key, entry in raw["settings"].items():
        where = f"settings.{key}"
        allowed = entry.get("allowed")
        if not (isinstance(allowed, list) and len(allowed) == 2 and allowed[0] <= allowed[1]):
            raise ValueError(f"{origin}: {where}: 'allowed' must be [low, high]")
        info = {
            "units": entry["units"],
            "allowed": (float(allowed[0]), float(allowed[1])),
            "description": entry.get("description", ""),
        }
        if "derived" in entry:
            info.update(derived=entry["derived"], source=(), evidence="D")
        else:
            value = cited_value(
                {
                    k: v
                    for k, v in entry.items()
                    if k in ("value", "units", "source", "evidence", "note")
                },
                where,
                origin=origin,
            )
            info.update(
                default=value.value, source=value.sources, evidence=value.evidence, note=value.note
            )
        settings[key] = MappingProxyType(info)
    if _EXPRESSER in settings:
        settings[_EXPRESSER] = MappingProxyType(
            {**settings[_EXPRESSER], "default": 1.0 - settings[_ALLELE]["default"] ** 2}
        )
    return MappingProxyType(
        {
            "name": raw["name"],
            "title": raw.get("title", name),
            "description": raw.get("description", "").strip(),
            "settings": MappingProxyType(settings),
        }
    )


def population_settings(name: str) -> dict[str, dict[str, Any]]:
    """Overridable settings of population ``name``: key -> {default, units, allowed (low, high),
    description, source, evidence}. A derived setting also has ``derived`` (its formula)."""
    return {k: dict(v) for k, v in _population_file(name)["settings"].items()}


@dataclass(frozen=True, slots=True)
class Population:
    """A validated virtual population: its name and every setting (defaults + overrides)."""

    name: str
    title: str
    settings: Mapping[str, float]
    overrides: Mapping[str, float]
    citations: Mapping[str, str]

    def __getitem__(self, key: str) -> float:
        return self.settings[key]

    @property
    def references(self) -> tuple[str, ...]:
        """Citation strings of the sources behind the population's defaults."""
        return tuple(self.citations[k] for k in sorted(self.citations))

    @property
    def prednisone_taper(self) -> PrednisoneTaper | None:
        """The prednisone taper, or None when ``prednisone_taper_step_mg`` is 0."""
        s = self.settings
        if s["prednisone_taper_step_mg"] == 0:
            return None
        return PrednisoneTaper(
            step_mg=s["prednisone_taper_step_mg"],
            every_days=s["prednisone_taper_every_days"],
            first_step_day=s["prednisone_taper_first_step_day"],
            floor_mg=s["prednisone_taper_floor_mg"],
        )


def load_population(name: str, overrides: Mapping[str, Any] | None = None) -> Population:
    """Population ``name`` with ``overrides`` (setting key -> number), validated.

    A bad key gets a "did you mean"; a value outside the allowed range names the key and the
    range. Giving ``cyp3a5_expresser_fraction`` sets the *3 allele frequency to
    sqrt(1 - fraction) (Hardy-Weinberg); giving both is refused.
    """
    info = _population_file(name)
    table = info["settings"]
    overrides = dict(overrides or {})
    settings = {k: v["default"] for k, v in table.items()}
    for key, value in overrides.items():
        if key not in table:
            raise did_you_mean(f"setting of population {name!r}", key, table)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"population {name!r}: {key} must be a finite number, got {value!r}")
        low, high = table[key]["allowed"]
        if not low <= value <= high:
            raise ValueError(
                f"population {name!r}: {key} = {value!r} is outside the allowed "
                f"range [{low:g}, {high:g}] {table[key]['units']}"
            )
        settings[key] = float(value)
    if _EXPRESSER in overrides and _ALLELE in overrides:
        raise ValueError(
            f"population {name!r}: give {_EXPRESSER} or {_ALLELE}, not both "
            "(they are tied by Hardy-Weinberg)"
        )
    if _EXPRESSER in overrides:
        settings[_ALLELE] = math.sqrt(1.0 - settings[_EXPRESSER])
    else:
        settings[_EXPRESSER] = 1.0 - settings[_ALLELE] ** 2
    _check_population(name, settings)
    refs = load_references()
    keys = {s for k, v in table.items() if k not in overrides for s in v.get("source", ())}
    return Population(
        name=info["name"],
        title=info["title"],
        settings=MappingProxyType(settings),
        overrides=MappingProxyType({k: float(v) for k, v in overrides.items()}),
        citations=MappingProxyType({k: refs[k].citation for k in sorted(keys)}),
    )


def _check_population(name: str, s: Mapping[str, float]) -> None:
    def fail(message: str) -> ValueError:
        return ValueError(f"population {name!r}: {message}")

    for base in _RANGES:
        lo, hi = s[f"{base}_min"], s[f"{base}_max"]
        if lo > hi:
            raise fail(f"{base}_min ({lo:g}) must not exceed {base}_max ({hi:g})")
        for suffix in ("_female", "_male") if base == "weight_kg" else ("",):
            mean, sd = s[f"{base}_mean{suffix}"], s[f"{base}_sd{suffix}"]
            if sd == 0 and not lo <= mean <= hi:
                raise fail(
                    f"{base}_mean{suffix} ({mean:g}) must lie in [{base}_min, {base}_max] "
                    f"= [{lo:g}, {hi:g}] when {base}_sd{suffix} is 0"
                )
            if sd > 0 and _window_mass(base, mean, sd, lo, hi) < _MIN_WINDOW_MASS:
                raise fail(
                    f"the truncation window [{lo:g}, {hi:g}] of {base} holds almost none "
                    f"of the distribution (mean {mean:g}, SD {sd:g}); widen it or move "
                    "the mean"
                )
    total = sum(s[k] for k in _LIVER_KEYS.values())
    if total > 1:
        raise fail(f"liver function fractions add up to {total:g} > 1")
    if s["prednisone_mg_per_day"] > 0 and s["prednisone_mg_per_kg_per_day"] > 0:
        raise fail("give prednisone_mg_per_day or prednisone_mg_per_kg_per_day, not both")


_MIN_WINDOW_MASS = 1e-6
"""Smallest probability a truncation window may hold (numerical safety of inverse-CDF draws)."""


def _lognormal(mean: ArrayLike, sd: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Log-scale mu, sigma of a log-normal with arithmetic ``mean`` and ``sd``."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    sigma = np.sqrt(np.log1p((sd / mean) ** 2))
    return np.log(mean) - sigma**2 / 2, sigma


def _window_mass(base: str, mean: float, sd: float, lo: float, hi: float) -> float:
    if base == "weight_kg":
        mu, sigma = _lognormal(mean, sd)
        a, b = (math.log(lo) - mu) / sigma, (math.log(hi) - mu) / sigma
    else:
        a, b = (lo - mean) / sd, (hi - mean) / sd
    return float(ndtr(b) - ndtr(a))


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
    np.minimum(p, _P_MAX, out=p)
    x = ndtri(p)
    if group is not None:
        x[s == 0] = 0.0  # sd = 0: the mean itself
    x *= s
    x += mean
    np.minimum(x, hi, out=x)
    np.maximum(x, lo, out=x)
    return x


def _uniform_columns(seed: int, stream: str, start: int, stop: int, k: int) -> np.ndarray:
    """(stop - start, k) uniforms on [0, 1); column j is stable when k grows."""
    return rng.draw(seed, stream, start, stop, lambda g, size: g.random((k, size)).T)


def _normal_columns(seed: int, stream: str, start: int, stop: int, k: int) -> np.ndarray:
    """(stop - start, k) standard normals; column j is stable when k grows."""
    return rng.draw(seed, stream, start, stop, lambda g, size: g.standard_normal((k, size)).T)


def sample_covariates(population: Population, *, seed: int, start: int, stop: int) -> Covariates:
    """Covariates of subjects [start, stop) of a virtual cohort of ``population``.

    Sex is Bernoulli(female_fraction); age, hematocrit and eGFR are truncated normal; weight is
    truncated log-normal with sex-specific arithmetic mean and SD; CYP3A5 genotype has two
    independent alleles, *3 with probability ``cyp3a5_star3_allele_frequency``; liver function
    is categorical; serum creatinine is the CKD-EPI 2009 inverse of eGFR at the subject's age
    and sex; prednisone is the same baseline for everyone, or mg/kg capped at the maximum.
    """
    s = population.settings
    u = _uniform_columns(seed, "covariates", start, stop, len(COVARIATE_COLUMNS))
    col = {name: u[:, i] for i, name in enumerate(COVARIATE_COLUMNS)}
    female = col["sex"] < s["female_fraction"]
    sex = np.where(female, SEXES.index("female"), SEXES.index("male")).astype(np.int8)
    age = _truncated_normal(
        col["age"], s["age_y_mean"], s["age_y_sd"], s["age_y_min"], s["age_y_max"]
    )
    mu_f, sigma_f = _lognormal(s["weight_kg_mean_female"], s["weight_kg_sd_female"])
    mu_m, sigma_m = _lognormal(s["weight_kg_mean_male"], s["weight_kg_sd_male"])
    weight = np.exp(
        _truncated_normal(
            col["weight"],
            float(mu_f),
            float(sigma_f),
            math.log(s["weight_kg_min"]),
            math.log(s["weight_kg_max"]),
            group=female,
            mean_2=float(mu_m),
            sd_2=float(sigma_m),
        )
    )
    hct = _truncated_normal(
        col["hematocrit"],
        s["hematocrit_pct_mean"],
        s["hematocrit_pct_sd"],
        s["hematocrit_pct_min"],
        s["hematocrit_pct_max"],
    )
    egfr = _truncated_normal(
        col["egfr"], s["egfr_mean"], s["egfr_sd"], s["egfr_min"], s["egfr_max"]
    )
    q = s[_ALLELE]
    cyp = (col["cyp3a5_allele_1"] >= q).astype(np.int8) + (col["cyp3a5_allele_2"] >= q).astype(
        np.int8
    )
    liver = np.zeros(len(age), dtype=np.int8)
    edge = 0.0
    for category, key in _LIVER_KEYS.items():
        hit = (col["liver"] >= edge) & (col["liver"] < edge + s[key])
        liver[hit] = LIVER_FUNCTION.index(category)
        edge += s[key]
    if s["prednisone_mg_per_kg_per_day"] > 0:
        pred = np.minimum(
            s["prednisone_mg_per_kg_per_day"] * weight, s["prednisone_max_mg_per_day"]
        )
    else:
        pred = np.full(len(age), s["prednisone_mg_per_day"])
    return Covariates(
        weight_kg=weight,
        sex=sex,
        age_y=age,
        hematocrit_pct=hct,
        egfr=egfr,
        serum_creatinine_mg_dl=serum_creatinine_from_egfr(egfr, age, sex),
        serum_creatinine_uln_mg_dl=creatinine_uln_mg_dl(age, sex),
        cyp3a5=cyp,
        liver_function=liver,
        prednisone_mg_per_day=pred,
    )


# --------------------------------------------------------------------------- CSV patients

CSV_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "patient_id": "optional label (default: row number)",
        "weight_kg": "required, kg",
        "sex": "required: female | male (or F | M)",
        "age_y": "required, years",
        "hematocrit_pct": "required, %",
        "cyp3a5": "required: *3/*3 | *1/*3 | *1/*1 | unknown (imputed: needs population, seed)",
        "egfr": "optional, mL/min/1.73 m2 (derived from serum creatinine when missing)",
        "serum_creatinine_mg_dl": "optional, mg/dL",
        "serum_creatinine_umol_l": "optional, umol/L (alternative to mg/dL)",
        "liver_function": f"optional: {' | '.join(LIVER_FUNCTION)} (default normal)",
        "prednisone_mg_per_day": "optional, mg/day (default 0)",
    }
)
"""Columns of a patient table, one row per patient (header names exactly as here)."""

_SEX_ALIASES = {"female": "female", "f": "female", "male": "male", "m": "male"}
_UNKNOWN = {"", "unknown", "na", "n/a", "nan"}


def read_patients_csv(
    source: str | os.PathLike[str] | io.TextIOBase,
    *,
    population: Population | None = None,
    seed: int | None = None,
) -> Covariates:
    """Covariates of real patients from a CSV table (one row per patient, see CSV_COLUMNS).

    Errors name the row (1 = first data row), its line in the file and the column. Unknown
    CYP3A5 genotypes are imputed from ``population``'s allele frequency with stream
    ``covariates`` (patient i uses the same uniforms as subject i of a virtual cohort).
    """
    if isinstance(source, io.TextIOBase):
        name, text = "<csv>", source.read()
    else:
        name = os.fspath(source)
        with open(name, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ValueError(f"{name}: empty file; expected a header with columns {list(CSV_COLUMNS)}")
    for column in header:
        if column not in CSV_COLUMNS:
            raise ValueError(f"{name}: {did_you_mean('column', column, CSV_COLUMNS)}")
    if len(set(header)) != len(header):
        raise ValueError(f"{name}: duplicate column names in the header {header}")
    required = [c for c, d in CSV_COLUMNS.items() if d.startswith("required")]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(
            f"{name}: missing required column(s) {missing}; columns: {dict(CSV_COLUMNS)}"
        )
    if "serum_creatinine_mg_dl" in header and "serum_creatinine_umol_l" in header:
        raise ValueError(f"{name}: give serum creatinine in mg/dL or in umol/L, not both")
    reader.fieldnames = header
    limits = shared_constants()["limits"]
    rows: dict[str, list[Any]] = {c: [] for c in CSV_COLUMNS}
    for index, row in enumerate(reader, start=1):
        where = f"{name}: row {index} (line {reader.line_num})"
        if None in row:
            raise ValueError(f"{where}: more fields than columns in the header")
        cells = {k: (v or "").strip() for k, v in row.items()}
        parsed = _parse_row(cells, where, limits)
        for column in CSV_COLUMNS:
            rows[column].append(parsed.get(column))
    n = len(rows["weight_kg"])
    if n == 0:
        raise ValueError(f"{name}: no patient rows below the header")
    return _patients(rows, n, name, population, seed)


def _number(
    cells: Mapping[str, str],
    column: str,
    where: str,
    limits: Mapping[str, tuple[float, float]],
    limit_key: str | None = None,
    required: bool = False,
) -> float:
    text = cells.get(column, "")
    if text.lower() in _UNKNOWN:
        if required:
            raise ValueError(f"{where}, column {column!r}: a value is required")
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}, column {column!r}: {text!r} is not a number") from None
    low, high = limits[limit_key or column]
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(
            f"{where}, column {column!r}: {value:g} is outside the plausible range "
            f"[{low:g}, {high:g}] (check the units: {CSV_COLUMNS[column]})"
        )
    return value


def _parse_row(
    cells: Mapping[str, str], where: str, limits: Mapping[str, tuple[float, float]]
) -> dict[str, Any]:
    out: dict[str, Any] = {"patient_id": cells.get("patient_id") or None}
    for column in ("weight_kg", "age_y", "hematocrit_pct"):
        out[column] = _number(cells, column, where, limits, required=True)
    out["egfr"] = _number(cells, "egfr", where, limits)
    per = shared_constants()["creatinine"]["umol_per_l_per_mg_per_dl"].value
    scr = _number(cells, "serum_creatinine_mg_dl", where, limits)
    if "serum_creatinine_umol_l" in cells:
        umol_limits = {"x": tuple(v * per for v in limits["serum_creatinine_mg_dl"])}
        scr = _number(cells, "serum_creatinine_umol_l", where, umol_limits, "x") / per
    out["serum_creatinine_mg_dl"] = scr
    out["prednisone_mg_per_day"] = _number(cells, "prednisone_mg_per_day", where, limits)
    sex = _SEX_ALIASES.get(cells.get("sex", "").lower())
    if sex is None:
        raise ValueError(
            f"{where}, column 'sex': {cells.get('sex')!r} is not one of female, male, F, M"
        )
    out["sex"] = sex
    genotype = cells.get("cyp3a5", "")
    if genotype.lower() in _UNKNOWN:
        out["cyp3a5"] = None
    elif genotype in CYP3A5_GENOTYPES:
        out["cyp3a5"] = genotype
    else:
        hint = did_you_mean("genotype", genotype, (*CYP3A5_GENOTYPES, "unknown"))
        raise ValueError(f"{where}, column 'cyp3a5': {hint}")
    liver = cells.get("liver_function", "") or "normal"
    if liver not in LIVER_FUNCTION:
        raise ValueError(
            f"{where}, column 'liver_function': "
            f"{did_you_mean('liver function', liver, LIVER_FUNCTION)}"
        )
    out["liver_function"] = liver
    return out


def _patients(
    rows: Mapping[str, list[Any]],
    n: int,
    name: str,
    population: Population | None,
    seed: int | None,
) -> Covariates:
    sex = category_codes("sex", rows["sex"])
    age = np.array(rows["age_y"], dtype=float)
    egfr = np.array(rows["egfr"], dtype=float)
    scr = np.array(rows["serum_creatinine_mg_dl"], dtype=float)
    egfr = np.where(np.isnan(egfr), egfr_from_serum_creatinine(scr, age, sex), egfr)
    scr = np.where(np.isnan(scr), serum_creatinine_from_egfr(egfr, age, sex), scr)
    genotypes = rows["cyp3a5"]
    unknown = np.array([g is None for g in genotypes])
    cyp = np.zeros(n, dtype=np.int8)
    if unknown.any():
        if population is None or seed is None:
            first = int(np.flatnonzero(unknown)[0]) + 1
            raise ValueError(
                f"{name}: row {first}, column 'cyp3a5' is unknown; pass population= "
                "and seed= to impute genotypes (Hardy-Weinberg)"
            )
        u = _uniform_columns(seed, "covariates", 0, n, len(COVARIATE_COLUMNS))
        q = population.settings[_ALLELE]
        a1 = COVARIATE_COLUMNS.index("cyp3a5_allele_1")
        a2 = COVARIATE_COLUMNS.index("cyp3a5_allele_2")
        cyp[unknown] = (u[unknown, a1] >= q).astype(np.int8) + (u[unknown, a2] >= q).astype(np.int8)
    known = ~unknown
    if known.any():
        cyp[known] = category_codes("cyp3a5", [g for g in genotypes if g is not None])
    ids = tuple(rows["patient_id"][i] or str(i + 1) for i in range(n))
    pred = np.nan_to_num(np.array(rows["prednisone_mg_per_day"], dtype=float), nan=0.0)
    return Covariates(
        weight_kg=np.array(rows["weight_kg"], dtype=float),
        sex=sex,
        age_y=age,
        hematocrit_pct=np.array(rows["hematocrit_pct"], dtype=float),
        egfr=egfr,
        serum_creatinine_mg_dl=scr,
        serum_creatinine_uln_mg_dl=creatinine_uln_mg_dl(age, sex),
        cyp3a5=cyp,
        liver_function=category_codes("liver_function", rows["liver_function"]),
        prednisone_mg_per_day=pred,
        patient_id=ids,
    )


# --------------------------------------------------------------------------- variability


@dataclass(frozen=True, slots=True)
class VariabilitySettings:
    """How variability and monitoring are simulated.

    ``occasion_length_h``: doses whose times fall in the same [k·L, (k+1)·L) window share one
    IOV multiplier on F (24 h = one occasion per dosing day). ``lloq_ng_per_ml``: measured
    values below it are flagged. ``sampling_offset_min_h`` / ``_max_h``: trough draws are
    uniformly late or early by this much (h). ``typical_only``: no IIV, IOV, residual error
    or sampling deviation (the typical patient for each covariate set).
    """

    occasion_length_h: float
    lloq_ng_per_ml: float
    sampling_offset_min_h: float
    sampling_offset_max_h: float
    typical_only: bool = False


def variability_settings() -> dict[str, dict[str, Any]]:
    """Overridable variability settings: key -> {default, units, allowed, description, ...}."""
    out = {}
    for key, entry in shared_constants()["variability"].items():
        out[key] = {
            "default": float(entry["value"]),
            "units": entry["units"],
            "allowed": tuple(float(x) for x in entry["allowed"]),
            "description": entry.get("description", ""),
            "source": tuple(
                [entry["source"]]
                if isinstance(entry.get("source"), str)
                else entry.get("source", ())
            ),
            "evidence": entry["evidence"],
            "note": entry.get("note", ""),
        }
    out["typical_only"] = {
        "default": False,
        "units": "bool",
        "allowed": (False, True),
        "description": "Run the typical patient: no IIV, IOV, residual error or sampling deviation",
    }
    return out


def load_variability(overrides: Mapping[str, Any] | None = None) -> VariabilitySettings:
    """Variability settings with ``overrides`` applied and validated."""
    table = variability_settings()
    values = {k: v["default"] for k, v in table.items()}
    for key, value in (overrides or {}).items():
        if key not in table:
            raise did_you_mean("variability setting", key, table)
        if key == "typical_only":
            if not isinstance(value, bool):
                raise ValueError(f"typical_only must be true or false, got {value!r}")
        else:
            low, high = table[key]["allowed"]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value <= high
            ):
                raise ValueError(
                    f"variability setting {key} = {value!r} is outside the allowed "
                    f"range [{low:g}, {high:g}] {table[key]['units']}"
                )
        values[key] = value
    if values["sampling_offset_min_h"] > values["sampling_offset_max_h"]:
        raise ValueError("sampling_offset_min_h must not exceed sampling_offset_max_h")
    return VariabilitySettings(**{f.name: values[f.name] for f in fields(VariabilitySettings)})


def individual_parameters(
    pset: ParameterSet,
    cov: Covariates,
    *,
    seed: int,
    start: int = 0,
    typical_only: bool = False,
    exclude: tuple[str, ...] = (),
) -> PKParameters:
    """Individual CL/F (L/h), V/F (L), ka (1/h), lag (h) and relative F of subjects
    [start, start + len(cov)): typical values times exp(eta), eta ~ N(0, Omega) with the set's
    full covariance matrix (stream ``iiv``). ``typical_only`` gives the typical values."""
    typ = typical_parameters(pset, cov, exclude=exclude)
    names, omega = pset.iiv_covariance()
    if typical_only or not names:
        return typ
    keep = [i for i, name in enumerate(names) if omega[i, i] > 0]
    values = {p: getattr(typ, p) for p in PK_PARAMETERS}
    if keep:
        slots = [PK_PARAMETERS.index(names[i]) for i in keep]
        # Column j of the stream always belongs to PK_PARAMETERS[j]: draw up to the last slot.
        z = _normal_columns(seed, "iiv", start, start + len(cov), max(slots) + 1)
        chol = np.linalg.cholesky(omega[np.ix_(keep, keep)])
        for j, i in enumerate(keep):
            eta = z[:, slots[0]] * chol[j, 0]
            for k in range(1, j + 1):
                eta += z[:, slots[k]] * chol[j, k]
            np.exp(eta, out=eta)
            eta *= values[names[i]]
            values[names[i]] = eta
    return PKParameters(**values)


def iov_f_multipliers(
    pset: ParameterSet,
    dose_times_h: ArrayLike,
    *,
    seed: int,
    start: int,
    stop: int,
    occasion_length_h: float = 24.0,
    typical_only: bool = False,
) -> NDArray[np.float64]:
    """IOV multipliers on F, (stop - start, m), for ``dose_times_h`` ((n|1, m) h, NaN = none).

    Occasion k covers [k·L, (k+1)·L) h with L = ``occasion_length_h``; each subject draws one
    exp(kappa), kappa ~ N(0, omega_IOV^2), per occasion (stream ``iov``): doses in the same
    occasion share it. Occasion k's value does not depend on how many occasions are simulated.
    """
    times = np.asarray(dose_times_h, dtype=np.float64)
    n = stop - start
    if times.ndim != 2 or times.shape[0] not in (1, n):
        raise ValueError(f"dose_times_h must be 2-D with 1 or {n} rows, got shape {times.shape}")
    if np.any(times < 0):
        raise ValueError("dose_times_h must be >= 0 h (the first dose is at t = 0)")
    if not (math.isfinite(occasion_length_h) and occasion_length_h > 0):
        raise ValueError(f"occasion_length_h must be > 0, got {occasion_length_h!r}")
    shape = (n, times.shape[1])
    sd = pset.iov_f_sd
    missing = np.isnan(times)
    if typical_only or sd == 0 or times.size == 0 or missing.all():
        return np.ones(shape)
    any_missing = bool(missing.any())
    given = np.where(missing, 0.0, times) if any_missing else times
    occasion = (given / occasion_length_h).astype(np.intp)  # times >= 0: truncation = floor
    z = _normal_columns(seed, "iov", start, stop, int(occasion.max()) + 1)
    z *= sd
    np.exp(z, out=z)  # one value per occasion, before it is repeated for each dose
    if occasion.shape[0] > 1:
        occasion = _shared_occasions(occasion, missing if any_missing else None)
    if occasion.shape[0] == 1:
        out = z[:, occasion[0]]
    else:
        out = np.take_along_axis(z, occasion, axis=1)
    if any_missing:
        out[np.broadcast_to(missing, shape)] = 1.0
    return out


def _shared_occasions(occasion: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """(1, m) when every given dose of each column falls in the same occasion, else as is.

    Usually true (late doses and draws rarely cross an occasion boundary), and one shared
    gather is much faster than a per-subject one; missed doses get 1 whatever their occasion.
    """
    candidates = [occasion[0]]
    if missing is not None:
        candidates.append(np.maximum(np.where(missing, -1, occasion).max(axis=0), 0))
    for shared in candidates:
        same = occasion == shared
        if missing is not None:
            same |= missing
        if same.all():
            return shared[np.newaxis, :]
    return occasion


@dataclass(frozen=True, slots=True)
class Measurements:
    """Simulated assay results: ``measured`` (ng/mL, never negative) and ``below_lloq``."""

    measured: NDArray[np.float64]
    below_lloq: NDArray[np.bool_]


def residual_error(
    pset: ParameterSet,
    true_conc: ArrayLike,
    *,
    seed: int,
    start: int,
    lloq_ng_per_ml: float,
    typical_only: bool = False,
) -> Measurements:
    """Measured concentrations (n, s) from true ones with proportional + additive error.

    The error is normal with SD sqrt((prop·C)^2 + add^2) (the distribution of
    C·(1 + eps_prop) + eps_add), conditioned on a non-negative result: measured = C + SD·z with
    z drawn by inverse CDF from N(0, 1) truncated at -C/SD, one uniform per sample (stream
    ``residual``). Far above the additive SD this is the usual error model; near zero it keeps
    values positive (and slightly above C on average) instead of clipping them. Values below
    ``lloq_ng_per_ml`` are flagged, never altered. NaN in, NaN out (flag False).
    """
    conc = np.asarray(true_conc, dtype=np.float64)
    if conc.ndim != 2:
        raise ValueError(f"true_conc must be 2-D (subjects, samples), got shape {conc.shape}")
    if np.any(conc < 0) or np.any(np.isinf(conc)):
        raise ValueError("true_conc must be finite and >= 0 ng/mL (NaN marks a missing sample)")
    if not (math.isfinite(lloq_ng_per_ml) and lloq_ng_per_ml >= 0):
        raise ValueError(f"lloq_ng_per_ml must be >= 0, got {lloq_ng_per_ml!r}")
    sd = pset.residual_proportional * conc
    np.hypot(sd, pset.residual_additive, out=sd)
    if typical_only or not np.any(sd > 0):
        measured = conc.copy()
    else:
        u = _uniform_columns(seed, "residual", start, start + conc.shape[0], conc.shape[1])
        zero = ~(sd > 0)  # no error (C = 0 without additive error), or NaN
        sd[zero] = 1.0
        # p = Phi(-C/SD) + u (1 - Phi(-C/SD)): a uniform quantile of N(0, 1) truncated at -C/SD.
        low = np.divide(conc, sd)
        np.negative(low, out=low)
        ndtr(low, out=low)
        p = 1.0 - low
        p *= u
        p += low
        np.minimum(p, _P_MAX, out=p)
        measured = ndtri(p)
        measured *= sd
        measured += conc
        np.maximum(measured, 0.0, out=measured)
        measured[zero] = conc[zero]
    return Measurements(measured=measured, below_lloq=measured < lloq_ng_per_ml)


def sampling_time_offsets(
    settings: VariabilitySettings, n_samples: int, *, seed: int, start: int, stop: int
) -> NDArray[np.float64]:
    """Deviation (h) of each actual sampling time from the nominal one, (stop - start, n).

    Uniform on [sampling_offset_min_h, sampling_offset_max_h] (stream ``sampling_time``);
    0 when ``typical_only``. Add it to the nominal trough times and give the result to the
    kernel as per-subject ``sample_times``. A positive offset means the draw is late: the dose
    due at the nominal time must then be moved after the draw by the caller.
    """
    lo, hi = settings.sampling_offset_min_h, settings.sampling_offset_max_h
    n = stop - start
    if settings.typical_only or lo == hi:
        return np.full((n, n_samples), 0.0 if settings.typical_only else lo)
    u = _uniform_columns(seed, "sampling_time", start, stop, n_samples)
    return lo + (hi - lo) * u
