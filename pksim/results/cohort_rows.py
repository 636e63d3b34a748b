"""The NONMEM-style rows of one regimen for a chunk of simulated subjects
(:mod:`pksim.results.nonmem_cohort` writes them; docs/mipd.md, "Simulated cohorts as NONMEM
data", describes every column).

Per subject: one row per dose given (``EVID`` 1, ``ADDL`` 0: each dose has its own
bioavailability and absorption), one per trough written (``EVID`` 0, ``MDV`` 0), and an
``EVID`` 2 row wherever the true CL/F changes (co-medications) or a co-medication course
starts or stops between other rows. At one time: the trough first (a trough at a dose time is
taken before it), then ``EVID`` 2, then the dose.

``SIM_CL`` on a row is the CL/F over the interval that ends at the row's time (NONMEM's NOCB:
the parameters of a record carry the system from the previous record to it); the other
covariates hold the value at the row's own time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pksim.engine.dose_records import ChunkRecords, RegimenRecords
from pksim.library import covariates as registry
from pksim.mipd import columns as cols
from pksim.mipd.writing import MISSING, course_hours
from pksim.modifiers.courses import CoMedication
from pksim.modifiers.prednisone import prednisone_mg_per_day_at
from pksim.scenario import Scenario
from pksim.units import HOURS_PER_DAY

__all__ = ["CohortColumns", "cohort_columns", "regimen_lines"]

OBSERVATION, OTHER, DOSE = 0, 1, 2
"""Kinds of row, in the order they are written at one time."""
DOSE_CMT, OBSERVATION_CMT, OTHER_CMT = 1, 2, 0
"""CMT of a dose (depot), a trough (central) and an EVID 2 row."""
PREDNISONE = "prednisone_mg_per_day"
SIMULATION_COLUMNS = ("CL", "KA", "TLAG", "F", "IPRED")
"""Truth columns every file has (after ``SIM_``), the disposition parameters (``V`` or
``V1 Q V2``) between CL and KA."""


@dataclass(frozen=True, slots=True)
class CohortColumns:
    """The header of a scenario's cohort files: which optional columns it has."""

    lloq: float
    occasions: bool
    covariates: tuple[tuple[str, str], ...]
    courses: tuple[CoMedication, ...]
    disposition: tuple[str, ...]
    patient_id: bool

    @property
    def header(self) -> list[str]:
        """The column names, in order."""
        out = ["ID", "TIME", "AMT", "EVID", "CMT", "II", "ADDL", "DV", "MDV"]
        out += ["BLQ", "LLOQ"] if self.lloq > 0 else []
        out += ["OCC"] if self.occasions else []
        out += [header for _, header in self.covariates]
        out += ["COMED"] if self.courses else []
        names = ["CL", *(p.upper() for p in self.disposition), *SIMULATION_COLUMNS[1:]]
        out += [cols.SIMULATION_PREFIX + name for name in names]
        out += [cols.SIMULATION_PREFIX + "PATIENT_ID"] if self.patient_id else []
        return out


def cohort_columns(scenario: Scenario, disposition: Sequence[str]) -> CohortColumns:
    """The columns of ``scenario``'s files; ``disposition`` the structural parameters other
    than CL, ka, lag and F (``v``, or ``v1 q v2``)."""
    settings = scenario.variability
    patients = scenario.patients
    return CohortColumns(
        lloq=float(settings.lloq_ng_per_ml),
        occasions=scenario.parameter_set.iov_f_sd > 0 and not settings.typical_only,
        covariates=tuple((name, covariate_header(name)) for name in cols.COVARIATE_COLUMNS),
        courses=tuple(p.course for p in scenario.comedications),
        disposition=tuple(disposition),
        patient_id=patients is not None and patients.patient_id is not None,
    )


def covariate_header(name: str) -> str:
    """A covariate's column: its usual NONMEM name where the reader knows one (``WT``), else
    the registry's name in capitals."""
    for alias, canonical in cols.COVARIATE_ALIASES.items():
        if canonical == name:
            return alias
    return name.upper()


