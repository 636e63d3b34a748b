"""Parameter overrides: a parameter set with some numbers replaced (a scenario's
``[parameters.overrides]``), checked once, every bad key or number reported under its key."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np

from pksim.errors import Invalid, Problems, shown, unknown_name
from pksim.library.cited import Cited, finite_float
from pksim.library.parameter_set import (
    IOV_KEYS,
    MODEL_TYPICAL_UNITS,
    NOT_POSITIVE_DEFINITE,
    PERCENT,
    PK_PARAMETERS,
    RESIDUAL_UNITS,
    TYPICAL_UNITS,
    ParameterSet,
)

__all__ = ["override_parameter_set"]


def override_parameter_set(
    pset: ParameterSet,
    overrides: Mapping[str, Any],
    problems: Problems | None = None,
    where: str = "overrides",
) -> ParameterSet | None:
    """A copy of ``pset`` with some numbers replaced, e.g. ``{"typical.cl": 16.0, "iiv.cl": 40}``.

    Keys: ``typical.<cl|v|ka|tlag>`` (> 0; tlag >= 0; ``q``, ``v2`` where the set's model has
    them), ``iiv.<param>`` (>= 0, in the set's IIV
    units, or %CV for a new one), ``iiv_correlation.<a>,<b>`` (in (-1, 1), both with IIV),
    ``iov.f`` and ``iov.subject_scale`` (>= 0, %CV unless present), ``residual.proportional``
    (%) and ``residual.additive`` (ng/mL); each at most a plausibility limit (:data:`MAX_TYPICAL`,
    :data:`MAX_CV_PERCENT` or :data:`MAX_OMEGA2`, :data:`MAX_RESIDUAL`). Replaced numbers keep
    the original sources and note the override, with evidence ``D``. Every bad key or number
    is added to ``problems`` under ``where`` and None is returned; without a collector they
    are raised together (:class:`pksim.errors.Invalid`).
    """
    found = Problems()
    groups: dict[str, dict[Any, Cited]] = {
        "typical": dict(pset.typical),
        "iiv": dict(pset.iiv),
        "iiv_correlation": dict(pset.iiv_correlation),
        "iov": dict(pset.iov),
        "residual": dict(pset.residual),
    }
    for key, number in overrides.items():
        group, _, item = str(key).partition(".")
        if group == "iiv_correlation":
            item = tuple(sorted((p.strip() for p in item.split(",")), key=_parameter_order))
        if item not in _OVERRIDABLE.get(group, ()):
            found.add("", unknown_name("parameter override", key, _OVERRIDE_KEYS))
        elif group in ("typical", "iiv") and item not in pset.pk_parameters:
            found.add(
                str(key),
                f"parameter set {shown(pset.name)} ({pset.structural_model}) has no {item!r}; "
                f"its parameters are {list(pset.pk_parameters)}",
            )
        elif finite_float(number) is None:
            found.add(str(key), f"must be a finite number, got {shown(number)}")
        elif problem := _range_problem(group, item, number, groups[group].get(item)):
            found.add(str(key), f"{problem}, got {shown(number)}")
        else:
            units = RESIDUAL_UNITS.get(item, "1" if group == "iiv_correlation" else "%CV")
            groups[group][item] = _overridden(groups[group].get(item), number, units, pset)
    iiv = groups["iiv"]
    for pair in groups["iiv_correlation"]:
        if not set(pair) <= set(iiv):
            found.add(f"iiv_correlation.{','.join(pair)}", "needs IIV on both parameters")
    changed = None
    if not found:
        changed = replace(
            pset,
            typical=MappingProxyType(groups["typical"]),
            iiv=MappingProxyType({k: iiv[k] for k in PK_PARAMETERS if k in iiv}),
            iiv_correlation=MappingProxyType(groups["iiv_correlation"]),
            iov=MappingProxyType(groups["iov"]),
            residual=MappingProxyType(groups["residual"]),
        )
        names, covariance = changed.iiv_covariance()
        if names and np.any(np.linalg.eigvalsh(covariance) < 0):
            found.add("iiv_correlation", NOT_POSITIVE_DEFINITE)
            changed = None
    if problems is None and found:
        raise Invalid(f"parameter set {shown(pset.name)} with overrides", found)
    if problems is not None:
        problems.extend(where, found)
    return changed


def _parameter_order(name: str) -> int:
    return PK_PARAMETERS.index(name) if name in PK_PARAMETERS else len(PK_PARAMETERS)


_OVERRIDABLE: Mapping[str, frozenset] = MappingProxyType(
    {
        "typical": frozenset({*TYPICAL_UNITS, *MODEL_TYPICAL_UNITS}),
        "iiv": frozenset(PK_PARAMETERS),
        "iiv_correlation": frozenset(
            (a, b) for i, a in enumerate(PK_PARAMETERS) for b in PK_PARAMETERS[i + 1 :]
        ),
        "iov": frozenset(IOV_KEYS),
        "residual": frozenset(RESIDUAL_UNITS),
    }
)
"""What each override group may replace (correlations: pairs in PK_PARAMETERS order)."""
_OVERRIDE_KEYS = [
    *(f"typical.{k}" for k in (*TYPICAL_UNITS, *MODEL_TYPICAL_UNITS)),
    *(f"iiv.{k}" for k in PK_PARAMETERS),
    "iiv_correlation.<a>,<b>",
    *(f"iov.{k}" for k in IOV_KEYS),
    *(f"residual.{k}" for k in RESIDUAL_UNITS),
]
MAX_TYPICAL: Mapping[str, float] = MappingProxyType(
    {"cl": 1000.0, "v": 100_000.0, "ka": 100.0, "tlag": 24.0, "q": 100_000.0, "v2": 1_000_000.0}
)
"""Largest typical value an override may set (units of ``TYPICAL_UNITS`` and
``MODEL_TYPICAL_UNITS``): about a hundred times the tacrolimus values (CL/F 14 L/h, V/F 700 L,
ka 4.5 1/h; Q/F up to 1200 L/h and V2/F up to 32 100 L in the plasma-based Storset 2014 model)
and a day of lag. Larger values are unit slips, and overflow the model's exponentials."""

