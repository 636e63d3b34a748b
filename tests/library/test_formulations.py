"""Tacrolimus formulations (pksim.formulations): products, strengths, conversions.

Strengths from the labels (EU SmPCs of Prograf and Advagraf, US labels of Astagraf XL and
Envarsus XR); conversions from PK_REFERENCE.md sections 1.4 and 6.3: Advagraf/Astagraf XL 1:1 mg
with the trough about 10-25 % lower after conversion (conversion study: median -25 %), lower in
CYP3A5 expressers (LiverConversion2020); Envarsus at 70 % of the IR total daily dose for equal
exposure (EU SmPC), 80 % for a comparable trough (US label).
"""

import numpy as np
import pytest

from pksim.dosing.absorption import absorption_arrays
from pksim.library import formulations as fm
from pksim.model import concentrations_general

V, KA, TLAG = 700.0, 4.5, 0.4  # PK_REFERENCE section 1.1 defaults


@pytest.mark.parametrize(
    ("name", "strengths"),
    [
        ("prograf", (0.5, 1.0, 5.0)),  # Prograf SmPC: 0.5, 1, 5 mg hard capsules
        ("advagraf", (0.5, 1.0, 3.0, 5.0)),  # Advagraf SmPC
        ("astagraf_xl", (0.5, 1.0, 5.0)),  # Astagraf XL label, section 3
        ("envarsus", (0.75, 1.0, 4.0)),  # Envarsus XR label (tablets)
    ],
)
def test_capsule_strengths_from_labels(name, strengths):
    assert fm.capsule_strengths(name) == strengths
    assert name in fm.list_formulations()


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("IR", "prograf"),
        ("普乐可复", "prograf"),
        ("Envarsus XR", "envarsus"),
        ("LCP", "envarsus"),
        ("prolonged release", "advagraf"),
        ("Astagraf", "astagraf_xl"),
    ],
)
def test_aliases(alias, name):
    assert fm.lookup_formulation(alias).name == name


def test_unknown_formulation_suggests():
    with pytest.raises(ValueError, match=r'did you mean "advagraf"\?\); valid: advagraf, '):
        fm.lookup_formulation("advagrf")
    with pytest.raises(ValueError, match=r'\'Envarsus XRR\' \(did you mean "envarsus"\?\)'):
        fm.lookup_formulation("Envarsus XRR")  # close to an alias: the product is suggested


def test_doses_per_day():
    fm.check_doses_per_day("prograf", 1)
    fm.check_doses_per_day("prograf", 2)
    fm.check_doses_per_day("envarsus", 1)
    with pytest.raises(ValueError, match="1 time"):
        fm.check_doses_per_day("advagraf", 2)
    assert fm.doses_per_day_problem("prograf", 2) is None
    assert fm.doses_per_day_problem("envarsus", 2).startswith("envarsus is taken 1 time(s) a day")


def test_labelled_conversions():
    assert fm.converted_daily_dose(3.0, "envarsus") == pytest.approx(2.4)  # 80 %, label
    assert fm.converted_daily_dose(3.0, "advagraf") == pytest.approx(3.0)  # 1:1
    with pytest.raises(ValueError, match="ir_daily_dose_mg"):
        fm.converted_daily_dose(-1.0, "prograf")


def test_prolonged_release_ka_in_published_range():
    """PK_REFERENCE section 1.4: prolonged-release ka about 0.5-1 1/h (default IR ka 4.5)."""
    ka = fm.lookup_formulation("advagraf").ka_multiplier.value * KA
    assert 0.5 <= ka <= 1.0


def _steady_state(formulation, daily_mg, doses_per_day, cl, days=30):
    tau = 24.0 / doses_per_day
    times = np.arange(0.0, days * 24.0, tau)[np.newaxis, :]
    arrays = absorption_arrays(np.array([KA]), ["fasted"] * times.shape[1], formulation)
    last = (days - 1) * 24.0
    samples = np.linspace(last, last + 24.0, 2401)
    conc = concentrations_general(
        cl,
        V,
        arrays.ka,
        TLAG,
        1.0,
        times,
        np.full(times.shape, daily_mg / doses_per_day),
        np.append(samples, days * 24.0),
        dose_class=arrays.dose_class,
        class_lag=arrays.class_lag,
        dose_f=arrays.dose_f,
    )[0]
    auc = np.trapezoid(conc[:-1], samples)
    return conc[-1], auc


