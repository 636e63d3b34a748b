"""Bundled cited data (``pksim/data``): the one reader of its files, the one cited-value type.

A cited value is a table ``{value, units, source, evidence, note}``: a number (or a list of
numbers), its units, the bibliography keys it comes from (``source``: one key or a list, each
resolving in ``references.toml``), an evidence tag and an optional note. Every catalogue
(parameter sets, populations, formulations, food, targets, drugs) reads its numbers with
:func:`read_cited` into :class:`Cited` objects; errors name the table path and what is allowed.
"""

from __future__ import annotations

import math
import numbers
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from pksim.errors import shown, unknown_name

__all__ = [
    "CITED_KEYS",
    "EVIDENCE_TAGS",
    "Cited",
    "Reference",
    "check_keys",
    "citation",
    "data_folder",
    "is_real",
    "load_references",
    "normalize_name",
    "read_cited",
    "read_data",
    "read_evidence",
    "read_positive",
    "read_sources",
]

EVIDENCE_TAGS: Mapping[str, str] = MappingProxyType(
    {
        "V": "verified in a source that was read",
        "I": "seen only in a third-party implementation of the published model",
        "M": "recalled, not verified",
        "D": "derived (calculation or judgement)",
    }
)
"""Evidence tags of PK_REFERENCE.md and what each means."""

CITED_KEYS: tuple[str, ...] = ("value", "units", "source", "evidence", "note")
"""Keys of a cited-value table."""

REFERENCES_FILE = "references.toml"


@dataclass(frozen=True, slots=True)
class Cited:
    """A number (or tuple of numbers) with its units, source keys, evidence tag and note."""

    value: float | tuple[float, ...]
    units: str
    sources: tuple[str, ...]
    evidence: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    """One bibliography entry of ``references.toml``."""

    key: str
    citation: str
    note: str = ""


def data_folder(*parts: str):
    """A file or folder inside ``pksim/data`` (an importlib resource)."""
    return resources.files("pksim").joinpath("data", *parts)


def read_data(*parts: str) -> dict[str, Any]:
    """Parse a bundled TOML data file, e.g. ``read_data("parameters", "default.toml")``."""
    return tomllib.loads(data_folder(*parts).read_text(encoding="utf-8"))


@cache
def load_references() -> Mapping[str, Reference]:
    """Bibliography of ``pksim/data/references.toml``: key -> :class:`Reference`."""
    out = {}
    for key, entry in read_data(REFERENCES_FILE).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("citation"), str):
            raise ValueError(f"{REFERENCES_FILE}: [{key}] needs a 'citation' string")
        out[key] = Reference(key, entry["citation"], str(entry.get("note", "")))
    return MappingProxyType(out)


def citation(key: str) -> str:
    """The citation text of a bibliography key."""
    return load_references()[key].citation


def normalize_name(name: str) -> str:
    """Case-folded name with runs of spaces and hyphens turned into ``_``."""
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise ValueError naming the first unknown key of a data table."""
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise ValueError(f"{where}: {unknown_name('key', key, allowed)}")


def read_cited(
    table: Any,
    where: str,
    units: str | Iterable[str] | None,
    *,
    minimum: float | None = None,
    exclusive: bool = True,
    many: bool = False,
) -> Cited:
    """A ``{value, units, source, evidence, note}`` table as a :class:`Cited`.

    ``units``: the accepted units (None: any). ``minimum``: the value must be > it
    (``exclusive``) or >= it. ``many``: the value is a non-empty list of numbers (each checked,
    stored sorted as a tuple).
    """
    if not isinstance(table, Mapping):
        raise ValueError(f"{where}: expected a table with {', '.join(CITED_KEYS)}")
    check_keys(table, CITED_KEYS, where)
    for key in ("value", "units", "evidence"):
        if key not in table:
            raise ValueError(f"{where}: missing {key!r}")
    if units is not None:
        options = (units,) if isinstance(units, str) else tuple(units)
        if table["units"] not in options:
            raise ValueError(
                f"{where}: units must be {' or '.join(map(repr, options))}, got {table['units']!r}"
            )
    value = table["value"]
    if many:
        if not isinstance(value, list) or not value:
            raise ValueError(f"{where}: value must be a non-empty list of numbers, got {value!r}")
        number: float | tuple[float, ...] = tuple(
            sorted(_number(v, where, minimum, exclusive) for v in value)
        )
    else:
        number = _number(value, where, minimum, exclusive)
    return Cited(
        value=number,
        units=str(table["units"]),
        sources=read_sources(table.get("source"), where),
        evidence=read_evidence(table["evidence"], where),
        note=str(table.get("note", "")),
    )


def _number(value: Any, where: str, minimum: float | None, exclusive: bool) -> float:
    if finite_float(value) is None:
        raise ValueError(f"{where}: value must be a finite number, got {shown(value)}")
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        raise ValueError(
            f"{where}: value must be {'>' if exclusive else '>='} {minimum:g}, got {value}"
        )
    return float(value)


def read_sources(value: Any, where: str) -> tuple[str, ...]:
    """A source key or list of keys, each a key of ``references.toml``."""
    keys = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list) else ()
    if not keys or not all(isinstance(key, str) and key for key in keys):
        raise ValueError(
            f"{where}: source must be a key of {REFERENCES_FILE} or a list of keys, got {value!r}"
        )
    references = load_references()
    for key in keys:
        if key not in references:
            raise ValueError(f"{where}: {unknown_name('source key', key, references)}")
    return keys


def read_evidence(value: Any, where: str) -> str:
    """An evidence tag, one of :data:`EVIDENCE_TAGS`."""
    if value not in EVIDENCE_TAGS:
        raise ValueError(f"{where}: evidence must be one of {sorted(EVIDENCE_TAGS)}, got {value!r}")
    return value


def read_positive(value: Any, where: str) -> float:
    """A finite number > 0."""
    if not is_real(value):
        raise ValueError(f"{where}: expected a number, got {shown(value)}")
    if not (finite_float(value) is not None and value > 0):
        raise ValueError(f"{where}: must be finite and > 0, got {shown(value)}")
    return float(value)


def is_real(value: object) -> bool:
    """A real number that is not a bool (TOML ``true`` is not a dose)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def finite_float(value: object) -> float | None:
    """``value`` as a finite float, or None unless it is a real number (:func:`is_real`) that
    is finite as a float (an integer such as 10**400 is not: it overflows)."""
    if not is_real(value):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
