"""Tacrolimus oral formulations: products, strengths and their absorption relative to IR.

Data: ``data/formulations.toml``. A *product* (Prograf, Advagraf, Astagraf XL, Envarsus) has a
pharmacokinetic class (``ir``, ``pr``, ``lcp``) that sets its relative bioavailability (``dose_f``
multiplier), its absorption rate relative to the subject's IR ``ka``, an extra lag (h), the
allowed doses per day, the labelled conversion factor from an IR total daily dose and, where the
evidence gives one, a further multiplier on F in CYP3A5 expressers
(:meth:`Formulation.relative_f_for`). Food effects per class live in :mod:`pksim.food`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from pksim.errors import shown, unknown_name
from pksim.library.cited import (
    Cited,
    check_keys,
    finite_float,
    normalize_name,
    read_cited,
    read_data,
)

__all__ = [
    "Formulation",
    "capsule_strengths",
    "check_doses_per_day",
    "converted_daily_dose",
    "doses_per_day_problem",
    "list_formulations",
    "lookup_formulation",
]

_DATA_FILE = "formulations.toml"


# ----------------------------------------------------------------------------- formulations


@dataclass(frozen=True, slots=True)
class Formulation:
    """A tacrolimus product and the absorption behaviour of its class, relative to IR."""

    name: str
    display_name: str
    aliases: tuple[str, ...]
    pk_class: str
    description: str
    doses_per_day: tuple[int, ...]
    capsule_strengths: Cited
    relative_f: Cited
    ka_multiplier: Cited
    lag: Cited
    conversion_from_ir: Cited
    cyp3a5_expresser_f: Cited | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source key behind this formulation's numbers."""
        keys: list[str] = []
        for value in (
            self.capsule_strengths,
            self.relative_f,
            self.ka_multiplier,
            self.lag,
            self.conversion_from_ir,
            self.cyp3a5_expresser_f,
        ):
            if value is not None:
                keys.extend(value.sources)
        return tuple(dict.fromkeys(keys))

    @property
    def expresser_f_multiplier(self) -> float:
        """Multiplier on :attr:`relative_f` in CYP3A5 expressers (1 when the class has none)."""
        return 1.0 if self.cyp3a5_expresser_f is None else float(self.cyp3a5_expresser_f.value)

    def relative_f_for(self, expresser: bool) -> float:
        """Relative F of one dose (vs fasting IR) for a CYP3A5 expresser or non-expresser."""
        if not isinstance(expresser, bool | np.bool_):
            raise ValueError(f"expresser must be true or false, got {shown(expresser)}")
        factor = self.expresser_f_multiplier if expresser else 1.0
        return float(self.relative_f.value) * factor

    @property
    def strengths_mg(self) -> tuple[float, ...]:
        """Capsule/tablet strengths (mg), ascending."""
        value = self.capsule_strengths.value
        return value if isinstance(value, tuple) else (value,)


@dataclass(frozen=True, slots=True)
class _Catalogue:
    products: dict[str, Formulation]
    index: dict[str, str]


