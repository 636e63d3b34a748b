"""A parameter set: the data of one cited population model, frozen (no reading, no math).

Typical CL/F (L/h), V/F (L), ka (1/h) and lag (h) for a reference patient, multiplicative
covariate effects, between-subject variability (IIV, log-normal with a full covariance matrix),
between-occasion variability (IOV, on F) and residual error; every number a
:class:`~pksim.library.cited.Cited`. Sets are read and checked by :mod:`pksim.library.parameters`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from pksim.library.cited import Cited

__all__ = [
    "DEFAULT_STRUCTURAL_MODEL",
    "IOV_KEYS",
    "MODEL_TYPICAL_UNITS",
    "NOT_POSITIVE_DEFINITE",
    "PK_PARAMETERS",
    "RESIDUAL_UNITS",
    "SUBJECT_SCALE_KEY",
    "TYPICAL_UNITS",
    "Effect",
    "ParameterSet",
    "own_parameters",
]

DEFAULT_STRUCTURAL_MODEL = "one-compartment-oral-lag"
"""Structural model of a set whose file has no ``structural_model`` key (see
:mod:`pksim.model.structural`)."""

PK_PARAMETERS: tuple[str, ...] = ("cl", "v", "ka", "tlag", "f", "q", "v2")
"""Individual PK parameters, in the fixed order used for IIV draws (column j of the ``iiv``
stream belongs to ``PK_PARAMETERS[j]``: new parameters are appended, so no draw moves). ``v`` is
the volume of the compartment sampled (V/F; V1/F of a two-compartment model); ``q`` and ``v2``
(Q/F, V2/F) exist only in sets whose structural model has them."""

TYPICAL_UNITS: Mapping[str, str] = MappingProxyType(
    {"cl": "L/h", "v": "L", "ka": "1/h", "tlag": "h"}
)
"""Typical values every set must give, with their only accepted units (F is 1 by definition)."""

MODEL_TYPICAL_UNITS: Mapping[str, str] = MappingProxyType({"q": "L/h", "v2": "L"})
"""Typical values a structural model may need besides :data:`TYPICAL_UNITS` (two-compartment:
inter-compartmental clearance Q/F and peripheral volume V2/F); a set gives exactly those its
structural model names."""

SUBJECT_SCALE_KEY = "subject_scale"
"""``[iov]`` key of the between-subject variability (%CV, or omega^2) of each subject's own scale
of within-subject variability: one log-normal factor (median 1) per subject multiplies the SDs
of its IOV on F and of its residual error (``pksim.cohort.variability.within_subject_scale``)."""
IOV_KEYS: tuple[str, ...] = ("f", SUBJECT_SCALE_KEY)
"""Keys a parameter set's ``[iov]`` table may have."""
RESIDUAL_UNITS: Mapping[str, str] = MappingProxyType({"proportional": "%", "additive": "ng/mL"})
"""Residual-error terms and their only accepted units."""

PERCENT = 100.0
"""A %CV or % over 100 is a fraction."""

NOT_POSITIVE_DEFINITE = (
    "the IIV covariance matrix is not positive semi-definite; lower the correlations"
)
"""Why a set (or overrides) with impossible IIV correlations is refused."""


def own_parameters(typical: Mapping[str, object]) -> tuple[str, ...]:
    """Individual parameters of a set with these typical values, in :data:`PK_PARAMETERS` order:
    a structural model's own ones (:data:`MODEL_TYPICAL_UNITS`) only where the set gives them."""
    return tuple(p for p in PK_PARAMETERS if p not in MODEL_TYPICAL_UNITS or p in typical)


@dataclass(frozen=True, slots=True)
class Effect:
    """A multiplicative covariate effect on one PK parameter (data only).

    ``terms`` holds the form's named numbers (e.g. ``reference`` and ``exponent`` of a power
    effect); ``factors`` holds one factor per category for the ``categorical`` form.
    """

    parameter: str
    covariate: str
    form: str
    terms: Mapping[str, Cited] = field(default_factory=lambda: MappingProxyType({}))
    factors: Mapping[str, Cited] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""

    def values(self) -> tuple[Cited, ...]:
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
    typical: Mapping[str, Cited]
    effects: tuple[Effect, ...]
    iiv: Mapping[str, Cited]
    iiv_correlation: Mapping[tuple[str, str], Cited]
    iov: Mapping[str, Cited]
    residual: Mapping[str, Cited]
    fixed_covariates: Mapping[str, Cited]
    citations: Mapping[str, str]
    structural_model: str = DEFAULT_STRUCTURAL_MODEL

    def all_values(self) -> tuple[Cited, ...]:
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

    @property
    def pk_parameters(self) -> tuple[str, ...]:
        """The set's individual parameters, in :data:`PK_PARAMETERS` order (Q/F and V2/F only
        when its structural model has them)."""
        return own_parameters(self.typical)

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
    def iov_subject_scale_sd(self) -> float:
        """Log-scale SD of each subject's own factor on its within-subject variability (IOV and
        residual SD; ``iov.subject_scale``, 0 when absent: every subject alike)."""
        value = self.iov.get(SUBJECT_SCALE_KEY)
        return _omega_sd(value) if value is not None else 0.0

    @property
    def residual_proportional(self) -> float:
        """Proportional residual error SD as a fraction (0.2 = 20 %)."""
        v = self.residual.get("proportional")
        return v.value / PERCENT if v is not None else 0.0

    @property
    def residual_additive(self) -> float:
        """Additive residual error SD in ng/mL."""
        v = self.residual.get("additive")
        return v.value if v is not None else 0.0

    def describe(self) -> str:
        """Human-readable summary with every value, its units, sources and evidence."""
        lines = [f"{self.name}: {self.title} [{self.evidence}]", f"  population: {self.population}"]
        lines.append(f"  structural model: {self.structural_model}")
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


def _omega_sd(value: Cited) -> float:
    """Log-scale SD from a %CV (omega^2 = ln(1 + CV^2)) or from a variance omega^2."""
    if value.units == "%CV":
        return math.sqrt(math.log1p((value.value / PERCENT) ** 2))
    return math.sqrt(value.value)


# --------------------------------------------------------------------------- loading
