"""Absorption of each dose: the food condition it is taken under, and the kernel's arrays.

:func:`draw_dose_conditions` turns a fraction of the doses that follow the consensus rule ("1 h
before or 2 h after a meal") into doses taken with a meal, reproducibly (stream
``"food_adherence"`` of :func:`pksim.rng.draw`). :func:`absorption_arrays` combines each dose's
food condition with the formulation (:mod:`pksim.library.food`,
:mod:`pksim.library.formulations`) into the kernel's ``ka`` (n, K), ``class_lag`` (K,),
``dose_class`` and ``dose_f`` for ``pksim.model.concentrations_general``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim import rng
from pksim.checks import check_keys, get_number, get_str, get_tables
from pksim.dosing.regimen import clock_hours, format_clock
from pksim.errors import Problems, collect, shown
from pksim.library import food
from pksim.library.cited import is_real
from pksim.library.formulations import list_formulations, lookup_formulation, pk_classes

__all__ = ["AbsorptionArrays", "FoodPlan", "absorption_arrays", "draw_dose_conditions"]

FOOD_KEYS = ("condition", "meals", "fraction_against_rule", "violation")
"""Keys of a scenario's ``[food]`` table."""
MEAL_KEYS = ("clock", "kind")
"""Keys of one of its ``meals``."""


@dataclass(frozen=True, slots=True)
class FoodPlan:
    """When doses are taken relative to meals.

    Either one ``condition`` for every dose, or daily ``meals`` from which each dose's
    condition follows by its clock time (:func:`pksim.library.food.conditions_from_schedule`).
    A fraction of the doses that follow the rule is taken under ``violation`` instead.
    """

    condition: str | None = "fasted"
    meals: tuple[food.Meal, ...] = ()
    fraction_against_rule: float = 0.0
    violation: str = "with_meal"

    @classmethod
    def from_mapping(cls, table: Mapping, where: str, problems: Problems) -> FoodPlan:
        """The plan of a scenario's ``[food]`` table; problems are added under ``where``."""
        check_keys(table, FOOD_KEYS, where, problems)
        conditions = food.list_conditions()
        condition = get_str(
            table,
            "condition",
            where,
            problems,
            default=None,
            choices=conditions,
            kind="food condition",
        )
        meals = _meals(get_tables(table, "meals", where, problems), f"{where}.meals", problems)
        if condition is not None and meals:
            problems.add(where, "give either condition or meals, not both")
        fraction = get_number(
            table, "fraction_against_rule", where, problems, default=0.0, minimum=0.0, maximum=1.0
        )
        breaking = [c for c in conditions if not food.lookup_condition(c).complies]
        violation = get_str(
            table,
            "violation",
            where,
            problems,
            default="with_meal",
            choices=breaking,
            kind="food condition that breaks the dosing rule",
        )
        if "condition" not in table and not meals:
            condition = "fasted"
        return cls(
            condition=condition,
            meals=tuple(meals),
            fraction_against_rule=fraction,
            violation=violation,
        )


def _meals(tables: list[Mapping], where: str, problems: Problems) -> list[food.Meal]:
    """The meals of a ``[food]`` table: at most :data:`~pksim.library.food.MAX_MEALS_PER_DAY`,
    each at its own clock time."""
    if len(tables) > food.MAX_MEALS_PER_DAY:
        problems.add(where, f"at most {food.MAX_MEALS_PER_DAY} meals a day, got {len(tables)}")
        return []
    meals: list[food.Meal] = []
    seen: dict[float, int] = {}
    for index, meal in enumerate(tables):
        here = f"{where}[{index}]"
        check_keys(meal, MEAL_KEYS, here, problems)
        clock = clock_hours(meal.get("clock"))
        if clock is None:
            problems.add(
                f"{here}.clock",
                'must be a clock time "HH:MM" (00:00 to 23:59, to the minute), got '
                f"{shown(meal.get('clock'))}",
            )
            continue
        if clock in seen:
            problems.add(
                f"{here}.clock",
                f"meals must have distinct clock times; {where}[{seen[clock]}] is also at "
                f"{format_clock(clock)}",
            )
            continue
        seen[clock] = index
        built = collect(problems, here, food.Meal, clock, meal.get("kind", "standard"))
        if built is not None:
            meals.append(built)
    return meals


