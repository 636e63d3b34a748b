"""Reporting bad input: the problems found, the errors that carry them, one unknown-name message.

Every validator in pksim appends what it finds to a :class:`Problems` collector under a dotted
key (``regimens[0].daily_dose_mg``), so a user sees every mistake of a file at once. A
validating constructor (e.g. ``Regimen.__post_init__``) raises :class:`Invalid` carrying its
problems with keys relative to the value; a loader adds them under its own key with
:meth:`Problems.extend`. An unknown name is always described by :func:`unknown_name`.

A message never repeats a user value as it is: :func:`shown` shortens it and escapes control
characters (a 1 MB title or an ANSI escape sequence must not reach the terminal), and
:class:`Problems` escapes and bounds every key and message it records.
"""

from __future__ import annotations

import difflib
import errno
import itertools
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NoReturn, TypeVar

__all__ = [
    "MAX_MESSAGE_CHARS",
    "MAX_PROBLEMS_SHOWN",
    "SHOWN_CHARS",
    "SUGGESTION_CUTOFF",
    "Invalid",
    "Problems",
    "ScenarioError",
    "collect",
    "escaped",
    "join_key",
    "moved_names",
    "os_error_text",
    "shown",
    "unknown_name",
]

T = TypeVar("T")

SUGGESTION_CUTOFF = 0.6
"""Least :class:`difflib.SequenceMatcher` similarity (0-1) for a name to be suggested."""

SHOWN_CHARS = 60
"""Most characters of a user value repeated in a message (:func:`shown`); longer values are cut
with an ellipsis and their length is given."""

MAX_MESSAGE_CHARS = 2000
"""Most characters of one problem's message (a last guard: messages show values with
:func:`shown`, and the longest list of valid names is a few hundred characters)."""

MAX_KEY_CHARS = 200
"""Most characters of a dotted key in a message (keys may hold a user's misspelt key)."""

MAX_PROBLEMS_SHOWN = 50
"""Most problems listed in an :class:`Invalid` message; the rest are counted (all are kept in
:attr:`Invalid.problems`)."""

_SUGGEST_CHARS = 100
"""Names longer than this get no "did you mean" (no valid name is anywhere near as long)."""

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = SHOWN_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxlevel = 3
_LONG_INT_BITS = 128
"""Integers wider than this are described by their size, not written out (a 10**400 seed)."""


def escaped(text: str, limit: int | None = None, *, keep_newlines: bool = False) -> str:
    """``text`` with every non-printable character (controls such as NUL and ESC, format
    characters such as bidirectional overrides, line breaks unless ``keep_newlines``) written as
    a Python escape (``\\x1b``), cut to ``limit`` characters with an ellipsis."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(
        c
        if c.isprintable() or (keep_newlines and c == "\n")
        else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``value`` as a message may repeat it: its ``repr`` (control characters escaped), a
    string cut to ``limit`` characters with an ellipsis and its length, a container to a few
    items, an integer of more than :data:`_LONG_INT_BITS` bits described by its size."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _LONG_INT_BITS:
            return f"an integer of {value.bit_length():,} bits"
        return repr(value)
    text = escaped(_REPR.repr(value))
    return text if len(text) <= 2 * limit else text[: 2 * limit] + "…"


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
        """Record one problem of the value at ``where`` (a dotted key; empty for the whole).

        Both are kept printable and bounded (:func:`escaped`; at most :data:`MAX_KEY_CHARS`
        and :data:`MAX_MESSAGE_CHARS`), whatever user text they hold."""
        where = escaped(where, MAX_KEY_CHARS)
        self._items.append((where, escaped(message, MAX_MESSAGE_CHARS, keep_newlines=True)))

    def extend(self, where: str, other: Problems) -> None:
        """Record every problem of ``other`` (keys relative to ``where``) under ``where``."""
        for key, message in other._items:
            self.add(join_key(where, key), message)

    def keys(self) -> list[str]:
        """The dotted key of each problem, in order (empty for a problem of the whole)."""
        return [key for key, _ in self._items]

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
        lines = list(itertools.islice(problems, MAX_PROBLEMS_SHOWN))
        if len(problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
        super().__init__(f"{escaped(origin, MAX_KEY_CHARS)}: {count}:\n  - " + "\n  - ".join(lines))


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
    The name is repeated with :func:`shown` (shortened, control characters escaped).
    """
    valid = sorted(str(v) for v in valid)
    labels = {v.casefold(): v for v in valid}
    labels |= {str(a).casefold(): str(v) for a, v in (aliases or {}).items()}
    close = []
    if isinstance(name, str) and len(name) <= _SUGGEST_CHARS:
        close = difflib.get_close_matches(
            name.casefold(), list(labels), n=1, cutoff=SUGGESTION_CUTOFF
        )
    hint = f' (did you mean "{labels[close[0]]}"?)' if close else ""
    return f"unknown {kind} {shown(name)}{hint}; valid: {', '.join(valid)}"


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


_OS_ERRORS: Mapping[int, str] = {
    errno.ENOENT: "{name} does not exist",
    errno.EEXIST: "{name} already exists",
    errno.EACCES: "permission denied: you may not read or write {name}",
    errno.EPERM: "permission denied: you may not read or write {name}",
    errno.EISDIR: "{name} is a folder, where a file is needed",
    errno.ENOTDIR: "a part of {name} is a file, where a folder is needed",
    errno.EROFS: "{name} is on a read-only file system",
    errno.ENOSPC: "the disk holding {name} is full",
    errno.EDQUOT: "the disk quota for {name} is used up",
    errno.ENAMETOOLONG: "the name {name} is too long for the file system",
    errno.ELOOP: "{name} is a loop of symbolic links",
    errno.ENOTEMPTY: "the folder {name} is not empty",
    errno.EBUSY: "{name} is in use by another program",
    errno.EIO: "the disk could not read or write {name} (input/output error)",
}
"""Plain words for the file errors a user meets, by error number."""
_LIBRARY_ERRNO = re.compile(r"errno = (\d+)")
_LIBRARY_NAME = re.compile(r"name = '([^']*)'")
"""The error number and file name inside a library's own message (HDF5: "unable to open file:
name = 'x.nc', errno = 13, error message = 'Permission denied', flags = 13, o_flags = 242")."""


def os_error_text(error: OSError, name: object = None) -> str:
    """What went wrong with a file, in plain words, without the system's codes: the file's name
    (``name``, else the error's) and the usual causes by error number; a library's message
    that carries its own ``errno = N`` (HDF5) is read for the number and the name."""
    number, filename = error.errno, name if name is not None else error.filename
    message = str(error)
    if number is None and (found := _LIBRARY_ERRNO.search(message)):
        number = int(found.group(1))
    if filename is None and (found := _LIBRARY_NAME.search(message)):
        filename = found.group(1)
    if filename is None and (number is None or number not in _OS_ERRORS):
        return message  # not about a file (a timeout, a lost connection): its own words
    where = shown(str(filename)) if filename is not None else "the file"
    if number in _OS_ERRORS:
        return _OS_ERRORS[number].format(name=where)
    reason = error.strerror or (message.split("(")[0].strip() if message else type(error).__name__)
    return f"{where}: {reason}"
