"""``pksim app``: serve the local web app until it is stopped."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterable

__all__ = ["serve_until_stopped"]


def serve_until_stopped(port: int, *, show: bool, stop_signals: Iterable[int]) -> None:
    """Serve the app on ``port`` (opening the browser when ``show``) until Ctrl-C or one of
    ``stop_signals``. The app writes no files, so a stop signal just ends it (the CLI's clean
    stop for runs is undone here: the server would otherwise swallow it)."""
    try:
        import panel  # noqa: F401
    except ImportError:
        raise ImportError(
            "the app needs Panel, which is not installed: pip install 'pksim[app]' (or make app)"
        ) from None
    from pksim.app import serve

    with contextlib.suppress(ValueError):  # signal handlers belong to the main thread
        for number in stop_signals:
            signal.signal(number, signal.SIG_DFL)
    serve(port, show=show)
