"""Tacrolimus formulations (pksim.formulations): products, strengths, conversions.

Strengths from the labels (EU SmPCs of Prograf and Advagraf, US labels of Astagraf XL and
Envarsus XR); conversions from PK_REFERENCE.md sections 1.4 and 6.3: Advagraf/Astagraf XL 1:1 mg
with the trough about 10-25 % lower after conversion (conversion study: median -25 %), Envarsus
at 80 % of the IR total daily dose for a comparable trough.
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
def test_envarsus_80_percent_conversion_gives_a_comparable_trough(cl):
    """Envarsus label: 80 % of the IR daily dose once daily gives a comparable trough."""
    ir_trough, ir_auc = _steady_state("prograf", 3.0, 2, cl)
    daily = fm.converted_daily_dose(3.0, "envarsus")
    lcp_trough, lcp_auc = _steady_state("envarsus", daily, 1, cl)
    assert lcp_auc == pytest.approx(ir_auc, rel=1e-3)
    assert lcp_trough / ir_trough == pytest.approx(1.0, abs=0.2)
    # QD at equal exposure cannot beat the steadier BID trough.
    assert lcp_trough < ir_trough
