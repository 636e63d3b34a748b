"""The app's scenario form as plain data: a scenario mapping <-> the fields a pharmacist edits.

No widgets here: :func:`form_from_mapping` reads a parsed scenario file into frozen form
objects, :func:`mapping_from_form` writes the edited fields back over the original mapping
(keys the form does not show, such as clock times, meals or adherence, are kept), and the
scenario validator (:func:`pksim.scenario.scenario_from_text`) then checks every value, so the
app's messages are those of ``pksim validate``. Text fields the form parses itself (weight
bands, co-medication days) raise :class:`FormError` naming the field and what is allowed.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pksim.app.over_time_form import OverTimeForm, over_time_form, write_over_time
from pksim.scenario import DEFAULT_SCENARIO, scenario_path

__all__ = [
    "DOSE_KINDS",
    "MEALS_FROM_FILE",
    "NEW_SCENARIO",
    "PHASES",
    "ComedicationForm",
    "FormError",
    "RegimenForm",
    "ScenarioForm",
    "bundled_mapping",
    "form_from_mapping",
    "format_bands",
    "mapping_from_form",
    "parse_bands",
]

DOSE_KINDS = ("daily_dose_mg", "mg_per_kg_per_day", "weight_bands")
"""How a regimen's daily dose is given: fixed mg/day, mg/kg/day, or by weight band."""
ROUND_NONE, ROUND_CAPSULES = "none", "capsules"
"""Rounding choices besides a step in mg (e.g. "0.5")."""
PER_KG = "/kg"
"""Suffix of a weight-band dose given in mg/kg/day ("0.05/kg"); a plain number is mg/day."""
MEALS_FROM_FILE = "meals"
"""Food choice that keeps the scenario file's daily meal times."""
PHASES = ("induction", "maintenance", "custom")
"""Target choices: the consensus phases, or a custom range."""
NEW_SCENARIO = {
    "schema_version": 1,
    "title": "My scenario",
    "subjects": 2000,
    "days": 28,
    "seed": 1,
    "population": {"name": "chinese-adult-ln"},
    "parameters": {"name": "default"},
    "regimens": [{"name": "1.5 mg BID", "daily_dose_mg": 3, "doses_per_day": 2}],
    "food": {"condition": "fasted"},
    "target": {"phase": "induction"},
}
"""The starting point of "build one": one regimen, the bundled population and parameters."""


