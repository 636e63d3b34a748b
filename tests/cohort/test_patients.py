"""Patient CSV files: reading, and every fault refused when the file is read, with its row,
line and column, and what is allowed."""

from __future__ import annotations

import io
import os
import socket
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from pksim import cli, cohort
from pksim.cohort import patients
from pksim.errors import ScenarioError
from pksim.library import covariates as registry
from pksim.library.parameters import parameter_set_from_dict
from pksim.scenario import load_scenario

DATA = Path(__file__).parents[1] / "data"
HEADER = "weight_kg,sex,age_y,hematocrit_pct,cyp3a5,egfr\n"


def test_example_patients_csv():
    cov = cohort.read_patients_csv(DATA / "patients.csv")
    assert cov.patient_id == ("LN-001", "LN-002", "LN-003", "LN-004", "LN-005")
    assert cov.labels("sex").tolist() == ["female", "female", "male", "female", "female"]
    assert cov.cyp3a5[:3].tolist() == [0, 1, 2] and cov.liver_function[4] == 1
    # LN-004's genotype is unknown: it stays unknown until the run imputes it with its seed.
    assert cov.cyp3a5[3] == registry.UNKNOWN_CODE
    assert cov.labels("cyp3a5")[3] == "unknown"
    # Missing eGFR derived from creatinine and vice versa (CKD-EPI 2009).
    assert cov.egfr[0] == pytest.approx(141 * 0.993**28 * 1.018 * (0.68 / 0.7) ** -0.329)
    assert cohort.egfr_from_serum_creatinine(cov.serum_creatinine_mg_dl[1:2], [35], [0])[
        0
    ] == pytest.approx(96.0)
    bundled = cohort.read_patients_csv(
        Path(str(resources.files("pksim"))) / "data" / "examples" / "patients.csv"
    )
    np.testing.assert_array_equal(bundled.weight_kg, cov.weight_kg)
    umol = cohort.read_patients_csv(DATA / "patients_umol.csv")
    assert umol.serum_creatinine_mg_dl == pytest.approx([61.88 / 88.4, 106.08 / 88.4])


def test_defaults_for_optional_columns():
    cov = cohort.read_patients_csv(io.StringIO(HEADER + "55,m,30,34,*3/*3,90\n"))
    assert cov.patient_id == ("1",)
    assert cov.labels("sex").tolist() == ["male"]
    assert cov.labels("liver_function").tolist() == ["normal"]
    assert cov.prednisone_mg_per_day.tolist() == [0.0]


