"""Covariate effects: typical CL/F, V/F, ka, lag and F (and Q/F, V2/F of a two-compartment set)
of each subject from a parameter set, and the inputs a structural model takes from them.

Every effect is multiplicative (:func:`effect_factor`); a subject's typical value of a
parameter is the set's typical value times the product of the effects on it. Units: CL/F L/h,
V/F L, ka 1/h, lag h, F relative (1 = reference), Q/F L/h, V2/F L. Everything is vectorised
over subjects.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.cohort.covariates import Covariates
from pksim.errors import unknown_name
from pksim.library import covariates as registry
from pksim.library.parameters import (
    CATEGORICAL_COVARIATES,
    SET_LEVEL_COVARIATES,
    Effect,
    ParameterSet,
)

__all__ = [
    "PKParameters",
    "covariate_factor",
    "effect_factor",
    "missing_effect_covariates",
    "structural_inputs",
    "typical_parameters",
]

FloatArray = NDArray[np.float64]


def effect_factor(effect: Effect, x: ArrayLike) -> FloatArray:
    """Multiplicative factor of one covariate effect for covariate values ``x``.

    power: (x/reference)^exponent; exponential: exp(coefficient·(x - reference)/scale);
    linear: 1 + coefficient·(x - reference)/scale (must stay > 0 for the subjects given);
    threshold: below if x < threshold else at_or_above; emax_inhibition: 1 - Emax·x/(x + ED50);
    categorical: factor of the category whose code is x (an unknown code is refused).
    """
    t = {k: v.value for k, v in effect.terms.items()}
    if effect.form == "categorical":
        categories = CATEGORICAL_COVARIATES[effect.covariate]
        table = np.array([effect.factors[c].value for c in categories])
        codes = np.asarray(x, dtype=np.intp)
        if codes.size and codes.min() < 0:
            raise ValueError(
                f"the {effect.covariate} effect on {effect.parameter} needs a known category "
                f"({', '.join(categories)}); impute unknown values first"
            )
        return table[codes]
    x = np.asarray(x, dtype=np.float64)
    if effect.form == "power":
        return (x / t["reference"]) ** t["exponent"]
    if effect.form == "exponential":
        return np.exp(t["coefficient"] * (x - t["reference"]) / t["scale"])
    if effect.form == "linear":
        return 1.0 + t["coefficient"] * (x - t["reference"]) / t["scale"]
    if effect.form == "threshold":
        return np.where(x < t["threshold"], t["below"], t["at_or_above"])
    if effect.form == "emax_inhibition":
        return 1.0 - t["emax"] * x / (x + t["ed50"])
    raise ValueError(f"unknown effect form {effect.form!r}")


def covariate_factor(
    pset: ParameterSet, parameter: str, covariate: str, values: ArrayLike
) -> FloatArray:
    """Product of the set's effects of ``covariate`` on ``parameter`` at ``values`` (1 where the
    set has none); any shape."""
    values = np.asarray(values)
    out = np.ones(values.shape)
    for effect in pset.effects_on(parameter):
        if effect.covariate == covariate:
            out = out * effect_factor(effect, values)
    return out


def _covariate(pset: ParameterSet, cov: Covariates, name: str) -> np.ndarray:
    if name in SET_LEVEL_COVARIATES:
        return np.full(len(cov), pset.fixed_covariates[name].value)
    return cov[name]


@dataclass(frozen=True, slots=True)
class PKParameters:
    """PK parameters per subject (typical or individual).

    ``cl`` L/h, ``v`` L (V/F; the central V1/F of a two-compartment set), ``ka`` 1/h, ``tlag``
    h, ``f`` relative bioavailability (1 = reference; includes the baseline prednisone effect);
    ``q`` L/h and ``v2`` L (Q/F, V2/F) only for a set whose structural model has them, else None.
    """

    cl: FloatArray
    v: FloatArray
    ka: FloatArray
    tlag: FloatArray
    f: FloatArray
    q: FloatArray | None = None
    v2: FloatArray | None = None


def structural_inputs(pk: PKParameters, *, cl: ArrayLike, ka: ArrayLike) -> dict[str, ArrayLike]:
    """The individual parameters a structural model takes by name
    (:meth:`pksim.model.structural.StructuralModel.simulate`), from ``pk`` with the run's
    clearance ``cl`` (L/h, e.g. times the liver multiplier) and absorption rates ``ka``
    ((n,) or (n, K) 1/h, one column per absorption class). A two-compartment set adds ``v1``
    (= ``v``, L), ``q`` (L/h) and ``v2`` (L)."""
    inputs: dict[str, ArrayLike] = {"cl": cl, "v": pk.v, "ka": ka, "tlag": pk.tlag, "f": pk.f}
    if pk.q is not None and pk.v2 is not None:
        inputs.update(v1=pk.v, q=pk.q, v2=pk.v2)
    return inputs


def typical_parameters(
    pset: ParameterSet, cov: Covariates, *, exclude: Collection[str] = ()
) -> PKParameters:
    """Typical CL/F, V/F, ka, lag and F of each subject from the set's covariate effects.

    ``exclude`` names covariates whose effects are left out, e.g. ``{"liver_function"}`` when
    a time-varying liver multiplier goes on the clearance grid instead.
    """
    usable = {c.name for c in registry.effect_covariates()}
    unknown = sorted(set(exclude) - usable)
    if unknown:
        raise ValueError(unknown_name("covariate", unknown[0], usable))
    n = len(cov)
    out = {}
    for parameter in pset.pk_parameters:
        base = pset.typical[parameter].value if parameter != "f" else 1.0
        value = np.full(n, base)
        for effect in pset.effects_on(parameter):
            if effect.covariate in exclude:
                continue
            factor = effect_factor(effect, _covariate(pset, cov, effect.covariate))
            if not np.all(np.isfinite(factor) & (factor > 0)):
                bad = int(np.flatnonzero(~(np.isfinite(factor) & (factor > 0)))[0])
                raise ValueError(
                    f"parameter set {pset.name!r}: the {effect.covariate} effect on {parameter} "
                    f"is not a finite positive factor for subject {bad} (covariate value "
                    f"{_covariate(pset, cov, effect.covariate)[bad]!r}); this covariate must be "
                    "known and in range for every subject"
                )
            value *= factor
        out[parameter] = value
    return PKParameters(**out)


def missing_effect_covariates(pset: ParameterSet, cov: Covariates) -> list[tuple[int, str, str]]:
    """(subject, covariate, parameter) of the first subject whose value an effect of ``pset``
    cannot use: unknown (and not imputable) or giving a non-finite or non-positive factor; one
    per effect."""
    out = []
    for effect in pset.effects:
        name = effect.covariate
        if name in SET_LEVEL_COVARIATES:
            continue
        covariate = registry.get(name)
        unknown = cov.unknown(name)
        if covariate.imputable:
            bad = np.zeros(len(cov), dtype=bool)
        elif covariate.kind == registry.CATEGORICAL:
            bad = unknown
        else:
            with np.errstate(all="ignore"):
                factor = effect_factor(effect, cov[name])
                bad = unknown | ~(np.isfinite(factor) & (factor > 0))
        if bad.any():
            out.append((int(np.flatnonzero(bad)[0]), name, effect.parameter))
    return out
