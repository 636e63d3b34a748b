"""The structural-model registry: what every model must provide, and how a set names its model."""

import dataclasses
import tomllib
from importlib import resources

import numpy as np
import pytest

from pksim.library import parameters as P
from pksim.model import concentrations_general, structural
from pksim.model.structural import STRUCTURAL_MODELS, ModelParameter, StructuralModel
from tests import naive

DATA = resources.files("pksim").joinpath("data")


def _raw_set(name: str) -> dict:
    return tomllib.loads(DATA.joinpath("parameters", f"{name}.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(STRUCTURAL_MODELS))
def test_every_registered_model_is_complete(name):
    """What a new model must provide: a spec with units for every parameter, an entry point,
    resolvable references, and a naive reference in tests/naive.py with example values."""
    spec = STRUCTURAL_MODELS[name]
    assert isinstance(spec, StructuralModel) and spec.name == name
    assert spec.description.strip()
    assert spec.parameters, f"{name}: no parameters"
    for parameter in spec.parameters:
        assert isinstance(parameter, ModelParameter)
        assert parameter.name.isidentifier(), f"{name}: parameter name {parameter.name!r}"
        assert parameter.units.strip(), f"{name}.{parameter.name}: no units"
        assert parameter.long_name.strip(), f"{name}.{parameter.name}: no long name"
    assert callable(spec.simulate_function)
    assert spec.steady_state is None or callable(spec.steady_state)
    references = P.load_references()
    assert spec.references and all(key in references for key in spec.references)

    assert name in naive.MODEL_REFERENCES, f"tests/naive.py has no reference for {name!r}"
    reference = naive.MODEL_REFERENCES[name]
    assert callable(reference.concentrations) and reference.examples
    for example in reference.examples:
        assert set(example) == set(spec.parameter_names), f"{name}: example {example}"


def test_naive_references_belong_to_registered_models():
    assert set(naive.MODEL_REFERENCES) == set(STRUCTURAL_MODELS)


def test_default_model_is_registered_and_matches_the_parameter_set_reader():
    """The default model's parameters are the individual parameters the library reads, in the
    same units (F is 1 by definition and has no typical value)."""
    spec = structural.structural_model(P.DEFAULT_STRUCTURAL_MODEL)
    assert spec is structural.ONE_COMPARTMENT_ORAL_LAG
    assert spec.parameter_names == P.PK_PARAMETERS[: len(spec.parameter_names)]
    assert set(P.PK_PARAMETERS) - set(spec.parameter_names) == set(P.MODEL_TYPICAL_UNITS)
    assert {k: u for k, u in spec.units.items() if k in P.TYPICAL_UNITS} == dict(P.TYPICAL_UNITS)
    assert dict(P.typical_units(spec.name)) == dict(P.TYPICAL_UNITS)
    assert spec.simulate_function is concentrations_general


def test_two_compartment_model_parameters_are_read_by_the_library():
    """Q/F and V2/F of a two-compartment set are typical values the library reads, in the
    model's units; its V1/F is the set's ``v``."""
    spec = structural.TWO_COMPARTMENT_ORAL_LAG
    needed = dict(P.typical_units(spec.name))
    assert needed == {**P.TYPICAL_UNITS, **P.MODEL_TYPICAL_UNITS}
    for name in P.MODEL_TYPICAL_UNITS:
        assert spec.units[name] == needed[name]
    assert spec.units["v1"] == needed["v"]
    assert set(spec.parameter_names) - {"v1"} <= set(P.PK_PARAMETERS)


@pytest.mark.parametrize("name", P.list_parameter_sets())
def test_every_bundled_set_declares_a_registered_model(name):
    raw = _raw_set(name)
    assert "structural_model" in raw, f"parameters/{name}.toml: declare structural_model"
    assert raw["structural_model"] in STRUCTURAL_MODELS
    assert P.load_parameter_set(name).structural_model == raw["structural_model"]


def test_a_set_without_the_key_gets_the_default_model():
    raw = _raw_set("han2013")
    del raw["structural_model"]
    pset = P.parameter_set_from_dict(raw)
    assert pset.structural_model == P.DEFAULT_STRUCTURAL_MODEL == "one-compartment-oral-lag"
    assert "structural model: one-compartment-oral-lag" in pset.describe()


@pytest.mark.parametrize("value", [3, "", ["one-compartment-oral-lag"]])
def test_a_structural_model_that_is_not_a_name_is_refused(value):
    raw = {**_raw_set("default"), "structural_model": value}
    with pytest.raises(ValueError, match=r"structural_model: must be the name of a structural"):
        P.parameter_set_from_dict(raw, origin="mine.toml")


def test_an_unknown_model_is_refused_with_a_suggestion_and_the_list():
    with pytest.raises(
        ValueError,
        match=r"unknown structural model 'one-compartment-oral-lg' "
        r"\(did you mean \"one-compartment-oral-lag\"\?\); valid: one-compartment-oral-lag",
    ):
        structural.structural_model("one-compartment-oral-lg")


def test_an_unknown_model_is_refused_when_the_set_is_loaded():
    raw = {**_raw_set("default"), "structural_model": "two-compartment-oral"}
    with pytest.raises(ValueError, match=r"structural_model: unknown structural model"):
        P.parameter_set_from_dict(raw)


def test_overrides_keep_the_declared_model(monkeypatch):
    toy = dataclasses.replace(structural.ONE_COMPARTMENT_ORAL_LAG, name="toy-copy")
    registry = {**structural.STRUCTURAL_MODELS, toy.name: toy}
    monkeypatch.setattr(structural, "STRUCTURAL_MODELS", registry)
    pset = P.parameter_set_from_dict({**_raw_set("default"), "structural_model": toy.name})
    assert P.override_parameter_set(pset, {"typical.cl": 16.0}).structural_model == toy.name


def test_simulate_passes_parameters_by_name_to_the_same_entry_point():
    rng = np.random.default_rng(5)
    n = 7
    individual = {
        "f": rng.uniform(0.5, 2, n),
        "tlag": rng.uniform(0, 1, n),
        "ka": rng.uniform(0.5, 6, (n, 2)),
        "v": rng.uniform(300, 1000, n),
        "cl": rng.uniform(5, 30, n),
        "unused": np.zeros(n),
    }
    times = np.array([[0.0, 12.0, 24.0, 36.0]])
    amounts = np.array([[1.5, 1.5, 3.0, 1.5]])
    events = dict(
        dose_class=np.array([[0, 1, 0, 1]]),
        class_lag=np.array([0.0, 0.5]),
        dose_f=rng.uniform(0.8, 1.2, (n, 4)),
        cl_change_times=np.array([20.0]),
        cl_multipliers=np.array([[1.0, 0.5]]),
    )
    samples = np.linspace(0, 48, 9)
    spec = structural.ONE_COMPARTMENT_ORAL_LAG
    got = spec.simulate(individual, times, amounts, samples, **events)
    expected = concentrations_general(
        individual["cl"],
        individual["v"],
        individual["ka"],
        individual["tlag"],
        individual["f"],
        times,
        amounts,
        samples,
        **events,
    )
    np.testing.assert_array_equal(got, expected)


def test_simulate_names_a_missing_parameter():
    spec = structural.ONE_COMPARTMENT_ORAL_LAG
    with pytest.raises(ValueError, match=r"needs the individual parameters .* missing \['tlag'\]"):
        spec.simulate({"cl": 1.0, "v": 1.0, "ka": 1.0, "f": 1.0}, [[0.0]], [[1.0]], [1.0])


def test_a_spec_needs_unique_parameter_names():
    twice = (ModelParameter("cl", "L/h", "clearance"),) * 2
    with pytest.raises(ValueError, match="unique parameter names"):
        StructuralModel("x", "x", twice, concentrations_general, None, ("Han2013",))
