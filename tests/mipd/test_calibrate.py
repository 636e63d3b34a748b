"""Calibration of the typical CL/F: recovers a known value from 200 simulated patients."""

from __future__ import annotations

import math

from pksim.cli import main
from pksim.library.parameter_overrides import override_parameter_set
from pksim.library.parameters import load_parameter_set
from pksim.mipd.calibrate import calibrate_clearance
from pksim.mipd.forecast import FutureRegimen
from pksim.mipd.individualize import resolve_parameters
from pksim.mipd.simulate import simulate_tdm
from pksim.mipd.writing import write_nonmem

COVARIATES = {"weight_kg": 60.0, "cyp3a5": "*1/*3", "hematocrit_pct": 35.0, "age_y": 33.0}


def _data(n: int, cl: float, seed: int):
    truth = override_parameter_set(load_parameter_set("default"), {"typical.cl": cl})
    return simulate_tdm(
        truth,
        n,
        regimen=FutureRegimen((2.0, 1.5)),
        days=10,
        sample_days=[3, 6, 9],
        covariates=COVARIATES,
        seed=seed,
    )


def test_recovers_a_known_typical_clearance_within_its_standard_error():
    histories, _ = _data(200, 19.0, seed=5)
    result = calibrate_clearance(histories, load_parameter_set("default"))
    assert abs(result.cl - 19.0) < 2 * result.cl_se
    assert 0.01 < result.theta_se < 0.06  # about omega_CL / sqrt(200)
    assert result.minus_two_ll < result.minus_two_ll_prior


def test_pksim_calibrate_writes_a_set_that_pksim_dose_uses(tmp_path, capsys):
    histories, _ = _data(30, 10.0, seed=2)
    data = tmp_path / "local.csv"
    write_nonmem(data, histories)
    out = tmp_path / "local.toml"
    assert main(["calibrate", str(data), "--out", str(out)]) == 0
    assert "typical CL/F" in capsys.readouterr().out
    pset = resolve_parameters(out)
    assert pset.name == "default-local" and pset.typical["cl"].evidence == "D"
    assert "local.csv" in pset.typical["cl"].note
    assert math.isclose(pset.typical["v"].value, 700.0)
    single = tmp_path / "one.csv"
    write_nonmem(single, histories[:1])
    assert main(["dose", str(single), "--parameters", str(out), "--no-plot"]) == 0
