"""CYP3A co-medications: the cited catalogue and the time course of their effect.

The catalogue (``data/interactions.toml``) gives, per drug, the full steady-state effect on the
systemic clearance (``cl_multiplier``, applied to the model's CL/F) and on the bioavailability
of each dose (``f_multiplier``), possibly per CYP3A5 expresser status, and a mechanism class.

Time course. For each drug a *fraction of full effect* ``phi(t)`` in [0, 1] follows first-order
kinetics: while the drug is taken ``phi`` approaches 1 with rate ``k_on``; after it is stopped
``phi`` decays to 0 with rate ``k_off``, starting from the value reached (courses of the same
drug chain without stacking). The mechanism sets the rates and how ``phi`` maps to a multiplier
``m`` (``m_ss`` = full effect):

* ``reversible_inhibition``: ``phi`` is the inhibitor concentration relative to its steady
  state (accumulation and washout with the drug's own half-lives from the catalogue). Inhibition
  acts on intrinsic clearance, ``1/m = 1 + phi (1/m_ss - 1)`` (competitive inhibition,
  ``CL = CL0 / (1 + I/Ki)``).
* ``mechanism_based_inhibition`` and ``induction``: ``phi`` is the change in active CYP3A
  amount, which follows the enzyme turnover model ``dE/dt = kdeg (E_target - E) - kinact' E``;
  ``m = 1 + phi (m_ss - 1)``. Offset (re-synthesis) has ``k_off = kdeg``; induction onset has
  ``k_on = kdeg``; mechanism-based inactivation speeds the onset to ``k_on = kdeg / E_ss`` with
  ``E_ss = min(1, cl_multiplier)`` (the inactivated steady state of the same model, assuming
  CL proportional to active enzyme). ``kdeg = ln 2 / t1/2`` of hepatic (default) or intestinal
  CYP3A, configurable through :class:`Cyp3aTurnover`.
* ``none``: immediate, ``m = m_ss`` exactly while taken.

Several co-medications combine multiplicatively on CL and on F (no saturation: two strong
inhibitors together are over-predicted).

For the kernel, :func:`cl_multiplier_grid` turns the continuous CL multiplier into a
piecewise-constant one on change points chosen where each drug's ``log m`` crosses equally
spaced levels; each segment carries the time average of the multiplier (Gauss-Legendre), kept
within the segment's range, so that ``|log m_grid(t) - log m(t)| <= log_tolerance`` at every
``t`` (all drugs together).
With clearances within a factor ``exp(delta)`` of each other, the concentrations differ by at
most ``(exp(delta) - 1) * max_{s <= t} C(s)`` (compare the two ODEs: the difference obeys
``e' = -k_grid e + (k - k_grid) C``). :func:`f_multipliers` evaluates the F multiplier exactly
at dose times.

Days: co-medication day ``d`` is the interval ``[24 (d - 1), 24 d)`` h after the first
tacrolimus dose (day 1 starts at t = 0, the day-``d`` trough is sampled at ``24 d``). A course
from ``start_day`` to ``stop_day`` (inclusive) is active on ``[24 (start_day - 1), 24 stop_day)``.
"""

from __future__ import annotations

import difflib
import itertools
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.library.cited import (
    CitedValue,
    check_keys,
    is_real,
    normalize_name,
    read_cited,
    read_data,
    read_evidence,
    read_positive,
    read_sources,
)
from pksim.units import HOURS_PER_DAY

__all__ = [
    "DEFAULT_LOG_TOLERANCE",
    "MECHANISMS",
    "ClGrid",
    "CoMedication",
    "Cyp3aTurnover",
    "Effect",
    "Interaction",
    "cl_multiplier_at",
    "cl_multiplier_grid",
    "default_turnover",
    "describe_drug",
    "f_multipliers",
    "list_drugs",
    "lookup_drug",
]

Mechanism = Literal["reversible_inhibition", "mechanism_based_inhibition", "induction", "none"]
MECHANISMS: tuple[str, ...] = (
    "reversible_inhibition",
    "mechanism_based_inhibition",
    "induction",
    "none",
)

_QUADRATURE_NODES = 6
_TAIL_LOG_FLOOR = 1e-5  # log-multiplier gap below which an asymptotic approach is not refined
DEFAULT_LOG_TOLERANCE = 0.02
"""Default bound on ``|log(CL multiplier on the grid) - log(continuous multiplier)|``.

It guarantees every concentration within ``exp(0.02) - 1 = 2 %`` of the running peak of the
exact continuous-effect solution; because each segment carries the time-averaged multiplier,
the error observed on troughs is far smaller (voriconazole days 15-22, 1.5 mg BID: at most
0.034 % over 28 days, with 130 change points)."""

