"""Real patients from a CSV table: one row per patient, one column per covariate.

The columns, their units, plausible ranges and defaults come from the covariate registry
(:mod:`pksim.library.covariates`); :data:`CSV_COLUMNS` lists them. Every fault is refused
when the file is read, naming the row (1 = first data row), its line and the column: a run
never meets a patient it cannot simulate. Unknown values of imputable covariates (an untested
CYP3A5 genotype) stay unknown here; the run imputes them with its own seed
(:func:`pksim.cohort.sampling.impute_unknown`).

A scenario's patient table must lie in the scenario's folder or below (links and ``..``
resolved) unless the user allows files outside it (:func:`read_scenario_patients`). Only
regular files up to :data:`MAX_PATIENTS_CSV_BYTES` are read, and a message quotes at most
:data:`MAX_QUOTED_CHARS` characters of a cell, control characters escaped: an error never
prints the file's contents.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from pksim.cohort.covariates import Covariates
from pksim.cohort.effects import missing_effect_covariates
from pksim.cohort.renal import complete_renal_covariates
from pksim.errors import MAX_PROBLEMS_SHOWN, Invalid, unknown_name
from pksim.library import covariates as registry
from pksim.library.parameters import ParameterSet
from pksim.library.populations import shared_constant

__all__ = [
    "CSV_COLUMNS",
    "MAX_PATIENTS_CSV_BYTES",
    "MAX_QUOTED_CHARS",
    "PATIENT_ID",
    "UNKNOWN_TEXT",
    "patient_problems",
    "read_patients_csv",
    "read_scenario_patients",
]

PATIENT_ID = "patient_id"
"""Optional column: a label per patient (default: the row number)."""
UNKNOWN_TEXT = frozenset({"", "unknown", "na", "n/a", "nan"})
"""Cell texts meaning "not known" (compared in lower case)."""
RENAL_COLUMNS = ("egfr", "serum_creatinine_mg_dl", "serum_creatinine_umol_l")
"""Columns of which each patient needs one: the renal-impairment classification (target
ceiling) needs eGFR and serum creatinine, and each is derived from the other (CKD-EPI)."""
MAX_PATIENTS_CSV_BYTES = 100 * 2**20
"""Largest patient table read (100 MiB, about a million patients): a larger file, or a
special file that never ends, is refused instead of being read into memory."""
MAX_QUOTED_CHARS = 32
"""Most characters of a cell quoted in an error message (the longest column name has 23)."""
MAX_ROW_PROBLEMS = MAX_PROBLEMS_SHOWN - 1
"""Most problems of a patient table's rows listed at once: the reading stops there, and says
so in the last line a message shows."""
MAX_PATIENT_ID_CHARS = 100
"""Longest ``patient_id`` (characters): it becomes a fixed-width label of every subject."""
SPECIAL_FILES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
"""What a path may name instead of a regular file, as a message names it."""
_COLUMN_NAME = re.compile(r"[A-Za-z0-9_ ./%()-]+")
"""What a header cell may look like to be quoted back in a message."""

_GIVEN = tuple(c for c in registry.carried() if c.patients is not None)


def _describe(covariate: registry.Covariate) -> str:
    rule = covariate.patients
    text = "required" if rule.required else "optional"
    if covariate.kind == registry.NUMERIC:
        text += f", {covariate.units}"
    else:
        options = list(covariate.categories)
        if covariate.imputable:
            options.append(registry.UNKNOWN_LABEL)
        text += ": " + " | ".join(options)
        if rule.aliases:
            text += f" (or {' | '.join(a.upper() for a in rule.aliases)})"
    if covariate.kind == registry.CATEGORICAL and covariate.default is not None:
        text += f" (default {covariate.default})"
    elif covariate.kind == registry.NUMERIC and covariate.default is not None:
        known = not math.isnan(covariate.default)
        text += f" (default {covariate.default:g})" if known else " (empty: unknown)"
    if rule.note:
        text += f" ({rule.note})"
    return text


def _columns() -> Mapping[str, str]:
    out = {PATIENT_ID: "optional label (default: row number)"}
    for covariate in _GIVEN:
        out[covariate.name] = _describe(covariate)
        for other in covariate.patients.other_units:
            out[other.column] = f"optional, {other.units} (alternative to {covariate.name})"
    return MappingProxyType(out)


CSV_COLUMNS: Mapping[str, str] = _columns()
"""Columns of a patient table (header names exactly as here) -> what they hold."""


def read_scenario_patients(
    name: str, folder: str | os.PathLike[str], *, allow_outside: bool = False
) -> tuple[Path, Covariates]:
    """The patient table ``name`` of a scenario file in ``folder``: its path as given (for
    messages) and its covariates.

    ``name`` is relative to ``folder`` (or absolute). It must lie in ``folder`` or below once
    links and ``..`` are resolved (a link pointing outside is outside), unless
    ``allow_outside`` (``pksim run --allow-files-outside``,
    ``load_scenario(..., allow_files_outside=True)``). The file read is the resolved one.
    """
    given = Path(folder) / name
    try:
        resolved = given.resolve()
        root = Path(folder).resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a loop of links, a NUL character
        raise ValueError(f"{given}: the path cannot be resolved ({error})") from None
    if not allow_outside and not resolved.is_relative_to(root):
        raise ValueError(
            f"{given} is outside the scenario's folder {root} (links and '..' resolved: "
            f"{resolved}); put the table in that folder or below, or allow files outside it "
            "on the command line (pksim run --allow-files-outside) or in Python "
            "(load_scenario(..., allow_files_outside=True))"
        )
    if not os.path.lexists(resolved):
        raise ValueError(f"no such file: {given}")
    return given, _read_patients(_read_text(resolved, str(given)), str(given))


def read_patients_csv(source: str | os.PathLike[str] | io.TextIOBase) -> Covariates:
    """Covariates of real patients from a CSV table (one row per patient, see CSV_COLUMNS).

    Errors name the file, the row (1 = first data row), its line in the file and the column,
    and what is allowed. A missing eGFR is derived from serum creatinine and vice versa
    (CKD-EPI 2009); each patient needs one of them. Unknown CYP3A5 genotypes stay unknown
    (code -1) until the run imputes them. A path must name a regular file of at most
    :data:`MAX_PATIENTS_CSV_BYTES` in UTF-8.
    """
    if isinstance(source, io.TextIOBase):
        return _read_patients(source.read(), "<csv>")
    name = os.fspath(source)
    return _read_patients(_read_text(name, name), name)


def _read_text(path: str | os.PathLike[str], name: str) -> str:
    """The text of the regular file at ``path`` (named ``name`` in messages)."""
    try:
        _check_regular(os.stat(path), name)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        with open(os.open(path, flags), "rb") as handle:  # never blocks on a FIFO swapped in
            _check_regular(os.fstat(handle.fileno()), name)  # what was opened was checked
            data = handle.read(MAX_PATIENTS_CSV_BYTES + 1)
    except FileNotFoundError:
        raise ValueError(f"no such file: {name}") from None
    except OSError as error:
        raise ValueError(f"{name}: cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_PATIENTS_CSV_BYTES:
        raise ValueError(f"{name}: larger than {_limit()}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{name}: not UTF-8 text (an invalid byte at offset {error.start:,}); save the "
            "table as UTF-8 CSV"
        ) from None


def _check_regular(status: os.stat_result, name: str) -> None:
    """Refuse anything but a regular file, and a file over MAX_PATIENTS_CSV_BYTES."""
    for is_kind, kind in SPECIAL_FILES:
        if is_kind(status.st_mode):
            raise ValueError(f"{name} is {kind}, not a regular file: give a CSV file")
    if not stat.S_ISREG(status.st_mode):
        raise ValueError(f"{name} is not a regular file: give a CSV file")
    if status.st_size > MAX_PATIENTS_CSV_BYTES:
        raise ValueError(f"{name}: {status.st_size:,} bytes, larger than {_limit()}")


def _limit() -> str:
    return (
        f"the {MAX_PATIENTS_CSV_BYTES:,}-byte ({MAX_PATIENTS_CSV_BYTES / 2**20:g} MiB) limit "
        "of a patient table"
    )


def _shortened(text: str) -> str:
    """``text`` cut to MAX_QUOTED_CHARS characters (marked "..." when cut), to be quoted with
    ``repr``, which escapes control characters."""
    return text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "..."


def _quoted(text: str) -> str:
    """``text`` for a message: shortened, quoted, control characters escaped."""
    return repr(_shortened(text))


def _read_patients(text: str, name: str) -> Covariates:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _parse(reader, name)
    except csv.Error as error:  # e.g. a field over the csv module's size limit
        raise ValueError(
            f"{name}: line {reader.line_num}: not a readable CSV table ({error})"
        ) from None


def _parse(reader: csv.DictReader, name: str) -> Covariates:
    """The patients of a table whose header is checked; every bad cell of every row is found
    before one :class:`~pksim.errors.Invalid` lists them (up to MAX_ROW_PROBLEMS)."""
    header = [h.strip() for h in (reader.fieldnames or [])]
    _check_header(name, header)
    reader.fieldnames = header
    columns: dict[str, list[Any]] = {PATIENT_ID: [], **{c.name: [] for c in _GIVEN}}
    problems: list[str] = []
    for index, row in enumerate(reader, start=1):
        where = f"{name}: row {index} (line {reader.line_num})"
        found = _row(row, index, header, where, columns)
        problems += found
        if len(problems) >= MAX_ROW_PROBLEMS:
            problems = problems[:MAX_ROW_PROBLEMS]
            problems.append(
                f"stopped at row {index} after {MAX_ROW_PROBLEMS} problems; fix these and check "
                "again"
            )
            break
    if problems:
        raise Invalid(name, problems)
    if not columns[PATIENT_ID]:
        raise ValueError(f"{name}: no patient rows below the header")
    values = {c.name: np.array(columns[c.name]) for c in _GIVEN}
    values["egfr"], values["serum_creatinine_mg_dl"] = complete_renal_covariates(
        values["egfr"], values["serum_creatinine_mg_dl"], values["age_y"], values["sex"]
    )
    return Covariates(**values, patient_id=columns[PATIENT_ID])


def _row(
    row: Mapping[Any, Any], index: int, header: list[str], where: str, columns: dict[str, list]
) -> list[str]:
    """Append one row's values to ``columns``; the problems of its cells (none when good)."""
    if None in row:
        return [f"{where}: more fields than columns in the header"]
    cells = {k: (v or "").strip() for k, v in row.items()}
    problems = []
    values: dict[str, Any] = {}
    for key, read in [
        (PATIENT_ID, lambda: _patient_id(cells.get(PATIENT_ID) or str(index), where)),
        *((c.name, lambda c=c: _cell(c, cells, where)) for c in _GIVEN),
    ]:
        try:
            values[key] = read()
        except ValueError as error:
            problems.append(str(error))
    renal = [values.get(c, 0.0) for c in ("egfr", "serum_creatinine_mg_dl")]
    if all(isinstance(v, float) and math.isnan(v) for v in renal):
        given = [c for c in RENAL_COLUMNS if c in header]
        problems.append(
            f"{where}: no eGFR and no serum creatinine (columns {given} are empty); give "
            f"one of {list(RENAL_COLUMNS)}: the renal-impairment classification needs it"
        )
    if not problems:
        for key, value in values.items():
            columns[key].append(value)
    return problems


