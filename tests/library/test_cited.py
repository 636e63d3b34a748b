"""The cited-data reader (pksim.library.cited): the one cited-value type, the one reader of
references.toml, and refusals that name the table and what is allowed."""

import tomllib
from importlib import resources

import pytest

from pksim.library import cited
from pksim.library.cited import Cited, read_cited

TABLE = {"value": 2.5, "units": "h", "source": "PrografLabel", "evidence": "V", "note": "n"}


def test_a_cited_table_becomes_a_cited_value():
    assert read_cited(TABLE, "x", "h") == Cited(2.5, "h", ("PrografLabel",), "V", "n")
    many = read_cited(TABLE | {"value": [5, 0.5, 1], "units": "mg"}, "x", "mg", many=True)
    assert many.value == (0.5, 1.0, 5.0)
    listed = read_cited(TABLE | {"source": ["PrografLabel", "LNConsensus"]}, "x", ("h", "d"))
    assert listed.sources == ("PrografLabel", "LNConsensus")


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        ({"units": "min"}, {}, r"x: units must be 'h', got 'min'"),
        ({"value": "2"}, {}, "x: value must be a finite number, got '2'"),
        ({"value": True}, {}, "x: value must be a finite number, got True"),
        ({"value": 0.0}, {"minimum": 0}, "x: value must be > 0, got 0.0"),
        ({"value": -1.0}, {"minimum": 0, "exclusive": False}, "x: value must be >= 0, got -1.0"),
        ({"value": []}, {"many": True}, "x: value must be a non-empty list of numbers"),
        (
            {"source": "Prograf"},
            {},
            r'unknown source key \'Prograf\' \(did you mean "PrografLabel"',
        ),
        ({"source": []}, {}, "x: source must be a key of references.toml or a list of keys"),
        ({"evidence": "X"}, {}, r"x: evidence must be one of \['D', 'I', 'M', 'V'\], got 'X'"),
        ({"sauce": "LNConsensus"}, {}, r"x: unknown key 'sauce' \(did you mean \"source\"\?\)"),
    ],
)
def test_bad_cited_tables_are_refused_with_their_path(change, options, message):
    with pytest.raises(ValueError, match=message):
        read_cited(TABLE | change, "x", "h", **options)
    with pytest.raises(ValueError, match="x: missing 'units'"):
        read_cited({k: v for k, v in TABLE.items() if k != "units"}, "x", None)


def test_references_are_read_once_and_hold_citations():
    references = cited.load_references()
    assert cited.load_references() is references
    assert cited.citation("LNConsensus") == references["LNConsensus"].citation
    assert all(ref.citation for ref in references.values())


def _data_sources(file_name):
    data = tomllib.loads(
        resources.files("pksim").joinpath("data", file_name).read_text(encoding="utf-8")
    )
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("source", "mechanism_source"):
                    found.extend([value] if isinstance(value, str) else value)
                else:
                    walk(value)

    walk(data)
    return found


@pytest.mark.parametrize(
    "file_name",
    [
        "interactions.toml",
        "food.toml",
        "formulations.toml",
        "targets.toml",
        "populations/chinese-adult-ln.toml",
        "populations/chinese-adult-igan.toml",
        "populations/chinese-adult-imn.toml",
    ],
)
def test_every_source_resolves_in_references(file_name):
    references = tomllib.loads(
        resources.files("pksim").joinpath("data", "references.toml").read_text(encoding="utf-8")
    )
    sources = _data_sources(file_name)
    assert sources
    missing = sorted(set(sources) - set(references))
    assert not missing
    assert all(references[key].get("citation") for key in sources)
