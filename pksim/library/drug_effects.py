"""Data objects of the co-medication catalogue: an effect, a catalogue entry, CYP3A turnover.

An entry's effect may depend on genotype: on CYP3A5 expresser status (``effect_expresser`` /
``effect_non_expresser``) or on CYP2C19 metaboliser status (one effect per phenotype of
:data:`CYP2C19_PHENOTYPES`, the same for both CYP3A5 groups). A subject's *genotype class*
combines both (:func:`genotype_class`); :meth:`Interaction.effect` takes the class, or a bare
CYP3A5 expresser flag where no CYP2C19 effect is involved. The catalogue itself is
:mod:`pksim.library.drugs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.errors import shown
from pksim.library.cited import (
    Cited,
    check_keys,
    finite_float,
    read_evidence,
    read_positive,
    read_sources,
)

__all__ = [
    "CYP2C19_PHENOTYPES",
    "GENOTYPE_CLASSES",
    "MECHANISMS",
    "Cyp3aTurnover",
    "Effect",
    "ExposureChange",
    "Interaction",
    "Mechanism",
    "check_exposure_changes",
    "genotype_class",
    "read_exposure_changes",
]

Mechanism = Literal["reversible_inhibition", "mechanism_based_inhibition", "induction", "none"]
MECHANISMS: tuple[str, ...] = (
    "reversible_inhibition",
    "mechanism_based_inhibition",
    "induction",
    "none",
)
CYP2C19_PHENOTYPES: tuple[str, ...] = ("normal", "intermediate", "poor")
"""CYP2C19 metaboliser status by number of loss-of-function alleles (*2, *3): 0, 1, 2."""
GENOTYPE_CLASSES = 2 * len(CYP2C19_PHENOTYPES)
"""Genotype classes: CYP3A5 expresser (0/1) + 2 x CYP2C19 phenotype code (0, 1, 2)."""


def genotype_class(expresser: ArrayLike, cyp2c19: ArrayLike) -> NDArray[np.intp]:
    """Genotype class of each subject: ``expresser + 2 * cyp2c19`` (CYP2C19 code 0 normal,
    1 intermediate, 2 poor; an unknown code -1 gives a negative class, -2 or -1, whose
    ``% 2`` is still the expresser flag)."""
    return np.asarray(expresser).astype(np.intp) + 2 * np.asarray(cyp2c19).astype(np.intp)


@dataclass(frozen=True, slots=True)
class Effect:
    """Full steady-state effect of a co-medication: multipliers on CL/F and on F (unitless)."""

    cl_multiplier: float
    f_multiplier: float
    sources: tuple[str, ...]
    evidence: str
    note: str = ""
    stated_as_exposure_ratio: bool = False

    @property
    def exposure_ratio(self) -> float:
        """Steady-state AUC ratio (with / without): ``f_multiplier / cl_multiplier``."""
        return self.f_multiplier / self.cl_multiplier

    @property
    def direction(self) -> str:
        """``"inhibitor"`` (raises exposure), ``"inducer"`` (lowers it) or ``"neutral"``."""
        if self.cl_multiplier == 1.0 and self.f_multiplier == 1.0:
            return "neutral"
        if self.cl_multiplier <= 1.0 and self.f_multiplier >= 1.0:
            return "inhibitor"
        if self.cl_multiplier >= 1.0 and self.f_multiplier <= 1.0:
            return "inducer"
        return "mixed"


@dataclass(frozen=True, slots=True)
class ExposureChange:
    """A catalogue drug's effect on the exposure of another catalogue drug (the *victim*, itself
    a reversible CYP3A inhibitor of tacrolimus): its steady-state AUC ratio (unitless).

    Scaling law (competitive inhibition, ``R = 1 + [I]/Ki`` on tacrolimus intrinsic clearance):
    changing the victim's concentration by ``exposure_ratio`` = x changes its effect ratio to
    ``R' = 1 + x (R - 1)`` (:meth:`scaled_ratio`). Assumes the victim's concentration at the
    enzyme moves in proportion to its plasma AUC and that its inhibition stays in the linear
    (``[I]/Ki``) regime the hyperbolic time course of the catalogue already assumes."""

    victim: str
    exposure_ratio: float
    sources: tuple[str, ...]
    evidence: str
    note: str = ""

    def scaled_ratio(self, effect_ratio: float) -> float:
        """``1 + x (R - 1)``: the victim's effect ratio ``R`` (1 / multiplier, unitless) when
        its exposure changes by ``x`` = :attr:`exposure_ratio`."""
        return 1.0 + self.exposure_ratio * (effect_ratio - 1.0)


@dataclass(frozen=True, slots=True)
class Interaction:
    """One catalogue entry (see ``data/interactions.toml``)."""

    name: str
    display_name: str
    aliases: tuple[str, ...]
    drug_class: str
    named_in_consensus: bool
    mechanism: Mechanism
    mechanism_source: tuple[str, ...]
    effect_non_expresser: Effect
    effect_expresser: Effect
    genotype_dependent: bool
    turnover: Literal["hepatic", "intestinal"] = "hepatic"
    onset_half_life: Cited | None = None
    offset_half_life: Cited | None = None
    effects_by_cyp2c19: tuple[Effect, ...] = ()
    residual_activity: Cited | None = None
    f_turnover: Literal["hepatic", "intestinal"] | None = None
    exposure_changes: tuple[ExposureChange, ...] = ()
    """Other catalogue drugs whose exposure this one changes (``changes_exposure_of``)."""

    @property
    def f_pool(self) -> Literal["hepatic", "intestinal"]:
        """CYP3A pool whose turnover sets the time course of the F multiplier: ``f_turnover``
        where the entry gives one (an inactivator of gut-wall CYP3A: its F effect recovers
        with intestinal enzyme resynthesis), else ``turnover`` (the CL pool)."""
        return self.f_turnover or self.turnover

    def inactivation_onset_rate(self, kdeg: float, effect: Effect) -> float:
        """Onset rate constant (1/h) of a mechanism-based inhibitor: ``kdeg / E_ss``.

        Turnover model of the active enzyme fraction E: dE/dt = kdeg (1 - E) - lambda E; while
        the inhibitor is present E relaxes at kdeg + lambda = kdeg / E_ss to its steady state
        E_ss. ``E_ss`` is the entry's cited ``residual_activity`` (a probe substrate's CYP3A
        activity left at full inactivation); without one, the effect's CL multiplier stands in
        for it (capped at 1)."""
        if self.residual_activity is not None:
            return kdeg / self.residual_activity.value
        return kdeg / min(1.0, effect.cl_multiplier)

    @property
    def cyp2c19_dependent(self) -> bool:
        """True when the effect depends on CYP2C19 metaboliser status (one per phenotype)."""
        return bool(self.effects_by_cyp2c19)

    def effect(self, genotype: bool | int) -> Effect:
        """The effect for a genotype class (:func:`genotype_class`, 0 to
        :data:`GENOTYPE_CLASSES` - 1), or for a CYP3A5 expresser flag (``True``/``False``).
        A CYP2C19-dependent entry needs the class (a bare flag names no CYP2C19 status)."""
        if isinstance(genotype, bool | np.bool_):
            if self.cyp2c19_dependent:
                raise ValueError(
                    f"{self.name}: its effect depends on CYP2C19 status; give a genotype class "
                    "(expresser + 2 x CYP2C19 code), not a CYP3A5 expresser flag"
                )
            return self.effect_expresser if genotype else self.effect_non_expresser
        code = int(genotype)
        if not 0 <= code < GENOTYPE_CLASSES:
            raise ValueError(
                f"{self.name}: genotype class must be 0 to {GENOTYPE_CLASSES - 1}, got {code}"
            )
        if self.cyp2c19_dependent:
            return self.effects_by_cyp2c19[code // 2]
        return self.effect_expresser if code % 2 else self.effect_non_expresser

    @property
    def direction(self) -> str:
        """``inhibitor``, ``inducer`` or ``neutral`` (the same for both genotypes)."""
        directions = {self.effect_non_expresser.direction, self.effect_expresser.direction}
        directions.discard("neutral")
        return directions.pop() if directions else "neutral"

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source key used by this entry, in order of first use."""
        keys: list[str] = [*self.mechanism_source]
        for item in (self.effect_non_expresser, self.effect_expresser, *self.effects_by_cyp2c19):
            keys.extend(item.sources)
        for value in (self.onset_half_life, self.offset_half_life, self.residual_activity):
            if value is not None:
                keys.extend(value.sources)
        for change in self.exposure_changes:
            keys.extend(change.sources)
        return tuple(dict.fromkeys(keys))


