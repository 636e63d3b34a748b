"""References for the two-compartment MIPD tests: the ODE integrated by scipy's solve_ivp
(no pksim code), a small two-compartment parameter set, and the andrews2019 set with another
residual error (values are test inputs, not literature values)."""

from __future__ import annotations

import tomllib
from importlib.resources import files

import numpy as np
from scipy.integrate import solve_ivp

from pksim.library.parameters import parameter_set_from_dict
from tests.mipd.sets import cited

ODE_RTOL = 1e-11
"""Relative tolerance of the reference integration."""


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
    dose_f=None,
    cl_change_times=(),
    cl_multipliers=(1.0,),
):
    """Concentrations (ng/mL) at ``sample_times`` of dG/dt = -ka G, dA1/dt = ka G -
    (CL(t) + Q)/V1 A1 + Q/V2 A2, dA2/dt = Q/V1 A1 - Q/V2 A2, doses arriving tlag after their
    time into G (a sample at an arrival is taken before it); CL(t) = cl x multiplier of the
    segment of ``cl_change_times``. Integrated between events by DOP853 at ODE_RTOL."""
    amounts = np.asarray(dose_amounts, float) * (1.0 if dose_f is None else np.asarray(dose_f))
    arrivals = np.asarray(dose_times, float) + tlag
    changes = np.asarray(cl_change_times, float)
    events = sorted({*arrivals.tolist(), *changes.tolist()})
    samples = np.asarray(sample_times, float)
    order = np.argsort(samples, kind="stable")
    out = np.empty(samples.size)
    state = np.zeros(3)
    now = min(events[0], samples.min()) if events else samples.min()

    def rhs(t, y, k10):
        g, a1, a2 = y
        return [-ka * g, ka * g - (k10 + q / v1) * a1 + q / v2 * a2, q / v1 * a1 - q / v2 * a2]

    def advance(state, t0, t1):
        if t1 <= t0 or not state.any():
            return state
        seg = int(np.searchsorted(changes, t0, side="right"))
        k10 = cl * np.asarray(cl_multipliers)[seg] / v1
        sol = solve_ivp(
            rhs, (t0, t1), state, method="DOP853", rtol=ODE_RTOL, atol=1e-20, args=(k10,)
        )
        return sol.y[:, -1]

    e = 0
    for i in order:
        t = samples[i]
        while e < len(events) and events[e] < t:
            state = advance(state, now, events[e])
            now = events[e]
            state = state + np.array([amounts[arrivals == now].sum(), 0.0, 0.0])
            e += 1
        state = advance(state, now, t)
        now = t
        out[i] = state[1] / v1 * 1000.0
    return out


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
        "residual": {"proportional": cited(proportional, "%")},
        "effects": [],
    }
    if additive:
        data["residual"]["additive"] = cited(additive, "ng/mL")
    if correlation:
        data["iiv_correlation"] = {k: cited(r, "1") for k, r in correlation.items()}
    if iov_f:
        data["iov"] = {"f": cited(iov_f, "omega2")}
    return parameter_set_from_dict(data, origin="<toy2>")


def andrews_with_assay(proportional_pct: float):
    """andrews2019 (typical values, covariate effects, Omega, IOV) with a proportional-only
    residual error of ``proportional_pct`` %."""
    path = files("pksim") / "data" / "parameters" / "andrews2019.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["residual"] = {"proportional": cited(proportional_pct, "%")}
    data["name"] = "andrews2019-assay"
    return parameter_set_from_dict(data, origin="<andrews-assay>")
