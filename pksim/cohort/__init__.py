"""The cohort stage: who the subjects are and how they vary.

One job per module: :mod:`~pksim.cohort.covariates` (the ``Covariates`` container),
:mod:`~pksim.cohort.sampling` (virtual cohorts, imputation), :mod:`~pksim.cohort.patients`
(patient CSV files), :mod:`~pksim.cohort.renal` (CKD-EPI, renal classification),
:mod:`~pksim.cohort.effects` (typical parameters from covariate effects) and
:mod:`~pksim.cohort.variability` (IIV, IOV, residual error, sampling times). What a covariate
*is* lives in the registry :mod:`pksim.library.covariates`; the population files in
:mod:`pksim.library.populations` (re-exported here, as the first release's ``pksim.cohort``
had them).
"""

from pksim.cohort.covariates import (
    CYP3A5_GENOTYPES,
    LIVER_FUNCTION,
    SEXES,
    Covariates,
    category_codes,
)
from pksim.cohort.effects import (
    PKParameters,
    effect_factor,
    structural_inputs,
    typical_parameters,
)
from pksim.cohort.patients import CSV_COLUMNS, patient_problems, read_patients_csv
from pksim.cohort.renal import (
    creatinine_uln_mg_dl,
    egfr_from_serum_creatinine,
    is_renal_impaired,
    renal_impairment,
    serum_creatinine_from_egfr,
)
from pksim.cohort.sampling import impute_unknown, sample_covariates
from pksim.cohort.variability import (
    Measurements,
    VariabilitySettings,
    individual_parameters,
    iov_f_multipliers,
    load_variability,
    residual_error,
    sampling_time_offsets,
    variability_settings,
    within_subject_scale,
)
from pksim.library.populations import (
    Population,
    list_populations,
    load_population,
    population_settings,
    shared_constants,
)

__all__ = [
    "CSV_COLUMNS",
    "CYP3A5_GENOTYPES",
    "LIVER_FUNCTION",
    "SEXES",
    "Covariates",
    "Measurements",
    "PKParameters",
    "Population",
    "VariabilitySettings",
    "category_codes",
    "creatinine_uln_mg_dl",
    "effect_factor",
    "egfr_from_serum_creatinine",
    "impute_unknown",
    "individual_parameters",
    "iov_f_multipliers",
    "is_renal_impaired",
    "list_populations",
    "load_population",
    "load_variability",
    "patient_problems",
    "population_settings",
    "read_patients_csv",
    "renal_impairment",
    "residual_error",
    "sample_covariates",
    "sampling_time_offsets",
    "serum_creatinine_from_egfr",
    "shared_constants",
    "structural_inputs",
    "typical_parameters",
    "variability_settings",
    "within_subject_scale",
]

MOVED: dict[str, str] = {
    "PrednisoneTaper": "pksim.library.populations",
    "prednisone_mg_per_day_at": "pksim.modifiers.prednisone",
    "prednisone_f_factor": "pksim.modifiers.prednisone",
    "prednisone_f_multipliers": "pksim.modifiers.prednisone",
    "liver_cl_multiplier": "pksim.modifiers.liver",
    "liver_cl_grid": "pksim.modifiers.liver",
    "COVARIATE_COLUMNS": "pksim.library.covariates (draw_columns of each entry)",
}
"""Names the first release's ``pksim.covariates`` / ``pksim.cohort`` had that live elsewhere."""


def __getattr__(name: str):
    if name in MOVED:
        raise AttributeError(f"pksim.cohort.{name} moved: import it from {MOVED[name]}")
    raise AttributeError(f"module 'pksim.cohort' has no attribute {name!r}")
