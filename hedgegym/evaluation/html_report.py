"""``report.html``: one self-contained page a person reads — the tables with their confidence intervals, the plots
embedded, the config, the command and the versions — that opens in any browser with no server and no network.

Everything is inline: CSS in a ``<style>`` element, PNG figures as ``data:`` URIs (base64), no script. Every text
that comes from a user (names, config values, the command) is HTML-escaped. ``compare``, ``evaluate``, ``backtest``
(``hedgegym.evaluation.reports.write_outputs``) and ``leaderboard`` (``hedgegym.evaluation.leaderboard``) write one.
"""

from __future__ import annotations

import base64
import html
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["ReportTable", "figure_html", "page", "significant", "table_html", "versions"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1b1b1b; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f4f4; position: sticky; top: 0; }
td .ci { color: #777; font-size: 0.8em; }
tr.best td { background: #eef7ee; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
pre { background: #f7f7f7; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
.note { color: #555; font-size: 0.9rem; }
"""


@dataclass
class ReportTable:
    """A table for the page: ``frame`` (rows: index), the ``columns`` shown, and each column's CI columns when they
    exist (``<column>_low`` / ``<column>_high``). ``best``: the row to highlight (e.g. the lowest Y), or ``None``."""

    frame: pd.DataFrame
    columns: Sequence[str]
    caption: str = ""
    best: str | None = None
    formats: dict[str, str] = field(default_factory=dict)  # column → format spec (default: 4 significant digits)


def significant(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits with thousands separators and no exponent: 10,580 not 1.058e+04,
    0.00053 not 5.3e-04 (beyond 1e15 or below 1e-6 the exponent form stays)."""
    if value == 0 or not 1e-6 <= abs(value) < 1e15:
        return f"{value:,.{digits}g}"
    places = digits - 1 - int(np.floor(np.log10(abs(value))))  # negative: round to tens, hundreds, …
    return f"{round(value, places):,.{max(0, places)}f}"


def _cell(value: object, spec: str | None) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | float | np.integer | np.floating):
        if not np.isfinite(value):
            return "—"
        return format(value, spec) if spec else significant(float(value), 4)
    return html.escape(str(value))


def table_html(table: ReportTable) -> str:
    """An HTML ``<table>``: the index as the first column, each value with its 95% interval (when present) below it
    in a smaller grey ``[low, high]``; numbers to 4 significant digits (``significant``) unless ``formats`` says."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in (table.frame.index.name or "", *table.columns))
    rows = []
    for name, row in table.frame.iterrows():
        cells = [f"<td>{html.escape(str(name))}</td>"]
        for column in table.columns:
            spec = table.formats.get(column)
            text = _cell(row.get(column, np.nan), spec)
            low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
            if low is not None and high is not None and np.isfinite(low) and np.isfinite(high) and text != "—":
                text += f'<br><span class="ci">[{_cell(low, spec)}, {_cell(high, spec)}]</span>'
            cells.append(f"<td>{text}</td>")
        css = ' class="best"' if table.best is not None and str(name) == table.best else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    caption = f"<caption class='note'>{html.escape(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def figure_html(path: str | Path, caption: str = "") -> str:
    """A PNG file embedded as a ``data:`` URI in a ``<figure>`` (the page needs no other file)."""
    path = Path(path)
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(caption or path.stem)
    text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{encoded}">{text}</figure>'


def versions() -> dict[str, str]:
    """Python and the installed versions of hedgegym and the libraries its numbers depend on."""
    found = {"python": platform.python_version()}
    for package in ("hedgegym", "numpy", "scipy", "pandas", "torch", "stable-baselines3", "gymnasium"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def page(title: str, sections: Sequence[tuple[str, str]], config_yaml: str | None = None,
         command: str | None = None) -> str:
    """The whole HTML document: ``title``, then each ``(heading, inner HTML)`` section, then the command, the config
    (YAML, in a collapsible block) and the versions. ``command`` default: this process's command line."""
    command = command if command is not None else " ".join(["hedgegym" if sys.argv[0].endswith("hedgegym") else
                                                           Path(sys.argv[0]).name, *sys.argv[1:]])
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for heading, body in sections:
        parts.append(f"<section><h2>{html.escape(heading)}</h2>{body}</section>")
    parts.append(f"<section><h2>Command</h2><pre>{html.escape(command)}</pre></section>")
    if config_yaml is not None:
        parts.append("<section><h2>Config</h2><details><summary>config.yaml</summary>"
                     f"<pre>{html.escape(config_yaml)}</pre></details></section>")
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in versions().items())
    parts.append(f"<section><h2>Versions</h2><table><tbody>{rows}</tbody></table></section>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n")
