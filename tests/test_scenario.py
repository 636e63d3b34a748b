"""Scenario loader: DESIGN.md's example loads as written; every kind of mistake is refused with a
message naming the file, the dotted key and what is allowed, all mistakes at once."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest

import pksim
from pksim.scenario import ScenarioError, load_scenario, scenario_from_text

SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "scenarios"

# DESIGN.md, "The scenario file users write", verbatim (hence the long lines and en dashes).
DESIGN_EXAMPLE = """\
schema_version = 1
title = "LN induction: 3 mg once daily vs 1.5 mg twice daily vs consensus weight bands"
subjects = 10000
days = 28
seed = 20261121

[population]
name = "chinese-adult-ln"            # a bundled cohort definition
cyp3a5_expresser_fraction = 0.48     # any covariate setting can be overridden here
prednisone_mg_per_day = 30           # co-medication present in the whole cohort

[parameters]
name = "default"                     # a bundled, cited parameter set

[[regimens]]
name = "3 mg QD"
daily_dose_mg = 3
doses_per_day = 1

[[regimens]]
name = "1.5 mg BID"
daily_dose_mg = 3
doses_per_day = 2

[[regimens]]
name = "consensus weight bands, BID"
doses_per_day = 2
weight_bands = [ { below_kg = 60, daily_dose_mg = 2 }, { daily_dose_mg = 3 } ]

[[regimens]]
name = "0.05 mg/kg/day BID, rounded to 0.5 mg"
mg_per_kg_per_day = 0.05
doses_per_day = 2
round_to_mg = 0.5

[food]
condition = "fasted"                 # fasted | 1h_before_meal | 2h_after_meal | with_meal | high_fat_meal | ...

[[comedications]]
drug = "voriconazole"                # from the bundled interaction catalogue
start_day = 15
stop_day = 22                        # optional: absent = until the end

[target]
phase = "induction"                  # induction 6–10 ng/mL, maintenance 3–6; renal impairment ≤ 4 applies per subject
"""  # noqa: E501, RUF001

VALID = """\
schema_version = 1
title = "valid base"
subjects = 100
days = 28
seed = 1

[population]
name = "chinese-adult-ln"

[parameters]
name = "default"

[[regimens]]
name = "1.5 mg BID"
daily_dose_mg = 3
doses_per_day = 2

[food]
condition = "fasted"

[target]
phase = "induction"
"""


def _load_error(text: str, origin: str = "bad.toml") -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_text(text, origin=origin)
    return caught.value


def _edit(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


# --------------------------------------------------------------------------- the DESIGN example


def test_bundled_ln_induction_is_the_design_example():
    """``scenarios/ln-induction.toml`` holds the same TOML as DESIGN.md's example."""
    bundled = tomllib.loads((SCENARIOS_DIR / "ln-induction.toml").read_text(encoding="utf-8"))
    assert bundled == tomllib.loads(DESIGN_EXAMPLE)


