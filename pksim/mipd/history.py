"""One patient's dosing and sampling history, as read from a NONMEM-style dataset.

Times in hours (from the dataset's time origin), amounts in mg, concentrations in ng/mL.
Covariates are recorded per record and may change over time; :meth:`PatientHistory.covariates_at`
gives their values at any time under the dataset's rule:

- ``nocb`` (next observation carried backward, NONMEM's rule): between two records the value of
  the later one holds; before the first record the first value, after the last the last.
- ``locf`` (last observation carried forward, mrgsolve's ``nocb = FALSE``): between two records
  the value of the earlier one holds; before the first record the first value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.modifiers.courses import CoMedication

__all__ = ["COVARIATE_RULES", "LOCF", "NOCB", "PatientHistory"]

NOCB, LOCF = "nocb", "locf"
COVARIATE_RULES = (NOCB, LOCF)
"""How a covariate's value is carried between the records that give it."""

FloatArray = NDArray[np.float64]


def _frozen(array: ArrayLike, dtype=np.float64) -> np.ndarray:
    out = np.array(array, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class PatientHistory:
    """Doses (``ADDL`` expanded), observations and covariate records of one patient.

    ``dose_ss``: the dose is a steady-state dose (``SS=1``) of ``dose_ii`` h: the system is at
    the steady state of that regimen just before it and earlier doses are forgotten (NONMEM's
    reset). ``reset_times``: times at which the system is emptied (``EVID`` 3 or 4, and every
    steady-state dose). ``*_occasion``: the ``OCC`` of the record (0 when the dataset has none).
    ``obs_blq``: the observation is below its limit of quantification ``obs_lloq`` (ng/mL).
    ``obs_rows``: the dataset row of each observation (1 = first data row).
    ``comedications``: courses of catalogued co-medications (h from the time origin / 24 + 1 =
    their days, as :class:`pksim.modifiers.courses.CoMedication` counts them).
    """

    id: str
    dose_times: FloatArray
    dose_amounts: FloatArray
    dose_ss: NDArray[np.bool_]
    dose_ii: FloatArray
    dose_occasion: NDArray[np.int64]
    reset_times: FloatArray
    obs_times: FloatArray
    obs_values: FloatArray
    obs_blq: NDArray[np.bool_]
    obs_lloq: FloatArray
    obs_occasion: NDArray[np.int64]
    obs_rows: NDArray[np.int64]
    record_times: FloatArray
    covariates: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    covariate_rule: str = NOCB
    clock_origin: str | None = None
    comedications: tuple[CoMedication, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "dose_times",
            "dose_amounts",
            "dose_ii",
            "reset_times",
            "obs_times",
            "obs_values",
            "obs_lloq",
            "record_times",
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        for name in ("dose_ss", "obs_blq"):
            object.__setattr__(self, name, _frozen(getattr(self, name), np.bool_))
        for name in ("dose_occasion", "obs_occasion", "obs_rows"):
            object.__setattr__(self, name, _frozen(getattr(self, name), np.int64))
        covariates = {}
        for name, values in self.covariates.items():
            array = np.array(values)
            if array.shape != self.record_times.shape:
                raise ValueError(
                    f"patient {self.id}: covariate {name} has {array.size} values for "
                    f"{self.record_times.size} records"
                )
            array.setflags(write=False)
            covariates[name] = array
        object.__setattr__(self, "covariates", MappingProxyType(covariates))
        if self.covariate_rule not in COVARIATE_RULES:
            raise ValueError(f"covariate_rule must be one of {COVARIATE_RULES}")
        if np.any(np.diff(self.dose_times) < 0) or np.any(np.diff(self.obs_times) < 0):
            raise ValueError(f"patient {self.id}: dose and observation times must ascend")

    @property
    def n_observations(self) -> int:
        """Observations (quantified and below the limit)."""
        return int(self.obs_times.size)

    @property
    def occasions(self) -> tuple[int, ...]:
        """The occasions (``OCC`` > 0) of the doses, ascending."""
        return tuple(int(o) for o in np.unique(self.dose_occasion) if o > 0)

    @property
    def last_time(self) -> float:
        """Time (h) of the last dose or observation."""
        times = np.concatenate([self.dose_times, self.obs_times, self.record_times])
        return float(times.max()) if times.size else 0.0

    def record_index_at(self, times: ArrayLike) -> NDArray[np.intp]:
        """Index of the record whose covariates hold at each time (h), under the rule."""
        t = np.asarray(times, dtype=np.float64)
        records = self.record_times
        if records.size == 0:
            raise ValueError(f"patient {self.id}: no records")
        if self.covariate_rule == NOCB:
            index = np.searchsorted(records, t, side="left")
        else:
            index = np.searchsorted(records, t, side="right") - 1
        return np.clip(index, 0, records.size - 1)

    def covariates_at(self, times: ArrayLike) -> dict[str, np.ndarray]:
        """Every covariate's value at each time (h), under the rule."""
        index = self.record_index_at(times)
        return {name: values[index] for name, values in self.covariates.items()}

    def change_times(self) -> FloatArray:
        """The record times (h), ascending and unique: under either rule the covariates are
        constant between two consecutive ones (the value at the boundary itself depends on
        the rule)."""
        return np.unique(self.record_times)