_DATA_FILE = "interactions.toml"
_MECHANISM_LABELS = {
    "reversible_inhibition": "reversible inhibition",
    "mechanism_based_inhibition": "mechanism-based inhibition",
    "induction": "induction",
    "none": "none (not CYP3A-mediated or negligible)",
}
_MAPPING = {
    "reversible_inhibition": "hyperbolic",
    "mechanism_based_inhibition": "linear",
    "induction": "linear",
    "none": "step",
}


# ----------------------------------------------------------------------------- data objects


@dataclass(frozen=True, slots=True)
class Effect:
    """Full steady-state effect of a co-medication: multipliers on CL/F and on F (unitless)."""

    cl_multiplier: float
    f_multiplier: float
    source: tuple[str, ...]
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
    onset_half_life: CitedValue | None = None
    offset_half_life: CitedValue | None = None

    def effect(self, expresser: bool) -> Effect:
        """The effect for a CYP3A5 expresser (``True``) or non-expresser (``False``)."""
        return self.effect_expresser if expresser else self.effect_non_expresser

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
        for item in (self.effect_non_expresser, self.effect_expresser):
            keys.extend(item.source)
        for value in (self.onset_half_life, self.offset_half_life):
            if value is not None:
                keys.extend(value.source)
        return tuple(dict.fromkeys(keys))


@dataclass(frozen=True, slots=True)
class Cyp3aTurnover:
    """CYP3A degradation half-lives (h) that set mechanism-based and induction time courses."""

    hepatic_half_life_h: float
    intestinal_half_life_h: float

    def __post_init__(self) -> None:
        for name in ("hepatic_half_life_h", "intestinal_half_life_h"):
            value = getattr(self, name)
            if not (is_real(value) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"Cyp3aTurnover.{name} must be a finite number > 0 h, got {value!r}"
                )

    def kdeg(self, site: str) -> float:
        """Degradation rate constant (1/h) of the ``"hepatic"`` or ``"intestinal"`` pool."""
        half_life = self.hepatic_half_life_h if site == "hepatic" else self.intestinal_half_life_h
        return math.log(2.0) / half_life


@dataclass(frozen=True, slots=True)
class CoMedication:
    """A course of a co-medication: taken from ``start_day`` to ``stop_day`` inclusive.

    ``drug`` is any catalogue name or alias (stored as the canonical name). ``start_day`` may be
    <= 0 (started before tacrolimus) or ``-inf`` (long established: full effect from the start);
    ``stop_day`` None means "until the end". Fractional days are allowed.
    """

    drug: str
    start_day: float = 1.0
    stop_day: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "drug", lookup_drug(self.drug).name)
        start = self.start_day
        if not is_real(start) or math.isnan(start) or start == math.inf:
            raise ValueError(
                f"co-medication {self.drug!r}: start_day must be a number or -inf, got {start!r}"
            )
        stop = self.stop_day
        if stop is not None:
            if not is_real(stop) or not math.isfinite(stop):
                raise ValueError(
                    f"co-medication {self.drug!r}: stop_day must be a finite number or absent, "
                    f"got {stop!r}"
                )
            if stop < start:
                raise ValueError(
                    f"co-medication {self.drug!r}: stop_day ({stop}) must be >= start_day ({start})"
                )

    @property
    def start_h(self) -> float:
        """Start time (h after the first tacrolimus dose)."""
        return HOURS_PER_DAY * (self.start_day - 1.0)

    @property
    def stop_h(self) -> float:
        """Stop time (h), ``inf`` when open-ended."""
        return math.inf if self.stop_day is None else HOURS_PER_DAY * self.stop_day


@dataclass(frozen=True, slots=True)
class ClGrid:
    """Piecewise-constant CL multipliers for ``pksim.model.concentrations_general``.

    ``change_times`` (c,) h ascending; ``multipliers`` (n|1, c + 1) on the segments
    (-inf, t0), [t0, t1), ..., [t_{c-1}, inf). Within ``log_tolerance`` of the continuous
    multiplier (in log) for all times >= ``t_begin`` (and <= ``t_end`` when given).
    Compactly, ``table`` (G, c + 1) holds one row per CYP3A5 group and ``rows`` (n,) each
    subject's row (None when all subjects share row 0); ``multipliers`` expands them.
    """

    change_times: NDArray[np.float64]
    table: NDArray[np.float64]
    rows: NDArray[np.intp] | None
    log_tolerance: float
    t_begin: float
    t_end: float = math.inf

    @property
    def multipliers(self) -> NDArray[np.float64]:
        """(n|1, c + 1) multipliers for ``cl_multipliers`` (one row per subject if needed)."""
        return self.table if self.rows is None else self.table[self.rows]


