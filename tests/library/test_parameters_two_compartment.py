"""Parameter sets of the two-compartment model: Q/F and V2/F read, checked and overridable
exactly where the declared structural model has them."""

import tomllib
from importlib import resources

import pytest

from pksim.errors import Invalid
from pksim.library import parameters as P


def _raw(name):
    text = resources.files("pksim").joinpath("data", "parameters", f"{name}.toml")
    return tomllib.loads(text.read_text(encoding="utf-8"))


def test_andrews_set_reads_q_and_v2_with_their_iiv():
    pset = P.load_parameter_set("andrews2019")
    assert pset.structural_model == "two-compartment-oral-lag"
    assert pset.pk_parameters == ("cl", "v", "ka", "tlag", "f", "q", "v2")
    assert pset.typical["q"].value == 11.6 and pset.typical["q"].units == "L/h"
    assert pset.typical["v2"].value == 5340.0 and pset.typical["v2"].units == "L"
    names, _ = pset.iiv_covariance()
    assert names == ("cl", "v", "q", "v2")


def test_one_compartment_sets_have_no_q_or_v2():
    for name in ("default", "han2013", "zuo2013", "hao2018", "healthy-volunteer"):
        assert P.load_parameter_set(name).pk_parameters == ("cl", "v", "ka", "tlag", "f")


def test_two_compartment_set_without_q_is_refused_naming_the_key():
    raw = _raw("andrews2019")
    del raw["typical"]["q"]
    with pytest.raises(ValueError, match=r"typical: missing 'q'.*two-compartment-oral-lag"):
        P.parameter_set_from_dict(raw, origin="test.toml")


def test_q_in_a_one_compartment_set_is_refused():
    raw = _raw("default")
    raw["typical"]["q"] = {"value": 10.0, "units": "L/h", "source": "Andrews2019", "evidence": "I"}
    with pytest.raises(ValueError, match=r"test.toml: typical .*unknown key 'q'|'q'"):
        P.parameter_set_from_dict(raw, origin="test.toml")


def test_iiv_and_effects_on_v2_need_a_model_with_v2():
    raw = _raw("default")
    raw["iiv"]["v2"] = {"value": 50.0, "units": "%CV", "source": "Andrews2019", "evidence": "I"}
    with pytest.raises(ValueError, match=r"test.toml: iiv"):
        P.parameter_set_from_dict(raw, origin="test.toml")
    raw = _raw("default")
    raw["effects"][0]["parameter"] = "v2"
    with pytest.raises(ValueError, match=r"effects\[0\].parameter"):
        P.parameter_set_from_dict(raw, origin="test.toml")
    raw = _raw("andrews2019")
    raw["effects"].append(
        {
            "parameter": "v2",
            "covariate": "weight_kg",
            "form": "power",
            "reference": {"value": 70.0, "units": "kg", "source": "Andrews2019", "evidence": "D"},
            "exponent": {"value": 1.0, "units": "1", "source": "Andrews2019", "evidence": "D"},
        }
    )
    assert P.parameter_set_from_dict(raw).effects_on("v2")


def test_overrides_of_q_and_v2_only_where_the_model_has_them():
    andrews = P.load_parameter_set("andrews2019")
    changed = P.override_parameter_set(andrews, {"typical.q": 20.0, "iiv.v2": 60.0})
    assert changed.typical["q"].value == 20.0 and changed.iiv["v2"].value == 60.0
    assert changed.typical["q"].evidence == "D"
    with pytest.raises(Invalid, match=r"typical.q.*has no 'q'"):
        P.override_parameter_set(P.load_parameter_set("default"), {"typical.q": 20.0})
    with pytest.raises(Invalid, match=r"typical.v2.*<= 1e\+06"):
        P.override_parameter_set(andrews, {"typical.v2": 2e6})
