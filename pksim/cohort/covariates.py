"""The covariates of n subjects: one read-only array per covariate the registry says subjects
carry (:func:`pksim.library.covariates.carried`).

Numeric covariates are float64 in the registry's units (NaN = unknown, allowed only where no
effect uses it); categorical ones are int8 codes, the index of the label in the registry's
categories (CYP3A5 code = number of *1 alleles), with
:data:`~pksim.library.covariates.UNKNOWN_CODE` for an unknown value of an imputable covariate
(a patient's untested genotype) until the run imputes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.errors import unknown_name
from pksim.library import covariates as registry

__all__ = ["CYP3A5_GENOTYPES", "LIVER_FUNCTION", "SEXES", "Covariates", "category_codes"]

CYP3A5_GENOTYPES: tuple[str, ...] = registry.get("cyp3a5").categories
LIVER_FUNCTION: tuple[str, ...] = registry.get("liver_function").categories
SEXES: tuple[str, ...] = registry.get("sex").categories

_CARRIED: Mapping[str, registry.Covariate] = MappingProxyType(
    {c.name: c for c in registry.carried()}
)


@dataclass(frozen=True, slots=True, init=False, eq=False, repr=False)
class Covariates:
    """Covariates of n subjects, as read-only 1-D arrays of equal length.

    ``Covariates(weight_kg=..., sex=..., ..., patient_id=None)`` takes one array per carried
    covariate of the registry; one not given takes the registry's ``default`` for everyone
    (NaN when that default is NaN: unknown), and one whose default is None must be given.
    Read a covariate as ``cov.weight_kg`` or ``cov["weight_kg"]``. ``patient_id``: optional
    labels.
    """

    values: Mapping[str, np.ndarray]
    patient_id: tuple[str, ...] | None

    def __init__(self, *, patient_id: Sequence[str] | None = None, **values: ArrayLike) -> None:
        unknown = sorted(set(values) - set(_CARRIED))
        if unknown:
            raise ValueError(unknown_name("covariate", unknown[0], _CARRIED))
        missing = [name for name, c in _CARRIED.items() if name not in values and c.default is None]
        if missing:
            raise ValueError(
                f"Covariates: missing {missing} (carried covariates without a default; "
                "the registry is pksim.library.covariates)"
            )
        n = None
        arrays: dict[str, np.ndarray] = {}
        for name, covariate in _CARRIED.items():
            if name not in values:
                continue
            array = _array(covariate, values[name])
            if array.ndim != 1:
                raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
            if n is None:
                n = array.shape[0]
            elif array.shape[0] != n:
                raise ValueError(f"{name} has {array.shape[0]} subjects, expected {n}")
            arrays[name] = array
        n = n or 0
        for name, covariate in _CARRIED.items():
            if name not in arrays:
                arrays[name] = _array(covariate, np.full(n, _default_value(covariate)))
        arrays = {name: arrays[name] for name in _CARRIED}  # registry order
        for array in arrays.values():
            array.setflags(write=False)
        ids = None
        if patient_id is not None:
            ids = tuple(str(i) for i in patient_id)
            if len(ids) != n:
                raise ValueError(f"patient_id has {len(ids)} entries, expected {n}")
        object.__setattr__(self, "values", MappingProxyType(arrays))
        object.__setattr__(self, "patient_id", ids)

    def __repr__(self) -> str:
        try:
            names = ", ".join(self.values)
            return f"Covariates({len(self)} subjects: {names})"
        except AttributeError:  # not initialised (a failed __init__)
            return "Covariates(<not initialised>)"

    def __getattr__(self, name: str) -> np.ndarray:
        if name in _CARRIED:
            return object.__getattribute__(self, "values")[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in _CARRIED:
            raise ValueError(unknown_name("covariate", name, _CARRIED))
        return self.values[name]

    def __len__(self) -> int:
        return int(next(iter(self.values.values())).shape[0])

    def slice(self, start: int, stop: int) -> Covariates:
        """Subjects [start, stop)."""
        ids = None if self.patient_id is None else self.patient_id[start:stop]
        return Covariates(
            **{name: array[start:stop] for name, array in self.values.items()}, patient_id=ids
        )

    def replace(self, **values: ArrayLike) -> Covariates:
        """A copy with some covariates replaced (validated like the original)."""
        return Covariates(**{**self.values, **values}, patient_id=self.patient_id)

    def unknown(self, name: str) -> NDArray[np.bool_]:
        """Where covariate ``name`` is unknown (NaN, or the unknown code of a category)."""
        values = self[name]
        if _CARRIED[name].kind == registry.NUMERIC:
            return np.isnan(values)
        return values == registry.UNKNOWN_CODE

    def labels(self, name: str) -> NDArray[np.str_]:
        """Category labels of a categorical covariate (``unknown`` for an unknown value)."""
        covariate = _CARRIED.get(name)
        if covariate is None or covariate.kind != registry.CATEGORICAL:
            categorical = [c.name for c in _CARRIED.values() if c.kind == registry.CATEGORICAL]
            raise ValueError(unknown_name("categorical covariate", name, categorical))
        codes = self[name]
        labels = np.asarray(covariate.categories)[np.maximum(codes, 0)]
        return np.where(codes == registry.UNKNOWN_CODE, registry.UNKNOWN_LABEL, labels)


def _default_value(covariate: registry.Covariate) -> float | int:
    if covariate.kind == registry.CATEGORICAL:
        if covariate.default == registry.UNKNOWN_LABEL:
            return registry.UNKNOWN_CODE
        return covariate.categories.index(covariate.default)
    return float(covariate.default)


def _array(covariate: registry.Covariate, value: ArrayLike) -> np.ndarray:
    if covariate.kind != registry.CATEGORICAL:
        return np.array(value, dtype=np.float64)
    array = np.array(value, dtype=np.int8)
    lowest = registry.UNKNOWN_CODE if covariate.imputable else 0
    if array.size and (array.min() < lowest or array.max() >= len(covariate.categories)):
        unknown = f", or {registry.UNKNOWN_CODE} for unknown" if covariate.imputable else ""
        raise ValueError(
            f"{covariate.name} codes must be in 0..{len(covariate.categories) - 1} "
            f"({', '.join(covariate.categories)}){unknown}"
        )
    return array


def category_codes(name: str, labels: Sequence[str]) -> NDArray[np.int8]:
    """Codes for labels of a categorical covariate; an unknown label names the valid ones."""
    covariate = _CARRIED.get(name)
    if covariate is None or covariate.kind != registry.CATEGORICAL:
        categorical = [c.name for c in _CARRIED.values() if c.kind == registry.CATEGORICAL]
        raise ValueError(unknown_name("categorical covariate", name, categorical))
    lookup = {label: i for i, label in enumerate(covariate.categories)}
    out = np.empty(len(labels), dtype=np.int8)
    for i, label in enumerate(labels):
        if label not in lookup:
            raise ValueError(unknown_name(f"{name} value", label, covariate.categories))
        out[i] = lookup[label]
    return out
