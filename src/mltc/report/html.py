"""A self-contained HTML report: figures embedded as data URIs, no external reference."""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..io import atomic_write_bytes, atomic_write_text  # noqa: E402

STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
img{max-width:100%;height:auto;border:1px solid #eee}table{border-collapse:collapse;font-size:.85em;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.note{color:#555;font-size:.9em}"""


@dataclass
class Section:
    title: str
    name: str = ""  # file stem of the figure
    figure: Figure | None = None
    caption: str = ""
    table: Sequence[dict] | None = None
    extra_html: str = ""


@dataclass
class Report:
    title: str
    intro: str = ""
    sections: list[Section] = field(default_factory=list)

    def add(self, *args, **kwargs) -> None:
        self.sections.append(Section(*args, **kwargs))


def _table_html(rows: Sequence[dict]) -> str:
    if not rows:
        return ""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    out = ["<table><tr>" + "".join(f"<th>{html.escape(str(k))}</th>" for k in keys) + "</tr>"]
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k)
            cells.append("<td>" + ("" if v is None else html.escape(f"{v:.2f}" if isinstance(v, float) else str(v))) + "</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out) + "</table>"


def write_report(report: Report, folder: str | Path) -> Path:
    """Write ``index.html`` (self-contained) plus every figure as PNG and SVG into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(report.title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(report.title)}</h1>"]
    if report.intro:
        parts.append(f"<p class='note'>{html.escape(report.intro)}</p>")
    for s in report.sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.figure is not None:
            png = io.BytesIO()
            s.figure.savefig(png, format="png", dpi=110)
            svg = io.BytesIO()
            s.figure.savefig(svg, format="svg")
            plt.close(s.figure)
            atomic_write_bytes(folder / f"{s.name}.png", png.getvalue())
            atomic_write_bytes(folder / f"{s.name}.svg", svg.getvalue())
            data = base64.b64encode(png.getvalue()).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(s.title)}' data-figure='{s.name}' "
                         f"src='data:image/png;base64,{data}'>")
            if s.caption:
                parts.append(f"<figcaption class='note'>{html.escape(s.caption)}</figcaption>")
            parts.append("</figure>")
        elif s.caption:
            parts.append(f"<p class='note'>{html.escape(s.caption)}</p>")
        if s.table:
            parts.append(_table_html(s.table))
        parts.append(s.extra_html)
    parts.append("</body></html>")
    path = folder / "index.html"
    atomic_write_text(path, "\n".join(parts))
    return path
