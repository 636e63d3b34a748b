"""``pksim dose PATIENT.csv --target induction``: MAP fit, forecast and dose options, printed,
and a plot written (observed, IPRED with its band, target band, recommended forecast).
``pksim calibrate DATA.csv --parameters default --out local.toml``: the set's typical CL/F
(optionally its IIV and proportional error) estimated from the data
(:mod:`pksim.mipd.calibrate`), written as a new parameter set; ``--vpc`` draws a visual
predictive check (:mod:`pksim.mipd.vpc`). A patient without a CYP3A5 genotype is dosed over the
genotype mixture (:mod:`pksim.mipd.mixture`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pksim.errors import shown
from pksim.files import write_atomically
from pksim.library.targets import TargetRange, resolve_target
from pksim.mipd.calibrate import (
    DEFAULT_ESTIMATE,
    ESTIMABLE,
    calibrate,
    calibrated_toml,
    parse_estimate,
    write_calibrated,
)
from pksim.mipd.fit import Fit
from pksim.mipd.forecast import forecast
from pksim.mipd.history import COVARIATE_RULES, NOCB
from pksim.mipd.individualize import read_histories, resolve_parameters
from pksim.mipd.mixture import DEFAULT_GENOTYPE_POPULATION, MixtureFit, fit_with_genotype_mixture
from pksim.mipd.mixture_forecast import mixture_dose_options, mixture_forecast
from pksim.mipd.nonmem import read_nonmem
from pksim.mipd.plot import dose_figure
from pksim.mipd.recommend import DoseOption, dose_options
from pksim.mipd.vpc import BINNINGS, visual_predictive_check, vpc_figure

__all__ = ["command_calibrate", "command_dose", "register", "target_range"]

PLOT_DPI = 120
"""Resolution of the written plot."""
MIXTURE_FUNCTIONS = (mixture_forecast, mixture_dose_options)
"""Forecast and dose options of a patient fitted as a CYP3A5 genotype mixture."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``dose`` subcommand to the CLI's subparsers."""
    dose = commands.add_parser(
        "dose", help="individualise a patient from measured troughs and propose doses"
    )
    dose.add_argument(
        "patient",
        help="NONMEM-style CSV, or .xlsx (first sheet) (ID TIME AMT EVID ... DV, covariates)",
    )
    dose.add_argument(
        "--target",
        default="induction",
        help="target phase (induction, maintenance) or a range LOW-HIGH in ng/mL",
    )
    dose.add_argument(
        "--parameters",
        default="default",
        help="bundled parameter set or a TOML file in the bundled format",
    )
    dose.add_argument("--aim", type=float, help="explicit trough aim (ng/mL) inside the target")
    dose.add_argument("--formulation", default="prograf", help="product for the dose options")
    dose.add_argument("--days", type=int, default=7, help="days of the forecast (default 7)")
    dose.add_argument("--id", help="the patient's ID when the file holds several")
    dose.add_argument("--units", default="ng/mL", help="units of DV and LLOQ (ng/mL, ug/L, mg/L)")
    dose.add_argument("--covariate-rule", choices=COVARIATE_RULES, default=NOCB)
    dose.add_argument("--seed", type=int, default=1, help="seed of the posterior draws")
    dose.add_argument("--plot", help="PNG to write (default: <patient>-dose.png beside it)")
    dose.add_argument("--no-plot", action="store_true", help="write no plot")
    dose.add_argument(
        "--genotype-prior",
        help="CYP3A5 prior when the data give no genotype: a population (default "
        f"{DEFAULT_GENOTYPE_POPULATION}) or '*3/*3=P,*1/*3=P,*1/*1=P'",
    )
    dose.set_defaults(handler=command_dose)
    calibrate = commands.add_parser(
        "calibrate", help="estimate a parameter set's typical CL/F from local TDM data"
    )
    calibrate.add_argument("data", help="NONMEM-style CSV of many patients")
    calibrate.add_argument("--parameters", default="default", help="bundled parameter set")
    calibrate.add_argument("--out", required=True, help="TOML file of the calibrated set")
    calibrate.add_argument("--name", help="name of the new set (default: <set>-<data file>)")
    calibrate.add_argument("--units", default="ng/mL", help="units of DV and LLOQ")
    calibrate.add_argument("--covariate-rule", choices=COVARIATE_RULES, default=NOCB)
    calibrate.add_argument(
        "--estimate",
        default=",".join(DEFAULT_ESTIMATE),
        help=f"what to estimate, comma-separated: {', '.join(ESTIMABLE)} (default cl)",
    )
    calibrate.add_argument("--vpc", help="PNG of a visual predictive check of the calibrated set")
    calibrate.add_argument(
        "--vpc-binning", choices=BINNINGS, default="day", help="VPC bins: day of therapy or TAD"
    )
    calibrate.add_argument("--seed", type=int, default=1, help="seed of the VPC's replicates")
    calibrate.add_argument(
        "--genotype-prior",
        help="CYP3A5 prior of patients without a genotype (as for pksim dose)",
    )
    calibrate.set_defaults(handler=command_calibrate)


