"""A report to share: one self-contained HTML file that prints well.

:func:`html_report` turns the reduced results of a run (:class:`~pksim.results.report.RunReport`,
what ``pksim run`` computes anyway) into one HTML page: the scenario in words, the attainment
table with its confidence intervals, the standard plots (the PNGs of ``pksim run``, embedded as
base64, so the file needs nothing beside it), the subgroup tables, the model and parameter set
with their sources, evidence and limits, and the provenance (pksim version, seed, subjects,
date, command, the scenario file itself). ``pksim run --report`` and the app's report button
both call it. A run over more than one day adds attainment over time: the day-by-day plot, the
realised dose when doses vary, and the summary table (time to range, time in range, exposure
extremes, dose changes). Every piece of user text is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pksim.files import write_atomically
from pksim.library.cited import EVIDENCE_TAGS, Cited
from pksim.library.parameter_set import ParameterSet
from pksim.results.over_time_tables import AttainmentOverTime
from pksim.results.report import RunReport
from pksim.results.run_outputs import write_standard_plots
from pksim.results.scenario_words import describe_scenario
from pksim.results.tables import EN_DASH
from pksim.scenario import Scenario

__all__ = [
    "LIMITS",
    "REPORT_NAME",
    "html_report",
    "over_time_html",
    "time_plots",
    "write_html_report",
]

REPORT_NAME = "report.html"
"""File name of the report in a run's output folder."""

LIMITS = (
    "A simulation of virtual patients: it shows what a dosing rule does to a population like "
    "this one, not what one patient's trough will be.",
    "The bundled parameter sets are one-compartment models: troughs are well described, peaks "
    "less so.",
    "No published population-PK model exists for adult Chinese lupus nephritis; the default "
    "parameter set is a cited synthesis and its CL/F is best treated as a calibration parameter "
    "against local trough data.",
    "Each number of the parameter set carries an evidence tag (below); values tagged M or D "
    "are the least certain.",
)
"""General limits stated in every report (the parameter set's own notes follow them)."""

PLOT_CAPTIONS = {
    "trough_distribution": "Trough distribution per regimen",
    "trough_course": "Trough course, day by day",
    "concentration_ribbons": "Concentration over time",
    "pta_over_time": "Subjects in range day by day, with % below and above",
    "realised_dose": "Realised daily dose (after changes, holds and monitoring decisions)",
}
"""Captions of the standard plots by file stem; ``trough_distribution_by_X`` by subgroup X."""

OVERRIDE_PREFIX = {"typical": "typical", "IIV": "iiv", "IOV": "iov", "residual": "residual"}
"""Kind of a parameter row -> the prefix of its override key in a scenario."""

PERCENT_DECIMALS, CONCENTRATION_DECIMALS = 1, 2
"""Decimals shown for percentages and for concentrations (ng/mL)."""

STYLE = """
body { font-family: "Noto Sans", "Helvetica Neue", Arial, "Microsoft YaHei", sans-serif;
  max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; color: #111; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #999; margin-top: 2rem; }
h3 { font-size: 1rem; margin-top: 1.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.85rem; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.45rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #eee; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #333; }
dl.words dt { font-weight: bold; float: left; clear: left; width: 9rem; }
dl.words dd { margin-left: 10rem; margin-bottom: 0.3rem; }
pre { background: #f6f6f6; padding: 0.5rem; font-size: 0.75rem; white-space: pre-wrap; }
.note { font-size: 0.85rem; color: #333; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, figure, dl { break-inside: avoid; page-break-inside: avoid; }
  .page { break-before: page; page-break-before: always; }
  pre { white-space: pre-wrap; }
  figure img { max-height: 125mm; width: auto; }
}
"""


