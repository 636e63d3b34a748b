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

from pksim import __version__
from pksim.checks import unknown_name_message
from pksim.engine import DEFAULT_CHUNK_SUBJECTS, MAX_DEFAULT_THREADS
from pksim.files import write_atomically
from pksim.library import food, formulations, parameters, populations
from pksim.modifiers import interactions
from pksim.results.percentiles import PERCENTILE_METHODS
from pksim.results.tables import format_attainment, tidy_summary
from pksim.scenario import DEFAULT_SCENARIO, list_scenarios, load_scenario, scenario_path

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130
PROGRESS_AFTER_S = 1.0
"""A progress bar appears once a run has taken this long."""
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
    """Simulate once; write the store (unless --summary-only), summary.csv and the plots."""
    from pksim.engine import prepare
    from pksim.results.plots import write_plots
    from pksim.results.report import run_report

    scenario = load_scenario(
        args.scenario or DEFAULT_SCENARIO, allow_files_outside=args.allow_files_outside
    )
    out = (
        Path(args.out)
        if args.out
        else Path(DEFAULT_OUT) / scenario_path(args.scenario or DEFAULT_SCENARIO).stem
    )
    n = scenario.subjects if args.n is None else args.n
    seed = scenario.seed if args.seed is None else args.seed
    prepare(scenario, n, seed)  # bad input fails before a cluster starts
    store = None if args.summary_only else out / ("result.zarr" if args.zarr else "result.nc")
    with _dask_client(args) as client:
        report = run_report(
            scenario,
            n,
            seed,
            store=store,
            plots=not (args.summary_only or args.no_plots),
            percentiles=args.percentiles,
            chunk_subjects=args.chunk_subjects,
            threads=args.threads,
            client=client,
            progress=ProgressBar(),
        )
    print(_header(scenario, n, seed))
    print(format_attainment(report.tables[0]))
    print(f"percentiles: {report.tables[0].attrs['percentiles']}")
    summary = tidy_summary(report.tables)
    write_atomically(out / "summary.csv", lambda path: summary.to_csv(path, index=False))
    if store is None:
        print(f"\nwrote {out / 'summary.csv'} (summary only: no result store, no plots)")
        return EXIT_OK
    written = [store, out / "summary.csv"]
    if not args.no_plots:
        written += write_plots(
            out,
            report.tables,
            report.attrs,
            trough_course=report.trough_course,
            ribbons=report.ribbons,
            subgroup_titles=report.subgroup_titles,
        )
    print("\nwrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _header(scenario, n: int, seed: int) -> str:
    return (
        f"{scenario.title}\n{n:,} subjects, seed {seed}, "
        f"parameter set {scenario.parameter_set.name!r}\n"
    )


def command_validate(args: argparse.Namespace) -> int:
    for name in args.files:
        scenario = load_scenario(name, allow_files_outside=args.allow_files_outside)
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
        help="write only summary.csv (no result store, no plots; nor the assay error and the "
        "days that the tables do not need)",
    )
    run.add_argument(
        "--percentiles",
        choices=PERCENTILE_METHODS,
        default="histogram",
        help="trough percentiles of the tables from a fine histogram (within 0.023 %%, memory "
        "independent of -n; default) or exact (keeps the evaluated troughs in memory)",
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
    for command in (run, validate):
        command.add_argument(
            "--allow-files-outside",
            action="store_true",
            help="let a scenario read files (population.patients_csv) outside its own folder",
        )
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
