"""The target band in the plots says which range it is, with its numbers: the renal range is
labelled as such even when most subjects are renal-impaired (issue 12, item 7; issue 14)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from pksim.results.figure_parts import shade_targets

DASH = "\N{EN DASH}"


def _labels(ranges, attrs):
    fig, ax = plt.subplots()
    try:
        return [h.get_label() for h in shade_targets(ax, ranges, attrs)]
    finally:
        plt.close(fig)


def test_renal_majority_band_is_labelled_renal():
    ranges = [
        {"lower": 3.0, "upper": 4.0, "subjects": 70, "renal_impaired": 70},
        {"lower": 3.0, "upper": 6.0, "subjects": 30, "renal_impaired": 0},
    ]
    labels = _labels(ranges, {"target_label": "maintenance"})
    assert sorted(labels) == sorted(
        [
            f"target 3{DASH}4 ng/mL (renal impairment, 70 subjects)",
            f"target maintenance 3{DASH}6 ng/mL (30 subjects)",
        ]
    )


def test_phase_majority_band_keeps_the_scenario_label():
    ranges = [
        {"lower": 6.0, "upper": 10.0, "subjects": 86, "renal_impaired": 0},
        {"lower": 3.0, "upper": 4.0, "subjects": 14, "renal_impaired": 14},
    ]
    labels = _labels(ranges, {"target_label": "induction"})
    assert labels == [
        f"target induction 6{DASH}10 ng/mL (86 subjects)",
        f"target 3{DASH}4 ng/mL (renal impairment, 14 subjects)",
    ]
