"""A NONMEM-style dataset in an Excel workbook reads as the same dataset saved as CSV: the same
histories, the same refusal of a bad row (with its row and column), clock times and dates."""

import csv
import dataclasses
import datetime
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from pksim.errors import Invalid
from pksim.mipd.nonmem import read_nonmem

openpyxl = pytest.importorskip("openpyxl")

EXAMPLE = Path(__file__).resolve().parents[2] / "pksim" / "data" / "patients" / "example_mipd.csv"


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _same(left, right, where: str = "histories") -> None:
    """The same values, compared through dataclasses, mappings, sequences and arrays."""
    if dataclasses.is_dataclass(left):
        assert type(left) is type(right), where
        for field in dataclasses.fields(left):
            _same(getattr(left, field.name), getattr(right, field.name), field.name)
    elif isinstance(left, np.ndarray):
        np.testing.assert_array_equal(left, right, err_msg=where)
    elif isinstance(left, Mapping):
        assert left.keys() == right.keys(), where
        for key in left:
            _same(left[key], right[key], f"{where}[{key}]")
    elif isinstance(left, list | tuple):
        assert len(left) == len(right), where
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert left == right, where


def _workbook(rows, path: Path) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_the_example_patient_reads_the_same_from_excel(tmp_path):
    with EXAMPLE.open(encoding="utf-8") as handle:
        rows = [[_number(cell) if i else cell for i, cell in enumerate(row)]
                for row in csv.reader(handle)]  # fmt: skip
    rows = [rows[0], *([None if c == "." else c for c in row] for row in rows[1:])]
    _same(read_nonmem(_workbook(rows, tmp_path / "patient.xlsx")), read_nonmem(EXAMPLE))


def test_dates_and_clock_times_from_excel_cells(tmp_path):
    header = ["ID", "DATE", "TIME", "AMT", "EVID", "CMT", "II", "ADDL", "SS", "DV", "MDV"]
    day = datetime.date(2026, 11, 2)
    clock_rows = [
        header,
        ["A", day, datetime.time(8, 0), 1.5, 1, 1, 12, 9, 0, None, 1],
        ["A", day + datetime.timedelta(days=4), datetime.time(7, 30), 0, 0, 2, 0, 0, 0, 5.2, 0],
    ]
    text_rows = [
        header,
        ["A", "2026-11-02", "08:00", 1.5, 1, 1, 12, 9, 0, ".", 1],
        ["A", "2026-11-06", "07:30", 0, 0, 2, 0, 0, 0, 5.2, 0],
    ]
    with (tmp_path / "text.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(text_rows)
    _same(
        read_nonmem(_workbook(clock_rows, tmp_path / "clock.xlsx")),
        read_nonmem(tmp_path / "text.csv"),
    )


def test_a_bad_row_in_excel_names_its_row_and_column(tmp_path):
    rows = [
        ["ID", "TIME", "AMT", "EVID", "CMT", "II", "ADDL", "SS", "DV", "MDV"],
        ["A", 0, 1.5, 1, 1, 12, 9, 0, None, 1],
        ["A", 96, 0, 7, 2, 0, 0, 0, 5.2, 0],
    ]
    with pytest.raises(Invalid, match=r"row 2.*EVID"):
        read_nonmem(_workbook(rows, tmp_path / "bad.xlsx"))


def test_a_file_that_is_not_a_workbook_is_refused_plainly(tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("ID,TIME\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a readable Excel workbook"):
        read_nonmem(fake)
