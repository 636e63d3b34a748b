"""Target attainment over a result Dataset: trough percentiles and PTA by regimen and subgroup.

Works on the output contract of ``pksim.run`` only (variable names, dims, attrs), never on
simulator internals. Concentrations are in ng/mL. The whole Dataset goes through the same
reducer as every chunk of a streamed run (:mod:`pksim.results.reducer`), with exact
percentiles, so ``target_attainment(pksim.run(s))`` and ``pksim.summarize(s)`` give the same
table.

Definitions used throughout:

- a trough is *in range* when ``lower <= trough <= upper`` (both limits inclusive), *below*
  when ``trough < lower`` and *above* when ``trough > upper``;
- the target is per subject (``target_lower``/``target_upper``: renal-impaired subjects have a
  lower ceiling), unless the caller overrides it;
- percentiles use linear interpolation between order statistics (numpy's default ``linear``
  method, Hyndman & Fan type 7);
- the confidence interval of the attainment estimate is the Wilson score interval, which
  quantifies the Monte-Carlo error of the simulated proportion.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr

from pksim.results.percentiles import CONFIDENCE, PERCENTILES, wilson_interval
from pksim.results.reducer import AttainmentReducer, check_result_dataset
from pksim.results.spec import dataset_spec
from pksim.results.tables import assemble, format_attainment, format_range

__all__ = [
    "CONFIDENCE",
    "PERCENTILES",
    "format_attainment",
    "format_range",
    "target_attainment",
    "wilson_interval",
]


def target_attainment(
    ds: xr.Dataset,
    *,
    by: str | Sequence[str] = ("regimen",),
    day: int | None = None,
    window: tuple[int, int] | None = None,
    measured: bool = False,
    target: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Probability of target attainment and trough percentiles, one row per group.

    Parameters
    ----------
    ds
        A result Dataset (``pksim.run``): ``trough`` (regimen, subject, day) in ng/mL,
        per-subject ``target_lower``/``target_upper`` and subgroup coordinates on ``subject``.
    by
        Grouping: ``"regimen"`` (always the first grouping, whether named or not) and any
        categorical coordinate on ``subject``, e.g. ``("regimen", "cyp3a5")``.
    day
        Day evaluated. Exclusive with ``window``. Without either: the days of the scenario's
        ``[target]`` (the attrs ``target_first_day``/``target_last_day``/``target_is_window``
        of a ``pksim.run`` Dataset: its window, else its day, else the last day), or the last
        day of a Dataset without them.
    window
        ``(first_day, last_day)``, inclusive: a subject is in range when the trough is in range
        on *every* day of the window, below when it is under the lower limit on *any* day, above
        when it is over the upper limit on any day (so below and above may overlap and the three
        need not sum to 100 %). Percentiles are then over all subject-days of the window.
    measured
        Use ``trough_measured`` (with residual error) instead of the true ``trough``. Values
        flagged ``below_lloq`` count as 0 ng/mL for classification; a percentile that falls on
        them is NaN (unknown, under the LLOQ); column ``pct_below_lloq`` is added.
    target
        ``(lower, upper)`` in ng/mL overriding the per-subject targets for everyone.

    Returns
    -------
    pandas.DataFrame
        Columns: ``regimen``, the subgroups, ``n`` (subjects), ``median``, ``p5``, ``p25``,
        ``p75``, ``p95`` (ng/mL), ``pct_in_range``, ``pct_below``, ``pct_above`` (percent of
        subjects), ``pct_in_range_ci_low``/``_high`` (Wilson score 95 % interval of the
        attainment, percent), ``first_day``, ``last_day`` (equal for a single day). Regimens keep
        their Dataset order; subgroup levels are ordered ``"none"`` first, then by the first
        number in the label (``"< 60 kg"`` before ``"≥ 60 kg"``), then alphabetically.
        ``DataFrame.attrs`` holds ``variable``, ``units``, ``target`` (text), ``target_ranges``,
        ``first_day``, ``last_day``, ``window``, ``confidence`` and ``percentiles``.
    """
    check_result_dataset(ds, measured)
    spec = dataset_spec(
        ds,
        [by],
        day=day,
        window=window,
        measured=measured,
        target=target,
        percentiles="exact",
    )
    counts = AttainmentReducer(spec).reduce(ds)
    return assemble(spec, counts, target_label=str(ds.attrs.get("target_label", "")))[0]
