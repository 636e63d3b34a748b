"""Population files: settings, overrides and their checks, and the registry's demands on them."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from pksim.library import populations

LN = "chinese-adult-ln"


def test_population_listing_and_settings():
    assert LN in populations.list_populations()
    table = populations.population_settings(LN)
    assert table["female_fraction"]["default"] == 0.9
    assert table["cyp3a5_expresser_fraction"]["default"] == pytest.approx(1 - 0.72**2)
    assert table["weight_kg_min"]["allowed"] == (10.0, 250.0)
    assert table["egfr_mean"]["units"] == "mL/min/1.73 m2"
    with pytest.raises(ValueError, match='did you mean "chinese-adult-ln"'):
        populations.load_population("chinese-adult")


@pytest.mark.parametrize(
    ("name", "female", "star3", "first_step_day"),
    [("chinese-adult-igan", 0.7, 0.72, 84.0), ("chinese-adult-imn", 0.37, 0.656, 84.0)],
)
def test_nephropathy_populations_take_weight_based_prednisone(name, female, star3, first_step_day):
    """IgAN (seeds/003) and IMN (NCT03549663): prednisone 0.5 mg/kg/day capped at 40 mg/day;
    the IMN file tapers it by 5 mg/day every 4 weeks from week 12 to 10 mg/day, IgAN keeps it."""
    assert name in populations.list_populations()
    table = populations.population_settings(name)
    assert table["female_fraction"]["default"] == female
    assert table["cyp3a5_expresser_fraction"]["default"] == pytest.approx(1 - star3**2)
    assert table["prednisone_mg_per_kg_per_day"]["default"] == 0.5
    assert table["prednisone_max_mg_per_day"]["default"] == 40.0
    assert table["prednisone_mg_per_day"]["default"] == 0.0
    assert table["prednisone_taper_first_step_day"]["default"] == first_step_day
    taper = table["prednisone_taper_step_mg"]["default"]
    assert taper == (5.0 if name == "chinese-adult-imn" else 0.0)
    for key, entry in table.items():
        assert "derived" in entry or entry["source"], key


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"femal_fraction": 0.5}, 'did you mean "female_fraction"'),
        ({"female_fraction": 1.5}, r"female_fraction = 1.5 is outside the allowed range \[0, 1\]"),
        ({"weight_kg_min": 80.0, "weight_kg_max": 60.0}, "weight_kg_min .* must not exceed"),
        ({"cyp3a5_expresser_fraction": 0.5, "cyp3a5_star3_allele_frequency": 0.7}, "not both"),
        (
            {"liver_elevated_enzymes_fraction": 0.7, "liver_severe_impairment_fraction": 0.5},
            "add up to 1.2",
        ),
        ({"prednisone_mg_per_day": 30.0, "prednisone_mg_per_kg_per_day": 0.5}, "not both"),
        ({"age_y_sd": 0.0, "age_y_mean": 70.0}, "must lie in"),
        ({"egfr_mean": 10.0, "egfr_sd": 1.0, "egfr_min": 100.0}, "holds almost none"),
        ({"weight_kg_mean_male": 240.0, "weight_kg_sd_male": 1.0}, "holds almost none"),
        ({"female_fraction": "half"}, "must be a finite number"),
    ],
)
def test_bad_overrides_name_the_key_and_the_allowed_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        populations.load_population(LN, overrides)


def test_expresser_fraction_override_sets_the_allele_frequency():
    pop = populations.load_population(LN, {"cyp3a5_expresser_fraction": 0.48})
    assert pop["cyp3a5_star3_allele_frequency"] == pytest.approx(math.sqrt(0.52))
    assert pop.overrides == {"cyp3a5_expresser_fraction": 0.48}
    assert any("Zhou" in r for r in populations.load_population(LN).references)


def test_population_taper_settings():
    pop = populations.load_population(
        LN, {"prednisone_mg_per_day": 40, "prednisone_taper_step_mg": 5}
    )
    taper = pop.prednisone_taper
    assert (taper.step_mg, taper.every_days, taper.first_step_day, taper.floor_mg) == (
        5,
        14,
        28,
        10,
    )
    assert populations.load_population(LN).prednisone_taper is None


def test_taper_rejects_bad_values():
    with pytest.raises(ValueError, match="every_days must be finite and > 0"):
        populations.PrednisoneTaper(step_mg=5, every_days=0)
    with pytest.raises(ValueError, match="step_mg"):
        populations.PrednisoneTaper(step_mg=-1)


@pytest.fixture
def population_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder holding the bundled files, served as the population folder; returns a function
    that writes population ``name`` with the LN file's text edited."""
    bundled = Path(str(populations._populations_dir()))
    shutil.copy(bundled / "_shared.toml", tmp_path / "_shared.toml")
    monkeypatch.setattr(populations, "_populations_dir", lambda: tmp_path)
    text = (bundled / f"{LN}.toml").read_text(encoding="utf-8")

    def write(name: str, old: str, new: str) -> str:
        assert old in text
        (tmp_path / f"{name}.toml").write_text(text.replace(old, new), encoding="utf-8")
        return name

    return write


def test_a_drawn_covariate_needs_its_distribution_settings(population_copy):
    """The registry draws eGFR truncated normal: a file without egfr_sd is refused, naming it."""
    name = population_copy("no-egfr-sd", "[settings.egfr_sd]", "[settings.egfr_spread]")
    with pytest.raises(ValueError, match=r"missing \[settings.egfr_sd\]: covariate 'egfr'"):
        populations.load_population(name)


def test_distribution_settings_carry_the_covariates_units(population_copy):
    name = population_copy("egfr-units", 'units = "mL/min/1.73 m2"', 'units = "mL/min/1.73m2"')
    with pytest.raises(ValueError, match=r"units must be 'mL/min/1.73 m2' .*'egfr'"):
        populations.load_population(name)


def test_shared_constant_by_key():
    assert populations.shared_constant("creatinine.umol_per_l_per_mg_per_dl").value == 88.4
    with pytest.raises(ValueError, match="shared constant"):
        populations.shared_constant("creatinine.umol")