class FormError(ValueError):
    """Form fields that cannot be read: every problem, each naming its field."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class RegimenForm:
    """A regimen as the form shows it; ``amount`` in mg/day or mg/kg/day (by ``dose_kind``),
    ``bands`` as text (:func:`format_bands`), ``rounding`` "none", "capsules" or a step in mg;
    ``over_time`` its changes, holds and monitoring (:mod:`pksim.app.over_time_form`)."""

    name: str
    dose_kind: str = "daily_dose_mg"
    amount: float | None = None
    bands: str = ""
    doses_per_day: int = 2
    formulation: str = "prograf"
    rounding: str = ROUND_NONE
    max_daily_dose_mg: float | None = None
    over_time: OverTimeForm = field(default_factory=OverTimeForm)


@dataclass(frozen=True, slots=True)
class ComedicationForm:
    """A co-medication course: drug by name (any alias, Chinese names included), first and
    last day as text ("" = default; "-inf" = long established), share of the cohort."""

    drug: str
    start_day: str = "1"
    stop_day: str = ""
    fraction: float = 1.0


@dataclass(frozen=True, slots=True)
class ScenarioForm:
    """Every field of the scenario form."""

    title: str
    subjects: int
    days: int
    seed: int
    population: str
    parameter_set: str
    regimens: tuple[RegimenForm, ...]
    food: str
    comedications: tuple[ComedicationForm, ...] = ()
    phase: str = "induction"
    lower: float | None = None
    upper: float | None = None
    target_day: int | None = None
    population_settings: Mapping[str, float] = field(default_factory=dict)


def bundled_mapping(name: str = DEFAULT_SCENARIO) -> dict[str, Any]:
    """The parsed TOML of a bundled scenario (or :data:`NEW_SCENARIO` for ``"new"``)."""
    if name == "new":
        return copy.deepcopy(NEW_SCENARIO)
    return tomllib.loads(scenario_path(name).read_text(encoding="utf-8"))


def form_from_mapping(mapping: Mapping[str, Any]) -> ScenarioForm:
    """The form fields of a parsed scenario (defaults as the scenario loader's)."""
    population = dict(mapping.get("population", {}))
    target = mapping.get("target", {})
    food = mapping.get("food", {})
    custom = "lower_ng_per_ml" in target or "upper_ng_per_ml" in target
    return ScenarioForm(
        title=str(mapping.get("title", "pksim scenario")),
        subjects=int(mapping.get("subjects", 1000)),
        days=int(mapping.get("days", 28)),
        seed=int(mapping.get("seed", 0)),
        population=str(population.pop("name", "chinese-adult-ln")),
        parameter_set=str(mapping.get("parameters", {}).get("name", "default")),
        regimens=tuple(_regimen_form(t) for t in mapping.get("regimens", [])),
        food=MEALS_FROM_FILE if "meals" in food else str(food.get("condition", "fasted")),
        comedications=tuple(_comedication_form(t) for t in mapping.get("comedications", [])),
        phase="custom" if custom else str(target.get("phase", "induction")),
        lower=target.get("lower_ng_per_ml"),
        upper=target.get("upper_ng_per_ml"),
        target_day=target.get("day"),
        population_settings={
            k: v for k, v in population.items() if k != "patients_csv" and _is_number(v)
        },
    )


def mapping_from_form(form: ScenarioForm, original: Mapping[str, Any]) -> dict[str, Any]:
    """``original`` with the form's fields written over it (keys the form does not show are
    kept). Raises :class:`FormError` for fields the form parses itself."""
    problems: list[str] = []
    out = copy.deepcopy(dict(original))
    out.update(title=form.title, subjects=form.subjects, days=form.days, seed=form.seed)
    population = dict(out.get("population", {}))
    population["name"] = form.population
    population.update(form.population_settings)
    out["population"] = population
    parameters = dict(out.get("parameters", {}))
    parameters["name"] = form.parameter_set
    out["parameters"] = parameters
    old = list(original.get("regimens", []))
    out["regimens"] = [
        _regimen_table(r, old[i] if i < len(old) else {}, i, problems)
        for i, r in enumerate(form.regimens)
    ]
    food = dict(out.get("food", {}))
    if form.food != MEALS_FROM_FILE:
        food.pop("meals", None)
        food["condition"] = form.food
    out["food"] = food
    courses = [_comedication_table(c, i, problems) for i, c in enumerate(form.comedications)]
    if courses:
        out["comedications"] = courses
    else:
        out.pop("comedications", None)
    out["target"] = _target_table(form, dict(out.get("target", {})))
    if problems:
        raise FormError(problems)
    return out


def format_bands(bands: list[Mapping[str, Any]]) -> str:
    """Weight bands as text: "60: 2; 3" is 2 mg/day below 60 kg and 3 mg/day from 60 kg;
    "0.05/kg" is 0.05 mg/kg/day."""
    parts = []
    for band in bands:
        if "mg_per_kg_per_day" in band:
            dose = f"{band['mg_per_kg_per_day']:g}{PER_KG}"
        else:
            dose = f"{band.get('daily_dose_mg', math.nan):g}"
        parts.append(f"{band['below_kg']:g}: {dose}" if "below_kg" in band else dose)
    return "; ".join(parts)


def parse_bands(text: str, where: str) -> list[dict[str, float]]:
    """The weight-band tables of :func:`format_bands` text; :class:`FormError` names ``where``
    and the expected form."""
    bands, problems = [], []
    expected = (
        'write bands as "BELOW_KG: DOSE; ...; DOSE", e.g. "60: 2; 3" (2 mg/day below 60 kg, '
        '3 mg/day from 60 kg) or "60: 0.05/kg; 0.04/kg" (mg/kg/day)'
    )
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        below, _, dose = part.rpartition(":")
        band: dict[str, float] = {}
        try:
            if below.strip():
                band["below_kg"] = _number(below)
            if dose.strip().endswith(PER_KG):
                band["mg_per_kg_per_day"] = _number(dose.strip()[: -len(PER_KG)])
            else:
                band["daily_dose_mg"] = _number(dose)
        except ValueError:
            problems.append(f"{where}: {part!r} is not a band; {expected}")
            continue
        bands.append(band)
    if not bands and not problems:
        problems.append(f"{where}: no bands given; {expected}")
    if problems:
        raise FormError(problems)
    return bands


# --- helpers -----------------------------------------------------------------------------------


def _regimen_form(table: Mapping[str, Any]) -> RegimenForm:
    kind = next((k for k in DOSE_KINDS if k in table), "daily_dose_mg")
    if table.get("round_to_capsules"):
        rounding = ROUND_CAPSULES
    elif "round_to_mg" in table:
        rounding = f"{table['round_to_mg']:g}"
    else:
        rounding = ROUND_NONE
    doses = table.get("doses_per_day", len(table.get("dose_clock_times", ())) or 2)
    return RegimenForm(
        name=str(table.get("name", "")),
        dose_kind=kind,
        amount=None if kind == "weight_bands" else table.get(kind),
        bands=format_bands(table.get("weight_bands", [])),
        doses_per_day=int(doses),
        formulation=str(table.get("formulation", "prograf")),
        rounding=rounding,
        max_daily_dose_mg=table.get("max_daily_dose_mg"),
        over_time=over_time_form(table),
    )


def _regimen_table(
    form: RegimenForm, original: Mapping[str, Any], index: int, problems: list[str]
) -> dict[str, Any]:
    table = {k: v for k, v in original.items() if k not in (*DOSE_KINDS, "round_to_mg")}
    table.pop("round_to_capsules", None)
    table["name"] = form.name
    where = f"regimens[{index}]"
    if form.dose_kind == "weight_bands":
        try:
            table["weight_bands"] = parse_bands(form.bands, f"{where}.weight_bands")
        except FormError as error:
            problems += error.problems
    elif form.amount is None:
        problems.append(f"{where}.{form.dose_kind}: give the dose (a number)")
    else:
        table[form.dose_kind] = form.amount
    clock = table.get("dose_clock_times")
    if clock is not None and len(clock) != form.doses_per_day:
        del table["dose_clock_times"]  # the dose count changed: evenly spaced from 08:00
    table["doses_per_day"] = form.doses_per_day
    table["formulation"] = form.formulation
    if form.rounding == ROUND_CAPSULES:
        table["round_to_capsules"] = True
    elif form.rounding != ROUND_NONE:
        try:
            table["round_to_mg"] = _number(form.rounding)
        except ValueError:
            problems.append(
                f"{where}.round_to_mg: {form.rounding!r} is not a number of mg "
                "(or 'none', 'capsules')"
            )
    if form.max_daily_dose_mg is None:
        table.pop("max_daily_dose_mg", None)
    else:
        table["max_daily_dose_mg"] = form.max_daily_dose_mg
    write_over_time(form.over_time, table, original, where, problems)
    return table


def _comedication_form(table: Mapping[str, Any]) -> ComedicationForm:
    stop = table.get("stop_day")
    return ComedicationForm(
        drug=str(table.get("drug", "")),
        start_day=f"{table.get('start_day', 1):g}",
        stop_day="" if stop is None else f"{stop:g}",
        fraction=float(table.get("fraction", 1.0)),
    )


def _comedication_table(form: ComedicationForm, index: int, problems: list[str]) -> dict:
    table: dict[str, Any] = {"drug": form.drug.strip(), "fraction": form.fraction}
    for key, text in (("start_day", form.start_day), ("stop_day", form.stop_day)):
        if not text.strip():
            continue
        try:
            value = _number(text)
        except ValueError:
            problems.append(
                f"comedications[{index}].{key}: {text!r} is not a day (a number such as 15, "
                "or -inf for a long-established drug)"
            )
            continue
        table[key] = int(value) if value.is_integer() else value
    return table


def _target_table(form: ScenarioForm, table: dict[str, Any]) -> dict[str, Any]:
    for key in ("phase", "lower_ng_per_ml", "upper_ng_per_ml", "day"):
        table.pop(key, None)
    if form.phase == "custom":
        table["lower_ng_per_ml"] = form.lower if form.lower is not None else 0.0
        if form.upper is not None:
            table["upper_ng_per_ml"] = form.upper
    else:
        table["phase"] = form.phase
    if form.target_day is not None:
        table.pop("window", None)
        table["day"] = form.target_day
    return table


def _number(text: str) -> float:
    value = float(text.strip().replace(",", "."))
    if math.isnan(value):
        raise ValueError(text)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