def test_design_example_yields_the_expected_objects():
    s = scenario_from_text(DESIGN_EXAMPLE, origin="design.toml")
    assert (
        s.title == "LN induction: 3 mg once daily vs 1.5 mg twice daily vs consensus weight bands"
    )
    assert (s.subjects, s.days, s.seed, s.schema_version) == (10000, 28, 20261121, 1)
    assert s.origin == "design.toml"
    assert s.text == DESIGN_EXAMPLE
    assert s.patients is None

    assert s.population.name == "chinese-adult-ln"
    assert dict(s.population.overrides) == {
        "cyp3a5_expresser_fraction": 0.48,
        "prednisone_mg_per_day": 30.0,
    }
    assert s.population["prednisone_mg_per_day"] == 30.0
    # Hardy-Weinberg: expressers = 1 - q^2, so q(*3) = sqrt(1 - 0.48).
    assert s.population["cyp3a5_star3_allele_frequency"] == pytest.approx(math.sqrt(0.52))
    assert s.parameter_set.name == "default"
    assert dict(s.parameter_overrides) == {}

    assert [r.name for r in s.regimens] == [
        "3 mg QD",
        "1.5 mg BID",
        "consensus weight bands, BID",
        "0.05 mg/kg/day BID, rounded to 0.5 mg",
    ]
    qd, bid, bands, per_kg = s.regimens
    assert (qd.daily_dose_mg, qd.doses_per_day, qd.dose_clock_times) == (3.0, 1, ("08:00",))
    assert (bid.daily_dose_mg, bid.doses_per_day) == (3.0, 2)
    assert bid.dose_clock_times == ("08:00", "20:00")
    assert [(b.below_kg, b.daily_dose_mg) for b in bands.weight_bands] == [(60, 2), (None, 3)]
    assert bands.daily_dose_mg is None and bands.mg_per_kg_per_day is None
    assert (per_kg.mg_per_kg_per_day, per_kg.round_to_mg, per_kg.doses_per_day) == (0.05, 0.5, 2)
    assert all(r.formulation == "prograf" for r in s.regimens)
    assert all(r.missed_dose_probability == 0.0 for r in s.regimens)

    assert s.food.condition == "fasted"
    assert s.food.meals == ()
    assert s.food.fraction_against_rule == 0.0

    assert len(s.comedications) == 1
    plan = s.comedications[0]
    assert (plan.course.drug, plan.course.start_day, plan.course.stop_day) == (
        "voriconazole",
        15,
        22,
    )
    assert plan.fraction == 1.0

    assert s.target.phase == "induction"
    assert (s.target.target.lower, s.target.target.upper) == (6.0, 10.0)
    assert s.target.renal_ceiling is True
    assert s.target.day is None and s.target.window is None
    assert s.output.profiles is False


def test_bundled_name_and_path_load_the_same_scenario():
    by_name = load_scenario("ln-induction")
    by_path = load_scenario(SCENARIOS_DIR / "ln-induction.toml")
    assert by_name.replace(origin="", text="") == by_path.replace(origin="", text="")
    assert by_name.text == (SCENARIOS_DIR / "ln-induction.toml").read_text(encoding="utf-8")


def test_defaults_of_a_minimal_scenario():
    """Only [[regimens]] is required; the defaults are those scenarios/README.md documents."""
    s = scenario_from_text('[[regimens]]\nname = "A"\ndaily_dose_mg = 2\ndoses_per_day = 1\n')
    assert (s.subjects, s.days, s.seed, s.title) == (1000, 28, 0, "pksim scenario")
    assert s.population.name == "chinese-adult-ln"
    assert dict(s.population.overrides) == {}
    assert s.parameter_set.name == "default"
    assert s.variability.typical_only is False
    assert s.variability.occasion_length_h == 24.0
    assert s.variability.lloq_ng_per_ml == 1.0
    assert (s.variability.sampling_offset_min_h, s.variability.sampling_offset_max_h) == (0, 0)
    assert s.food.condition == "fasted"
    assert (s.food.fraction_against_rule, s.food.violation) == (0.0, "with_meal")
    assert s.comedications == ()
    assert s.target.phase == "induction" and s.target.renal_ceiling is True
    assert (s.output.profiles, s.output.profile_step_h) == (False, 1.0)


