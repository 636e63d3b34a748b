"""The app in a real browser: headless Chromium driven by Playwright.

The app is served by ``pksim app`` in a subprocess on a free port. The browser is the
system's Chromium (``playwright install`` cannot download browsers here): ``$PKSIM_CHROMIUM``,
else ``chromium`` / ``chromium-browser`` / ``google-chrome`` on the PATH. Without Playwright,
Panel or a browser the tests skip, saying how to get them (``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pksim.scenario import scenario_from_text

pytest.importorskip("panel", reason="the app needs Panel: pip install -e '.[app]'")
playwright = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Playwright: pip install -e '.[dev]'"
)

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
SERVER_START_S = 60.0
"""Longest wait for the app's server to answer (it imports Panel and bokeh)."""
STEP_TIMEOUT_MS = 30_000
"""Longest wait for one thing to appear on the page (a run of 2000 subjects takes < 1 s)."""
FIRST_COMPUTE_TIMEOUT_MS = 90_000
"""Longest wait for a page's first computation in a fresh server (it may compile kernels the
warm-up did not, on a busy 2-core machine)."""
SERVER_STOP_S = 15.0
"""Longest wait for the server to stop after SIGTERM before it is killed."""
SUBJECTS = "2000"
ROOT = Path(__file__).resolve().parents[2]


def _browser() -> str | None:
    given = os.environ.get("PKSIM_CHROMIUM")
    if given:
        return given
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path_factory.mktemp("app") / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "pksim", "app", "--port", str(port), "--no-browser"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://localhost:{port}/"
    deadline = time.monotonic() + SERVER_START_S
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text(errors="replace")[-2000:]
                    pytest.fail(f"the app did not start on {url}: {text}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    path = _browser()
    if path is None:
        pytest.skip(
            "no Chromium for the browser tests: apt-get install chromium (Debian/Ubuntu), or "
            "set PKSIM_CHROMIUM to a Chromium/Chrome executable; .ci/run installs it"
        )
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(app_url)
    page.get_by_role("button", name="Run", exact=True).wait_for()
    yield page
    context.close()
    assert failed == [], f"requests that failed (the app must work offline): {failed}"


def _set(page, label: str, value: str, index: int = 0) -> None:
    field = page.get_by_label(label, exact=True).nth(index)
    field.fill(value)
    field.press("Enter")


def _run(page, number: int) -> str:
    """Press Run, wait for the page's run ``number`` to be shown, return the attainment
    table's text."""
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(rf"^Run {number}: .* subjects simulated")).wait_for()
    return page.locator(".attainment table").inner_text()


def _row(table: str, regimen: str) -> list[str]:
    return next(line.split("\t") for line in table.splitlines() if line.startswith(regimen))


def _plot_source(page) -> str:
    page.locator(".bk-tab", has_text="Plots").click()
    image = page.locator(".plots img").first
    image.wait_for()
    source = image.get_attribute("src")
    page.locator(".bk-tab", has_text="Target attainment").click()
    return source


def test_default_scenario_runs_and_a_dose_change_changes_table_and_plot(page):
    _set(page, "Subjects", SUBJECTS)
    table = _run(page, 1)
    regimens = ["3 mg QD", "1.5 mg BID", "consensus weight bands, BID"]
    assert all(name in table for name in regimens)
    first = _row(table, "3 mg QD")
    assert first[1] == "2,000"
    plot = _plot_source(page)
    assert plot.startswith("data:image/png")
    _set(page, "Dose", "6")  # regimen 1: 3 -> 6 mg/day
    changed = _run(page, 2)
    doubled = _row(changed, "3 mg QD")
    assert float(doubled[6]) > 1.8 * float(first[6])  # median trough (linear PK: about 2x)
    assert _row(changed, "1.5 mg BID") == _row(table, "1.5 mg BID")  # same patients, same dose
    assert _plot_source(page) != plot


