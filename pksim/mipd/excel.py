"""A NONMEM-style dataset kept in an Excel workbook (``.xlsx``): its first sheet as CSV text.

Read with openpyxl (the optional ``app`` extra; ``pip install 'pksim[app]'``), cell values
only. Dates become ``YYYY-MM-DD`` and clock times ``HH:MM`` (as a ``DATE``/``TIME`` dataset
writes them), whole numbers lose their ``.0``, empty cells stay empty; then the dataset is read
exactly as a CSV file (:func:`pksim.mipd.nonmem.read_nonmem_text`), with its row numbers.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

__all__ = ["EXCEL_SUFFIXES", "excel_as_csv"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
"""File suffixes read as Excel workbooks."""


def excel_as_csv(path: Path) -> str:
    """The first sheet of the workbook at ``path`` as CSV text (header row first)."""
    try:
        import openpyxl
    except ImportError:
        raise ImportError(
            f"{path}: reading Excel needs openpyxl, which is not installed: "
            "pip install 'pksim[app]', or save the sheet as CSV"
        ) from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # a damaged or non-Excel file, whatever openpyxl calls it
        raise ValueError(f"{path}: not a readable Excel workbook ({error})") from None
    try:
        sheet = workbook.worksheets[0]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in sheet.iter_rows(values_only=True):
            if any(cell is not None for cell in row):
                writer.writerow([_cell_text(cell) for cell in row])
        return out.getvalue()
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    """One cell as a CSV dataset writes it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%H:%M") if value.date() == date(1899, 12, 30) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