def regimen_lines(
    scenario: Scenario,
    columns: CohortColumns,
    chunk: ChunkRecords,
    records: RegimenRecords,
    days: NDArray[np.intp],
) -> list[str]:
    """The CSV lines (no line ends) of every subject of ``chunk`` on ``records``, with the
    troughs of ``days`` (0-based day indices)."""
    steps = _prednisone_step_times(scenario, chunk, records)
    rows = [
        _subject_rows(chunk, records, days, columns.courses, i, steps[i])
        for i in range(chunk.stop - chunk.start)
    ]
    subject = np.concatenate([np.full(r[0].size, i) for i, r in enumerate(rows)])
    time = np.concatenate([r[0] for r in rows])
    kind = np.concatenate([r[1] for r in rows])
    column = np.concatenate([r[2] for r in rows])
    dose, obs = kind == DOSE, kind == OBSERVATION
    dose_j = np.where(dose, column, 0)
    obs_j = np.where(obs, column, 0)
    cells: list[list[str]] = [
        _whole(subject + chunk.start + 1),
        _numbers(time),
        _numbers(np.where(dose, records.dose_amounts[subject, dose_j], 0.0), keep_zero=True),
        _whole(np.select([dose, obs], [1, 0], 2)),
        _whole(np.select([dose, obs], [DOSE_CMT, OBSERVATION_CMT], OTHER_CMT)),
        _whole(np.zeros(time.size, dtype=np.int64)),
        _whole(np.zeros(time.size, dtype=np.int64)),
        _numbers(records.measured[subject, obs_j], obs),
        _whole((~obs).astype(np.int64)),
    ]
    if columns.lloq > 0:
        cells.append(_whole((obs & records.below_lloq[subject, obs_j]).astype(np.int64)))
        cells.append(_numbers(np.full(time.size, columns.lloq), obs))
    if columns.occasions:
        length = scenario.variability.occasion_length_h
        occasion = (time / length).astype(np.int64) + 1
        cells.append(_whole(np.where(dose, records.dose_occasion[subject, dose_j], occasion)))
    for name, _ in columns.covariates:
        cells.append(_covariate_cells(scenario, chunk, name, subject, time))
    if columns.courses:
        cells.append(_comed_cells(columns.courses, chunk.taking[subject], time))
    segment = np.searchsorted(records.cl_change_times, time, side="left")
    cells.append(_numbers(records.cl[subject, segment]))
    cells += [_per_subject(records.disposition[p], subject) for p in columns.disposition]
    cells.append(_numbers(records.dose_ka[subject, dose_j], dose))
    cells.append(_numbers(records.dose_lag[subject, dose_j], dose))
    cells.append(_numbers(records.dose_f[subject, dose_j], dose))
    cells.append(_numbers(records.trough[subject, obs_j], obs))
    if columns.patient_id:
        ids = chunk.cov.patient_id
        texts = [_quoted(str(text)) for text in ids]
        cells.append([texts[s] for s in subject.tolist()])
    return [",".join(row) for row in zip(*cells, strict=True)]


def _prednisone_step_times(scenario, chunk: ChunkRecords, records: RegimenRecords) -> list:
    """Per subject of the chunk: the times (h) at which its prednisone taper steps down
    (each gets an ``EVID`` 2 row, so a reader's NOCB covariate course steps there)."""
    taper = scenario.population.prednisone_taper
    n = chunk.stop - chunk.start
    if taper is None or taper.step_mg == 0:
        return [np.empty(0)] * n
    end = np.nanmax(np.concatenate([records.dose_times.ravel(), records.sample_times.ravel()]))
    day_starts = HOURS_PER_DAY * np.arange(int(np.ceil(end / HOURS_PER_DAY)) + 1.0)
    mg = prednisone_mg_per_day_at(np.asarray(chunk.cov[PREDNISONE]), taper, day_starts[None, :])
    stepped = mg[:, 1:] != mg[:, :-1]
    return [day_starts[1:][row] for row in stepped]


