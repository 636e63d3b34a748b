"""Reading the bundled, cited data files (``pksim/data/*.toml``).

Shared by the catalogues (formulations, food, interactions): a cited value is a table
``{value, units, source, evidence, note}`` whose ``source`` keys resolve in
``references.toml`` and whose ``evidence`` is a PK_REFERENCE tag. Errors name the table path.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

EVIDENCE_TAGS: tuple[str, ...] = ("V", "I", "M", "D")
"""Verified, Implementation only, recalled (M), Derived: see PK_REFERENCE.md."""


@dataclass(frozen=True, slots=True)
class CitedValue:
    """A number (or tuple of numbers) with its units, source keys and evidence tag."""

    value: float | tuple[float, ...]
    units: str
    source: tuple[str, ...]
    evidence: str
    note: str = ""


def normalize_name(name: str) -> str:
    """Case-folded name with runs of spaces and hyphens turned into ``_``."""
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise ValueError naming unknown keys of a data table."""
    allowed = tuple(allowed)
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed {sorted(allowed)}")


def read_cited(table: Any, where: str, units: str, *, allow_zero: bool = False) -> CitedValue:
    """A ``{value, units, source, evidence, note}`` table as a :class:`CitedValue`."""
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table with value, units, source, evidence")
    check_keys(table, ("value", "units", "source", "evidence", "note"), where)
    if table.get("units") != units:
        raise ValueError(f"{where}: units must be {units!r}, got {table.get('units')!r}")
    value = table.get("value")
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{where}: value must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{where}: value must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return CitedValue(
        value=float(value),
        units=units,
        source=read_sources(table.get("source"), where),
        evidence=read_evidence(table.get("evidence"), where),
        note=str(table.get("note", "")),
    )


def read_sources(value: Any, where: str) -> tuple[str, ...]:
    """A source key or list of keys."""
    keys = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list) else ()
    if not keys or not all(isinstance(key, str) and key for key in keys):
        raise ValueError(f"{where}: source must be a reference key or a list of keys")
    return keys


def read_evidence(value: Any, where: str) -> str:
    """An evidence tag, checked against :data:`EVIDENCE_TAGS`."""
    if value not in EVIDENCE_TAGS:
        raise ValueError(f"{where}: evidence must be one of {EVIDENCE_TAGS}, got {value!r}")
    return value


def read_data(file_name: str) -> dict[str, Any]:
    """Parse a bundled TOML data file from ``pksim/data``."""
    text = resources.files("pksim").joinpath("data", file_name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def unknown_name_error(
    kind: str, name: str, choices: Iterable[str], valid: list[str]
) -> ValueError:
    """ValueError for an unknown name, with difflib suggestions and the valid names."""
    close = difflib.get_close_matches(normalize_name(name), list(choices), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"unknown {kind} {name!r}{hint} Valid names: {', '.join(valid)}")


def read_positive(value: Any, where: str) -> float:
    """A finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{where}: must be finite and > 0, got {value!r}")
    return float(value)


def is_real(value: object) -> bool:
    """A real number that is not a bool (TOML ``true`` is not a dose)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
