"""Reproducible per-subject random streams.

Subject ``i``'s draws depend only on ``(seed, stream, i)``: subjects are grouped in fixed
blocks of :data:`BLOCK_SIZE`, and each (stream, block) pair has its own generator seeded
from ``SeedSequence(seed, spawn_key=(STREAMS[stream], block))``. Any chunking of the cohort,
any number of threads or Dask workers therefore gives bit-identical draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BLOCK_SIZE = 4096
"""Subjects per random block. Changing it changes every draw: never change it."""

STREAMS: dict[str, int] = {
    "covariates": 1,
    "iiv": 2,
    "iov": 3,
    "residual": 4,
    "sampling_time": 5,
    "adherence": 6,
    "food_adherence": 7,
    "comedication": 8,
}
"""Registered stream names. Append new streams with new integers; never renumber."""

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