# ----------------------------------------------------------------------------- loading


def _effect(table: Any, where: str) -> Effect:
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table")
    check_keys(
        table,
        ("auc_ratio", "cl_multiplier", "f_multiplier", "units", "source", "evidence", "note"),
        where,
    )
    if table.get("units") != "1":
        raise ValueError(f"{where}: units must be '1' (dimensionless ratios)")
    if "auc_ratio" in table:
        if "cl_multiplier" in table or "f_multiplier" in table:
            raise ValueError(f"{where}: give either auc_ratio or cl_multiplier/f_multiplier")
        cl = 1.0 / read_positive(table["auc_ratio"], f"{where}.auc_ratio")
        f = 1.0
    else:
        if "cl_multiplier" not in table and "f_multiplier" not in table:
            raise ValueError(f"{where}: needs auc_ratio, cl_multiplier or f_multiplier")
        cl = read_positive(table.get("cl_multiplier", 1.0), f"{where}.cl_multiplier")
        f = read_positive(table.get("f_multiplier", 1.0), f"{where}.f_multiplier")
    return Effect(
        cl_multiplier=cl,
        f_multiplier=f,
        source=read_sources(table.get("source"), where),
        evidence=read_evidence(table.get("evidence"), where),
        note=str(table.get("note", "")),
        stated_as_exposure_ratio="auc_ratio" in table,
    )


_DRUG_KEYS = (
    "display_name",
    "aliases",
    "drug_class",
    "named_in_consensus",
    "mechanism",
    "mechanism_source",
    "turnover",
    "effect",
    "effect_expresser",
    "effect_non_expresser",
    "onset_half_life",
    "offset_half_life",
)


def _interaction(name: str, table: dict[str, Any]) -> Interaction:
    where = f"drugs.{name}"
    check_keys(table, _DRUG_KEYS, where)
    mechanism = table.get("mechanism")
    if mechanism not in MECHANISMS:
        raise ValueError(f"{where}: mechanism must be one of {MECHANISMS}")
    if "effect" in table:
        if "effect_expresser" in table or "effect_non_expresser" in table:
            raise ValueError(f"{where}: give effect or per-genotype effects, not both")
        non_expresser = expresser = _effect(table["effect"], f"{where}.effect")
    elif "effect_expresser" in table and "effect_non_expresser" in table:
        expresser = _effect(table["effect_expresser"], f"{where}.effect_expresser")
        non_expresser = _effect(table["effect_non_expresser"], f"{where}.effect_non_expresser")
    else:
        raise ValueError(
            f"{where}: needs effect, or both effect_expresser and effect_non_expresser"
        )
    directions = {expresser.direction, non_expresser.direction} - {"neutral"}
    if "mixed" in directions or len(directions) > 1:
        raise ValueError(
            f"{where}: an effect must raise exposure on both CL and F (inhibitor) "
            "or lower it on both (inducer), the same for both genotypes"
        )
    expected = {
        "reversible_inhibition": {"inhibitor"},
        "mechanism_based_inhibition": {"inhibitor"},
        "induction": {"inducer"},
    }.get(mechanism)
    if expected is not None and directions != expected:
        raise ValueError(f"{where}: a {mechanism} effect must be an {expected.pop()}")
    reversible = mechanism == "reversible_inhibition"
    half_lives = [table.get("onset_half_life"), table.get("offset_half_life")]
    if reversible and None in half_lives:
        raise ValueError(
            f"{where}: reversible_inhibition needs onset_half_life and offset_half_life"
        )
    if not reversible and any(value is not None for value in half_lives):
        raise ValueError(
            f"{where}: {mechanism} follows CYP3A turnover or is immediate; "
            "onset_half_life/offset_half_life are only for reversible_inhibition"
        )
    turnover = table.get("turnover", "hepatic")
    if turnover not in ("hepatic", "intestinal"):
        raise ValueError(f"{where}: turnover must be 'hepatic' or 'intestinal'")
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ValueError(f"{where}: aliases must be a list of strings")
    return Interaction(
        name=name,
        display_name=str(table.get("display_name", name)),
        aliases=tuple(aliases),
        drug_class=str(table.get("drug_class", "")),
        named_in_consensus=bool(table.get("named_in_consensus", False)),
        mechanism=mechanism,
        mechanism_source=read_sources(table.get("mechanism_source"), f"{where}.mechanism_source"),
        effect_non_expresser=non_expresser,
        effect_expresser=expresser,
        genotype_dependent=expresser != non_expresser,
        turnover=turnover,
        onset_half_life=(
            read_cited(half_lives[0], f"{where}.onset_half_life", "h") if reversible else None
        ),
        offset_half_life=(
            read_cited(half_lives[1], f"{where}.offset_half_life", "h") if reversible else None
        ),
    )


