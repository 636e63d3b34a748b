"""Plots that read correctly: nothing cut off or overlapping, target bands named with their
numbers, what each plot was computed from, takers of a co-medication not pooled."""

from __future__ import annotations

import itertools

import matplotlib
import pytest

from pksim.results.figure_text import provenance_line, wrap_to_width
from pksim.results.plots import (
    plot_concentration_ribbons,
    plot_trough_course,
    plot_trough_distribution,
)
from pksim.results.report import run_report
from tests.synthetic import synthetic_dataset

matplotlib.use("Agg")

LONG_TITLE = (
    "Renal impairment and a very long scenario title: maintenance doses against the <= 4 "
    "ng/mL ceiling, compared over four weeks in a cohort of adults with lupus nephritis"
)
RUN_ATTRS = {
    "n_subjects": 150,
    "seed": 20261123,
    "scenario_origin": "/somewhere/renal-impairment.toml",
    "parameter_set": "default",
    "pksim_version": "9.9.9",
}
MANY_REGIMENS = tuple(
    f"{dose} mg/day {'BID' if i % 2 else 'QD'}, rounded to 0.5 mg capsules ({name})"
    for i, (dose, name) in enumerate(
        itertools.product((1, 2, 3, 4, 5, 6, 7), ("Prograf", "他克莫司胶囊"))
    )
)


def _dataset(regimens=("3 mg QD", "1.5 mg BID"), **kwargs):
    ds = synthetic_dataset(regimens=regimens, n_subjects=150, days=7, **kwargs)
    ds.attrs.update(RUN_ATTRS, title=LONG_TITLE)
    return ds


def _boxes(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _texts(fig):
    """Every visible text of a figure with something written in it."""
    return [
        t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()
    ]


def _inside_and_apart(fig):
    """Everything drawn lies inside the figure; no two x labels of a panel overlap."""
    renderer = _boxes(fig)
    drawn = fig.get_tightbbox(renderer)  # inches; only what is drawn (ticks in view)
    width, height = fig.get_size_inches()
    assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01, f"cut off left/below: {drawn}"
    assert drawn.x1 <= width + 0.01 and drawn.y1 <= height + 0.01, f"cut off: {drawn}"
    for ax in fig.axes:
        low, high = ax.get_xlim()
        labels = [
            t
            for t, x in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True)
            if t.get_text() and low <= x <= high
        ]
        boxes = [t.get_window_extent(renderer) for t in labels]
        for (a, ta), (b, tb) in itertools.combinations(zip(boxes, labels, strict=True), 2):
            assert not a.overlaps(b), f"x labels overlap: {ta.get_text()!r}, {tb.get_text()!r}"


@pytest.mark.parametrize("n_regimens", [2, 5, 14])
@pytest.mark.parametrize("by", [None, "cyp3a5"])
def test_distribution_text_is_inside_the_figure_and_x_labels_apart(n_regimens, by):
    ds = _dataset(regimens=MANY_REGIMENS[:n_regimens])
    _inside_and_apart(plot_trough_distribution(ds, by=by))


@pytest.mark.parametrize("plot", [plot_trough_course, plot_concentration_ribbons])
def test_panel_figures_keep_their_text_inside(plot):
    ds = _dataset(regimens=MANY_REGIMENS[:3], with_concentration=True)
    _inside_and_apart(plot(ds))


def test_every_plot_says_what_it_was_computed_from():
    ds = _dataset(with_concentration=True)
    line = provenance_line(ds.attrs)
    assert line == (
        "150 subjects \N{MIDDLE DOT} seed 20261123 \N{MIDDLE DOT} scenario renal-impairment.toml"
        " \N{MIDDLE DOT} parameter set default \N{MIDDLE DOT} pksim 9.9.9"
    )
    for plot in (plot_trough_distribution, plot_trough_course, plot_concentration_ribbons):
        assert line in [t.get_text() for t in _texts(plot(ds))], plot.__name__


def _band_labels(fig) -> list[str]:
    return [str(p.get_label()) for p in fig.axes[0].patches if "target" in str(p.get_label())]


def test_target_bands_say_their_numbers_and_whom_they_are_for():
    """Most subjects renally impaired (as in the renal-impairment scenario): the ≤ 4 ng/mL band
    is the renal ceiling, not the phase's target."""
    ds = _dataset(renal_fraction=0.7)
    ds.attrs["target_label"] = "maintenance"
    for fig in (plot_trough_distribution(ds), plot_trough_course(ds)):
        labels = _band_labels(fig)
        assert labels == [
            "target maintenance 6\N{EN DASH}10 ng/mL (45 subjects)",
            "target ≤ 4 ng/mL (renal impairment, 105 subjects)",
        ]
    alone = _dataset(renal_fraction=0.0)
    alone.attrs["target_label"] = "induction"
    assert _band_labels(plot_trough_distribution(alone)) == [
        "target induction 6\N{EN DASH}10 ng/mL"
    ]


def test_course_axis_says_day_once():
    ds = _dataset()
    ds["day"].attrs.update(long_name="Day of treatment", units="day")  # as pksim.run has them
    label = plot_trough_course(ds).axes[0].get_xlabel()
    assert label == "Day of treatment (trough at the end of the day)"


def test_a_run_splits_the_course_of_takers_and_others():
    """voriconazole-start gives voriconazole to half of the cohort."""
    report = run_report("voriconazole-start", 40, 3, plots=True, chunk_subjects=20)
    assert report.trough_course.levels == (("none",), ("voriconazole",))
    everyone = run_report("ln-induction", 20, 3, plots=True)  # no co-medication
    assert everyone.trough_course.levels == ((),)


def test_titles_wrap_to_the_width_in_their_font():
    lines = wrap_to_width("他克莫司" * 20 + " and some words", 200.0, 12.0)
    assert len(lines) > 2 and "".join(lines).replace(" ", "").startswith("他克莫司他克莫司")
