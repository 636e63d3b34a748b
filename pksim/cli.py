"""Command line: ``pksim run | validate | list | describe``.

Exit status 0 on success, 2 on bad input (one paragraph saying what is wrong), 130 when
interrupted. Output files are written atomically: to a temporary file in the same folder,
then renamed, so an interrupted run never leaves a half-written result.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from pksim import __version__
from pksim.checks import unknown_name_message
from pksim.contract import TARGET_FIRST_DAY, TARGET_IS_WINDOW, TARGET_LAST_DAY
from pksim.engine import DEFAULT_CHUNK_SUBJECTS, MAX_DEFAULT_THREADS
from pksim.files import write_atomically
from pksim.library import food, formulations, parameters, populations
from pksim.modifiers import interactions
from pksim.results import attainment as analysis
from pksim.results.summary import PERCENTILE_METHODS
from pksim.scenario import DEFAULT_SCENARIO, list_scenarios, load_scenario, scenario_path

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130
PROGRESS_AFTER_S = 1.0
"""A progress bar appears once a run has taken this long."""
SUBGROUPS = ("weight_band", "cyp3a5", "renal_impairment", "comedication")
DEFAULT_OUT = "pksim-output"

CATALOGUES: dict[str, Callable[[], list[str]]] = {
    "scenarios": list_scenarios,
    "populations": populations.list_populations,
    "parameters": parameters.list_parameter_sets,
    "drugs": interactions.list_drugs,
    "food": food.list_conditions,
    "formulations": formulations.list_formulations,
}


class ProgressBar:
    """Progress on stderr, shown only once the run has lasted PROGRESS_AFTER_S."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.start = time.perf_counter()
        self.stream, self.width, self.shown = stream, width, False

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.start
        if elapsed < PROGRESS_AFTER_S and done < total:
            return
        if elapsed < PROGRESS_AFTER_S and not self.shown:
            return
        filled = round(self.width * done / total)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\rsimulating [{bar}] {done:,}/{total:,} subjects, {elapsed:.1f} s")
        self.shown = True
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def summary_table(ds, *, day: int | None, window: tuple[int, int] | None) -> pd.DataFrame:
    """Attainment by regimen, then by each subgroup with two or more levels (tidy, one CSV)."""
    tables = [analysis.target_attainment(ds, day=day, window=window)]
    names = [name for name in SUBGROUPS if name in ds.coords]
    for name in names:
        tables.append(analysis.target_attainment(ds, by=("regimen", name), day=day, window=window))
    return tidy_summary(tables, names)


def tidy_summary(tables: list[pd.DataFrame], subgroups: list[str]) -> pd.DataFrame:
    """One tidy table from the overall table and one per subgroup (kept with 2+ levels)."""
    parts = [tables[0].assign(subgroup="all", level="all")]
    for name, table in zip(subgroups, tables[1:], strict=True):
        if table[name].nunique() > 1:
            parts.append(table.rename(columns={name: "level"}).assign(subgroup=name))
    table = pd.concat(parts, ignore_index=True)
    table["level"] = table["level"].astype(str)
    front = ["regimen", "subgroup", "level"]
    return table[front + [c for c in table.columns if c not in front]]


@contextlib.contextmanager
def _dask_client(args: argparse.Namespace) -> Iterator[object]:
    """A Dask client for --dask ADDRESS or --workers N, else None."""
    if args.dask is None and args.workers is None:
        yield None
        return
    if args.dask is not None and args.workers is not None:
        raise ValueError("give either --dask ADDRESS or --workers N, not both")
    from pksim.engine import distributed

    with distributed.connect(args.dask, args.workers) as client:
        yield client


def command_run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario or DEFAULT_SCENARIO)
    out = (
        Path(args.out)
        if args.out
        else Path(DEFAULT_OUT) / scenario_path(args.scenario or DEFAULT_SCENARIO).stem
    )
    n = scenario.subjects if args.n is None else args.n
    seed = scenario.seed if args.seed is None else args.seed
    options = {"chunk_subjects": args.chunk_subjects, "threads": args.threads}
    if args.summary_only:
        from pksim import engine as simulate

        simulate.prepare(scenario, n, seed)  # bad input fails before a cluster starts
    with _dask_client(args) as client:
        if args.summary_only:
            return _run_summary(scenario, n, seed, out, args, client=client, **options)
        return _run_dataset(scenario, n, seed, out, args, client=client, **options)


def _header(scenario, n: int, seed: int) -> str:
    return (
        f"{scenario.title}\n{n:,} subjects, seed {seed}, "
        f"parameter set {scenario.parameter_set.name!r}\n"
    )