@dataclass(frozen=True, slots=True)
class _Catalogue:
    drugs: dict[str, Interaction]
    groups: dict[str, tuple[tuple[str, ...], str, str]]  # name -> (members, note, kind)
    not_catalogued: dict[str, str]  # name -> message
    index: dict[str, tuple[str, str]]  # normalized name/alias -> (kind, name)
    turnover: Cyp3aTurnover
    settings: dict[str, CitedValue]


def _register(index: dict[str, tuple[str, str]], label: str, target: tuple[str, str]) -> None:
    key = normalize_name(label)
    if key in index and index[key] != target:
        raise ValueError(f"name or alias {label!r} is used twice ({index[key]} and {target})")
    index[key] = target


@cache
def _catalogue() -> _Catalogue:
    """The parsed, validated catalogue; errors are prefixed with the data file's name."""
    try:
        return _read_catalogue(read_data(_DATA_FILE))
    except ValueError as error:
        raise ValueError(f"{_DATA_FILE}: {error}") from None


def _read_catalogue(data: dict[str, Any]) -> _Catalogue:
    check_keys(data, ("settings", "groups", "not_catalogued", "drugs"), "top level")
    settings_table = data.get("settings", {})
    check_keys(
        settings_table, ("hepatic_cyp3a_half_life", "intestinal_cyp3a_half_life"), "settings"
    )
    settings = {
        key: read_cited(settings_table.get(key), f"settings.{key}", "h")
        for key in ("hepatic_cyp3a_half_life", "intestinal_cyp3a_half_life")
    }
    drugs = {name: _interaction(name, table) for name, table in data.get("drugs", {}).items()}
    index: dict[str, tuple[str, str]] = {}
    for name, drug in drugs.items():
        for label in (name, *drug.aliases):
            _register(index, label, ("drug", name))
    groups: dict[str, tuple[tuple[str, ...], str, str]] = {}
    for name, table in data.get("groups", {}).items():
        check_keys(table, ("aliases", "members", "note"), f"groups.{name}")
        members = tuple(table.get("members", ()))
        missing = [m for m in members if m not in drugs]
        if not members or missing:
            raise ValueError(f"groups.{name}: unknown members {missing}")
        groups[name] = (members, str(table.get("note", "")), "group")
        for label in (name, *table.get("aliases", ())):
            _register(index, label, ("group", name))
    not_catalogued: dict[str, str] = {}
    for name, table in data.get("not_catalogued", {}).items():
        check_keys(table, ("aliases", "message"), f"not_catalogued.{name}")
        not_catalogued[name] = str(table["message"])
        for label in (name, *table.get("aliases", ())):
            _register(index, label, ("not_catalogued", name))
    turnover = Cyp3aTurnover(
        hepatic_half_life_h=settings["hepatic_cyp3a_half_life"].value,
        intestinal_half_life_h=settings["intestinal_cyp3a_half_life"].value,
    )
    return _Catalogue(drugs, groups, not_catalogued, index, turnover, settings)


@cache
def _references() -> dict[str, str]:
    text = resources.files("pksim").joinpath("data", "references.toml").read_text(encoding="utf-8")
    return {key: str(table.get("citation", "")) for key, table in tomllib.loads(text).items()}


# ----------------------------------------------------------------------------- registry


def list_drugs() -> list[str]:
    """Canonical names of every catalogued co-medication, sorted."""
    return sorted(_catalogue().drugs)


def default_turnover() -> Cyp3aTurnover:
    """CYP3A degradation half-lives from the catalogue (hepatic 72 h, intestinal 23 h)."""
    return _catalogue().turnover


