"""Strict reading of user mappings (scenario tables): every problem collected, none raised early.

Values are read with typed getters that never raise: a bad value is recorded in a
:class:`~pksim.errors.Problems` collector under its dotted key and the default is returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pksim.errors import Problems, unknown_name
from pksim.errors import join_key as _join

MISSING: Any = object()

unknown_name_message = unknown_name
"""Old name of :func:`pksim.errors.unknown_name`, kept while callers move to the new one."""


def check_keys(mapping: Mapping, allowed: Iterable[str], where: str, problems: Problems) -> None:
    """Record every key of ``mapping`` that is not in ``allowed``, with a suggestion."""
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            problems.add(_join(where, str(key)), unknown_name("key", key, allowed))


def get_number(
    mapping: Mapping,
    key: str,
    where: str,
    problems: Problems,
    *,
    default: Any = MISSING,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    integer: bool = False,
    units: str = "",
    allow_minus_infinity: bool = False,
) -> Any:
    """A number (int or float; ``integer`` demands an int) within the given bounds.

    ``allow_minus_infinity`` accepts TOML's ``-inf`` (e.g. "started long before").
    """
    path = _join(where, key)
    if key not in mapping:
        if default is MISSING:
            problems.add(path, "is required")
        return None if default is MISSING else default
    value = mapping[key]
    kind = "a whole number" if integer else "a number"
    unit = f" {units}" if units else ""
    in_units = f" (in {units})" if units else ""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        problems.add(path, f"must be {kind}{in_units}, got {value!r}")
        return None if default is MISSING else default
    if allow_minus_infinity and value == -math.inf:
        return value
    if not math.isfinite(value):
        problems.add(path, f"must be finite, got {value!r}")
        return None if default is MISSING else default
    low_ok = minimum is None or (value > minimum if exclusive_minimum else value >= minimum)
    high_ok = maximum is None or value <= maximum
    if not (low_ok and high_ok):
        low = "" if minimum is None else f"{'>' if exclusive_minimum else '>='} {minimum:g}{unit}"
        high = "" if maximum is None else f"<= {maximum:g}{unit}"
        allowed = " and ".join(part for part in (low, high) if part)
        problems.add(path, f"must be {allowed}, got {value!r}")
        return None if default is MISSING else default
    return value


def get_str(mapping: Mapping, key: str, where: str, problems: Problems, *,
            default: Any = MISSING, choices: Iterable[str] | None = None,
            kind: str = "value") -> Any:  # fmt: skip
    """A string, optionally one of ``choices`` (unknown → 'did you mean')."""
    path = _join(where, key)
    if key not in mapping:
        if default is MISSING:
            problems.add(path, "is required")
        return None if default is MISSING else default
    value = mapping[key]
    if not isinstance(value, str) or not value.strip():
        problems.add(path, f"must be a non-empty string, got {value!r}")
        return None if default is MISSING else default
    if choices is not None and value not in (choices := list(choices)):
        problems.add(path, unknown_name(kind, value, choices))
        return None if default is MISSING else default
    return value


def get_bool(mapping: Mapping, key: str, where: str, problems: Problems, *,
             default: bool) -> bool:  # fmt: skip
    if key not in mapping:
        return default
    value = mapping[key]
    if not isinstance(value, bool):
        problems.add(_join(where, key), f"must be true or false, got {value!r}")
        return default
    return value


def get_table(mapping: Mapping, key: str, where: str, problems: Problems) -> Mapping:
    """A sub-table (empty when absent)."""
    value = mapping.get(key, {})
    if not isinstance(value, Mapping):
        problems.add(_join(where, key), f"must be a table ([{key}]), got {value!r}")
        return {}
    return value


def get_tables(mapping: Mapping, key: str, where: str, problems: Problems) -> list[Mapping]:
    """An array of tables ([[key]]), empty when absent."""
    value = mapping.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        problems.add(_join(where, key), f"must be an array of tables ([[{key}]])")
        return []
    return value