def html_report(
    report: RunReport,
    scenario: Scenario,
    *,
    command: str = "",
    created: datetime | None = None,
    images: Sequence[tuple[str, bytes]] | None = None,
    time_images: Sequence[tuple[str, bytes]] | None = None,
) -> str:
    """The report of a run as one HTML document (a string).

    ``report``: the run's reduced results (tables, courses and provenance ``attrs``);
    ``scenario``: the scenario it ran; ``command``: how it was started (shown as provenance);
    ``created``: its time (default now, UTC); ``images``: (file stem, PNG bytes) of the plots,
    default the standard plots drawn from ``report``; ``time_images``: the same for the
    over-time plots (default :func:`time_plots`; shown only when the run has ``over_time``).
    """
    created = created or datetime.now(UTC)
    attrs = report.attrs
    n_subjects, seed = int(attrs["n_subjects"]), int(attrs["seed"])
    if images is None:
        images = standard_plots(report)
    title = str(attrs.get("title", scenario.title))
    overall = report.tables[0]
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='note'>pksim {_e(attrs.get('pksim_version', ''))} report, "
        f"{created:%Y-%m-%d %H:%M} UTC. {n_subjects:,} subjects, seed {seed}.</p>",
        "<h2>The scenario in words</h2>",
        "<dl class='words'>",
        *(
            f"<dt>{_e(h)}</dt><dd>{_e(t)}</dd>"
            for h, t in describe_scenario(scenario, n_subjects, seed)
        ),
        "</dl>",
        "<h2>Target attainment</h2>",
        f"<p>{_e(_judged(overall))}</p>",
        attainment_html(overall),
        f"<p class='note'>{_e(_table_note(overall))}</p>",
        "<h2>Plots</h2>",
        *(_figure(stem, png, report.subgroup_titles) for stem, png in images),
        *_over_time(report, time_images),
        "<h2 class='page'>Subgroups</h2>",
        *_subgroups(report),
        "<h2 class='page'>Model and parameter set</h2>",
        *_model(scenario.parameter_set, scenario),
        "<h2>Limits</h2>",
        "<ul>",
        *(f"<li>{_e(line)}</li>" for line in LIMITS),
        f"<li>{_e(' '.join(scenario.parameter_set.description.split()))}</li>",
        "</ul>",
        "<h2 class='page'>Provenance</h2>",
        _provenance(report, command, created),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def write_html_report(
    path: str | os.PathLike,
    report: RunReport,
    scenario: Scenario,
    *,
    command: str = "",
    created: datetime | None = None,
) -> Path:
    """Write :func:`html_report` to ``path`` atomically (UTF-8); returns the path."""
    text = html_report(report, scenario, command=command, created=created)
    path = Path(path)
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return path


def standard_plots(report: RunReport) -> list[tuple[str, bytes]]:
    """(file stem, PNG bytes) of the plots ``pksim run`` writes for ``report``."""
    with tempfile.TemporaryDirectory(prefix="pksim-report-") as folder:
        paths = write_standard_plots(folder, report)
        return [(path.stem, path.read_bytes()) for path in paths]


def time_plots(report: RunReport) -> list[tuple[str, bytes]]:
    """(file stem, PNG bytes) of the over-time plots ``pksim run`` writes for ``report``
    (PTA over time; the realised dose when it varies); none for a one-day run."""
    from pksim.results.time_figures import write_time_plots

    if not report.over_time:
        return []
    with tempfile.TemporaryDirectory(prefix="pksim-report-") as folder:
        paths = write_time_plots(folder, report.over_time[0], report.attrs)
        return [(path.stem, path.read_bytes()) for path in paths]


