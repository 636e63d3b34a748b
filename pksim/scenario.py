"""Scenario files: strict TOML -> frozen :class:`Scenario`, every mistake reported at once.

The format is documented in ``scenarios/README.md``; DESIGN.md's example loads as written.
Nothing in a scenario is ever executed: it is parsed with :mod:`tomllib` and every value is
checked against the bundled catalogues (populations, parameter sets, drugs, food conditions,
formulations, targets). Errors name the file, the dotted key and what is allowed; unknown keys
get a "did you mean". Sections with a spec of their own are read by it, into the one collector
of problems (:meth:`Regimen.from_mapping`, :meth:`FoodPlan.from_mapping`,
:meth:`TargetPlan.from_mapping`); every value is checked once.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pksim import cohort, files
from pksim.checks import (
    check_keys,
    get_bool,
    get_days,
    get_number,
    get_str,
    get_table,
    get_tables,
    get_text,
)
from pksim.cohort.covariates import Covariates
from pksim.cohort.variability import VariabilitySettings
from pksim.dosing.absorption import FoodPlan
from pksim.dosing.bayesian_checks import bayesian_problems
from pksim.dosing.phases import run_problems
from pksim.dosing.regimen import Regimen
from pksim.errors import Invalid, Problems, ScenarioError, shown, unknown_name
from pksim.library import parameters, populations
from pksim.library.targets import TargetPlan
from pksim.modifiers.comedication_plans import ComedicationPlan, comedication_plans

SCHEMA_VERSION = 1
MAX_SUBJECTS = 100_000_000
"""Most subjects in one run (the scenario's ``subjects``, ``n_subjects`` and ``-n`` alike)."""
MAX_DAYS = 366
"""Longest run (days): a year, leap or not."""
MAX_SEED = 2**64 - 1
"""Largest seed: the result keeps it as an unsigned 64-bit integer (NetCDF attribute)."""
MAX_TITLE_CHARS = 200
"""Longest title (characters): it heads plots and tables, where a few lines at most fit."""
DEFAULT_SCENARIO = "ln-induction"
EMPTY_HINT = "a scenario needs at least one [[regimens]] table (e.g. pksim describe ln-induction)"

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
OUTPUT_KEYS = ("profiles", "profile_step_h", "measured", "compare_days")


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """Optional outputs: concentration-time ``profiles`` every ``profile_step_h`` hours, and
    ``measured`` troughs (with assay error and the LLOQ flag) beside the true ones. Each costs
    simulation time and file size, so a run computes them only when asked."""

    profiles: bool = False
    profile_step_h: float = 1.0
    measured: bool = False
    compare_days: tuple[int, ...] = ()
    """Days whose attainment ``pksim run`` tabulates beside the target's (e.g. day 28 against
    the target day 112 of a prednisone taper)."""


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
    if path.is_dir():
        raise ScenarioError(
            str(name_or_path),
            ["is a folder, not a scenario file: give a .toml file or a bundled scenario's name"],
        )
    bundled = bundled_scenarios_dir() / f"{name_or_path}.toml"
    if bundled.is_file():
        return bundled
    raise ScenarioError(
        str(name_or_path),
        [
            "no such file, and "
            + unknown_name("bundled scenario", str(name_or_path), list_scenarios())
        ],
    )


def load_scenario(path: str | Path, *, allow_files_outside: bool = False) -> Scenario:
    """Read and validate a scenario file (or a bundled scenario by name). Files it names
    (``population.patients_csv``) must lie in its folder or below unless
    ``allow_files_outside``."""
    path = scenario_path(path)
    try:
        text = files.read_text(path, "a scenario file (TOML)")
    except ValueError as error:
        raise ScenarioError(str(path), [str(error)]) from None
    return scenario_from_text(
        text, origin=str(path), base_dir=path.parent, allow_files_outside=allow_files_outside
    )


def scenario_from_text(
    text: str,
    *,
    origin: str = "<scenario>",
    base_dir: str | Path = ".",
    allow_files_outside: bool = False,
) -> Scenario:
    """Validate a scenario given as TOML text; relative paths resolve against ``base_dir``, and
    files must lie in it or below unless ``allow_files_outside``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(origin, [f"is not valid TOML: {error}"]) from None
    except ValueError as error:  # Python's limit on integer digits ("Exceeds the limit ...")
        reason = str(error).split(":")[0]
        raise ScenarioError(origin, [f"holds an integer too long to read: {reason}"]) from None
    if not data:
        raise ScenarioError(origin, [f"holds no settings, only comments: {EMPTY_HINT}"])
    return scenario_from_mapping(
        data, origin=origin, base_dir=base_dir, text=text, allow_files_outside=allow_files_outside
    )


def scenario_from_mapping(
    data: Mapping[str, Any],
    *,
    origin: str = "<scenario>",
    base_dir: str | Path = ".",
    text: str = "",
    allow_files_outside: bool = False,
) -> Scenario:
    """Validate a scenario given as a mapping (the parsed TOML)."""
    problems = Problems()
    check_keys(data, TOP_KEYS, "", problems)
    version = get_number(data, "schema_version", "", problems, default=SCHEMA_VERSION, integer=True)
    if version is not None and version != SCHEMA_VERSION:
        problems.add(
            "schema_version", f"must be {SCHEMA_VERSION} (this pksim), got {shown(version)}"
        )
    title = get_text(
        data, "title", "", problems, default="pksim scenario", max_chars=MAX_TITLE_CHARS
    )
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
    seed = get_number(
        data, "seed", "", problems, default=0, minimum=0, maximum=MAX_SEED, integer=True
    )

    population, patients, csv_path = _population(
        get_table(data, "population", "", problems), Path(base_dir), allow_files_outside, problems
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
    target = TargetPlan.from_mapping(
        get_table(data, "target", "", problems), "target", problems, days=days or MAX_DAYS
    )
    bounds = None if target is None else (target.target.lower, target.target.upper)
    regimens = _regimens(get_tables(data, "regimens", "", problems), days, bounds, problems)
    food_plan = FoodPlan.from_mapping(get_table(data, "food", "", problems), "food", problems)
    comedications = comedication_plans(
        get_tables(data, "comedications", "", problems), days, problems
    )
    output = _output(get_table(data, "output", "", problems), problems, days or MAX_DAYS)
    if parameter_set is not None and not problems:
        bayesian_problems(regimens, parameter_set, problems)
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
    """Call a validator of :mod:`pksim.cohort` that raises (it does not take a collector yet):
    its problems (:class:`~pksim.errors.Invalid`) or its one message go under ``where``."""
    try:
        return function(*args, **kwargs)
    except Invalid as error:
        problems.extend(where, error.problems)
    except ValueError as error:
        problems.add(where, str(error))
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


def _population(table: Mapping, base_dir: Path, allow_outside: bool, problems: Problems):
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
    read = None
    if csv is not None:
        read = _delegate(
            problems,
            "population.patients_csv",
            cohort.patients.read_scenario_patients,
            csv,
            base_dir,
            allow_outside=allow_outside,
        )
    path, patients = read or (None, None)
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
        pset = parameters.override_parameter_set(pset, overrides, problems, "parameters.overrides")
    return pset, overrides


def _regimens(
    tables: list[Mapping], days: int | None, bounds: tuple[float, float] | None, problems: Problems
) -> tuple[Regimen, ...]:
    """The regimens, with their changes, holds and monitoring checked against the run's
    ``days`` and the target's ``bounds`` (ng/mL) when those are known."""
    if not tables:
        problems.add("regimens", "at least one [[regimens]] table is required")
    regimens = []
    for index, table in enumerate(tables):
        regimen = Regimen.from_mapping(table, f"regimens[{index}]", problems)
        if regimen is not None and days is not None:
            found = Problems()
            run_problems(regimen, days, bounds, found)
            problems.extend(f"regimens[{index}]", found)
        regimens.append(regimen)
    names = [table.get("name") for table in tables if isinstance(table.get("name"), str)]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.add(
            "regimens", f"regimen names must be unique; {shown(name)} appears twice or more"
        )
    return tuple(r for r in regimens if r is not None)


def _output(table: Mapping, problems: Problems, days: int) -> OutputPlan:
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
    measured = get_bool(table, "measured", "output", problems, default=False)
    compare = get_days(table, "compare_days", "output", problems, last=days)
    return OutputPlan(profiles, float(step), measured, compare_days=compare)
