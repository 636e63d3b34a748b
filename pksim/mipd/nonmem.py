"""Read a NONMEM-style dataset (CSV) into one :class:`PatientHistory` per ``ID``.

Columns (any case; see :mod:`pksim.mipd.columns`): ``ID TIME AMT EVID CMT II ADDL SS DV MDV``,
optional ``RATE`` (0 only: the oral model has no zero-order input), ``BLQ`` / ``LLOQ``,
``OCC``, ``DATE`` (then ``TIME`` is a clock time) and covariate columns; ``SIM_...`` columns
(a simulated cohort's true values) are skipped. Units: ``TIME``/``II``
h, ``AMT`` mg, ``DV``/``LLOQ`` ng/mL (or the ``concentration_units`` given). A ``.`` cell is
empty (NONMEM's missing value). Records of one ``ID`` are contiguous and in time order.

Every fault of the file is collected and refused at once (:class:`pksim.errors.Invalid`), each
naming the row (1 = first data row), the column and what is allowed.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path

from pksim.errors import Invalid, Problems, shown, unknown_name
from pksim.library import covariates as registry
from pksim.library.drugs import lookup_drug
from pksim.mipd import columns as cols
from pksim.mipd.covariate_cells import covariate_value, fill_covariates
from pksim.mipd.excel import EXCEL_SUFFIXES, excel_as_csv
from pksim.mipd.history import COVARIATE_RULES, NOCB, PatientHistory
from pksim.modifiers.courses import CoMedication
from pksim.units import HOURS_PER_DAY

__all__ = ["MAX_DATASET_BYTES", "read_nonmem", "read_nonmem_text"]

MAX_DATASET_BYTES = 200 * 2**20
"""Largest dataset read (200 MiB)."""
SECONDS_PER_HOUR = 3600.0
MISSING_TEXT = frozenset({"", "."})
"""Cell texts meaning "no value" (NONMEM writes ``.``)."""
_EVID_DOSE = (1, 4)
_EVID_RESET = (3, 4)


def read_nonmem(
    source: str | os.PathLike[str] | io.TextIOBase,
    *,
    concentration_units: str = "ng/mL",
    covariate_rule: str = NOCB,
    ignore_columns: Sequence[str] = (),
) -> tuple[PatientHistory, ...]:
    """The patients of a NONMEM-style CSV file (a path or an open text stream), or of the first
    sheet of an Excel workbook (``.xlsx``, :mod:`pksim.mipd.excel`), in file order.

    ``concentration_units``: units of ``DV`` and ``LLOQ`` (``ng/mL``, ``ug/L`` or ``mg/L``).
    ``covariate_rule``: ``nocb`` (NONMEM) or ``locf`` (see :mod:`pksim.mipd.history`).
    ``ignore_columns``: other columns the file has that are to be skipped (any case).
    """
    if isinstance(source, io.TextIOBase):
        return read_nonmem_text(
            source.read(),
            name="<stream>",
            concentration_units=concentration_units,
            covariate_rule=covariate_rule,
            ignore_columns=ignore_columns,
        )
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (a NONMEM-style CSV dataset)")
    if path.stat().st_size > MAX_DATASET_BYTES:
        raise ValueError(f"{path}: larger than {MAX_DATASET_BYTES // 2**20} MiB; split it")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        text = excel_as_csv(path)
    else:
        text = path.read_text(encoding="utf-8-sig")
    return read_nonmem_text(
        text,
        name=str(path),
        concentration_units=concentration_units,
        covariate_rule=covariate_rule,
        ignore_columns=ignore_columns,
    )


def read_nonmem_text(
    text: str,
    *,
    name: str = "<text>",
    concentration_units: str = "ng/mL",
    covariate_rule: str = NOCB,
    ignore_columns: Sequence[str] = (),
) -> tuple[PatientHistory, ...]:
    """:func:`read_nonmem` of the CSV ``text``; ``name`` labels the messages."""
    if concentration_units not in cols.CONCENTRATION_FACTORS:
        raise ValueError(
            unknown_name("concentration units", concentration_units, cols.CONCENTRATION_FACTORS)
        )
    if covariate_rule not in COVARIATE_RULES:
        raise ValueError(unknown_name("covariate rule", covariate_rule, COVARIATE_RULES))
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    problems = Problems()
    if not header:
        raise Invalid(name, [f"empty file; expected a header with {list(cols.REQUIRED_COLUMNS)}"])
    index = _header(header, {c.strip().upper() for c in ignore_columns}, problems)
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    if not rows:
        problems.add("", "no data rows below the header")
    if problems:
        raise Invalid(name, problems)
    factor = cols.CONCENTRATION_FACTORS[concentration_units]
    parsed = [_Row(number, row, index, factor, problems) for number, row in enumerate(rows, 1)]
    patients = _group(parsed, problems)
    for _, group in patients:
        if not any(math.isnan(r.time) for r in group):
            _courses(group, problems)  # a too short course is reported with the rest
    if problems:
        raise Invalid(name, problems)
    return tuple(_patient(pid, group, covariate_rule, problems) for pid, group in patients)


def _header(header: list[str], ignored: set[str], problems: Problems) -> dict[str, int]:
    index: dict[str, int] = {}
    for number, raw in enumerate(header, start=1):
        if raw.strip().upper() in ignored or cols.is_simulation_column(raw):
            continue
        column = cols.canonical_column(raw)
        if column is None:
            problems.add(
                f"header, column {number}",
                unknown_name("column", raw.strip(), cols.known_columns())
                + " (or pass it in ignore_columns)",
            )
        elif column in index:
            problems.add(f"header, column {number}", f"{shown(raw)} repeats column {column}")
        else:
            index[column] = number - 1
    for column in cols.REQUIRED_COLUMNS:
        if column not in index:
            problems.add(
                "header",
                f"missing column {column}; a dataset has "
                f"{list(cols.REQUIRED_COLUMNS)} and TIME (or DATE and TIME)",
            )
    if "TIME" not in index:
        problems.add("header", "missing column TIME (hours, or a clock time with DATE)")
    return index


class _Row:
    """One data row, parsed; problems go to the collector under ``row N, column C``."""

    def __init__(
        self,
        number: int,
        cells: list[str],
        index: Mapping[str, int],
        factor: float,
        problems: Problems,
    ) -> None:
        self.number = number
        self._cells, self._index, self._problems = cells, index, problems
        self.id = self._text("ID")
        if not self.id:
            self._bad("ID", "is empty; every row needs its patient's ID")
        self.evid = self._whole("EVID", allowed=tuple(cols.EVID_VALUES))
        self.clock = None
        if "DATE" in index:
            self.time = math.nan
            self.clock = self._clock()
        else:
            self.time = self._number("TIME", required=True)
        dose = self.evid in _EVID_DOSE
        self.amt = self._number("AMT", low=0.0)
        if dose and not (self.amt > 0):
            self._bad(
                "AMT",
                f"{self._shown('AMT')} on a dose row (EVID {self.evid}); allowed: an amount > 0 mg",
            )
        elif not dose and self.amt > 0:
            self._bad(
                "AMT",
                f"{self._shown('AMT')} on a row with EVID {self.evid}; allowed: "
                "0 or empty (only EVID 1 and 4 give a dose)",
            )
        self.rate = self._number("RATE")
        if self.rate not in (0.0,) and not math.isnan(self.rate):
            self._bad(
                "RATE",
                f"{self._shown('RATE')}; allowed: 0 or empty (oral doses are "
                "absorbed first-order; zero-order input is not modelled)",
            )
        default_cmt = 1 if dose else (2 if self.evid == 0 else 0)
        self.cmt = self._whole("CMT", default=default_cmt)
        if dose and self.cmt not in cols.DOSE_CMT:
            self._bad("CMT", f"{self.cmt} on a dose row; allowed: {cols.DOSE_CMT} (the depot)")
        self.mdv = self._whole("MDV", default=0 if self.evid == 0 else 1, allowed=(0, 1))
        if dose and self.mdv == 0:
            self._bad("MDV", "0 on a dose row; allowed: 1 (or empty)")
        self.observation = self.evid == 0 and self.mdv == 0
        if self.observation and self.cmt not in cols.OBSERVATION_CMT:
            self._bad("CMT", f"{self.cmt} on an observation; allowed: 2 (central) or empty")
        self.ii = self._number("II", low=0.0, default=0.0)
        self.addl = self._whole("ADDL", default=0, low=0)
        self.ss = self._whole("SS", default=0, allowed=(0, 1))
        if (self.addl > 0 or self.ss == 1) and not self.ii > 0:
            self._bad(
                "II",
                f"{self._shown('II')} with ADDL {self.addl} / SS {self.ss}; "
                "allowed: the dosing interval, > 0 h",
            )
        if (self.addl > 0 or self.ss == 1) and not dose:
            self._bad(
                "ADDL" if self.addl else "SS",
                f"on a row with EVID {self.evid}; ADDL and SS belong on dose rows (EVID 1 or 4)",
            )
        self.occ = self._whole("OCC", default=0, low=0) if "OCC" in index else 0
        self.blq = self._whole("BLQ", default=0, allowed=(0, 1)) == 1
        self.lloq = self._number("LLOQ", low=0.0) * factor
        self.dv = self._number("DV", low=0.0) * factor
        if self.observation:
            if self.blq and math.isnan(self.lloq) and not self.dv > 0:
                self._bad(
                    "LLOQ",
                    "empty on a BLQ row whose DV is empty or 0; allowed: the "
                    "limit of quantification (> 0), in LLOQ or in DV",
                )
            elif not self.blq and math.isnan(self.dv):
                self._bad(
                    "DV",
                    "empty on an observation (EVID 0, MDV 0); allowed: a "
                    "concentration >= 0, or MDV 1, or BLQ 1 with its LLOQ",
                )
            if self.blq and math.isnan(self.lloq):
                self.lloq = self.dv  # Beal's convention: a BLQ row's DV holds its limit
            if not self.blq and self.lloq > 0 and self.dv < self.lloq:
                self.blq = True
        self.comed = self._comedications()
        self.covariates = {
            column: covariate_value(registry.get(column), self._text(column), column, self._bad)
            for column in index
            if column in cols.COVARIATE_COLUMNS
        }

    # -- cells
    def _comedications(self) -> tuple[str, ...]:
        names = []
        for part in self._text("COMED").split(cols.COMED_SEPARATOR):
            if part.strip():
                try:
                    names.append(lookup_drug(part.strip()).name)
                except ValueError as error:
                    self._bad("COMED", f"{error} (several: join them with '+')")
        return tuple(sorted(set(names)))

    def _text(self, column: str) -> str:
        j = self._index.get(column)
        if j is None or j >= len(self._cells):
            return ""
        text = self._cells[j].strip()
        return "" if text in MISSING_TEXT else text

    def _shown(self, column: str) -> str:
        return shown(self._text(column)) if self._text(column) else "empty"

    def _bad(self, column: str, message: str) -> None:
        self._problems.add(f"row {self.number}, column {column}", message)

    def _number(
        self,
        column: str,
        *,
        low: float | None = None,
        default: float = math.nan,
        required: bool = False,
    ) -> float:
        text = self._text(column)
        if not text:
            if required:
                self._bad(column, "is empty; allowed: a number (hours)")
            return default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (low is not None and value < low):
            bound = f" >= {low:g}" if low is not None else ""
            self._bad(column, f"{shown(text)}; allowed: a finite number{bound}")
            return default
        return value

    def _whole(
        self,
        column: str,
        *,
        default: int = 0,
        low: int | None = None,
        allowed: tuple[int, ...] | None = None,
    ) -> int:
        text = self._text(column)
        if not text:
            return default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and value == int(value)
        ok = ok and (low is None or value >= low) and (allowed is None or int(value) in allowed)
        if not ok:
            what = f"one of {list(allowed)}" if allowed else f"a whole number >= {low}"
            if column == "EVID":
                what += " (" + ", ".join(f"{k} {v}" for k, v in cols.EVID_VALUES.items()) + ")"
            self._bad(column, f"{shown(text)}; allowed: {what}")
            return default
        return int(value)

    def _clock(self) -> datetime | None:
        day, clock = self._text("DATE"), self._text("TIME")
        try:
            when = date.fromisoformat(day)
        except ValueError:
            self._bad("DATE", f"{shown(day) if day else 'empty'}; allowed: YYYY-MM-DD")
            return None
        try:
            at = time.fromisoformat(clock)
        except ValueError:
            self._bad(
                "TIME",
                f"{shown(clock) if clock else 'empty'}; allowed with DATE: a "
                "clock time HH:MM or HH:MM:SS",
            )
            return None
        return datetime.combine(when, at)


def _group(rows: list[_Row], problems: Problems) -> list[tuple[str, list[_Row]]]:
    groups: list[tuple[str, list[_Row]]] = []
    seen: set[str] = set()
    for row in rows:
        if groups and groups[-1][0] == row.id:
            groups[-1][1].append(row)
            continue
        if row.id in seen:
            problems.add(
                f"row {row.number}, column ID",
                f"patient {shown(row.id)} again after "
                "other patients; allowed: the rows of one ID together",
            )
        seen.add(row.id)
        groups.append((row.id, [row]))
    for _, group in groups:
        clocks = [r.clock for r in group]
        if all(c is not None for c in clocks) and clocks and clocks[0] is not None:
            for r in group:
                r.time = (r.clock - clocks[0]).total_seconds() / SECONDS_PER_HOUR
        previous = -math.inf
        for r in group:
            if r.time < previous:
                problems.add(
                    f"row {r.number}, column {'DATE/TIME' if r.clock else 'TIME'}",
                    f"goes back in time ({r.time:g} h after {previous:g} h); allowed: "
                    "the records of a patient in time order",
                )
            if not math.isnan(r.time):
                previous = r.time
    return groups


def _patient(pid: str, rows: list[_Row], rule: str, problems: Problems) -> PatientHistory:
    doses: list[tuple[float, float, bool, float, int]] = []
    resets: list[float] = []
    for r in rows:
        if r.evid in _EVID_RESET or (r.evid in _EVID_DOSE and r.ss == 1):
            resets.append(r.time)
        if r.evid in _EVID_DOSE:
            doses.append((r.time, r.amt, r.ss == 1, r.ii, r.occ))
            doses.extend(
                (r.time + k * r.ii, r.amt, False, r.ii, r.occ) for k in range(1, r.addl + 1)
            )
    doses.sort(key=lambda d: d[0])
    obs = [r for r in rows if r.observation]
    origin = rows[0].clock.isoformat(sep=" ") if rows[0].clock is not None else None
    comedications = _courses(rows, Problems())  # checked before
    return PatientHistory(
        id=pid,
        dose_times=[d[0] for d in doses],
        dose_amounts=[d[1] for d in doses],
        dose_ss=[d[2] for d in doses],
        dose_ii=[d[3] for d in doses],
        dose_occasion=[d[4] for d in doses],
        reset_times=sorted(resets),
        obs_times=[r.time for r in obs],
        obs_values=[r.dv if not r.blq else math.nan for r in obs],
        obs_blq=[r.blq for r in obs],
        obs_lloq=[r.lloq for r in obs],
        obs_occasion=[r.occ for r in obs],
        obs_rows=[r.number for r in obs],
        record_times=[r.time for r in rows],
        covariates=fill_covariates(list(rows[0].covariates), [r.covariates for r in rows], rule),
        covariate_rule=rule,
        clock_origin=origin,
        comedications=comedications,
    )


def _courses(rows: list[_Row], problems: Problems) -> tuple[CoMedication, ...]:
    """Courses of each co-medication: from a record naming it (after one that does not, or
    the first record) to the next record that does not name it (or open-ended)."""
    out = []
    for drug in sorted({d for r in rows for d in r.comed}):
        start = None
        for r in [*rows, None]:
            taken = r is not None and drug in r.comed
            if taken and start is None:
                start = r
            elif not taken and start is not None:
                stop = None if r is None else r.time / HOURS_PER_DAY
                if stop is not None and r.time - start.time < HOURS_PER_DAY:
                    problems.add(
                        f"row {r.number}, column COMED",
                        f"{drug} stops "
                        f"{r.time - start.time:g} h after it starts (row {start.number}); "
                        "allowed: courses of at least 24 h",
                    )
                else:
                    out.append(CoMedication(drug, start.time / HOURS_PER_DAY + 1.0, stop))
                start = None
    return tuple(out)
