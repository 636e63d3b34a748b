"""Plots over the result Dataset contract: trough distributions, ribbons, trough course.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
figure registry, no backend switching, nothing to close), labelled from the Dataset's attrs.
matplotlib is imported inside the functions so that ``import pksim`` stays light.
Concentrations are in ng/mL, time in h, days numbered from 1; the trough of day d is the
concentration at t = 24 d h, the end of that day.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from pksim.files import write_atomically
from pksim.results.attainment import PERCENTILES, format_range, target_attainment
from pksim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "SUBGROUPS",
    "plot_concentration_ribbons",
    "plot_trough_course",
    "plot_trough_distribution",
    "save_plots",
]

SUBGROUPS = ("weight_band", "cyp3a5", "renal_impairment", "comedication")
"""Subgroup coordinates that :func:`save_plots` splits the trough distribution by."""

DPI = 150
EN_DASH = "\N{EN DASH}"
TARGET_COLOUR, TARGET_ALPHA = "tab:green", 0.15
OTHER_TARGET_COLOUR, OTHER_TARGET_ALPHA = "tab:orange", 0.08
COMEDICATION_COLOUR, COMEDICATION_ALPHA = "0.5", 0.12
OUTER_ALPHA, INNER_ALPHA = 0.18, 0.35
SUBGROUP_ALPHA = 0.2
LEGEND_COLUMN_IN = 2.6
MAX_LEGEND_COLUMNS = 4
LABEL_WRAP_CHARS = 18
PANEL_SIZE_IN = (7.5, 3.2)
LEGEND_SPACE_IN = 2.0
BOX_WIDTH_IN, MIN_WIDTH_IN, MAX_WIDTH_IN, DISTRIBUTION_HEIGHT_IN = 0.55, 6.0, 16.0, 5.0
MAX_TICKS = 8
HEADROOM = 1.05
TICK_STEPS_DAYS = (1, 2, 7, 14, 28)
PANEL_COLUMNS = 2
MAX_OTHER_TARGETS = 3


def plot_trough_distribution(ds: xr.Dataset, *, day: int | None = None, by: str | None = None):
    """Trough distribution per regimen on one day against the shaded target band.

    Boxes span the 25th-75th percentile with the median, whiskers the 5th-95th (the same
    numbers as :func:`pksim.analysis.target_attainment`); the number above each box is the
    percentage of subjects in their target range. ``by`` splits each regimen by a subgroup
    coordinate (e.g. ``"cyp3a5"``). ``day`` defaults to the last day.
    """
    from matplotlib.figure import Figure

    subgroup = _single_subgroup(by)
    has_target = _has_target(ds)
    table = target_attainment(
        ds,
        by=("regimen", *([subgroup] if subgroup else [])),
        day=day,
        target=None if has_target else (0.0, math.inf),
    )
    regimens = [str(r) for r in ds["regimen"].values]
    levels = list(dict.fromkeys(table[subgroup])) if subgroup else [None]
    width = 0.8 / len(levels)
    n_boxes = len(regimens) * len(levels)
    fig_width = min(MAX_WIDTH_IN, max(MIN_WIDTH_IN, 1.5 + BOX_WIDTH_IN * n_boxes))
    fig = Figure(figsize=(fig_width, DISTRIBUTION_HEIGHT_IN), layout="constrained")
    ax = fig.add_subplot()
    colours = _colours(len(levels))
    handles = _target_bands(ax, ds) if has_target else []
    for j, level in enumerate(levels):
        rows = table if level is None else table[table[subgroup] == level]
        stats, positions = [], []
        for row in rows.itertuples(index=False):
            i = regimens.index(str(row.regimen))
            positions.append(i + (j - (len(levels) - 1) / 2) * width)
            stats.append(
                {"med": row.median, "q1": row.p25, "q3": row.p75, "whislo": row.p5}
                | {"whishi": row.p95, "fliers": [], "label": ""}
            )
            if has_target:
                ax.annotate(
                    f"{row.pct_in_range:.0f}%",
                    (positions[-1], row.p95),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                )
        ax.bxp(
            stats,
            positions=positions,
            widths=0.85 * width,
            patch_artist=True,
            showfliers=False,
            boxprops={"facecolor": colours[j], "alpha": 0.8, "edgecolor": "black"},
            medianprops={"color": "black", "gid": "median"},
            whiskerprops={"gid": "whisker"},
        )
        if level is not None:
            handles.append(_patch(colours[j], _level_text(level)))
    ax.set_xticks(range(len(regimens)), [_wrap(r) for r in regimens])
    ax.set_xlim(-0.6, len(regimens) - 0.4)
    ax.set_ylim(bottom=0.0)
    ax.set_ylabel(_label(ds["trough"]))
    first = int(table["first_day"].iloc[0])
    subtitle = (
        f"Trough on day {first}: box 25th{EN_DASH}75th percentile with median, "
        f"whiskers 5th{EN_DASH}95th percentile"
    )
    if has_target:
        subtitle += "\nnumber above each box: % of subjects in their target range"
    ax.set_title(subtitle, fontsize="small")
    fig.suptitle(str(ds.attrs.get("title", "Trough distribution")))
    if handles:
        title = _coordinate_title(ds, subgroup) if subgroup else None
        _legend(fig, handles, title=title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_concentration_ribbons(ds: xr.Dataset, *, regimen: str | None = None):
    """Percentile ribbons (5/25/50/75/95) of concentration over time, doses marked.

    Needs the ``concentration`` variable (regimen, subject, time). One panel per regimen, or
    only ``regimen``. Nominal dose times come from ``ds.attrs["dose_times_h"]`` (JSON mapping
    regimen -> hours); co-medication periods from ``ds.attrs["comedications"]``.
    """
    from matplotlib.ticker import MultipleLocator

    if "concentration" not in ds.data_vars:
        raise ValueError(
            "ribbons need the 'concentration' variable (regimen, subject, time), which this "
            f"dataset lacks; variables present: {sorted(str(v) for v in ds.data_vars)}"
        )
    conc = ds["concentration"]
    if set(conc.dims) != {"regimen", "subject", "time"}:
        raise ValueError(
            "concentration must have dims (regimen, subject, time), "
            f"got {tuple(str(d) for d in conc.dims)}"
        )
    conc = conc.transpose("regimen", "subject", "time")
    regimens = _chosen_regimens(ds, regimen)
    doses = _json_attr(ds, "dose_times_h", {})
    if not isinstance(doses, dict):
        raise ValueError("ds.attrs['dose_times_h'] must be a JSON object: regimen -> hours")
    time = np.asarray(ds["time"].values, dtype=np.float64)
    span_days = (time.max() - time.min()) / HOURS_PER_DAY
    step = next((s for s in TICK_STEPS_DAYS if span_days / s <= MAX_TICKS), None)
    fig, axes = _panels(len(regimens))
    handles: list[Any] = []
    top = _target_top(ds)
    for ax, name in zip(axes, regimens, strict=True):
        values = conc.sel(regimen=name).values
        bands = np.percentile(values, list(PERCENTILES.values()), axis=0)
        p = dict(zip(PERCENTILES, bands, strict=True))
        handles = _target_bands(ax, ds, primary_only=True) if _has_target(ds) else []
        outer = ax.fill_between(time, p["p5"], p["p95"], color="tab:blue", alpha=OUTER_ALPHA)
        inner = ax.fill_between(time, p["p25"], p["p75"], color="tab:blue", alpha=INNER_ALPHA)
        (median,) = ax.plot(time, p["median"], color="tab:blue", linewidth=1.2)
        outer.set_label(f"5th{EN_DASH}95th percentile")
        inner.set_label(f"25th{EN_DASH}75th percentile")
        median.set_label("median")
        handles += [median, inner, outer]
        top = max(top, float(np.max(p["p95"])))
        dose_times = np.asarray(doses.get(name, []), dtype=np.float64)
        dose_times = dose_times[(dose_times >= time.min()) & (dose_times <= time.max())]
        if dose_times.size:
            (marks,) = ax.plot(
                dose_times,
                np.zeros_like(dose_times),
                linestyle="none",
                marker="^",
                markersize=4,
                color="black",
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label="dose",
            )
            handles.append(marks)
        ax.set_title(name, fontsize="medium")
        ax.set_xlim(time.min(), time.max())
        handles += _comedication_spans(ax, ds, hours=True)
        days_axis = ax.secondary_xaxis(
            "top", functions=(lambda h: h / HOURS_PER_DAY, lambda d: d * HOURS_PER_DAY)
        )
        days_axis.set_xlabel("Days after first dose", fontsize="small")
        days_axis.tick_params(labelsize="small")
        if step is not None:
            ax.xaxis.set_major_locator(MultipleLocator(step * HOURS_PER_DAY))
            days_axis.xaxis.set_major_locator(MultipleLocator(step))
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0.0, HEADROOM * top)
    _label_panels(fig, axes, _label(ds["time"], "Time"), _label(conc))
    fig.suptitle(str(ds.attrs.get("title", "Concentration")))
    _legend(fig, handles)
    return fig


def plot_trough_course(ds: xr.Dataset, *, by: str | None = None):
    """Trough percentiles day by day per regimen, co-medication periods shaded.

    Without ``by``: median, 25th-75th and 5th-95th percentile bands. With ``by`` (a subgroup
    coordinate): the median and 25th-75th band of each level, in its own colour.
    """
    from matplotlib.ticker import MaxNLocator

    subgroup = _single_subgroup(by)
    if subgroup is not None:
        target_attainment(ds, by=subgroup)  # same validation and messages as the table
    troughs = ds["trough"].transpose("regimen", "subject", "day")
    regimens = [str(r) for r in ds["regimen"].values]
    days = np.asarray(ds["day"].values, dtype=np.float64)
    quantiles = list(PERCENTILES.values())
    if subgroup is None:
        groups: list[tuple[Any, np.ndarray]] = [(None, np.ones(ds.sizes["subject"], bool))]
    else:
        table = target_attainment(ds, by=subgroup)
        values = ds[subgroup].values
        groups = [(level, values == level) for level in dict.fromkeys(table[subgroup])]
    colours = ["tab:blue"] if subgroup is None else _colours(len(groups))
    fig, axes = _panels(len(regimens))
    handles: list[Any] = []
    top = _target_top(ds)
    for r, (ax, name) in enumerate(zip(axes, regimens, strict=True)):
        handles = _target_bands(ax, ds, primary_only=True) if _has_target(ds) else []
        values = troughs.values[r]
        for (level, mask), colour in zip(groups, colours, strict=True):
            p = dict(zip(PERCENTILES, np.percentile(values[mask], quantiles, axis=0), strict=True))
            alpha = INNER_ALPHA if level is None else SUBGROUP_ALPHA
            if level is None:
                outer = ax.fill_between(days, p["p5"], p["p95"], color=colour, alpha=OUTER_ALPHA)
                outer.set_label(f"5th{EN_DASH}95th percentile")
            inner = ax.fill_between(days, p["p25"], p["p75"], color=colour, alpha=alpha)
            (median,) = ax.plot(days, p["median"], color=colour, marker=".", linewidth=1.2)
            if level is None:
                inner.set_label(f"25th{EN_DASH}75th percentile")
                median.set_label("median")
                handles += [median, inner, outer]
            else:  # one legend entry per level: its band and median line drawn together
                handles.append(_Entry((inner, median), _level_text(level)))
            top = max(top, float(np.max(p["p95" if level is None else "p75"])))
        ax.set_title(name, fontsize="medium")
        ax.set_xlim(days.min() - 1.0, days.max() + 0.5)
        handles += _comedication_spans(ax, ds, hours=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0.0, HEADROOM * top)
    day_label = _label(ds["day"], "Day") + " (trough at the end of the day)"
    _label_panels(fig, axes, day_label, _label(troughs))
    title = str(ds.attrs.get("title", "Trough course"))
    if subgroup:
        title += (
            f"\nby {_coordinate_title(ds, subgroup)}: median (line) and "
            f"25th{EN_DASH}75th percentile (band)"
        )
    fig.suptitle(title)
    _legend(fig, handles)
    return fig


def save_plots(ds: xr.Dataset, directory: str | os.PathLike) -> list[Path]:
    """Write every applicable plot as PNG into ``directory`` (created if missing).

    Always the trough distribution; one split by each of :data:`SUBGROUPS` present with at
    least two levels; the trough course when there is more than one day; the concentration
    ribbons when ``concentration`` is present. Each file is written to a temporary file in
    the same directory and renamed over the target, so a reader never sees half a file.
    Returns the paths written, in that order.
    """
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if not isinstance(directory, str | os.PathLike):
        raise ValueError(f"directory must be a path, got {directory!r}")
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"directory {str(folder)!r} exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    plots = [("trough_distribution", lambda: plot_trough_distribution(ds))]
    for name in SUBGROUPS:
        if name in ds.coords and pd.unique(np.asarray(ds[name].values)).size > 1:
            plots.append(
                (
                    f"trough_distribution_by_{name}",
                    lambda n=name: plot_trough_distribution(ds, by=n),
                )
            )
    if ds.sizes.get("day", 0) > 1:
        plots.append(("trough_course", lambda: plot_trough_course(ds)))
    if "concentration" in ds.data_vars:
        plots.append(("concentration_ribbons", lambda: plot_concentration_ribbons(ds)))
    written = []
    for stem, make in plots:
        path = folder / f"{stem}.png"
        _save_atomically(make(), path)
        written.append(path)
    return written


# --- helpers -----------------------------------------------------------------------------------


def _save_atomically(fig: Figure, path: Path) -> None:
    def write(temporary: Path) -> None:
        with temporary.open("wb") as handle:
            fig.savefig(handle, format="png", dpi=DPI)

    write_atomically(path, write)


def _single_subgroup(by: Any) -> str | None:
    if by is None:
        return None
    if not isinstance(by, str):
        raise ValueError(f"by must be one subgroup coordinate name or None, got {by!r}")
    return None if by == "regimen" else by


def _has_target(ds: xr.Dataset) -> bool:
    return "target_lower" in ds.variables and "target_upper" in ds.variables


def _chosen_regimens(ds: xr.Dataset, regimen: str | None) -> list[str]:
    regimens = [str(r) for r in ds["regimen"].values]
    if regimen is None:
        return regimens
    if regimen not in regimens:
        close = difflib.get_close_matches(str(regimen), regimens, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"regimen: unknown regimen {regimen!r}{hint} Regimens: {regimens}")
    return [regimen]


def _json_attr(ds: xr.Dataset, name: str, default: Any) -> Any:
    value = ds.attrs.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"ds.attrs[{name!r}] is not valid JSON: {error}") from None


def _label(da: xr.DataArray, default: str | None = None) -> str:
    """``long_name (units)`` from attrs, units left out when they only repeat the name."""
    name = str(da.attrs.get("long_name", default or da.name))
    units = str(da.attrs.get("units", "")).strip()
    if not units or units.lower() in {"1", name.lower(), name.lower() + "s"}:
        return name
    return f"{name} ({units})"


def _coordinate_title(ds: xr.Dataset, name: str) -> str:
    return str(ds[name].attrs.get("long_name", name.replace("_", " ")))


def _level_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, LABEL_WRAP_CHARS)) or text


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return [palette(i % palette.N) for i in range(n)]


def _patch(colour: Any, label: str, *, edgecolor: Any = "black"):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor=edgecolor, label=label)


def _panels(n: int) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    columns = 1 if n <= PANEL_COLUMNS else PANEL_COLUMNS
    rows = math.ceil(n / columns)
    width, height = PANEL_SIZE_IN
    fig = Figure(figsize=(width * columns, height * rows + LEGEND_SPACE_IN), layout="constrained")
    grid = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    for extra in grid[n:]:
        extra.remove()
    return fig, list(grid[:n])


class _Entry:
    """A legend entry drawing several artists on top of each other under one label."""

    def __init__(self, artists: tuple, label: str) -> None:
        self.artists, self.label = artists, label


def _legend(fig: Figure, handles: list[Any], *, title: str | None = None) -> None:
    """One legend under the panels, as many columns as the figure width allows."""
    from matplotlib.legend_handler import HandlerTuple

    artists = [h.artists if isinstance(h, _Entry) else h for h in handles]
    labels = [h.label if isinstance(h, _Entry) else h.get_label() for h in handles]
    width = fig.get_figwidth()
    columns = max(1, min(len(handles), MAX_LEGEND_COLUMNS, int(width // LEGEND_COLUMN_IN)))
    fig.legend(
        artists,
        labels,
        title=title,
        fontsize="small",
        loc="outside lower center",
        ncols=columns,
        handler_map={tuple: HandlerTuple(ndivide=1)},
    )


def _label_panels(fig: Figure, axes: Sequence[Axes], xlabel: str, ylabel: str) -> None:
    """Axis labels on every panel's x axis (a figure-level x label would collide with the
    legend below the panels) and one y label."""
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.xaxis.set_tick_params(labelbottom=True)
    if len(axes) == 1:
        axes[0].set_ylabel(ylabel)
    else:
        fig.supylabel(ylabel)


def _target_top(ds: xr.Dataset) -> float:
    """Highest finite upper target limit (0 when none), so the band always shows."""
    if not _has_target(ds):
        return 0.0
    upper = np.asarray(ds["target_upper"].values, dtype=np.float64)
    finite = upper[np.isfinite(upper)]
    return float(finite.max()) if finite.size else 0.0


def _target_bands(ax: Axes, ds: xr.Dataset, *, primary_only: bool = False) -> list[Any]:
    """Shade the most common per-subject target range; others (e.g. renal) lighter, hatched."""
    lower = np.broadcast_to(ds["target_lower"].values, (ds.sizes["subject"],))
    upper = np.broadcast_to(ds["target_upper"].values, (ds.sizes["subject"],))
    ranges = pd.DataFrame({"lower": lower, "upper": upper}).value_counts()
    handles = []
    for k, ((low, high), count) in enumerate(ranges.items()):
        if k > (0 if primary_only else MAX_OTHER_TARGETS):
            break
        text = f"{format_range(low, high)} ng/mL"
        if k == 0:
            label = f"target {ds.attrs.get('target_label', text)}"
            patch = ax.axhspan(low, high, color=TARGET_COLOUR, alpha=TARGET_ALPHA, zorder=0)
        else:
            label = f"target {text} ({count} subjects{_who(ds, lower == low, upper == high)})"
            patch = ax.axhspan(
                low,
                high,
                facecolor=OTHER_TARGET_COLOUR,
                alpha=OTHER_TARGET_ALPHA,
                hatch="//",
                edgecolor=OTHER_TARGET_COLOUR,
                zorder=0,
            )
        patch.set_label(label)
        handles.append(patch)
    return handles


def _who(ds: xr.Dataset, same_lower: np.ndarray, same_upper: np.ndarray) -> str:
    if "renal_impairment" in ds.coords:
        renal = np.asarray(ds["renal_impairment"].values, dtype=bool)
        if np.array_equal(renal, same_lower & same_upper):
            return ", renal impairment"
    return ""


def _comedication_spans(ax: Axes, ds: xr.Dataset, *, hours: bool) -> list:
    """Shade each co-medication course over the current x limits (set them first).

    A course from ``start_day`` to ``stop_day`` (inclusive) is active on
    t in [24 (start_day - 1), 24 stop_day) h. On a time axis that is the span in hours; on a
    trough-day axis (the trough of day d is at t = 24 d) it is [start_day - 1, stop_day].
    """
    courses = _json_attr(ds, "comedications", [])
    if not isinstance(courses, list) or not all(
        isinstance(c, dict) and "drug" in c for c in courses
    ):
        raise ValueError(
            "ds.attrs['comedications'] must be a JSON list of "
            '{"drug", "start_day", "stop_day"} objects'
        )
    low, high = ax.get_xlim()
    scale = HOURS_PER_DAY if hours else 1.0
    handles = []
    for course in courses:
        start, stop = course.get("start_day"), course.get("stop_day")
        start = -math.inf if start is None else float(start)
        left = max(low, scale * (start - 1.0))
        right = high if stop is None else min(high, scale * float(stop))
        if right <= left:
            continue
        begin = "before day 1" if math.isinf(start) else f"day {start:g}"
        end = "end" if stop is None else f"day {float(stop):g}"
        if left <= low and right >= high:  # throughout: shading everything would hide nothing
            handles.append(_patch("none", f"{course['drug']} throughout", edgecolor="none"))
            continue
        span = ax.axvspan(
            left, right, color=COMEDICATION_COLOUR, alpha=COMEDICATION_ALPHA, zorder=0
        )
        span.set_label(f"{course['drug']} ({begin} to {end})")
        handles.append(span)
    ax.set_xlim(low, high)
    return handles
