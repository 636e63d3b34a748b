"""The shareable report: one self-contained HTML page with the run's own numbers."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

import pksim
from pksim.cli import main
from pksim.results.html_report import (
    PLOT_CAPTIONS,
    REPORT_NAME,
    attainment_html,
    html_report,
)
from pksim.results.report import run_report
from pksim.scenario import scenario_from_text

N = 300
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input"}


class _Page(HTMLParser):
    """Collects tags (checking that they nest), image sources, links and text."""

    def __init__(self):
        super().__init__()
        self.stack, self.sources, self.links, self.text, self.errors = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.sources.append(attrs.get("src", ""))
        for key in ("href", "src"):
            if key in attrs and tag != "img":
                self.links.append(attrs[key])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    assert not page.errors and not page.stack, (page.errors, page.stack)
    return page


@pytest.fixture(scope="module")
def induction():
    scenario = pksim.load_scenario("ln-induction")
    report = run_report(scenario, N, 11, plots=True)
    created = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
    text = html_report(report, scenario, command="pksim run ln-induction --report", created=created)
    return scenario, report, text


def test_report_is_one_self_contained_page(induction):
    _, _, text = induction
    page = _parse(text)
    assert page.links == []  # no stylesheet, script or link to fetch
    assert "<script" not in text
    assert page.sources and all(s.startswith("data:image/png;base64,") for s in page.sources)
    for source in page.sources:
        assert base64.b64decode(source.split(",", 1)[1]).startswith(PNG_SIGNATURE)
    assert "@media print" in text and "break-inside: avoid" in text


def test_report_shows_the_runs_own_numbers(induction):
    _, report, text = induction
    words = " ".join(_parse(text).text)
    overall = report.tables[0]
    for row in overall.itertuples():
        assert row.regimen in words
        in_range = f"{row.pct_in_range:.1f}"
        ci = f"{row.pct_in_range_ci_low:.1f}\N{EN DASH}{row.pct_in_range_ci_high:.1f}"
        assert re.search(rf"{re.escape(in_range)}\s*{re.escape(ci)}", words), row.regimen
        assert f"{row.median:.2f}" in words
    # the plots of `pksim run`: the distribution, one per subgroup with levels, the course,
    # and PTA over time (28 days; the dose does not vary, so no realised-dose plot)
    split = sum(t.iloc[:, 1].nunique() > 1 for t in report.tables[1:])
    assert len(_parse(text).sources) == 1 + split + 1 + 1
    assert "Attainment over time" in words and "Realised daily dose" not in words
    for name in ("CYP3A5 genotype", "Weight band", "Renal impairment"):
        assert f"By {name}" in words


def test_report_says_the_scenario_model_and_provenance(induction):
    scenario, _, text = induction
    words = " ".join(_parse(text).text)
    assert "voriconazole, from day 15 to day 22" in words
    assert "0.05 mg/kg/day in 2 doses a day (08:00, 20:00)" in words
    assert "below 60 kg: 2 mg/day; from 60 kg: 3 mg/day" in words
    pset = scenario.parameter_set
    for key in pset.source_keys:
        assert f"[{key}] {pset.citations[key]}" in words
    assert "recalled, not verified" in words  # the evidence tags explained
    assert pset.structural_model in words
    for needle in (
        f"pksim {pksim.__version__}",
        "seed 11",
        "2026-11-29 12:30:00 UTC",
        "pksim run ln-induction --report",
        "[[regimens]]",  # the scenario file itself
    ):
        assert needle in words, needle


def test_over_time_section_when_doses_vary():
    scenario = pksim.load_scenario("voriconazole-dose-cut")
    report = run_report(scenario, 120, 5, plots=False)
    page = html_report(report, scenario, images=[])
    parsed = _parse(page)
    words = " ".join(parsed.text)
    assert "Attainment over time" in words
    captions = [PLOT_CAPTIONS["pta_over_time"], PLOT_CAPTIONS["realised_dose"]]
    assert all(c in words for c in captions)
    assert len(parsed.sources) == 2  # the two over-time plots (the standard ones left out)
    summary = report.over_time[0].summary
    assert "% with a dose change" in words
    for row in summary.itertuples():
        cells = (
            f"{row.pct_never_in_range:.1f}",
            f"{row.pct_time_in_range_mean:.1f}",
            f"{row.pct_ever_above:.1f}",
            f"{row.mean_dose_changes:.2f}",
            f"{row.pct_dose_changed:.1f}",
        )
        line = re.search(
            rf"<tr><td>{re.escape(row.regimen)}</td>.*?</tr>",
            page.split("Attainment over time", 1)[1],
        )
        assert line, row.regimen
        found = re.findall(r"<td class='num'>([^<]*)</td>", line.group(0))
        assert [found[2], found[3], found[5], found[7], found[8]] == list(cells)
        assert found[1].startswith(f"{row.first_in_range_day_median:g} (")
    assert float(summary["pct_dose_changed"].iloc[2]) > 0  # TDM changed some doses


def test_one_day_run_has_no_over_time_section():
    text = "days = 1\n[[regimens]]\nname = 'a'\ndaily_dose_mg = 3\ndoses_per_day = 2\n"
    scenario = scenario_from_text(text)
    report = run_report(scenario, 20, 1, plots=False)
    assert not report.over_time
    assert "Attainment over time" not in html_report(report, scenario, images=[])


def test_user_text_is_escaped():
    text = """
title = "<script>alert(1)</script> & <b>bold</b>"
days = 3
[[regimens]]
name = "<img src=x onerror=alert(1)>"
daily_dose_mg = 3
doses_per_day = 2
[parameters.overrides]
"typical.cl" = 16.0
"""
    scenario = scenario_from_text(text)
    report = run_report(scenario, 20, 1, plots=False)
    page = html_report(report, scenario, images=[])
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    words = " ".join(_parse(page).text)
    assert "16 (overridden)" in words and "typical.cl = 16" in words


def test_attainment_html_rounds_for_reading():
    scenario = pksim.load_scenario("ln-maintenance")
    table = run_report(scenario, 50, 3).tables[0]
    cells = re.findall(r"<td class='num'>([^<]*)</td>", attainment_html(table))
    dash = "\N{EN DASH}"
    readable = rf"[\d,]+|\d+\.\d|\d+\.\d{dash}\d+\.\d|\d+\.\d\d({dash}\d+\.\d\d)?"
    assert cells and all(re.fullmatch(readable, c) for c in cells), cells


def test_cli_report_is_published_with_the_run(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", "ln-maintenance", "-n", "200", "--summary-only", "--report", "--out", str(out)]
    assert main(argv) == 0
    report = out / REPORT_NAME
    assert report.is_file()
    manifest = json.loads((out / "pksim-manifest.json").read_text())
    assert REPORT_NAME in json.dumps(manifest)
    words = " ".join(_parse(report.read_text(encoding="utf-8")).text)
    assert "pksim run ln-maintenance -n 200 --summary-only --report --out" in words
    assert str(out / REPORT_NAME) in capsys.readouterr().out