@dataclass(frozen=True, slots=True)
class AbsorptionArrays:
    """Kernel inputs for per-dose absorption (see ``concentrations_general``).

    ``ka`` (n, K) 1/h; ``class_lag`` (K,) h; ``dose_class`` (n|1, m) int64 in [0, K);
    ``dose_f`` (n|1, m) relative bioavailability (formulation, CYP3A5-dependent where the
    formulation says so, x food); ``classes`` the
    (formulation class, condition) of each of the K absorption classes.
    """

    ka: NDArray[np.float64]
    class_lag: NDArray[np.float64]
    dose_class: NDArray[np.int64]
    dose_f: NDArray[np.float64]
    classes: tuple[tuple[str, str], ...]


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
    codes = food.condition_codes(planned)
    if not is_real(fraction_against_rule) or not 0.0 <= fraction_against_rule <= 1.0:
        raise ValueError(
            f"fraction_against_rule must be a number in [0, 1], got {shown(fraction_against_rule)}"
        )
    replacement = food.lookup_condition(violation)
    if replacement.complies:
        raise ValueError(
            f"violation must be a condition that breaks the rule, one of "
            f"{[c for c in food.list_conditions() if not food.lookup_condition(c).complies]}; "
            f"got {shown(violation)}"
        )
    if fraction_against_rule == 0.0:
        return codes[np.newaxis, :]
    m = codes.size

    def sampler(generator: np.random.Generator, size: int) -> np.ndarray:
        return generator.random((m, size)).T

    uniform = rng.draw(seed, "food_adherence", start, stop, sampler)
    complies = np.array([food.lookup_condition(name).complies for name in planned], dtype=bool)
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
    expresser: ArrayLike | None = None,
) -> AbsorptionArrays:
    """Kernel absorption inputs from per-dose conditions and the formulation.

    ``ka`` (n,) the subjects' IR absorption rate constants (1/h); ``dose_conditions`` (n|1, m)
    integer codes (see :func:`draw_dose_conditions`) or (m,) names; ``formulation`` a product
    name or one per dose column (a conversion during the course); ``expresser`` (n,) booleans,
    the subjects' CYP3A5 expresser status (None: every subject a non-expresser). Each dose's F
    is the formulation's relative F (times its CYP3A5-expresser multiplier in expressers) times
    the food F multiplier; its absorption class carries ``ka x formulation multiplier x food
    multiplier`` and ``formulation lag + food lag``.
    """
    base = np.asarray(ka, dtype=np.float64)
    if base.ndim != 1 or not np.all(np.isfinite(base) & (base > 0)):
        raise ValueError("ka must be a 1-D array of finite values > 0 (1/h), one per subject")
    flags = _expresser_flags(expresser, base.size)
    conditions = np.asarray(dose_conditions)
    if conditions.dtype.kind in "US":
        conditions = food.condition_codes(list(conditions.reshape(-1))).reshape(conditions.shape)
    if conditions.ndim == 1:
        conditions = conditions[np.newaxis, :]
    if conditions.ndim != 2 or conditions.dtype.kind not in "iu":
        raise ValueError("dose_conditions must be (n|1, m) integer codes or (m,) names")
    n_conditions = len(food.list_conditions())
    if conditions.shape[0] not in (1, base.size):
        raise ValueError(f"dose_conditions must have 1 or {base.size} rows, got {conditions.shape}")
    if np.any((conditions < 0) | (conditions >= n_conditions)):
        raise ValueError(f"dose_conditions codes must be in [0, {n_conditions})")
    m = conditions.shape[1]
    class_names = pk_classes()
    per_dose = np.array([class_names.index(c) for c in _per_dose_classes(formulation, m)])
    combined = per_dose[np.newaxis, :] * n_conditions + conditions
    used, inverse = np.unique(combined, return_inverse=True)
    names = food.list_conditions()
    classes = tuple((class_names[u // n_conditions], names[u % n_conditions]) for u in used)
    product = {lookup_formulation(c).pk_class: lookup_formulation(c) for c in list_formulations()}
    ka_factor = np.empty(used.size)
    lag = np.empty(used.size)
    f_factor = np.empty(used.size)
    for k, (pk_class, condition) in enumerate(classes):
        form = product[pk_class]
        effect = food.lookup_effect(pk_class, condition)
        ka_factor[k] = float(form.ka_multiplier.value) * float(effect.ka.value)
        lag[k] = float(form.lag.value) + float(effect.lag.value)
        f_factor[k] = float(form.relative_f.value) * float(effect.f.value)
    dose_class = inverse.reshape(combined.shape).astype(np.int64)
    dose_f = f_factor[dose_class]
    expresser_factor = np.array([product[c].expresser_f_multiplier for c, _ in classes])
    if flags is not None and flags.any() and np.any(expresser_factor != 1.0):
        # Expressers' doses of a class with a genotype-dependent F: one row per subject.
        dose_f = np.where(flags[:, np.newaxis], dose_f * expresser_factor[dose_class], dose_f)
    return AbsorptionArrays(
        ka=base[:, np.newaxis] * ka_factor[np.newaxis, :],
        class_lag=lag,
        dose_class=dose_class,
        dose_f=dose_f,
        classes=classes,
    )


def _expresser_flags(expresser: ArrayLike | None, n: int) -> NDArray[np.bool_] | None:
    """The (n,) CYP3A5 expresser flags, checked; None when not given."""
    if expresser is None:
        return None
    flags = np.asarray(expresser)
    if flags.dtype != np.bool_ or flags.shape != (n,):
        raise ValueError(
            f"expresser must be a 1-D boolean array with one value per subject ({n}), got "
            f"dtype {flags.dtype} and shape {flags.shape}"
        )
    return flags
