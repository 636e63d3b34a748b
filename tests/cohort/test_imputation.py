"""One seed path for patient files: unknown CYP3A5 genotypes are imputed by the run, with the
run's seed (``pksim.run(seed=)``, ``pksim run --seed``), from the same stream column a virtual
subject's genotype comes from; the loaded scenario keeps them unknown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import pksim
from pksim import cli, rng
from pksim.library import covariates as registry

N_PATIENTS = 40
SCENARIO = """
title = "patients with untested genotypes"
days = 3
seed = 5

[population]
name = "chinese-adult-ln"
patients_csv = "patients.csv"

[[regimens]]
name = "3 mg/day"
daily_dose_mg = 3.0
doses_per_day = 2
"""


def _reference_genotypes(seed: int, n: int, q: float) -> list[str]:
    """Straight from the stream: columns 5 and 6 of the 8 uniforms per subject are the two
    alleles, each *1 when the uniform is >= q (the *3 allele frequency)."""
    u = rng.draw(seed, "covariates", 0, n, lambda g, size: g.random((8, size)).T)
    codes = (u[:, 5] >= q).astype(int) + (u[:, 6] >= q).astype(int)
    return [("*3/*3", "*1/*3", "*1/*1")[c] for c in codes]


@pytest.fixture
def scenario_path(tmp_path: Path) -> Path:
    rows = "".join(
        f"P{i},female,{30 + i % 20},{50 + i % 30},35,unknown,90\n" for i in range(N_PATIENTS)
    )
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,age_y,weight_kg,hematocrit_pct,cyp3a5,egfr\n" + rows, encoding="utf-8"
    )
    path = tmp_path / "scenario.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_the_loaded_scenario_keeps_unknown_genotypes(scenario_path):
    s = pksim.load_scenario(scenario_path)
    assert s.subjects == N_PATIENTS
    assert np.all(s.patients.cyp3a5 == registry.UNKNOWN_CODE)


def test_the_run_seed_reaches_the_imputation(scenario_path):
    s = pksim.load_scenario(scenario_path)
    q = s.population["cyp3a5_star3_allele_frequency"]
    own = pksim.run(s)
    assert own["cyp3a5"].values.tolist() == _reference_genotypes(5, N_PATIENTS, q)
    other = pksim.run(s, seed=99)
    assert other["cyp3a5"].values.tolist() == _reference_genotypes(99, N_PATIENTS, q)
    assert other["cyp3a5"].values.tolist() != own["cyp3a5"].values.tolist()
    again = pksim.run(s, seed=99, chunk_subjects=7)  # same seed, any chunking: the same
    xr.testing.assert_identical(again.drop_attrs(), other.drop_attrs())
    # The imputed genotype acts: expressers clear faster, so their troughs are lower.
    trough = other["trough"].isel(regimen=0, day=-1)
    assert (
        trough.where(other["cyp3a5_expresser"]).median()
        < trough.where(~other["cyp3a5_expresser"]).median()
    )


def test_the_command_line_seed_reaches_the_imputation(scenario_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", str(scenario_path), "--seed", "99", "--out", str(out)]) == 0
    q = pksim.load_scenario(scenario_path).population["cyp3a5_star3_allele_frequency"]
    with xr.open_dataset(out / "result.nc", engine="h5netcdf") as ds:
        assert ds.attrs["seed"] == 99
        assert ds["cyp3a5"].values.tolist() == _reference_genotypes(99, N_PATIENTS, q)


def test_a_file_without_renal_function_is_refused_at_load(tmp_path):
    """It used to load and then fail in the middle of the run."""
    (tmp_path / "patients.csv").write_text(
        "sex,age_y,weight_kg,hematocrit_pct,cyp3a5\nfemale,30,55,33,*3/*3\n", encoding="utf-8"
    )
    path = tmp_path / "scenario.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    with pytest.raises(pksim.ScenarioError) as caught:
        pksim.load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: 1 problem")
    assert f"population.patients_csv: {tmp_path / 'patients.csv'}: no eGFR or serum" in message
    assert "give one of ['egfr', 'serum_creatinine_mg_dl', 'serum_creatinine_umol_l']" in message
