"""Scenario files: strict TOML -> frozen :class:`Scenario`, every mistake reported at once.

The format is documented in ``scenarios/README.md``; DESIGN.md's example loads as written.
Nothing in a scenario is ever executed: it is parsed with :mod:`tomllib` and every value is
checked against the bundled catalogues (populations, parameter sets, drugs, food conditions,
formulations, targets). Errors name the file, the dotted key and what is allowed; unknown keys
get a "did you mean".
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pksim import cohort
from pksim.checks import (
    Problems,
    check_keys,
    get_bool,
    get_number,
    get_str,
    get_table,
    get_tables,
)
from pksim.cohort.covariates import Covariates
from pksim.cohort.variability import VariabilitySettings
from pksim.dosing.regimen import Regimen
from pksim.library import food, parameters, populations, targets
from pksim.modifiers import interactions

SCHEMA_VERSION = 1
MAX_SUBJECTS = 100_000_000
MAX_DAYS = 366
MAX_COMEDICATIONS = 8
"""Co-medications per scenario (each has its own column of cohort-assignment draws)."""
DEFAULT_SCENARIO = "ln-induction"

TOP_KEYS = (
    "schema_version",
    "title",
    "subjects",
    "days",
    "seed",
    "population",
    "parameters",
    "variability",
    "regimens",
    "food",
    "comedications",
    "target",
    "output",
)
POPULATION_KEYS = ("name", "patients_csv")
PARAMETER_KEYS = ("name", "overrides")
FOOD_KEYS = ("condition", "meals", "fraction_against_rule", "violation")
MEAL_KEYS = ("clock", "kind")
COMEDICATION_KEYS = ("drug", "start_day", "stop_day", "fraction")
TARGET_KEYS = ("phase", "lower_ng_per_ml", "upper_ng_per_ml", "day", "window", "renal_ceiling")
OUTPUT_KEYS = ("profiles", "profile_step_h")


class ScenarioError(ValueError):
    """Every problem found in a scenario, one per line, under the file's name."""

    def __init__(self, origin: str, problems: list[str]):
        self.origin = origin
        self.problems = list(problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{origin}: {count}:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True, slots=True)
class FoodPlan:
    """When doses are taken relative to meals.

    Either one ``condition`` for every dose, or daily ``meals`` from which each dose's condition
    follows by its clock time (:func:`pksim.food.conditions_from_schedule`). A fraction of the
    doses that follow the rule is taken under ``violation`` instead.
    """

    condition: str | None = "fasted"
    meals: tuple[food.Meal, ...] = ()
    fraction_against_rule: float = 0.0
    violation: str = "with_meal"


@dataclass(frozen=True, slots=True)
class ComedicationPlan:
    """A co-medication course given to a ``fraction`` of the cohort (drawn per subject)."""

    course: interactions.CoMedication
    fraction: float = 1.0


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """The target range and when attainment is judged (``day`` or a ``window`` of days)."""

    target: targets.TargetRange
    phase: str | None
    renal_ceiling: bool = True
    day: int | None = None
    window: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """Optional outputs: concentration-time ``profiles`` every ``profile_step_h`` hours."""

    profiles: bool = False
    profile_step_h: float = 1.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario. Build it with :func:`load_scenario` or :func:`scenario_from_text`."""

    title: str
    subjects: int
    days: int
    seed: int
    population: populations.Population
    parameter_set: parameters.ParameterSet
    variability: VariabilitySettings
    regimens: tuple[Regimen, ...]
    food: FoodPlan
    comedications: tuple[ComedicationPlan, ...]
    target: TargetPlan
    output: OutputPlan
    patients: Covariates | None = None
    """Covariates of real patients (from ``population.patients_csv``; unknown genotypes are
    imputed by the run, with its seed), or None."""
    text: str = ""
    origin: str = "<scenario>"
    schema_version: int = SCHEMA_VERSION
    parameter_overrides: Mapping[str, float] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some fields changed (the fields are not re-validated).

        The scenario text kept for provenance gets a leading comment naming the changed
        fields, since it no longer describes the run by itself.
        """
        if "text" not in changes and changes:
            note = f"# changed in Python after loading: {', '.join(sorted(changes))}\n"
            changes["text"] = note + self.text
        return dataclasses.replace(self, **changes)


def bundled_scenarios_dir() -> Path:
    """The ``scenarios/`` folder shipped inside the package."""
    return Path(__file__).parent / "data" / "scenarios"