def test_scenario_text_is_data_never_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Strings that look like code stay strings; nothing is evaluated or written."""
    monkeypatch.chdir(tmp_path)  # a short relative path: a regimen name has at most 100 chars
    marker = tmp_path / "executed"
    code = "__import__('pathlib').Path('executed').touch()"
    text = _edit('title = "valid base"', f"title = {json.dumps(code)}")
    text = text.replace('name = "1.5 mg BID"', f"name = {json.dumps(code)}")
    s = scenario_from_text(text)
    assert s.title == code
    assert s.regimens[0].name == code
    assert not marker.exists()


# --------------------------------------------------------------------------- single mistakes

MISTAKES = [
    # (id, scenario text, fragments the message must contain)
    (
        "top-level key typo",
        _edit('title = "valid base"', 'titel = "valid base"'),
        [
            """titel: unknown key 'titel' (did you mean "title"?)""",
            "valid: comedications, days, food, output",
        ],
    ),
    (
        "unknown drug",
        VALID + '[[comedications]]\ndrug = "voriconazol"\n',
        ["comedications[0].drug", 'did you mean "voriconazole"', "rifampicin"],
    ),
    (
        "unknown population",
        _edit('name = "chinese-adult-ln"', 'name = "chinese-adults-ln"'),
        [
            "population.name",
            "unknown population 'chinese-adults-ln'",
            'did you mean "chinese-adult-ln"',
        ],
    ),
    (
        "unknown parameter set",
        _edit('name = "default"', 'name = "defualt"'),
        [
            "parameters.name",
            'did you mean "default"',
            "valid: andrews2019, bergmann2014, default, han2013",
        ],
    ),
    (
        "unknown food condition",
        _edit('condition = "fasted"', 'condition = "fastd"'),
        ["food.condition", "unknown food condition 'fastd'", "1h_before_meal", "with_meal"],
    ),
    (
        "unknown target phase",
        _edit('phase = "induction"', 'phase = "inducton"'),
        ["target.phase", 'did you mean "induction"', "valid: induction, maintenance"],
    ),
    (
        "weight of -5 kg",
        _edit('name = "chinese-adult-ln"', 'name = "chinese-adult-ln"\nweight_kg_mean_female = -5'),
        ["population.weight_kg_mean_female", "must be >= 10 kg and <= 250 kg", "got -5"],
    ),
    (
        "dose in grams",
        _edit("daily_dose_mg = 3", "daily_dose_mg = 3000"),
        ["regimens[0].daily_dose_mg", "implausible", "up to 100 mg/day", "not ug or g"],
    ),
    (
        "wrong type (string for a number)",
        _edit("days = 28", 'days = "28"'),
        ["days: must be a whole number", "'28'"],
    ),
    (
        "wrong type (fraction of a dose per day)",
        _edit("doses_per_day = 2", "doses_per_day = 1.5"),
        ["regimens[0].doses_per_day: must be a whole number 1..4", "1.5"],
    ),
    (
        "missing regimens",
        VALID.split("[[regimens]]")[0] + '[food]\ncondition = "fasted"\n',
        ["regimens: at least one [[regimens]] table is required"],
    ),
    (
        "duplicate regimen names",
        _edit(
            "[food]",
            '[[regimens]]\nname = "1.5 mg BID"\ndaily_dose_mg = 2\ndoses_per_day = 2\n\n[food]',
        ),
        ["regimens: regimen names must be unique", "'1.5 mg BID'"],
    ),
    (
        "window outside the days",
        _edit('phase = "induction"', 'phase = "induction"\nwindow = [21, 35]'),
        ["target.window", "1 <= first <= last <= 28", "[21, 35]"],
    ),
    (
        "both day and window",
        _edit('phase = "induction"', 'phase = "induction"\nday = 28\nwindow = [21, 28]'),
        ["target: give either day or window, not both"],
    ),
    (
        "TOML syntax error",
        _edit("[food]", "[food"),
        ["is not valid TOML", "line 18"],
    ),
    (
        "schema_version 2",
        _edit("schema_version = 1", "schema_version = 2"),
        ["schema_version: must be 1", "got 2"],
    ),
    (
        "regimen key typo",
        _edit("doses_per_day = 2", "doses_per_day = 2\nround_to_mgs = 0.5"),
        ["regimens[0].round_to_mgs", 'did you mean "round_to_mg"'],
    ),
    (
        "two ways of dosing",
        _edit("daily_dose_mg = 3", "daily_dose_mg = 3\nmg_per_kg_per_day = 0.05"),
        ["regimens[0]: give exactly one of daily_dose_mg, mg_per_kg_per_day or weight_bands"],
    ),
    (
        "prednisone given as a co-medication",
        VALID + '[[comedications]]\ndrug = "prednisone"\n',
        ["comedications[0].drug", "population.prednisone_mg_per_day"],
    ),
    (
        "drug group instead of one entry",
        VALID + '[[comedications]]\ndrug = "fluconazole"\n',
        ["comedications[0].drug", "fluconazole_100mg, fluconazole_200mg"],
    ),
    (
        "co-medication starting after the last day",
        VALID + '[[comedications]]\ndrug = "rifampicin"\nstart_day = 40\n',
        ["comedications[0].start_day: must be <= days (28)"],
    ),
    (
        "fraction above 1",
        VALID + '[[comedications]]\ndrug = "rifampicin"\nfraction = 1.5\n',
        ["comedications[0].fraction: must be >= 0 and <= 1"],
    ),
    (
        "prolonged release twice daily",
        _edit("doses_per_day = 2", 'doses_per_day = 2\nformulation = "advagraf"'),
        ["regimens[0].doses_per_day", "advagraf is taken 1 time(s) a day"],
    ),
    (
        "unknown formulation",
        _edit("doses_per_day = 2", 'doses_per_day = 2\nformulation = "prograff"'),
        ["regimens[0].formulation", 'did you mean "prograf"'],
    ),
    (
        "bad meal clock",
        _edit('condition = "fasted"', 'meals = [{ clock = "25:00", kind = "standard" }]'),
        ["food.meals[0].clock", '"HH:MM"', "'25:00'"],
    ),
    (
        "condition and meals together",
        _edit('condition = "fasted"', 'condition = "fasted"\nmeals = [{ clock = "07:30" }]'),
        ["food: give either condition or meals, not both"],
    ),
    (
        "unknown variability setting",
        VALID + "[variability]\nloq_ng_per_ml = 1\n",
        ["variability.loq_ng_per_ml", 'did you mean "lloq_ng_per_ml"'],
    ),
    (
        "unknown parameter override",
        _edit('name = "default"', 'name = "default"\n[parameters.overrides]\n"typical.cll" = 16'),
        ["parameters.overrides", "'typical.cll'", "typical.cl"],
    ),
    (
        "population override typo",
        _edit('name = "chinese-adult-ln"', 'name = "chinese-adult-ln"\negfr_mena = 45'),
        ["""population.egfr_mena: unknown key 'egfr_mena' (did you mean "egfr_mean"?)"""],
    ),
    (
        "negative seed",
        _edit("seed = 1", "seed = -1"),
        ["seed: must be >= 0", "-1"],
    ),
    (
        "section given as a value",
        _edit('[population]\nname = "chinese-adult-ln"\n', 'population = "chinese-adult-ln"\n'),
        ["population: must be a table ([population])"],
    ),
    (
        "custom target range upside down",
        _edit('phase = "induction"', "lower_ng_per_ml = 8\nupper_ng_per_ml = 5"),
        ["target", "lower must be below upper"],
    ),
    (
        "co-medication start day as text",
        VALID + '[[comedications]]\ndrug = "rifampicin"\nstart_day = "3"\n',
        ["comedications[0].start_day: must be a number of days from -3650 to 3650, or -inf", "'3'"],
    ),
    (
        "co-medication without a drug",
        VALID + "[[comedications]]\nstart_day = 3\n",
        ["comedications[0].drug: required"],
    ),
    (
        "co-medication stopped before it starts",
        VALID + '[[comedications]]\ndrug = "rifampicin"\nstart_day = 9\nstop_day = 4\n',
        ["comedications[0].stop_day: must be >= start_day (9), got 4"],
    ),
    (
        "unknown meal kind",
        _edit('condition = "fasted"', 'meals = [{ clock = "07:30", kind = "brunch" }]'),
        ["food.meals[0].kind: unknown meal kind 'brunch'", "valid: high_carb, high_fat, standard"],
    ),
    (
        "parameter override out of range",
        _edit('name = "default"', 'name = "default"\n[parameters.overrides]\n"typical.cl" = -16'),
        ["parameters.overrides.typical.cl: must be > 0", "got -16"],
    ),
    # Each of these passed validation and failed later, or was silently accepted (issue 15).
    (
        "seed beyond 64 bits",
        _edit("seed = 1", "seed = 18446744073709551616"),
        ["seed: must be >= 0 and <= 18446744073709551615, got 18446744073709551616"],
    ),
    (
        "NUL in the title",
        _edit('title = "valid base"', 'title = "valid\\u0000base"'),
        ["title: must hold printable characters only", "found NUL at position 5"],
    ),
    (
        "escape sequence in a regimen name",
        _edit('name = "1.5 mg BID"', 'name = "\\u001b[31m1.5 mg BID"'),
        ["regimens[0].name: must hold printable characters only", "ESC", r"'\x1b[31m1.5 mg BID'"],
    ),
    (
        "tab in the title",
        _edit('title = "valid base"', 'title = "valid\\tbase"'),
        ["title: must hold printable characters only", "tab at position 5"],
    ),
    (
        "overlapping courses of one drug",
        VALID
        + '[[comedications]]\ndrug = "voriconazole"\nstart_day = 3\n'
        + '[[comedications]]\ndrug = "vfend"\nstart_day = 10\nstop_day = 12\n',
        [
            "comedications[1]: voriconazole days 10 to 12 overlaps comedications[0] "
            "(from day 3 to the end); courses of the same drug must not overlap"
        ],
    ),
    (
        "dose below the dose resolution",
        _edit("daily_dose_mg = 3", "daily_dose_mg = 5e-324"),
        ["regimens[0].daily_dose_mg: must be at least 0.001 mg/day (the dose resolution"],
    ),
    (
        "weight band edge beyond human weights",
        _edit(
            "daily_dose_mg = 3",
            "weight_bands = [{ below_kg = 1e300, daily_dose_mg = 2 }, { daily_dose_mg = 3 }]",
        ),
        ["regimens[0].weight_bands[0].below_kg: must be > 2 kg and <= 300 kg", "got 1e+300"],
    ),
    (
        "co-medication course at the edge of time",
        VALID + '[[comedications]]\ndrug = "rifampicin"\nstart_day = -inf\nstop_day = -1e300\n',
        ["comedications[0].stop_day: must be a number of days from -3650 to 3650, or absent"],
    ),
    (
        "72 meals at one clock time",
        _edit('condition = "fasted"', "meals = [" + ", ".join(['{ clock = "08:00" }'] * 72) + "]"),
        ["food.meals: at most 8 meals a day, got 72"],
    ),
    (
        "two meals at one clock time",
        _edit('condition = "fasted"', 'meals = [{ clock = "08:00" }, { clock = "08:00" }]'),
        [
            "food.meals[1].clock: meals must have distinct clock times; "
            "food.meals[0] is also at 08:00"
        ],
    ),
    (
        "rounding step the capsules cannot make",
        _edit("daily_dose_mg = 3", "daily_dose_mg = 3\nround_to_mg = 0.3"),
        [
            "regimens[0].round_to_mg: 0.3 mg cannot be made from the prograf strengths "
            "(0.5, 1, 5 mg)"
        ],
    ),
    (
        "integer too long for a float",
        _edit("daily_dose_mg = 3", "daily_dose_mg = 1" + "0" * 400),
        [
            "regimens[0].daily_dose_mg: must be a finite number in mg/day, "
            "got an integer of 1,329 bits"
        ],
    ),
    (
        "integer too long for TOML",
        _edit("seed = 1", "seed = " + "9" * 5000),
        ["bad.toml: 1 problem", "holds an integer too long to read", "(4300 digits)"],
    ),
]


@pytest.mark.parametrize(
    ("text", "fragments"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_mistake_is_refused_with_a_clear_message(text: str, fragments: list[str]):
    error = _load_error(text)
    message = str(error)
    assert isinstance(error, ValueError)
    assert message.startswith("bad.toml: ")
    for fragment in fragments:  # case-insensitive: "Did you mean" and "did you mean" both do
        assert fragment.lower() in message.lower(), f"{fragment!r} not in:\n{message}"


def test_a_huge_value_is_never_echoed_and_escapes_stay_escaped():
    """A 1 MB title, name or key: the message stays short, printable and names the key."""
    huge = "\\u001b[2J" + "x" * 10**6
    text = _edit('title = "valid base"', f'title = "{huge}"')
    text = text.replace('name = "1.5 mg BID"', f'name = "{huge}"')
    text = text.replace("[target]\n", f'[target]\n"{huge}" = 1\n')
    message = str(_load_error(text))
    assert len(message) < 3000
    assert all(line.isprintable() for line in message.splitlines())
    assert "title: must be at most 200 characters" in message
    assert "regimens[0].name: must be at most 100 characters" in message
    assert r"target.\x1b[2Jxxx" in message  # the unknown key, escaped and cut


def test_the_run_refuses_what_the_loader_refuses():
    """Python callers go through the same limits as the file (issue 15)."""
    scenario = scenario_from_text(VALID)
    with pytest.raises(ValueError, match="n_subjects must be a whole number from 1 to 100,000,000"):
        pksim.run(scenario, n_subjects=100_000_001)
    for bad in (True, 3.0, "3"):
        with pytest.raises(ValueError, match="n_subjects must be a whole number"):
            pksim.run(scenario, n_subjects=bad)
    with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 2\*\*64 - 1"):
        pksim.run(scenario, n_subjects=2, seed=2**64)


def test_at_least_fifteen_kinds_of_mistakes_are_covered():
    assert len({m[0] for m in MISTAKES}) >= 15


def test_unknown_bundled_scenario_gets_a_suggestion():
    with pytest.raises(
        ScenarioError, match=r'did you mean "ln-induction"\?.*valid: .*ln-induction'
    ):
        load_scenario("ln-inductoin")


def test_missing_csv_file_is_named_relative_to_the_scenario(tmp_path: Path):
    path = tmp_path / "cohort.toml"
    path.write_text(
        _edit('name = "chinese-adult-ln"', 'name = "chinese-adult-ln"\npatients_csv = "no.csv"'),
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert f"population.patients_csv: no such file: {tmp_path / 'no.csv'}" in message


def test_csv_patients_replace_the_virtual_cohort(tmp_path: Path):
    """A relative CSV path resolves against the scenario's folder; one subject per row."""
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,age_y,weight_kg,hematocrit_pct,cyp3a5,egfr\n"
        "P1,female,30,55,33,*3/*3,100\n"
        "P2,male,45,72,41,*1/*3,80\n"
        "P3,F,52,48,30,*1/*1,35\n",
        encoding="utf-8",
    )
    path = tmp_path / "cohort.toml"
    path.write_text(
        _edit(
            'name = "chinese-adult-ln"', 'name = "chinese-adult-ln"\npatients_csv = "patients.csv"'
        ),
        encoding="utf-8",
    )
    s = load_scenario(path)
    assert s.subjects == 3
    assert list(s.patients.weight_kg) == [55.0, 72.0, 48.0]


