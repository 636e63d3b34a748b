"""Writing a scenario mapping back as TOML text (the app's "download the scenario file").

Python's :mod:`tomllib` only reads. Scenario files hold a small part of TOML: strings,
integers, floats (``inf`` for a long-established co-medication), booleans, arrays of those or of
inline tables, tables and arrays of tables, so this writer covers exactly that, and
``tomllib.loads(to_toml(m)) == m`` for every such mapping (tested on every bundled scenario).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["to_toml"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def to_toml(mapping: Mapping[str, Any], *, header: str = "") -> str:
    """TOML text of ``mapping``: its plain values first, then its tables, then its arrays of
    tables (the order TOML needs); ``header`` becomes leading comment lines."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += _table_body(mapping, ())
    return "\n".join(lines).strip("\n") + "\n"


def _table_body(mapping: Mapping[str, Any], path: tuple[str, ...]) -> list[str]:
    lines: list[str] = []
    tables, arrays = [], []
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif _is_table_array(value):
            arrays.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables:
        name = ".".join(_key(k) for k in (*path, key))
        lines += ["", f"[{name}]", *_table_body(value, (*path, key))]
    for key, values in arrays:
        name = ".".join(_key(k) for k in (*path, key))
        for value in values:
            lines += ["", f"[[{name}]]", *_table_body(value, (*path, key))]
    return lines


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise ValueError(f"cannot write {type(value).__name__} {value!r} as a TOML value")


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