def _subject_rows(chunk: ChunkRecords, records: RegimenRecords, days, courses, i: int, steps):
    """(times, kinds, columns) of subject ``i``'s rows in the order written: ``columns`` is
    the dose slot of a dose and the day index of a trough. ``steps``: its prednisone steps."""
    given = np.flatnonzero(np.isfinite(records.dose_times[i]) & (records.dose_amounts[i] > 0))
    dose_t = records.dose_times[i, given]
    obs_t = records.sample_times[i, days]
    end = max(dose_t.max(initial=0.0), obs_t.max(initial=0.0))
    cl = records.cl[i]
    changes = records.cl_change_times[np.flatnonzero(cl[1:] != cl[:-1])]
    hours = [
        t
        for course, taken in zip(courses, chunk.taking[i].tolist(), strict=True)
        if taken
        for t in course_hours(course)
    ]
    other = np.unique(np.concatenate([changes, np.asarray(hours, dtype=np.float64), steps]))
    other = other[(other >= 0) & (other <= end)]
    other = other[~np.isin(other, np.concatenate([dose_t, obs_t]))]
    times = np.concatenate([obs_t, other, dose_t])
    kinds = np.concatenate(
        [np.full(obs_t.size, OBSERVATION), np.full(other.size, OTHER), np.full(dose_t.size, DOSE)]
    )
    index = np.concatenate([days, np.zeros(other.size, dtype=np.intp), given])
    order = np.lexsort((kinds, times))
    return times[order], kinds[order], index[order]


def _covariate_cells(scenario, chunk, name: str, subject, time) -> list[str]:
    values = np.asarray(chunk.cov[name])
    covariate = registry.get(name)
    if covariate.kind == registry.CATEGORICAL:
        labels = list(covariate.categories)
        if name == "cyp3a5":  # NONMEM coding, read back by pksim: the number of *1 alleles
            labels = [str(k) for k in range(len(labels))]
        texts = [MISSING if v == registry.UNKNOWN_CODE else labels[v] for v in values.tolist()]
        return [texts[s] for s in subject.tolist()]
    taper = scenario.population.prednisone_taper
    if name == PREDNISONE and taper is not None:
        # the dose in effect up to the row (NOCB: a row's value holds back to the previous row)
        before = np.nextafter(time, -np.inf)[:, None]
        values = prednisone_mg_per_day_at(values[subject], taper, before)[:, 0]
        return _numbers(values, np.isfinite(values))
    return _per_subject(values, subject)


def _comed_cells(courses, taking, time) -> list[str]:
    """The co-medications taken at each row's time (``+``-joined; empty: none)."""
    code = np.zeros(time.size, dtype=np.int64)
    for k, course in enumerate(courses):
        start, stop = course_hours(course)
        code |= (taking[:, k] & (start <= time) & (time < stop)).astype(np.int64) << k
    names = [c.drug for c in courses]
    labels = [
        cols.COMED_SEPARATOR.join(sorted({names[k] for k in range(len(names)) if c >> k & 1}))
        for c in range(1 << len(names))
    ]
    return [labels[c] for c in code.tolist()]


def _quoted(text: str) -> str:
    """A text cell as CSV writes it (quoted when it holds a comma, quote or line end)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _per_subject(values, subject) -> list[str]:
    """:func:`_numbers` of one value per subject, repeated on each of its rows."""
    values = np.asarray(values, dtype=np.float64)
    texts = _numbers(values, np.isfinite(values))
    return [texts[s] for s in subject.tolist()]


def _whole(values) -> list[str]:
    return list(map(str, np.asarray(values).tolist()))


def _numbers(values, given=None, keep_zero: bool = False) -> list[str]:
    """Exact decimal texts (Python's shortest round-trip repr); ``.`` where not ``given``."""
    out = list(map(repr, np.asarray(values, dtype=np.float64).tolist()))
    if keep_zero:
        out = ["0" if v == "0.0" else v for v in out]
    if given is None:
        return out
    return [v if g else MISSING for v, g in zip(out, np.asarray(given).tolist(), strict=True)]
