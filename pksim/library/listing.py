"""What ``pksim list`` and ``pksim describe`` say about the bundled catalogues: one line per
entry, the description of one entry by name, and what the evidence tags mean.

Listing reads the catalogue files only (no parameter set is validated, no kernel is loaded),
so ``pksim list`` starts quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from pksim.errors import unknown_name
from pksim.library import drugs, food, formulations
from pksim.library.cited import EVIDENCE_TAGS, data_folder, read_data

__all__ = [
    "CATALOGUE_KINDS",
    "catalogue_lines",
    "describe_entry",
    "evidence_legend",
    "unknown_entry",
]


def _scenarios() -> list[tuple[str, str]]:
    return [
        (path.name.removesuffix(".toml"), str(read_data("scenarios", path.name).get("title", "")))
        for path in sorted(data_folder("scenarios").iterdir(), key=lambda p: p.name)
        if path.name.endswith(".toml")
    ]


def _parameter_sets() -> list[tuple[str, str]]:
    names = sorted(
        p.name.removesuffix(".toml")
        for p in data_folder("parameters").iterdir()
        if p.name.endswith(".toml")
    )
    out = []
    for name in names:
        data = read_data("parameters", f"{name}.toml")
        out.append((name, f"{data.get('title', name)} [{data.get('evidence', '?')}]"))
    return out


def _populations() -> list[tuple[str, str]]:
    names = sorted(
        p.name.removesuffix(".toml")
        for p in data_folder("populations").iterdir()
        if p.name.endswith(".toml") and not p.name.startswith("_")
    )
    return [
        (name, str(read_data("populations", f"{name}.toml").get("title", name))) for name in names
    ]


def _drugs() -> list[tuple[str, str]]:
    out = []
    for name in drugs.list_drugs():
        drug = drugs.lookup_drug(name)
        out.append((name, f"{drug.display_name} ({drug.drug_class})"))
    return out


def _food() -> list[tuple[str, str]]:
    return [(name, food.lookup_condition(name).description) for name in food.list_conditions()]


def _formulations() -> list[tuple[str, str]]:
    return [
        (name, formulations.lookup_formulation(name).display_name)
        for name in formulations.list_formulations()
    ]


CATALOGUE_KINDS: Mapping[str, Callable[[], list[tuple[str, str]]]] = MappingProxyType(
    {
        "scenarios": _scenarios,
        "populations": _populations,
        "parameters": _parameter_sets,
        "drugs": _drugs,
        "food": _food,
        "formulations": _formulations,
    }
)
"""Catalogue kind (as ``pksim list KIND`` names it) -> its entries as (name, one line)."""


def catalogue_lines(kind: str) -> list[tuple[str, str]]:
    """Every entry of catalogue ``kind`` as (name, one line of description)."""
    if kind not in CATALOGUE_KINDS:
        raise ValueError(unknown_name("catalogue", kind, CATALOGUE_KINDS))
    return CATALOGUE_KINDS[kind]()


def evidence_legend() -> str:
    """What the evidence tags in square brackets mean, one line each."""
    lines = ["evidence tags:"]
    lines += [f"  [{tag}] {meaning}" for tag, meaning in EVIDENCE_TAGS.items()]
    return "\n".join(lines)


def describe_entry(name: str) -> str | None:
    """The description of the bundled scenario (its file), parameter set, population or drug
    (name, alias or Chinese name) called ``name``, or None when no catalogue has it. Cited
    values end with the meaning of their evidence tags."""
    from pksim.library import parameters, populations

    if name in dict(_scenarios()):
        return data_folder("scenarios", f"{name}.toml").read_text(encoding="utf-8")
    if name in parameters.list_parameter_sets():
        text = parameters.load_parameter_set(name).describe()
    elif name in populations.list_populations():
        text = _describe_population(name)
    else:
        try:
            text = drugs.describe_drug(name)
        except ValueError:
            return None
    return f"{text}\n{evidence_legend()}"


def _describe_population(name: str) -> str:
    from pksim.library import populations

    lines = [f"population {name}"]
    for key, entry in populations.population_settings(name).items():
        lines.append(f"  {key} = {entry['default']:g} {entry['units']}  ({entry['description']})")
    return "\n".join(lines)


def unknown_entry(name: str) -> str:
    """Why ``name`` names nothing ``pksim describe`` knows, with the scenario validator's
    suggestions: a drug group's members, a covariate modelled elsewhere (prednisone), a
    misspelt or Chinese name's closest match."""
    try:
        drugs.lookup_drug(name)
    except ValueError as error:
        message = str(error)
        if not message.startswith("unknown co-medication"):
            return message  # a drug group, or a drug modelled elsewhere: the validator's advice
    from pksim.library import parameters, populations

    valid = [
        *drugs.list_drugs(),
        *parameters.list_parameter_sets(),
        *populations.list_populations(),
        *dict(_scenarios()),
    ]
    aliases = {
        alias: drug
        for drug in drugs.list_drugs()
        for alias in (drugs.lookup_drug(drug).aliases or ())
    }
    return unknown_name("name", name, valid, aliases=aliases)