def test_csv_columns_come_from_the_registry():
    """Every covariate a patient file may give is a column, with its units or categories."""
    for covariate in registry.carried():
        if covariate.patients is None:
            continue
        description = cohort.CSV_COLUMNS[covariate.name]
        assert description.startswith("required" if covariate.patients.required else "optional")
        assert covariate.units in description
        assert all(category in description for category in covariate.categories)
    assert cohort.CSV_COLUMNS["serum_creatinine_umol_l"].startswith("optional, umol/L")
    assert "unknown" in cohort.CSV_COLUMNS["cyp3a5"]
    assert "(default normal)" in cohort.CSV_COLUMNS["liver_function"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HEADER + "55,female,30,34,*3/*3,90\nheavy,male,40,40,*1/*3,90\n",
            r"row 2 \(line 3\), column 'weight_kg': 'heavy' is not a number",
        ),
        (
            HEADER + "55000,female,30,34,*3/*3,90\n",
            r"row 1 .*'weight_kg': 55000 is outside the plausible range \[2, 300\] .*kg",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5,egrf\n55,female,30,34,*3/*3,90\n",
            'did you mean "egfr"',
        ),
        (
            "weight_kg,sex,age_y,cyp3a5,egfr\n55,female,30,*3/*3,90\n",
            r"missing required column\(s\) \['hematocrit_pct'\]",
        ),
        (HEADER + "55,female,30,34,*1/*2,90\n", r"row 1 .*'cyp3a5'.*did you mean"),
        (HEADER + "55,woman,30,34,*3/*3,90\n", r"'sex': unknown sex 'woman'.*F, M, female, male"),
        (HEADER + "55,female,,34,*3/*3,90\n", "'age_y': a value is required"),
        (HEADER + "55,,30,34,*3/*3,90\n", "'sex': a value is required"),
        (HEADER + "55,female,30,34,*3/*3,90,1\n", "more fields than columns"),
        (HEADER, "no patient rows"),
        ("", "empty file"),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5,liver_function,egfr\n"
            "55,female,30,34,*3/*3,unknown,90\n",
            r"'liver_function': unknown liver_function 'unknown'",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5,serum_creatinine_umol_l\n"
            "55,female,30,34,*3/*3,0.9\n",
            r"'serum_creatinine_umol_l': 0.9 is outside the plausible range \[4.42, 2210\].*umol/L",
        ),
        (
            "weight_kg,sex,age_y,hematocrit_pct,cyp3a5,egfr,egfr\n55,female,30,34,*3/*3,90,90\n",
            "duplicate column names",
        ),
    ],
)
def test_bad_csv_rows_are_named(text, message):
    with pytest.raises(ValueError, match=message):
        cohort.read_patients_csv(io.StringIO(text))


def test_every_bad_row_is_reported_at_once(tmp_path):
    """A table with several bad rows names each of them (row, line, column) in one message,
    in the scenario's list of problems too; the good rows are not mentioned."""
    rows = [
        "55,female,30,34,*3/*3,90",  # row 1: good
        "5200,female,30,34,*3/*3,90",  # row 2: weight in grams
        "60,male,forty,40,*1/*3,95",  # row 3: age not a number
        "58,female,28,33,*9/*9,",  # row 4: unknown genotype and no renal value
        "61,male,44,41,*1/*1,88",  # row 5: good
    ]
    text = HEADER + "\n".join(rows) + "\n"
    with pytest.raises(ValueError) as caught:
        cohort.read_patients_csv(io.StringIO(text))
    message = str(caught.value)
    assert "4 problems" in message
    for expected in (
        "row 2 (line 3), column 'weight_kg': 5200 is outside the plausible range",
        "row 3 (line 4), column 'age_y': 'forty' is not a number",
        "row 4 (line 5), column 'cyp3a5': unknown cyp3a5 '*9/*9'",
        "row 4 (line 5): no eGFR and no serum creatinine",
    ):
        assert expected in message
    assert "row 1 " not in message and "row 5" not in message
    (tmp_path / "p.csv").write_text(text)
    (tmp_path / "s.toml").write_text(
        Path(resources.files("pksim") / "data" / "scenarios" / "ln-induction.toml")
        .read_text()
        .replace('name = "chinese-adult-ln"', 'name = "chinese-adult-ln"\npatients_csv = "p.csv"')
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "s.toml")
    keys = caught.value.problems.keys()
    assert keys.count("population.patients_csv") == 4


def test_a_long_list_of_bad_rows_stops_at_the_limit():
    text = HEADER + "x,female,30,34,*3/*3,90\n" * (patients.MAX_ROW_PROBLEMS + 50)
    with pytest.raises(ValueError, match=f"after {patients.MAX_ROW_PROBLEMS} problems; fix these"):
        cohort.read_patients_csv(io.StringIO(text))


def test_renal_function_is_required_per_patient():
    """The renal-impairment classification (the 4 ng/mL ceiling) needs eGFR or serum creatinine
    for every patient: a file without either column, or a row with neither value, is refused
    when read (it used to load and fail in the middle of the run)."""
    no_columns = "weight_kg,sex,age_y,hematocrit_pct,cyp3a5\n55,female,30,34,*3/*3\n"
    with pytest.raises(ValueError, match=r"<csv>: no eGFR or serum creatinine column; give one"):
        cohort.read_patients_csv(io.StringIO(no_columns))
    empty_row = HEADER.replace("egfr", "egfr,serum_creatinine_mg_dl") + (
        "55,female,30,34,*3/*3,90,\n60,male,40,40,*1/*3,,\n"
    )
    with pytest.raises(
        ValueError,
        match=r"row 2 \(line 3\): no eGFR and no serum creatinine \(columns \['egfr', "
        r"'serum_creatinine_mg_dl'\] are empty\)",
    ):
        cohort.read_patients_csv(io.StringIO(empty_row))


def test_creatinine_in_two_units_is_refused():
    text = (
        "weight_kg,sex,age_y,hematocrit_pct,cyp3a5,serum_creatinine_mg_dl,serum_creatinine_umol_l\n"
        "55,female,30,34,*3/*3,0.7,62\n"
    )
    with pytest.raises(ValueError, match="give serum_creatinine_mg_dl in one column"):
        cohort.read_patients_csv(io.StringIO(text))


def _default_set_with(effect: dict):
    text = resources.files("pksim").joinpath("data/parameters/default.toml").read_text()
    data = tomllib.loads(text)
    data["effects"].append(effect)
    return parameter_set_from_dict(data, origin="test")


def test_patient_problems_name_the_row_an_effect_cannot_use():
    """An effect of the set that gives no finite value for a patient is found at load time:
    here (prednisone/10)^-0.5 on CL/F, infinite for a patient without prednisone."""
    cited = {"source": "Hao2018", "evidence": "D"}
    pset = _default_set_with(
        {
            "parameter": "cl",
            "covariate": "prednisone_mg_per_day",
            "form": "power",
            "reference": {"value": 10.0, "units": "mg/day", **cited},
            "exponent": {"value": -0.5, "units": "1", **cited},
        }
    )
    text = HEADER.replace("\n", ",prednisone_mg_per_day\n") + (
        "55,female,30,34,*3/*3,90,10\n55,female,30,34,*3/*3,90,0\n"
    )
    cov = cohort.read_patients_csv(io.StringIO(text))
    assert cohort.patient_problems(cov, pset) == [
        "<csv>: row 2, column 'prednisone_mg_per_day': 0 cannot be used, but parameter set "
        "'default' has an effect of prednisone_mg_per_day on cl; give every patient a value in "
        "[0, 1000] mg/day"
    ]
    assert cohort.patient_problems(cov.slice(0, 1), pset) == []


# Files outside the scenario: where a scenario's patient table may be, what is read, what a
# message may quote.

SCENARIO = """
title = "patients"
days = 3
[population]
patients_csv = "{csv}"
[[regimens]]
name = "3 mg/day"
daily_dose_mg = 3.0
doses_per_day = 2
"""
TABLE = HEADER + "55,female,30,34,*3/*3,90\n60,male,40,40,*1/*3,80\n"
SECRET = "PKSIM_TEST_SECRET=hunter2"


def _scenario(folder: Path, csv: str | Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.toml"
    path.write_text(SCENARIO.format(csv=csv), encoding="utf-8")
    return path


def _load_error(path: Path, **options) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, **options)
    return str(caught.value)


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A scenario folder ``study/`` (a table beside the scenario and one in ``data/``) and a
    table outside it, ``elsewhere/outside.csv``."""
    study, elsewhere = tmp_path / "study", tmp_path / "elsewhere"
    (study / "data").mkdir(parents=True)
    elsewhere.mkdir()
    for path in (study / "beside.csv", study / "data" / "below.csv", elsewhere / "outside.csv"):
        path.write_text(TABLE, encoding="utf-8")
    return {"study": study, "elsewhere": elsewhere}


@pytest.mark.parametrize("csv", ["beside.csv", "data/below.csv", "data/../beside.csv"])
def test_tables_in_the_scenarios_folder_or_below_are_read(layout, csv):
    assert load_scenario(_scenario(layout["study"], csv)).subjects == 2


def test_an_absolute_path_inside_the_folder_is_read(layout):
    path = _scenario(layout["study"], layout["study"] / "data" / "below.csv")
    assert load_scenario(path).subjects == 2


@pytest.mark.parametrize("csv", ["../elsewhere/outside.csv", "data/../../elsewhere/outside.csv"])
def test_dot_dot_out_of_the_folder_is_refused_unless_allowed(layout, csv):
    path = _scenario(layout["study"], csv)
    message = _load_error(path)
    assert f"population.patients_csv: {layout['study'] / csv} is outside the scenario's folder" in (
        message
    )
    assert "--allow-files-outside" in message and "allow_files_outside=True" in message
    assert load_scenario(path, allow_files_outside=True).subjects == 2


def test_an_absolute_path_outside_is_refused_unless_allowed(layout):
    path = _scenario(layout["study"], layout["elsewhere"] / "outside.csv")
    assert "is outside the scenario's folder" in _load_error(path)
    assert load_scenario(path, allow_files_outside=True).subjects == 2


def test_links_are_resolved_before_the_check(layout):
    """A link in the folder pointing outside is outside; one pointing inside is inside; a
    scenario folder reached through a link is still its folder."""
    study = layout["study"]
    (study / "link-out.csv").symlink_to(layout["elsewhere"] / "outside.csv")
    (study / "link-in.csv").symlink_to(study / "data" / "below.csv")
    (study / "linked-dir").symlink_to(layout["elsewhere"], target_is_directory=True)
    for csv in ("link-out.csv", "linked-dir/outside.csv"):
        message = _load_error(_scenario(study, csv))
        assert f"links and '..' resolved: {layout['elsewhere'].resolve() / 'outside.csv'}" in (
            message
        )
    assert load_scenario(_scenario(study, "link-in.csv")).subjects == 2
    alias = study.parent / "alias"
    alias.symlink_to(study, target_is_directory=True)
    assert load_scenario(alias / "scenario.toml").subjects == 2


def test_a_missing_table_outside_is_refused_as_outside_first(layout):
    message = _load_error(_scenario(layout["study"], "../nowhere.csv"))
    assert "outside the scenario's folder" in message and "no such file" not in message
    message = _load_error(_scenario(layout["study"], "nowhere.csv"))
    assert f"no such file: {layout['study'] / 'nowhere.csv'}" in message


def test_the_bundled_example_table_beside_a_scenario_and_with_permission(tmp_path):
    example = Path(str(resources.files("pksim"))) / "data" / "examples" / "patients.csv"
    (tmp_path / "patients.csv").write_bytes(example.read_bytes())
    assert load_scenario(_scenario(tmp_path, "patients.csv")).subjects == 5
    by_path = _scenario(tmp_path / "other", example)
    assert "outside the scenario's folder" in _load_error(by_path)
    assert load_scenario(by_path, allow_files_outside=True).subjects == 5


def test_the_command_line_allows_files_outside_only_when_asked(layout, capsys):
    path = _scenario(layout["study"], "../elsewhere/outside.csv")
    assert cli.main(["validate", str(path)]) == cli.EXIT_BAD_INPUT
    assert "is outside the scenario's folder" in capsys.readouterr().err
    assert cli.main(["validate", "--allow-files-outside", str(path)]) == cli.EXIT_OK
    assert "valid (1 regimens, 2 subjects" in capsys.readouterr().out
    assert cli.parser().parse_args(["run", "--allow-files-outside"]).allow_files_outside


@pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="no /proc/self/environ")
def test_the_process_environment_is_never_printed(tmp_path):
    """/proc/self/environ (a regular file of size 0): refused as outside; when allowed, the
    message names the header column without quoting it."""
    environment = Path("/proc/self/environ").read_bytes().split(b"\0")[0].decode(errors="replace")
    path = _scenario(tmp_path, "/proc/self/environ")
    message = _load_error(path)
    assert "is outside the scenario's folder" in message
    message = _load_error(path, allow_files_outside=True)
    assert "header, column 1: not a column name" in message
    assert environment[:8] not in message and "\\x00" not in message


def test_a_file_that_is_not_a_table_is_not_quoted(tmp_path):
    (tmp_path / "fake.csv").write_bytes(f"{SECRET}\0HOME=/root\0".encode())
    with pytest.raises(ValueError) as caught:
        cohort.read_patients_csv(tmp_path / "fake.csv")
    message = str(caught.value)
    assert "not a column name (37 characters, with control characters" in message
    assert "hunter2" not in message and "PKSIM" not in message


def test_cells_are_quoted_short_with_control_characters_escaped():
    cell = "\x1b[31m" + "9" * 1000 + "\x00"
    with pytest.raises(ValueError) as caught:
        cohort.read_patients_csv(io.StringIO(HEADER + f"{cell},female,30,34,*3/*3,90\n"))
    message = str(caught.value)
    quoted = repr("\x1b[31m" + "9" * (patients.MAX_QUOTED_CHARS - 5) + "...")
    assert f"column 'weight_kg': {quoted} is not a number" in message
    assert "\x1b" not in message and "\x00" not in message and len(message) < 200
    with pytest.raises(ValueError) as caught:
        cohort.read_patients_csv(io.StringIO(HEADER + f"55,{'x' * 500},30,34,*3/*3,90\n"))
    assert f"unknown sex '{'x' * patients.MAX_QUOTED_CHARS}...'" in str(caught.value)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("P\x1b[2J1", r"'P\\x1b\[2J1' is not a label"),
        ("P" * 101, r"'P{32}\.\.\.' is not a label of at most 100 printable"),
    ],
)
def test_patient_ids_are_short_printable_labels(label, message):
    text = "patient_id," + HEADER + f"{label},55,female,30,34,*3/*3,90\n"
    with pytest.raises(ValueError, match=r"row 1 \(line 2\), column 'patient_id': " + message):
        cohort.read_patients_csv(io.StringIO(text))


def test_directories_fifos_devices_and_sockets_are_refused(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    cases = {tmp_path / "folder.csv": "a directory"}
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.csv")
        cases[tmp_path / "pipe.csv"] = r"a FIFO \(named pipe\)"
    if Path("/dev/null").exists():
        cases[Path("/dev/null")] = "a character device"
    if hasattr(socket, "AF_UNIX"):
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(tmp_path / "socket.csv"))
        cases[tmp_path / "socket.csv"] = "a socket"  # the socket file stays when closed
    for path, kind in cases.items():
        with pytest.raises(ValueError, match=f"^{path} is {kind}, not a regular file"):
            cohort.read_patients_csv(path)  # a FIFO without a writer would block: it must not
    message = _load_error(_scenario(tmp_path, "folder.csv"))
    assert f"population.patients_csv: {tmp_path / 'folder.csv'} is a directory" in message
    if Path("/dev/null").exists():
        (tmp_path / "null.csv").symlink_to("/dev/null")
        message = _load_error(_scenario(tmp_path, "null.csv"), allow_files_outside=True)
        assert f"{tmp_path / 'null.csv'} is a character device" in message


def test_files_over_the_size_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(patients, "MAX_PATIENTS_CSV_BYTES", len(TABLE) - 1)
    (tmp_path / "big.csv").write_text(TABLE, encoding="utf-8")
    with pytest.raises(ValueError, match=f"big.csv: {len(TABLE)} bytes, larger than the"):
        cohort.read_patients_csv(tmp_path / "big.csv")
    if Path("/proc/self/environ").is_file():  # size 0 until read: the limit holds when read
        monkeypatch.setattr(patients, "MAX_PATIENTS_CSV_BYTES", 4)
        with pytest.raises(ValueError, match=r"environ: larger than the 4-byte \(.* MiB\) limit"):
            cohort.read_patients_csv("/proc/self/environ")


def test_undecodable_and_unreadable_tables_get_a_message(tmp_path):
    (tmp_path / "latin1.csv").write_bytes(TABLE.replace("female", "f\xe9male").encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.csv: not UTF-8 text \(an invalid byte at offset"):
        cohort.read_patients_csv(tmp_path / "latin1.csv")
    (tmp_path / "huge-field.csv").write_text(HEADER + "5" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"huge-field.csv: line \d+: not a readable CSV table"):
        cohort.read_patients_csv(tmp_path / "huge-field.csv")


def test_an_environment_like_first_field_is_never_quoted(tmp_path):
    """A short, printable first field such as ``HOME=/root`` (an environment file whose first
    variable holds a comma) is not quoted back either."""
    (tmp_path / "env.csv").write_bytes(b"HOME=/root,x\0PATH=/bin\0")
    with pytest.raises(ValueError) as caught:
        cohort.read_patients_csv(tmp_path / "env.csv")
    message = str(caught.value)
    assert "header, column 1: not a column name" in message
    assert "HOME" not in message and "/root" not in message
