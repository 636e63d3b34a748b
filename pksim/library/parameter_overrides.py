"""Parameter overrides: a parameter set with some numbers replaced (a scenario's
``[parameters.overrides]``), checked once, every bad key or number reported under its key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np

from pksim.errors import Invalid, Problems, shown, unknown_name
from pksim.library.cited import Cited, finite_float
from pksim.library.parameter_set import (
    NOT_POSITIVE_DEFINITE,
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

    Keys: ``typical.<cl|v|ka|tlag>`` (> 0; tlag >= 0), ``iiv.<param>`` (>= 0, in the set's IIV
    units, or %CV for a new one), ``iiv_correlation.<a>,<b>`` (in (-1, 1), both with IIV),
    ``iov.f`` (>= 0, %CV unless present), ``residual.proportional`` (%) and
    ``residual.additive`` (ng/mL). Replaced numbers keep the original sources and note the
    override, with evidence ``D``. Every bad key or number is added to ``problems`` under
    ``where`` and None is returned; without a collector they are raised together
    (:class:`pksim.errors.Invalid`).
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
        elif finite_float(number) is None:
            found.add(str(key), f"must be a finite number, got {shown(number)}")
        elif not _OVERRIDE_RANGES[group](item, number):
            found.add(str(key), f"must be {_OVERRIDE_RANGE_TEXT[group]}, got {shown(number)}")
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
        "typical": frozenset(TYPICAL_UNITS),
        "iiv": frozenset(PK_PARAMETERS),
        "iiv_correlation": frozenset(
            (a, b) for i, a in enumerate(PK_PARAMETERS) for b in PK_PARAMETERS[i + 1 :]
        ),
        "iov": frozenset({"f"}),
        "residual": frozenset(RESIDUAL_UNITS),
    }
)
"""What each override group may replace (correlations: pairs in PK_PARAMETERS order)."""
_OVERRIDE_KEYS = [
    *(f"typical.{k}" for k in TYPICAL_UNITS),
    *(f"iiv.{k}" for k in PK_PARAMETERS),
    "iiv_correlation.<a>,<b>",
    "iov.f",
    *(f"residual.{k}" for k in RESIDUAL_UNITS),
]
_OVERRIDE_RANGES = MappingProxyType(
    {
        "typical": lambda item, x: x >= 0 if item == "tlag" else x > 0,
        "iiv": lambda item, x: x >= 0,
        "iiv_correlation": lambda item, x: -1 < x < 1,
        "iov": lambda item, x: x >= 0,
        "residual": lambda item, x: x >= 0,
    }
)
_OVERRIDE_RANGE_TEXT = MappingProxyType(
    {
        "typical": "> 0 (tlag >= 0)",
        "iiv": ">= 0",
        "iiv_correlation": "strictly between -1 and 1",
        "iov": ">= 0",
        "residual": ">= 0",
    }
)


def _overridden(old: Cited | None, number: float, units: str, pset: ParameterSet) -> Cited:
    """The cited value replacing ``old`` (same units and sources; derived, evidence D)."""
    if old is None:
        return Cited(float(number), units, pset.source_keys[:1], "D", "override")
    return Cited(float(number), old.units, old.sources, "D", f"override of {old.value:g}")