def list_scenarios() -> list[str]:
    """Names of the bundled scenarios (``pksim run NAME`` accepts them)."""
    return sorted(p.stem for p in bundled_scenarios_dir().glob("*.toml"))


def scenario_path(name_or_path: str | Path) -> Path:
    """A scenario file: an existing path, or the name of a bundled scenario."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = bundled_scenarios_dir() / f"{name_or_path}.toml"
    if bundled.is_file():
        return bundled
    from pksim.checks import unknown_name_message

    raise ScenarioError(
        str(name_or_path),
        [
            "no such file, and "
            + unknown_name_message("bundled scenario", str(name_or_path), list_scenarios())
        ],
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (or a bundled scenario by name)."""
    path = scenario_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(str(path), [f"cannot be read: {error}"]) from None
    return scenario_from_text(text, origin=str(path), base_dir=path.parent)


def scenario_from_text(
    text: str, *, origin: str = "<scenario>", base_dir: str | Path = "."
) -> Scenario:
    """Validate a scenario given as TOML text; relative paths resolve against ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(origin, [f"is not valid TOML: {error}"]) from None
    return scenario_from_mapping(data, origin=origin, base_dir=base_dir, text=text)


def scenario_from_mapping(
    data: Mapping[str, Any],
    *,
    origin: str = "<scenario>",
    base_dir: str | Path = ".",
    text: str = "",
) -> Scenario:
    """Validate a scenario given as a mapping (the parsed TOML)."""
    problems = Problems()
    check_keys(data, TOP_KEYS, "", problems)
    version = get_number(data, "schema_version", "", problems, default=SCHEMA_VERSION, integer=True)
    if version is not None and version != SCHEMA_VERSION:
        problems.add("schema_version", f"must be {SCHEMA_VERSION} (this pksim), got {version}")
    title = get_str(data, "title", "", problems, default="pksim scenario")
    subjects = get_number(
        data, "subjects", "", problems, default=1000, minimum=1, maximum=MAX_SUBJECTS, integer=True
    )
    days = get_number(
        data,
        "days",
        "",
        problems,
        default=28,
        minimum=1,
        maximum=MAX_DAYS,
        integer=True,
        units="days",
    )
    seed = get_number(data, "seed", "", problems, default=0, minimum=0, integer=True)

    population, patients, csv_path = _population(
        get_table(data, "population", "", problems), Path(base_dir), problems
    )
    parameter_set, overrides = _parameters(get_table(data, "parameters", "", problems), problems)
    if patients is not None and parameter_set is not None:
        for line in cohort.patient_problems(patients, parameter_set, origin=str(csv_path)):
            problems.add("population.patients_csv", line)
    variability_table = get_table(data, "variability", "", problems)
    variability_overrides = _settings_overrides(
        variability_table, cohort.variability_settings(), "variability", problems
    )
    variability = None
    if len(variability_overrides) == len(variability_table):
        variability = _delegate(
            problems, "variability", cohort.load_variability, variability_overrides
        )
    regimens = _regimens(get_tables(data, "regimens", "", problems), problems)
    food_plan = _food(get_table(data, "food", "", problems), problems)
    comedications = _comedications(get_tables(data, "comedications", "", problems), days, problems)
    target = _target(get_table(data, "target", "", problems), days, problems)
    output = _output(get_table(data, "output", "", problems), problems)
    if problems:
        raise ScenarioError(origin, problems)
    return Scenario(
        title=title,
        subjects=subjects if patients is None else len(patients),
        days=days,
        seed=seed,
        population=population,
        parameter_set=parameter_set,
        variability=variability,
        regimens=regimens,
        food=food_plan,
        comedications=comedications,
        target=target,
        output=output,
        patients=patients,
        text=text,
        origin=origin,
        schema_version=version,
        parameter_overrides=MappingProxyType(overrides),
    )


def _delegate(problems: Problems, where: str, function, *args, **kwargs):
    """Call a validating constructor; its ValueError lines become problems under ``where``."""
    try:
        return function(*args, **kwargs)
    except ValueError as error:
        for line in str(error).splitlines():
            line = line.strip().removeprefix("- ")
            if line and not line.endswith(":"):
                problems.add(where, line)
        return None


def _settings_overrides(
    table: Mapping, settings: Mapping[str, Mapping], where: str, problems: Problems
) -> dict[str, Any]:
    """Overrides checked key by key against each setting's allowed range and units."""
    check_keys(table, settings, where, problems)
    values = {}
    for key, entry in settings.items():
        if key not in table:
            continue
        if entry.get("units") == "bool":
            values[key] = get_bool(table, key, where, problems, default=entry["default"])
            continue
        low, high = entry["allowed"]
        value = get_number(
            table,
            key,
            where,
            problems,
            default=None,
            minimum=low,
            maximum=high,
            units=entry.get("units", ""),
        )
        if value is not None:
            values[key] = value
    return values


