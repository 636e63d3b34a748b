"""Dose response of a fixed regimen: PTA (with its Wilson interval), % below and % above the
target per candidate daily dose, and the best dose under a stated rule.

Every candidate's troughs come exactly from one pass over the cohort
(:mod:`pksim.engine.dose_response`); each chunk's candidates are counted as the attainment
reducer counts a run's regimens (:mod:`pksim.results.dose_response_counts`), so a candidate's
row is what ``target_attainment`` says of a run of that dose: the same days (the scenario's
``[target]`` window, else its day, else the last day), per-subject targets, classification,
percentiles and interval. Counts merge across chunks by exact sums, so the result is the same
at any chunk size, threads or Dask workers, and memory does not grow with the cohort.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pksim import contract, units
from pksim.engine.dose_response import (
    PER_DAY,
    DoseRequest,
    dose_grid,
    dose_request,
)
from pksim.engine.execution import DEFAULT_CHUNK_SUBJECTS, Progress, map_chunks
from pksim.engine.plan import Plan, prepare, provenance
from pksim.engine.run import chunk_mapper
from pksim.results.dose_response_counts import GivenDoses, reduced_candidates
from pksim.results.percentiles import PERCENTILES
from pksim.results.reducer import BELOW_LLOQ_CLASS, CLASSES, AttainmentCounts
from pksim.results.spec import AttainmentSpec, scenario_spec
from pksim.results.tables import CI_COLUMNS, assemble, level_key
from pksim.scenario import Scenario

__all__ = ["DEFAULT_MAX_ABOVE_PCT", "BestDoseRule", "best_dose", "dose_response"]

DEFAULT_MAX_ABOVE_PCT = 10.0
"""The best dose's default limit on over-exposure: at most this % of subjects above range
(the issue's example rule: highest PTA with at most 10 % above range)."""

DOSE = "dose"
SAME_DOSE_AS = "same_dose_as"
BEST, BEST_DOSE = "best", "best_dose"
GIVEN_LOW, GIVEN_HIGH = "daily_dose_low_mg", "daily_dose_high_mg"
_PCT = {"units": "%"}
_LONG_NAMES = {
    "pct_in_range": "Subjects in range on every day judged (PTA)",
    "pct_below": "Subjects below range on any day judged",
    "pct_above": "Subjects above range on any day judged",
    "pct_below_lloq": "Subjects measured below the LLOQ on any day judged",
    CI_COLUMNS[0]: "PTA, lower end of the Wilson interval",
    CI_COLUMNS[1]: "PTA, upper end of the Wilson interval",
}


@dataclass(frozen=True, slots=True)
class BestDoseRule:
    """The best dose: the highest PTA among the candidates with at most ``max_above_pct`` %
    of subjects above range (and at most ``max_below_pct`` % below it, when given); ties go
    to the lowest dose."""

    max_above_pct: float = DEFAULT_MAX_ABOVE_PCT
    max_below_pct: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_above_pct", "max_below_pct"):
            value = getattr(self, name)
            if value is None and name == "max_below_pct":
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"{name} must be a percentage 0..100, got {value!r}")
            if not 0.0 <= float(value) <= 100.0:
                raise ValueError(f"{name} must be a percentage 0..100, got {value!r}")
            object.__setattr__(self, name, float(value))

    def describe(self) -> str:
        """The rule in words."""
        limits = f"at most {self.max_above_pct:g} % above range"
        if self.max_below_pct is not None:
            limits += f" and at most {self.max_below_pct:g} % below it"
        return f"highest % in range with {limits} (ties: the lowest dose)"

    def choose(self, pta: np.ndarray, above: np.ndarray, below: np.ndarray) -> int | None:
        """Index of the best candidate (arrays over ascending doses), or None when none
        satisfies the limits."""
        allowed = above <= self.max_above_pct
        if self.max_below_pct is not None:
            allowed &= below <= self.max_below_pct
        if not allowed.any():
            return None
        return int(np.argmax(np.where(allowed, pta, -np.inf)))  # first maximum: lowest dose