def test_csv_download_holds_the_table(page):
    _set(page, "Subjects", SUBJECTS)
    table = _run(page, 1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Table (CSV)").click()
    data = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == "summary.csv"
    assert data.startswith(b"\xef\xbb\xbfregimen,subgroup,level,n,")  # BOM: Excel reads UTF-8
    text = data.decode("utf-8-sig")
    in_range = _row(table, "1.5 mg BID")[2]
    line = next(x for x in text.splitlines() if x.startswith("1.5 mg BID,all,all,2000,"))
    assert f"{float(line.split(',')[9]):.1f}" == in_range


def test_scenario_and_report_downloads_and_opening_a_file(page, tmp_path):
    _set(page, "Dose", "4")
    with page.expect_download() as download:
        page.get_by_role("button", name="Scenario (TOML)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    scenario = scenario_from_text(text)
    assert scenario.regimens[0].daily_dose_mg == 4 and scenario.title.startswith("LN induction")
    _set(page, "Subjects", "500")
    _run(page, 1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Report (HTML)").click()
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>") and "500 subjects" in report
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace('title = "LN induction', 'title = "Mine'), encoding="utf-8")
    page.locator("input[type=file][accept='.toml']").set_input_files(str(mine))
    title = page.get_by_label("Title", exact=True)
    for _ in range(100):  # the form is filled once the server has read the file
        if title.input_value().startswith("Mine"):
            break
        page.wait_for_timeout(100)
    assert title.input_value().startswith("Mine")


def test_language_switch(page):
    page.get_by_role("button", name="中文", exact=True).click()
    page.get_by_role("button", name="运行", exact=True).wait_for()
    for text in ("给药方案", "合并用药", "单个患者"):
        page.get_by_text(text, exact=True).first.wait_for()
    assert page.get_by_label("受试者人数", exact=True).input_value()
    page.get_by_role("button", name="English", exact=True).click()
    page.get_by_role("button", name="Run", exact=True).wait_for()


def test_a_bad_value_gets_the_validators_message(page):
    _set(page, "Dose", "3000")
    page.get_by_role("button", name="Run", exact=True).click()
    message = page.get_by_text(
        re.compile(r"regimens\[0\]\.daily_dose_mg: 3000 mg/day is implausible")
    )
    message.wait_for()
    assert "allowed up to 100 mg/day" in message.inner_text()
    _set(page, "Bands (e.g. 60: 2; 3)", "60: two; 3", index=2)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("'60: two' is not a band").wait_for()


def test_a_chinese_drug_name_is_accepted(page):
    _set(page, "Subjects", SUBJECTS)
    base = _run(page, 1)
    drug = page.get_by_label("Drug (English or 中文)", exact=True).first
    drug.fill("利福平")  # rifampicin, a strong inducer, instead of voriconazole
    drug.press("Enter")
    page.keyboard.press("Escape")
    induced = _run(page, 2)
    assert float(_row(induced, "1.5 mg BID")[6]) < float(_row(base, "1.5 mg BID")[6])


def test_one_patient_page_predicts_a_trough_course(page):
    page.locator(".bk-tab", has_text="One patient").click()
    page.get_by_role("button", name="Predict", exact=True).click()
    troughs = page.locator(".patient-troughs table")
    troughs.wait_for()
    rows = troughs.inner_text().splitlines()
    assert rows[0].split("\t") == ["day", "trough (ng/mL)"] and len(rows) == 1 + 14
    assert page.locator(".patient-plot img").first.get_attribute("src").startswith("data:image")
    _set(page, "Weight (kg)", "5000")
    page.get_by_role("button", name="Predict", exact=True).click()
    page.get_by_text("outside the plausible range").wait_for()


CHANGES = "Dose changes (e.g. 15: x0.3333; 29: advagraf, 1/day; 43: 5 mg)"


def test_dosing_over_time_is_edited_and_shown(page):
    page.get_by_label("Scenario", exact=True).select_option("voriconazole-dose-cut")
    cut = page.locator(".regimen-row").nth(1).get_by_label(CHANGES, exact=True)
    cut.wait_for()
    for _ in range(100):  # the form is refilled by the server
        if cut.input_value() == "15: x0.3333":
            break
        page.wait_for_timeout(100)
    assert cut.input_value() == "15: x0.3333"
    cut.fill("15: x0.5")
    cut.press("Enter")
    _set(page, "Subjects", "300")
    _run(page, 1)
    page.locator(".bk-tab", has_text="Over time").click()
    images = page.locator(".over-time-results img")
    images.nth(1).wait_for()  # PTA over time and the realised dose
    assert images.count() == 2
    table = page.locator(".over-time-results table").inner_text()
    assert "cut to 1/3 on day 15 + TDM" in table and "% with a dose change" in table
    with page.expect_download() as download:
        page.get_by_role("button", name="Scenario (TOML)").click()
    scenario = scenario_from_text(Path(download.value.path()).read_text(encoding="utf-8"))
    assert [c.dose_factor for c in scenario.regimens[1].changes] == [0.5]
    assert scenario.regimens[2].tdm.sample_days == (18, 22, 29)


def test_dose_response_page(page):
    _set(page, "Subjects", "300")
    page.locator(".bk-tab", has_text="Dose response").click()
    page.get_by_label("Regimen", exact=True).select_option("1.5 mg BID")
    page.get_by_role("button", name="Compute", exact=True).click()
    best = page.locator(".best-dose").get_by_text(re.compile(r"^Best dose: [\d.]+ mg/day"))
    best.wait_for(timeout=FIRST_COMPUTE_TIMEOUT_MS)
    rows = page.locator(".dose-table table").inner_text().splitlines()
    assert rows[0].startswith("dose (mg/day)") and len(rows) == 1 + 11  # 1:6:0.5
    assert sum("best" in row for row in rows[1:]) == 1
    assert page.locator(".dose-plot img").first.get_attribute("src").startswith("data:image")
    _set(page, "Candidate doses (e.g. 1:6:0.5 or 2, 3, 4)", "two")
    page.get_by_role("button", name="Compute", exact=True).click()
    page.get_by_text("candidate doses 'two' is not a list of numbers").wait_for()


def test_bayesian_individualisation(page):
    page.locator(".bk-tab", has_text="One patient").click()
    page.get_by_role("button", name="Fit and suggest doses", exact=True).click()
    options = page.locator(".mipd-results table.mipd-options")
    options.wait_for()
    rows = options.inner_text().splitlines()
    assert rows[0].startswith("regimen") and "P(in range)" in rows[0] and len(rows) > 1
    fit = page.locator(".mipd-results table.mipd-fit").inner_text()
    assert "4.1" in fit and "4.6" in fit
    assert page.locator(".mipd-results img").first.get_attribute("src").startswith("data:image")
    _set(page, "Measured troughs (day: ng/mL; …)", "3: 5.2")
    page.get_by_role("button", name="Write history from the form", exact=True).click()
    history = page.get_by_label("Dose history and troughs (CSV)", exact=True)
    for _ in range(100):
        if "patient,72,0,0,2,0,0,5.2" in history.input_value():
            break
        page.wait_for_timeout(100)
    assert "patient,72,0,0,2,0,0,5.2" in history.input_value()
    example = ROOT / "pksim" / "data" / "patients" / "example_mipd.csv"
    page.locator("input[type=file][accept='.csv']").set_input_files(str(example))
    for _ in range(100):  # the server puts the file into the text area
        if history.input_value() == example.read_text(encoding="utf-8"):
            break
        page.wait_for_timeout(100)
    assert history.input_value() == example.read_text(encoding="utf-8")
    history.fill("ID,TIME,AMT,EVID,DV\nP,0,-1,1,.\n")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Fit and suggest doses", exact=True).click()
    page.locator(".mipd-problems").get_by_text("AMT").first.wait_for()
    page.get_by_role("button", name="中文", exact=True).click()
    for text in ("贝叶斯个体化给药", "剂量-效应", "实测与预测谷浓度"):
        page.get_by_text(text, exact=True).first.wait_for()
