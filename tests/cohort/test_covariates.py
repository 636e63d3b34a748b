"""The Covariates container: one read-only array per carried covariate of the registry."""

from __future__ import annotations

import pickle

import cloudpickle
import numpy as np
import pytest

from pksim.cohort import covariates as C
from pksim.library import covariates as registry


def subjects(n=3, **kw) -> C.Covariates:
    """n subjects: a 30-year-old woman of 60 kg, hematocrit 35 %, eGFR 100, *3/*3."""
    base = dict(
        weight_kg=np.full(n, 60.0),
        sex=np.zeros(n),
        age_y=np.full(n, 30.0),
        hematocrit_pct=np.full(n, 35.0),
        egfr=np.full(n, 100.0),
        serum_creatinine_mg_dl=np.full(n, 0.7),
        cyp3a5=np.zeros(n),
        liver_function=np.zeros(n),
        prednisone_mg_per_day=np.zeros(n),
    )
    base.update(kw)
    return C.Covariates(**base)


def test_covariates_are_validated_and_read_only():
    cov = subjects(4)
    assert len(cov) == 4 and len(cov.slice(1, 3)) == 2
    with pytest.raises(ValueError, match="read-only"):
        cov.weight_kg[0] = 1.0
    with pytest.raises(ValueError, match="has 4 subjects, expected 2"):
        subjects(4, weight_kg=np.ones(2))
    with pytest.raises(ValueError, match=r"cyp3a5 codes must be in 0..2 .* or -1 for unknown"):
        subjects(2, cyp3a5=np.array([0, 3]))
    with pytest.raises(ValueError, match=r"liver_function codes must be in 0..3"):
        subjects(2, liver_function=np.array([0, -1]))
    assert cov.labels("cyp3a5").tolist() == ["*3/*3"] * 4
    with pytest.raises(ValueError, match="did you mean"):
        C.category_codes("cyp3a5", ["*1/*2"])


def test_names_come_from_the_registry():
    """Every carried covariate is a field, readable as an attribute or by name; nothing else."""
    cov = subjects(2)
    assert list(cov.values) == [c.name for c in registry.carried()]
    assert cov["egfr"] is cov.egfr
    with pytest.raises(ValueError, match='did you mean "weight_kg"'):
        subjects(2, weight_kgs=np.ones(2))
    with pytest.raises(ValueError, match='did you mean "egfr"'):
        cov["egfrr"]
    with pytest.raises(AttributeError, match="no attribute 'serum_creatinine_uln_mg_dl'"):
        _ = cov.serum_creatinine_uln_mg_dl


def test_defaults_and_required_covariates():
    """Liver function defaults to normal and prednisone to 0 mg/day; weight has no default."""
    base = subjects(2)
    defaulted = ("liver_function", "prednisone_mg_per_day")
    given = {k: v for k, v in base.values.items() if k not in defaulted}
    cov = C.Covariates(**given)
    assert cov.labels("liver_function").tolist() == ["normal", "normal"]
    assert cov.prednisone_mg_per_day.tolist() == [0.0, 0.0]
    without_weight = {k: v for k, v in given.items() if k != "weight_kg"}
    with pytest.raises(ValueError, match=r"missing \['weight_kg'\]"):
        C.Covariates(**without_weight)


def test_unknown_genotypes_are_kept_and_labelled():
    cov = subjects(3, cyp3a5=np.array([0, -1, 2]))
    assert cov.unknown("cyp3a5").tolist() == [False, True, False]
    assert cov.labels("cyp3a5").tolist() == ["*3/*3", "unknown", "*1/*1"]
    assert cov.unknown("egfr").tolist() == [False] * 3
    assert subjects(1, egfr=np.array([np.nan])).unknown("egfr").tolist() == [True]


def test_replace_validates_and_keeps_the_labels():
    cov = C.Covariates(**subjects(2).values, patient_id=["a", "b"])
    new = cov.replace(cyp3a5=np.array([1, 2]))
    assert new.cyp3a5.tolist() == [1, 2] and new.patient_id == ("a", "b")
    assert cov.cyp3a5.tolist() == [0, 0]
    with pytest.raises(ValueError, match="has 2 subjects, expected 3"):
        cov.replace(weight_kg=np.ones(3))


def test_covariates_travel_to_workers():
    """Dask ships scenarios (and their patients) with cloudpickle."""
    cov = C.Covariates(**subjects(2).values, patient_id=["a", "b"])
    back = pickle.loads(cloudpickle.dumps(cov))
    assert back.patient_id == ("a", "b")
    for name, values in cov.values.items():
        np.testing.assert_array_equal(back[name], values)


def test_first_release_import_paths_resolve_or_name_the_new_place():
    """``pksim.covariates`` (first release) is now the cohort stage; names that moved to the
    modifiers stage say where they went."""
    import importlib
    import warnings

    from pksim import cohort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module("pksim.covariates")
    assert old is cohort and old.Covariates is C.Covariates
    with pytest.raises(AttributeError, match=r"import it from pksim\.modifiers\.prednisone"):
        _ = old.prednisone_f_multipliers
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = cohort.nothing
