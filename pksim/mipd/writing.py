"""Write patient histories as a NONMEM-style CSV that :func:`pksim.mipd.read_nonmem`, NONMEM,
nlmixr2 or mrgsolve read back: one row per dose (``ADDL`` 0), observation, reset or covariate
record; ``TIME`` h, ``AMT`` mg, ``DV``/``LLOQ`` ng/mL, covariates in the registry's units and
names (categorical ones as labels, CYP3A5 as its ``*1/*3`` label).

Every record time of a history gets a row, each carrying the covariates that hold at its time
under the history's rule, so the file read back with the same rule gives the same covariate
at every time, and the same predictions.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable

import numpy as np

from pksim.files import write_atomically
from pksim.library import covariates as registry
from pksim.mipd.columns import COMED_SEPARATOR
from pksim.mipd.history import PatientHistory
from pksim.modifiers.courses import CoMedication
from pksim.units import HOURS_PER_DAY

__all__ = ["course_hours", "nonmem_text", "write_nonmem"]

HEADER = ("ID", "TIME", "AMT", "EVID", "CMT", "II", "ADDL", "SS", "DV", "MDV", "BLQ", "LLOQ", "OCC")
"""Standard columns written (covariate columns follow)."""
MISSING = "."
"""NONMEM's empty cell."""


def write_nonmem(path: str | os.PathLike[str], histories: Iterable[PatientHistory]) -> None:
    """Write ``histories`` to ``path`` (atomically: the complete file or none)."""
    text = nonmem_text(histories)
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def nonmem_text(histories: Iterable[PatientHistory]) -> str:
    """The CSV text of ``histories`` (see the module docstring)."""
    histories = tuple(histories)
    names = sorted(
        {n for h in histories for n in h.covariates},
        key=lambda n: [c.name for c in registry.carried()].index(n),
    )
    comed = any(h.comedications for h in histories)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*HEADER, *names, *(["COMED"] if comed else [])])
    for h in histories:
        for row in _rows(h):
            time = row[1]
            covariates = h.covariates_at([time]) if h.record_times.size else {}
            cells = [_cell(v) for v in row]
            cells += [
                _covariate_cell(n, covariates[n][0]) if n in covariates else MISSING for n in names
            ]
            if comed:
                cells.append(COMED_SEPARATOR.join(_taken(h, time)))
            writer.writerow(cells)
    return out.getvalue()


def _rows(h: PatientHistory) -> list[tuple]:
    """(ID, TIME, AMT, EVID, CMT, II, ADDL, SS, DV, MDV, BLQ, LLOQ, OCC) rows in time order;
    at one time: observations, then resets, then doses, then covariate records."""
    rows = []
    ss_times = set(h.dose_times[h.dose_ss].tolist())
    for t in h.reset_times:
        if t not in ss_times:
            rows.append((1, t, (h.id, t, 0, 3, 0, 0, 0, 0, None, 1, 0, None, 0)))
    for t, a, ss, ii, occ in zip(
        h.dose_times, h.dose_amounts, h.dose_ss, h.dose_ii, h.dose_occasion, strict=True
    ):
        rows.append((2, t, (h.id, t, a, 1, 1, ii if ss else 0, 0, int(ss), None, 1, 0, None, occ)))
    for t, y, blq, lloq, occ in zip(
        h.obs_times, h.obs_values, h.obs_blq, h.obs_lloq, h.obs_occasion, strict=True
    ):
        rows.append((0, t, (h.id, t, 0, 0, 2, 0, 0, 0, lloq if blq else y, 0, int(blq), lloq, occ)))
    written = {r[1] for r in rows}
    course_times = [t for c in h.comedications for t in course_hours(c) if np.isfinite(t)]
    for t in np.unique(np.concatenate([h.record_times, course_times])):
        if t not in written:
            rows.append((3, t, (h.id, t, 0, 2, 0, 0, 0, 0, None, 1, 0, None, 0)))
    rows.sort(key=lambda r: (r[1], r[0]))
    return [r[2] for r in rows]


def course_hours(course: CoMedication) -> tuple[float, float]:
    """When a course is taken: [start, stop) in h (stop inf while it goes on)."""
    stop = math.inf if course.stop_day is None else course.stop_day * HOURS_PER_DAY
    return (course.start_day - 1.0) * HOURS_PER_DAY, stop


def _taken(h: PatientHistory, time: float) -> list[str]:
    """The co-medications taken at ``time`` (h)."""
    out = []
    for course in h.comedications:
        start, stop = course_hours(course)
        if start <= time < stop:
            out.append(course.drug)
    return sorted(set(out))


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_ | int | np.integer):
        return str(int(value))
    return repr(float(value))


def _covariate_cell(name: str, value) -> str:
    covariate = registry.get(name)
    if covariate.kind == registry.CATEGORICAL:
        code = int(value)
        return MISSING if code == registry.UNKNOWN_CODE else covariate.categories[code]
    return _cell(float(value))
