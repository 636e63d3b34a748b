"""The engine: a prepared plan, simulated chunk by chunk, into a Dataset or a store.

``plan`` resolves the run (subjects, seed, shared grids); ``chunk`` simulates subjects
[start, stop); ``execution`` maps chunks over threads or an injected mapper (``distributed``
for Dask); ``store`` writes NetCDF/Zarr chunk by chunk; ``run`` puts them together.
"""

from pksim.engine.execution import (
    DEFAULT_CHUNK_SUBJECTS,
    MAX_DEFAULT_THREADS,
    Progress,
    default_threads,
    map_chunks,
)
from pksim.engine.plan import Plan, prepare
from pksim.engine.run import run

__all__ = [
    "DEFAULT_CHUNK_SUBJECTS",
    "MAX_DEFAULT_THREADS",
    "Plan",
    "Progress",
    "default_threads",
    "map_chunks",
    "prepare",
    "run",
]