def lookup_drug(name: str) -> Interaction:
    """The catalogue entry for a name or alias (case-insensitive; Chinese names accepted).

    Raises ValueError with "did you mean" suggestions for unknown names, the member list for a
    group name (``"fluconazole"`` -> ``fluconazole_100mg`` / ``fluconazole_200mg``), and a
    pointer for names modelled elsewhere (corticosteroids).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"co-medication name must be a non-empty string, got {name!r}")
    catalogue = _catalogue()
    hit = catalogue.index.get(normalize_name(name))
    if hit is None:
        close = difflib.get_close_matches(
            normalize_name(name), list(catalogue.index), n=3, cutoff=0.6
        )
        suggestion = "."
        if close:
            names = dict.fromkeys(
                key if catalogue.index[key][1] == key else f"{key} ({catalogue.index[key][1]})"
                for key in close
            )
            suggestion = f"; did you mean {' or '.join(repr(k) for k in names)}?"
        raise ValueError(
            f"unknown co-medication {name!r}{suggestion} Valid names: {', '.join(list_drugs())}"
        )
    kind, target = hit
    if kind == "group":
        members, note, _ = catalogue.groups[target]
        raise ValueError(
            f"{name!r} names several catalogue entries; choose one of {', '.join(members)}"
            + (f" ({note})" if note else "")
        )
    if kind == "not_catalogued":
        raise ValueError(
            f"{name!r} is not a catalogued co-medication: {catalogue.not_catalogued[target]}"
        )
    return catalogue.drugs[target]


def _format_effect(effect: Effect) -> str:
    parts = [f"CL x{effect.cl_multiplier:.4g}", f"F x{effect.f_multiplier:.4g}"]
    text = f"{', '.join(parts)} -> exposure (AUC) x{effect.exposure_ratio:.3g} [{effect.evidence}]"
    text += f" ({', '.join(effect.source)})"
    if effect.stated_as_exposure_ratio:
        text += "; source gives an exposure ratio only: placed on CL/F"
    return text


def describe_drug(name: str) -> str:
    """Human-readable description of a catalogue entry, with its sources (plain text)."""
    drug = lookup_drug(name)
    turnover = default_turnover()
    lines = [f"{drug.display_name}  [{drug.name}]"]
    if drug.aliases:
        lines.append(f"  aliases: {', '.join(drug.aliases)}")
    lines.append(
        f"  class: {drug.drug_class}; named in the Chinese LN consensus: "
        f"{'yes' if drug.named_in_consensus else 'no'}"
    )
    lines.append(
        f"  mechanism: {_MECHANISM_LABELS[drug.mechanism]} ({', '.join(drug.mechanism_source)})"
    )
    if drug.mechanism == "reversible_inhibition":
        assert drug.onset_half_life is not None and drug.offset_half_life is not None
        lines.append(
            f"  time course: onset t1/2 {drug.onset_half_life.value:g} h "
            f"[{drug.onset_half_life.evidence}], offset t1/2 {drug.offset_half_life.value:g} h "
            f"[{drug.offset_half_life.evidence}] (the drug's own accumulation and washout)"
        )
    elif drug.mechanism == "none":
        lines.append("  time course: immediate (full effect while taken)")
    else:
        half_life = (
            turnover.hepatic_half_life_h
            if drug.turnover == "hepatic"
            else turnover.intestinal_half_life_h
        )
        lines.append(
            f"  time course: follows {drug.turnover} CYP3A turnover (degradation t1/2 "
            f"{half_life:g} h)"
            + (
                "; inactivation speeds the onset"
                if drug.mechanism == "mechanism_based_inhibition"
                else ""
            )
        )
    if drug.genotype_dependent:
        for label, effect in (
            ("CYP3A5 expressers", drug.effect_expresser),
            ("non-expressers", drug.effect_non_expresser),
        ):
            lines.append(f"  {label}: {_format_effect(effect)}")
            if effect.note:
                lines.append(f"    note: {effect.note}")
    else:
        lines.append(f"  effect: {_format_effect(drug.effect_non_expresser)}")
        if drug.effect_non_expresser.note:
            lines.append(f"    note: {drug.effect_non_expresser.note}")
    references = _references()
    lines.append("  sources:")
    for key in drug.sources:
        lines.append(f"    {key}: {references.get(key, '(missing from references.toml)')}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- time course


@dataclass(frozen=True, slots=True)
class _Phase:
    """``phi(t) = target + (phi_start - target) exp(-k (t - start))`` on [start, stop)."""

    start: float
    stop: float
    target: float
    k: float  # inf for an immediate (step) effect
    phi_start: float

    def phi(self, t: np.ndarray) -> np.ndarray:
        if math.isinf(self.k) or self.phi_start == self.target:
            return np.full(np.shape(t), self.target)
        with np.errstate(over="ignore"):
            return self.target + (self.phi_start - self.target) * np.exp(-self.k * (t - self.start))

    def time_of(self, phi: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`phi` (for values strictly between phi_start and the target)."""
        return self.start + np.log((self.phi_start - self.target) / (phi - self.target)) / self.k


