"""Daily AUC0-24, Cmax and tmax: against scipy's quad and a bounded maximiser over the exact
predictions, against the steady-state identity AUC(tau) = F·D/CL, in forecasts and dose
options for both structures, and ``pksim dose --parameters andrews2019`` end to end."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

from pksim.cli import main
from pksim.library.parameters import load_parameter_set
from pksim.mipd import fit_patient, read_nonmem_text
from pksim.mipd.design import design
from pksim.mipd.exposure import window_exposure
from pksim.mipd.forecast import forecast
from pksim.mipd.predict import Predictor
from pksim.mipd.recommend import dose_options

EXAMPLE = "pksim/data/patients/example_mipd.csv"
COVARIATES = {
    "default": ("WT,CYP3A5,AGE,HCT", "60,*1/*3,33,"),
    "andrews2019": ("CYP3A5,AGE,SCR,HCT", "*1/*3,50,1.2,"),
    "bergmann2014": ("WT,CYP3A5,HCT", "60,*1/*3,"),
}


def _patient(name: str):
    """Doses every 12 h from t = 0, haematocrit 30 % then 38 % from 40 h (LOCF: CL/F changes
    inside the second day), a trough at 60 h."""
    header, values = COVARIATES[name]
    text = (
        f"ID,TIME,AMT,EVID,II,ADDL,DV,{header}\n"
        f"1,0,2,1,12,3,.,{values}30\n1,40,0,2,0,0,.,{values}38\n1,60,0,0,0,0,6,{values}38\n"
    )
    (h,) = read_nonmem_text(text, covariate_rule="locf")
    return h, design(h, load_parameter_set(name))


@pytest.mark.parametrize("name", ["default", "andrews2019", "bergmann2014"])
def test_auc_and_cmax_match_quad_and_a_bounded_maximiser(name):
    h, d = _patient(name)
    extra_t, extra_a = 48.0 + 12.0 * np.arange(5), np.array([2.5, 1.5, 2.5, 1.5, 2.5])
    windows = np.array([[24.0, 48.0], [48.0, 72.0], [30.0, 41.3]])
    etas = np.random.default_rng(7).normal(0, 0.3, size=(2, d.n_eta))
    ex = window_exposure(d, etas, windows, extra_t, extra_a)
    doses = np.concatenate([h.dose_times, extra_t])
    for r, eta in enumerate(etas):
        lag = Predictor(d, []).parameters(eta[None])["tlag"][0]

        def conc(t, eta=eta):
            return Predictor(d, np.atleast_1d(t), extra_t, extra_a)(eta[None])[0]

        for w, (a, b) in enumerate(windows):
            kinks = [x for x in (*(doses + lag), 40.0) if a < x < b]
            area = integrate.quad(
                lambda t: conc(t)[0], a, b, points=kinks, epsabs=0, epsrel=1e-13, limit=400
            )[0]
            assert ex.auc[r, w] == pytest.approx(area, rel=1e-10)
            grid = np.linspace(a, b, 2001)
            c = conc(grid)
            i = int(np.argmax(c))
            lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
            best = optimize.minimize_scalar(
                lambda t: -conc(t)[0], bounds=(lo, hi), method="bounded", options={"xatol": 1e-9}
            )
            assert ex.cmax[r, w] == pytest.approx(max(-best.fun, c[i]), rel=1e-10)
            assert ex.cmax[r, w] >= c.max() * (1 - 1e-14)
            assert conc(a + ex.tmax[r, w])[0] == pytest.approx(ex.cmax[r, w], rel=1e-12)
            if -best.fun > c[i]:  # an interior maximum: the same time
                assert a + ex.tmax[r, w] == pytest.approx(best.x, abs=1e-4)


@pytest.mark.parametrize("name", ["default", "andrews2019"])
def test_a_day_at_steady_state_has_auc_f_dose_over_cl(name):
    """From an SS=1 record the same regimen goes on: every day's AUC0-24 is 2·D/CL/F."""
    header, values = COVARIATES[name]
    text = f"ID,TIME,AMT,EVID,II,ADDL,SS,DV,{header}\n1,0,2,1,12,3,1,.,{values}35\n"
    text += f"1,47,0,0,0,0,0,6,{values}35\n"
    (h,) = read_nonmem_text(text)
    fit = fit_patient(h, load_parameter_set(name))
    ds = forecast(fit, days=3, samples=20)
    cl = fit.individual()["cl"]
    np.testing.assert_allclose(ds["auc_map"].values, 2 * 2.0 / cl * 1000.0, rtol=1e-10)
    low, mid, high = ds["auc_percentile"].values
    assert np.all(low <= mid) and np.all(mid <= high) and np.all(low < high)
    assert np.all(ds["cmax_map"].values > ds["trough_map"].values)
    assert ds["auc_map"].attrs["units"] == "ng*h/mL"


def test_dose_options_carry_the_map_exposure_of_the_last_day():
    h, d = _patient("andrews2019")
    fit = fit_patient(h, d.pset)
    options = dose_options(fit, "induction", days=5, samples=50)
    for o in options:
        ds = forecast(fit, o.regimen, days=5, samples=2)
        assert o.auc_map == pytest.approx(ds["auc_map"].values[-1], rel=1e-12)
        assert o.cmax_map == pytest.approx(ds["cmax_map"].values[-1], rel=1e-12)
        assert o.tmax_map == pytest.approx(ds["tmax_map"].values[-1], abs=1e-9)


def test_pksim_dose_with_the_two_compartment_andrews2019_set(capsys):
    args = ["dose", EXAMPLE, "--target", "induction", "--parameters", "andrews2019", "--no-plot"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "parameter set andrews2019" in out and "dose options for induction" in out
    assert "  q     L/h" in out and "  v2    L" in out
    assert "AUC0-24" in out and "Cmax" in out
