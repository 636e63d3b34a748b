"""Food and dose timing: the cited food-effect catalogue and the meal-timing rules.

Data: ``data/food.toml``. A *condition* says what a dose is taken with (``fasted``,
``1h_before_meal``, ``2h_after_meal``, ``with_meal``, ``1.5h_after_meal``, ``high_fat_meal``,
``high_carb_meal``). For each formulation class (``ir``, ``pr``, ``lcp``, see
:mod:`pksim.library.formulations`) and condition there is an F multiplier, a ka multiplier and
an extra lag (h), relative to the same formulation fasting (:func:`lookup_effect`).

Conditions follow from a schedule (:func:`conditions_from_schedule`: meal and dose clock times,
rules in ``[timing]`` of the data file), or are given directly. What a run does with them (the
per-dose draws and the kernel's absorption arrays) lives in :mod:`pksim.dosing.absorption`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from pksim.errors import Invalid, Problems, moved_names, shown, unknown_name
from pksim.library.cited import (
    Cited,
    check_keys,
    is_real,
    normalize_name,
    read_cited,
    read_data,
)
from pksim.library.formulations import pk_classes
from pksim.units import HOURS_PER_DAY

__all__ = [
    "MAX_MEALS_PER_DAY",
    "MEAL_KINDS",
    "FoodCondition",
    "FoodEffect",
    "Meal",
    "TimingRules",
    "condition_codes",
    "condition_for_dose",
    "conditions_from_schedule",
    "list_conditions",
    "lookup_condition",
    "lookup_effect",
    "timing_rules",
]

_DATA_FILE = "food.toml"
MEAL_KINDS: dict[str, str] = {
    "standard": "with_meal",
    "high_fat": "high_fat_meal",
    "high_carb": "high_carb_meal",
}
"""Meal kinds and the condition of a dose taken with such a meal."""

MAX_MEALS_PER_DAY = 8
"""Most meals in a day's plan: three meals and snacks. With more, nearly every dose falls within
an hour of one and the plan no longer describes a rule to follow."""


@dataclass(frozen=True, slots=True)
class FoodCondition:
    """A dosing condition; ``code`` is its integer code, ``complies`` the consensus rule."""

    name: str
    code: int
    description: str
    complies: bool


@dataclass(frozen=True, slots=True)
class FoodEffect:
    """Effect of a condition for one formulation class, relative to the class fasting."""

    pk_class: str
    condition: str
    f: Cited
    ka: Cited
    lag: Cited


@dataclass(frozen=True, slots=True)
class TimingRules:
    """Thresholds (h) that turn meal and dose clock times into a condition."""

    with_meal_within_h: float
    after_meal_until_h: float
    before_meal_min_h: float
    fasted_before_meal_h: float
    fasted_after_meal_h: float


@dataclass(frozen=True, slots=True)
class Meal:
    """A daily meal: clock time (h, 0 <= clock_h < 24) and kind (see :data:`MEAL_KINDS`)."""

    clock_h: float
    kind: str = "standard"

    def __post_init__(self) -> None:
        problems = Problems()
        if not is_real(self.clock_h) or not 0.0 <= self.clock_h < HOURS_PER_DAY:
            problems.add("clock_h", f"must be a number in [0, 24) h, got {shown(self.clock_h)}")
        if not isinstance(self.kind, str) or self.kind not in MEAL_KINDS:
            problems.add("kind", unknown_name("meal kind", self.kind, MEAL_KINDS))
        if problems:
            raise Invalid("meal", problems)


@dataclass(frozen=True, slots=True)
class _Catalogue:
    conditions: dict[str, FoodCondition]
    effects: dict[tuple[str, str], FoodEffect]
    rules: TimingRules


@cache
def _catalogue() -> _Catalogue:
    data = read_data(_DATA_FILE)
    check_keys(data, ("conditions", "timing", "effects"), _DATA_FILE)
    conditions: dict[str, FoodCondition] = {}
    for code, (name, table) in enumerate(data.get("conditions", {}).items()):
        check_keys(table, ("description", "complies"), f"{_DATA_FILE}: conditions.{name}")
        if not isinstance(table.get("complies"), bool):
            raise ValueError(f"{_DATA_FILE}: conditions.{name}.complies must be true or false")
        conditions[name] = FoodCondition(
            name, code, str(table.get("description", "")), table["complies"]
        )
    missing = sorted((set(MEAL_KINDS.values()) | {"fasted"}) - set(conditions))
    if missing:
        raise ValueError(f"{_DATA_FILE}: conditions {missing} are required")
    timing = data.get("timing", {})
    fields = TimingRules.__dataclass_fields__
    check_keys(timing, fields, f"{_DATA_FILE}: timing")
    rules = TimingRules(
        **{
            key: read_cited(timing.get(key), f"{_DATA_FILE}: timing.{key}", "h", minimum=0).value
            for key in fields
        }
    )
    effects: dict[tuple[str, str], FoodEffect] = {}
    classes = pk_classes()
    check_keys(data.get("effects", {}), classes, f"{_DATA_FILE}: effects")
    for pk_class in classes:
        tables = data.get("effects", {}).get(pk_class, {})
        if set(tables) != set(conditions):
            raise ValueError(
                f"{_DATA_FILE}: effects.{pk_class} must give every condition "
                f"{sorted(conditions)}; missing {sorted(set(conditions) - set(tables))}, "
                f"unknown {sorted(set(tables) - set(conditions))}"
            )
        for name, table in tables.items():
            where = f"{_DATA_FILE}: effects.{pk_class}.{name}"
            check_keys(table, ("f", "ka", "lag"), where)
            effects[pk_class, name] = FoodEffect(
                pk_class,
                name,
                read_cited(table.get("f"), f"{where}.f", "1", minimum=0),
                read_cited(table.get("ka"), f"{where}.ka", "1", minimum=0),
                read_cited(table.get("lag"), f"{where}.lag", "h", minimum=0, exclusive=False),
            )
    return _Catalogue(conditions, effects, rules)


def list_conditions() -> list[str]:
    """Condition names in code order (``list_conditions()[code]``)."""
    return list(_catalogue().conditions)


def lookup_condition(name: str) -> FoodCondition:
    """A condition by name (case-insensitive); ValueError with did-you-mean."""
    if not isinstance(name, str):
        raise ValueError(f"food condition must be a string, got {shown(name)}")
    conditions = _catalogue().conditions
    key = normalize_name(name)
    if key not in conditions:
        raise ValueError(unknown_name("food condition", name, list_conditions()))
    return conditions[key]


def condition_codes(names: Sequence[str]) -> NDArray[np.int64]:
    """Integer codes of condition names, shape (m,)."""
    return np.array([lookup_condition(name).code for name in names], dtype=np.int64)


def lookup_effect(pk_class: str, condition: str) -> FoodEffect:
    """Effect of ``condition`` (a name) for a formulation class (``"ir"``, ``"pr"``, ``"lcp"``)."""
    if pk_class not in pk_classes():
        raise ValueError(unknown_name("formulation class", pk_class, pk_classes()))
    return _catalogue().effects[pk_class, lookup_condition(condition).name]


def timing_rules() -> TimingRules:
    """The timing thresholds of ``data/food.toml``."""
    return _catalogue().rules


def _meals(meals: Sequence[Meal | float]) -> tuple[Meal, ...]:
    return tuple(meal if isinstance(meal, Meal) else Meal(meal) for meal in meals)


def condition_for_dose(
    dose_clock_h: float, meals: Sequence[Meal | float], rules: TimingRules | None = None
) -> str:
    """Condition of a dose taken at ``dose_clock_h`` (h, 0-24) given the daily meals.

    With ``since`` the hours since the latest meal start and ``until`` the hours to the next
    one (meals repeat every day), the first rule that applies wins:
    ``since < with_meal_within_h`` or ``until < before_meal_min_h`` -> taken with that meal
    (``with_meal``, ``high_fat_meal`` or ``high_carb_meal`` by its kind);
    ``since < after_meal_until_h`` -> ``1.5h_after_meal``;
    ``until < fasted_before_meal_h`` -> ``1h_before_meal``;
    ``since < fasted_after_meal_h`` -> ``2h_after_meal``; otherwise ``fasted``.
    """
    if not is_real(dose_clock_h) or not 0.0 <= dose_clock_h < HOURS_PER_DAY:
        raise ValueError(
            f"dose clock time must be a number in [0, 24) h, got {shown(dose_clock_h)}"
        )
    rules = rules or timing_rules()
    meal_list = _meals(meals)
    if not meal_list:
        return "fasted"
    since = [(dose_clock_h - meal.clock_h) % HOURS_PER_DAY for meal in meal_list]
    until = [HOURS_PER_DAY - s if s > 0 else HOURS_PER_DAY for s in since]
    last = min(range(len(meal_list)), key=since.__getitem__)
    following = min(range(len(meal_list)), key=until.__getitem__)
    if since[last] < rules.with_meal_within_h:
        return MEAL_KINDS[meal_list[last].kind]
    if until[following] < rules.before_meal_min_h:
        return MEAL_KINDS[meal_list[following].kind]
    if since[last] < rules.after_meal_until_h:
        return "1.5h_after_meal"
    if until[following] < rules.fasted_before_meal_h:
        return "1h_before_meal"
    if since[last] < rules.fasted_after_meal_h:
        return "2h_after_meal"
    return "fasted"


def conditions_from_schedule(
    dose_clock_h: Sequence[float],
    meals: Sequence[Meal | float],
    rules: TimingRules | None = None,
) -> tuple[str, ...]:
    """Condition of each daily dose (e.g. ``[8, 20]`` for BID) given meal clock times."""
    return tuple(condition_for_dose(clock, meals, rules) for clock in dose_clock_h)


__getattr__ = moved_names(
    __name__,
    {
        "AbsorptionArrays": "pksim.dosing.absorption",
        "absorption_arrays": "pksim.dosing.absorption",
        "draw_dose_conditions": "pksim.dosing.absorption",
        "food_effect": "was replaced by lookup_effect(pk_class, condition) in this module",
    },
)
