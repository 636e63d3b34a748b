"""Results: attainment tables (one reducer for in-memory Datasets and streamed runs),
percentiles, text tables and plots."""

from pksim.results.attainment import (
    CONFIDENCE,
    PERCENTILES,
    format_attainment,
    target_attainment,
    wilson_interval,
)
from pksim.results.summary import attainment_tables, summarize

__all__ = [
    "CONFIDENCE",
    "PERCENTILES",
    "attainment_tables",
    "format_attainment",
    "summarize",
    "target_attainment",
    "wilson_interval",
]
