"""References for the two-compartment MIPD tests: the ODE integrated by scipy's solve_ivp
(no pksim code; :mod:`tests.naive`), a small two-compartment parameter set, and the
andrews2019 set with another residual error (values are test inputs, not literature values)."""

from __future__ import annotations

import tomllib
from importlib.resources import files

from pksim.library.parameters import parameter_set_from_dict
from tests.mipd.sets import cited, set_from_data
from tests.naive import concentrations_two_compartment_reference

ANDREWS_COVARIATES = "*1/*3,50,1.2"
"""CYP3A5, AGE (y) and SCR (mg/dL) columns of the andrews2019 test patients."""


def two_compartment_ode(
    cl,
    v1,
    q,
    v2,
    ka,
    tlag,
    dose_times,
    dose_amounts,
    sample_times,
    *,
    cl_change_times=(),
    cl_multipliers=(1.0,),
):
    """Concentrations (ng/mL) of one subject at ``sample_times`` from the solve_ivp reference
    :func:`tests.naive.concentrations_two_compartment_reference` (F = 1, one absorption class;
    a sample at an arrival is taken before it); CL(t) = cl x the multiplier of the segment of
    ``cl_change_times``."""
    return concentrations_two_compartment_reference(
        [cl], [v1], [q], [v2], [[ka]], [tlag], [1.0], [dose_times], [dose_amounts],
        [sample_times], cl_change_times=cl_change_times, cl_multipliers=[cl_multipliers],
    )[0]  # fmt: skip


def toy_two_compartment_set(
    *, iiv=None, correlation=None, proportional=15.0, additive=0.0, iov_f=None, tlag=0.4
):
    """A two-compartment set (CL/F 20 L/h, V1/F 300 L, Q/F 30 L/h, V2/F 900 L, ka 2 1/h)."""
    data = {
        "name": "toy2",
        "title": "test set",
        "population": "test",
        "evidence": "D",
        "structural_model": "two-compartment-oral-lag",
        "typical": {
            "cl": cited(20.0, "L/h"),
            "v": cited(300.0, "L"),
            "q": cited(30.0, "L/h"),
            "v2": cited(900.0, "L"),
            "ka": cited(2.0, "1/h"),
            "tlag": cited(tlag, "h"),
        },
        "iiv": {k: cited(w, "omega2") for k, w in (iiv or {"cl": 0.09}).items()},
        "effects": [],
    }
    return set_from_data(
        data,
        "<toy2>",
        proportional=proportional,
        additive=additive,
        correlation=correlation,
        iov_f=iov_f,
    )


def andrews_with_assay(proportional_pct: float):
    """andrews2019 (typical values, covariate effects, Omega, IOV) with a proportional-only
    residual error of ``proportional_pct`` %."""
    path = files("pksim") / "data" / "parameters" / "andrews2019.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["residual"] = {"proportional": cited(proportional_pct, "%")}
    data["name"] = "andrews2019-assay"
    return parameter_set_from_dict(data, origin="<andrews-assay>")