def command_calibrate(args: argparse.Namespace) -> int:
    pset = resolve_parameters(args.parameters)
    histories = read_nonmem(
        args.data, concentration_units=args.units, covariate_rule=args.covariate_rule
    )
    estimate = parse_estimate(args.estimate)
    result = calibrate(histories, pset, estimate, genotype_prior=args.genotype_prior)
    name = args.name or f"{pset.name}-{Path(args.data).stem}"
    check = None
    if args.vpc:
        check = visual_predictive_check(
            histories,
            result.calibrated,
            seed=args.seed,
            binning=args.vpc_binning,
            genotype_prior=args.genotype_prior,
        )
    diagnostics = check.summary() if check is not None else ""
    write_calibrated(args.out, calibrated_toml(pset, result, args.data, name, diagnostics))
    print(result.summary())
    if check is not None:
        figure = vpc_figure(check)
        write_atomically(args.vpc, lambda tmp: figure.savefig(tmp, dpi=PLOT_DPI, format="png"))
        print(f"{check.summary()}; plot: {args.vpc}")
    print(f"calibrated parameter set {name!r}: {args.out} (use it with --parameters {args.out})")
    return 0


def target_range(text: str) -> TargetRange:
    """A bundled phase name or ``LOW-HIGH`` (ng/mL)."""
    if "-" in text:
        low, _, high = text.partition("-")
        try:
            return TargetRange(float(low), float(high), label=f"{low}-{high} ng/mL", source="user")
        except ValueError:
            raise ValueError(f"--target {shown(text)}: give LOW-HIGH in ng/mL, e.g. 6-10") from None
    return resolve_target(text)


