"""The seam is real: a model registered here only (no engine edit) is picked by a parameter set
that declares it and is what the engine runs."""

import dataclasses
import math
import tomllib
from importlib import resources
from types import MappingProxyType

import numpy as np
import pytest

from pksim import run
from pksim.library import parameters as P
from pksim.model import structural
from pksim.model.structural import ModelParameter, StructuralModel
from pksim.scenario import scenario_from_text
from pksim.units import MG_PER_L_TO_NG_PER_ML
from tests.engine.test_run import TYPICAL_60_KG  # the typical patient, no variability


def _bolus(calls):
    """A toy model, IV bolus into one compartment (numpy only), recording its calls."""

    def concentrations(cl, v, f, dose_times, dose_amounts, sample_times, *, dose_f=None, **_):
        calls.append({"cl": cl, "v": v, "f": f})
        cl, v, f = (np.asarray(a, dtype=float) for a in (cl, v, f))
        times = np.asarray(dose_times, dtype=float)
        samples = np.broadcast_to(
            np.asarray(sample_times, dtype=float), (cl.size, np.shape(sample_times)[-1])
        )
        amounts = np.asarray(dose_amounts) * f[:, None] * (1.0 if dose_f is None else dose_f)
        elapsed = samples[:, None, :] - times[:, :, None]  # (n, m, s); NaN for no dose
        given = elapsed > 0  # a sample at a dose time is taken before it
        decay = np.exp(-(cl / v)[:, None, None] * np.where(given, elapsed, 0.0))
        amount = np.where(given, amounts[:, :, None] * decay, 0.0).sum(axis=1)
        return amount / v[:, None] * MG_PER_L_TO_NG_PER_ML

    return StructuralModel(
        name="toy-iv-bolus",
        description="Toy: IV bolus, one compartment (test only).",
        parameters=(
            ModelParameter("cl", "L/h", "clearance"),
            ModelParameter("v", "L", "volume"),
            ModelParameter("f", "1", "bioavailability"),
        ),
        simulate_function=concentrations,
        steady_state=None,
        references=("PKReference",),
    )


def _scenario_with_model(name):
    text = resources.files("pksim").joinpath("data", "parameters", "default.toml")
    raw = tomllib.loads(text.read_text(encoding="utf-8"))
    pset = P.parameter_set_from_dict({**raw, "structural_model": name}, origin="test set")
    scenario = scenario_from_text(TYPICAL_60_KG)
    return dataclasses.replace(scenario, parameter_set=pset)


def test_a_model_registered_in_a_test_reaches_the_engine(monkeypatch):
    calls = []
    toy = _bolus(calls)
    monkeypatch.setattr(
        structural,
        "STRUCTURAL_MODELS",
        MappingProxyType({**structural.STRUCTURAL_MODELS, toy.name: toy}),
    )
    ds = run(_scenario_with_model(toy.name))

    assert calls, "the engine did not call the declared model"
    assert all(set(call) == {"cl", "v", "f"} for call in calls)
    np.testing.assert_allclose(calls[0]["cl"], 14.0)
    np.testing.assert_allclose(calls[0]["v"], 700.0)
    # The textbook IV-bolus steady-state trough, not the oral model's (day 28: 19 half-lives).
    k = 14.0 / 700.0
    for regimen, dose, tau in (("3 mg QD", 3.0, 24.0), ("1.5 mg BID", 1.5, 12.0)):
        bolus = dose / 700.0 * math.exp(-k * tau) / -math.expm1(-k * tau)
        expected = bolus * MG_PER_L_TO_NG_PER_ML
        np.testing.assert_allclose(ds.trough.sel(day=28, regimen=regimen), expected, rtol=1e-5)

    oral = run(_scenario_with_model(structural.ONE_COMPARTMENT_ORAL_LAG.name))
    assert not np.allclose(oral.trough.sel(day=28), ds.trough.sel(day=28), rtol=1e-3)


def test_a_set_declaring_an_unregistered_model_is_refused_at_load():
    with pytest.raises(ValueError, match=r"unknown structural model 'toy-iv-bolus'.*valid: "):
        _scenario_with_model("toy-iv-bolus")
