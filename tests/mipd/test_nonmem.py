"""Reading NONMEM-style datasets, and the predictions of what they describe (SS, resets,
time-varying covariates) against the public model API."""

from __future__ import annotations

import numpy as np
import pytest

from pksim.errors import Invalid
from pksim.library.parameters import load_parameter_set
from pksim.mipd import read_nonmem, read_nonmem_text
from pksim.mipd.design import design
from pksim.mipd.predict import Predictor
from pksim.mipd.writing import write_nonmem
from pksim.model import concentrations_general, steady_state_trough
from pksim.modifiers.interactions import cl_multiplier_grid, f_multipliers
from pksim.modifiers.prednisone import prednisone_induction_half_life_h
from tests.mipd.sets import toy_set

EXAMPLE = "pksim/data/patients/example_mipd.csv"


def test_bundled_example_reads_with_addl_expanded():
    (h,) = read_nonmem(EXAMPLE)
    assert h.id == "P1"
    np.testing.assert_array_equal(h.dose_times, np.arange(0, 181, 12.0))
    np.testing.assert_array_equal(h.obs_values, [4.1, 4.6])
    assert h.covariates["cyp3a5"][0] == 1  # *1/*3


def test_any_case_units_clock_times_and_blq():
    text = (
        "id,date,time,amt,evid,dv,blq,lloq,wt\n"
        "A,2026-01-01,08:00,2,1,.,0,,60\n"
        "A,2026-01-01,20:00,2,1,.,0,,60\n"
        "A,2026-01-02,07:30,0,0,0.0041,0,,61\n"
        "A,2026-01-02,08:00,0,0,.,1,0.001,61\n"
    )
    (h,) = read_nonmem_text(text, concentration_units="mg/L")
    np.testing.assert_allclose(h.dose_times, [0.0, 12.0])
    np.testing.assert_allclose(h.obs_times, [23.5, 24.0])
    assert h.obs_values[0] == pytest.approx(4.1)
    assert h.obs_blq.tolist() == [False, True]
    assert h.obs_lloq[1] == pytest.approx(1.0)
    assert h.clock_origin == "2026-01-01 08:00:00"


def test_every_bad_cell_is_reported_at_once_with_row_and_column():
    text = (
        "ID,TIME,AMT,EVID,CMT,II,ADDL,SS,DV,MDV,RATE,WT,CYP3A5,FOO\n"
        "1,0,0,1,1,12,3,0,.,1,0,60,*1/*3,x\n"
        "1,5,2,0,2,0,0,0,4,0,0,600,*2/*2,x\n"
        "1,4,2,7,1,0,0,1,.,1,5,60,*1/*3,x\n"
    )
    with pytest.raises(Invalid) as error:
        read_nonmem_text(text, name="p.csv")
    message = str(error.value)
    assert "header, column 14: unknown column 'FOO'" in message
    with pytest.raises(Invalid) as error:
        read_nonmem_text(text, name="p.csv", ignore_columns=["foo"])
    keys = error.value.problems.keys()
    for key in (
        "row 1, column AMT",
        "row 2, column AMT",
        "row 2, column weight_kg",
        "row 2, column cyp3a5",
        "row 3, column EVID",
        "row 3, column RATE",
        "row 3, column II",
        "row 3, column TIME",
    ):
        assert key in keys, (key, keys)
    assert "allowed" in str(error.value)


def test_locf_and_nocb_differ_between_records():
    text = "ID,TIME,AMT,EVID,DV,WT\n1,0,2,1,.,60\n1,24,0,2,.,80\n"
    (nocb,) = read_nonmem_text(text)
    (locf,) = read_nonmem_text(text, covariate_rule="locf")
    assert nocb.covariates_at([12.0])["weight_kg"][0] == 80.0
    assert locf.covariates_at([12.0])["weight_kg"][0] == 60.0
    assert nocb.covariates_at([30.0])["weight_kg"][0] == locf.covariates_at([30.0])["weight_kg"][0]