@dataclass(frozen=True, slots=True)
class Cyp3aTurnover:
    """CYP3A degradation half-lives (h) that set mechanism-based and induction time courses."""

    hepatic_half_life_h: float
    intestinal_half_life_h: float

    def __post_init__(self) -> None:
        for name in ("hepatic_half_life_h", "intestinal_half_life_h"):
            value = getattr(self, name)
            if not (finite_float(value) is not None and value > 0):
                raise ValueError(
                    f"Cyp3aTurnover.{name} must be a finite number > 0 h, got {shown(value)}"
                )

    def kdeg(self, site: str) -> float:
        """Degradation rate constant (1/h) of the ``"hepatic"`` or ``"intestinal"`` pool."""
        half_life = self.hepatic_half_life_h if site == "hepatic" else self.intestinal_half_life_h
        return math.log(2.0) / half_life


def read_exposure_changes(table: Any, where: str) -> tuple[ExposureChange, ...]:
    """``changes_exposure_of``: victim name -> {exposure_ratio, units, source, evidence, note}."""
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{where}: expected a table of catalogue drug names")
    out = []
    for victim, entry in table.items():
        at = f"{where}.{victim}"
        if not isinstance(entry, dict):
            raise ValueError(f"{at}: expected a table with exposure_ratio, units, source, evidence")
        check_keys(entry, ("exposure_ratio", "units", "source", "evidence", "note"), at)
        if entry.get("units") != "1":
            raise ValueError(f"{at}: units must be '1' (a dimensionless AUC ratio)")
        out.append(
            ExposureChange(
                victim=victim,
                exposure_ratio=read_positive(entry.get("exposure_ratio"), f"{at}.exposure_ratio"),
                sources=read_sources(entry.get("source"), at),
                evidence=read_evidence(entry.get("evidence"), at),
                note=str(entry.get("note", "")),
            )
        )
    return tuple(out)


