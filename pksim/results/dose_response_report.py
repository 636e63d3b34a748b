"""``pksim dose-response``: the candidate grid from the command line, the table printed, and
``dose_response.csv`` with ``dose_response.png`` published into the output folder as a whole
(:class:`~pksim.results.output_folder.OutputFolder`)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from pksim.engine.dose_response import MAX_CANDIDATES, PER_DAY, PER_KG
from pksim.engine.execution import DEFAULT_CHUNK_SUBJECTS, MAX_DEFAULT_THREADS, Progress
from pksim.files import write_atomically
from pksim.results.dose_response import (
    BEST_DOSE,
    DEFAULT_MAX_ABOVE_PCT,
    DOSE,
    GIVEN_HIGH,
    GIVEN_LOW,
    SAME_DOSE_AS,
    dose_response,
)
from pksim.results.figure_text import figure_style
from pksim.results.output_folder import OutputFolder
from pksim.results.tables import CI_COLUMNS, EN_DASH
from pksim.scenario import DEFAULT_SCENARIO, load_scenario, scenario_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CSV_NAME",
    "PLOT_NAME",
    "add_arguments",
    "add_chunk_arguments",
    "command",
    "dose_response_figure",
    "format_dose_response",
    "parse_doses",
]

CSV_NAME, PLOT_NAME = "dose_response.csv", "dose_response.png"
DEFAULT_OUT = Path("pksim-output")
"""Parent of the default output folder, ``pksim-output/<scenario>-dose-response``."""
DPI = 120
PANEL_WIDTH_IN, PANEL_HEIGHT_IN = 5.0, 3.8


def parse_doses(text: str, option: str = "--doses") -> list[float]:
    """Candidate doses from ``START:STOP:STEP`` (inclusive of STOP when the steps reach it),
    ``a,b,c`` or one number; steps are added in decimal, so ``1:2:0.1`` gives 1.1, not
    1.1000000000000001."""
    example = f"{option} 1:8:0.5 (from 1 to 8 in steps of 0.5) or {option} 2,3,4.5"
    try:
        if ":" in text:
            parts = [Decimal(part) for part in text.split(":")]
            if len(parts) != 3:
                raise ValueError(f"{option} {text!r}: give START:STOP:STEP, e.g. {example}")
            start, stop, step = parts
            if not all(p.is_finite() for p in parts) or step <= 0 or stop < start:
                raise ValueError(
                    f"{option} {text!r}: need STEP > 0 and START <= STOP, e.g. {example}"
                )
            count = int((stop - start) / step) + 1
            if count > MAX_CANDIDATES:
                raise ValueError(f"{option} {text!r} gives {count} doses; at most {MAX_CANDIDATES}")
            return [float(start + i * step) for i in range(count)]
        return [float(Decimal(part)) for part in text.split(",")]
    except InvalidOperation:
        raise ValueError(f"{option} {text!r} is not a list of numbers; e.g. {example}") from None


def format_dose_response(ds: xr.Dataset) -> str:
    """The dose response as a fixed-width table, with the best dose per subgroup and the
    candidates that are the same dose after rounding."""
    units = ds[DOSE].attrs.get("units", PER_DAY)
    subgroup = next((d for d in ds["pct_in_range"].dims if d != DOSE), None)
    levels = [None] if subgroup is None else list(ds[subgroup].values)
    header = ["dose", *([subgroup] if subgroup else []), "n", "in range %", "95% CI"]
    header += ["below %", "above %", "median", "p5-p95", "given mg/day", "note"]
    rows = []
    for level in levels:
        part = ds if level is None else ds.sel({subgroup: level})
        best = float(part[BEST_DOSE])
        for dose in ds[DOSE].values:
            row = part.sel({DOSE: dose})
            low, high = float(ds[GIVEN_LOW].sel(dose=dose)), float(ds[GIVEN_HIGH].sel(dose=dose))
            same = float(ds[SAME_DOSE_AS].sel(dose=dose))
            notes = ["best"] if dose == best else []
            notes += [] if math.isnan(same) else [f"same dose as {same:g}"]
            rows.append(
                [
                    f"{dose:g}",
                    *([str(level)] if subgroup else []),
                    f"{int(row['n'])}",
                    f"{float(row['pct_in_range']):.1f}",
                    f"{float(row[CI_COLUMNS[0]]):.1f}{EN_DASH}{float(row[CI_COLUMNS[1]]):.1f}",
                    f"{float(row['pct_below']):.1f}",
                    f"{float(row['pct_above']):.1f}",
                    f"{float(row['median']):.2f}",
                    f"{float(row['p5']):.2f}{EN_DASH}{float(row['p95']):.2f}",
                    f"{low:g}" if low == high else f"{low:g}{EN_DASH}{high:g}",
                    ", ".join(notes),
                ]
            )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    left = {len(header) - 1} | ({1} if subgroup else set())  # text: the level and the note

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    caption = [
        f"dose response of {ds.attrs['dose_response_regimen']!r} ({units}), "
        f"{ds.attrs['n_subjects']:,} subjects, seed {ds.attrs['seed']}",
        f"target: {ds.attrs['target']}; {_days_text(ds)}",
        f"best dose: {ds.attrs['best_rule']}",
    ]
    rule = "  ".join("-" * width for width in widths)
    return "\n".join([*caption, "", line(header), rule, *map(line, rows), "", *_best_lines(ds)])


def _days_text(ds: xr.Dataset) -> str:
    first, last = ds.attrs["first_day"], ds.attrs["last_day"]
    if first == last:
        return f"judged on day {first}"
    return f"in range on every day {first}{EN_DASH}{last}"


def _best_lines(ds: xr.Dataset) -> list[str]:
    units = ds[DOSE].attrs.get("units", PER_DAY)
    best = ds[BEST_DOSE]
    lines = []
    for index in np.ndindex(best.shape):
        value = float(best.values[index])
        where = "".join(f" for {best[d].values[i]}" for d, i in zip(best.dims, index, strict=True))
        if math.isnan(value):
            lines.append(f"best dose{where}: none of the candidates meets the rule")
            continue
        same = ds[DOSE].values[ds[SAME_DOSE_AS].values == value]
        also = f" (also {', '.join(f'{s:g}' for s in same)}: the same dose after rounding)"
        lines.append(f"best dose{where}: {value:g} {units}{also if same.size else ''}")
    return lines


def dose_response_figure(ds: xr.Dataset) -> Figure:
    """PTA with its interval, % below and % above range against the candidate dose, one panel
    per subgroup level, the best dose marked."""
    from matplotlib.figure import Figure

    subgroup = next((d for d in ds["pct_in_range"].dims if d != DOSE), None)
    levels = [None] if subgroup is None else list(ds[subgroup].values)
    fig = Figure(
        figsize=(PANEL_WIDTH_IN * len(levels), PANEL_HEIGHT_IN + 0.8), layout="constrained"
    )
    axes = fig.subplots(1, len(levels), squeeze=False, sharey=True)[0]
    doses = ds[DOSE].values
    for ax, level in zip(axes, levels, strict=True):
        part = ds if level is None else ds.sel({subgroup: level})
        ax.fill_between(
            doses,
            part[CI_COLUMNS[0]],
            part[CI_COLUMNS[1]],
            color="tab:green",
            alpha=0.25,
            linewidth=0,
            label="95% CI",
        )
        ax.plot(doses, part["pct_in_range"], "o-", color="tab:green", label="in range")
        ax.plot(doses, part["pct_below"], "s--", color="tab:blue", label="below range")
        ax.plot(doses, part["pct_above"], "^--", color="tab:red", label="above range")
        ax.axhline(
            ds.attrs["max_above_pct"],
            color="tab:red",
            linewidth=0.8,
            linestyle=":",
            label=f"above-range limit {ds.attrs['max_above_pct']:g} %",
        )
        best = float(part[BEST_DOSE])
        if not math.isnan(best):
            ax.axvline(best, color="black", linewidth=1, linestyle="-.", label=f"best {best:g}")
        ax.set_xlabel(f"candidate dose ({ds[DOSE].attrs.get('units', PER_DAY)})")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.set_title("all subjects" if level is None else f"{subgroup}: {level}")
        ax.legend(fontsize="small")
    axes[0].set_ylabel("% of subjects")
    fig.suptitle(
        f"dose response of {ds.attrs['dose_response_regimen']!r}: target {ds.attrs['target']}, "
        f"{_days_text(ds)}"
    )
    return fig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``pksim dose-response``."""
    parser.add_argument(
        "scenario", nargs="?", help=f"scenario file or bundled name (default: {DEFAULT_SCENARIO})"
    )
    parser.add_argument("--regimen", help="the scenario's regimen whose dose to vary")
    doses = parser.add_mutually_exclusive_group(required=True)
    doses.add_argument(
        "--doses", metavar="GRID", help=f"candidate daily doses ({PER_DAY}): 1:8:0.5 or 2,3,4"
    )
    doses.add_argument(
        "--mg-per-kg", metavar="GRID", help=f"candidate doses ({PER_KG}): 0.02:0.1:0.01"
    )
    parser.add_argument("--by", help="one response per level of a subgroup, e.g. weight_band")
    parser.add_argument(
        "--max-above",
        type=float,
        default=DEFAULT_MAX_ABOVE_PCT,
        metavar="PCT",
        help="best dose: highest PTA with at most PCT %% above range (default %(default)g)",
    )
    parser.add_argument(
        "--max-below", type=float, metavar="PCT", help="best dose: also at most PCT %% below"
    )
    parser.add_argument("--measured", action="store_true", help="judge measured troughs")
    parser.add_argument(
        "--out", help="output folder (default: pksim-output/<scenario>-dose-response)"
    )
    parser.add_argument("-n", type=int, help="number of subjects (overrides the scenario)")
    parser.add_argument("--seed", type=int, help="random seed (overrides the scenario)")
    parser.add_argument("--no-plot", action="store_true", help=f"skip {PLOT_NAME}")
    add_chunk_arguments(parser)
    parser.add_argument(
        "--allow-files-outside",
        action="store_true",
        help="let a scenario read files (population.patients_csv) outside its own folder",
    )