@pytest.mark.parametrize("tlag", [0.0, 0.4])
def test_steady_state_dose_is_exact(tlag):
    """SS=1 then 3 more doses: against the analytic steady-state trough and against a
    history of 2000 regular doses through the public API (the tail is below 1e-15)."""
    pset = toy_set(iiv={"cl": 0.09}, tlag=tlag)
    text = "ID,TIME,AMT,EVID,II,ADDL,SS,DV\n1,100,3,1,12,3,1,.\n" + "".join(
        f"1,{t},0,0,0,0,0,1\n" for t in (100.0, 100.2, 101.0, 104.0, 111.9, 112.0, 130.0, 150.0)
    )
    (h,) = read_nonmem_text(text)
    eta = np.array([[0.3], [-0.5]])
    ours = Predictor(design(h, pset), h.obs_times)(eta)
    t = {k: v.value for k, v in pset.typical.items()}
    cl = t["cl"] * np.exp(eta[:, 0])
    past = 100.0 - 12.0 * np.arange(2000, 0, -1)
    times = np.concatenate([past, 100.0 + 12.0 * np.arange(4)])[None]
    ref = concentrations_general(
        cl,
        [t["v"]] * 2,
        [t["ka"]] * 2,
        [tlag] * 2,
        [1.0] * 2,
        times,
        np.full(times.shape, 3.0),
        h.obs_times,
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-11)
    trough = steady_state_trough(cl, t["v"], t["ka"], tlag, 1.0, 3.0, 12.0)
    np.testing.assert_allclose(ours[:, 0], trough, rtol=1e-12)


def test_reset_forgets_earlier_doses_for_later_observations_only():
    pset = toy_set(iiv={"cl": 0.09})
    text = "ID,TIME,AMT,EVID,DV\n1,0,5,1,.\n1,10,0,0,1\n1,20,0,3,.\n1,21,2,1,.\n1,30,0,0,1\n"
    (h,) = read_nonmem_text(text)
    ours = Predictor(design(h, pset), h.obs_times)(np.zeros((1, 1)))[0]
    t = {k: v.value for k, v in pset.typical.items()}
    first = concentrations_general(
        t["cl"], t["v"], t["ka"], t["tlag"], 1.0, [[0.0]], [[5.0]], [10.0]
    )[0, 0]
    second = concentrations_general(
        t["cl"], t["v"], t["ka"], t["tlag"], 1.0, [[21.0]], [[2.0]], [30.0]
    )[0, 0]
    np.testing.assert_allclose(ours, [first, second], rtol=1e-13)


def test_time_varying_covariates_on_clearance_and_f_follow_the_records():
    """Hematocrit changes CL/F and prednisone changes F (default set): against the public
    API with the clearance grid and per-dose F computed by hand (NOCB)."""
    pset = load_parameter_set("default")
    text = (
        "ID,TIME,AMT,EVID,II,ADDL,DV,WT,CYP3A5,HCT,PRED,AGE\n"
        "1,0,2,1,12,9,.,60,*3/*3,30,20,33\n"
        "1,60,0,2,0,0,.,60,*3/*3,40,5,33\n"
        "1,96,0,0,0,0,5,60,*3/*3,40,5,33\n"
        "1,108,0,0,0,0,5,60,*3/*3,40,5,33\n"
    )
    (h,) = read_nonmem_text(text)
    ours = Predictor(design(h, pset), h.obs_times)(np.zeros((1, 3)))[0]
    t = {k: v.value for k, v in pset.typical.items()}
    # NOCB: HCT 40 and prednisone 5 already hold after t = 0 (the next record's values);
    # F follows the prednisone change by CYP3A turnover (hepatic half-life), as in a cohort run
    hct = [(30 / 35) ** -0.5, (40 / 35) ** -0.5]
    pred = [1 - 0.67 * 20 / 55, 1 - 0.67 * 5 / 40]
    doses = np.arange(0, 120, 12.0)
    kdeg = np.log(2) / prednisone_induction_half_life_h()
    followed = pred[0] + (pred[1] - pred[0]) * (1 - np.exp(-kdeg * doses))
    dose_f = followed[None] / pred[0]
    ref = concentrations_general(
        t["cl"] * hct[0],
        t["v"],
        t["ka"],
        t["tlag"],
        pred[0],
        doses[None],
        np.full((1, 10), 2.0),
        h.obs_times,
        dose_f=dose_f,
        cl_change_times=[0.0],
        cl_multipliers=[[1.0, hct[1] / hct[0]]],
    )[0]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_written_histories_read_back_with_the_same_predictions(tmp_path):
    text = (
        "ID,TIME,AMT,EVID,II,ADDL,SS,DV,BLQ,LLOQ,OCC,WT,CYP3A5,HCT,PRED,COMED,AGE\n"
        "A,0,2,1,12,3,1,.,0,,1,60,*3/*3,30,20,,33\n"
        "A,30,0,2,0,0,0,.,0,,1,61,*3/*3,33,10,voriconazole,33\n"
        "A,48,0,0,0,0,0,5.2,0,,1,61,*3/*3,33,10,voriconazole,33\n"
        "A,60,0,3,0,0,0,.,0,,1,61,*3/*3,33,10,,33\n"
        "A,61,1.5,1,12,4,0,.,0,,2,62,*3/*3,36,5,,33\n"
        "A,100,0,0,0,0,0,.,1,1.0,2,62,*3/*3,36,5,rifampicin,33\n"
        "A,109,0,0,0,0,0,3.3,0,,2,62,*3/*3,36,5,rifampicin,33\n"
        "B,0,3,1,24,5,0,.,0,,0,80,*1/*1,40,0,,33\n"
        "B,96,0,0,0,0,0,2.5,0,,0,80,*1/*1,40,0,,33\n"
    )
    pset = load_parameter_set("default")
    for rule in ("nocb", "locf"):
        original = read_nonmem_text(text, covariate_rule=rule)
        path = tmp_path / f"{rule}.csv"
        write_nonmem(path, original)
        again = read_nonmem(path, covariate_rule=rule)
        assert [h.id for h in again] == ["A", "B"]
        for a, b in zip(original, again, strict=True):
            for name in (
                "dose_times",
                "dose_amounts",
                "dose_ss",
                "reset_times",
                "obs_times",
                "obs_values",
                "obs_blq",
                "obs_lloq",
                "obs_occasion",
            ):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
            grid = np.linspace(-5, 130, 271)
            for name in a.covariates:
                np.testing.assert_array_equal(
                    a.covariates_at(grid)[name], b.covariates_at(grid)[name]
                )
            assert a.comedications == b.comedications
            da, db = design(a, pset), design(b, pset)
            assert da.eta_names == db.eta_names
            eta = np.linspace(-0.3, 0.3, da.n_eta)[None]
            np.testing.assert_array_equal(Predictor(da, grid)(eta), Predictor(db, grid)(eta))


