"""Mutation fuzzing of the bundled scenarios: a scenario that loads can be run, one that cannot
is refused with a :class:`~pksim.errors.ScenarioError` (never another exception), and a
refusal never echoes a huge value or a control character.

Each bundled scenario is mutated a fixed number of times by a seeded :class:`random.Random`
(deterministic): a key deleted or added, a number set to 0, -1, 1e308, NaN, inf, a huge or
subnormal number or a string, a string set to "", 10^5 characters, NUL or an ANSI escape
sequence, a table duplicated, a value of one type swapped for another. The mutant is written
back as TOML text and loaded as a file would be; every mutant that loads is run with 3
subjects.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pksim
from pksim.errors import MAX_KEY_CHARS, MAX_MESSAGE_CHARS
from pksim.scenario import ScenarioError, scenario_from_text

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))

MUTANTS_PER_SCENARIO = 200
"""Mutants of each bundled scenario (1600 in all: about 15 s with the runs)."""

FUZZ_SEED = 20261201
"""Seed of the mutations (each scenario draws from its own stream of this seed)."""

NUMBERS: tuple[Any, ...] = (
    0, -1, 1, 0.5, 1e308, -1e308, math.nan, math.inf, -math.inf, 5e-324, 2**63 - 1, 2**64,
    10**30, 10**400,
)  # fmt: skip
STRINGS: tuple[str, ...] = ("", " ", "x" * 10**5, "\x00", "\x1b[31mred\x1b[0m", "a\nb", "\u202e")
OTHERS: tuple[Any, ...] = (True, False, [], [1, 2], {}, {"x": 1}, datetime.time(7, 30))


GRAFTS: dict[str, Any] = {
    "output": {"profiles": True, "profile_step_h": 0.5},
    "variability": {
        "sampling_offset_min_h": -1.0,
        "sampling_offset_max_h": 1.0,
        "lloq_ng_per_ml": 2.0,
        "occasion_length_h": 12.0,
    },
    "parameters": {
        "name": "han2013",
        "overrides": {"typical.cl": 16.0, "iiv.cl": 40, "iov.f": 30, "residual.additive": 0.5},
    },
    "comedications": [
        {"drug": "rifampicin", "start_day": -20, "stop_day": 10, "fraction": 0.5},
        {"drug": "voriconazole", "start_day": 12},
        {"drug": "diltiazem_high_dose", "start_day": -math.inf, "stop_day": 3.5},
    ],
    "target": {"lower_ng_per_ml": 5, "upper_ng_per_ml": 10, "window": [2, 3]},
    "food": {
        "meals": [{"clock": "07:30", "kind": "high_fat"}, {"clock": "19:00"}],
        "fraction_against_rule": 0.3,
        "violation": "high_fat_meal",
    },
    "population": {
        "prednisone_mg_per_kg_per_day": 0.6,
        "prednisone_mg_per_day": 0,
        "prednisone_taper_step_mg": 5,
        "cyp3a5_expresser_fraction": 0.3,
        "liver_mild_impairment_fraction": 0.2,
    },
}
"""Valid tables grafted into a mutant (replacing its own), so that mutations also reach the
optional sections the bundled scenarios leave out."""

REGIMEN_GRAFTS: dict[str, Any] = {
    "missed_dose_probability": 0.1,
    "late_dose_max_h": 2.0,
    "late_dose_probability": 0.5,
    "max_mg_per_kg_per_day": 0.05,
    "max_daily_dose_mg": 2.5,
    "round_to_capsules": True,
    "formulation": "envarsus",
    "dose_clock_times": ["07:00", "19:00"],
    "weight_bands": [{"below_kg": 50, "mg_per_kg_per_day": 0.04}, {"daily_dose_mg": 2.5}],
}
"""Valid regimen keys grafted into one regimen of a mutant."""


# ----------------------------------------------------------------------------- TOML writing


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # nan, inf, -inf, 1e+308 and 5e-324 are TOML floats as written
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{_toml_string(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    raise TypeError(f"not a TOML value: {value!r}")


def to_toml(data: dict[str, Any]) -> str:
    """``data`` as TOML text: one ``key = value`` line per top-level key (inline tables)."""
    return "".join(f"{_toml_string(key)} = {_toml_value(value)}\n" for key, value in data.items())


# ----------------------------------------------------------------------------- mutations


def _slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) of a nested structure of dicts and lists."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        yield node, key
        if isinstance(value, dict | list):
            yield from _slots(value)


def _replacement(value: Any, rng: random.Random) -> Any:
    """A value to put in place of ``value``: mostly one of its own kind gone bad, sometimes
    one of another type."""
    if rng.random() < 0.3:
        return rng.choice((*NUMBERS, *STRINGS, *OTHERS))
    if isinstance(value, bool):
        return rng.choice((not value, 1, "true"))
    if isinstance(value, int | float):
        if rng.random() < 0.4:  # a plausible-looking change, which often loads: then it runs
            return type(value)(value * rng.choice((0.5, 2, 3, 10, 1.01, -1)))
        return rng.choice((*NUMBERS, str(value), [value]))
    if isinstance(value, str):
        return rng.choice((*STRINGS, value * 2, value.upper(), value[:-1], [value]))
    if isinstance(value, list):
        return rng.choice(([], value * 2, value[:1] * 72, {"x": value}))
    return rng.choice(({}, [value], "table", 1))


def mutate(data: dict[str, Any], rng: random.Random) -> None:
    """Apply one random mutation to ``data`` in place."""
    if rng.random() < 0.15:
        key = rng.choice(sorted(GRAFTS))
        data[key] = copy.deepcopy(GRAFTS[key])
        if rng.random() < 0.5:  # and spoil one value inside it
            container, inner = rng.choice(list(_slots(data[key])))
            container[inner] = _replacement(container[inner], rng)
        return
    regimens = data.get("regimens")
    if rng.random() < 0.1 and isinstance(regimens, list) and regimens:
        regimen, key = rng.choice(regimens), rng.choice(sorted(REGIMEN_GRAFTS))
        if isinstance(regimen, dict):
            regimen[key] = copy.deepcopy(REGIMEN_GRAFTS[key])
            return
    container, key = rng.choice(list(_slots(data)))
    value = container[key]
    action = rng.random()
    if action < 0.15:
        del container[key]
    elif action < 0.25 and isinstance(container, list):
        container.insert(key, copy.deepcopy(value))  # a table (or a value) twice
    elif action < 0.32 and isinstance(container, dict):
        container[rng.choice(("nme", "x" * 300, "\x1b[2J", "day"))] = rng.choice(NUMBERS)
    else:
        container[key] = _replacement(value, rng)


def mutants(path: Path, count: int) -> Iterator[tuple[int, str]]:
    """``count`` mutants of the scenario at ``path`` as (index, TOML text), each with 1 to 3
    mutations (mostly one)."""
    import tomllib

    original = tomllib.loads(path.read_text(encoding="utf-8"))
    rng = random.Random(f"{FUZZ_SEED}:{path.stem}")
    for index in range(count):
        data = copy.deepcopy(original)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            if data:
                mutate(data, rng)
        yield index, to_toml(data)


# ----------------------------------------------------------------------------- the fuzz test


def _check_refusal(error: ScenarioError) -> None:
    for line in str(error).splitlines():
        assert line.isprintable(), line
        assert len(line) <= MAX_KEY_CHARS + MAX_MESSAGE_CHARS + 10, len(line)
    assert len(error.problems) >= 1


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_mutated_scenarios_load_and_run_or_are_refused(path: Path):
    """Every mutant either loads and runs, or is refused with a ScenarioError whose message
    is printable and bounded; nothing else is raised."""
    refused = 0
    for index, text in mutants(path, MUTANTS_PER_SCENARIO):
        try:
            scenario = scenario_from_text(text, origin=f"{path.stem}-mutant-{index}.toml")
        except ScenarioError as error:
            _check_refusal(error)
            refused += 1
            continue
        result = pksim.run(scenario, n_subjects=3)
        assert result.sizes["subject"] == 3
    assert 0 < refused < MUTANTS_PER_SCENARIO


def test_toml_writer_round_trips_every_bundled_scenario():
    """The fuzzer's TOML writer writes what tomllib reads back (so mutants are real files)."""
    import tomllib

    for path in SCENARIOS:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert tomllib.loads(to_toml(data)) == data
    tricky = {"t": "\x00\x1b\x7f\n\u202e", "n": [math.inf, -math.inf, 5e-324, 10**30]}
    assert tomllib.loads(to_toml(tricky)) == tricky


REFUSED_THROUGH_THE_CLI = 20
"""Refused mutants of each bundled scenario that are also given to ``pksim run``."""


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_refused_mutant_writes_nothing_from_the_command_line(path: Path, tmp_path, capsys):
    """``pksim run`` on a refused file exits 2 with the loader's message and creates nothing:
    no output folder, no temporary beside it."""
    from pksim import cli

    checked = 0
    for index, text in mutants(path, MUTANTS_PER_SCENARIO):
        try:
            scenario_from_text(text)
        except ScenarioError:
            pass
        else:
            continue
        folder = tmp_path / f"mutant-{index}"
        folder.mkdir()
        (folder / "scenario.toml").write_text(text, encoding="utf-8")
        out = folder / "out"
        assert cli.main(["run", str(folder / "scenario.toml"), "-n", "3", "--out", str(out)]) == 2
        assert "problem" in capsys.readouterr().err
        assert sorted(p.name for p in folder.iterdir()) == ["scenario.toml"]
        checked += 1
        if checked == REFUSED_THROUGH_THE_CLI:
            break
    assert checked == REFUSED_THROUGH_THE_CLI
