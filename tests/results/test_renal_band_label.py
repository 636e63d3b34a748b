"""The target band in the plots says which range it is: when most subjects are renal-impaired,
the most common range is the renal one and is labelled so (issue 12, item 7)."""

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
    assert labels[0] == f"target 3{DASH}4 ng/mL (renal impairment)"
    assert labels[1].startswith(f"target 3{DASH}6 ng/mL (30 subjects")


def test_phase_majority_band_keeps_the_scenario_label():
    ranges = [
        {"lower": 6.0, "upper": 10.0, "subjects": 86, "renal_impaired": 0},
        {"lower": 3.0, "upper": 4.0, "subjects": 14, "renal_impaired": 14},
    ]
    labels = _labels(ranges, {"target_label": "induction"})
    assert labels[0] == "target induction"
    assert labels[1] == f"target 3{DASH}4 ng/mL (14 subjects, renal impairment)"
