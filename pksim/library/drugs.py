"""The CYP3A co-medication catalogue: cited effects of each drug, looked up by name or alias.

Data: ``data/interactions.toml``. Per drug: the full steady-state effect on the systemic clearance
(``cl_multiplier``, applied to the model's CL/F) and on the bioavailability of each dose
(``f_multiplier``), possibly per CYP3A5 expresser status, a mechanism class and, for reversible
inhibitors, the drug's own onset and offset half-lives. Names resolve case-insensitively,
through aliases and the Chinese names of the LN consensus; group names (``fluconazole``) list
their members; drugs modelled elsewhere (corticosteroids) point there. How an effect develops
over time is :mod:`pksim.modifiers.interactions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from pksim.errors import shown, unknown_name
from pksim.library.cited import (
    check_keys,
    citation,
    normalize_name,
    read_cited,
    read_data,
    read_evidence,
    read_positive,
    read_sources,
)
from pksim.library.drug_effects import (
    CYP2C19_PHENOTYPES,
    GENOTYPE_CLASSES,
    MECHANISMS,
    Cyp3aTurnover,
    Effect,
    ExposureChange,
    Interaction,
    Mechanism,
    check_exposure_changes,
    genotype_class,
    read_exposure_changes,
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
    "default_turnover",
    "describe_drug",
    "genotype_class",
    "list_drugs",
    "lookup_drug",
]

_DATA_FILE = "interactions.toml"
_MECHANISM_LABELS = {
    "reversible_inhibition": "reversible inhibition",
    "mechanism_based_inhibition": "mechanism-based inhibition",
    "induction": "induction",
    "none": "none (not CYP3A-mediated or negligible)",
}


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
        sources=read_sources(table.get("source"), where),
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
    "f_turnover",
    "effect",
    "effect_expresser",
    "effect_non_expresser",
    *(f"effect_cyp2c19_{phenotype}" for phenotype in CYP2C19_PHENOTYPES),
    "onset_half_life",
    "offset_half_life",
    "residual_cyp3a_activity",
    "changes_exposure_of",
)


def _interaction(name: str, table: dict[str, Any]) -> Interaction:
    where = f"drugs.{name}"
    check_keys(table, _DRUG_KEYS, where)
    mechanism = table.get("mechanism")
    if mechanism not in MECHANISMS:
        raise ValueError(f"{where}: mechanism must be one of {MECHANISMS}")
    by_cyp2c19 = [f"effect_cyp2c19_{phenotype}" for phenotype in CYP2C19_PHENOTYPES]
    given = [key for key in ("effect", "effect_expresser", *by_cyp2c19) if key in table]
    cyp2c19_effects: tuple[Effect, ...] = ()
    if any(key in table for key in by_cyp2c19):
        if given != by_cyp2c19 or "effect_non_expresser" in table:
            raise ValueError(
                f"{where}: per-CYP2C19 effects need all of {by_cyp2c19} and no other effect"
            )
        cyp2c19_effects = tuple(_effect(table[key], f"{where}.{key}") for key in by_cyp2c19)
        non_expresser = expresser = cyp2c19_effects[0]
    elif "effect" in table:
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
    directions = {e.direction for e in (expresser, non_expresser, *cyp2c19_effects)} - {"neutral"}
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
    residual = table.get("residual_cyp3a_activity")
    if residual is not None and mechanism != "mechanism_based_inhibition":
        raise ValueError(f"{where}: residual_cyp3a_activity is only for mechanism_based_inhibition")
    residual_activity = (
        None
        if residual is None
        else read_cited(residual, f"{where}.residual_cyp3a_activity", "1", minimum=0)
    )
    if residual_activity is not None and not 0 < residual_activity.value <= 1:
        raise ValueError(
            f"{where}.residual_cyp3a_activity: must be in (0, 1], got {residual_activity.value}"
        )
    turnover = table.get("turnover", "hepatic")
    if turnover not in ("hepatic", "intestinal"):
        raise ValueError(f"{where}: turnover must be 'hepatic' or 'intestinal'")
    f_turnover = table.get("f_turnover")
    if f_turnover is not None:
        if f_turnover not in ("hepatic", "intestinal"):
            raise ValueError(f"{where}: f_turnover must be 'hepatic' or 'intestinal'")
        if mechanism not in ("mechanism_based_inhibition", "induction"):
            raise ValueError(
                f"{where}: f_turnover is only for effects that follow CYP3A turnover "
                "(mechanism_based_inhibition, induction)"
            )
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
        genotype_dependent=expresser != non_expresser or len(set(cyp2c19_effects)) > 1,
        effects_by_cyp2c19=cyp2c19_effects if len(set(cyp2c19_effects)) > 1 else (),
        residual_activity=residual_activity,
        turnover=turnover,
        f_turnover=f_turnover,
        exposure_changes=(
            read_exposure_changes(table["changes_exposure_of"], f"{where}.changes_exposure_of")
            if "changes_exposure_of" in table
            else ()
        ),
        onset_half_life=(
            read_cited(half_lives[0], f"{where}.onset_half_life", "h", minimum=0)
            if reversible
            else None
        ),
        offset_half_life=(
            read_cited(half_lives[1], f"{where}.offset_half_life", "h", minimum=0)
            if reversible
            else None
        ),
    )


@dataclass(frozen=True, slots=True)
class _Catalogue:
    drugs: dict[str, Interaction]
    groups: dict[str, tuple[tuple[str, ...], str, str]]  # name -> (members, note, kind)
    not_catalogued: dict[str, str]  # name -> message
    index: dict[str, tuple[str, str]]  # normalized name/alias -> (kind, name)
    turnover: Cyp3aTurnover


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
        key: read_cited(settings_table.get(key), f"settings.{key}", "h", minimum=0)
        for key in ("hepatic_cyp3a_half_life", "intestinal_cyp3a_half_life")
    }
    drugs = {name: _interaction(name, table) for name, table in data.get("drugs", {}).items()}
    check_exposure_changes(drugs)
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
    return _Catalogue(drugs, groups, not_catalogued, index, turnover)


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
        raise ValueError(f"co-medication name must be a non-empty string, got {shown(name)}")
    catalogue = _catalogue()
    hit = catalogue.index.get(normalize_name(name))
    if hit is None:
        aliases = {label: target for label, (_, target) in catalogue.index.items()}
        raise ValueError(unknown_name("co-medication", name, list_drugs(), aliases=aliases))
    kind, target = hit
    if kind == "group":
        members, note, _ = catalogue.groups[target]
        raise ValueError(
            f"{shown(name)} names several catalogue entries; choose one of {', '.join(members)}"
            + (f" ({note})" if note else "")
        )
    if kind == "not_catalogued":
        raise ValueError(
            f"{shown(name)} is not a catalogued co-medication: {catalogue.not_catalogued[target]}"
        )
    return catalogue.drugs[target]


def _format_effect(effect: Effect) -> str:
    parts = [f"CL x{effect.cl_multiplier:.4g}", f"F x{effect.f_multiplier:.4g}"]
    text = f"{', '.join(parts)} -> exposure (AUC) x{effect.exposure_ratio:.3g} [{effect.evidence}]"
    text += f" ({', '.join(effect.sources)})"
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
        if drug.f_pool != drug.turnover:
            f_half_life = math.log(2.0) / turnover.kdeg(drug.f_pool)
            lines.append(
                f"  F effect: follows {drug.f_pool} CYP3A turnover (degradation t1/2 "
                f"{f_half_life:g} h)"
            )
        if drug.residual_activity is not None:
            onset = math.log(2.0) * drug.residual_activity.value / turnover.kdeg(drug.turnover)
            lines.append(
                f"  onset: CYP3A activity left {drug.residual_activity.value:g} "
                f"[{drug.residual_activity.evidence}] -> onset t1/2 {onset:.2g} h; recovery by "
                "enzyme resynthesis"
            )
    if drug.cyp2c19_dependent:
        for phenotype, effect in zip(CYP2C19_PHENOTYPES, drug.effects_by_cyp2c19, strict=True):
            lines.append(f"  CYP2C19 {phenotype} metabolisers: {_format_effect(effect)}")
            if effect.note:
                lines.append(f"    note: {effect.note}")
    elif drug.genotype_dependent:
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
    for change in drug.exposure_changes:
        lines.append(
            f"  changes {change.victim}'s exposure x{change.exposure_ratio:g} "
            f"[{change.evidence}] ({', '.join(change.sources)}): taken together, "
            f"{change.victim}'s effect ratio R becomes 1 + x (R - 1)"
        )
        if change.note:
            lines.append(f"    note: {change.note}")
    lines.append("  sources:")
    lines.extend(f"    {key}: {citation(key)}" for key in drug.sources)
    return "\n".join(lines)