def add_chunk_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of how a streamed run is chunked: ``--chunk-subjects`` and ``--threads``
    (``pksim run`` and ``pksim dose-response``)."""
    parser.add_argument(
        "--chunk-subjects",
        type=int,
        default=DEFAULT_CHUNK_SUBJECTS,
        metavar="N",
        help=f"subjects simulated together; bounds memory (default {DEFAULT_CHUNK_SUBJECTS})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"chunks simulated at once (default: one per CPU core, at most {MAX_DEFAULT_THREADS})",
    )


def command(
    args: argparse.Namespace,
    progress: Progress | None = None,
    finish: Callable[[], None] | None = None,
) -> int:
    """Run the dose response of ``args``; print the table; publish the CSV (and plot)."""
    name = args.scenario or DEFAULT_SCENARIO
    scenario = load_scenario(name, allow_files_outside=args.allow_files_outside)
    per_kg = args.mg_per_kg is not None
    grid = parse_doses(
        args.mg_per_kg if per_kg else args.doses, "--mg-per-kg" if per_kg else "--doses"
    )
    out = Path(args.out) if args.out else DEFAULT_OUT / f"{scenario_path(name).stem}-dose-response"
    with OutputFolder(out) as folder:
        try:
            ds = dose_response(
                scenario,
                regimen=args.regimen,
                doses_mg_per_day=None if per_kg else grid,
                doses_mg_per_kg_per_day=grid if per_kg else None,
                by=args.by,
                measured=args.measured,
                max_above_pct=args.max_above,
                max_below_pct=args.max_below,
                n_subjects=args.n,
                seed=args.seed,
                chunk_subjects=args.chunk_subjects,
                threads=args.threads,
                progress=progress,
            )
        finally:
            if finish is not None:
                finish()
        print(format_dose_response(ds))
        table = ds.to_dataframe().reset_index()
        write_atomically(folder.staging / CSV_NAME, lambda path: table.to_csv(path, index=False))
        names = [CSV_NAME]
        if not args.no_plot:
            with figure_style():  # fonts with Chinese characters where installed
                figure = dose_response_figure(ds)
                write_atomically(
                    folder.staging / PLOT_NAME,
                    lambda path: figure.savefig(path, format="png", dpi=DPI),
                )
            names.append(PLOT_NAME)
        folder.publish(
            {
                "command": "dose-response",
                "scenario": str(scenario.origin),
                "n_subjects": ds.attrs["n_subjects"],
                "seed": ds.attrs["seed"],
            }
        )
    print("\nwrote " + ", ".join(str(out / n) for n in names))
    return 0