def dose_response(
    scenario: Scenario | str | Path,
    *,
    regimen: str | None = None,
    doses_mg_per_day: Sequence[float] | None = None,
    doses_mg_per_kg_per_day: Sequence[float] | None = None,
    by: str | None = None,
    day: int | None = None,
    window: tuple[int, int] | None = None,
    measured: bool = False,
    target: tuple[float, float] | None = None,
    max_above_pct: float = DEFAULT_MAX_ABOVE_PCT,
    max_below_pct: float | None = None,
    n_subjects: int | None = None,
    seed: int | None = None,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    threads: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> xr.Dataset:
    """Target attainment of every candidate daily dose of one fixed regimen of ``scenario``.

    ``regimen`` names the scenario's regimen whose schedule, formulation, ceilings, rounding
    and adherence apply (None: its only regimen; one with ``changes`` or ``tdm`` is refused).
    The candidates are exactly one of ``doses_mg_per_day`` (everyone the same daily dose) or
    ``doses_mg_per_kg_per_day`` (times each subject's weight), then the regimen's ceilings and
    rounding: candidates that round to the same doses are the same dose (``same_dose_as``).
    ``by`` a categorical subject coordinate (e.g. ``"weight_band"``) gives one response per
    level (a dose per band). ``day``, ``window``, ``measured`` and ``target`` judge as
    :func:`pksim.target_attainment` does (default: the scenario's ``[target]`` days, true
    troughs, per-subject targets). The best dose: the highest PTA with at most
    ``max_above_pct`` % above range (and ``max_below_pct`` % below, when given), lowest dose on
    ties. ``n_subjects``, ``seed``, ``chunk_subjects``, ``threads``, ``client`` and ``progress``
    as in :func:`pksim.run`; the result does not depend on the chunking.

    Returns an ``xarray.Dataset`` over ``dose`` (and the ``by`` coordinate): ``n``,
    ``pct_in_range`` with ``pct_in_range_ci_low``/``_high`` (Wilson, 95 %), ``pct_below``,
    ``pct_above`` (and ``pct_below_lloq`` when measured), the trough percentiles ``median``,
    ``p5``, ``p25``, ``p75``, ``p95`` (ng/mL, from a histogram within 0.023 %), per dose the
    daily dose given (``daily_dose_low_mg``/``_high_mg``) and ``same_dose_as``, ``best``
    (bool) and ``best_dose`` (NaN when no candidate meets the rule); units, the rule and the
    run's provenance in attrs.
    """
    plan = prepare(scenario, n_subjects, seed)
    grid = dose_grid(doses_mg_per_day, doses_mg_per_kg_per_day)
    rule = BestDoseRule(max_above_pct, max_below_pct)
    if by is not None and not isinstance(by, str):
        raise ValueError(f"by must be one subject coordinate name (or None), got {by!r}")
    spec = scenario_spec(
        plan.scenario,
        [() if by is None else (by,)],
        day=day,
        window=window,
        measured=measured,
        target=target,
        percentiles="histogram",
    )
    request = dose_request(
        plan.scenario,
        regimen,
        grid,
        days=(spec.first_day, spec.last_day),
        measured=spec.measured,
        coordinates=spec.groupings[0],
    )
    parts = map_chunks(
        reduced_candidates,
        plan,
        chunk_subjects,
        threads=threads,
        mapper=chunk_mapper(client),
        progress=progress,
        arguments=(request, spec),
    )
    counts, given = _merged(parts)
    return _dataset(plan, request, spec, counts, given, rule)


def best_dose(
    ds: xr.Dataset,
    *,
    max_above_pct: float = DEFAULT_MAX_ABOVE_PCT,
    max_below_pct: float | None = None,
) -> xr.DataArray:
    """The best candidate dose of a :func:`dose_response` Dataset under the rule (per level of
    its subgroup, if any): highest ``pct_in_range`` with ``pct_above`` <= ``max_above_pct``
    (and ``pct_below`` <= ``max_below_pct``), the lowest dose on ties; NaN where no candidate
    meets the limits."""
    rule = BestDoseRule(max_above_pct, max_below_pct)
    missing = [v for v in ("pct_in_range", "pct_above", "pct_below") if v not in ds]
    if missing or DOSE not in ds.dims:
        raise ValueError(f"ds must be a dose_response Dataset; it lacks {missing or [DOSE]}")
    return _best(ds, rule)


def _best(ds: xr.Dataset, rule: BestDoseRule) -> xr.DataArray:
    doses = ds[DOSE].values
    pta = ds["pct_in_range"].transpose(DOSE, ...)
    flat_shape = (doses.size, -1)
    pta_values = pta.values.reshape(flat_shape)
    above = ds["pct_above"].transpose(DOSE, ...).values.reshape(flat_shape)
    below = ds["pct_below"].transpose(DOSE, ...).values.reshape(flat_shape)
    chosen = [
        rule.choose(pta_values[:, j], above[:, j], below[:, j]) for j in range(above.shape[1])
    ]
    values = np.array([np.nan if c is None else doses[c] for c in chosen])
    return xr.DataArray(
        values.reshape(pta.shape[1:]),
        dims=pta.dims[1:],
        coords={name: ds[name] for name in pta.dims[1:]},
        attrs={
            "units": ds[DOSE].attrs.get("units", PER_DAY),
            "long_name": "Best candidate dose",
            "rule": rule.describe(),
        },
    )


def _merged(parts: Iterator[tuple[AttainmentCounts, GivenDoses]]):
    counts, given = next(parts)
    for part_counts, part_given in parts:
        counts, given = counts + part_counts, given + part_given
    return counts, given


def _dataset(
    plan: Plan,
    request: DoseRequest,
    spec: AttainmentSpec,
    counts: AttainmentCounts,
    given: GivenDoses,
    rule: BestDoseRule,
) -> xr.Dataset:
    scenario = plan.scenario
    table = assemble(spec, counts, target_label=scenario.target.target.label)[0]
    grid = request.grid
    subgroup = spec.groupings[0][0] if spec.groupings[0] else None
    candidate = table["regimen"].astype(int).to_numpy()
    if subgroup is None:
        dims: tuple[str, ...] = (DOSE,)
        position = (candidate,)
        shape: tuple[int, ...] = (len(grid.values),)
        level_coords = {}
    else:
        levels = sorted(set(table[subgroup]), key=level_key)
        dims, shape = (DOSE, subgroup), (len(grid.values), len(levels))
        index = {level: j for j, level in enumerate(levels)}
        position = (candidate, np.array([index[v] for v in table[subgroup]]))
        attrs = dict(contract.COORDINATE_ATTRS.get(subgroup, {}))
        level_coords = {subgroup: (subgroup, np.asarray(levels), attrs)}

    def filled(column: str, attrs: dict[str, str], dtype: Any = np.float64) -> tuple:
        values = np.zeros(shape, dtype=dtype) if dtype is not np.float64 else np.full(shape, np.nan)
        values[position] = table[column].to_numpy()
        return dims, values, attrs

    variables: dict[str, Any] = {"n": filled("n", {"long_name": "Subjects"}, np.int64)}
    for name in (CLASSES[0], *CI_COLUMNS, *CLASSES[1:], BELOW_LLOQ_CLASS):
        if name in table.columns:
            variables[name] = filled(name, _PCT | {"long_name": _LONG_NAMES[name]})
    for name in PERCENTILES:
        variables[name] = filled(
            name, {"units": units.CONCENTRATION, "long_name": f"Trough, {name} (ng/mL)"}
        )
    runs = _same_dose_as(grid.values, given.same_as_previous)
    dose_attrs = {"units": units.DAILY_DOSE, "long_name": "Daily dose given"}
    variables[GIVEN_LOW] = ((DOSE,), given.low, dose_attrs | {"description": "lowest subject"})
    variables[GIVEN_HIGH] = ((DOSE,), given.high, dose_attrs | {"description": "highest subject"})
    variables[SAME_DOSE_AS] = (
        (DOSE,),
        runs,
        {
            "units": grid.units,
            "long_name": "The candidate giving every subject the same doses (NaN: none)",
        },
    )
    ds = xr.Dataset(
        variables,
        coords={
            DOSE: (
                DOSE,
                np.asarray(grid.values),
                {"units": grid.units, "long_name": "Candidate daily dose"},
            ),
            **level_coords,
        },
    )
    best = _best(ds, rule)
    ds[BEST_DOSE] = best
    ds[BEST] = ds[DOSE] == best
    ds[BEST].attrs = {"long_name": "Best dose under the rule", "rule": rule.describe()}
    attrs = dict(provenance(plan))
    attrs |= {
        "dose_response_regimen": request.regimen.name,
        "dose_units": grid.units,
        "target": table.attrs["target"],
        "variable": spec.variable,
        "first_day": spec.first_day,
        "last_day": spec.last_day,
        "window": int(spec.window),
        "confidence": table.attrs["confidence"],
        "percentiles": table.attrs["percentiles"],
        "best_rule": rule.describe(),
        "max_above_pct": rule.max_above_pct,
    }
    if rule.max_below_pct is not None:
        attrs["max_below_pct"] = rule.max_below_pct
    return ds.assign_attrs(attrs)


def _same_dose_as(values: Sequence[float], same_as_previous: np.ndarray) -> np.ndarray:
    """Per candidate, the first candidate of its run of identical ones (NaN when alone or
    first): candidates are ascending and rounding is monotone, so equal doses are adjacent."""
    out = np.full(len(values), np.nan)
    first = 0
    for c in range(len(values)):
        if same_as_previous[c]:
            out[c] = values[first]
        else:
            first = c
    return out