def _patient_id(label: str, where: str) -> str:
    if len(label) > MAX_PATIENT_ID_CHARS or not label.isprintable():
        raise ValueError(
            f"{where}, column {PATIENT_ID!r}: {_quoted(label)} is not a label of at most "
            f"{MAX_PATIENT_ID_CHARS} printable characters"
        )
    return label


def _check_header(name: str, header: list[str]) -> None:
    if not header:
        raise ValueError(f"{name}: empty file; expected a header with columns {list(CSV_COLUMNS)}")
    for number, column in enumerate(header, start=1):
        if column not in CSV_COLUMNS:
            raise ValueError(f"{name}: header, column {number}: {_unknown_column(column)}")
    duplicates = sorted({column for column in header if header.count(column) > 1})
    if duplicates:
        raise ValueError(f"{name}: duplicate column names in the header: {duplicates}")
    required = [c.name for c in _GIVEN if c.patients.required]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(
            f"{name}: missing required column(s) {missing}; columns: {dict(CSV_COLUMNS)}"
        )
    for covariate in _GIVEN:
        ways = [covariate.name, *(o.column for o in covariate.patients.other_units)]
        if sum(way in header for way in ways) > 1:
            raise ValueError(f"{name}: give {covariate.name} in one column of {ways}, not several")
    if not any(column in header for column in RENAL_COLUMNS):
        raise ValueError(
            f"{name}: no eGFR or serum creatinine column; give one of {list(RENAL_COLUMNS)}: "
            "the renal-impairment classification needs it for every patient"
        )


