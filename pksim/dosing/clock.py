"""Clock times of doses: "HH:MM" text <-> hours after midnight, kept to the minute."""

from __future__ import annotations

import datetime
import re
from typing import Any

__all__ = ["clock_hours", "format_clock"]

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def clock_hours(value: Any) -> float | None:
    """A clock time "HH:MM" (00:00 to 23:59, or a TOML local time on the minute) as hours after
    midnight; None if it is not one. Clock times are kept to the minute: two times within the
    same minute (08:00:10 and 08:00:20) would be one time once written as "HH:MM"."""
    if isinstance(value, datetime.time):
        if value.second or value.microsecond:
            return None
        return value.hour + value.minute / 60
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return int(match[1]) + int(match[2]) / 60


def format_clock(hours: float) -> str:
    """Hours after midnight as a clock time "HH:MM" (to the minute)."""
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
