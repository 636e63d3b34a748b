"""Forecasts, dose options and the ``pksim dose`` command on the bundled example patient."""

from __future__ import annotations

import numpy as np
import pytest

import pksim
from pksim.cli import main
from pksim.dosing.rounding import can_make
from pksim.mipd import fit_patients, read_nonmem_text
from pksim.mipd.fit import fit_patient
from pksim.mipd.forecast import FutureRegimen, current_regimen, forecast, posterior_etas
from pksim.mipd.recommend import dose_options
from pksim.model import steady_state_trough
from tests.mipd.sets import toy_set
from tests.mipd.test_fit import _grid_posterior_mode_and_mean, history

EXAMPLE = "pksim/data/patients/example_mipd.csv"


@pytest.fixture(scope="module")
def fit():
    return fit_patients(EXAMPLE)["P1"]


def test_individualize_returns_one_dataset_over_patients():
    ds = pksim.individualize(EXAMPLE, parameters="default")
    assert list(ds["patient"].values) == ["P1"]
    one = ds.sel(patient="P1")
    assert list(ds["eta_name"].values) == ["cl", "v", "ka"]
    assert one["individual"].sel(parameter="cl") > one["typical"].sel(parameter="cl")  # low C0
    assert ds["parameter_units"].sel(parameter="cl") == "L/h"
    assert ds["ipred"].attrs["units"] == "ng/mL"
    assert np.all(one["individual_p05"] <= one["individual"])


def test_individualize_many_patients_from_a_dataframe_with_different_occasions():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "ID": ["a", "a", "a", "b", "b"],
            "TIME": [0, 96, 108, 0, 96],
            "AMT": [2, 0, 0, 3, 0],
            "EVID": [1, 0, 0, 1, 0],
            "II": [12, 0, 0, 12, 0],
            "ADDL": [9, 0, 0, 9, 0],
            "DV": [None, 5.0, 6.0, None, 4.0],
            "OCC": [1, 1, 1, 0, 0],
            "WT": [60, 60, 60, 70, 70],
            "CYP3A5": ["*3/*3"] * 3 + ["*1/*1"] * 2,
            "HCT": [35] * 5,
            "AGE": [33] * 5,
        }
    )
    ds = pksim.individualize(frame)
    assert list(ds["patient"].values) == ["a", "b"]
    assert (
        list(ds["eta_name"].values) == ["cl", "ka", "v", "iov_f[1]"] or "iov_f[1]" in ds["eta_name"]
    )
    assert np.isnan(ds["eta"].sel(patient="b", eta_name="iov_f[1]"))
    assert not np.isnan(ds["eta"].sel(patient="a", eta_name="iov_f[1]"))
    assert list(ds["obs_patient"].values) == ["a", "a", "b"]
    one = fit_patients(read_nonmem_text(frame.to_csv(index=False)))["b"]
    assert float(ds["eta"].sel(patient="b", eta_name="cl")) == one.eta[0]


def test_current_regimen_and_its_forecast_approach_the_map_steady_state(fit):
    regimen, due = current_regimen(fit)
    assert regimen.amounts_mg == (1.5, 1.5) and due == 192.0
    ds = forecast(fit, days=20, samples=50)
    p = fit.individual()
    ss = steady_state_trough(p["cl"], p["v"], p["ka"], p["tlag"], p["f"], 1.5, 12.0)
    assert ds["trough_map"].values[-1] == pytest.approx(ss, rel=1e-3)
    low, mid, high = ds["trough_percentile"].values[:, -1]
    assert low < mid < high


def test_sir_draws_match_the_grid_posterior_where_laplace_does_not():
    """A skewed one-eta posterior: SIR's mean and SD match the brute-force grid's; the
    Laplace normal is centred on the mode instead."""
    pset = toy_set(iiv={"cl": 0.09})
    h = history([96.0, 168.0, 228.0], [4.1, 4.6, 3.9])
    grid = np.linspace(-1.5, 1.5, 6001)
    obj = _grid_posterior_mode_and_mean(pset, h, grid)
    density = np.exp(-(obj - obj.min()) / 2)
    mean = np.sum(grid * density) / density.sum()
    sd = np.sqrt(np.sum((grid - mean) ** 2 * density) / density.sum())
    fit = fit_patient(h, pset)
    sir = posterior_etas(fit, 20000, method="sir", seed=3)[:, 0]
    assert np.mean(sir) == pytest.approx(mean, abs=0.03 * sd)
    assert np.std(sir) == pytest.approx(sd, rel=0.03)


def test_dose_options_are_makeable_and_ranked(fit):
    options = dose_options(fit, "induction", samples=200)
    assert options
    for o in options:
        assert all(can_make(a, (0.5, 1.0, 5.0)) for a in o.regimen.amounts_mg)
        assert list(o.regimen.amounts_mg) == sorted(o.regimen.amounts_mg, reverse=True)
    p = [o.p_in_range for o in options]
    assert p == sorted(p, reverse=True)
    best = options[0]
    assert 6.0 <= best.trough_map <= 10.0 and best.p_in_range > 0.5
    # troughs scale with the dose (linear model): the MAP trough of the best option is the
    # current MAP steady state scaled by the daily dose ratio, up to the split's unevenness
    current = forecast(fit, days=7, samples=10)["trough_map"].values[-1]
    assert best.trough_map == pytest.approx(current * best.regimen.daily_mg / 3.0, rel=0.1)


def test_future_regimen_is_validated():
    with pytest.raises(ValueError, match="amounts_mg"):
        FutureRegimen(())


def test_pksim_dose_prints_and_writes_the_plot(tmp_path, capsys):
    plot = tmp_path / "p1.png"
    assert main(["dose", EXAMPLE, "--target", "induction", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "MAP parameters" in out and "dose options for induction" in out
    assert plot.stat().st_size > 10_000
    assert main(["dose", EXAMPLE, "--target", "5-8", "--no-plot"]) == 0
    assert main(["dose", EXAMPLE, "--target", "8-5", "--no-plot"]) == 2
    assert "LOW-HIGH" in capsys.readouterr().err


def test_missing_covariate_and_bad_file_exit_2_with_what_to_give(tmp_path, capsys):
    data = tmp_path / "p.csv"
    data.write_text("ID,TIME,AMT,EVID,DV,WT\n1,0,2,1,.,60\n1,96,0,0,5,60\n", encoding="utf-8")
    assert main(["dose", str(data), "--no-plot"]) == 2
    err = capsys.readouterr().err
    # the missing genotype is taken by the genotype mixture (test_mixture.py); hematocrit not
    assert "hematocrit_pct (no column)" in err and "cyp3a5" not in err
    assert main(["dose", str(tmp_path / "missing.csv"), "--no-plot"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_explicit_aim_ranks_by_closeness_and_must_lie_in_range(fit, capsys):
    options = dose_options(fit, "induction", samples=100, aim=9.0)
    distance = [abs(np.log(o.trough_map / 9.0)) for o in options]
    assert distance == sorted(distance)
    with pytest.raises(ValueError, match="outside the target range"):
        dose_options(fit, "induction", aim=12.0)
    assert main(["dose", EXAMPLE, "--aim", "9", "--no-plot"]) == 0
