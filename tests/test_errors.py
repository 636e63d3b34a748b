"""Reporting bad input: a message never repeats a huge value or a control character, every
problem is kept, and the unknown-name message is the same everywhere."""

from __future__ import annotations

import pytest

from pksim.errors import (
    MAX_PROBLEMS_SHOWN,
    SHOWN_CHARS,
    Invalid,
    Problems,
    escaped,
    shown,
    unknown_name,
)


def test_shown_is_the_repr_of_short_values():
    assert shown("3 mg QD") == "'3 mg QD'"
    assert shown(3.5) == "3.5"
    assert shown([1, "a"]) == "[1, 'a']"
    assert shown(2**64) == "18446744073709551616"


def test_shown_cuts_a_long_string_and_says_how_long_it_was():
    text = shown("x" * 10**6)
    assert text == repr("x" * SHOWN_CHARS) + "… (1,000,000 characters)"


def test_shown_escapes_control_characters():
    assert shown("\x1b[31mred\x00") == r"'\x1b[31mred\x00'"
    assert shown("a\u202eb").isprintable()  # a bidirectional override is written as \u202e


def test_shown_bounds_containers_and_huge_integers():
    assert len(shown(list(range(10**5)))) < 3 * SHOWN_CHARS
    assert len(shown({"k": "v" * 10**5})) < 3 * SHOWN_CHARS
    assert shown(10**400) == "an integer of 1,329 bits"  # str() would raise past 4300 digits


def test_escaped_keeps_text_printable_and_bounded():
    assert escaped("plain text") == "plain text"
    assert escaped("a\tb\nc") == r"a\tb\nc"
    assert escaped("a\nb", keep_newlines=True) == "a\nb"
    assert escaped("y" * 500, 10) == "y" * 10 + "…"


def test_problems_escape_and_bound_keys_and_messages():
    problems = Problems()
    problems.add("\x1b[2J" + "k" * 10**5, "bad \x00 value " + "m" * 10**5)
    (line,) = list(problems)
    assert line.isprintable()
    assert len(line) < 2500
    assert line.startswith(r"\x1b[2Jkkk")


def test_invalid_lists_the_first_problems_and_counts_the_rest():
    problems = Problems()
    for index in range(MAX_PROBLEMS_SHOWN + 7):
        problems.add(f"bands[{index}]", "wrong")
    error = Invalid("big.toml", problems)
    assert len(error.problems) == MAX_PROBLEMS_SHOWN + 7  # all kept
    lines = str(error).splitlines()
    assert lines[0] == f"big.toml: {MAX_PROBLEMS_SHOWN + 7} problems:"
    assert lines[-1] == "  - ... and 7 more"
    assert len(lines) == MAX_PROBLEMS_SHOWN + 2


def test_invalid_escapes_its_origin():
    assert str(Invalid("a\x1bb.toml", ["wrong"])).startswith(r"a\x1bb.toml: 1 problem")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("voriconazol", """unknown drug 'voriconazol' (did you mean "voriconazole"?); valid: """),
        ("\x1b[31m", r"unknown drug '\x1b[31m'; valid: "),
        ("z" * 10**6, "unknown drug 'zzzzz"),
        (["voriconazole"], "unknown drug ['voriconazole']; valid: "),
    ],
)
def test_unknown_name_shows_the_name_safely(name, expected):
    message = unknown_name("drug", name, ["voriconazole", "rifampicin"])
    assert message.startswith(expected)
    assert message.isprintable() and len(message) < 300
    assert message.endswith("valid: rifampicin, voriconazole")
