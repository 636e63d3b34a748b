"""Covariate model: per-subject covariates, and what they do to CL/F, V/F, ka, lag and F.

Units: weight kg, age years, hematocrit %, eGFR mL/min/1.73 m², serum creatinine mg/dL,
prednisone (equivalent) mg/day, time h (day d runs from 24·d to 24·(d+1) h after the first
dose at t = 0). Categorical covariates are stored as small integer codes, the index of the
label in :data:`pksim.parameters.CATEGORICAL_COVARIATES` (CYP3A5 code = number of *1 alleles).

Everything is vectorised over subjects. Time-varying covariates are piecewise constant and
handled exactly by the kernel: prednisone acts on F, so it enters as per-dose F multipliers
(:func:`prednisone_f_multipliers`); liver function acts on CL, so a change over time enters as
a clearance change-point grid (:func:`liver_cl_grid`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.library.parameters import (
    CATEGORICAL_COVARIATES,
    SET_LEVEL_COVARIATES,
    Effect,
    ParameterSet,
    cited_value,
    did_you_mean,
)
from pksim.units import HOURS_PER_DAY

__all__ = [
    "CYP3A5_GENOTYPES",
    "HOURS_PER_DAY",
    "LIVER_FUNCTION",
    "SEXES",
    "Covariates",
    "PKParameters",
    "PrednisoneTaper",
    "category_codes",
    "creatinine_uln_mg_dl",
    "effect_factor",
    "egfr_from_serum_creatinine",
    "liver_cl_grid",
    "liver_cl_multiplier",
    "prednisone_f_factor",
    "prednisone_f_multipliers",
    "prednisone_mg_per_day_at",
    "serum_creatinine_from_egfr",
    "shared_constants",
    "typical_parameters",
]

CYP3A5_GENOTYPES: tuple[str, ...] = CATEGORICAL_COVARIATES["cyp3a5"]
LIVER_FUNCTION: tuple[str, ...] = CATEGORICAL_COVARIATES["liver_function"]
SEXES: tuple[str, ...] = CATEGORICAL_COVARIATES["sex"]
"""Unit conversion: day index of a time t (h) is floor(t / 24)."""

FloatArray = NDArray[np.float64]
CodeArray = NDArray[np.int8]


# --------------------------------------------------------------------------- shared constants


@cache
def shared_constants() -> Mapping[str, Any]:
    """Parsed ``data/populations/_shared.toml`` (CKD-EPI, creatinine ULN, limits, variability).

    Cited numbers are returned as :class:`~pksim.parameters.Value`; ``limits`` as (low, high).
    """
    origin = "populations/_shared.toml"
    text = (
        resources.files("pksim")
        .joinpath("data", "populations", "_shared.toml")
        .read_text(encoding="utf-8")
    )
    raw = tomllib.loads(text)
    out: dict[str, Any] = {}
    for group in ("creatinine", "ckd_epi_2009", "creatinine_uln"):
        out[group] = MappingProxyType(
            {k: cited_value(v, f"{group}.{k}", origin=origin) for k, v in raw[group].items()}
        )
    out["limits"] = MappingProxyType(
        {k: (float(v[0]), float(v[1])) for k, v in raw["limits"].items()}
    )
    out["variability"] = MappingProxyType(dict(raw["variability"]))
    return MappingProxyType(out)


# --------------------------------------------------------------------------- covariates


_FLOAT_FIELDS = (
    "weight_kg",
    "age_y",
    "hematocrit_pct",
    "egfr",
    "serum_creatinine_mg_dl",
    "serum_creatinine_uln_mg_dl",
    "prednisone_mg_per_day",
)
_CODE_FIELDS = {"sex": SEXES, "cyp3a5": CYP3A5_GENOTYPES, "liver_function": LIVER_FUNCTION}


@dataclass(frozen=True, slots=True)
class Covariates:
    """Covariates of n subjects, as read-only 1-D arrays of equal length.

    Floats (NaN = unknown, allowed only where no effect uses it): ``weight_kg`` (kg),
    ``age_y`` (years), ``hematocrit_pct`` (%), ``egfr`` (mL/min/1.73 m², CKD-EPI),
    ``serum_creatinine_mg_dl`` and its upper limit of normal ``serum_creatinine_uln_mg_dl``
    (mg/dL), ``prednisone_mg_per_day`` (baseline, mg/day). Codes (int8): ``sex``
    (0 female, 1 male), ``cyp3a5`` (number of *1 alleles: 0 *3/*3, 1 *1/*3, 2 *1/*1),
    ``liver_function`` (index in :data:`LIVER_FUNCTION`). ``patient_id``: optional labels.
    """

    weight_kg: FloatArray
    sex: CodeArray
    age_y: FloatArray
    hematocrit_pct: FloatArray
    egfr: FloatArray
    serum_creatinine_mg_dl: FloatArray
    serum_creatinine_uln_mg_dl: FloatArray
    cyp3a5: CodeArray
    liver_function: CodeArray
    prednisone_mg_per_day: FloatArray
    patient_id: tuple[str, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        n = None
        for f in fields(self):
            if f.name == "patient_id":
                continue
            value = getattr(self, f.name)
            if f.name in _CODE_FIELDS:
                array = np.array(value, dtype=np.int8)
                labels = _CODE_FIELDS[f.name]
                if array.size and (array.min() < 0 or array.max() >= len(labels)):
                    raise ValueError(
                        f"{f.name} codes must be in 0..{len(labels) - 1} ({', '.join(labels)})"
                    )
            else:
                array = np.array(value, dtype=np.float64)
            if array.ndim != 1:
                raise ValueError(f"{f.name} must be 1-D, got shape {array.shape}")
            if n is None:
                n = array.shape[0]
            elif array.shape[0] != n:
                raise ValueError(f"{f.name} has {array.shape[0]} subjects, expected {n}")
            array.setflags(write=False)
            object.__setattr__(self, f.name, array)
        if self.patient_id is not None:
            ids = tuple(str(i) for i in self.patient_id)
            if len(ids) != n:
                raise ValueError(f"patient_id has {len(ids)} entries, expected {n}")
            object.__setattr__(self, "patient_id", ids)

    def __len__(self) -> int:
        return int(self.weight_kg.shape[0])

    def slice(self, start: int, stop: int) -> Covariates:
        """Subjects [start, stop)."""
        kwargs = {
            f.name: getattr(self, f.name)[start:stop]
            for f in fields(self)
            if f.name != "patient_id"
        }
        ids = None if self.patient_id is None else self.patient_id[start:stop]
        return Covariates(**kwargs, patient_id=ids)

    def labels(self, name: str) -> NDArray[np.str_]:
        """String labels of a categorical covariate (``sex``, ``cyp3a5``, ``liver_function``)."""
        if name not in _CODE_FIELDS:
            raise did_you_mean("categorical covariate", name, _CODE_FIELDS)
        return np.asarray(_CODE_FIELDS[name])[getattr(self, name)]

    def as_dict(self) -> dict[str, np.ndarray]:
        """Field name -> array (codes for categorical covariates)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "patient_id"}


def category_codes(name: str, labels: Sequence[str]) -> CodeArray:
    """Codes for labels of a categorical covariate; an unknown label names the valid ones."""
    valid = CATEGORICAL_COVARIATES.get(name)
    if valid is None:
        raise did_you_mean("categorical covariate", name, CATEGORICAL_COVARIATES)
    lookup = {label: i for i, label in enumerate(valid)}
    out = np.empty(len(labels), dtype=np.int8)
    for i, label in enumerate(labels):
        if label not in lookup:
            raise did_you_mean(f"{name} value", label, valid)
        out[i] = lookup[label]
    return out


# --------------------------------------------------------------------------- effects


def effect_factor(effect: Effect, x: ArrayLike) -> FloatArray:
    """Multiplicative factor of one covariate effect for covariate values ``x``.

    power: (x/reference)^exponent; exponential: exp(coefficient·(x - reference)/scale);
    threshold: below if x < threshold else at_or_above; emax_inhibition: 1 - Emax·x/(x + ED50);
    categorical: factor of the category whose code is x.
    """
    t = {k: v.value for k, v in effect.terms.items()}
    if effect.form == "categorical":
        table = np.array(
            [effect.factors[c].value for c in CATEGORICAL_COVARIATES[effect.covariate]]
        )
        return table[np.asarray(x, dtype=np.intp)]
    x = np.asarray(x, dtype=np.float64)
    if effect.form == "power":
        return (x / t["reference"]) ** t["exponent"]
    if effect.form == "exponential":
        return np.exp(t["coefficient"] * (x - t["reference"]) / t["scale"])
    if effect.form == "threshold":
        return np.where(x < t["threshold"], t["below"], t["at_or_above"])
    if effect.form == "emax_inhibition":
        return 1.0 - t["emax"] * x / (x + t["ed50"])
    raise ValueError(f"unknown effect form {effect.form!r}")


def _covariate(pset: ParameterSet, cov: Covariates, name: str) -> np.ndarray:
    if name in SET_LEVEL_COVARIATES:
        return np.full(len(cov), pset.fixed_covariates[name].value)
    return getattr(cov, name)


@dataclass(frozen=True, slots=True)
class PKParameters:
    """PK parameters per subject (typical or individual).

    ``cl`` L/h, ``v`` L, ``ka`` 1/h, ``tlag`` h, ``f`` relative bioavailability (1 = reference;
    includes the baseline prednisone effect).
    """

    cl: FloatArray
    v: FloatArray
    ka: FloatArray
    tlag: FloatArray
    f: FloatArray


def typical_parameters(
    pset: ParameterSet, cov: Covariates, *, exclude: Collection[str] = ()
) -> PKParameters:
    """Typical CL/F, V/F, ka, lag and F of each subject from the set's covariate effects.

    ``exclude`` names covariates whose effects are left out, e.g. ``{"liver_function"}`` when
    a time-varying liver multiplier goes on the clearance grid instead.
    """
    unknown = set(exclude) - {*CATEGORICAL_COVARIATES, *_FLOAT_FIELDS, *SET_LEVEL_COVARIATES}
    if unknown:
        raise did_you_mean(
            "covariate", sorted(unknown)[0], {*CATEGORICAL_COVARIATES, *_FLOAT_FIELDS}
        )
    n = len(cov)
    out = {}
    for parameter in ("cl", "v", "ka", "tlag", "f"):
        base = pset.typical[parameter].value if parameter != "f" else 1.0
        value = np.full(n, base)
        for effect in pset.effects_on(parameter):
            if effect.covariate in exclude:
                continue
            factor = effect_factor(effect, _covariate(pset, cov, effect.covariate))
            if not np.all(np.isfinite(factor)):
                bad = int(np.flatnonzero(~np.isfinite(factor))[0])
                raise ValueError(
                    f"parameter set {pset.name!r}: the {effect.covariate} effect on {parameter} "
                    f"is not finite for subject {bad} (covariate value "
                    f"{_covariate(pset, cov, effect.covariate)[bad]!r}); this covariate must be "
                    "known and in range for every subject"
                )
            value *= factor
        out[parameter] = value
    return PKParameters(**out)


def liver_cl_multiplier(pset: ParameterSet, liver_function: ArrayLike) -> FloatArray:
    """CL/F multiplier of each subject's liver-function code (1 when the set has no such effect)."""
    return _covariate_factor(pset, "cl", "liver_function", np.asarray(liver_function, np.int8))


def liver_cl_grid(
    pset: ParameterSet, change_times_h: ArrayLike, liver_function: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Clearance grid for liver function that changes over time.

    ``liver_function``: (n, c + 1) codes, column j holding the category in segment j of
    (-inf, t0), [t0, t1), ..., [t_{c-1}, inf). Returns ``(cl_change_times, cl_multipliers)`` for
    :func:`pksim.model.concentrations_general`, the multipliers *relative to segment 0*: use
    them with a CL/F that already includes the segment-0 category (the subject's covariate).
    """
    times = np.asarray(change_times_h, dtype=np.float64)
    codes = np.asarray(liver_function, dtype=np.int8)
    if times.ndim != 1 or np.any(np.diff(times) <= 0) or not np.all(np.isfinite(times)):
        raise ValueError("change_times_h must be a 1-D strictly increasing array of finite hours")
    if codes.ndim != 2 or codes.shape[1] != times.size + 1:
        raise ValueError(
            f"liver_function must have shape (n, {times.size + 1}) for "
            f"{times.size} change times, got {codes.shape}"
        )
    if codes.size and (codes.min() < 0 or codes.max() >= len(LIVER_FUNCTION)):
        raise ValueError(
            f"liver_function codes must be in 0..{len(LIVER_FUNCTION) - 1} "
            f"({', '.join(LIVER_FUNCTION)})"
        )
    factors = liver_cl_multiplier(pset, codes)
    return times, factors / factors[:, :1]


# --------------------------------------------------------------------------- prednisone


@dataclass(frozen=True, slots=True)
class PrednisoneTaper:
    """Stepwise prednisone taper, starting from each subject's baseline dose.

    From day ``first_step_day`` on, the daily dose drops by ``step_mg`` every ``every_days``
    days until it reaches ``floor_mg`` (it never rises: a baseline at or below the floor stays).
    ``step_mg = 0`` means a constant dose. Days count from the first tacrolimus dose (day 0).
    """

    step_mg: float = 0.0
    every_days: float = 7.0
    first_step_day: float = 7.0
    floor_mg: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "step_mg": self.step_mg >= 0,
            "every_days": self.every_days > 0,
            "first_step_day": self.first_step_day >= 0,
            "floor_mg": self.floor_mg >= 0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not (ok and math.isfinite(value)):
                rule = "> 0" if name == "every_days" else ">= 0"
                raise ValueError(
                    f"prednisone taper {name} must be finite and {rule}, got {value!r}"
                )


def prednisone_mg_per_day_at(
    baseline_mg: ArrayLike, taper: PrednisoneTaper | None, times_h: ArrayLike
) -> FloatArray:
    """Daily prednisone dose (mg/day) in effect at ``times_h`` ((n|1, m) h; NaN kept as NaN)."""
    p0 = np.asarray(baseline_mg, dtype=np.float64)[:, None]
    t = np.asarray(times_h, dtype=np.float64)
    if t.ndim != 2:
        raise ValueError(f"times_h must be 2-D (subjects|1, times), got shape {t.shape}")
    if taper is None or taper.step_mg == 0:
        return np.where(
            np.isnan(t), np.nan, np.broadcast_to(p0, np.broadcast_shapes(p0.shape, t.shape))
        )
    day = np.floor(t / HOURS_PER_DAY)
    steps = np.where(
        day < taper.first_step_day,
        0.0,
        np.floor((day - taper.first_step_day) / taper.every_days) + 1.0,
    )
    tapered = np.maximum(taper.floor_mg, p0 - taper.step_mg * steps)
    return np.where(p0 > taper.floor_mg, tapered, p0 + 0.0 * t)


def prednisone_f_factor(pset: ParameterSet, prednisone_mg_per_day: ArrayLike) -> FloatArray:
    """Relative F of the set's prednisone effect(s) at the given daily doses (1 if none)."""
    x = np.asarray(prednisone_mg_per_day, dtype=np.float64)
    return _covariate_factor(pset, "f", "prednisone_mg_per_day", x)


def _covariate_factor(
    pset: ParameterSet, parameter: str, covariate: str, values: np.ndarray
) -> FloatArray:
    """Product of the set's effects of ``covariate`` on ``parameter`` (1 where there are none)."""
    out = np.ones(values.shape)
    for effect in pset.effects_on(parameter):
        if effect.covariate == covariate:
            out = out * effect_factor(effect, values)
    return out


def prednisone_f_multipliers(
    pset: ParameterSet,
    baseline_mg: ArrayLike,
    taper: PrednisoneTaper | None,
    dose_times_h: ArrayLike,
) -> FloatArray:
    """Per-dose F multipliers (n, m) for a prednisone taper, *relative to the baseline dose*.

    :func:`typical_parameters` already puts the baseline prednisone effect into ``f``; these
    multipliers (F at the dose's prednisone dose / F at baseline) go into ``dose_f`` of
    :func:`pksim.model.concentrations_general`. NaN dose times (padding) get 1.
    """
    times = np.asarray(dose_times_h, dtype=np.float64)
    base = np.asarray(baseline_mg, dtype=np.float64)
    mg = prednisone_mg_per_day_at(base, taper, times)
    ratio = prednisone_f_factor(pset, mg) / prednisone_f_factor(pset, base)[:, None]
    return np.where(np.isnan(times), 1.0, ratio)


# --------------------------------------------------------------------------- renal function


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
    """eGFR (mL/min/1.73 m²) by the CKD-EPI 2009 creatinine equation (non-Black)."""
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
