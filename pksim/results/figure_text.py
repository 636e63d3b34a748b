"""Text in figures: fonts that show Chinese names, lines wrapped to the room they have (measured
in the font, not counted in characters), and the line saying what a figure was computed from.

matplotlib is imported inside the functions, so that importing this module stays light.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
)
"""Fonts with Chinese characters, most wanted first: the first one installed is the fallback
of the figures' font for characters it lacks (drug and regimen names in Chinese)."""
CJK_FONT_FILES = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "SourceHanSansSC-Regular.otf",
    "wqy-zenhei.ttc",
    "wqy-microhei.ttc",
    "msyh.ttc",
    "simhei.ttf",
)
"""File names of those fonts, looked for in FONT_FOLDERS when matplotlib's font list (made when
matplotlib was installed) does not know them."""
FONT_FOLDERS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)
"""Where systems keep fonts."""
LINE_SEPARATOR = " \N{MIDDLE DOT} "
NORMAL_WEIGHT = 400
"""The weight of normal text (CSS/OpenType scale)."""


@cache
def font_families() -> tuple[str, ...]:
    """The figures' font, then the first installed font with Chinese characters (if any)."""
    from matplotlib import font_manager, rcParams

    known = {entry.name for entry in font_manager.fontManager.ttflist}
    if not known.intersection(CJK_FONTS):
        for path in _cjk_font_files():
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                font_manager.fontManager.addfont(str(path))
        known = {entry.name for entry in font_manager.fontManager.ttflist}
    base = str(rcParams["font.sans-serif"][0])
    chosen = [name for name in CJK_FONTS if name in known][:1]
    for name in chosen:  # a font with one (medium) weight serves as the normal weight too
        entries = [e for e in font_manager.fontManager.ttflist if e.name == name]
        if entries and not any(e.weight in (NORMAL_WEIGHT, "normal") for e in entries):
            font_manager.fontManager.ttflist.append(
                dataclasses.replace(entries[0], weight=NORMAL_WEIGHT)
            )
    return (base, *chosen)


def _cjk_font_files() -> list[Path]:
    found = []
    for folder in FONT_FOLDERS:
        root = Path(os.path.expanduser(folder))
        if root.is_dir():
            with contextlib.suppress(OSError):
                found += [p for p in root.rglob("*") if p.name in CJK_FONT_FILES]
    return found


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """While figures are made and saved: fonts with Chinese characters where installed; where
    none is, a missing character is drawn as a box without a warning on the terminal."""
    import matplotlib

    with matplotlib.rc_context({"font.family": list(font_families())}):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
            yield


def text_width_pt(text: str, size_pt: float) -> float:
    """Width (points) of one line of ``text`` at ``size_pt`` in the figures' fonts."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    properties = FontProperties(family=list(font_families()), size=size_pt)
    width, _, _ = text_to_path.get_text_width_height_descent(text, properties, ismath=False)
    return float(width)


def wrap_to_width(text: str, width_pt: float, size_pt: float) -> list[str]:
    """``text`` in lines at most ``width_pt`` wide (each given line wrapped at spaces; a word
    wider than that, e.g. Chinese without spaces, broken between characters)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if text_width_pt(candidate, size_pt) <= width_pt:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for character in word:
                if line and text_width_pt(line + character, size_pt) > width_pt:
                    lines.append(line)
                    line = ""
                line += character
        lines.append(line)
    return lines


def font_size_pt(size: Any) -> float:
    """A matplotlib font size ("large", 10) in points."""
    from matplotlib.font_manager import FontProperties

    return float(FontProperties(size=size).get_size_in_points())


def provenance_line(attrs: Mapping[str, Any]) -> str:
    """What a figure was computed from, from a run's attrs: subjects, seed, scenario file,
    parameter set, pksim version."""
    parts = []
    if attrs.get("n_subjects") is not None:
        parts.append(f"{int(attrs['n_subjects']):,} subjects")
    if attrs.get("seed") is not None:
        parts.append(f"seed {attrs['seed']}")
    if attrs.get("scenario_origin"):
        parts.append(f"scenario {Path(str(attrs['scenario_origin'])).name}")
    if attrs.get("parameter_set"):
        parts.append(f"parameter set {attrs['parameter_set']}")
    if attrs.get("pksim_version"):
        parts.append(f"pksim {attrs['pksim_version']}")
    return LINE_SEPARATOR.join(parts) or "cohort size, seed and scenario not recorded"
