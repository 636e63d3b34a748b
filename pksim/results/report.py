"""What ``pksim run`` reports, from one pass over the chunks: the result store (when asked),
the attainment tables overall and per subgroup, the attainment over time (every run of more
than one day: how PTA develops matters whether or not doses change, e.g. the approach to steady
state or a co-medication starting) and the reduced data of the plots.

Every chunk is simulated once, reduced by the attainment reducer (and, for the plots, by the
trough-course and concentration-ribbon reducers), written to the store and dropped; nothing is
read back and nothing is computed that no output needs (no assay error or profiles in a
summary-only run, no percentile courses without plots).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pksim import contract
from pksim.engine.execution import DEFAULT_CHUNK_SUBJECTS, Progress
from pksim.engine.plan import prepare, provenance
from pksim.engine.run import reduce_run
from pksim.results.course import Course, CourseReducer, course
from pksim.results.over_time import OverTimeReducer
from pksim.results.over_time_spec import (
    OVER_EXPOSURE_NG_PER_ML,
    UNDER_EXPOSURE_NG_PER_ML,
    scenario_over_time_spec,
)
from pksim.results.over_time_tables import AttainmentOverTime, assemble_over_time
from pksim.results.percentiles import RIBBON_BINS
from pksim.results.reducer import AttainmentReducer
from pksim.results.spec import REGIMEN, scenario_spec
from pksim.results.tables import assemble
from pksim.scenario import Scenario

__all__ = ["SUBGROUPS", "RunReport", "reported_days", "run_report"]

SUBGROUPS = ("weight_band", "cyp3a5", "renal_impairment", "comedication")
"""Subgroups every run is tabulated (and its trough distribution plotted) by."""


@dataclass(frozen=True, slots=True)
class RunReport:
    """The reduced results of a run: ``tables`` (by regimen, then by regimen and each
    subgroup), the ``trough_course`` and concentration ``ribbons`` for plots (None when not
    asked for or not applicable), the run's provenance ``attrs``, each subgroup's title, the
    attainment ``over_time`` grouped as the tables (empty for a one-day run) and
    ``day_tables``, by regimen on each of the scenario's ``[output] compare_days``."""

    tables: tuple[pd.DataFrame, ...]
    trough_course: Course | None
    ribbons: Course | None
    attrs: Mapping[str, Any]
    subgroup_titles: Mapping[str, str]
    over_time: tuple[AttainmentOverTime, ...] = ()
    day_tables: tuple[pd.DataFrame, ...] = ()


def comedication_varies(scenario: Scenario) -> bool:
    """Whether subjects differ in their co-medications (one is taken by only a fraction of
    them): the trough course is then split by co-medication, takers never pooled with the
    others."""
    return any(0 < plan.fraction < 1 for plan in scenario.comedications)


def run_report(
    scenario: Scenario | str | Path,
    n_subjects: int | None = None,
    seed: int | None = None,
    *,
    store: str | Path | None = None,
    plots: bool = False,
    percentiles: str = "histogram",
    subgroups: Sequence[str] = SUBGROUPS,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    threads: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> RunReport:
    """Simulate a scenario once: write ``store`` (a ``.nc`` or ``.zarr`` path, as
    :func:`pksim.run`) when given, tabulate attainment on the scenario's target days (by
    regimen, then by regimen and each of ``subgroups``; ``percentiles`` ``"histogram"`` or
    ``"exact"``) and, with ``plots``, reduce the troughs (and profiles) to percentile courses.
    Memory does not grow with the cohort (except exact percentiles, 8 bytes per regimen,
    subject and evaluated day)."""
    plan = prepare(scenario, n_subjects, seed)
    groupings = [(REGIMEN,), *((REGIMEN, name) for name in subgroups)]
    spec = scenario_spec(
        plan.scenario,
        groupings,
        day=None,
        window=None,
        measured=False,
        target=None,
        percentiles=percentiles,
    )
    day_specs = [
        scenario_spec(
            plan.scenario,
            [(REGIMEN,)],
            day=day,
            window=None,
            measured=False,
            target=None,
            percentiles=percentiles,
        )
        for day in plan.scenario.output.compare_days
    ]
    courses: list[CourseReducer] = []
    if plots and plan.scenario.days > 1:
        by = "comedication" if comedication_varies(plan.scenario) else None
        courses.append(CourseReducer(contract.TROUGH, by=by))
    if plots and plan.scenario.output.profiles:
        courses.append(CourseReducer(contract.CONCENTRATION, bins=RIBBON_BINS))
    over_time: list[OverTimeReducer] = []
    if plan.scenario.days > 1:
        over_time.append(OverTimeReducer(_over_time_spec(plan.scenario, groupings)))
    counts, *totals = reduce_run(
        plan,
        [
            AttainmentReducer(spec),
            *courses,
            *over_time,
            *(AttainmentReducer(day) for day in day_specs),
        ],
        store=store,
        chunk_subjects=chunk_subjects,
        threads=threads,
        client=client,
        progress=progress,
    )
    reduced = {
        reducer.variable: course(total)
        for reducer, total in zip(courses, totals[: len(courses)], strict=True)
    }
    label = plan.scenario.target.target.label
    after_courses = totals[len(courses) :]
    time_results = [
        assemble_over_time(reducer.spec, total, target_label=label)
        for reducer, total in zip(over_time, after_courses[: len(over_time)], strict=True)
    ]
    day_tables = tuple(
        assemble(day, total, target_label=label)[0]
        for day, total in zip(day_specs, after_courses[len(over_time) :], strict=True)
    )
    return RunReport(
        tables=tuple(assemble(spec, counts, target_label=plan.scenario.target.target.label)),
        trough_course=reduced.get(contract.TROUGH),
        ribbons=reduced.get(contract.CONCENTRATION),
        attrs=provenance(plan),
        subgroup_titles={name: contract.COORDINATE_ATTRS[name]["long_name"] for name in subgroups},
        over_time=tuple(time_results[0]) if time_results else (),
        day_tables=day_tables,
    )


def _over_time_spec(scenario: Scenario, groupings: Sequence[tuple[str, ...]]):
    """Attainment over every day of the run, true troughs, the default exposure limits."""
    return scenario_over_time_spec(
        scenario,
        groupings,
        span=None,
        measured=False,
        target=None,
        above_ng_per_ml=OVER_EXPOSURE_NG_PER_ML,
        below_ng_per_ml=UNDER_EXPOSURE_NG_PER_ML,
    )


def reported_days(scenario: Scenario) -> tuple[int, ...]:
    """The days ``pksim run`` tabulates: the target's (its day, or its window's days), then
    the ``[output] compare_days``, ascending."""
    first, last = contract.target_days(scenario)
    return tuple(sorted({*range(first, last + 1), *scenario.output.compare_days}))