def command_dose(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise ValueError(f"--days must be >= 1, got {args.days}")
    target = target_range(args.target)
    histories = read_histories(
        args.patient, concentration_units=args.units, covariate_rule=args.covariate_rule
    )
    fits = fit_with_genotype_mixture(
        histories, resolve_parameters(args.parameters), args.genotype_prior
    )
    if args.id is None and len(fits) > 1:
        raise ValueError(
            f"{args.patient} holds {len(fits)} patients; choose one with --id "
            f"({', '.join(list(fits)[:10])})"
        )
    pid = args.id if args.id is not None else next(iter(fits))
    if pid not in fits:
        raise ValueError(f"--id {shown(pid)}: not in {args.patient} ({', '.join(fits)})")
    fit = fits[pid]
    mixture = fit if isinstance(fit, MixtureFit) else None
    predict, recommend = (forecast, dose_options) if mixture is None else MIXTURE_FUNCTIONS
    current = predict(fit, days=args.days, seed=args.seed)
    options = recommend(
        fit, target, formulation=args.formulation, days=args.days, seed=args.seed, aim=args.aim
    )
    best = predict(fit, options[0].regimen, days=args.days, seed=args.seed) if options else None
    if mixture is not None:
        fit = mixture.mode
        print(f"{mixture.describe()}; the MAP below is the {mixture.mode_genotype} fit\n")
    print(report(fit, current, options, target, args.days))
    if not args.no_plot:
        path = (
            Path(args.plot)
            if args.plot
            else Path(args.patient).with_name(f"{Path(args.patient).stem}-dose.png")
        )
        figure = dose_figure(fit, current, best, target)
        write_atomically(path, lambda tmp: figure.savefig(tmp, dpi=PLOT_DPI, format="png"))
        print(f"plot: {path}")
    return 0


def report(fit: Fit, current, options: list[DoseOption], target: TargetRange, days: int) -> str:
    """The printed report."""
    d, h = fit.design, fit.history
    lines = [
        f"patient {h.id}: parameter set {d.pset.name}, {h.n_observations} observation(s), "
        f"objective {fit.objective:.3f} ({'converged' if fit.converged else 'NOT converged'})",
        "",
        "MAP parameters (baseline covariates)       typical    individual   90 % (Laplace)",
    ]
    individual = fit.individual()
    units = {"cl": "L/h", "v": "L", "ka": "1/h", "tlag": "h", "f": "", "q": "L/h", "v2": "L"}
    for p, value in individual.items():
        interval = ""
        if p in d.eta_parameter:
            sd = fit.covariance[d.eta_parameter.index(p), d.eta_parameter.index(p)] ** 0.5
            interval = (
                f"{value * 2.718281828459045 ** (-1.6449 * sd):8.3g} - "
                f"{value * 2.718281828459045 ** (1.6449 * sd):.3g}"
            )
        lines.append(f"  {p:5s} {units[p]:4s} {d.typical[p]:18.4g} {value:13.4g}   {interval}")
    lines += ["", "fit:   time (h)   observed   IPRED    PRED  (ng/mL)"]
    for t, y, b, ip, pr in zip(
        h.obs_times, h.obs_values, h.obs_blq, fit.ipred, fit.pred, strict=True
    ):
        shown_y = f"<{h.obs_lloq[0]:g}" if b else f"{y:.3g}"
        lines.append(f"  {t:14.1f} {shown_y:>10s} {ip:7.3g} {pr:7.3g}")
    band = current["trough_percentile"].values[:, -1]
    lines += [
        "",
        f"forecast, current regimen ({current.attrs['regimen']}): trough on day {days} "
        f"{current['trough_map'].values[-1]:.2f} ng/mL (90 %: {band[0]:.2f}-{band[2]:.2f})",
        "",
        f"dose options for {target.label} ({target.lower:g}-{target.upper:g} ng/mL), "
        f"trough on day {days}:",
        "  regimen                                   MAP   median  P(in range)  in range from day",
    ]
    for o in options:
        reach = "-" if o.days_to_range is None else str(o.days_to_range)
        lines.append(
            f"  {o.regimen.label:38s} {o.trough_map:6.2f} {o.trough_median:7.2f} "
            f"{o.p_in_range:10.0%} {reach:>10s}"
        )
    lines += exposure_lines(current, options, days)
    return "\n".join(lines)


def exposure_lines(current, options: list[DoseOption], days: int) -> list[str]:
    """The printed daily AUC0-24 and Cmax: the current regimen's on day ``days`` (MAP and
    90 % band) and the MAP values of each option on that day."""
    auc = current["auc_percentile"].values[:, -1]
    cmax = current["cmax_percentile"].values[:, -1]
    lines = [
        "",
        f"exposure on day {days}, current regimen: AUC0-24 "
        f"{current['auc_map'].values[-1]:.4g} ng*h/mL (90 %: {auc[0]:.4g}-{auc[2]:.4g}), "
        f"Cmax {current['cmax_map'].values[-1]:.3g} ng/mL (90 %: {cmax[0]:.3g}-{cmax[2]:.3g}) "
        f"at {current['tmax_map'].values[-1]:.2f} h after the day's first dose",
    ]
    if options:
        lines += [
            f"dose options, MAP exposure on day {days}:",
            "  regimen                                   trough   AUC0-24 (ng*h/mL)   "
            "Cmax (ng/mL)  tmax (h)",
        ]
        for o in options:
            lines.append(
                f"  {o.regimen.label:38s} {o.trough_map:8.2f} {o.auc_map:14.4g} "
                f"{o.cmax_map:16.3g} {o.tmax_map:9.2f}"
            )
    return lines
