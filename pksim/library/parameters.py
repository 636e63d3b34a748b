"""Cited tacrolimus parameter sets (``pksim/data/parameters/*.toml``): listed, read, checked.

A parameter set (:class:`~pksim.library.parameter_set.ParameterSet`) is one published (or
derived) one-compartment population model. Every number carries its units, its source keys
(resolved in ``pksim/data/references.toml``) and an evidence tag: ``V`` verified in a source
that was read, ``I`` seen only in a third-party implementation, ``M`` recalled and not verified,
``D`` derived. Overrides: :mod:`pksim.library.parameter_overrides`.

The covariate *math* lives in :mod:`pksim.cohort.effects`, the covariates themselves in the
registry :mod:`pksim.library.covariates`; this module only loads, validates and describes the
data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np

from pksim.errors import unknown_name
from pksim.library import covariates as registry
from pksim.library.cited import (
    EVIDENCE_TAGS,
    Cited,
    Reference,
    data_folder,
    load_references,
    read_cited,
    read_data,
)
from pksim.library.parameter_overrides import override_parameter_set
from pksim.library.parameter_set import (
    DEFAULT_STRUCTURAL_MODEL,
    IOV_KEYS,
    MODEL_TYPICAL_UNITS,
    NOT_POSITIVE_DEFINITE,
    PK_PARAMETERS,
    RESIDUAL_UNITS,
    TYPICAL_UNITS,
    Effect,
    ParameterSet,
    own_parameters,
)

__all__ = [
    "CATEGORICAL_COVARIATES",
    "DEFAULT_STRUCTURAL_MODEL",
    "EVIDENCE_TAGS",
    "MODEL_TYPICAL_UNITS",
    "NUMERIC_COVARIATES",
    "PK_PARAMETERS",
    "RESIDUAL_UNITS",
    "TYPICAL_UNITS",
    "Effect",
    "ParameterSet",
    "Reference",
    "cited_value",
    "list_parameter_sets",
    "load_parameter_set",
    "load_references",
    "override_parameter_set",
    "parameter_set_from_dict",
    "typical_units",
]

NUMERIC_COVARIATES: Mapping[str, str] = MappingProxyType(
    {c.name: c.units for c in registry.effect_covariates() if c.kind == registry.NUMERIC}
)
"""Continuous covariates an effect may use, with their units (from the covariate registry)."""

CATEGORICAL_COVARIATES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {c.name: c.categories for c in registry.effect_covariates() if c.kind == registry.CATEGORICAL}
)
"""Categorical covariates and their categories; a subject's code is the index in the tuple."""

SET_LEVEL_COVARIATES: frozenset[str] = frozenset(
    c.name for c in registry.effect_covariates() if c.origin == registry.PARAMETER_SET
)
"""Covariates that subjects do not carry: a set using one must fix its value."""

_EFFECT_TERMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "power": ("reference", "exponent"),
        "exponential": ("coefficient", "reference", "scale"),
        "linear": ("coefficient", "reference", "scale"),
        "threshold": ("threshold", "below", "at_or_above"),
        "emax_inhibition": ("emax", "ed50"),
        "categorical": (),
    }
)
"""Effect forms and their terms (see :func:`pksim.covariates.effect_factor` for the formulas)."""

_TERMS_IN_COVARIATE_UNITS = frozenset({"reference", "threshold", "ed50", "scale"})
_IIV_UNITS = ("%CV", "omega2")


def typical_units(structural_model: str) -> Mapping[str, str]:
    """Typical values a set of ``structural_model`` gives, with their units: every set's
    :data:`TYPICAL_UNITS` plus the model's own (:data:`MODEL_TYPICAL_UNITS`, e.g. Q/F and V2/F
    of ``two-compartment-oral-lag``)."""
    from pksim.model import structural  # lazily: the numba kernels load only when needed

    own = structural.structural_model(structural_model).parameter_names
    return MappingProxyType(
        {**TYPICAL_UNITS, **{k: u for k, u in MODEL_TYPICAL_UNITS.items() if k in own}}
    )


def list_parameter_sets() -> list[str]:
    """Names of the bundled parameter sets."""
    folder = data_folder("parameters")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


@cache
def load_parameter_set(name: str) -> ParameterSet:
    """The bundled parameter set ``name`` (case-insensitive); unknown names list the valid ones."""
    valid = list_parameter_sets()
    match = {n.lower(): n for n in valid}.get(str(name).lower())
    if match is None:
        raise ValueError(unknown_name("parameter set", name, valid))
    data = read_data("parameters", f"{match}.toml")
    return parameter_set_from_dict(data, origin=f"parameters/{match}.toml")


