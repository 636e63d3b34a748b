"""The columns of a NONMEM-style dataset: names (any case), aliases and what each cell may hold.

Units (stated once, in docs/mipd.md): ``TIME`` and ``II`` in hours, ``AMT`` in mg, ``DV`` and
``LLOQ`` in ng/mL unless the reader is told the data are in ug/L (the same) or mg/L.
Covariate columns are named like the covariate registry (:mod:`pksim.library.covariates`) or
by a common NONMEM abbreviation (:data:`COVARIATE_ALIASES`); their units are the registry's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pksim.library import covariates as registry

__all__ = [
    "CLOCK_COLUMNS",
    "CONCENTRATION_FACTORS",
    "COVARIATE_ALIASES",
    "COVARIATE_COLUMNS",
    "DOSE_CMT",
    "EVID_VALUES",
    "OBSERVATION_CMT",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "SIMULATION_PREFIX",
    "canonical_column",
    "is_simulation_column",
]

REQUIRED_COLUMNS = ("ID", "AMT", "EVID", "DV")
"""Columns every dataset has (and ``TIME``, or ``DATE`` with a clock ``TIME``)."""

OPTIONAL_COLUMNS = (
    "TIME",
    "CMT",
    "II",
    "ADDL",
    "SS",
    "MDV",
    "RATE",
    "BLQ",
    "LLOQ",
    "OCC",
    "COMED",
)
"""Standard columns that may be left out: CMT (default: 1 for doses, 2 for observations),
II/ADDL/SS/RATE (default 0), MDV (default: 1 for EVID != 0), BLQ (default 0), LLOQ, OCC, and
COMED: the co-medications taken from the record's time on (catalogue names or aliases joined
by ``+``; empty: none), until a later record without them."""
SIMULATION_PREFIX = "SIM_"
"""Columns named ``SIM_...`` (any case) hold what a simulation knows and a clinic does not (the
true individual parameters and concentrations of a simulated cohort,
:mod:`pksim.results.nonmem_cohort`); the reader skips them."""
COMED_SEPARATOR = "+"
"""Joins several co-medications in one COMED cell."""

CLOCK_COLUMNS = ("DATE",)
"""With a ``DATE`` column (ISO ``YYYY-MM-DD``), ``TIME`` holds a clock time ``HH:MM`` (or
``HH:MM:SS``) and the time of each record is counted in hours from the patient's first record."""

EVID_VALUES: Mapping[int, str] = MappingProxyType(
    {
        0: "observation",
        1: "dose",
        2: "other (covariate change)",
        3: "reset",
        4: "reset and dose",
    }
)
"""Event identifiers accepted (NONMEM's meaning)."""

DOSE_CMT = (1,)
"""Compartment of an oral dose: 1, the depot (gut)."""
OBSERVATION_CMT = (0, 2)
"""Compartment of an observation: 2, the central compartment (0: not given)."""

CONCENTRATION_FACTORS: Mapping[str, float] = MappingProxyType(
    {"ng/mL": 1.0, "ug/L": 1.0, "µg/L": 1.0, "mg/L": 1000.0}
)
"""Concentration units a dataset's DV and LLOQ may be given in, and the factor to ng/mL."""

COVARIATE_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in registry.carried() if c.patients is not None
)
"""Covariates a dataset may give, one column each (the patient-file covariates)."""

COVARIATE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "WT": "weight_kg",
        "WEIGHT": "weight_kg",
        "BW": "weight_kg",
        "HCT": "hematocrit_pct",
        "HEMATOCRIT": "hematocrit_pct",
        "AGE": "age_y",
        "SEX": "sex",
        "CYP3A5": "cyp3a5",
        "EGFR": "egfr",
        "SCR": "serum_creatinine_mg_dl",
        "CREAT": "serum_creatinine_mg_dl",
        "LIVER": "liver_function",
        "PRED": "prednisone_mg_per_day",
        "PREDNISONE": "prednisone_mg_per_day",
        "PRED_MG_PER_DAY": "prednisone_mg_per_day",
    }
)
"""Common NONMEM column names of the covariates (compared in upper case)."""

_STANDARD = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *CLOCK_COLUMNS)
_LOOKUP: Mapping[str, str] = MappingProxyType(
    {
        **{name: name for name in _STANDARD},
        **{name.upper(): name for name in COVARIATE_COLUMNS},
        **COVARIATE_ALIASES,
        "COMEDICATION": "COMED",
    }
)


def canonical_column(header: str) -> str | None:
    """The standard column (``"TIME"``) or covariate (``"weight_kg"``) a header names, in any
    case; None when it names neither."""
    return _LOOKUP.get(header.strip().upper())


def is_simulation_column(header: str) -> bool:
    """Whether ``header`` names a simulation-truth column (skipped when a dataset is read)."""
    return header.strip().upper().startswith(SIMULATION_PREFIX)


def known_columns() -> tuple[str, ...]:
    """Every header a dataset may use (for an unknown-column message)."""
    return tuple(sorted({*_STANDARD, *COVARIATE_COLUMNS, *COVARIATE_ALIASES}))