def _population(table: Mapping, base_dir: Path, problems: Problems):
    name = get_str(
        table,
        "name",
        "population",
        problems,
        default="chinese-adult-ln",
        choices=populations.list_populations(),
        kind="population",
    )
    if name is None:
        return None, None, None
    settings = populations.population_settings(name)
    given = {key: value for key, value in table.items() if key not in POPULATION_KEYS}
    overrides = _settings_overrides(given, settings, "population", problems)
    population = None
    if len(overrides) == len(given):  # cross-setting checks once every value is in range
        population = _delegate(problems, "population", populations.load_population, name, overrides)
    csv = get_str(table, "patients_csv", "population", problems, default=None)
    patients = path = None
    if csv is not None:
        path = Path(csv) if Path(csv).is_absolute() else base_dir / csv
        if not path.is_file():
            problems.add("population.patients_csv", f"no such file: {path}")
        else:
            patients = _delegate(
                problems, "population.patients_csv", cohort.read_patients_csv, path
            )
    return population, patients, path


def _parameters(table: Mapping, problems: Problems):
    check_keys(table, PARAMETER_KEYS, "parameters", problems)
    name = get_str(
        table,
        "name",
        "parameters",
        problems,
        default="default",
        choices=parameters.list_parameter_sets(),
        kind="parameter set",
    )
    overrides = dict(get_table(table, "overrides", "parameters", problems))
    if name is None:
        return None, overrides
    pset = parameters.load_parameter_set(name)
    if overrides:
        pset = _delegate(
            problems, "parameters.overrides", parameters.override_parameter_set, pset, overrides
        )
    return pset, overrides


def _regimens(tables: list[Mapping], problems: Problems) -> tuple[Regimen, ...]:
    if not tables:
        problems.add("regimens", "at least one [[regimens]] table is required")
    regimens = []
    for index, table in enumerate(tables):
        where = f"regimens[{index}]"
        try:
            regimens.append(Regimen.from_mapping(table, where))
        except ValueError as error:
            problems.extend(line.strip() for line in str(error).splitlines() if line.strip())
    names = [table.get("name") for table in tables if isinstance(table.get("name"), str)]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.add("regimens", f"regimen names must be unique; {name!r} appears twice or more")
    return tuple(regimens)


def _food(table: Mapping, problems: Problems) -> FoodPlan:
    check_keys(table, FOOD_KEYS, "food", problems)
    conditions = food.list_conditions()
    condition = get_str(
        table,
        "condition",
        "food",
        problems,
        default=None,
        choices=conditions,
        kind="food condition",
    )
    meals = []
    for index, meal in enumerate(get_tables(table, "meals", "food", problems)):
        where = f"food.meals[{index}]"
        check_keys(meal, MEAL_KEYS, where, problems)
        clock = _clock_hours(meal.get("clock"), f"{where}.clock", problems)
        kind = get_str(meal, "kind", where, problems, default="standard")
        if clock is not None and kind is not None:
            built = _delegate(problems, where, food.Meal, clock, kind)
            meals.append(built) if built is not None else None
    if condition is not None and meals:
        problems.add("food", "give either condition or meals, not both")
    fraction = get_number(
        table, "fraction_against_rule", "food", problems, default=0.0, minimum=0.0, maximum=1.0
    )
    breaking = [c for c in conditions if not food.lookup_condition(c).complies]
    violation = get_str(
        table,
        "violation",
        "food",
        problems,
        default="with_meal",
        choices=breaking,
        kind="food condition that breaks the dosing rule",
    )
    if "condition" not in table and not meals:
        condition = "fasted"
    return FoodPlan(
        condition=condition, meals=tuple(meals), fraction_against_rule=fraction, violation=violation
    )


