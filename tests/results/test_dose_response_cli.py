"""``pksim dose-response``: the grid syntax, the printed table, the files, and bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pksim import cli
from pksim.results.dose_response_report import parse_doses

BASE = ["dose-response", "ln-induction", "-n", "300", "--seed", "4"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1:3:0.5", [1.0, 1.5, 2.0, 2.5, 3.0]),
        ("1:2:0.1", [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0]),  # decimal steps
        ("1:2.2:0.5", [1.0, 1.5, 2.0]),  # STOP not reached by a whole step
        ("3", [3.0]),
        ("2,3,4.5", [2.0, 3.0, 4.5]),
    ],
)
def test_grid_syntax(text, expected):
    assert parse_doses(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1:8", "give START:STOP:STEP"),
        ("1:8:0", "need STEP > 0 and START <= STOP"),
        ("8:1:1", "need STEP > 0 and START <= STOP"),
        ("1:8:0.001", "gives 7001 doses; at most 500"),
        ("a,b", "is not a list of numbers"),
        ("1:x:1", "is not a list of numbers"),
    ],
)
def test_bad_grids(text, message):
    with pytest.raises(ValueError, match=message):
        parse_doses(text)


def test_table_files_and_same_dose_note(tmp_path, capsys):
    out = tmp_path / "dr"
    argv = [*BASE, "--regimen", "0.05 mg/kg/day BID, rounded to 0.5 mg", "--doses", "2,2.4,2.6,4"]
    assert cli.main([*argv, "--out", str(out), "--max-above", "20"]) == 0
    printed = capsys.readouterr().out
    assert (
        "dose response of '0.05 mg/kg/day BID, rounded to 0.5 mg' (mg/day), 300 subjects" in printed
    )
    assert "same dose as 2.4" in printed
    assert "at most 20 % above range" in printed
    assert "best dose: " in printed
    table = pd.read_csv(out / "dose_response.csv")
    assert list(table["dose"]) == [2.0, 2.4, 2.6, 4.0]
    assert table.loc[table["dose"] == 2.6, "same_dose_as"].item() == 2.4
    assert table.loc[table["dose"] == 2.4, "daily_dose_low_mg"].item() == 2.5
    manifest = json.loads((out / "pksim-manifest.json").read_text())
    assert set(manifest["files"]) == {"dose_response.csv", "dose_response.png"}
    assert manifest["run"]["command"] == "dose-response"


def test_per_kg_by_weight_band_without_plot(tmp_path, capsys):
    out = tmp_path / "kg"
    argv = [
        *BASE,
        "--regimen",
        "1.5 mg BID",
        "--mg-per-kg",
        "0.03:0.06:0.01",
        "--by",
        "weight_band",
        "--no-plot",
        "--out",
        str(out),
    ]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "(mg/kg/day)" in printed and "best dose for < 60 kg" in printed
    table = pd.read_csv(out / "dose_response.csv")
    assert len(table) == 8 and set(table["weight_band"]) == {"< 60 kg", "≥ 60 kg"}
    assert not (out / "dose_response.png").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--doses", "1:3:1"], "the scenario has 4 regimens: name the one"),
        (["--regimen", "nope", "--doses", "1"], "unknown regimen 'nope'"),
        (["--regimen", "3 mg QD", "--doses", "0,1"], "must be finite and > 0 mg/day, got 0"),
        (["--regimen", "3 mg QD", "--doses", "1", "--max-above", "200"], "max_above_pct"),
        (["--regimen", "3 mg QD", "--doses", "1", "--by", "dose"], "unknown grouping 'dose'"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "bad"
    assert cli.main([*BASE, *extra, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_doses_are_required(capsys):
    with pytest.raises(SystemExit):
        cli.main([*BASE, "--regimen", "3 mg QD"])
    assert "one of the arguments --doses --mg-per-kg is required" in capsys.readouterr().err
