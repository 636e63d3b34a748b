"""Take the README's screenshot of the app (docs/img/app.png) with Playwright.

Run from the repository root: python docs/img/screenshot.py [CHROMIUM]. It starts
``pksim app`` on a free port, runs the default scenario with 2000 subjects, opens the Plots
tab and saves a screenshot. Needs the ``dev`` extra and a Chromium (apt-get install chromium).
"""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).with_name("app.png")


def main() -> None:
    browser = sys.argv[1] if len(sys.argv) > 1 else shutil.which("chromium")
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "pksim", "app", "--port", str(port), "--no-browser"]
    )
    try:
        url = f"http://localhost:{port}/"
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as driver:
            chromium = driver.chromium.launch(executable_path=browser, args=["--no-sandbox"])
            page = chromium.new_page(viewport={"width": 1280, "height": 1500})
            page.set_default_timeout(60_000)
            page.goto(url)
            subjects = page.get_by_label("Subjects", exact=True)
            subjects.fill("2000")
            subjects.press("Enter")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Run 1:").wait_for()
            page.locator(".bk-tab", has_text="Plots").click()
            page.locator(".plots img").first.wait_for()
            time.sleep(1.0)
            page.screenshot(path=str(OUT))
            chromium.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
