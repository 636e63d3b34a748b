"""Results: attainment tables (one reducer for in-memory Datasets and streamed runs),
percentiles, text tables and plots."""

from pksim.results.attainment import format_attainment, target_attainment
from pksim.results.percentiles import CONFIDENCE, PERCENTILES, wilson_interval
from pksim.results.summary import attainment_tables, summarize
from pksim.results.tables import tidy_summary
from pksim.results.time_attainment import attainment_over_time, summarize_over_time

__all__ = [
    "CONFIDENCE",
    "PERCENTILES",
    "attainment_over_time",
    "attainment_tables",
    "format_attainment",
    "summarize",
    "summarize_over_time",
    "target_attainment",
    "tidy_summary",
    "wilson_interval",
]