MAX_RESIDUAL: Mapping[str, float] = MappingProxyType({"proportional": 100.0, "additive": 100.0})
"""Largest residual error an override may set: 100 % proportional, 100 ng/mL additive (ten times
the top of the induction range); more says nothing about a measured trough."""

MAX_CV_PERCENT = 1000.0
"""Largest between-subject or between-occasion variability an override may set, in %CV: a
subject five SDs out still has a finite parameter (omega^2 = ln(1 + 10^2) = 4.6)."""

MAX_OMEGA2 = math.log1p((MAX_CV_PERCENT / PERCENT) ** 2)
"""The same limit for variability given as a log-scale variance (omega^2)."""


def _range_problem(group: str, item: Any, number: float, old: Cited | None) -> str | None:
    """What is wrong with ``number`` for override ``group.item`` (None if it is in range)."""
    if group == "iiv_correlation":
        return None if -1 < number < 1 else "must be strictly between -1 and 1"
    if group == "typical":
        units, high = {**TYPICAL_UNITS, **MODEL_TYPICAL_UNITS}[item], MAX_TYPICAL[item]
        low_ok, low = (number >= 0, ">= 0") if item == "tlag" else (number > 0, "> 0")
    elif group == "residual":
        units, high, low_ok, low = RESIDUAL_UNITS[item], MAX_RESIDUAL[item], number >= 0, ">= 0"
    else:  # iiv, iov: in the set's units for this parameter, %CV for a new one
        units = old.units if old is not None else "%CV"
        high = MAX_CV_PERCENT if units == "%CV" else MAX_OMEGA2
        low_ok, low = number >= 0, ">= 0"
    if low_ok and number <= high:
        return None
    return f"must be {low} and <= {high:g} {units}"


def _overridden(old: Cited | None, number: float, units: str, pset: ParameterSet) -> Cited:
    """The cited value replacing ``old`` (same units and sources; derived, evidence D)."""
    if old is None:
        return Cited(float(number), units, pset.source_keys[:1], "D", "override")
    return Cited(float(number), old.units, old.sources, "D", f"override of {old.value:g}")