def check_exposure_changes(drugs: dict[str, Interaction]) -> None:
    """Every victim of ``changes_exposure_of`` is another catalogue entry, a reversible
    inhibitor (the scaling law ``R' = 1 + x (R - 1)`` is that of reversible inhibition), whose
    scaled F effect stays positive."""
    reversible = sorted(n for n, d in drugs.items() if d.mechanism == "reversible_inhibition")
    for name, drug in drugs.items():
        for change in drug.exposure_changes:
            where = f"drugs.{name}.changes_exposure_of.{change.victim}"
            victim = drugs.get(change.victim)
            if victim is None or change.victim == name:
                raise ValueError(
                    f"{where}: must name another catalogue drug (canonical name), one of "
                    f"{', '.join(reversible)}"
                )
            if victim.mechanism != "reversible_inhibition":
                raise ValueError(
                    f"{where}: {change.victim} is {victim.mechanism}; exposure scaling applies "
                    f"to reversible inhibitors only ({', '.join(reversible)})"
                )
            effects = (victim.effect_expresser, victim.effect_non_expresser)
            for effect in (*effects, *victim.effects_by_cyp2c19):
                if change.scaled_ratio(1.0 / effect.f_multiplier) <= 0:
                    raise ValueError(
                        f"{where}: exposure_ratio {change.exposure_ratio:g} would make "
                        f"{change.victim}'s F effect (x{effect.f_multiplier:g}) non-positive"
                    )
