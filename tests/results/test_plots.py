"""Plots render, are labelled from attrs, show the target band, and files are written atomically."""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from pksim.results import target_attainment
from pksim.results.plots import (
    plot_concentration_ribbons,
    plot_trough_course,
    plot_trough_distribution,
    save_plots,
)
from tests.synthetic import synthetic_dataset

matplotlib.use("Agg")

TROUGH_LABEL = "Whole-blood trough concentration (ng/mL)"
VORICONAZOLE = {"drug": "voriconazole", "start_day": 3, "stop_day": 5}


@pytest.fixture(scope="module")
def ds():
    return synthetic_dataset(
        n_subjects=150, days=7, with_concentration=True, comedications=[VORICONAZOLE]
    )


def _render(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _extent(patch, axis: int) -> tuple[float, float]:
    """(min, max) of a patch along x (0) or y (1), in the coordinates it was drawn in."""
    vertices = patch.get_patch_transform().transform(patch.get_path().vertices)
    return float(vertices[:, axis].min()), float(vertices[:, axis].max())


def _labelled(ax, prefix: str):
    return [p for p in ax.patches if str(p.get_label()).startswith(prefix)]


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


# --- trough distribution -----------------------------------------------------------------------


def test_distribution_labels_band_and_numbers(ds):
    fig = plot_trough_distribution(ds)
    assert _render(fig).startswith(b"\x89PNG")
    (ax,) = fig.axes
    assert ax.get_ylabel() == TROUGH_LABEL
    assert fig.get_suptitle() == "Synthetic test result"
    assert "day 7" in ax.get_title()
    (band,) = _labelled(ax, "target induction 6\N{EN DASH}10 ng/mL")
    assert _extent(band, 1) == (6.0, 10.0)
    (renal,) = _labelled(ax, "target ≤ 4 ng/mL")
    assert _extent(renal, 1) == (0.0, 4.0)
    assert "renal impairment" in renal.get_label()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["3 mg QD", "1.5 mg BID"]
    table = target_attainment(ds)
    assert [t.get_text() for t in ax.texts] == [f"{v:.0f}%" for v in table["pct_in_range"]]
    trough = ds["trough"].sel(day=7).values
    medians = [line.get_ydata()[0] for line in ax.lines if line.get_gid() == "median"]
    np.testing.assert_allclose(medians, np.median(trough, axis=1))
    ends = sorted(line.get_ydata()[1] for line in ax.lines if line.get_gid() == "whisker")
    expected = np.percentile(trough, [5, 95], axis=1).ravel()
    np.testing.assert_allclose(ends, sorted(expected))


def test_distribution_by_subgroup(ds):
    fig = plot_trough_distribution(ds, by="cyp3a5", day=2)
    ax = fig.axes[0]
    assert "day 2" in ax.get_title()
    medians = [line for line in ax.lines if line.get_gid() == "median"]
    assert len(medians) == 2 * 3  # regimens x genotypes
    assert {"*1/*1", "*1/*3", "*3/*3"} <= set(_legend_texts(fig))
    assert fig.legends[0].get_title().get_text() == "cyp3a5"
    assert len(ax.texts) == 2 * 3
    _render(fig)


def test_distribution_without_targets(ds):
    fig = plot_trough_distribution(ds.drop_vars(["target_lower", "target_upper"]))
    ax = fig.axes[0]
    assert not _labelled(ax, "target")
    assert not ax.texts
    _render(fig)


def test_distribution_errors(ds):
    with pytest.raises(ValueError, match='did you mean "cyp3a5"'):
        plot_trough_distribution(ds, by="cyp3a")
    with pytest.raises(ValueError, match="by must be one subgroup"):
        plot_trough_distribution(ds, by=("cyp3a5", "sex"))
    with pytest.raises(ValueError, match="day 99 is not in the dataset"):
        plot_trough_distribution(ds, day=99)


# --- concentration ribbons ---------------------------------------------------------------------


def test_ribbons_labels_percentiles_and_doses(ds):
    fig = plot_concentration_ribbons(ds, regimen="1.5 mg BID")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Time after first dose (h)"
    assert ax.get_ylabel() == "Whole-blood concentration (ng/mL)"
    assert ax.get_title() == "1.5 mg BID"
    (median,) = [line for line in ax.lines if line.get_label() == "median"]
    conc = ds["concentration"].sel(regimen="1.5 mg BID").values
    np.testing.assert_allclose(median.get_ydata(), np.median(conc, axis=0))
    (doses,) = [line for line in ax.lines if line.get_label() == "dose"]
    expected = json.loads(ds.attrs["dose_times_h"])["1.5 mg BID"]
    np.testing.assert_allclose(doses.get_xdata(), expected)
    (span,) = _labelled(ax, "voriconazole")
    assert _extent(span, 0) == (48.0, 120.0)  # days 3-5 inclusive: [24 * 2, 24 * 5) h
    (band,) = _labelled(ax, "target induction")
    assert _extent(band, 1) == (6.0, 10.0)
    _render(fig)


def test_ribbons_all_regimens(ds):
    fig = plot_concentration_ribbons(ds)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["3 mg QD", "1.5 mg BID"]
    _render(fig)


def test_ribbons_errors(ds):
    with pytest.raises(ValueError, match=r"'concentration' variable.*variables present"):
        plot_concentration_ribbons(ds.drop_vars("concentration"))
    with pytest.raises(ValueError, match=r'did you mean "3 mg QD"\?\); valid: 1.5 mg BID, 3 mg'):
        plot_concentration_ribbons(ds, regimen="3mg QD")
    broken = ds.copy()
    broken.attrs["dose_times_h"] = "{not json"
    with pytest.raises(ValueError, match=r"dose_times_h.*not valid JSON"):
        plot_concentration_ribbons(broken)


# --- trough course -----------------------------------------------------------------------------


def test_course_percentiles_and_comedication(ds):
    fig = plot_trough_course(ds)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["3 mg QD", "1.5 mg BID"]
    ax = axes[0]
    assert ax.get_xlabel().startswith("Day")
    assert fig.get_supylabel() == TROUGH_LABEL
    (median,) = [line for line in ax.lines if line.get_label() == "median"]
    np.testing.assert_allclose(median.get_xdata(), np.arange(1, 8))
    trough = ds["trough"].sel(regimen="3 mg QD").values
    np.testing.assert_allclose(median.get_ydata(), np.median(trough, axis=0))
    (span,) = _labelled(ax, "voriconazole")
    # the trough of day d is at the end of day d: a day 3-5 course covers x in [2, 5]
    assert _extent(span, 0) == (2.0, 5.0)
    assert "voriconazole (day 3 to day 5)" in _legend_texts(fig)
    _render(fig)


def test_course_open_ended_and_throughout():
    courses = [
        {"drug": "rifampicin", "start_day": 4, "stop_day": None},
        {"drug": "prednisone", "start_day": None, "stop_day": None},
    ]
    ds = synthetic_dataset(n_subjects=40, days=6, comedications=courses)
    fig = plot_trough_course(ds)
    ax = fig.axes[0]
    (span,) = _labelled(ax, "rifampicin")
    assert _extent(span, 0) == (3.0, ax.get_xlim()[1])
    assert not _labelled(ax, "prednisone")  # whole course: listed, not shaded
    assert "prednisone throughout" in _legend_texts(fig)


def test_course_by_subgroup(ds):
    fig = plot_trough_course(ds, by="weight_band")
    assert {"< 60 kg", "≥ 60 kg"} <= set(_legend_texts(fig))
    ax = fig.axes[0]
    band = ds["weight_band"].values == "< 60 kg"
    trough = ds["trough"].sel(regimen="3 mg QD").values[band]
    medians = [line.get_ydata() for line in ax.lines if line.get_marker() == "."]
    assert any(np.allclose(m, np.median(trough, axis=0)) for m in medians)
    _render(fig)
    with pytest.raises(ValueError, match="unknown grouping 'weight'"):
        plot_trough_course(ds, by="weight")


def test_course_bad_comedications_attr(ds):
    broken = ds.copy()
    broken.attrs["comedications"] = json.dumps({"drug": "x"})
    with pytest.raises(ValueError, match="comedications"):
        plot_trough_course(broken)


# --- saving ------------------------------------------------------------------------------------


def test_save_plots_writes_every_applicable_png(ds, tmp_path):
    out = tmp_path / "new" / "plots"
    (out.parent).mkdir()
    paths = save_plots(ds, out)
    names = [p.name for p in paths]
    assert names == [
        "trough_distribution.png",
        "trough_distribution_by_weight_band.png",
        "trough_distribution_by_cyp3a5.png",
        "trough_distribution_by_renal_impairment.png",
        "trough_distribution_by_comedication.png",
        "trough_course.png",
        "concentration_ribbons.png",
    ]
    for path in paths:
        assert path.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary files left


def test_save_plots_skips_what_does_not_apply(tmp_path):
    ds = synthetic_dataset(n_subjects=30, days=1, renal_fraction=0.0)
    names = [p.name for p in save_plots(ds, tmp_path)]
    assert "concentration_ribbons.png" not in names
    assert "trough_course.png" not in names  # a single day has no course
    assert "trough_distribution_by_renal_impairment.png" not in names  # one level only
    assert "trough_distribution_by_comedication.png" not in names


def test_save_plots_is_atomic(ds, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    target = tmp_path / "trough_distribution.png"
    target.write_bytes(b"previous")

    def broken_savefig(self, target, **kwargs):
        if hasattr(target, "write"):  # a file object
            target.write(b"half a png")
        else:  # a path
            Path(target).write_bytes(b"half a png")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        save_plots(ds, tmp_path)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["trough_distribution.png"]


def test_save_plots_bad_directory(ds, tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        save_plots(ds, file)
    with pytest.raises(ValueError, match="directory must be a path"):
        save_plots(ds, 3)
    with pytest.raises(ValueError, match=r"xarray\.Dataset"):
        save_plots(ds["trough"], tmp_path)
