"""The validation report (validation/): every observation has a recipe and a resolvable
source, the scoring rule does what it says, recipes agree with closed-form answers, and
docs/validation.md states the score the current code gives."""

import math
import tomllib
from pathlib import Path

import pytest

from pksim.library.parameters import load_parameter_set
from validation import report
from validation.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def observations():
    return report.load_observations()


def test_every_observation_has_a_recipe_and_a_cited_source(observations):
    refs = tomllib.loads((ROOT / "validation" / "references.toml").read_text(encoding="utf-8"))
    assert len(observations) >= 40
    assert len({o.source for o in observations}) >= 20
    assert {o.id for o in observations} == set(RECIPES)
    for o in observations:
        assert o.kind in ("set", "check"), o.id
        assert o.evidence in ("V", "I", "D"), o.id
        assert o.source in refs, f"{o.id}: source {o.source} not in validation/references.toml"


def _obs(**changes):
    base = dict(
        id="x",
        quantity="q",
        population="p",
        regimen="r",
        statistic="mean",
        value=2.0,
        units="1",
        source="s",
        location="l",
        evidence="V",
        kind="check",
    )
    return report.Observation(**{**base, **changes})


def test_scoring_rule():
    assert report.is_inside(_obs(range=(1.0, 3.0)), 3.0)
    assert not report.is_inside(_obs(range=(1.0, 3.0)), 3.01)
    assert report.is_inside(_obs(range=(-2.5, -1.5)), -2.0)
    assert report.is_inside(_obs(statistic="lower bound"), 20.0)
    assert not report.is_inside(_obs(statistic="lower bound"), 1.99)
    assert report.is_inside(_obs(), 2.0 * 1.2499) and report.is_inside(_obs(), 2.0 / 1.2499)
    assert not report.is_inside(_obs(), 2.0 * 1.2501)
    # Percent changes are compared as ratios: +100 % vs +150 % is 2.0 vs 2.5 (x1.25).
    increase = {"units": "%", "value": 100.0, "quantity": "C0/D percent increase"}
    assert report.is_inside(_obs(**increase), 149.9)
    assert not report.is_inside(_obs(**increase), 150.2)
    # A percentage that is not a change (a CV) is compared as it is.
    assert not report.is_inside(_obs(units="%", value=20.5, quantity="trough CV"), 36.9)
    assert report.is_inside(_obs(units="%", value=20.5, quantity="trough CV"), 23.6)
    assert not report.is_inside(_obs(value=2.0), -1.0)


@pytest.mark.parametrize("set_name", report.PARAMETER_SETS)
def test_recipes_agree_with_closed_form_answers(set_name):
    """At steady state, AUC over a dosing interval is F·dose/CL whatever the structure, so
    formulation and prednisone ratios are ratios of F; a CL/F ratio is the catalogue's."""
    pset = load_parameter_set(set_name)
    # Envarsus vs IR at the same daily dose: AUC ratio = relative F of LCP = 1 / 0.7 (EU SmPC
    # 1:0.7, stored rounded as 1.43).
    assert RECIPES["gaber2013-lcpt-conversion-ratio"].predict(pset) == pytest.approx(
        1 / 1.43, rel=1e-4
    )
    withdrawal = RECIPES["vanduijnhoven2003-pred5-withdrawal-auc"].predict(pset)
    emax = [e for e in pset.effects_on("f") if e.covariate == "prednisone_mg_per_day"]
    expected = 1.0
    if emax:
        t = {k: v.value for k, v in emax[0].terms.items()}
        expected = 1.0 / (1.0 - t["emax"] * 5.0 / (5.0 + t["ed50"]))
    assert withdrawal == pytest.approx(expected, rel=1e-4)
    assert RECIPES["zuo2013-amlodipine-expressers"].predict(pset) == pytest.approx(2.2)
    # AUC0-12 per mg at steady state = 1 / CL (ng·h/mL per mg: 1000 / CL in L/h).
    auc = RECIPES["miura2011-aucd-nonexpresser"].predict(pset)
    assert math.isfinite(auc) and auc > 0


def test_report_states_the_current_score():
    """docs/validation.md was rebuilt after the last change of a set, a recipe or an
    observation: its first lines give the score computed now (run `python -m validation`)."""
    observations = report.load_observations()
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    for name in report.PARAMETER_SETS:
        inside, _, total = report._fraction(report.score(observations, name))
        assert f"**{name}: {inside} of {total} inside" in text, "run `python -m validation`"
