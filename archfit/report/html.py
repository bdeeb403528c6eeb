"""One self-contained HTML file: sections of text, tables and embedded PNG figures."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archfit.io import atomic_write_bytes, atomic_write_text

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 7px}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:.85em}img{max-width:100%}code{background:#f5f5f5;padding:0 3px}
"""


@dataclass
class Report:
    """Build with ``add_*`` calls, then ``write(folder)``: ``report.html`` plus each figure as PNG."""

    title: str
    parts: list[str] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)

    def add_heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def add_text(self, text: str, note: bool = False) -> None:
        cls = ' class="note"' if note else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def add_table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
        self.parts.append(f"<table><tr>{head}</tr>{body}</table>")

    def add_figure(self, name: str, png: bytes, caption: str) -> None:
        self.figures[name] = png
        data = base64.b64encode(png).decode()
        self.parts.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                          f"<figcaption class=note>{html.escape(caption)}</figcaption></figure>")

    def render(self) -> str:
        return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(self.title)}</title>"
                f"<style>{_STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>"
                + "\n".join(self.parts) + "</body></html>\n")

    def write(self, folder: Path) -> Path:
        for name, png in self.figures.items():  # a figure named after a label ("a (b: c)") gets a safe file name
            atomic_write_bytes(folder / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name).strip('_')}.png", png)
        path = folder / "report.html"
        atomic_write_text(path, self.render())
        return path


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:.4g}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{html.escape(str(value))}</td>"
