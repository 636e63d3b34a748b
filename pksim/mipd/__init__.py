"""Model-informed precision dosing: NONMEM-style data in and out, MAP Bayesian
individualisation, forecasts, dose options and calibration to local data (docs/mipd.md).

One job per module: :mod:`~pksim.mipd.columns`, :mod:`~pksim.mipd.nonmem` and
:mod:`~pksim.mipd.covariate_cells` (reading a dataset), :mod:`~pksim.mipd.writing` (writing
one), :mod:`~pksim.mipd.history` (one patient's records), :mod:`~pksim.mipd.design` (a patient
under a parameter set), :mod:`~pksim.mipd.predict` and :mod:`~pksim.mipd.batch_predict`
(exact predictions for many eta rows / patients at once; serial kernel walk in
:mod:`~pksim.mipd.kernels`), :mod:`~pksim.mipd.objective` (NONMEM's POSTHOC objective),
:mod:`~pksim.mipd.fit` and :mod:`~pksim.mipd.batch_fit` (the MAP optimiser, Laplace),
:mod:`~pksim.mipd.individualize` (Datasets), :mod:`~pksim.mipd.forecast` and
:mod:`~pksim.mipd.recommend` (forecasts, dose options), :mod:`~pksim.mipd.exposure` (exact
daily AUC, Cmax and tmax), :mod:`~pksim.mipd.calibrate` and :mod:`~pksim.mipd.vpc`
(calibration, visual predictive check), :mod:`~pksim.mipd.mixture` and
:mod:`~pksim.mipd.mixture_forecast` (unknown CYP3A5 genotype),
:mod:`~pksim.mipd.simulate` (simulated TDM data), :mod:`~pksim.mipd.plot` and
:mod:`~pksim.mipd.command` (``pksim dose``, ``pksim calibrate``).
"""

from pksim.mipd.batch_fit import fit_many
from pksim.mipd.calibrate import Calibration, calibrate_clearance
from pksim.mipd.fit import Fit, fit_patient
from pksim.mipd.forecast import FutureRegimen, forecast, posterior_etas
from pksim.mipd.history import PatientHistory
from pksim.mipd.individualize import fit_dataset, fit_patients, individualize
from pksim.mipd.mixture import MixtureFit, fit_mixture
from pksim.mipd.nonmem import read_nonmem, read_nonmem_text
from pksim.mipd.recommend import DoseOption, dose_options
from pksim.mipd.writing import write_nonmem

__all__ = [
    "Calibration",
    "DoseOption",
    "Fit",
    "FutureRegimen",
    "MixtureFit",
    "PatientHistory",
    "calibrate_clearance",
    "dose_options",
    "fit_dataset",
    "fit_many",
    "fit_mixture",
    "fit_patient",
    "fit_patients",
    "forecast",
    "individualize",
    "posterior_etas",
    "read_nonmem",
    "read_nonmem_text",
    "write_nonmem",
]
