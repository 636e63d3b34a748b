"""Command line: ``pksim run | dose-response | dose | calibrate | validate | list | describe |
app``.

Exit status 0 on success, 2 on bad input (one paragraph saying what is wrong: also a full
disk, an output folder that cannot be written or that another run is writing), 130 when
interrupted with Ctrl-C, 128 + the signal's number when stopped by SIGTERM or SIGHUP (which
are handled like Ctrl-C: the run cleans up and says what the output folder holds).

``pksim run`` publishes its output folder as a whole (:mod:`pksim.results.output_folder`):
every file is written into a hidden folder beside it and swapped in at the end, so whoever
looks finds the complete previous result or the complete new one, never a mix.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pksim import __version__

# Heavy modules (numba, xarray, matplotlib, scipy) are imported inside the commands that need
# them, so that --version, list, describe and validate start quickly (docs/ARCHITECTURE.md).

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130
EXIT_SIGNALLED = 128
"""Exit status of a process stopped by signal N: EXIT_SIGNALLED + N (the shells' rule)."""
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""Signals handled like Ctrl-C: the run stops, cleans up and says so."""
PROGRESS_AFTER_S = 1.0
"""A progress bar appears once a run has taken this long."""
DEFAULT_OUT = "pksim-output"
REPORT_BYTES = 2**22
"""Room (bytes) for report.html in the free-space check (its plots embedded: about 1-2 MB)."""
LIST_KINDS = ("scenarios", "populations", "parameters", "drugs", "food", "formulations")
"""What ``pksim list`` lists (``pksim list KIND``), in order (pksim.library.listing)."""
LAZY_COMMANDS = {
    "dose-response": "PTA, %% below and %% above per candidate dose of one regimen; best dose",
    "dose": "individualise a patient from measured troughs and propose doses",
    "calibrate": "estimate a parameter set's typical CL/F from local TDM data",
    "app": "open the local web app in the browser",
}
"""Commands whose options are added only when the command is given (their modules import the
heavy libraries), with their one-line help."""


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM, SIGHUP): raised like KeyboardInterrupt, so that
    everything a run has started is cleaned up on the way out."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _stopping_cleanly() -> Iterator[None]:
    """While the block runs, STOP_SIGNALS raise :class:`Terminated` (once: a second one does
    not cut the clean-up short). Outside the main thread nothing changes."""

    def stop(signum: int, frame: object) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise Terminated(signum)

    try:
        previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    except ValueError:  # signal handlers belong to the main thread
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


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
            self.end()
        self.stream.flush()

    def end(self) -> None:
        """End the bar's line (once), so that what is printed next starts on its own line."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


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
    """Simulate once; publish the store (unless --summary-only), summary.csv and the plots."""
    from pksim.engine import prepare
    from pksim.results import nonmem_cohort, run_outputs
    from pksim.results.output_folder import OutputFolder
    from pksim.scenario import DEFAULT_SCENARIO, load_scenario, scenario_path

    _check_options(args)
    name = args.scenario or DEFAULT_SCENARIO
    scenario = load_scenario(name, allow_files_outside=args.allow_files_outside)
    out = Path(args.out) if args.out else Path(DEFAULT_OUT) / scenario_path(name).stem
    n = scenario.subjects if args.n is None else args.n
    seed = scenario.seed if args.seed is None else args.seed
    plan = prepare(scenario, n, seed)  # bad input fails before a cluster starts
    if args.nonmem:  # refused before the run, written after it
        nonmem_cohort.check_cohort_nonmem(plan, args.nonmem)
    store_name = None if args.summary_only else ("result.zarr" if args.zarr else "result.nc")
    plots = not (args.summary_only or args.no_plots)
    with OutputFolder(out) as folder:
        report_bytes = REPORT_BYTES if args.report else 0
        folder.require_space(run_outputs.needed_bytes(plan, store_name, plots) + report_bytes)
        store = None if store_name is None else folder.staging / store_name
        report = _simulate(args, scenario, n, seed, store, plots or args.report)
        print(_header(scenario, n, seed))
        print(run_outputs.tables_text(report))
        names = [] if store_name is None else [store_name]
        names += run_outputs.write_run_outputs(folder.staging, report, plots)
        if args.report:
            from pksim.results.html_report import REPORT_NAME, write_html_report

            command = shlex.join(["pksim", *args.argv])
            write_html_report(folder.staging / REPORT_NAME, report, scenario, command=command)
            names.append(REPORT_NAME)
        folder.publish({"scenario": str(scenario.origin), "n_subjects": n, "seed": seed})
    _say_written(out, store_name, names)
    if args.nonmem:
        print(nonmem_cohort.write_for_run(plan, args.nonmem, args.chunk_subjects, ProgressBar()))
    return EXIT_OK


def _simulate(args: argparse.Namespace, scenario, n: int, seed: int, store, plots: bool):
    """The run's report (tables, plot data), the store written when ``store`` is a path."""
    from pksim.results.report import run_report

    progress = ProgressBar()
    try:
        with _dask_client(args) as client:
            return run_report(
                scenario,
                n,
                seed,
                store=store,
                plots=plots,
                percentiles=args.percentiles,
                chunk_subjects=args.chunk_subjects,
                threads=args.threads,
                client=client,
                progress=progress,
            )
    finally:
        progress.end()


def _say_written(out: Path, store_name: str | None, names: list[str]) -> None:
    from pksim.results.output_folder import MANIFEST

    listed = f"listed with their checksums in {out / MANIFEST}"
    if store_name is None:
        files = ", ".join(str(out / name) for name in names)
        print(f"\nwrote {files} (summary only: no result store, no PNG plots), {listed}")
    else:
        print("\nwrote " + ", ".join(str(out / name) for name in names) + f"; {listed}")


def _check_options(args: argparse.Namespace) -> None:
    """Refuse an -n outside the limits and options that would do nothing together."""
    from pksim.scenario import MAX_SUBJECTS

    if args.n is not None and not 1 <= args.n <= MAX_SUBJECTS:
        raise ValueError(
            f"-n {args.n:,}: n_subjects must be a whole number from 1 to {MAX_SUBJECTS:,}"
        )
    if args.zarr and args.summary_only:
        raise ValueError(
            "--zarr chooses the format of the result store, which --summary-only does not "
            "write: drop one of them"
        )
    if args.threads is not None and (args.dask is not None or args.workers is not None):
        raise ValueError(
            "--threads sets how many chunks this process simulates at once; with --dask or "
            "--workers the chunks run on the Dask workers instead: drop --threads"
        )


def _header(scenario, n: int, seed: int) -> str:
    return (
        f"{scenario.title}\n{n:,} subjects, seed {seed}, "
        f"parameter set {scenario.parameter_set.name!r}\n"
    )


def command_dose_response(args: argparse.Namespace) -> int:
    """Every candidate dose of one fixed regimen from one simulation (see
    :mod:`pksim.results.dose_response_report`)."""
    from pksim.results import dose_response_report

    _check_options(args)
    progress = ProgressBar()
    return dose_response_report.command(args, progress=progress, finish=progress.end)


def command_app(args: argparse.Namespace) -> int:
    """Serve the local web app until Ctrl-C (needs the ``app`` extra)."""
    from pksim.app.command import serve_until_stopped

    serve_until_stopped(args.port, show=not args.no_browser, stop_signals=STOP_SIGNALS)
    return EXIT_OK


def command_validate(args: argparse.Namespace) -> int:
    """Check every file given; one line per valid file, every problem of the others."""
    from pksim.scenario import load_scenario

    failed = 0
    for name in args.files:
        try:
            scenario = load_scenario(name, allow_files_outside=args.allow_files_outside)
        except ValueError as error:
            print(f"pksim validate: {error}", file=sys.stderr)
            failed += 1
            continue
        print(
            f"{scenario.origin}: valid ({len(scenario.regimens)} regimens, "
            f"{scenario.subjects:,} subjects, {scenario.days} days)"
        )
    if failed and len(args.files) > 1:
        print(f"pksim validate: {failed} of {len(args.files)} files are not valid", file=sys.stderr)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def command_list(args: argparse.Namespace) -> int:
    from pksim.library.listing import catalogue_lines

    for kind in [args.kind] if args.kind else LIST_KINDS:
        entries = catalogue_lines(kind)
        width = max(len(name) for name, _ in entries)
        print(f"{kind}:")
        for name, line in entries:
            print(f"  {name.ljust(width)}  {line}")
    return EXIT_OK


def describe(name: str) -> str:
    """Text about a drug, parameter set, population or bundled scenario called ``name``; the
    scenario validator's suggestions for a name that is none of them."""
    from pksim.library.listing import describe_entry, unknown_entry

    text = describe_entry(name)
    if text is None:
        raise ValueError(unknown_entry(name))
    return text


def command_describe(args: argparse.Namespace) -> int:
    print(describe(args.name))
    return EXIT_OK


def parser(command: str | None = "run") -> argparse.ArgumentParser:
    """The command line. The options of ``pksim run`` (which need the engine's defaults) are
    added only when ``command`` is ``"run"`` (the default: the whole parser)."""
    top = argparse.ArgumentParser(
        prog="pksim",
        description="Tacrolimus trough simulation for virtual cohorts (unrelated to PK-Sim®).",
    )
    top.add_argument("--version", action="version", version=f"pksim {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="simulate a scenario and report target attainment")
    if command == "run":
        _run_arguments(run)
    run.set_defaults(handler=command_run)
    validate = commands.add_parser("validate", help="check scenario files without simulating")
    validate.add_argument("files", nargs="+")
    for each in (run, validate):
        each.add_argument(
            "--allow-files-outside",
            action="store_true",
            help="let a scenario read files (population.patients_csv) outside its own folder",
        )
    validate.set_defaults(handler=command_validate)
    listing = commands.add_parser(
        "list", help="list bundled scenarios and catalogues, one line each"
    )
    listing.add_argument("kind", nargs="?", choices=LIST_KINDS)
    listing.set_defaults(handler=command_list)
    about = commands.add_parser(
        "describe", help="describe a drug, parameter set, population or scenario"
    )
    about.add_argument("name")
    about.set_defaults(handler=command_describe)
    _lazy_commands(commands, command)
    return top


def _lazy_commands(commands, command: str | None) -> None:
    """The commands of :data:`LAZY_COMMANDS`: in full when ``command`` names one (or is
    "run", the whole parser), else only their name and help."""
    whole = command == "run"
    if command in ("dose", "calibrate") or whole:
        from pksim.mipd.command import register

        register(commands)
    else:
        for name in ("dose", "calibrate"):
            commands.add_parser(name, help=LAZY_COMMANDS[name])
    doses = commands.add_parser("dose-response", help=LAZY_COMMANDS["dose-response"])
    if command == "dose-response" or whole:
        from pksim.results import dose_response_report

        dose_response_report.add_arguments(doses)
        doses.set_defaults(zarr=False, summary_only=False, dask=None, workers=None)
    doses.set_defaults(handler=command_dose_response)
    app = commands.add_parser("app", help=LAZY_COMMANDS["app"])
    if command == "app" or whole:
        from pksim.app import DEFAULT_PORT

        app.add_argument("--port", type=int, default=DEFAULT_PORT,
                         help=f"port to serve on (default {DEFAULT_PORT})")  # fmt: skip
        app.add_argument(
            "--no-browser", action="store_true", help="serve without opening a browser"
        )
    app.set_defaults(handler=command_app)


def _run_arguments(run: argparse.ArgumentParser) -> None:
    from pksim.results.dose_response_report import add_chunk_arguments
    from pksim.results.nonmem_cohort import add_nonmem_argument
    from pksim.results.percentiles import PERCENTILE_METHODS
    from pksim.scenario import DEFAULT_SCENARIO

    run.add_argument(
        "scenario", nargs="?", help=f"scenario file or bundled name (default: {DEFAULT_SCENARIO})"
    )
    run.add_argument("--out", help=f"output folder (default: {DEFAULT_OUT}/<scenario>)")
    run.add_argument("-n", type=int, help="number of subjects (overrides the scenario)")
    run.add_argument("--seed", type=int, help="random seed (overrides the scenario)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument(
        "--report",
        action="store_true",
        help="also write report.html: one self-contained page to print or share",
    )
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
    add_chunk_arguments(run)
    add_nonmem_argument(run)
    run.add_argument(
        "--dask", metavar="ADDRESS", help="run chunks on the Dask scheduler at ADDRESS"
    )
    run.add_argument(
        "--workers", type=int, metavar="N", help="run chunks on a local Dask cluster of N workers"
    )


def _command(argv: list[str]) -> str | None:
    """The command named on the command line (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    from pksim.errors import os_error_text

    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser(_command(argv)).parse_args(argv)
    args.argv = argv
    with _stopping_cleanly():
        try:
            return args.handler(args)
        except OSError as error:
            print(f"pksim {args.command}: {os_error_text(error)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except (ValueError, ImportError) as error:
            print(f"pksim {args.command}: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt as error:
            _say_stopped("interrupted", error)
            return EXIT_INTERRUPTED
        except Terminated as error:
            _say_stopped(f"stopped by {error}", error)
            return EXIT_SIGNALLED + error.signum


def _say_stopped(how: str, error: BaseException) -> None:
    what = "; ".join(getattr(error, "__notes__", [])) or "nothing was written"
    print(f"\npksim: {how}; {what}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