@dataclass(frozen=True, slots=True)
class _Course:
    """One drug for one genotype group: its phases and full-effect multipliers."""

    phases: tuple[_Phase, ...]
    cl_ss: float
    f_ss: float
    mapping: str

    def phi(self, t: np.ndarray) -> np.ndarray:
        starts = np.array([p.start for p in self.phases])
        which = np.searchsorted(starts, t, side="right") - 1
        out = np.empty(np.shape(t))
        for i, phase in enumerate(self.phases):
            mask = which == i
            if np.any(mask):
                out[mask] = phase.phi(t[mask])
        return out

    def log_multiplier(self, phi: np.ndarray, m_ss: float) -> np.ndarray:
        if self.mapping == "hyperbolic":
            return -np.log1p(phi * (1.0 / m_ss - 1.0))
        return np.log1p(phi * (m_ss - 1.0))

    def phi_of_log(self, level: np.ndarray, m_ss: float) -> np.ndarray:
        if self.mapping == "hyperbolic":
            return np.expm1(-level) / (1.0 / m_ss - 1.0)
        return np.expm1(level) / (m_ss - 1.0)


def _as_comedications(comedications: Iterable[CoMedication]) -> tuple[CoMedication, ...]:
    items = tuple(comedications)
    for item in items:
        if not isinstance(item, CoMedication):
            raise ValueError(f"co-medications must be CoMedication objects, got {item!r}")
    by_drug: dict[str, list[CoMedication]] = {}
    for item in items:
        by_drug.setdefault(item.drug, []).append(item)
    for drug, courses in by_drug.items():
        courses.sort(key=lambda c: c.start_h)
        for before, after in itertools.pairwise(courses):
            if after.start_h < before.stop_h:
                raise ValueError(
                    f"co-medication {drug!r}: courses overlap (days {before.start_day}-"
                    f"{before.stop_day} and {after.start_day}-{after.stop_day}); merge them"
                )
    return items


def _courses(
    comedications: tuple[CoMedication, ...], expresser: bool, turnover: Cyp3aTurnover
) -> list[_Course]:
    """Phases per drug for one genotype group."""
    by_drug: dict[str, list[CoMedication]] = {}
    for item in comedications:
        by_drug.setdefault(item.drug, []).append(item)
    out = []
    for drug_name in sorted(by_drug):
        drug = lookup_drug(drug_name)
        effect = drug.effect(expresser)
        if drug.mechanism == "reversible_inhibition":
            assert drug.onset_half_life is not None and drug.offset_half_life is not None
            k_on = math.log(2.0) / drug.onset_half_life.value
            k_off = math.log(2.0) / drug.offset_half_life.value
        elif drug.mechanism == "none":
            k_on = k_off = math.inf
        else:
            kdeg = turnover.kdeg(drug.turnover)
            k_off = kdeg
            k_on = kdeg
            if drug.mechanism == "mechanism_based_inhibition":
                k_on = kdeg / min(1.0, effect.cl_multiplier)
        intervals = sorted((c.start_h, c.stop_h) for c in by_drug[drug_name])
        phases: list[_Phase] = []
        t, phi = -math.inf, 0.0
        for start, stop in intervals:
            if start > t:  # off phase before this course
                off = _Phase(t, start, 0.0, k_off, phi)
                phases.append(off)
                phi = float(off.phi(np.array(start))) if math.isfinite(t) else 0.0
            if start == -math.inf:
                phi = 1.0
            on = _Phase(start, stop, 1.0, k_on, phi)
            phases.append(on)
            phi = float(on.phi(np.array(stop))) if math.isfinite(stop) else 1.0
            t = stop
        if math.isfinite(t):
            phases.append(_Phase(t, math.inf, 0.0, k_off, phi))
        out.append(
            _Course(
                tuple(phases), effect.cl_multiplier, effect.f_multiplier, _MAPPING[drug.mechanism]
            )
        )
    return out


