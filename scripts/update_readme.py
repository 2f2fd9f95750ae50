"""Regenerate the parameter table in README.md from the registry.

Usage: .venv/bin/python scripts/update_readme.py [--check]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from defection.model.params import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- params:start -->", "<!-- params:end -->"


def render(text: str) -> str:
    """Return README text with the parameter table between the markers regenerated."""
    block = f"{START}\n{markdown_table()}\n{END}"
    return re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)


def main() -> int:
    """Rewrite README.md, or with ``--check`` report whether it is current."""
    text = README.read_text()
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md parameter table is out of date: run scripts/update_readme.py")
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
