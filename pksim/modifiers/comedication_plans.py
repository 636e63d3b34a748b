"""The ``[[comedications]]`` tables of a scenario: which course, given to what fraction of the
cohort, each checked under its key (``comedications[i].start_day``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pksim.checks import check_keys, get_number
from pksim.errors import Problems, collect
from pksim.modifiers import courses

__all__ = ["COMEDICATION_KEYS", "MAX_COMEDICATIONS", "ComedicationPlan", "comedication_plans"]

MAX_COMEDICATIONS = 8
"""Co-medications per scenario (each has its own column of cohort-assignment draws)."""
COMEDICATION_KEYS = ("drug", "start_day", "stop_day", "fraction")
"""Keys of one ``[[comedications]]`` table."""


@dataclass(frozen=True, slots=True)
class ComedicationPlan:
    """A co-medication course given to a ``fraction`` of the cohort (drawn per subject)."""

    course: courses.CoMedication
    fraction: float = 1.0


def comedication_plans(
    tables: list[Mapping], days: int | None, problems: Problems
) -> tuple[ComedicationPlan, ...]:
    """The plans of a scenario's co-medication tables over ``days`` days (None: unknown);
    every problem into ``problems``; overlapping courses of one drug refused."""
    if len(tables) > MAX_COMEDICATIONS:
        problems.add(
            "comedications", f"at most {MAX_COMEDICATIONS} co-medications, got {len(tables)}"
        )
        return ()
    plans, places = [], []
    for index, table in enumerate(tables):
        where = f"comedications[{index}]"
        check_keys(table, COMEDICATION_KEYS, where, problems)
        course = collect(
            problems,
            where,
            courses.CoMedication,
            table.get("drug"),
            table.get("start_day", 1.0),
            table.get("stop_day"),
        )
        fraction = get_number(
            table, "fraction", where, problems, default=1.0, minimum=0.0, maximum=1.0
        )
        if course is not None and days is not None and course.start_day > days:
            problems.add(
                f"{where}.start_day", f"must be <= days ({days}), got {course.start_day:g}"
            )
        elif course is not None and fraction is not None:
            plans.append(ComedicationPlan(course, fraction))
            places.append(where)
    given = [plan.course for plan in plans]
    for before, after in courses.overlapping_courses(given):
        problems.add(
            places[after], courses.overlap_message(given[before], given[after], places[before])
        )
    return tuple(plans)
