"""Strict reading of user mappings (scenario tables): every problem collected, none raised early.

Values are read with typed getters that never raise: a bad value is recorded in a
:class:`~pksim.errors.Problems` collector under its dotted key and the default is returned.
Free text shown to people (titles, names) is checked by :func:`text_problem`: printable and
short (it ends up in terminals, plots and NetCDF attributes).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from pksim.errors import Problems, shown, unknown_name
from pksim.errors import join_key as _join

MISSING: Any = object()

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Unicode categories refused in free text: controls (NUL, ESC and the ANSI escape sequences it
starts, tabs, line breaks), format characters (bidirectional overrides, zero-width characters),
surrogates, private-use and unassigned code points, line and paragraph separators. Letters of
any script, punctuation, symbols and spaces are allowed."""

_CHARACTER_NAMES = {"\x00": "NUL", "\x1b": "ESC (escape sequence)", "\t": "tab", "\n": "line break"}


def text_problem(value: str, max_chars: int) -> str | None:
    """Why ``value`` (a string) is not acceptable free text, or None: it must hold something
    besides spaces, at most ``max_chars`` characters and no character of
    :data:`_REFUSED_CATEGORIES`."""
    if not value.strip():
        return f"must be a non-empty string, got {shown(value)}"
    if len(value) > max_chars:
        return f"must be at most {max_chars} characters, got {shown(value)}"
    for position, char in enumerate(value):
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            name = _CHARACTER_NAMES.get(char, f"U+{ord(char):04X}")
            return (
                f"must hold printable characters only (no control or format characters such "
                f"as NUL, escape sequences, tabs or line breaks); found {name} at position "
                f"{position} of {shown(value)}"
            )
    return None


unknown_name_message = unknown_name
"""Old name of :func:`pksim.errors.unknown_name`, kept while callers move to the new one."""


def check_keys(mapping: Mapping, allowed: Iterable[str], where: str, problems: Problems) -> None:
    """Record every key of ``mapping`` that is not in ``allowed``, with a suggestion."""
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            problems.add(_join(where, str(key)), unknown_name("key", key, allowed))


def _bound(value: float) -> str:
    """A bound as written in a message: integers in full, other numbers with ``:g``."""
    return str(value) if isinstance(value, int) else f"{value:g}"


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

    ``allow_minus_infinity`` accepts TOML's ``-inf`` (e.g. "started long before"). Integers of
    any size are compared exactly (never converted to float).
    """
    path = _join(where, key)
    if key not in mapping:
        if default is MISSING:
            problems.add(path, "is required")
        return None if default is MISSING else default
    value = mapping[key]
    kind = "a whole number" if integer else "a number"
    dimensioned = units not in ("", "1")
    unit = f" {units}" if dimensioned else ""
    in_units = f" (in {units})" if dimensioned else ""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        problems.add(path, f"must be {kind}{in_units}, got {shown(value)}")
        return None if default is MISSING else default
    if allow_minus_infinity and value == -math.inf:
        return value
    if isinstance(value, float) and not math.isfinite(value):
        problems.add(path, f"must be finite, got {shown(value)}")
        return None if default is MISSING else default
    low_ok = minimum is None or (value > minimum if exclusive_minimum else value >= minimum)
    high_ok = maximum is None or value <= maximum
    if not (low_ok and high_ok):
        sign = ">" if exclusive_minimum else ">="
        low = "" if minimum is None else f"{sign} {_bound(minimum)}{unit}"
        high = "" if maximum is None else f"<= {_bound(maximum)}{unit}"
        allowed = " and ".join(part for part in (low, high) if part)
        problems.add(path, f"must be {allowed}, got {shown(value)}")
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
        problems.add(path, f"must be a non-empty string, got {shown(value)}")
        return None if default is MISSING else default
    if choices is not None and value not in (choices := list(choices)):
        problems.add(path, unknown_name(kind, value, choices))
        return None if default is MISSING else default
    return value


def get_text(
    mapping: Mapping, key: str, where: str, problems: Problems, *, default: str, max_chars: int
) -> str | None:
    """Free text (a title, a name): a string accepted by :func:`text_problem`, ``default`` when
    absent, None (with the problem recorded) when not acceptable."""
    if key not in mapping:
        return default
    value = mapping[key]
    if isinstance(value, str):
        problem = text_problem(value, max_chars)
    else:
        problem = f"must be a string, got {shown(value)}"
    if problem:
        problems.add(_join(where, key), problem)
        return None
    return value


def get_bool(mapping: Mapping, key: str, where: str, problems: Problems, *,
             default: bool) -> bool:  # fmt: skip
    if key not in mapping:
        return default
    value = mapping[key]
    if not isinstance(value, bool):
        problems.add(_join(where, key), f"must be true or false, got {shown(value)}")
        return default
    return value


def get_days(
    mapping: Mapping, key: str, where: str, problems: Problems, *, last: int
) -> tuple[int, ...]:
    """A list of distinct whole days from 1 to ``last``, ascending (empty when absent)."""
    value = mapping.get(key, [])
    if (
        isinstance(value, list)
        and all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= last for d in value)
        and len(set(value)) == len(value)
    ):
        return tuple(sorted(value))
    problems.add(
        _join(where, key),
        f"must be a list of distinct whole days from 1 to {last}, e.g. [28], got {shown(value)}",
    )
    return ()


def get_table(mapping: Mapping, key: str, where: str, problems: Problems) -> Mapping:
    """A sub-table (empty when absent)."""
    value = mapping.get(key, {})
    if not isinstance(value, Mapping):
        problems.add(_join(where, key), f"must be a table ([{key}]), got {shown(value)}")
        return {}
    return value


def get_tables(mapping: Mapping, key: str, where: str, problems: Problems) -> list[Mapping]:
    """An array of tables ([[key]]), empty when absent."""
    value = mapping.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        problems.add(_join(where, key), f"must be an array of tables ([[{key}]])")
        return []
    return value