def over_time_html(result: AttainmentOverTime) -> str:
    """The over-time summary as HTML: per regimen (and level), the day of the first in-range
    trough (median and 25th-75th percentile), % never in range, % of the days in range (mean,
    median and 25th-75th), % ever above / below the exposure limits and the dose changes."""
    table = result.summary
    first = list(table.columns[: table.columns.get_loc("n")])
    above, below = table.attrs.get("above_ng_per_ml"), table.attrs.get("below_ng_per_ml")
    head = [
        *(_e(c.replace("_", " ")) for c in first),
        "n",
        f"first day in range: median (25th{EN_DASH}75th)",
        "% never in range",
        "% of days in range: mean",
        f"median (25th{EN_DASH}75th)",
        f"% ever above {_e(f'{above:g}')} ng/mL",
        f"% ever below {_e(f'{below:g}')} ng/mL",
    ]
    changes = bool(table.attrs.get("dose_changes_known"))
    head += ["dose changes per subject (mean)", "% with a dose change"] if changes else []
    rows = []
    for row in table.to_dict("records"):
        cells = [f"<td>{_e(row[c])}</td>" for c in first]
        cells += [
            _num(f"{int(row['n']):,}"),
            _num(
                f"{_day(row['first_in_range_day_median'])} ({_day(row['first_in_range_day_p25'])}"
                f"{EN_DASH}{_day(row['first_in_range_day_p75'])})"
            ),
            _num(_pct(row["pct_never_in_range"])),
            _num(_pct(row["pct_time_in_range_mean"])),
            _num(
                f"{_pct(row['pct_time_in_range_median'])} ({_pct(row['pct_time_in_range_p25'])}"
                f"{EN_DASH}{_pct(row['pct_time_in_range_p75'])})"
            ),
            _num(_pct(row["pct_ever_above"])),
            _num(_pct(row["pct_ever_below"])),
        ]
        if changes:
            cells += [_num(f"{row['mean_dose_changes']:.2f}"), _num(_pct(row["pct_dose_changed"]))]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
    return f"<table>\n<thead>{header}</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def attainment_html(table: pd.DataFrame) -> str:
    """An attainment table as HTML: one row per regimen (and subgroup level) with n, % in
    range and its confidence interval, % below and above, and the trough percentiles."""
    first = list(table.columns[: table.columns.get_loc("n")])
    confidence = round(100 * float(table.attrs.get("confidence", 0.95)))
    units = _e(table.attrs.get("units", "ng/mL"))
    head = [
        *(_e(c.replace("_", " ")) for c in first),
        "n",
        "% in range",
        f"{confidence} % CI",
        "% below",
        "% above",
        f"median ({units})",
        f"25th{EN_DASH}75th",
        f"5th{EN_DASH}95th",
    ]
    rows = []
    for row in table.to_dict("records"):
        cells = [f"<td>{_e(row[c])}</td>" for c in first]
        cells += [
            _num(f"{int(row['n']):,}"),
            _num(_pct(row["pct_in_range"])),
            _num(f"{_pct(row['pct_in_range_ci_low'])}{EN_DASH}{_pct(row['pct_in_range_ci_high'])}"),
            _num(_pct(row["pct_below"])),
            _num(_pct(row["pct_above"])),
            _num(_conc(row["median"])),
            _num(f"{_conc(row['p25'])}{EN_DASH}{_conc(row['p75'])}"),
            _num(f"{_conc(row['p5'])}{EN_DASH}{_conc(row['p95'])}"),
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
    return f"<table>\n<thead>{header}</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


# --- parts -------------------------------------------------------------------------------------


def _judged(table: pd.DataFrame) -> str:
    first, last = int(table.attrs["first_day"]), int(table.attrs["last_day"])
    days = f"day {first}" if first == last else f"every day from day {first} to day {last}"
    return f"Target: {table.attrs.get('target', '')}. In range means in range on {days}."


def _table_note(table: pd.DataFrame) -> str:
    return (
        f"Confidence intervals: Wilson score intervals of the percentage in range. "
        f"Percentiles: {table.attrs.get('percentiles', '')}."
    )


def _figure(stem: str, png: bytes, titles: Mapping[str, str]) -> str:
    caption = PLOT_CAPTIONS.get(stem)
    if caption is None and stem.startswith("trough_distribution_by_"):
        name = stem.removeprefix("trough_distribution_by_")
        caption = f"Trough distribution by {titles.get(name, name)}"
    data = base64.b64encode(png).decode("ascii")
    return (
        f"<figure><img alt='{_e(caption or stem)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{_e(caption or stem)}</figcaption></figure>"
    )


def _over_time(report: RunReport, images: Sequence[tuple[str, bytes]] | None) -> Iterable[str]:
    if not report.over_time:
        return
    result = report.over_time[0]
    summary = result.summary
    first, last = int(summary.attrs["first_day"]), int(summary.attrs["last_day"])
    yield "<h2 class='page'>Attainment over time</h2>"
    yield (
        f"<p>Target: {_e(summary.attrs.get('target', ''))}. Every day from day {first} to day "
        f"{last}: the trough of day d is the concentration at the end of that day.</p>"
    )
    yield from (
        _figure(stem, png, report.subgroup_titles)
        for stem, png in (time_plots(report) if images is None else images)
    )
    yield over_time_html(result)
    yield (
        "<p class='note'>First day in range: inf for subjects never in range (a percentile "
        "that reaches them is inf). Days in range: the share of the days evaluated on which "
        "a subject's trough is in range.</p>"
    )


def _subgroups(report: RunReport) -> Iterable[str]:
    shown = False
    for table in report.tables[1:]:
        name = str(table.columns[1])
        if table[name].nunique() < 2:
            continue
        shown = True
        yield f"<h3>By {_e(report.subgroup_titles.get(name, name))}</h3>"
        yield attainment_html(table)
    if not shown:
        yield "<p>Every subgroup has a single level in this cohort: see the table above.</p>"


def _model(pset: ParameterSet, scenario: Scenario) -> Iterable[str]:
    yield (
        f"<p><b>{_e(pset.name)}</b>: {_e(pset.title)} [evidence {_e(pset.evidence)}]. "
        f"Population of the model: {_e(pset.population)}. Structural model: "
        f"{_e(pset.structural_model)}.</p>"
    )
    rows = [("typical", key, value) for key, value in pset.typical.items()]
    for effect in pset.effects:
        where = f"{effect.parameter} ~ {effect.covariate} ({effect.form})"
        rows += [("effect", f"{where}: {k}", v) for k, v in effect.terms.items()]
        rows += [("effect", f"{where}: {k}", v) for k, v in effect.factors.items()]
    for group, values in (("IIV", pset.iiv), ("IOV", pset.iov), ("residual", pset.residual)):
        rows += [(group, key, value) for key, value in values.items()]
    rows += [
        ("IIV correlation", f"{a}, {b}", value) for (a, b), value in pset.iiv_correlation.items()
    ]
    yield _cited_table(rows, scenario.parameter_overrides)
    yield "<h3>Evidence tags</h3><ul>"
    yield from (f"<li><b>{_e(tag)}</b>: {_e(text)}</li>" for tag, text in EVIDENCE_TAGS.items())
    yield "</ul><h3>Sources</h3><ul>"
    yield from (f"<li>[{_e(k)}] {_e(pset.citations[k])}</li>" for k in pset.source_keys)
    yield from (f"<li>{_e(citation)}</li>" for citation in scenario.population.references)
    yield "</ul>"


def _cited_table(rows: list[tuple[str, str, Cited]], overrides: Mapping[str, float]) -> str:
    lines = [
        "<table><thead><tr><th>kind</th><th>parameter</th><th>value</th><th>units</th>"
        "<th>sources</th><th>evidence</th><th>note</th></tr></thead><tbody>"
    ]
    for kind, key, cited in rows:
        value = cited.value
        shown = ", ".join(f"{v:g}" for v in value) if isinstance(value, tuple) else f"{value:g}"
        if f"{OVERRIDE_PREFIX.get(kind)}.{key}" in overrides:
            shown += " (overridden)"
        lines.append(
            f"<tr><td>{_e(kind)}</td><td>{_e(key)}</td>{_num(_e(shown))}<td>{_e(cited.units)}</td>"
            f"<td>{_e(', '.join(cited.sources))}</td><td>{_e(cited.evidence)}</td>"
            f"<td>{_e(cited.note)}</td></tr>"
        )
    return "\n".join(lines) + "</tbody></table>"


def _provenance(report: RunReport, command: str, created: datetime) -> str:
    attrs = report.attrs
    items = [
        ("pksim version", attrs.get("pksim_version", "")),
        ("seed", attrs.get("seed", "")),
        ("subjects", f"{int(attrs['n_subjects']):,}"),
        ("date", f"{created:%Y-%m-%d %H:%M:%S} UTC"),
        ("command", command or "(not given)"),
        ("scenario file", attrs.get("scenario_origin", "")),
        ("population", attrs.get("population", "")),
        ("parameter set", attrs.get("parameter_set", "")),
        ("percentiles", report.tables[0].attrs.get("percentiles", "")),
    ]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
    return (
        f"<table>{rows}</table>\n<h3>The scenario file</h3>\n"
        f"<pre>{_e(attrs.get('scenario', ''))}</pre>"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(text: str) -> str:
    return f"<td class='num'>{text}</td>"


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{PERCENT_DECIMALS}f}"


def _day(value: float) -> str:
    return "inf" if math.isinf(value) else ("n/a" if math.isnan(value) else f"{value:g}")


def _conc(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{CONCENTRATION_DECIMALS}f}"
