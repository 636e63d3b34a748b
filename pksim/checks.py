"""Strict reading of user mappings (scenario tables): every problem collected, none raised early.

A :class:`Problems` list gathers messages of the form ``"<dotted.key>: <what is wrong>; <what is
allowed>"``; callers raise them together so a user sees every mistake at once. Values are read
with typed getters that never raise; a bad value is recorded and the default is returned.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

MISSING: Any = object()


class Problems(list[str]):
    """Messages about a mapping, each prefixed by the dotted path of the key concerned."""

    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


def suggestion(name: str, valid: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest valid name, or ''."""
    close = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def unknown_name_message(kind: str, name: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    return f"unknown {kind} {name!r}{suggestion(name, valid)}; valid: {', '.join(valid)}"


def check_keys(mapping: Mapping, allowed: Iterable[str], where: str, problems: Problems) -> None:
    """Record every key of ``mapping`` that is not in ``allowed``, with a suggestion."""
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            problems.add(
                _join(where, key),
                f"unknown key{suggestion(key, allowed)}; allowed here: {', '.join(allowed)}",
            )


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


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
        problems.add(path, unknown_name_message(kind, value, choices))
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
