"""Co-medication courses: the validated spec of one course of a catalogued drug, and the rule
that two courses of the same drug must not overlap.

Days: co-medication day ``d`` is the interval ``[24 (d - 1), 24 d)`` h after the first
tacrolimus dose (day 1 starts at t = 0, the day-``d`` trough is sampled at ``24 d``). A course
from ``start_day`` to ``stop_day`` (inclusive) is active on ``[24 (start_day - 1), 24 stop_day)``.
How the effect of a course develops over time is :mod:`pksim.modifiers.interactions`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pksim.errors import Invalid, Problems, shown
from pksim.library.cited import is_real
from pksim.library.drugs import lookup_drug
from pksim.units import HOURS_PER_DAY

__all__ = ["COURSE_DAY_LIMIT", "CoMedication", "overlap_message", "overlapping_courses"]

COURSE_DAY_LIMIT = 3650.0
"""Largest ``|start_day|`` and ``|stop_day|`` of a course (days, ten years from the first
tacrolimus dose), ``-inf`` for "long established" aside. The longest run is a year and every
catalogued effect has worn off within weeks of a stop (the slowest, hepatic CYP3A
re-synthesis, has a half-life of 72 h), so anything further out is a typo (such as hours
given as days), not a course."""


@dataclass(frozen=True, slots=True)
class CoMedication:
    """A course of a co-medication: taken from ``start_day`` to ``stop_day`` inclusive.

    ``drug`` is any catalogue name or alias (stored as the canonical name). ``start_day`` may be
    <= 0 (started before tacrolimus) or ``-inf`` (long established: full effect from the start);
    ``stop_day`` None means "until the end"; a course may also have stopped before day 1 (its
    effect still wearing off). Fractional days are allowed; finite days lie within
    +-:data:`COURSE_DAY_LIMIT`.
    """

    drug: str
    start_day: float = 1.0
    stop_day: float | None = None

    def __post_init__(self) -> None:
        problems = Problems()
        if self.drug is None:
            problems.add("drug", 'required, e.g. drug = "voriconazole"')
        elif not isinstance(self.drug, str) or not self.drug.strip():
            problems.add(
                "drug", f"must be a drug name (a non-empty string), got {shown(self.drug)}"
            )
        else:
            try:
                object.__setattr__(self, "drug", lookup_drug(self.drug).name)
            except ValueError as error:  # unknown, a group of entries, or modelled elsewhere
                problems.add("drug", str(error))
        start, stop = self.start_day, self.stop_day
        limit = f"{-COURSE_DAY_LIMIT:g} to {COURSE_DAY_LIMIT:g}"
        start_ok = is_real(start) and (start == -math.inf or abs(start) <= COURSE_DAY_LIMIT)
        if not start_ok:
            problems.add(
                "start_day", f"must be a number of days from {limit}, or -inf, got {shown(start)}"
            )
        stop_ok = stop is None or (is_real(stop) and abs(stop) <= COURSE_DAY_LIMIT)
        if not stop_ok:
            problems.add(
                "stop_day", f"must be a number of days from {limit}, or absent, got {shown(stop)}"
            )
        elif stop is not None and start_ok and stop < start:
            problems.add("stop_day", f"must be >= start_day ({start:g}), got {stop:g}")
        if problems:
            raise Invalid("co-medication", problems)

    @property
    def days(self) -> str:
        """When the course is taken, in words ("days 15 to 22", "from day 1 to the end")."""
        start = "long before day 1" if self.start_day == -math.inf else f"day {self.start_day:g}"
        if self.stop_day is None:
            return f"from {start} to the end"
        if self.start_day == -math.inf:
            return f"from {start} to day {self.stop_day:g}"
        return f"days {self.start_day:g} to {self.stop_day:g}"

    @property
    def start_h(self) -> float:
        """Start time (h after the first tacrolimus dose)."""
        return HOURS_PER_DAY * (self.start_day - 1.0)

    @property
    def stop_h(self) -> float:
        """Stop time (h), ``inf`` when open-ended."""
        return math.inf if self.stop_day is None else HOURS_PER_DAY * self.stop_day


def overlapping_courses(courses: Sequence[CoMedication]) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` of courses of the same drug that overlap: course ``j`` starts
    before course ``i`` (one that started earlier, or is listed before it) stops; one pair per
    overlapping course ``j``, in the order listed. Later courses of a drug continue the effect
    left by earlier ones (:mod:`pksim.modifiers.interactions`), so they must not overlap."""
    by_drug: dict[str, list[int]] = {}
    for index, course in enumerate(courses):
        by_drug.setdefault(course.drug, []).append(index)
    pairs = []
    for indices in by_drug.values():
        indices.sort(key=lambda i: courses[i].start_h)
        longest = indices[0]  # the course that stops last among those started so far
        for index in indices[1:]:
            if courses[index].start_h < courses[longest].stop_h:
                pairs.append((longest, index))
            if courses[index].stop_h > courses[longest].stop_h:
                longest = index
    return sorted(pairs, key=lambda pair: pair[1])


def overlap_message(before: CoMedication, after: CoMedication, before_label: str) -> str:
    """Why course ``after`` cannot be given with ``before`` (named ``before_label``), and what
    to do instead."""
    return (
        f"{after.drug} {after.days} overlaps {before_label} ({before.days}); courses of the "
        "same drug must not overlap: merge them into one course, or start the later one after "
        "the earlier one stops"
    )
