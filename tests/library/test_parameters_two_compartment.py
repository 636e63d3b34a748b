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


# Lu 2015 Table 2 (final model), typed from nlmixr2/nlmixr2lib Lu_2015_tacrolimus.R; CL/F is
# the healthy value 32.8 L/h times the liver-transplant factor 0.562 (Equation 10).
LU2015_TABLE_2 = {
    "typical": {"v": 22.7, "q": 76.3, "v2": 916.0, "ka": 0.419, "tlag": 0.404},
    "iiv": {"cl": 46.6, "v": 57.3, "q": 46.0, "v2": 93.5},
}


def test_lu2015_values_are_those_of_its_table():
    pset = P.load_parameter_set("lu2015")
    assert pset.structural_model == "two-compartment-oral-lag"
    assert pset.typical["cl"].value == pytest.approx(32.8 * 0.562, rel=1e-12)
    for key, value in LU2015_TABLE_2["typical"].items():
        assert pset.typical[key].value == value, key
    assert {k: v.value for k, v in pset.iiv.items()} == LU2015_TABLE_2["iiv"]
    assert pset.residual["proportional"].value == 39.8
    assert "additive" not in pset.residual and not pset.iov
    assert not pset.effects, "Lu 2015 has no covariate pksim carries (ALT only)"
    cited = [pset.typical[k] for k in pset.typical] + [pset.iiv[k] for k in pset.iiv]
    assert all(c.sources == ("Lu2015",) for c in cited)