class _Checker:
    """Validation context, so that every message names the file and the key."""

    def __init__(self, origin: str):
        self.origin = origin

    def fail(self, where: str, message: str) -> ValueError:
        return ValueError(f"{self.origin}: {where}: {message}")

    def table(self, data: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(where, f"expected a table, got {type(data).__name__}")
        return data

    def value(self, data: Any, where: str, units: str | tuple[str, ...] | None) -> Cited:
        return read_cited(data, f"{self.origin}: {where}", units)

    def keys(self, data: Mapping[str, Any], where: str, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                raise self.fail(where, unknown_name("key", key, allowed))


def cited_value(
    data: Mapping[str, Any], where: str, *, origin: str, units: str | tuple[str, ...] | None = None
) -> Cited:
    """One cited-value table of a data file (:func:`pksim.library.cited.read_cited`)."""
    return read_cited(data, f"{origin}: {where}", units)


def parameter_set_from_dict(data: Mapping[str, Any], *, origin: str = "<dict>") -> ParameterSet:
    """Validate a parameter-set mapping (the parsed TOML) into a :class:`ParameterSet`."""
    check = _Checker(origin)
    top = check.table(data, "top level")
    check.keys(
        top,
        "top level",
        (
            "name",
            "title",
            "description",
            "population",
            "evidence",
            "structural_model",
            "typical",
            "effects",
            "iiv",
            "iiv_correlation",
            "iov",
            "residual",
            "fixed_covariates",
        ),
    )
    for key in ("name", "title", "population", "evidence", "typical"):
        if key not in top:
            raise check.fail("top level", f"missing {key!r}")
    if top["evidence"] not in EVIDENCE_TAGS:
        raise check.fail("evidence", f"must be one of {sorted(EVIDENCE_TAGS)}")
    structural_model = top.get("structural_model", DEFAULT_STRUCTURAL_MODEL)
    if not isinstance(structural_model, str) or not structural_model:
        raise check.fail(
            "structural_model",
            f"must be the name of a structural model (a string, default "
            f"{DEFAULT_STRUCTURAL_MODEL!r}), got {structural_model!r}",
        )
    from pksim.model import structural  # lazily: the numba kernels load only when needed

    try:
        structural.structural_model(structural_model)
    except ValueError as error:
        raise check.fail("structural_model", str(error)) from None

    needed = typical_units(structural_model)
    typical_in = check.table(top["typical"], "typical")
    check.keys(typical_in, f"typical (structural model {structural_model!r})", needed)
    typical = {}
    for key, units in needed.items():
        if key not in typical_in:
            raise check.fail(
                "typical",
                f"missing {key!r}; a {structural_model!r} set gives {list(needed)}",
            )
        typical[key] = check.value(typical_in[key], f"typical.{key}", units)
        lower_ok = typical[key].value >= 0 if key == "tlag" else typical[key].value > 0
        if not lower_ok:
            raise check.fail(f"typical.{key}", "must be > 0 (tlag >= 0)")

    fixed_in = check.table(top.get("fixed_covariates", {}), "fixed_covariates")
    check.keys(fixed_in, "fixed_covariates", SET_LEVEL_COVARIATES)
    fixed = {
        k: check.value(v, f"fixed_covariates.{k}", NUMERIC_COVARIATES[k])
        for k, v in fixed_in.items()
    }

    effects_in = top.get("effects", [])
    if not isinstance(effects_in, list):
        raise check.fail("effects", "expected an array of tables ([[effects]])")
    effects = tuple(
        _effect(check, e, f"effects[{i}]", fixed, own_parameters(typical))
        for i, e in enumerate(effects_in)
    )

    own = own_parameters(typical)
    iiv_in = check.table(top.get("iiv", {}), "iiv")
    check.keys(iiv_in, "iiv", own)
    iiv = {k: check.value(iiv_in[k], f"iiv.{k}", _IIV_UNITS) for k in own if k in iiv_in}
    for k, v in iiv.items():
        if v.value < 0:
            raise check.fail(f"iiv.{k}", "must be >= 0")

    corr_in = check.table(top.get("iiv_correlation", {}), "iiv_correlation")
    corr = {}
    for key, raw in corr_in.items():
        pair = tuple(p.strip() for p in key.split(","))
        if len(pair) != 2 or pair[0] == pair[1] or not all(p in iiv for p in pair):
            raise check.fail(
                f"iiv_correlation.{key}",
                f"key must be 'a,b' with two different parameters that have IIV ({sorted(iiv)})",
            )
        value = check.value(raw, f"iiv_correlation.{key}", "1")
        if not -1 < value.value < 1:
            raise check.fail(f"iiv_correlation.{key}", "must be strictly between -1 and 1")
        corr[tuple(sorted(pair, key=PK_PARAMETERS.index))] = value

    iov_in = check.table(top.get("iov", {}), "iov")
    check.keys(iov_in, "iov", IOV_KEYS)
    iov = {k: check.value(v, f"iov.{k}", _IIV_UNITS) for k, v in iov_in.items()}
    for k, v in iov.items():
        if v.value < 0:
            raise check.fail(f"iov.{k}", "must be >= 0")

    res_in = check.table(top.get("residual", {}), "residual")
    check.keys(res_in, "residual", RESIDUAL_UNITS)
    residual = {k: check.value(v, f"residual.{k}", RESIDUAL_UNITS[k]) for k, v in res_in.items()}
    for k, v in residual.items():
        if v.value < 0:
            raise check.fail(f"residual.{k}", "must be >= 0")

    pset = ParameterSet(
        name=str(top["name"]),
        title=str(top["title"]),
        description=str(top.get("description", "")).strip(),
        population=str(top["population"]),
        evidence=top["evidence"],
        typical=MappingProxyType(typical),
        effects=effects,
        iiv=MappingProxyType(iiv),
        iiv_correlation=MappingProxyType(corr),
        iov=MappingProxyType(iov),
        residual=MappingProxyType(residual),
        fixed_covariates=MappingProxyType(fixed),
        citations=MappingProxyType({}),
        structural_model=structural_model,
    )
    _check_positive_definite(check, pset)
    refs = load_references()
    return replace(
        pset, citations=MappingProxyType({k: refs[k].citation for k in pset.source_keys})
    )


def _effect(
    check: _Checker,
    raw: Any,
    where: str,
    fixed: Mapping[str, Cited],
    own: tuple[str, ...] = PK_PARAMETERS,
) -> Effect:
    raw = check.table(raw, where)
    for key in ("parameter", "covariate", "form"):
        if key not in raw:
            raise check.fail(where, f"missing {key!r}")
    parameter, covariate, form = raw["parameter"], raw["covariate"], raw["form"]
    if parameter not in own:
        raise check.fail(f"{where}.parameter", unknown_name("PK parameter", parameter, own))
    if form not in _EFFECT_TERMS:
        raise check.fail(f"{where}.form", unknown_name("effect form", form, _EFFECT_TERMS))
    known = {*NUMERIC_COVARIATES, *CATEGORICAL_COVARIATES}
    if covariate not in known:
        raise check.fail(f"{where}.covariate", unknown_name("covariate", covariate, known))
    if (form == "categorical") != (covariate in CATEGORICAL_COVARIATES):
        raise check.fail(
            where,
            f"form {form!r} does not fit covariate {covariate!r}: categorical "
            f"covariates {sorted(CATEGORICAL_COVARIATES)} need form "
            "'categorical' and only they may use it",
        )
    if covariate in SET_LEVEL_COVARIATES and covariate not in fixed:
        raise check.fail(
            where,
            f"covariate {covariate!r} is not carried by subjects: give its "
            f"value in [fixed_covariates.{covariate}]",
        )
    terms_needed = _EFFECT_TERMS[form]
    check.keys(
        raw,
        where,
        (
            "parameter",
            "covariate",
            "form",
            "description",
            *terms_needed,
            *(("factors",) if form == "categorical" else ()),
        ),
    )
    terms = {}
    for term in terms_needed:
        if term not in raw:
            raise check.fail(where, f"form {form!r} needs {list(terms_needed)}; missing {term!r}")
        units = NUMERIC_COVARIATES[covariate] if term in _TERMS_IN_COVARIATE_UNITS else "1"
        terms[term] = check.value(raw[term], f"{where}.{term}", units)
    factors = {}
    if form == "categorical":
        categories = CATEGORICAL_COVARIATES[covariate]
        table = check.table(raw.get("factors", {}), f"{where}.factors")
        check.keys(table, f"{where}.factors", categories)
        for category in categories:
            if category not in table:
                raise check.fail(
                    f"{where}.factors",
                    f"missing category {category!r}; give all of {list(categories)}",
                )
            factors[category] = check.value(table[category], f"{where}.factors.{category}", "1")
    _check_effect_ranges(check, where, form, terms, factors)
    return Effect(
        parameter,
        covariate,
        form,
        MappingProxyType(terms),
        MappingProxyType(factors),
        str(raw.get("description", "")),
    )


def _check_effect_ranges(
    check: _Checker, where: str, form: str, terms: Mapping[str, Cited], factors: Mapping[str, Cited]
) -> None:
    positive = {
        "power": ("reference",),
        "threshold": ("below", "at_or_above"),
        "emax_inhibition": ("ed50",),
    }.get(form, ())
    for term in positive:
        if terms[term].value <= 0:
            raise check.fail(f"{where}.{term}", "must be > 0")
    if form in ("exponential", "linear") and terms["scale"].value == 0:
        raise check.fail(f"{where}.scale", "must not be 0")
    if form == "emax_inhibition" and not 0 <= terms["emax"].value < 1:
        raise check.fail(f"{where}.emax", "must be in [0, 1) so that F stays positive")
    for category, value in factors.items():
        if value.value <= 0:
            raise check.fail(f"{where}.factors.{category}", "must be > 0")


def _check_positive_definite(check: _Checker, pset: ParameterSet) -> None:
    names, cov = pset.iiv_covariance()
    if names and np.any(np.linalg.eigvalsh(cov) < 0):
        raise check.fail("iiv_correlation", NOT_POSITIVE_DEFINITE)
