"""Food and dose timing: per-dose absorption conditions and their effect on F, ka and lag.

Data: ``data/food.toml``. A *condition* says what a dose is taken with (``fasted``,
``1h_before_meal``, ``2h_after_meal``, ``with_meal``, ``1.5h_after_meal``, ``high_fat_meal``,
``high_carb_meal``). For each formulation class (``ir``, ``pr``, ``lcp``, see
:mod:`pksim.formulations`) and condition there is an F multiplier, a ka multiplier and an extra
lag (h), relative to the same formulation fasting.

Conditions come from a schedule (:func:`conditions_from_schedule`: meal and dose clock times,
rules in ``[timing]`` of the data file), or are given directly; :func:`draw_dose_conditions`
then turns a fraction of the doses that follow the consensus rule ("1 h before or 2 h after a
meal") into doses taken with a meal, reproducibly (stream ``"food_adherence"`` of
:func:`pksim.rng.draw`). :func:`absorption_arrays` builds the kernel's ``ka`` (n, K),
``class_lag`` (K,), ``dose_class`` and ``dose_f`` for ``pksim.model.concentrations_general``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim import rng
from pksim.library.cited import (
    CitedValue,
    check_keys,
    is_real,
    normalize_name,
    read_cited,
    read_data,
    unknown_name_error,
)
from pksim.library.formulations import list_formulations, lookup_formulation, pk_classes
from pksim.units import HOURS_PER_DAY

__all__ = [
    "MEAL_KINDS",
    "AbsorptionArrays",
    "FoodCondition",
    "FoodEffect",
    "Meal",
    "TimingRules",
    "absorption_arrays",
    "condition_codes",
    "conditions_from_schedule",
    "draw_dose_conditions",
    "food_effect",
    "list_conditions",
    "lookup_condition",
    "timing_rules",
]

_DATA_FILE = "food.toml"
MEAL_KINDS: dict[str, str] = {
    "standard": "with_meal",
    "high_fat": "high_fat_meal",
    "high_carb": "high_carb_meal",
}
"""Meal kinds and the condition of a dose taken with such a meal."""


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
    f: CitedValue
    ka: CitedValue
    lag: CitedValue


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
        if not is_real(self.clock_h) or not 0.0 <= self.clock_h < HOURS_PER_DAY:
            raise ValueError(f"meal clock_h must be a number in [0, 24) h, got {self.clock_h!r}")
        if self.kind not in MEAL_KINDS:
            raise unknown_name_error("meal kind", str(self.kind), MEAL_KINDS, list(MEAL_KINDS))


@dataclass(frozen=True, slots=True)
class AbsorptionArrays:
    """Kernel inputs for per-dose absorption (see ``concentrations_general``).

    ``ka`` (n, K) 1/h; ``class_lag`` (K,) h; ``dose_class`` (n|1, m) int64 in [0, K);
    ``dose_f`` (n|1, m) relative bioavailability (formulation x food); ``classes`` the
    (formulation class, condition) of each of the K absorption classes.
    """

    ka: NDArray[np.float64]
    class_lag: NDArray[np.float64]
    dose_class: NDArray[np.int64]
    dose_f: NDArray[np.float64]
    classes: tuple[tuple[str, str], ...]


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
            key: float(read_cited(timing.get(key), f"{_DATA_FILE}: timing.{key}", "h").value)
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
                read_cited(table.get("f"), f"{where}.f", "1"),
                read_cited(table.get("ka"), f"{where}.ka", "1"),
                read_cited(table.get("lag"), f"{where}.lag", "h", allow_zero=True),
            )
    return _Catalogue(conditions, effects, rules)


def list_conditions() -> list[str]:
    """Condition names in code order (``list_conditions()[code]``)."""
    return list(_catalogue().conditions)


def lookup_condition(name: str) -> FoodCondition:
    """A condition by name (case-insensitive); ValueError with did-you-mean."""
    if not isinstance(name, str):
        raise ValueError(f"food condition must be a string, got {name!r}")
    conditions = _catalogue().conditions
    key = normalize_name(name)
    if key not in conditions:
        raise unknown_name_error("food condition", name, conditions, list_conditions())
    return conditions[key]


def condition_codes(names: Sequence[str]) -> NDArray[np.int64]:
    """Integer codes of condition names, shape (m,)."""
    return np.array([lookup_condition(name).code for name in names], dtype=np.int64)


def food_effect(formulation: str, condition: str) -> FoodEffect:
    """Effect of ``condition`` for a product (e.g. ``"prograf"``) or class (``"ir"``)."""
    pk_class = formulation if formulation in pk_classes() else None
    if pk_class is None:
        pk_class = lookup_formulation(formulation).pk_class
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
        raise ValueError(f"dose clock time must be a number in [0, 24) h, got {dose_clock_h!r}")
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


def draw_dose_conditions(
    planned: Sequence[str],
    *,
    seed: int,
    start: int,
    stop: int,
    fraction_against_rule: float,
    violation: str = "with_meal",
) -> NDArray[np.int64]:
    """Per-subject condition codes when a fraction of rule-abiding doses is taken with food.

    ``planned`` (m,) names the condition of each dose as scheduled. Each dose whose planned
    condition complies with the consensus rule is instead taken under ``violation`` with
    probability ``fraction_against_rule``, independently per subject and dose. Draws come from
    stream ``"food_adherence"`` for subjects [start, stop); dose j's draw for a subject does not
    depend on how many doses follow. Returns (stop - start, m) codes, or (1, m) when the
    fraction is 0.
    """
    codes = condition_codes(planned)
    if not is_real(fraction_against_rule) or not 0.0 <= fraction_against_rule <= 1.0:
        raise ValueError(
            f"fraction_against_rule must be a number in [0, 1], got {fraction_against_rule!r}"
        )
    replacement = lookup_condition(violation)
    if replacement.complies:
        raise ValueError(
            f"violation must be a condition that breaks the rule, one of "
            f"{[c for c in list_conditions() if not lookup_condition(c).complies]}; "
            f"got {violation!r}"
        )
    if fraction_against_rule == 0.0:
        return codes[np.newaxis, :]
    m = codes.size

    def sampler(generator: np.random.Generator, size: int) -> np.ndarray:
        return generator.random((m, size)).T

    uniform = rng.draw(seed, "food_adherence", start, stop, sampler)
    complies = np.array([lookup_condition(name).complies for name in planned], dtype=bool)
    switched = complies[np.newaxis, :] & (uniform < fraction_against_rule)
    return np.where(switched, replacement.code, codes[np.newaxis, :]).astype(np.int64)


def _per_dose_classes(formulation: str | Sequence[str], m: int) -> list[str]:
    names = [formulation] * m if isinstance(formulation, str) else list(formulation)
    if len(names) != m:
        raise ValueError(
            f"formulation must be one name or one per dose ({m}), got {len(names)} names"
        )
    return [lookup_formulation(name).pk_class for name in names]


def absorption_arrays(
    ka: ArrayLike,
    dose_conditions: ArrayLike | Sequence[str],
    formulation: str | Sequence[str] = "prograf",
) -> AbsorptionArrays:
    """Kernel absorption inputs from per-dose conditions and the formulation.

    ``ka`` (n,) the subjects' IR absorption rate constants (1/h); ``dose_conditions`` (n|1, m)
    integer codes (see :func:`draw_dose_conditions`) or (m,) names; ``formulation`` a product
    name or one per dose column (a conversion during the course). Each dose's F is the
    formulation's relative F times the food F multiplier; its absorption class carries
    ``ka x formulation multiplier x food multiplier`` and ``formulation lag + food lag``.
    """
    base = np.asarray(ka, dtype=np.float64)
    if base.ndim != 1 or not np.all(np.isfinite(base) & (base > 0)):
        raise ValueError("ka must be a 1-D array of finite values > 0 (1/h), one per subject")
    conditions = np.asarray(dose_conditions)
    if conditions.dtype.kind in "US":
        conditions = condition_codes(list(conditions.reshape(-1))).reshape(conditions.shape)
    if conditions.ndim == 1:
        conditions = conditions[np.newaxis, :]
    if conditions.ndim != 2 or conditions.dtype.kind not in "iu":
        raise ValueError("dose_conditions must be (n|1, m) integer codes or (m,) names")
    n_conditions = len(list_conditions())
    if conditions.shape[0] not in (1, base.size):
        raise ValueError(f"dose_conditions must have 1 or {base.size} rows, got {conditions.shape}")
    if np.any((conditions < 0) | (conditions >= n_conditions)):
        raise ValueError(f"dose_conditions codes must be in [0, {n_conditions})")
    m = conditions.shape[1]
    class_names = pk_classes()
    per_dose = np.array([class_names.index(c) for c in _per_dose_classes(formulation, m)])
    combined = per_dose[np.newaxis, :] * n_conditions + conditions
    used, inverse = np.unique(combined, return_inverse=True)
    names = list_conditions()
    classes = tuple((class_names[u // n_conditions], names[u % n_conditions]) for u in used)
    product = {lookup_formulation(c).pk_class: lookup_formulation(c) for c in list_formulations()}
    ka_factor = np.empty(used.size)
    lag = np.empty(used.size)
    f_factor = np.empty(used.size)
    for k, (pk_class, condition) in enumerate(classes):
        form = product[pk_class]
        effect = _catalogue().effects[pk_class, condition]
        ka_factor[k] = float(form.ka_multiplier.value) * float(effect.ka.value)
        lag[k] = float(form.lag.value) + float(effect.lag.value)
        f_factor[k] = float(form.relative_f.value) * float(effect.f.value)
    dose_class = inverse.reshape(combined.shape).astype(np.int64)
    return AbsorptionArrays(
        ka=base[:, np.newaxis] * ka_factor[np.newaxis, :],
        class_lag=lag,
        dose_class=dose_class,
        dose_f=f_factor[dose_class],
        classes=classes,
    )