def _unknown_column(column: str) -> str:
    """What is wrong with a header name: one that looks like a column name (short, letters,
    digits and ``_ -./%()`` and spaces) is quoted with a "did you mean"; anything else is not
    quoted (a file that is no patient table, e.g. ``NAME=value`` lines of an environment)."""
    if len(column) <= MAX_QUOTED_CHARS and _COLUMN_NAME.fullmatch(column):
        return unknown_name("column", column, CSV_COLUMNS)
    kind = "printable " if column.isprintable() else "with control "
    return (
        f"not a column name ({len(column):,} characters, {kind}characters; is this a patient "
        f"table?); valid: {', '.join(sorted(CSV_COLUMNS))}"
    )


def _cell(covariate: registry.Covariate, cells: Mapping[str, str], where: str) -> Any:
    """One patient's value of ``covariate``: a number in its units, or a category code."""
    if covariate.kind == registry.CATEGORICAL:
        return _category(covariate, cells.get(covariate.name, ""), where)
    column, per = covariate.name, 1.0
    for other in covariate.patients.other_units:
        if other.column in cells:
            column, per = other.column, shared_constant(other.per_unit).value
    text = cells.get(column, "")
    if text.lower() in UNKNOWN_TEXT:
        if covariate.patients.required:
            raise ValueError(f"{where}, column {column!r}: a value is required")
        return math.nan if covariate.default is None else float(covariate.default)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}, column {column!r}: {_quoted(text)} is not a number") from None
    low, high = (limit * per for limit in covariate.allowed)
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(
            f"{where}, column {column!r}: {value:g} is outside the plausible range "
            f"[{low:g}, {high:g}] (check the units: {CSV_COLUMNS[column]})"
        )
    return value / per