def _run_dataset(scenario, n, seed, out: Path, args, **options) -> int:
    from pksim import engine as simulate
    from pksim.results import plots as plot

    store = out / ("result.zarr" if args.zarr else "result.nc")
    with simulate.run(
        scenario, n_subjects=n, seed=seed, progress=ProgressBar(), store=store, **options
    ) as ds:
        first, last = (int(ds.attrs[name]) for name in (TARGET_FIRST_DAY, TARGET_LAST_DAY))
        window = (first, last) if int(ds.attrs[TARGET_IS_WINDOW]) else None
        day = None if window else first
        print(_header(scenario, n, seed))
        print(analysis.format_attainment(analysis.target_attainment(ds, day=day, window=window)))
        write_atomically(
            out / "summary.csv",
            lambda path: summary_table(ds, day=day, window=window).to_csv(path, index=False),
        )
        written = [store, out / "summary.csv"]
        if not args.no_plots:
            written += plot.save_plots(ds, out)
    print("\nwrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _run_summary(scenario, n, seed, out: Path, args, **options) -> int:
    from pksim.results import summary as stream

    groupings = [("regimen",), *(("regimen", name) for name in SUBGROUPS)]
    tables = stream.attainment_tables(
        scenario,
        n,
        seed,
        groupings=groupings,
        percentiles=args.percentiles,
        progress=ProgressBar(),
        **options,
    )
    print(_header(scenario, n, seed))
    print(analysis.format_attainment(tables[0]))
    print(f"percentiles: {tables[0].attrs['percentiles']}")
    summary = tidy_summary(tables, list(SUBGROUPS))
    write_atomically(out / "summary.csv", lambda path: summary.to_csv(path, index=False))
    print(f"\nwrote {out / 'summary.csv'} (summary only: no result store, no plots)")
    return EXIT_OK


def command_validate(args: argparse.Namespace) -> int:
    for name in args.files:
        scenario = load_scenario(name)
        print(
            f"{scenario.origin}: valid ({len(scenario.regimens)} regimens, "
            f"{scenario.subjects:,} subjects, {scenario.days} days)"
        )
    return EXIT_OK


def command_list(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else list(CATALOGUES)
    for kind in kinds:
        print(f"{kind}:\n  " + "\n  ".join(CATALOGUES[kind]()))
    return EXIT_OK


def describe(name: str) -> str:
    """Text about a drug, parameter set, population or bundled scenario called ``name``."""
    if name in parameters.list_parameter_sets():
        return parameters.load_parameter_set(name).describe()
    if name in populations.list_populations():
        lines = [f"population {name}"]
        for key, entry in populations.population_settings(name).items():
            lines.append(
                f"  {key} = {entry['default']:g} {entry['units']}  ({entry['description']})"
            )
        return "\n".join(lines)
    if name in list_scenarios():
        return scenario_path(name).read_text(encoding="utf-8")
    try:
        return interactions.describe_drug(name)
    except ValueError:
        valid = [
            *interactions.list_drugs(),
            *parameters.list_parameter_sets(),
            *populations.list_populations(),
            *list_scenarios(),
        ]
        raise ValueError(unknown_name_message("name", name, valid)) from None


def command_describe(args: argparse.Namespace) -> int:
    print(describe(args.name))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="pksim",
        description="Tacrolimus trough simulation for virtual cohorts (unrelated to PK-Sim®).",
    )
    top.add_argument("--version", action="version", version=f"pksim {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="simulate a scenario and report target attainment")
    run.add_argument(
        "scenario", nargs="?", help=f"scenario file or bundled name (default: {DEFAULT_SCENARIO})"
    )
    run.add_argument("--out", help=f"output folder (default: {DEFAULT_OUT}/<scenario>)")
    run.add_argument("-n", type=int, help="number of subjects (overrides the scenario)")
    run.add_argument("--seed", type=int, help="random seed (overrides the scenario)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument(
        "--summary-only",
        action="store_true",
        help="stream attainment tables over chunks (memory independent of -n); write only "
        "summary.csv",
    )
    run.add_argument(
        "--percentiles",
        choices=PERCENTILE_METHODS,
        default="histogram",
        help="with --summary-only: trough percentiles from a fine histogram (0.023 %% "
        "resolution, bounded memory; default) or exact (keeps the evaluated troughs)",
    )
    run.add_argument(
        "--zarr", action="store_true", help="write result.zarr (Zarr) instead of result.nc"
    )
    run.add_argument(
        "--chunk-subjects",
        type=int,
        default=DEFAULT_CHUNK_SUBJECTS,
        metavar="N",
        help=f"subjects simulated together; bounds memory (default {DEFAULT_CHUNK_SUBJECTS})",
    )
    run.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"chunks simulated at once (default: one per CPU core, at most {MAX_DEFAULT_THREADS})",
    )
    run.add_argument(
        "--dask", metavar="ADDRESS", help="run chunks on the Dask scheduler at ADDRESS"
    )
    run.add_argument(
        "--workers", type=int, metavar="N", help="run chunks on a local Dask cluster of N workers"
    )
    run.set_defaults(handler=command_run)
    validate = commands.add_parser("validate", help="check scenario files without simulating")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(handler=command_validate)
    listing = commands.add_parser("list", help="list bundled scenarios and catalogues")
    listing.add_argument("kind", nargs="?", choices=list(CATALOGUES))
    listing.set_defaults(handler=command_list)
    about = commands.add_parser(
        "describe", help="describe a drug, parameter set, population or scenario"
    )
    about.add_argument("name")
    about.set_defaults(handler=command_describe)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, OSError, ImportError) as error:
        print(f"pksim {args.command}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("\npksim: interrupted; no partial output was written", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
