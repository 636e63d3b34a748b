"""``python -m validation``: rebuild docs/validation.md and docs/validation.png."""

from pathlib import Path

from validation.report import _fraction, build

DOCS = Path(__file__).resolve().parent.parent / "docs"

if __name__ == "__main__":
    for name, scores in build(DOCS).items():
        inside, simulated, total = _fraction(scores)
        print(f"{name}: {inside}/{total} inside ({simulated} simulated)")
    print(f"wrote {DOCS / 'validation.md'} and {DOCS / 'validation.png'}")