def _category(covariate: registry.Covariate, text: str, where: str) -> int:
    rule = covariate.patients
    column = covariate.name
    if covariate.imputable and text.lower() in UNKNOWN_TEXT:
        return registry.UNKNOWN_CODE
    if not text and covariate.default is not None:
        return covariate.categories.index(covariate.default)
    if not text:
        raise ValueError(f"{where}, column {column!r}: a value is required")
    spellings = {c.lower(): c for c in covariate.categories} | dict(rule.aliases)
    label = spellings.get(text.lower())
    if label is None:
        valid = [*covariate.categories, *(a.upper() for a in rule.aliases)]
        if covariate.imputable:
            valid.append(registry.UNKNOWN_LABEL)
        unknown = unknown_name(column, _shortened(text), valid)
        raise ValueError(f"{where}, column {column!r}: {unknown}")
    return covariate.categories.index(label)


def patient_problems(cov: Covariates, pset: ParameterSet, *, origin: str = "<csv>") -> list[str]:
    """What keeps parameter set ``pset`` from simulating patients ``cov`` read from file
    ``origin`` (empty when nothing): a covariate an effect uses that a patient lacks, by row
    (1 = first patient) and column."""
    problems = []
    for subject, name, parameter in missing_effect_covariates(pset, cov):
        covariate = registry.get(name)
        value = cov[name][subject]
        low, high = covariate.allowed or (-math.inf, math.inf)
        problems.append(
            f"{origin}: row {subject + 1}, column {name!r}: "
            f"{'no value' if np.isnan(value) else f'{value:g} cannot be used'}, but parameter set "
            f"{pset.name!r} has an effect of {name} on {parameter}; give every patient a value "
            f"in [{low:g}, {high:g}] {covariate.units}"
        )
    return problems
