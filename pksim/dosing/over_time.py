"""Dose changes and holds of a regimen: the ``changes`` and ``holds`` keys of ``[[regimens]]``.

A **change** takes effect from the first dose of its ``day`` and sets any of the regimen's dose,
schedule, formulation, ceiling and rounding keys (:data:`CHANGE_KEYS`); what it does not set is
kept from the phase before. Its dose is one of

- a new dose form (``daily_dose_mg``, ``mg_per_kg_per_day`` or ``weight_bands``): the dose is
  set anew (a monitoring rule's adjustments end there);
- ``dose_factor``: the dose in force is multiplied (the label's "reduce to one third when
  voriconazole starts" is ``dose_factor = 0.3333``), then capped and rounded;
- neither: the daily dose in force is kept (a formulation switch "1:1"), re-rounded to what
  the new product can give.

A **hold** gives no doses on days ``first_day`` .. ``last_day`` inclusive (the doses return
the day after, at the dose in force). Both are checked against the run length by
:func:`over_time_problems` once the scenario's days are known. Units: days are run days
1..days, doses mg/day.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pksim.checks import check_keys, get_number
from pksim.errors import Invalid, Problems

__all__ = [
    "CHANGE_KEYS",
    "DOSE_FORM_KEYS",
    "MAX_CHANGES",
    "MAX_DOSE_FACTOR",
    "DoseChange",
    "Hold",
    "changes_from_tables",
    "holds_from_tables",
    "over_time_problems",
]

DOSE_FORM_KEYS = ("daily_dose_mg", "mg_per_kg_per_day", "weight_bands")
"""The keys that set a dose anew (exactly one of them in a regimen; at most one in a change)."""

CHANGE_KEYS = (
    "day",
    *DOSE_FORM_KEYS,
    "dose_factor",
    "doses_per_day",
    "dose_clock_times",
    "formulation",
    "max_daily_dose_mg",
    "max_mg_per_kg_per_day",
    "round_to_mg",
    "round_to_capsules",
)
"""Keys of one entry of ``changes``."""

MAX_CHANGES = 50
"""Most changes (and most holds) of one regimen: weekly for most of a year."""

MAX_DOSE_FACTOR = 10.0
"""Largest ``dose_factor`` (and the smallest is its inverse): a plausibility guard against a
factor typed as a percentage; the largest label adjustments are about x 1/3 (voriconazole) and
x 2-3 (rifampicin)."""

_CHANGE_EXAMPLE = "{ day = 43, daily_dose_mg = 5 }"
_HOLD_EXAMPLE = "{ first_day = 15, last_day = 19 }"


@dataclass(frozen=True, slots=True)
class DoseChange:
    """A change from the first dose of ``day``: ``settings`` are regimen keys and values (as
    written, checked when the regimen builds its phases); ``dose_factor`` scales the dose in
    force (None: not given)."""

    day: int
    settings: Mapping[str, Any]
    dose_factor: float | None = None

    @property
    def sets_dose(self) -> bool:
        """Whether the change gives a new dose form."""
        return any(key in self.settings for key in DOSE_FORM_KEYS)


@dataclass(frozen=True, slots=True)
class Hold:
    """No doses on days ``first_day`` .. ``last_day`` inclusive."""

    first_day: int
    last_day: int

    def __post_init__(self) -> None:
        problems = Problems()
        for key in ("first_day", "last_day"):
            get_number({key: getattr(self, key)}, key, "", problems, minimum=1, integer=True)
        if not problems and self.last_day < self.first_day:
            problems.add(
                "last_day", f"must be >= first_day ({self.first_day}), got {self.last_day}"
            )
        if problems:
            raise Invalid("hold", problems)


def changes_from_tables(tables: Any, problems: Problems) -> tuple[DoseChange, ...]:
    """The changes of a ``changes = [...]`` list, in day order; problems under ``changes[i]``."""
    if not isinstance(tables, list | tuple) or not all(isinstance(t, Mapping) for t in tables):
        problems.add("changes", f"must be a list of tables like [{_CHANGE_EXAMPLE}]")
        return ()
    if len(tables) > MAX_CHANGES:
        problems.add("changes", f"at most {MAX_CHANGES} changes, got {len(tables)}")
        return ()
    changes = []
    for i, table in enumerate(tables):
        where = f"changes[{i}]"
        found = Problems()
        check_keys(table, CHANGE_KEYS, "", found)
        day = get_number(table, "day", "", found, minimum=1, integer=True, units="day")
        factor = get_number(
            table,
            "dose_factor",
            "",
            found,
            default=None,
            minimum=1 / MAX_DOSE_FACTOR,
            maximum=MAX_DOSE_FACTOR,
        )
        forms = [key for key in DOSE_FORM_KEYS if key in table]
        if len(forms) + (factor is not None) > 1:
            found.add("", f"give at most one of {', '.join(DOSE_FORM_KEYS)} or dose_factor")
        settings = {k: v for k, v in table.items() if k in CHANGE_KEYS[1:] and k != "dose_factor"}
        if day is not None and not settings and factor is None:
            found.add(
                "", f"changes nothing; give a new dose, schedule or product, e.g. {_CHANGE_EXAMPLE}"
            )
        problems.extend(where, found)
        if not found:
            changes.append(DoseChange(int(day), MappingProxyType(dict(settings)), factor))
    days = [c.day for c in changes]
    if days != sorted(set(days)):
        problems.add("changes", f"days must increase from one change to the next, got {days}")
    return tuple(changes)


def holds_from_tables(tables: Any, problems: Problems) -> tuple[Hold, ...]:
    """The holds of a ``holds = [...]`` list, in day order; overlapping holds are refused."""
    if not isinstance(tables, list | tuple) or not all(isinstance(t, Mapping) for t in tables):
        problems.add("holds", f"must be a list of tables like [{_HOLD_EXAMPLE}]")
        return ()
    if len(tables) > MAX_CHANGES:
        problems.add("holds", f"at most {MAX_CHANGES} holds, got {len(tables)}")
        return ()
    holds = []
    for i, table in enumerate(tables):
        found = Problems()
        check_keys(table, ("first_day", "last_day"), "", found)
        for key in ("first_day", "last_day"):
            if key not in table:
                found.add(key, f"is required, e.g. {_HOLD_EXAMPLE}")
        if not found:
            try:
                holds.append((i, Hold(table["first_day"], table["last_day"])))
            except Invalid as error:
                found.extend("", error.problems)
        problems.extend(f"holds[{i}]", found)
    ordered = sorted(holds, key=lambda item: item[1].first_day)
    for (i, a), (j, b) in itertools.pairwise(ordered):
        if b.first_day <= a.last_day:
            problems.add(
                f"holds[{j}]",
                f"days {b.first_day}..{b.last_day} overlap holds[{i}] (days "
                f"{a.first_day}..{a.last_day}); give each held day once",
            )
    return tuple(hold for _, hold in ordered)


def over_time_problems(
    changes: tuple[DoseChange, ...], holds: tuple[Hold, ...], days: int, problems: Problems
) -> None:
    """Changes and holds that fall outside a run of ``days`` days."""
    for i, change in enumerate(changes):
        if change.day > days:
            problems.add(
                f"changes[{i}].day", f"must be in 1..{days} (the run's days), got {change.day}"
            )
    for i, hold in enumerate(holds):
        if hold.last_day > days:
            problems.add(
                f"holds[{i}]",
                f"days {hold.first_day}..{hold.last_day} must lie in 1..{days} (the run's days)",
            )
