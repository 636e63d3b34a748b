"""Reporting bad input: the problems found, the errors that carry them, one unknown-name message.

Every validator in pksim appends what it finds to a :class:`Problems` collector under a dotted
key (``regimens[0].daily_dose_mg``), so a user sees every mistake of a file at once. A
validating constructor (e.g. ``Regimen.__post_init__``) raises :class:`Invalid` carrying its
problems with keys relative to the value; a loader adds them under its own key with
:meth:`Problems.extend`. An unknown name is always described by :func:`unknown_name`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NoReturn, TypeVar

__all__ = [
    "SUGGESTION_CUTOFF",
    "Invalid",
    "Problems",
    "ScenarioError",
    "collect",
    "join_key",
    "moved_names",
    "unknown_name",
]

T = TypeVar("T")

SUGGESTION_CUTOFF = 0.6
"""Least :class:`difflib.SequenceMatcher` similarity (0-1) for a name to be suggested."""


def join_key(where: str, key: str) -> str:
    """``where.key`` (a dotted key path); either part may be empty."""
    if not where or not key:
        return where or key
    return f"{where}{key}" if key.startswith("[") else f"{where}.{key}"


class Problems:
    """Problems found in some input, each a (dotted key, message) pair; iterates as the lines
    ``"<dotted.key>: <what is wrong>; <what is allowed>"``."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        """Record one problem of the value at ``where`` (a dotted key; empty for the whole)."""
        self._items.append((where, message))

    def extend(self, where: str, other: Problems) -> None:
        """Record every problem of ``other`` (keys relative to ``where``) under ``where``."""
        for key, message in other._items:
            self.add(join_key(where, key), message)

    def __iter__(self) -> Iterator[str]:
        return (f"{key}: {message}" if key else message for key, message in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __repr__(self) -> str:
        return f"Problems({list(self)!r})"


class Invalid(ValueError):
    """Every problem of one value (a file, a table, an object), one per line, under ``origin``."""

    def __init__(self, origin: str, problems: Problems | Iterable[str]):
        if not isinstance(problems, Problems):
            lines, problems = list(problems), Problems()
            for line in lines:
                problems.add("", line)
        self.origin = origin
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{origin}: {count}:\n  - " + "\n  - ".join(problems))


def collect(
    problems: Problems, where: str, make: Callable[..., T], *args: Any, **kwargs: Any
) -> T | None:
    """``make(*args, **kwargs)`` (a validating constructor that raises :class:`Invalid`), or
    None after adding its problems to ``problems`` under ``where``."""
    try:
        return make(*args, **kwargs)
    except Invalid as error:
        problems.extend(where, error.problems)
        return None


class ScenarioError(Invalid):
    """Every problem found in a scenario, one per line, under the file's name."""


def unknown_name(
    kind: str, name: object, valid: Iterable[str], *, aliases: Mapping[str, str] | None = None
) -> str:
    """The one message for an unknown name:
    ``unknown <kind> 'name' (did you mean "closest"?); valid: a, b, c``.

    ``valid`` is listed sorted; the suggestion is the closest valid name (compared ignoring
    case), or the valid name of the closest of ``aliases`` (alias -> valid name).
    """
    valid = sorted(str(v) for v in valid)
    labels = {v.casefold(): v for v in valid}
    labels |= {str(a).casefold(): str(v) for a, v in (aliases or {}).items()}
    close = difflib.get_close_matches(
        str(name).casefold(), list(labels), n=1, cutoff=SUGGESTION_CUTOFF
    )
    hint = f' (did you mean "{labels[close[0]]}"?)' if close else ""
    return f"unknown {kind} {name!r}{hint}; valid: {', '.join(valid)}"


def moved_names(module: str, moved: Mapping[str, str]) -> Callable[[str], NoReturn]:
    """A module ``__getattr__`` whose error names the new home of a moved name. ``moved`` maps
    an old name to its new module (``"pksim.dosing.events"``) or to what became of it (``"was
    removed: use ..."``)."""

    def __getattr__(name: str) -> NoReturn:
        if name in moved:
            where = moved[name]
            if where.startswith("pksim."):
                where = f"moved to {where}; import it from there"
            raise AttributeError(f"{module}.{name} {where}")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
