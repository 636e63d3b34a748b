"""The covariate registry: consistent entries, and every covariate list derived from it."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from pksim import contract, units
from pksim.cohort import sampling
from pksim.library import covariates as registry
from pksim.library import parameters, populations


def test_entries_are_unique_and_the_stream_columns_contiguous():
    names = [c.name for c in registry.COVARIATES]
    assert len(names) == len(set(names))
    columns = sorted(j for c in registry.COVARIATES for j in c.draw_columns)
    assert columns == list(range(registry.COVARIATE_STREAM_WIDTH))
    # The first release's column layout (sex, age, weight, hematocrit, eGFR, two CYP3A5 alleles,
    # liver): moving a column would change every virtual cohort (new covariates append).
    layout = {c.name: c.draw_columns for c in registry.COVARIATES if c.draw_columns}
    first_release = {
        "sex": (0,),
        "age_y": (1,),
        "weight_kg": (2,),
        "hematocrit_pct": (3,),
        "egfr": (4,),
        "cyp3a5": (5, 6),
        "liver_function": (7,),
    }
    assert {name: layout.get(name) for name in first_release} == first_release


def test_numeric_units_are_pksim_unit_strings():
    known = {v for k, v in vars(units).items() if k.isupper() and isinstance(v, str)}
    for covariate in registry.COVARIATES:
        if covariate.kind == registry.NUMERIC:
            assert covariate.units in known, covariate.name


def test_one_spelling_of_the_egfr_units():
    """eGFR's units are units.EGFR in the registry, the parameter sets, the populations, the
    result and targets.toml (there used to be two spellings)."""
    assert registry.get("egfr").units == units.EGFR == "mL/min/1.73 m2"
    assert parameters.NUMERIC_COVARIATES["egfr"] == units.EGFR
    table = populations.population_settings("chinese-adult-ln")
    assert {table[f"egfr_{k}"]["units"] for k in ("mean", "sd", "min", "max")} == {units.EGFR}
    assert contract.COORDINATE_ATTRS["egfr"]["units"] == units.EGFR
    targets = tomllib.loads(resources.files("pksim").joinpath("data/targets.toml").read_text())
    assert targets["renal_impairment"]["egfr_below"]["units"] == units.EGFR


def test_covariate_lists_derive_from_the_registry():
    assert contract.SUBJECT_COORDINATES == tuple(c.name for c in registry.result_coordinates())
    for covariate in registry.result_coordinates():
        assert contract.COORDINATE_ATTRS[covariate.name]["long_name"] == covariate.long_name
    assert parameters.CATEGORICAL_COVARIATES["cyp3a5"] == ("*3/*3", "*1/*3", "*1/*1")
    assert set(parameters.NUMERIC_COVARIATES) | set(parameters.CATEGORICAL_COVARIATES) == {
        c.name for c in registry.effect_covariates()
    }
    assert parameters.SET_LEVEL_COVARIATES == {"post_transplant_day"}
    assert registry.continuous_coordinates() >= {
        "weight_kg",
        "age_y",
        "hematocrit_pct",
        "egfr",
        "serum_creatinine_mg_dl",
        "prednisone_mg_per_day",
    }
    assert not registry.continuous_coordinates() & {"sex", "cyp3a5", "weight_band"}
    assert registry.is_continuous("egfr") and not registry.is_continuous("cyp3a5")
    assert registry.get("weight_band").groupable and not registry.get("egfr").groupable


def test_every_custom_or_derived_draw_has_a_rule():
    """A covariate drawn by a registry distribution needs no code; the others need a rule."""
    ruled = {c.name for c in registry.carried() if c.virtual in (registry.CUSTOM, registry.DERIVED)}
    assert ruled == set(sampling._RULES)


def test_unknown_names_are_suggested():
    with pytest.raises(ValueError, match=r"unknown covariate 'wieght_kg'.*did you mean"):
        registry.get("wieght_kg")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "number"}, "kind must be one of"),
        ({"units": ""}, "numeric covariates, and only they, have units"),
        ({"virtual": None}, "subject covariates, and only they, need virtual"),
        ({"draw_columns": (8, 9)}, "a truncated_normal draw takes one column"),
        ({"allowed": (5.0, 1.0)}, "allowed is a"),
        ({"imputable": True}, "only categorical subject covariates are imputable"),
        ({"origin": registry.RUN}, "subject covariates, and only they, need virtual"),
    ],
)
def test_bad_entries_are_refused(fields, message):
    good = {
        "name": "albumin_g_dl",
        "kind": registry.NUMERIC,
        "long_name": "Serum albumin",
        "units": units.SERUM_CREATININE,
        "virtual": registry.TRUNCATED_NORMAL,
        "draw_columns": (8,),
    }
    registry.Covariate(**good)
    with pytest.raises(ValueError, match=f"covariate registry: albumin_g_dl: {message}"):
        registry.Covariate(**(good | fields))
