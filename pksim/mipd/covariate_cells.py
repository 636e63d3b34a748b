"""Covariate cells of a NONMEM-style dataset: parsed against the covariate registry (units,
plausible range, categories and their aliases; CYP3A5 also as 0/1/2 *1 alleles), and filled
between the records that give them (NOCB or LOCF)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from pksim.errors import shown, unknown_name
from pksim.library import covariates as registry
from pksim.mipd.history import NOCB

__all__ = ["covariate_value", "fill_covariates"]

UNKNOWN_TEXT = frozenset({"unknown", "na", "n/a", "nan"})
"""Cell texts meaning "not known" (compared in lower case)."""


def fill_covariates(columns: list[str], values: list[dict], rule: str) -> dict[str, np.ndarray]:
    """Covariate values per record (``values``: one mapping column -> parsed value or None per
    record); an empty cell is filled from the nearest record that gives one (the next under
    NOCB, the previous under LOCF, then the other way)."""
    out = {}
    rows = values
    for column in columns:
        covariate = registry.get(column)
        values = [r[column] for r in rows]
        known = [i for i, v in enumerate(values) if v is not None]
        if not known:
            fill = _missing(covariate)
            out[column] = np.array([fill] * len(rows), dtype=_dtype(covariate))
            continue
        filled = []
        for i in range(len(values)):
            after = [k for k in known if k >= i]
            before = [k for k in known if k <= i]
            if rule == NOCB:
                k = after[0] if after else before[-1]
            else:
                k = before[-1] if before else after[0]
            filled.append(values[k])
        out[column] = np.array(filled, dtype=_dtype(covariate))
    return out


def _dtype(covariate: registry.Covariate):
    return np.int8 if covariate.kind == registry.CATEGORICAL else np.float64


def _missing(covariate: registry.Covariate) -> float | int:
    if covariate.kind == registry.CATEGORICAL:
        if covariate.default is not None:
            return covariate.categories.index(covariate.default)
        return registry.UNKNOWN_CODE
    return float(covariate.default) if covariate.default is not None else math.nan


def covariate_value(
    covariate: registry.Covariate, text: str, column: str, bad: Callable[[str, str], None]
) -> float | int | None:
    """The value of one covariate cell (None: empty); a bad cell is reported to ``bad``."""
    if not text or text.lower() in UNKNOWN_TEXT:
        return None
    if covariate.kind == registry.CATEGORICAL:
        return _category(covariate, text, column, bad)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    low, high = covariate.allowed or (-math.inf, math.inf)
    if not (math.isfinite(value) and low <= value <= high):
        bad(
            column,
            f"{shown(text)}; allowed: a number in [{low:g}, {high:g}] "
            f"{covariate.units} (a value outside is probably in other units)",
        )
        return None
    return value


def _category(
    covariate: registry.Covariate, text: str, column: str, bad: Callable[[str, str], None]
) -> int | None:
    labels = {c.lower(): i for i, c in enumerate(covariate.categories)}
    aliases = covariate.patients.aliases if covariate.patients else {}
    labels |= {alias: covariate.categories.index(c) for alias, c in aliases.items()}
    if text.lower() in labels:
        return labels[text.lower()]
    if covariate.name == "cyp3a5" and text in ("0", "1", "2"):
        return int(text)  # NONMEM coding: the number of *1 alleles
    extra = " (or 0, 1, 2: the number of *1 alleles)" if covariate.name == "cyp3a5" else ""
    bad(column, unknown_name(f"{covariate.name} value", text, covariate.categories) + extra)
    return None