def _genotype_rows(
    comedications: tuple[CoMedication, ...], expresser: ArrayLike
) -> tuple[tuple[bool, ...], np.ndarray | None]:
    """Genotype groups needing their own row, and each subject's row (None: one shared row)."""
    flags = np.asarray(expresser)
    if flags.dtype != np.bool_ or flags.ndim > 1:
        raise ValueError(
            "expresser must be a bool or a 1-D bool array (CYP3A5 expresser per subject), "
            f"got dtype {flags.dtype} and shape {flags.shape}"
        )
    dependent = any(lookup_drug(c.drug).genotype_dependent for c in comedications)
    if not dependent:
        return (False,), None
    if flags.ndim == 0:
        return (bool(flags),), None
    return (False, True), flags.astype(np.intp)


def _check_times(name: str, times: ArrayLike) -> np.ndarray:
    array = np.asarray(times, dtype=np.float64)
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (s,) or 2-D (n|1, s) in h, got shape {array.shape}")
    return array


def cl_multiplier_at(
    comedications: Iterable[CoMedication],
    times: ArrayLike,
    expresser: ArrayLike = False,
    *,
    turnover: Cyp3aTurnover | None = None,
) -> NDArray[np.float64]:
    """Continuous CL multiplier of all co-medications at ``times`` (h).

    ``times`` (s,); ``expresser`` a bool or (n,) bools. Returns (1, s), or (n, s) when a
    genotype-dependent drug is present and ``expresser`` is an array.
    """
    items = _as_comedications(comedications)
    turnover = turnover or default_turnover()
    t = _check_times("times", times)
    if t.ndim != 1:
        raise ValueError(f"times must be 1-D (s,), got shape {t.shape}")
    groups, rows = _genotype_rows(items, expresser)
    table = np.zeros((len(groups), t.size))
    for g, flag in enumerate(groups):
        for course in _courses(items, flag, turnover):
            table[g] += course.log_multiplier(course.phi(t), course.cl_ss)
    table = np.exp(table)
    return table if rows is None else table[rows]


def f_multipliers(
    comedications: Iterable[CoMedication],
    dose_times: ArrayLike,
    expresser: ArrayLike = False,
    *,
    turnover: Cyp3aTurnover | None = None,
) -> NDArray[np.float64]:
    """Bioavailability multiplier of each dose from the co-medications (for ``dose_f``).

    ``dose_times`` (m,) or (n|1, m) h, NaN = no dose (multiplier 1). The effect is evaluated at
    the dose time (right-continuous: a dose given exactly when an immediate-effect drug starts
    gets the effect). Returns (1, m) or (n, m).
    """
    items = _as_comedications(comedications)
    turnover = turnover or default_turnover()
    times = _check_times("dose_times", dose_times)
    times = times[np.newaxis, :] if times.ndim == 1 else times
    given = ~np.isnan(times)
    groups, rows = _genotype_rows(items, expresser)
    if rows is not None and times.shape[0] not in (1, rows.size):
        raise ValueError(
            f"dose_times must have 1 or {rows.size} rows (one per subject), got {times.shape[0]}"
        )
    flat = np.where(given, times, 0.0).reshape(-1)
    table = np.zeros((len(groups), flat.size))
    for g, flag in enumerate(groups):
        for course in _courses(items, flag, turnover):
            if course.f_ss != 1.0:
                table[g] += course.log_multiplier(course.phi(flat), course.f_ss)
    table = table.reshape(len(groups), *times.shape)
    if rows is None:
        out = np.exp(table[0])
    elif times.shape[0] == 1:
        out = np.exp(table[rows, 0, :])
    else:
        out = np.exp(table[rows, np.arange(rows.size), :])
    return np.where(given, out, 1.0)


def _level_times(course: _Course, delta: float, t_begin: float, t_end: float) -> list[float]:
    """Change points of one drug where log(CL multiplier) crosses levels ``delta`` apart.

    The last level interval of each phase is further cut at levels halving the remaining gap
    down to ``_TAIL_LOG_FLOOR``: a phase that approaches its target for a long time (a new
    steady state, a washout) would otherwise end in one long segment carrying a biased
    average."""
    points: list[float] = []
    for phase in course.phases:
        if phase.stop <= t_begin or phase.start >= t_end:
            continue
        points.extend(t for t in (phase.start, phase.stop) if math.isfinite(t))
        if math.isinf(phase.k) or course.cl_ss == 1.0 or phase.phi_start == phase.target:
            continue
        phi_end = phase.target if math.isinf(phase.stop) else float(phase.phi(np.array(phase.stop)))
        log_start = float(course.log_multiplier(np.array(phase.phi_start), course.cl_ss))
        log_end = float(course.log_multiplier(np.array(phi_end), course.cl_ss))
        span = abs(log_end - log_start)
        steps = math.ceil(span / delta)
        fractions = list(np.arange(1, steps) / steps)
        halvings = max(0, math.ceil(math.log2(span / steps / _TAIL_LOG_FLOOR)))
        fractions.extend(1.0 - 0.5 ** np.arange(1, halvings + 1) / steps)
        if not fractions:
            continue
        levels = log_start + (log_end - log_start) * np.array(fractions)
        times = phase.time_of(course.phi_of_log(levels, course.cl_ss))
        points.extend(float(t) for t in times if phase.start < t < phase.stop)
    return points


