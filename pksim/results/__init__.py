"""Results: attainment tables (one reducer for in-memory Datasets and streamed runs),
percentiles, text tables and plots."""

from pksim.results.attainment import format_attainment, target_attainment
from pksim.results.percentiles import CONFIDENCE, PERCENTILES, wilson_interval
from pksim.results.summary import attainment_tables, summarize
from pksim.results.tables import tidy_summary

__all__ = [
    "CONFIDENCE",
    "PERCENTILES",
    "attainment_tables",
    "format_attainment",
    "summarize",
    "target_attainment",
    "tidy_summary",
    "wilson_interval",
]
