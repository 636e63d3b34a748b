"""Model-informed precision dosing: NONMEM-style data in, MAP Bayesian individualisation,
forecasts and dose options for one patient at a time (see docs/mipd.md).

One job per module: :mod:`~pksim.mipd.columns` and :mod:`~pksim.mipd.nonmem` (reading a
dataset), :mod:`~pksim.mipd.history` (one patient's records), :mod:`~pksim.mipd.design`
(a patient under a parameter set), :mod:`~pksim.mipd.predict` (batched exact predictions),
:mod:`~pksim.mipd.objective` (NONMEM's POSTHOC objective), :mod:`~pksim.mipd.fit` (the MAP
optimiser, Laplace), :mod:`~pksim.mipd.individualize` (Datasets).
"""

from pksim.mipd.fit import Fit, fit_patient
from pksim.mipd.history import PatientHistory
from pksim.mipd.individualize import fit_dataset, fit_patients, individualize
from pksim.mipd.nonmem import read_nonmem, read_nonmem_text

__all__ = [
    "Fit",
    "PatientHistory",
    "fit_dataset",
    "fit_patient",
    "fit_patients",
    "individualize",
    "read_nonmem",
    "read_nonmem_text",
]