def cl_multiplier_grid(
    comedications: Iterable[CoMedication],
    expresser: ArrayLike = False,
    *,
    turnover: Cyp3aTurnover | None = None,
    log_tolerance: float = DEFAULT_LOG_TOLERANCE,
    t_begin: float = 0.0,
    t_end: float | None = None,
) -> ClGrid:
    """Piecewise-constant CL multiplier for the kernel (``cl_change_times``, ``cl_multipliers``).

    The change points are where each drug's ``log`` multiplier crosses equally spaced levels, and
    each segment takes the mid-range value, so for every ``t`` in ``[t_begin, t_end]``
    ``|log grid(t) - log continuous(t)| <= log_tolerance`` (the tolerance is shared among the
    drugs with a gradual CL effect). Immediate (``none``) effects switch exactly at their start
    and stop. ``expresser``: bool or (n,) bools; rows are per subject only when needed.
    """
    items = _as_comedications(comedications)
    turnover = turnover or default_turnover()
    if not (isinstance(log_tolerance, int | float) and 0 < log_tolerance < 1):
        raise ValueError(f"log_tolerance must be in (0, 1), got {log_tolerance!r}")
    if not (isinstance(t_begin, int | float) and math.isfinite(t_begin)):
        raise ValueError(f"t_begin must be a finite time in h, got {t_begin!r}")
    end = math.inf if t_end is None else float(t_end)
    if not end > t_begin:
        raise ValueError(f"t_end must be > t_begin ({t_begin} h), got {t_end!r}")
    groups, rows = _genotype_rows(items, expresser)
    per_group = [_courses(items, flag, turnover) for flag in groups]
    gradual = {
        item.drug
        for item in items
        if lookup_drug(item.drug).mechanism != "none"
        and any(lookup_drug(item.drug).effect(flag).cl_multiplier != 1.0 for flag in groups)
    }
    delta = log_tolerance / max(1, len(gradual))
    points: set[float] = set()
    for courses in per_group:
        for course in courses:
            points.update(_level_times(course, delta, t_begin, end))
    change = np.array(sorted(t for t in points if t_begin < t < end))
    left = np.concatenate(([t_begin], change))
    right = np.concatenate((change, [end]))
    bounded = np.isfinite(right)
    # Gauss-Legendre nodes on each bounded segment: the segment value is the time average of
    # the multiplier, so that the integral of CL over every segment is (nearly) exact.
    nodes, weights = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    width = (right - left)[bounded]
    at = left[bounded, None] + 0.5 * width[:, None] * (nodes[None, :] + 1.0)
    table = np.zeros((len(groups), left.size))
    for g, courses in enumerate(per_group):
        low = np.zeros(left.size)
        high = np.zeros(left.size)
        log_nodes = np.zeros(at.shape)
        for course in courses:
            if course.cl_ss == 1.0:
                continue
            phi_left = course.phi(left)
            phi_right = np.empty_like(right)
            phi_right[bounded] = course.phi(right[bounded])
            phi_right[~bounded] = course.phases[-1].target
            if course.mapping == "step":  # constant within each segment
                phi_right = phi_left
            ends = np.stack(
                (
                    course.log_multiplier(phi_left, course.cl_ss),
                    course.log_multiplier(phi_right, course.cl_ss),
                )
            )
            low += ends.min(axis=0)
            high += ends.max(axis=0)
            log_nodes += course.log_multiplier(course.phi(at.reshape(-1)), course.cl_ss).reshape(
                at.shape
            )
        mean = np.log(0.5 * (np.exp(log_nodes) @ weights))
        table[g] = 0.5 * (low + high)  # unbounded last segment: mid-range
        table[g, bounded] = np.clip(mean, low[bounded], high[bounded])
    multipliers = np.exp(table)
    for array in (multipliers, change, rows):
        if array is not None:
            array.setflags(write=False)
    return ClGrid(change, multipliers, rows, float(log_tolerance), float(t_begin), end)
