"""The covariate registry: one entry per per-subject quantity, and everything derived from it.

An entry says what the quantity is (``numeric`` with units, ``categorical`` with its categories,
or a yes/no ``flag``), where a subject's value comes from (``origin``), how a virtual population
draws it, how a patient CSV gives it and the plausible range of a given value, and whether it
becomes a coordinate of the result. Every list of covariates in pksim derives from here: the
covariates an effect of a parameter set may use, the fields of
:class:`pksim.cohort.covariates.Covariates`, the columns of the ``covariates`` random stream,
the columns of a patient CSV, the population settings a distribution needs, and the per-subject
coordinates of a result with their units and long names.

A new covariate is one entry here, its data (the population's ``<name>_mean``/``_sd``/``_min``/
``_max`` settings for a ``truncated_normal`` draw; a CSV column) and its effect in a parameter
set: see "How to add a covariate" in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pksim import units
from pksim.checks import unknown_name_message

__all__ = [
    "CATEGORICAL",
    "COVARIATES",
    "COVARIATE_STREAM_WIDTH",
    "FLAG",
    "NUMERIC",
    "UNKNOWN_CODE",
    "UNKNOWN_LABEL",
    "Covariate",
    "OtherUnitsColumn",
    "PatientColumn",
    "carried",
    "continuous_coordinates",
    "effect_covariates",
    "get",
    "is_continuous",
    "result_coordinates",
]

NUMERIC, CATEGORICAL, FLAG = "numeric", "categorical", "flag"
"""Kinds: a number with units; one of a fixed set of categories (stored as its index); yes/no."""
KINDS = (NUMERIC, CATEGORICAL, FLAG)

SUBJECT = "subject"
"""Origin: each subject carries a value (drawn for a virtual cohort, read from a patient CSV)."""
PARAMETER_SET = "parameter_set"
"""Origin: one value for everyone, fixed by the parameter set (``[fixed_covariates]``)."""
RUN = "run"
"""Origin: derived per subject by the run from other covariates and the scenario."""
ORIGINS = (SUBJECT, PARAMETER_SET, RUN)

TRUNCATED_NORMAL = "truncated_normal"
"""Virtual draw: normal with population settings ``<name>_mean``, ``_sd``, truncated to
[``<name>_min``, ``<name>_max``]; one uniform column (inverse CDF)."""
TRUNCATED_LOGNORMAL_BY_SEX = "truncated_lognormal_by_sex"
"""Virtual draw: log-normal with arithmetic ``<name>_mean_female``/``_sd_female`` (and
``_male``), truncated to [``<name>_min``, ``<name>_max``]; one uniform column."""
CUSTOM = "custom"
"""Virtual draw: a rule of its own in :mod:`pksim.cohort.sampling` (sex, genotype, ...)."""
DERIVED = "derived"
"""Virtual value: computed from other covariates (serum creatinine from eGFR, CKD-EPI)."""
DISTRIBUTIONS = (TRUNCATED_NORMAL, TRUNCATED_LOGNORMAL_BY_SEX)
VIRTUAL_RULES = (*DISTRIBUTIONS, CUSTOM, DERIVED)

UNKNOWN_CODE = -1
"""Code of an unknown category (a patient's genotype not tested); imputed at run time."""
UNKNOWN_LABEL = "unknown"
"""Label of :data:`UNKNOWN_CODE`."""


@dataclass(frozen=True, slots=True)
class OtherUnitsColumn:
    """A patient-CSV column giving a numeric covariate in other units.

    ``per_unit`` names the factor in ``populations/_shared.toml`` (``group.key``): how many of
    ``units`` make one of the covariate's units (e.g. 88.4 umol/L per mg/dL).
    """

    column: str
    units: str
    per_unit: str


@dataclass(frozen=True, slots=True)
class PatientColumn:
    """How a patient CSV gives a covariate (the column is named like the covariate).

    ``required``: the column must be there, and every cell filled unless the covariate is
    imputable. An empty cell otherwise means the entry's ``default`` (unknown when None).
    ``aliases``: other spellings of categories (lower case) -> category. ``note``: shown in
    the column list (e.g. how a missing value is derived).
    """

    required: bool = False
    note: str = ""
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    other_units: tuple[OtherUnitsColumn, ...] = ()


@dataclass(frozen=True, slots=True)
class Covariate:
    """One per-subject quantity. See the module docstring; fields:

    ``units`` (numeric: a :mod:`pksim.units` string), ``categories`` (categorical: a subject's
    code is the index; empty for labels the run defines, e.g. weight bands),
    ``coordinate_labels`` (labels in the result when they differ from the categories),
    ``default`` (value when not given: a number, a category, NaN = unknown, ``"unknown"`` for
    an imputable category, or None = must be given to ``Covariates``; an empty CSV cell is then
    unknown), ``allowed`` (plausible range
    of a given value: outside is refused as a probable unit error), ``virtual`` (how a virtual
    population draws it, one of :data:`VIRTUAL_RULES`),
    ``draw_columns`` (its columns of the ``covariates`` random stream; new covariates take the
    next free ones, never reuse one), ``imputable`` (an unknown value is drawn at run time like a
    virtual subject's), ``patients`` (how a patient CSV gives it; None: not given there),
    ``result_coordinate`` (a per-subject coordinate of the result).
    """

    name: str
    kind: str
    long_name: str
    units: str = ""
    categories: tuple[str, ...] = ()
    coordinate_labels: tuple[str, ...] = ()
    origin: str = SUBJECT
    default: float | str | None = None
    allowed: tuple[float, float] | None = None
    virtual: str | None = None
    draw_columns: tuple[int, ...] = ()
    imputable: bool = False
    patients: PatientColumn | None = None
    result_coordinate: bool = True

    def __post_init__(self) -> None:
        def fail(message: str) -> ValueError:
            return ValueError(f"covariate registry: {self.name}: {message}")

        if self.kind not in KINDS:
            raise fail(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.origin not in ORIGINS:
            raise fail(f"origin must be one of {ORIGINS}, got {self.origin!r}")
        if (self.kind == NUMERIC) != bool(self.units):
            raise fail("numeric covariates, and only they, have units")
        if self.categories and self.kind != CATEGORICAL:
            raise fail("only categorical covariates have categories")
        if self.coordinate_labels and len(self.coordinate_labels) != len(self.categories):
            raise fail("coordinate_labels needs one label per category")
        carried = self.origin == SUBJECT
        if carried != (self.virtual in VIRTUAL_RULES):
            raise fail(f"subject covariates, and only they, need virtual in {VIRTUAL_RULES}")
        if self.virtual in DISTRIBUTIONS and len(self.draw_columns) != 1:
            raise fail(f"a {self.virtual} draw takes one column of the covariates stream")
        if self.draw_columns and self.virtual not in (*DISTRIBUTIONS, CUSTOM):
            raise fail("only drawn covariates have draw_columns")
        if self.virtual in DISTRIBUTIONS and self.kind != NUMERIC:
            raise fail(f"{self.virtual} draws numbers")
        if self.patients is not None and not carried:
            raise fail("only subject covariates come from a patient CSV")
        if self.imputable and not (carried and self.kind == CATEGORICAL):
            raise fail("only categorical subject covariates are imputable")
        if self.allowed is not None and not (
            self.kind == NUMERIC and self.allowed[0] <= self.allowed[1]
        ):
            raise fail("allowed is a (low, high) range of a numeric covariate")
        unknown_default = self.imputable and self.default == UNKNOWN_LABEL
        if self.kind == CATEGORICAL and self.default not in (None, *self.categories):
            if not unknown_default:
                raise fail(f"default {self.default!r} is not one of {self.categories}")

    @property
    def carried(self) -> bool:
        """True when each subject carries a value (a field of ``Covariates``)."""
        return self.origin == SUBJECT

    @property
    def continuous(self) -> bool:
        """True for numeric covariates (a coordinate to bin, not to group by)."""
        return self.kind == NUMERIC

    @property
    def groupable(self) -> bool:
        """True when attainment tables may be grouped by this coordinate."""
        return self.result_coordinate and self.kind != NUMERIC

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of the categories in the result (``coordinate_labels``, else the categories)."""
        return self.coordinate_labels or self.categories

    @property
    def attrs(self) -> Mapping[str, str]:
        """Attrs of the result coordinate: ``units`` (numeric only) and ``long_name``."""
        if self.units:
            return MappingProxyType({"units": self.units, "long_name": self.long_name})
        return MappingProxyType({"long_name": self.long_name})


_SEXES = ("female", "male")
_GENOTYPES = ("*3/*3", "*1/*3", "*1/*1")
_LIVER = ("normal", "elevated_enzymes", "mild_impairment", "severe_impairment")
_CYP2C19 = ("normal", "intermediate", "poor")

COVARIATES: tuple[Covariate, ...] = (
    Covariate(
        "weight_kg",
        NUMERIC,
        "Body weight",
        units=units.WEIGHT,
        allowed=(2.0, 300.0),
        virtual=TRUNCATED_LOGNORMAL_BY_SEX,
        draw_columns=(2,),
        patients=PatientColumn(required=True),
    ),
    Covariate(
        "sex",
        CATEGORICAL,
        "Sex",
        categories=_SEXES,
        coordinate_labels=("F", "M"),
        virtual=CUSTOM,
        draw_columns=(0,),
        patients=PatientColumn(
            required=True, aliases=MappingProxyType({"f": "female", "m": "male"})
        ),
    ),
    Covariate(
        "age_y",
        NUMERIC,
        "Age",
        units=units.AGE,
        allowed=(0.0, 120.0),
        virtual=TRUNCATED_NORMAL,
        draw_columns=(1,),
        patients=PatientColumn(required=True),
    ),
    Covariate(
        "hematocrit_pct",
        NUMERIC,
        "Hematocrit",
        units=units.HEMATOCRIT,
        allowed=(5.0, 70.0),
        virtual=TRUNCATED_NORMAL,
        draw_columns=(3,),
        patients=PatientColumn(required=True),
    ),
    Covariate(
        "egfr",
        NUMERIC,
        "eGFR (CKD-EPI)",
        units=units.EGFR,
        allowed=(1.0, 250.0),
        virtual=TRUNCATED_NORMAL,
        draw_columns=(4,),
        patients=PatientColumn(note="derived from serum creatinine when missing"),
    ),
    Covariate(
        "serum_creatinine_mg_dl",
        NUMERIC,
        "Serum creatinine",
        units=units.SERUM_CREATININE,
        allowed=(0.05, 25.0),
        virtual=DERIVED,
        patients=PatientColumn(
            note="derived from eGFR when missing",
            other_units=(
                OtherUnitsColumn(
                    "serum_creatinine_umol_l",
                    units.SERUM_CREATININE_SI,
                    "creatinine.umol_per_l_per_mg_per_dl",
                ),
            ),
        ),
    ),
    Covariate(
        "cyp3a5",
        CATEGORICAL,
        "CYP3A5 genotype",
        categories=_GENOTYPES,
        virtual=CUSTOM,
        draw_columns=(5, 6),
        imputable=True,
        patients=PatientColumn(required=True, note="unknown: imputed from the population"),
    ),
    Covariate("cyp3a5_expresser", FLAG, "CYP3A5 expresser (*1 carrier)", origin=RUN),
    Covariate(
        "cyp2c19",
        CATEGORICAL,
        "CYP2C19 metaboliser status",
        categories=_CYP2C19,
        coordinate_labels=("NM", "IM", "PM"),
        default=UNKNOWN_LABEL,
        virtual=CUSTOM,
        draw_columns=(8, 9),
        imputable=True,
        patients=PatientColumn(
            note="normal, intermediate or poor metaboliser (0, 1 or 2 of *2/*3); "
            "empty or unknown: imputed from the population",
            aliases=MappingProxyType({"nm": "normal", "im": "intermediate", "pm": "poor"}),
        ),
    ),
    Covariate(
        "liver_function",
        CATEGORICAL,
        "Liver function",
        categories=_LIVER,
        default="normal",
        virtual=CUSTOM,
        draw_columns=(7,),
        patients=PatientColumn(),
    ),
    Covariate(
        "prednisone_mg_per_day",
        NUMERIC,
        "Prednisone at start",
        units=units.DAILY_DOSE,
        default=0.0,
        allowed=(0.0, 1000.0),
        virtual=CUSTOM,
        patients=PatientColumn(),
    ),
    Covariate("renal_impairment", FLAG, "Renal impairment (consensus)", origin=RUN),
    Covariate("weight_band", CATEGORICAL, "Weight band", origin=RUN),
    Covariate("comedication", CATEGORICAL, "Co-medication", origin=RUN),
    Covariate(
        "post_transplant_day",
        NUMERIC,
        "Days since transplantation",
        units=units.DAY,
        origin=PARAMETER_SET,
        result_coordinate=False,
    ),
)
"""Every per-subject quantity, in the order of the result's coordinates."""

_BY_NAME: Mapping[str, Covariate] = MappingProxyType({c.name: c for c in COVARIATES})


def _stream_width() -> int:
    columns = sorted(j for c in COVARIATES for j in c.draw_columns)
    if columns != list(range(len(columns))):
        raise ValueError(
            "covariate registry: the draw_columns of the covariates stream must be 0, 1, ... "
            f"with no gap or repeat, got {columns}"
        )
    return len(columns)


COVARIATE_STREAM_WIDTH = _stream_width()
"""Uniform columns per subject in stream ``covariates``. Column j always belongs to the same
covariate: a new covariate appends columns, so no existing draw moves."""


def get(name: str) -> Covariate:
    """The registry entry ``name``; an unknown name lists the valid ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(unknown_name_message("covariate", name, _BY_NAME)) from None


def carried() -> tuple[Covariate, ...]:
    """Covariates each subject carries (the fields of ``Covariates``), in registry order."""
    return tuple(c for c in COVARIATES if c.carried)


def effect_covariates() -> tuple[Covariate, ...]:
    """Covariates an effect of a parameter set may use: carried or fixed by the set."""
    return tuple(c for c in COVARIATES if c.origin != RUN)


def result_coordinates() -> tuple[Covariate, ...]:
    """The per-subject coordinates of a result, in order."""
    return tuple(c for c in COVARIATES if c.result_coordinate)


def continuous_coordinates() -> frozenset[str]:
    """Names of the numeric result coordinates (bin them; they cannot group a table)."""
    return frozenset(c.name for c in result_coordinates() if c.continuous)


def is_continuous(name: str) -> bool:
    """True when ``name`` is a numeric covariate."""
    return get(name).continuous
