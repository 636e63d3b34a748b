"""Real patients from a CSV table: one row per patient, one column per covariate.

The columns, their units, plausible ranges and defaults come from the covariate registry
(:mod:`pksim.library.covariates`); :data:`CSV_COLUMNS` lists them. Every fault is refused
when the file is read, naming the row (1 = first data row), its line and the column: a run
never meets a patient it cannot simulate. Unknown values of imputable covariates (an untested
CYP3A5 genotype) stay unknown here; the run imputes them with its own seed
(:func:`pksim.cohort.sampling.impute_unknown`).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from pksim.cohort.covariates import Covariates
from pksim.cohort.effects import missing_effect_covariates
from pksim.cohort.renal import complete_renal_covariates
from pksim.errors import unknown_name
from pksim.library import covariates as registry
from pksim.library.parameters import ParameterSet
from pksim.library.populations import shared_constant

__all__ = ["CSV_COLUMNS", "PATIENT_ID", "UNKNOWN_TEXT", "patient_problems", "read_patients_csv"]

PATIENT_ID = "patient_id"
"""Optional column: a label per patient (default: the row number)."""
UNKNOWN_TEXT = frozenset({"", "unknown", "na", "n/a", "nan"})
"""Cell texts meaning "not known" (compared in lower case)."""
RENAL_COLUMNS = ("egfr", "serum_creatinine_mg_dl", "serum_creatinine_umol_l")
"""Columns of which each patient needs one: the renal-impairment classification (target
ceiling) needs eGFR and serum creatinine, and each is derived from the other (CKD-EPI)."""

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


def read_patients_csv(source: str | os.PathLike[str] | io.TextIOBase) -> Covariates:
    """Covariates of real patients from a CSV table (one row per patient, see CSV_COLUMNS).

    Errors name the file, the row (1 = first data row), its line in the file and the column,
    and what is allowed. A missing eGFR is derived from serum creatinine and vice versa
    (CKD-EPI 2009); each patient needs one of them. Unknown CYP3A5 genotypes stay unknown
    (code -1) until the run imputes them.
    """
    if isinstance(source, io.TextIOBase):
        name, text = "<csv>", source.read()
    else:
        name = os.fspath(source)
        with open(name, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    _check_header(name, header)
    reader.fieldnames = header
    columns: dict[str, list[Any]] = {PATIENT_ID: [], **{c.name: [] for c in _GIVEN}}
    for index, row in enumerate(reader, start=1):
        where = f"{name}: row {index} (line {reader.line_num})"
        if None in row:
            raise ValueError(f"{where}: more fields than columns in the header")
        cells = {k: (v or "").strip() for k, v in row.items()}
        columns[PATIENT_ID].append(cells.get(PATIENT_ID) or str(index))
        for covariate in _GIVEN:
            columns[covariate.name].append(_cell(covariate, cells, where))
        if all(math.isnan(columns[c][-1]) for c in ("egfr", "serum_creatinine_mg_dl")):
            given = [c for c in RENAL_COLUMNS if c in header]
            raise ValueError(
                f"{where}: no eGFR and no serum creatinine (columns {given} are empty); give "
                f"one of {list(RENAL_COLUMNS)}: the renal-impairment classification needs it"
            )
    if not columns[PATIENT_ID]:
        raise ValueError(f"{name}: no patient rows below the header")
    values = {c.name: np.array(columns[c.name]) for c in _GIVEN}
    values["egfr"], values["serum_creatinine_mg_dl"] = complete_renal_covariates(
        values["egfr"], values["serum_creatinine_mg_dl"], values["age_y"], values["sex"]
    )
    return Covariates(**values, patient_id=columns[PATIENT_ID])


def _check_header(name: str, header: list[str]) -> None:
    if not header:
        raise ValueError(f"{name}: empty file; expected a header with columns {list(CSV_COLUMNS)}")
    for column in header:
        if column not in CSV_COLUMNS:
            raise ValueError(f"{name}: {unknown_name('column', column, CSV_COLUMNS)}")
    if len(set(header)) != len(header):
        raise ValueError(f"{name}: duplicate column names in the header {header}")
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
        raise ValueError(f"{where}, column {column!r}: {text!r} is not a number") from None
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
        raise ValueError(f"{where}, column {column!r}: {unknown_name(column, text, valid)}")
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
