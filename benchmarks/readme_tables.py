"""Copy benchmark tables from benchmarks/results/*.md into README.md between markers.

    python benchmarks/readme_tables.py

A block ``<!-- table:NAME -->`` ... ``<!-- /table:NAME -->`` in the README receives the
Markdown table of ``benchmarks/results/NAME`` (a file, or a folder's summary.md), so the
README quotes committed results only.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def table_of(name: str) -> str:
    path = ROOT / "benchmarks" / "results" / name
    if path.is_dir():
        path = path / "summary.md"
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [l for l in lines if l.startswith("|")]
    return "\n".join(rows)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")

    def fill(m: re.Match) -> str:
        return f"<!-- table:{m.group(1)} -->\n{table_of(m.group(1))}\n<!-- /table:{m.group(1)} -->"

    new = re.sub(r"<!-- table:(\S+) -->.*?<!-- /table:\1 -->", fill, text, flags=re.S)
    readme.write_text(new, encoding="utf-8")
    print("README tables updated" if new != text else "README tables already current")


if __name__ == "__main__":
    main()