@cache
def _catalogue() -> _Catalogue:
    data = read_data(_DATA_FILE)
    check_keys(data, ("pk_classes", "products"), _DATA_FILE)
    classes: dict[str, dict[str, Any]] = {}
    for name, table in data.get("pk_classes", {}).items():
        where = f"{_DATA_FILE}: pk_classes.{name}"
        check_keys(
            table,
            (
                "description",
                "doses_per_day",
                "relative_f",
                "ka_multiplier",
                "lag",
                "conversion_from_ir",
                "cyp3a5_expresser_f",
            ),
            where,
        )
        doses = table.get("doses_per_day")
        if (
            not isinstance(doses, list)
            or not doses
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in doses)
        ):
            raise ValueError(f"{where}: doses_per_day must be a list of positive integers")
        classes[name] = {
            "description": str(table.get("description", "")),
            "doses_per_day": tuple(doses),
            "relative_f": read_cited(
                table.get("relative_f"), f"{where}.relative_f", "1", minimum=0
            ),
            "ka_multiplier": read_cited(
                table.get("ka_multiplier"), f"{where}.ka_multiplier", "1", minimum=0
            ),
            "lag": read_cited(table.get("lag"), f"{where}.lag", "h", minimum=0, exclusive=False),
            "conversion_from_ir": read_cited(
                table.get("conversion_from_ir"), f"{where}.conversion_from_ir", "1", minimum=0
            ),
            "cyp3a5_expresser_f": None
            if table.get("cyp3a5_expresser_f") is None
            else read_cited(
                table["cyp3a5_expresser_f"], f"{where}.cyp3a5_expresser_f", "1", minimum=0
            ),
        }
    products: dict[str, Formulation] = {}
    index: dict[str, str] = {}
    for name, table in data.get("products", {}).items():
        where = f"{_DATA_FILE}: products.{name}"
        check_keys(table, ("display_name", "pk_class", "aliases", "capsule_strengths"), where)
        pk_class = table.get("pk_class")
        if pk_class not in classes:
            raise ValueError(f"{where}: pk_class must be one of {sorted(classes)}")
        aliases = tuple(table.get("aliases", ()))
        products[name] = Formulation(
            name=name,
            display_name=str(table.get("display_name", name)),
            aliases=aliases,
            pk_class=pk_class,
            capsule_strengths=read_cited(
                table.get("capsule_strengths"),
                f"{where}.capsule_strengths",
                "mg",
                minimum=0,
                many=True,
            ),
            **classes[pk_class],
        )
        for label in (name, *aliases):
            key = normalize_name(label)
            if index.get(key, name) != name:
                raise ValueError(f"{where}: alias {label!r} already names {index[key]!r}")
            index[key] = name
    return _Catalogue(products, index)


def pk_classes() -> list[str]:
    """The formulation classes (``ir``, ``pr``, ``lcp``) in data-file order."""
    return list(dict.fromkeys(f.pk_class for f in _catalogue().products.values()))


def list_formulations() -> list[str]:
    """Canonical product names, sorted."""
    return sorted(_catalogue().products)


def lookup_formulation(name: str) -> Formulation:
    """The product for a name or alias (case-insensitive); ValueError with did-you-mean."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"formulation name must be a non-empty string, got {shown(name)}")
    catalogue = _catalogue()
    key = catalogue.index.get(normalize_name(name))
    if key is None:
        raise ValueError(
            unknown_name("formulation", name, list_formulations(), aliases=catalogue.index)
        )
    return catalogue.products[key]


def capsule_strengths(formulation: str) -> tuple[float, ...]:
    """Available capsule/tablet strengths (mg), ascending, for dose rounding."""
    return lookup_formulation(formulation).strengths_mg


def doses_per_day_problem(formulation: str, doses_per_day: int) -> str | None:
    """Why the product cannot be given ``doses_per_day`` times a day, or None if it can."""
    product = lookup_formulation(formulation)
    if doses_per_day in product.doses_per_day:
        return None
    allowed = " or ".join(str(d) for d in product.doses_per_day)
    return (
        f"{product.name} is taken {allowed} time(s) a day, not {shown(doses_per_day)} "
        f"({product.description})"
    )


def check_doses_per_day(formulation: str, doses_per_day: int) -> None:
    """Raise ValueError unless the product is given ``doses_per_day`` times a day."""
    problem = doses_per_day_problem(formulation, doses_per_day)
    if problem:
        raise ValueError(problem)


def converted_daily_dose(ir_daily_dose_mg: float, formulation: str) -> float:
    """Labelled daily dose (mg) of ``formulation`` when converting from an IR daily dose."""
    if finite_float(ir_daily_dose_mg) is None or ir_daily_dose_mg < 0:
        raise ValueError(
            f"ir_daily_dose_mg must be a finite number >= 0 mg, got {shown(ir_daily_dose_mg)}"
        )
    return float(ir_daily_dose_mg) * lookup_formulation(formulation).conversion_from_ir.value
