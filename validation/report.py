"""Score every published observation against each parameter set and write docs/validation.md
(and docs/validation.png, predicted against observed).

Scoring rule, fixed before any result was seen: a point with a published range (CI, IQR, SD,
individual range) is *inside* when the prediction lies in that range; a point stated as a
lower bound ("more than tenfold") is inside when the prediction reaches the bound; any other
point is inside when the prediction is within a factor :data:`TOLERANCE` of the published
value (percent changes are compared as ratios, 1 + value/100). A point pksim cannot simulate
(missing drug or feature) counts as not inside, and the report says why.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pksim.library.parameters import load_parameter_set
from validation.recipes import RECIPES, NotSimulated
from validation.why_outside import WHY_OUTSIDE, WHY_OUTSIDE_BY_SET

FOLDER = Path(__file__).resolve().parent
OBSERVATIONS = FOLDER / "observations.toml"
REFERENCES = FOLDER / "references.toml"

TOLERANCE = 1.25
"""Factor around a published central value (mean, median, ratio) without a published range
counted as agreement: 0.8x to 1.25x, the bioequivalence convention for exposure ratios."""

PARAMETER_SETS = ("default", "andrews2019", "bergmann2014", "lu2015")
"""Sets scored: the current default and each two-compartment set."""


@dataclass(frozen=True)
class Observation:
    id: str
    quantity: str
    population: str
    regimen: str
    statistic: str
    value: float
    units: str
    source: str
    location: str
    evidence: str
    kind: str
    range: tuple[float, float] | None = None
    range_kind: str = ""
    note: str = ""


@dataclass(frozen=True)
class Score:
    observation: Observation
    parameter_set: str
    predicted: float | None
    inside: bool
    why_not: str = ""


def observation_files(folder: Path = FOLDER) -> list[Path]:
    """``observations.toml``, then every ``observations_<area>.toml`` beside it (by name)."""
    return [folder / OBSERVATIONS.name, *sorted(folder.glob("observations_*.toml"))]


def load_observations(paths: list[Path] | None = None) -> list[Observation]:
    """Every observation of the observation files; an unknown or missing field is refused."""
    out = []
    fields = set(Observation.__dataclass_fields__)
    for path in observation_files() if paths is None else paths:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))["observation"]
        for i, table in enumerate(raw):
            extra = set(table) - fields - {"n"}
            if extra:
                raise ValueError(f"{path.name}: observation[{i}]: unknown keys {sorted(extra)}")
            values = {k: v for k, v in table.items() if k in fields}
            if "range" in values:
                low, high = values["range"]
                values["range"] = (float(low), float(high))
            values["value"] = float(values["value"])
            out.append(Observation(**values))
    ids = [o.id for o in out]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"observation ids must be unique across the files; repeated: {duplicated}")
    return out


def is_inside(observation: Observation, predicted: float) -> bool:
    """The scoring rule of the module docstring."""
    if observation.range is not None:
        low, high = sorted(observation.range)
        return low <= predicted <= high
    if "lower bound" in observation.statistic:
        return predicted >= observation.value
    value, pred = observation.value, predicted
    if _is_percent_change(observation):
        value, pred = 1.0 + value / 100.0, 1.0 + pred / 100.0
    if value <= 0 or pred <= 0:
        return False
    return abs(math.log(pred / value)) <= math.log(TOLERANCE)


def _is_percent_change(observation: Observation) -> bool:
    """A percent increase or change (compared as a ratio), not a percentage such as a CV."""
    words = f"{observation.quantity} {observation.statistic}".lower()
    return observation.units == "%" and ("increase" in words or "change" in words)


def score(observations: list[Observation], set_name: str) -> list[Score]:
    """Simulate and score every observation with one parameter set."""
    pset = load_parameter_set(set_name)
    out = []
    for observation in observations:
        recipe = RECIPES.get(observation.id)
        if recipe is None:
            out.append(Score(observation, set_name, None, False, "no recipe"))
            continue
        try:
            predicted = float(recipe.predict(pset))
        except NotSimulated as reason:
            out.append(Score(observation, set_name, None, False, str(reason)))
            continue
        out.append(Score(observation, set_name, predicted, is_inside(observation, predicted)))
    return out


def _fraction(scores: list[Score], kind: str | None = None) -> tuple[int, int, int]:
    chosen = [s for s in scores if kind is None or s.observation.kind == kind]
    inside = sum(s.inside for s in chosen)
    simulated = sum(s.predicted is not None for s in chosen)
    return inside, simulated, len(chosen)


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _published(o: Observation) -> str:
    out = f"{o.value:g} {o.units}"
    if o.range is not None:
        out += f" [{o.range[0]:g}, {o.range[1]:g}]"
    elif "lower bound" in o.statistic:
        out = "≥ " + out
    return out


def markdown(results: dict[str, list[Score]], figure: str | None) -> str:
    """docs/validation.md from the scores of each parameter set."""
    lines = ["# Validation against published observations", ""]
    for name, scores in results.items():
        inside, simulated, total = _fraction(scores)
        lines.append(
            f"**{name}: {inside} of {total} inside ({100 * inside / total:.0f} %)**; "
            f"{simulated} simulated, {total - simulated} not simulated (counted as outside)."
        )
        lines.append("")
    best = max(results, key=lambda n: _fraction(results[n])[0])
    lines += [
        f"Highest score: **{best}**. The default parameter set is chosen by this report "
        "(issue 12); see the reasons beside each point outside before reading much into a "
        "difference of a few points.",
        "",
    ]
    lines += [
        "Rebuilt by `python -m validation` (or `make validate`) from "
        "`validation/observations*.toml` (published values, each with its source, location and "
        "evidence tag) and",
        "`validation/recipes*.py` (how each point is simulated, with what was assumed). "
        f"Scoring: inside a published range; at or above a stated lower bound; otherwise within "
        f"a factor {TOLERANCE:g} of the published value (percent changes as ratios). Predictions "
        "are typical patients (a CYP3A5 genotype mix where the cohort mixes genotypes) through "
        "pksim's public API, at steady state unless the point names a day.",
        "",
        "`set` points come from sources pksim already uses to set a parameter (agreement there is"
        " expected, not evidence); `check` points come from sources pksim does not use.",
        "",
        "| set | set points inside | check points inside | all |",
        "|---|---|---|---|",
    ]
    for name, scores in results.items():
        cells = []
        for kind in ("set", "check", None):
            inside, _, total = _fraction(scores, kind)
            cells.append(f"{inside}/{total}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    if figure:
        lines += [f"![predicted against observed]({figure})", ""]
    names = list(results)
    for kind, title in (("check", "Check points"), ("set", "Set points")):
        lines += [
            f"## {title}",
            "",
            "| id | population | dose | statistic | published | "
            + " | ".join(f"{n}" for n in names)
            + " | source (location) [tag] | why outside |",
            "|---|---|---|---|---|" + "---|" * len(names) + "---|---|",
        ]
        by_id = {n: {s.observation.id: s for s in results[n]} for n in names}
        for o in (s.observation for s in results[names[0]]):
            if o.kind != kind:
                continue
            cells, why = [], []
            for n in names:
                s = by_id[n][o.id]
                if s.predicted is None:
                    cells.append("not simulated")
                    why.append(f"{n}: {s.why_not}")
                else:
                    cells.append(f"{s.predicted:.3g} {'✓' if s.inside else '✗'}")
                    if not s.inside:
                        reason = WHY_OUTSIDE_BY_SET.get((n, o.id)) or WHY_OUTSIDE.get(o.id)
                        why.append(f"{n}: {reason or 'not analysed'}")
            grouped: dict[str, list[str]] = {}
            for entry in why:
                who, _, text = entry.partition(": ")
                grouped.setdefault(text, []).append(who)
            reasons = "; ".join(f"{', '.join(who)}: {text}" for text, who in grouped.items())
            lines.append(
                f"| {o.id} | {_short(o.population, 70)} | {_short(o.regimen, 70)} | "
                f"{_short(o.quantity + ', ' + o.statistic, 70)} | {_published(o)} | "
                + " | ".join(cells)
                + f" | {o.source} ({o.location}) [{o.evidence}] | {reasons} |"
            )
        lines.append("")
    lines += ["## How each point was simulated", ""]
    for o in (s.observation for s in results[names[0]]):
        recipe = RECIPES.get(o.id)
        if recipe is not None and recipe.assumed != "—":
            lines.append(f"- `{o.id}`: {recipe.assumed}.")
    lines.append("")
    return "\n".join(lines)


def _plotted(s: Score) -> tuple[float, float]:
    """(published, predicted) as plotted: percent changes as ratios."""
    if _is_percent_change(s.observation):
        return 1.0 + s.observation.value / 100.0, 1.0 + s.predicted / 100.0
    return s.observation.value, s.predicted


def figure(results: dict[str, list[Score]], path: Path) -> None:
    """Predicted against published (log-log; positive values only) with the agreement band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 6.0), dpi=110)
    markers = {"default": "o", "andrews2019": "s", "bergmann2014": "D"}
    low, high = math.inf, 0.0
    for name, scores in results.items():
        for kind, fill in (("check", True), ("set", False)):
            pairs = [
                _plotted(s)
                for s in scores
                if s.predicted is not None and s.observation.kind == kind
            ]
            pairs = [(x, y) for x, y in pairs if x > 0 and y > 0]
            xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
            if xs:
                low, high = min(low, *xs, *ys), max(high, *xs, *ys)
                ax.scatter(
                    xs,
                    ys,
                    marker=markers.get(name, "^"),
                    alpha=0.7,
                    facecolors=None if fill else "none",
                    edgecolors=f"C{list(results).index(name)}",
                    color=f"C{list(results).index(name)}",
                    label=f"{name} ({kind})",
                )
    span = [low / 1.5, high * 1.5]
    ax.plot(span, span, color="black", lw=0.8)
    ax.plot(span, [v * TOLERANCE for v in span], color="grey", lw=0.6, ls="--")
    ax.plot(span, [v / TOLERANCE for v in span], color="grey", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("published value (observation units)")
    ax.set_ylabel("predicted (same units)")
    ax.set_title(f"pksim against published tacrolimus observations (dashed: x{TOLERANCE:g})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def build(docs: Path, sets: tuple[str, ...] = PARAMETER_SETS) -> dict[str, list[Score]]:
    """Score every set, write ``docs/validation.md`` and ``docs/validation.png``."""
    observations = load_observations()
    results = {name: score(observations, name) for name in sets}
    figure(results, docs / "validation.png")
    (docs / "validation.md").write_text(markdown(results, "validation.png"), encoding="utf-8")
    return results