def _clock_hours(value: Any, where: str, problems: Problems) -> float | None:
    """'HH:MM' (or a TOML local time) -> hours after midnight."""
    hour = minute = None
    if hasattr(value, "hour") and hasattr(value, "minute"):
        hour, minute = value.hour, value.minute
    elif isinstance(value, str) and value.count(":") == 1:
        head, tail = value.split(":")
        if head.isdigit() and tail.isdigit():
            hour, minute = int(head), int(tail)
    if hour is None or not (0 <= hour < 24 and 0 <= minute < 60):
        problems.add(where, f'must be a clock time "HH:MM" (00:00 to 23:59), got {value!r}')
        return None
    return hour + minute / 60.0


def _comedications(
    tables: list[Mapping], days: int | None, problems: Problems
) -> tuple[ComedicationPlan, ...]:
    if len(tables) > MAX_COMEDICATIONS:
        problems.add(
            "comedications", f"at most {MAX_COMEDICATIONS} co-medications, got {len(tables)}"
        )
    plans = []
    for index, table in enumerate(tables):
        where = f"comedications[{index}]"
        check_keys(table, COMEDICATION_KEYS, where, problems)
        drug = get_str(table, "drug", where, problems)
        start = get_number(
            table,
            "start_day",
            where,
            problems,
            default=1.0,
            units="days",
            allow_minus_infinity=True,
        )
        stop = get_number(table, "stop_day", where, problems, default=None, units="days")
        if start is not None and stop is not None and stop < start:
            problems.add(f"{where}.stop_day", f"must be >= start_day ({start:g}), got {stop!r}")
            continue
        fraction = get_number(
            table, "fraction", where, problems, default=1.0, minimum=0.0, maximum=1.0
        )
        if days is not None and start is not None and start > days:
            problems.add(f"{where}.start_day", f"must be <= days ({days}), got {start!r}")
        if drug is None or start is None:
            continue
        course = _delegate(problems, f"{where}.drug", interactions.CoMedication, drug, start, stop)
        if course is not None:
            plans.append(ComedicationPlan(course, fraction))
    return tuple(plans)


def _target(table: Mapping, days: int | None, problems: Problems) -> TargetPlan | None:
    check_keys(table, TARGET_KEYS, "target", problems)
    known = targets.load_targets()
    phases = [name for name in known if name != "renal_impairment"]
    custom = "lower_ng_per_ml" in table or "upper_ng_per_ml" in table
    phase = get_str(
        table,
        "phase",
        "target",
        problems,
        default=None if custom else "induction",
        choices=phases,
        kind="target phase",
    )
    if custom and "phase" in table:
        problems.add("target", "give either phase or lower_ng_per_ml/upper_ng_per_ml, not both")
    renal = get_bool(table, "renal_ceiling", "target", problems, default=True)
    day = get_number(
        table,
        "day",
        "target",
        problems,
        default=None,
        minimum=1,
        maximum=days or MAX_DAYS,
        integer=True,
    )
    window = table.get("window")
    if window is not None:
        if not (
            isinstance(window, list)
            and len(window) == 2
            and all(isinstance(d, int) and not isinstance(d, bool) for d in window)
            and 1 <= window[0] <= window[1] <= (days or MAX_DAYS)
        ):
            problems.add(
                "target.window",
                f"must be [first_day, last_day] with 1 <= first <= last <= {days}, got {window!r}",
            )
            window = None
        elif day is not None:
            problems.add("target", "give either day or window, not both")
    if custom:
        lower = get_number(
            table, "lower_ng_per_ml", "target", problems, default=0.0, minimum=0.0, units="ng/mL"
        )
        upper = get_number(
            table,
            "upper_ng_per_ml",
            "target",
            problems,
            minimum=0.0,
            exclusive_minimum=True,
            units="ng/mL",
        )
        if lower is None or upper is None:
            return None
        target = _delegate(
            problems,
            "target",
            targets.TargetRange,
            float(lower),
            float(upper),
            f"custom {lower:g}-{upper:g} ng/mL",
            "user",
        )
    else:
        target = known.get(phase) if phase else None
    if target is None:
        return None
    return TargetPlan(
        target=target,
        phase=phase,
        renal_ceiling=renal,
        day=day,
        window=tuple(window) if window else None,
    )


def _output(table: Mapping, problems: Problems) -> OutputPlan:
    check_keys(table, OUTPUT_KEYS, "output", problems)
    profiles = get_bool(table, "profiles", "output", problems, default=False)
    step = get_number(
        table,
        "profile_step_h",
        "output",
        problems,
        default=1.0,
        minimum=0.05,
        maximum=24.0,
        units="h",
    )
    return OutputPlan(profiles=profiles, profile_step_h=float(step))