def test_comedication_column_starts_and_stops_courses_on_the_clearance_grid():
    """Voriconazole from 96 h to 168 h, then rifampicin (genotype-dependent drugs need the
    genotype): predictions equal the public API on the modifiers' own grid and F multipliers."""
    pset = load_parameter_set("default")
    text = (
        "ID,TIME,AMT,EVID,II,ADDL,DV,WT,CYP3A5,HCT,COMED,AGE\n"
        "1,0,2,1,12,19,.,60,*1/*3,35,,33\n"
        "1,96,0,0,0,0,5,60,*1/*3,35,Vfend,33\n"
        "1,168,0,0,0,0,9,60,*1/*3,35,,33\n"
        "1,200,0,0,0,0,6,60,*1/*3,35,,33\n"
    )
    (h,) = read_nonmem_text(text)
    assert [(c.drug, c.start_day, c.stop_day) for c in h.comedications] == [
        ("voriconazole", 5.0, 7.0)
    ]
    ours = Predictor(design(h, pset), h.obs_times)(np.zeros((1, 3)))[0]
    grid = cl_multiplier_grid(h.comedications, True, t_begin=0.0)
    f = f_multipliers(h.comedications, h.dose_times, True)
    t = {k: v.value for k, v in pset.typical.items()}
    ref = concentrations_general(
        t["cl"] * 1.6,
        t["v"],
        t["ka"],
        t["tlag"],
        1.0,
        h.dose_times[None],
        h.dose_amounts[None],
        h.obs_times,
        dose_f=f,
        cl_change_times=grid.change_times,
        cl_multipliers=grid.multipliers,
    )[0]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    no_drug = Predictor(design(read_nonmem_text(text.replace("Vfend", ""))[0], pset), h.obs_times)(
        np.zeros((1, 3))
    )[0]
    assert ours[0] == no_drug[0] and ours[1] > 1.5 * no_drug[1]


def test_comedication_problems_are_reported():
    text = "ID,TIME,AMT,EVID,DV,COMED\n1,0,2,1,.,aspirinn\n1,10,2,1,.,voriconazole\n1,20,0,0,3,\n"
    with pytest.raises(Invalid) as error:
        read_nonmem_text(text)
    keys = error.value.problems.keys()
    assert keys == ["row 1, column COMED", "row 3, column COMED"], str(error.value)


def test_sample_times_in_any_order():
    (h,) = read_nonmem(EXAMPLE)
    d = design(h, load_parameter_set("default"))
    t = np.array([50.0, 10.0, 96.0, 3.0, 96.0])
    order = np.argsort(t, kind="stable")
    shuffled = Predictor(d, t)(np.zeros((1, 3)))[0]
    np.testing.assert_array_equal(shuffled[order], Predictor(d, t[order])(np.zeros((1, 3)))[0])
