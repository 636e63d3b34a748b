"""The dose plot of one patient: observed troughs, the individual prediction with its band,
the target band and the recommended regimen's forecast (matplotlib, no pyplot)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from pksim import units
from pksim.library.targets import TargetRange
from pksim.mipd.fit import Fit

__all__ = ["dose_figure"]

FIGURE_SIZE_IN = (9.0, 4.8)
"""Width and height of the figure (inches)."""


def dose_figure(fit: Fit, current: xr.Dataset, recommended: xr.Dataset | None, target: TargetRange):
    """A :class:`matplotlib.figure.Figure`; ``current`` / ``recommended`` are
    :func:`pksim.mipd.forecast.forecast` Datasets (time in days on the x axis)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGURE_SIZE_IN, layout="constrained")
    ax = fig.add_subplot()
    day = units.HOURS_PER_DAY
    ax.axhspan(
        target.lower,
        target.upper,
        color="tab:green",
        alpha=0.12,
        label=f"target {target.label} {target.lower:g}-{target.upper:g} ng/mL",
    )
    for ds, colour, label in (
        (current, "tab:blue", "current regimen"),
        (recommended, "tab:orange", "recommended"),
    ):
        if ds is None:
            continue
        t = ds["time"].values / day
        keep = t >= (ds.attrs["start_h"] / day if ds is recommended else -np.inf)
        low, high = ds["curve_percentile"].sel(percentile=[5.0, 95.0]).values
        ax.fill_between(
            t[keep], low[keep], high[keep], color=colour, alpha=0.18, label=f"{label}: 90 % band"
        )
        ax.plot(
            t[keep],
            ds["curve_map"].values[keep],
            color=colour,
            lw=1.2,
            label=f"{label}: IPRED ({ds.attrs['regimen']})",
        )
    h = fit.history
    q = ~h.obs_blq
    ax.plot(h.obs_times[q] / day, h.obs_values[q], "ko", ms=5, label="observed")
    if h.obs_blq.any():
        ax.plot(h.obs_times[~q] / day, h.obs_lloq[~q], "kv", mfc="none", label="below LLOQ")
    ax.set_xlabel("time (days from the first record)")
    ax.set_ylabel(f"tacrolimus whole blood ({units.CONCENTRATION})")
    ax.set_title(f"patient {h.id}: MAP fit and forecast ({fit.design.pset.name})")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left")
    return fig
