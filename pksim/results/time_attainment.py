"""Attainment over time: how many subjects are in range day by day and week by week, how soon
they get there, how long they stay, how many are over- or under-exposed on the way and how many
dose changes it took, per regimen and subgroup.

:func:`attainment_over_time` reads a result Dataset (the whole Dataset reduced as one chunk);
:func:`summarize_over_time` streams a scenario's run chunk by chunk in memory independent of the
cohort size. Both use :class:`~pksim.results.over_time.OverTimeReducer`, whose integer counts
merge exactly, so they give the same numbers (see :class:`AttainmentOverTime` for the tables).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import xarray as xr

from pksim.engine.execution import DEFAULT_CHUNK_SUBJECTS, Progress
from pksim.results.over_time import OverTimeReducer
from pksim.results.over_time_spec import (
    OVER_EXPOSURE_NG_PER_ML,
    UNDER_EXPOSURE_NG_PER_ML,
    dataset_over_time_spec,
    scenario_over_time_spec,
)
from pksim.results.over_time_tables import AttainmentOverTime, assemble_over_time
from pksim.results.reducer import check_result_dataset
from pksim.results.summary import streamed_counts
from pksim.scenario import Scenario

__all__ = [
    "OVER_EXPOSURE_NG_PER_ML",
    "UNDER_EXPOSURE_NG_PER_ML",
    "AttainmentOverTime",
    "attainment_over_time",
    "over_time_tables",
    "summarize_over_time",
]


def attainment_over_time(
    ds: xr.Dataset,
    *,
    by: str | Sequence[str] = ("regimen",),
    span: tuple[int, int] | None = None,
    measured: bool = False,
    target: tuple[float, float] | None = None,
    above_ng_per_ml: float = OVER_EXPOSURE_NG_PER_ML,
    below_ng_per_ml: float = UNDER_EXPOSURE_NG_PER_ML,
) -> AttainmentOverTime:
    """Attainment over time of a result Dataset, per regimen (and the subgroups in ``by``).

    Parameters
    ----------
    ds
        A result Dataset (``pksim.run``): ``trough`` (regimen, subject, day) ng/mL, the
        per-subject ``target_lower``/``target_upper``, subgroup coordinates on ``subject``;
        optionally ``realised_daily_dose_mg`` (regimen, subject, day) and ``dose_changes``
        (regimen, subject) (without them every regimen keeps its dose: no changes).
    by
        ``"regimen"`` and any categorical subject coordinate, as in ``target_attainment``.
    span
        ``(first_day, last_day)`` inclusive: the days evaluated (those of the Dataset in it);
        default every day. Time in range, first in-range day and the ever-above/below fractions
        are over the span; a trough on day 1 (before steady state) counts when it is in it.
    measured
        Judge ``trough_measured`` (values below the LLOQ count as 0 ng/mL).
    target
        ``(lower, upper)`` ng/mL for everyone instead of the per-subject targets.
    above_ng_per_ml, below_ng_per_ml
        Over- and under-exposure limits (strict), default :data:`OVER_EXPOSURE_NG_PER_ML`
        (15) and :data:`UNDER_EXPOSURE_NG_PER_ML` (3); see there for where they come from.

    Returns
    -------
    AttainmentOverTime
        ``daily``, ``weekly``, ``summary`` tables and ``dose`` (realised dose percentiles per
        regimen and day, or None); see :class:`AttainmentOverTime`.
    """
    check_result_dataset(ds, measured)
    spec = dataset_over_time_spec(
        ds,
        [by],
        span=span,
        measured=measured,
        target=target,
        above_ng_per_ml=above_ng_per_ml,
        below_ng_per_ml=below_ng_per_ml,
    )
    counts = OverTimeReducer(spec).reduce(ds)
    return assemble_over_time(spec, counts, target_label=str(ds.attrs.get("target_label", "")))[0]


def summarize_over_time(
    scenario: Scenario | str | Path,
    n_subjects: int | None = None,
    seed: int | None = None,
    *,
    by: str | Sequence[str] = ("regimen",),
    span: tuple[int, int] | None = None,
    measured: bool = False,
    target: tuple[float, float] | None = None,
    above_ng_per_ml: float = OVER_EXPOSURE_NG_PER_ML,
    below_ng_per_ml: float = UNDER_EXPOSURE_NG_PER_ML,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    threads: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> AttainmentOverTime:
    """Attainment over time of a scenario, streamed over chunks (memory independent of the
    cohort size): the same numbers as ``attainment_over_time(pksim.run(scenario), ...)``
    whatever ``chunk_subjects``, ``threads`` or Dask ``client``."""
    return over_time_tables(
        scenario,
        n_subjects,
        seed,
        groupings=[by],
        span=span,
        measured=measured,
        target=target,
        above_ng_per_ml=above_ng_per_ml,
        below_ng_per_ml=below_ng_per_ml,
        chunk_subjects=chunk_subjects,
        threads=threads,
        client=client,
        progress=progress,
    )[0]


def over_time_tables(
    scenario: Scenario | str | Path,
    n_subjects: int | None = None,
    seed: int | None = None,
    *,
    groupings: Sequence[str | Sequence[str]] = (("regimen",),),
    span: tuple[int, int] | None = None,
    measured: bool = False,
    target: tuple[float, float] | None = None,
    above_ng_per_ml: float = OVER_EXPOSURE_NG_PER_ML,
    below_ng_per_ml: float = UNDER_EXPOSURE_NG_PER_ML,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    threads: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> list[AttainmentOverTime]:
    """One :class:`AttainmentOverTime` per grouping, all from a single streamed simulation."""
    spec_of = partial(
        scenario_over_time_spec,
        groupings=groupings,
        span=span,
        measured=measured,
        target=target,
        above_ng_per_ml=above_ng_per_ml,
        below_ng_per_ml=below_ng_per_ml,
    )
    spec, counts, label = streamed_counts(
        scenario,
        n_subjects,
        seed,
        spec_of,
        OverTimeReducer,
        chunk_subjects=chunk_subjects,
        threads=threads,
        client=client,
        progress=progress,
    )
    return assemble_over_time(spec, counts, target_label=label)
