"""The counts of a dose response chunk: every candidate judged as the attainment reducer judges
a run's regimens, in one vectorised pass over the candidates.

The result is an :class:`~pksim.results.reducer.AttainmentCounts` with the candidates standing
for the regimens, so chunks merge by its exact sums and :func:`pksim.results.tables.assemble`
makes the table. The classification is the reducer's (:mod:`pksim.results.reducer`): *in
range* when ``lower <= trough <= upper`` on every day judged, *below* / *above* on any day;
measured values below the LLOQ count as 0 ng/mL and as -inf for the percentiles
(:data:`~pksim.results.percentiles.TABLE_BINS` histograms). Counting here instead of building a
Dataset per chunk for the reducer keeps 30 candidates at a fraction of the simulation's cost
(``tests/results/test_dose_response.py`` checks every row against ``target_attainment`` of a
run of that dose).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import xarray as xr

from pksim import contract, units
from pksim.engine.dose_response import CandidateChunk, DoseRequest, candidate_chunk
from pksim.engine.plan import Plan
from pksim.results.percentiles import TABLE_BINS
from pksim.results.reducer import (
    BELOW_LLOQ_CLASS,
    AttainmentCounts,
    LevelCounts,
    attainment_flags,
    level_codes,
    target_counts,
)
from pksim.results.spec import AttainmentSpec

__all__ = ["GivenDoses", "candidate_counts", "candidate_labels", "reduced_candidates"]


@dataclass(frozen=True, slots=True)
class GivenDoses:
    """Per candidate: the lowest and highest daily dose given (mg/day, after ceilings and
    rounding) and whether it gives every subject the same doses as the candidate before it."""

    low: np.ndarray
    high: np.ndarray
    same_as_previous: np.ndarray

    def __add__(self, other: GivenDoses) -> GivenDoses:
        return GivenDoses(
            np.minimum(self.low, other.low),
            np.maximum(self.high, other.high),
            self.same_as_previous & other.same_as_previous,
        )


def candidate_labels(request: DoseRequest) -> np.ndarray:
    """The candidates' names as the counts' regimens: their position in the grid."""
    return np.array([str(index) for index in range(len(request.candidates))])


def reduced_candidates(
    plan: Plan, start: int, stop: int, request: DoseRequest, spec: AttainmentSpec
) -> tuple[AttainmentCounts, GivenDoses]:
    """One chunk of a dose response: every candidate's counts and the doses given."""
    chunk = candidate_chunk(plan, start, stop, request)
    daily = [np.broadcast_to(d, (chunk.n_subjects,)) for d in chunk.daily]
    same = [False] + [bool(np.array_equal(a, b)) for a, b in itertools.pairwise(daily)]
    given = GivenDoses(
        low=np.array([d.min() for d in daily]),
        high=np.array([d.max() for d in daily]),
        same_as_previous=np.array(same),
    )
    return candidate_counts(chunk, request, spec), given


def candidate_counts(
    chunk: CandidateChunk, request: DoseRequest, spec: AttainmentSpec
) -> AttainmentCounts:
    """The attainment counts (histogram percentiles) of every candidate of ``chunk``."""
    n = chunk.n_subjects
    if spec.target is None:
        lower, upper = chunk.lower, chunk.upper
    else:
        lower, upper = np.full(n, spec.target[0]), np.full(n, spec.target[1])
    flags: dict[str, np.ndarray] = {}
    if spec.measured:
        observed = [chunk.measured(c) for c in range(len(request.candidates))]
        blq = np.stack([m.below_lloq for m in observed])
        values = np.where(blq, 0.0, np.stack([m.measured for m in observed]))
        quantified = np.where(blq, -np.inf, values)
        below_lloq = np.any(blq, axis=2)
    else:
        values = quantified = chunk.all_troughs()
        if not np.isfinite(values).all():
            raise ValueError(f"{int((~np.isfinite(values)).sum())} non-finite troughs")
    flags = attainment_flags(values, lower, upper)
    if spec.measured:
        flags[BELOW_LLOQ_CLASS] = below_lloq
    codes, levels = level_codes(
        xr.Dataset(coords={name: ("subject", v) for name, v in chunk.coords.items()})
        if chunk.coords
        else xr.Dataset(coords={"subject": np.arange(n)}),
        spec.groupings[0],
    )
    return AttainmentCounts(
        regimens=candidate_labels(request),
        long_name=contract.MEASURED_LONG_NAME if spec.measured else contract.TROUGH_LONG_NAME,
        units=units.CONCENTRATION,
        n_subjects=n,
        groups=(_level_counts(codes, levels, flags, TABLE_BINS.index(quantified)),),
        targets=target_counts(lower, upper, chunk.renal_impairment),
    )


def _level_counts(
    codes: np.ndarray, levels: tuple, flags: dict[str, np.ndarray], bins: np.ndarray
) -> dict:
    """Counts per subgroup level: subjects, hits per class (candidate,) and the histogram
    (candidate, bin) of the evaluated values; ``bins`` (candidate, subject, day) is used up."""
    n_candidates, n_levels, size = bins.shape[0], len(levels), TABLE_BINS.size
    subjects = np.bincount(codes, minlength=n_levels)
    if n_levels == 1:
        hits = {name: np.count_nonzero(flag, axis=1)[:, None] for name, flag in flags.items()}
    else:  # (candidate, subject) x one-hot (subject, level): exact integer sums in float64
        onehot = np.zeros((codes.size, n_levels))
        onehot[np.arange(codes.size), codes] = 1.0
        hits = {name: np.rint(flag @ onehot).astype(np.int64) for name, flag in flags.items()}
    # bins -> keys (candidate, level, bin) in place: no temporaries of the values' size
    if n_levels == 1:
        bins += (np.arange(n_candidates) * size)[:, None, None]
    else:
        keys = np.arange(n_candidates)[:, None] * n_levels + codes[None, :]
        bins += (keys * size)[:, :, None]
    histogram = np.bincount(bins.ravel(), minlength=n_candidates * n_levels * size)
    histogram = histogram.reshape(n_candidates, n_levels, size)
    return {
        level: LevelCounts(
            n=np.full(n_candidates, subjects[j], dtype=np.int64),
            hits={name: value[:, j].astype(np.int64) for name, value in hits.items()},
            histogram=histogram[:, j],
        )
        for j, level in enumerate(levels)
    }