def test_csv_with_unknown_genotypes_loads(tmp_path: Path):
    (tmp_path / "patients.csv").write_text(
        "sex,age_y,weight_kg,hematocrit_pct,cyp3a5,egfr\nfemale,30,55,33,unknown,90\n",
        encoding="utf-8",
    )
    path = tmp_path / "cohort.toml"
    path.write_text(
        _edit(
            'name = "chinese-adult-ln"', 'name = "chinese-adult-ln"\npatients_csv = "patients.csv"'
        ),
        encoding="utf-8",
    )
    assert load_scenario(path).subjects == 1


def test_violation_must_break_the_rule():
    text = _edit('condition = "fasted"', 'condition = "fasted"\nviolation = "fasted"')
    assert "food.violation" in str(_load_error(text))


def test_every_bad_population_override_is_reported_under_its_key():
    text = _edit(
        'name = "chinese-adult-ln"',
        'name = "chinese-adult-ln"\nweight_kg_min = -5\negfr_mean = 500',
    )
    message = str(_load_error(text))
    assert "population.weight_kg_min" in message
    assert "population.egfr_mean" in message


# --------------------------------------------------------------------------- many mistakes


def test_every_mistake_of_a_file_is_reported_in_one_error(tmp_path: Path):
    text = """\
schema_version = 2
titel = "typo"
days = 28

[population]
name = "chinese-adult-ln"
egfr_mena = 45

[parameters]
name = "defualt"

[[regimens]]
name = "A"
daily_dose_mg = 3
doses_per_day = 2

[[regimens]]
name = "A"
daily_dose_mg = 2
doses_per_day = 1

[[regimens]]
name = "B"
daily_dose_mg = 3000
doses_per_day = 2

[food]
condition = "fastd"

[[comedications]]
drug = "voriconazol"

[target]
phase = "inducton"
window = [21, 35]
"""
    path = tmp_path / "many mistakes.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    expected = [
        "schema_version: must be 1",
        "titel: unknown key",
        "population.egfr_mena: unknown key",
        "parameters.name: unknown parameter set 'defualt'",
        "regimens[2].daily_dose_mg: 3000 mg/day is implausible",
        "regimens: regimen names must be unique",
        "food.condition: unknown food condition 'fastd'",
        "comedications[0].drug: unknown co-medication 'voriconazol'",
        "target.phase: unknown target phase 'inducton'",
        "target.window: must be [first_day, last_day]",
    ]
    message = str(error)
    assert message.startswith(f"{path}: {len(expected)} problems:")
    assert error.origin == str(path)
    assert len(error.problems) == len(expected)
    for fragment in expected:
        assert sum(fragment in problem for problem in error.problems) == 1, fragment
        assert fragment in message
