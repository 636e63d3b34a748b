"""Reproducible per-subject random streams.

Subject ``i``'s draws depend only on ``(seed, stream, i)``: subjects are grouped in fixed
blocks of :data:`BLOCK_SIZE`, and each (stream, block) pair has its own generator seeded
from ``SeedSequence(seed, spawn_key=(STREAMS[stream], block))``. Any chunking of the cohort,
any number of threads or Dask workers therefore gives bit-identical draws.

Each stream's width (how many values a subject draws, and what value j means) is a constant of
that stream, stated in :data:`STREAM_LAYOUTS`; it never depends on how many streams are
registered. Registering a new stream therefore changes no existing draw (tested in
``tests/test_rng.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np

BLOCK_SIZE = 4096
"""Subjects per random block. Changing it changes every draw: never change it."""

STREAMS: Mapping[str, int] = MappingProxyType(
    {
        "covariates": 1,
        "iiv": 2,
        "iov": 3,
        "residual": 4,
        "sampling_time": 5,
        "adherence": 6,
        "food_adherence": 7,
        "comedication": 8,
        "within_subject": 9,
    }
)
"""Registered stream names. Append new streams with new integers; never renumber."""

STREAM_LAYOUTS: Mapping[str, str] = MappingProxyType(
    {
        "covariates": "uniforms; column j belongs to the covariate whose registry entry lists j "
        "in draw_columns (pksim.library.covariates.COVARIATE_STREAM_WIDTH columns)",
        "iiv": "standard normals; column j belongs to PK parameter PK_PARAMETERS[j]",
        "iov": "standard normals; column k belongs to occasion k",
        "residual": "uniforms; column j belongs to sample j (trough of day j + 1)",
        "sampling_time": "uniforms; column j belongs to sample j",
        "adherence": "raw 64-bit words; (day, dose slot) for days x MAX_DOSES_PER_DAY slots",
        "food_adherence": "uniforms; column j belongs to dose j",
        "comedication": "uniforms; column j belongs to co-medication j "
        "(COMEDICATION_DRAW_WIDTH columns, whatever the scenario's count)",
        "within_subject": "standard normals; column 0 is the subject's own scale of within-subject "
        "variability (IOV and residual SD), pksim.cohort.variability.within_subject_scale",
    }
)
"""What each stream's values mean for one subject. A stream's layout is its own constant:
column-stable draws (:func:`uniform_columns`) keep column j's value when more columns are
drawn, so a longer run or a new covariate appends and moves nothing."""

LARGEST_BELOW_ONE = float(np.nextafter(1.0, 0.0))
"""Largest float below 1: the cap on probabilities fed to an inverse normal CDF."""

Sampler = Callable[[np.random.Generator, int], np.ndarray]


def block_generator(seed: int, stream: str, block: int) -> np.random.Generator:
    """Generator for one (stream, block) pair."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; registered: {sorted(STREAMS)}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    sequence = np.random.SeedSequence(int(seed), spawn_key=(STREAMS[stream], int(block)))
    return np.random.Generator(np.random.PCG64(sequence))


def draw(seed: int, stream: str, start: int, stop: int, sampler: Sampler) -> np.ndarray:
    """Draws for subjects ``start`` (inclusive) to ``stop`` (exclusive).

    ``sampler(rng, size)`` must return an array whose leading dimension is ``size``; it is
    called once per block with ``size == BLOCK_SIZE`` so that a subject's draws never depend
    on which other subjects are simulated with it.
    """
    if not 0 <= start <= stop:
        raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
    first, last = start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE if stop > start else -1
    parts = [sampler(block_generator(seed, stream, b), BLOCK_SIZE) for b in range(first, last + 1)]
    if not parts:
        return sampler(block_generator(seed, stream, 0), BLOCK_SIZE)[:0]
    offset = start - first * BLOCK_SIZE
    return np.concatenate(parts, axis=0)[offset : offset + (stop - start)]


def uniform_columns(seed: int, stream: str, start: int, stop: int, k: int) -> np.ndarray:
    """(stop - start, k) uniforms on [0, 1); column j is the same whatever k (> j)."""
    return draw(seed, stream, start, stop, lambda g, size: g.random((k, size)).T)


def normal_columns(seed: int, stream: str, start: int, stop: int, k: int) -> np.ndarray:
    """(stop - start, k) standard normals; column j is the same whatever k (> j)."""
    return draw(seed, stream, start, stop, lambda g, size: g.standard_normal((k, size)).T)
