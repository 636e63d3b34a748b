"""Cited tacrolimus parameter sets (``pksim/data/parameters/*.toml``) and the bibliography.

A parameter set is one published (or derived) one-compartment population model: typical
CL/F (L/h), V/F (L), ka (1/h) and lag (h) for a reference patient, multiplicative covariate
effects, between-subject variability (IIV, log-normal with a full covariance matrix),
between-occasion variability (IOV, on F) and residual error. Every number carries its units,
its source keys (resolved in ``pksim/data/references.toml``) and an evidence tag:
``V`` verified in a source that was read, ``I`` seen only in a third-party implementation,
``M`` recalled and not verified, ``D`` derived.

The covariate *math* lives in :mod:`pksim.cohort.effects`, the covariates themselves in the
registry :mod:`pksim.library.covariates`; this module only loads, validates and describes the
data.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np

from pksim.library import covariates as registry

__all__ = [
    "CATEGORICAL_COVARIATES",
    "EVIDENCE_TAGS",
    "NUMERIC_COVARIATES",
    "PK_PARAMETERS",
    "Effect",
    "ParameterSet",
    "Reference",
    "Value",
    "cited_value",
    "did_you_mean",
    "list_parameter_sets",
    "load_parameter_set",
    "load_references",
    "override_parameter_set",
    "parameter_set_from_dict",
]

EVIDENCE_TAGS: Mapping[str, str] = MappingProxyType(
    {
        "V": "verified in a source that was read",
        "I": "seen only in a third-party implementation of the published model",
        "M": "recalled, not verified",
        "D": "derived (calculation or judgement)",
    }
)

PK_PARAMETERS: tuple[str, ...] = ("cl", "v", "ka", "tlag", "f")
"""Individual PK parameters, in the fixed order used for IIV draws."""

TYPICAL_UNITS: Mapping[str, str] = MappingProxyType(
    {"cl": "L/h", "v": "L", "ka": "1/h", "tlag": "h"}
)
"""Typical values every set must give, with their only accepted units (F is 1 by definition)."""

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
        "threshold": ("threshold", "below", "at_or_above"),
        "emax_inhibition": ("emax", "ed50"),
        "categorical": (),
    }
)
"""Effect forms and their terms (see :func:`pksim.covariates.effect_factor` for the formulas)."""

_TERMS_IN_COVARIATE_UNITS = frozenset({"reference", "threshold", "ed50", "scale"})
_IIV_UNITS = ("%CV", "omega2")
_RESIDUAL_UNITS: Mapping[str, str] = MappingProxyType({"proportional": "%", "additive": "ng/mL"})
_PERCENT = 100.0


def did_you_mean(kind: str, name: object, valid: Iterable[str]) -> ValueError:
    """A ValueError for an unknown name, with the closest valid names and the full list."""
    valid = sorted(valid)
    close = difflib.get_close_matches(str(name), valid, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"unknown {kind} {name!r}.{hint} Valid: {', '.join(valid)}")


@dataclass(frozen=True, slots=True)
class Reference:
    """One bibliography entry of ``references.toml``."""

    key: str
    citation: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Value:
    """One cited number: value, units, source keys, evidence tag and an optional note."""

    value: float
    units: str
    sources: tuple[str, ...]
    evidence: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Effect:
    """A multiplicative covariate effect on one PK parameter (data only).

    ``terms`` holds the form's named numbers (e.g. ``reference`` and ``exponent`` of a power
    effect); ``factors`` holds one factor per category for the ``categorical`` form.
    """

    parameter: str
    covariate: str
    form: str
    terms: Mapping[str, Value] = field(default_factory=lambda: MappingProxyType({}))
    factors: Mapping[str, Value] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""

    def values(self) -> tuple[Value, ...]:
        """Every cited number of the effect."""
        return (*self.terms.values(), *self.factors.values())


@dataclass(frozen=True, slots=True)
class ParameterSet:
    """A validated, immutable parameter set. Load one with :func:`load_parameter_set`."""

    name: str
    title: str
    description: str
    population: str
    evidence: str
    typical: Mapping[str, Value]
    effects: tuple[Effect, ...]
    iiv: Mapping[str, Value]
    iiv_correlation: Mapping[tuple[str, str], Value]
    iov: Mapping[str, Value]
    residual: Mapping[str, Value]
    fixed_covariates: Mapping[str, Value]
    citations: Mapping[str, str]

    def all_values(self) -> tuple[Value, ...]:
        """Every cited number in the set."""
        groups = (
            self.typical,
            self.iiv,
            self.iiv_correlation,
            self.iov,
            self.residual,
            self.fixed_covariates,
        )
        out = [v for g in groups for v in g.values()]
        for effect in self.effects:
            out.extend(effect.values())
        return tuple(out)

    @property
    def source_keys(self) -> tuple[str, ...]:
        """Sorted bibliography keys used by the set."""
        return tuple(sorted({s for v in self.all_values() for s in v.sources}))

    @property
    def references(self) -> tuple[str, ...]:
        """Citation strings of every source the set uses (sorted by key)."""
        return tuple(self.citations[k] for k in self.source_keys)

    def effects_on(self, parameter: str) -> tuple[Effect, ...]:
        """The covariate effects acting on ``parameter``."""
        return tuple(e for e in self.effects if e.parameter == parameter)

    def iiv_covariance(self) -> tuple[tuple[str, ...], np.ndarray]:
        """IIV parameter names (in :data:`PK_PARAMETERS` order) and the covariance matrix of
        the log-scale random effects (omega, dimensionless)."""
        names = tuple(p for p in PK_PARAMETERS if p in self.iiv)
        sd = np.array([_omega_sd(self.iiv[p]) for p in names])
        corr = np.eye(len(names))
        for (a, b), value in self.iiv_correlation.items():
            i, j = names.index(a), names.index(b)
            corr[i, j] = corr[j, i] = value.value
        return names, corr * np.outer(sd, sd)

    @property
    def iov_f_sd(self) -> float:
        """Standard deviation of the log-scale occasion effect on F (0 when absent)."""
        return _omega_sd(self.iov["f"]) if "f" in self.iov else 0.0

    @property
    def residual_proportional(self) -> float:
        """Proportional residual error SD as a fraction (0.2 = 20 %)."""
        v = self.residual.get("proportional")
        return v.value / _PERCENT if v is not None else 0.0

    @property
    def residual_additive(self) -> float:
        """Additive residual error SD in ng/mL."""
        v = self.residual.get("additive")
        return v.value if v is not None else 0.0

    def describe(self) -> str:
        """Human-readable summary with every value, its units, sources and evidence."""
        lines = [f"{self.name}: {self.title} [{self.evidence}]", f"  population: {self.population}"]
        for key, v in self.typical.items():
            sources = ", ".join(v.sources)
            lines.append(f"  {key} = {v.value:g} {v.units}  ({sources}) [{v.evidence}]")
        for e in self.effects:
            parts = [f"{k}={v.value:g}" for k, v in (*e.terms.items(), *e.factors.items())]
            lines.append(f"  {e.parameter} ~ {e.covariate} ({e.form}): {', '.join(parts)}")
        for group, label in ((self.iiv, "IIV"), (self.iov, "IOV"), (self.residual, "residual")):
            for key, v in group.items():
                lines.append(f"  {label} {key} = {v.value:g} {v.units} [{v.evidence}]")
        lines.append("  references:")
        lines.extend(f"    [{k}] {self.citations[k]}" for k in self.source_keys)
        return "\n".join(lines)


def _omega_sd(value: Value) -> float:
    """Log-scale SD from a %CV (omega^2 = ln(1 + CV^2)) or from a variance omega^2."""
    if value.units == "%CV":
        return math.sqrt(math.log1p((value.value / _PERCENT) ** 2))
    return math.sqrt(value.value)


# --------------------------------------------------------------------------- loading


def _data_dir(*parts: str):
    return resources.files("pksim").joinpath("data", *parts)


@cache
def load_references() -> Mapping[str, Reference]:
    """Bibliography of ``pksim/data/references.toml``: key -> :class:`Reference`."""
    data = tomllib.loads(_data_dir("references.toml").read_text(encoding="utf-8"))
    out = {}
    for key, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("citation"), str):
            raise ValueError(f"references.toml: [{key}] needs a 'citation' string")
        out[key] = Reference(key, entry["citation"], entry.get("note", ""))
    return MappingProxyType(out)


def list_parameter_sets() -> list[str]:
    """Names of the bundled parameter sets."""
    folder = _data_dir("parameters")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


@cache
def load_parameter_set(name: str) -> ParameterSet:
    """The bundled parameter set ``name`` (case-insensitive); unknown names list the valid ones."""
    valid = list_parameter_sets()
    match = {n.lower(): n for n in valid}.get(str(name).lower())
    if match is None:
        raise did_you_mean("parameter set", name, valid)
    text = _data_dir("parameters", f"{match}.toml").read_text(encoding="utf-8")
    return parameter_set_from_dict(tomllib.loads(text), origin=f"parameters/{match}.toml")


class _Checker:
    """Collects validation context so that every message names the file and the key."""

    def __init__(self, origin: str, references: Mapping[str, Reference]):
        self.origin = origin
        self.references = references

    def fail(self, where: str, message: str) -> ValueError:
        return ValueError(f"{self.origin}: {where}: {message}")

    def table(self, data: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(where, f"expected a table, got {type(data).__name__}")
        return data

    def value(self, data: Any, where: str, units: str | tuple[str, ...] | None) -> Value:
        data = self.table(data, where)
        allowed = {"value", "units", "source", "evidence", "note"}
        extra = set(data) - allowed
        if extra:
            raise self.fail(where, f"unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
        for key in ("value", "units", "evidence"):
            if key not in data:
                raise self.fail(where, f"missing {key!r}")
        number = data["value"]
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
        ):
            raise self.fail(where, f"'value' must be a finite number, got {number!r}")
        if units is not None:
            options = (units,) if isinstance(units, str) else units
            if data["units"] not in options:
                raise self.fail(
                    where, f"units must be {' or '.join(map(repr, options))}, got {data['units']!r}"
                )
        evidence = data["evidence"]
        if evidence not in EVIDENCE_TAGS:
            raise self.fail(
                where, f"evidence must be one of {sorted(EVIDENCE_TAGS)}, got {evidence!r}"
            )
        sources = data.get("source", ())
        sources = (sources,) if isinstance(sources, str) else tuple(sources)
        if not sources:
            raise self.fail(where, "missing 'source' (a key of references.toml, or a list)")
        for s in sources:
            if s not in self.references:
                raise self.fail(where, str(did_you_mean("source key", s, self.references)))
        return Value(float(number), str(data["units"]), sources, evidence, data.get("note", ""))

    def keys(self, data: Mapping[str, Any], where: str, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for key in data:
            if key not in allowed:
                raise self.fail(where, str(did_you_mean("key", key, allowed)))


def cited_value(
    data: Mapping[str, Any], where: str, *, origin: str, units: str | tuple[str, ...] | None = None
) -> Value:
    """Validate one ``{value, units, source, evidence, note}`` table from a data file."""
    return _Checker(origin, load_references()).value(data, where, units)


def parameter_set_from_dict(data: Mapping[str, Any], *, origin: str = "<dict>") -> ParameterSet:
    """Validate a parameter-set mapping (the parsed TOML) into a :class:`ParameterSet`."""
    check = _Checker(origin, load_references())
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

    typical_in = check.table(top["typical"], "typical")
    check.keys(typical_in, "typical", TYPICAL_UNITS)
    typical = {}
    for key, units in TYPICAL_UNITS.items():
        if key not in typical_in:
            raise check.fail("typical", f"missing {key!r}; a set gives {list(TYPICAL_UNITS)}")
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
    effects = tuple(_effect(check, e, f"effects[{i}]", fixed) for i, e in enumerate(effects_in))

    iiv_in = check.table(top.get("iiv", {}), "iiv")
    check.keys(iiv_in, "iiv", PK_PARAMETERS)
    iiv = {k: check.value(iiv_in[k], f"iiv.{k}", _IIV_UNITS) for k in PK_PARAMETERS if k in iiv_in}
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
    check.keys(iov_in, "iov", ("f",))
    iov = {k: check.value(v, f"iov.{k}", _IIV_UNITS) for k, v in iov_in.items()}

    res_in = check.table(top.get("residual", {}), "residual")
    check.keys(res_in, "residual", _RESIDUAL_UNITS)
    residual = {k: check.value(v, f"residual.{k}", _RESIDUAL_UNITS[k]) for k, v in res_in.items()}
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
    )
    _check_positive_definite(check, pset)
    refs = load_references()
    return replace(
        pset, citations=MappingProxyType({k: refs[k].citation for k in pset.source_keys})
    )


def _effect(check: _Checker, raw: Any, where: str, fixed: Mapping[str, Value]) -> Effect:
    raw = check.table(raw, where)
    for key in ("parameter", "covariate", "form"):
        if key not in raw:
            raise check.fail(where, f"missing {key!r}")
    parameter, covariate, form = raw["parameter"], raw["covariate"], raw["form"]
    if parameter not in PK_PARAMETERS:
        raise check.fail(
            f"{where}.parameter", str(did_you_mean("PK parameter", parameter, PK_PARAMETERS))
        )
    if form not in _EFFECT_TERMS:
        raise check.fail(f"{where}.form", str(did_you_mean("effect form", form, _EFFECT_TERMS)))
    known = {*NUMERIC_COVARIATES, *CATEGORICAL_COVARIATES}
    if covariate not in known:
        raise check.fail(f"{where}.covariate", str(did_you_mean("covariate", covariate, known)))
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
    check: _Checker, where: str, form: str, terms: Mapping[str, Value], factors: Mapping[str, Value]
) -> None:
    positive = {
        "power": ("reference",),
        "threshold": ("below", "at_or_above"),
        "emax_inhibition": ("ed50",),
    }.get(form, ())
    for term in positive:
        if terms[term].value <= 0:
            raise check.fail(f"{where}.{term}", "must be > 0")
    if form == "exponential" and terms["scale"].value == 0:
        raise check.fail(f"{where}.scale", "must not be 0")
    if form == "emax_inhibition" and not 0 <= terms["emax"].value < 1:
        raise check.fail(f"{where}.emax", "must be in [0, 1) so that F stays positive")
    for category, value in factors.items():
        if value.value <= 0:
            raise check.fail(f"{where}.factors.{category}", "must be > 0")


def _check_positive_definite(check: _Checker, pset: ParameterSet) -> None:
    names, cov = pset.iiv_covariance()
    if names and np.any(np.linalg.eigvalsh(cov) < 0):
        raise check.fail(
            "iiv_correlation",
            "the IIV covariance matrix is not positive semi-definite; lower the correlations",
        )


def override_parameter_set(pset: ParameterSet, overrides: Mapping[str, float]) -> ParameterSet:
    """A copy of ``pset`` with some numbers replaced, e.g. ``{"typical.cl": 16.0, "iiv.cl": 40}``.

    Keys: ``typical.<cl|v|ka|tlag>``, ``iiv.<param>`` (in the set's IIV units, or %CV for a new
    one), ``iiv_correlation.<a>,<b>``, ``iov.f`` (%CV unless present), ``residual.proportional``
    (%) and ``residual.additive`` (ng/mL). Replaced numbers keep the original sources and note
    the override, with evidence ``D``. The result is validated like a bundled set.
    """
    groups = {
        "typical": dict(pset.typical),
        "iiv": dict(pset.iiv),
        "iov": dict(pset.iov),
        "residual": dict(pset.residual),
        "iiv_correlation": {",".join(k): v for k, v in pset.iiv_correlation.items()},
    }
    default_units = {"iiv": "%CV", "iov": "%CV", "iiv_correlation": "1"}
    for key, number in overrides.items():
        group, _, item = str(key).partition(".")
        if group not in groups or not item:
            raise did_you_mean(
                "parameter override", key, [f"{g}.{k}" for g, d in groups.items() for k in d]
            )
        old = groups[group].get(item)
        if group == "typical" and old is None:
            raise did_you_mean("parameter override", key, [f"typical.{k}" for k in TYPICAL_UNITS])
        if group == "residual" and item not in _RESIDUAL_UNITS:
            raise did_you_mean(
                "parameter override", key, [f"residual.{k}" for k in _RESIDUAL_UNITS]
            )
        units = (
            old.units
            if old is not None
            else (_RESIDUAL_UNITS[item] if group == "residual" else default_units[group])
        )
        sources = old.sources if old is not None else pset.source_keys[:1]
        groups[group][item] = Value(
            float(number), units, sources, "D", f"override of {old.value:g}" if old else "override"
        )
    data = _to_dict(pset)
    for group, items in groups.items():
        data[group] = {k: _value_dict(v) for k, v in items.items()}
    data["name"] = pset.name
    return parameter_set_from_dict(data, origin=f"parameter set {pset.name!r} with overrides")


def _value_dict(v: Value) -> dict[str, Any]:
    return {
        "value": v.value,
        "units": v.units,
        "source": list(v.sources),
        "evidence": v.evidence,
        "note": v.note,
    }


def _to_dict(pset: ParameterSet) -> dict[str, Any]:
    effects = []
    for e in pset.effects:
        d: dict[str, Any] = {
            "parameter": e.parameter,
            "covariate": e.covariate,
            "form": e.form,
            "description": e.description,
        }
        d.update({k: _value_dict(v) for k, v in e.terms.items()})
        if e.factors:
            d["factors"] = {k: _value_dict(v) for k, v in e.factors.items()}
        effects.append(d)
    return {
        "name": pset.name,
        "title": pset.title,
        "description": pset.description,
        "population": pset.population,
        "evidence": pset.evidence,
        "typical": {k: _value_dict(v) for k, v in pset.typical.items()},
        "effects": effects,
        "fixed_covariates": {k: _value_dict(v) for k, v in pset.fixed_covariates.items()},
    }