@pytest.mark.parametrize("cl", [14.0, 22.4])  # CYP3A5 *3/*3 and *1/*3 (x1.6), PK_REFERENCE 1.1
def test_advagraf_one_to_one_conversion_lowers_the_trough(cl):
    """IR 1.5 mg BID -> Advagraf 3 mg QD: trough about 10-25 % lower (PK_REFERENCE 1.4, 6.3).

    Tolerance: the lower end "about 10 %" is read as >= 8 %; the model gives 9.9 % for *3/*3
    and 16 % for *1/*3 at the default parameters (the conversion study's median was 25 %)."""
    ir_trough, ir_auc = _steady_state("prograf", 3.0, 2, cl)
    pr_trough, pr_auc = _steady_state("advagraf", 3.0, 1, cl)
    assert pr_auc == pytest.approx(ir_auc, rel=1e-3)  # 1:1 conversion, equal exposure
    assert 0.75 <= pr_trough / ir_trough <= 0.92


@pytest.mark.parametrize("cl", [14.0, 22.4])
def test_envarsus_eu_conversion_gives_equal_exposure_and_the_us_rule_a_comparable_trough(cl):
    """Envarsus EU SmPC 4.2: 70 % of the IR daily dose gives the same exposure (1:0.7); the US
    label's 80 % rule (conversion_from_ir) then gives 0.8 / 0.7 = 1.14 times the IR AUC and a
    comparable trough."""
    ir_trough, ir_auc = _steady_state("prograf", 3.0, 2, cl)
    _, eu_auc = _steady_state("envarsus", 0.7 * 3.0, 1, cl)
    assert eu_auc == pytest.approx(ir_auc, rel=2e-3)  # relative F 1.43 = 1 / 0.7 (rounded)
    daily = fm.converted_daily_dose(3.0, "envarsus")
    lcp_trough, lcp_auc = _steady_state("envarsus", daily, 1, cl)
    assert lcp_auc / ir_auc == pytest.approx(0.8 / 0.7, rel=2e-3)
    assert lcp_trough / ir_trough == pytest.approx(1.0, abs=0.2)


def test_advagraf_relative_f_is_lower_in_cyp3a5_expressers():
    """LiverConversion2020: C0/D fell 42.9 % (expressers) and 26.1 % (non-expressers) after the
    same 1:1 conversion: expressers' relative F = 0.571 / 0.739 of the non-expressers'."""
    advagraf = fm.lookup_formulation("advagraf")
    assert advagraf.relative_f_for(False) == 1.0  # label 1:1
    assert advagraf.relative_f_for(True) == pytest.approx((1 - 0.429) / (1 - 0.261), abs=1e-3)
    assert "LiverConversion2020" in advagraf.sources
    for name in ("prograf", "envarsus"):  # no genotype-dependent F in the other classes
        product = fm.lookup_formulation(name)
        assert product.relative_f_for(True) == product.relative_f_for(False)
    with pytest.raises(ValueError, match="expresser must be true or false, got 1"):
        advagraf.relative_f_for(1)


def test_absorption_arrays_apply_the_expresser_f_to_expressers_doses_only():
    expresser = np.array([False, True, True])
    ka = np.full(3, KA)
    forms = ["prograf", "advagraf", "advagraf", "envarsus"]
    arrays = absorption_arrays(ka, ["fasted"] * 4, forms, expresser)
    pr_expresser = fm.lookup_formulation("advagraf").relative_f_for(True)
    lcp = fm.lookup_formulation("envarsus").relative_f_for(False)
    expected = np.array([[1.0, 1.0, 1.0, lcp], [1.0, pr_expresser, pr_expresser, lcp], [1.0] * 4])
    expected[2] = expected[1]
    np.testing.assert_allclose(arrays.dose_f, expected)
    # Without flags (or no expresser) every subject shares one row, as before.
    assert absorption_arrays(ka, ["fasted"] * 4, forms).dose_f.shape == (1, 4)
    assert absorption_arrays(ka, ["fasted"] * 4, forms, np.zeros(3, bool)).dose_f.shape == (1, 4)


@pytest.mark.parametrize(
    "expresser", [np.array([1, 0, 1]), np.array([True, False]), np.array([[True, False, True]])]
)
def test_absorption_arrays_refuse_bad_expresser_flags(expresser):
    with pytest.raises(ValueError, match=r"expresser must be a 1-D boolean array .* \(3\)"):
        absorption_arrays(np.full(3, KA), ["fasted"], "advagraf", expresser)


def test_formulations_file_checks_the_expresser_multiplier(monkeypatch):
    good = fm.read_data("formulations.toml")
    bad = {**good, "pk_classes": {**good["pk_classes"]}}
    bad["pk_classes"]["pr"] = {**good["pk_classes"]["pr"], "cyp3a5_expresser_f": 0.8}
    monkeypatch.setattr(fm, "read_data", lambda _name: bad)
    fm._catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"pk_classes\.pr\.cyp3a5_expresser_f: expected a"):
            fm.lookup_formulation("advagraf")
    finally:
        monkeypatch.undo()
        fm._catalogue.cache_clear()
