"""Patient CSV files: reading, and every fault refused when the file is read, with its row,
line and column, and what is allowed."""

from __future__ import annotations

import io
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from pksim import cohort
from pksim.library import covariates as registry
from pksim.library.parameters import parameter_set_from_dict

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
