"""``pksim app`` on the command line: its options, and a plain message without Panel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pksim.app import DEFAULT_PORT
from pksim.cli import EXIT_BAD_INPUT, main, parser


def test_app_options():
    args = parser().parse_args(["app"])
    assert (args.port, args.no_browser) == (DEFAULT_PORT, False)
    args = parser().parse_args(["app", "--port", "8080", "--no-browser"])
    assert (args.port, args.no_browser) == (8080, True)


def test_without_panel_the_app_says_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "panel", None)  # import panel raises ImportError
    assert main(["app", "--no-browser"]) == EXIT_BAD_INPUT
    message = capsys.readouterr().err
    assert "the app needs Panel" in message and "pip install 'pksim[app]'" in message


def test_importing_the_app_package_stays_light():
    """The CLI names the app's port without loading Panel or Bokeh."""
    code = (
        "import sys, pksim.app, pksim.cli; "
        "print(sorted(m for m in ('panel', 'bokeh') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
