"""One self-contained HTML page about a trace: the run's header, the summary table, the Gantt
and the latency/response distributions.

The page must open anywhere, offline and from a mail attachment, so nothing in it is fetched:
the CSS is inline, the pictures are PNG data URIs, and a Content-Security-Policy forbids any
other source. Every string from the trace (names come from description files a user may not
have written) goes through ``html.escape``.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

from sporadic.report.pictures import (
    distribution_data,
    draw_distributions,
    draw_gantt,
    gantt_data,
    png_bytes,
)
from sporadic.traces.reader import TraceReader
from sporadic.traces.summary import summarise
from sporadic.units import format_duration

COLUMNS = (
    "task",
    "jobs",
    "misses",
    "latency p50",
    "latency p99",
    "latency max",
    "response p50",
    "response p99",
    "response max",
    "cpu",
)
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
dl.run { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.run dt { font-weight: bold; }
dl.run dd { margin: 0; font-family: monospace; }
table.summary { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.summary th, table.summary td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
table.summary th { background: #f0f0f0; }
table.summary td { text-align: right; font-family: monospace; }
table.summary td:first-child { text-align: left; font-weight: bold; }
td.miss { color: #c00000; }
p.warning { color: #c00000; font-weight: bold; }
img { max-width: 100%; height: auto; display: block; }
""".strip()


def _duration(ns: int | None) -> str:
    """A duration as the descriptions spell it (``format_duration``), ``-`` for no samples."""
    return "-" if ns is None else format_duration(ns)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def summary_rows(summary: dict[str, Any]) -> list[str]:
    """One ``<tr>`` per task of a summary, in its order, on one line each."""
    rows = []
    for name, task in summary["tasks"].items():
        lat, resp = task["latency"], task["response"]
        misses = f'<td class="miss">{task["misses"]}</td>' if task["misses"] else "<td>0</td>"
        cells = [f"<td>{_e(name)}</td>", f"<td>{task['jobs']}</td>", misses]
        cells += [f"<td>{_e(_duration(lat[key]))}</td>" for key in ("p50", "p99", "max")]
        cells += [f"<td>{_e(_duration(resp[key]))}</td>" for key in ("p50", "p99", "max")]
        cells.append(f"<td>{_e(_duration(task['cpu']))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return rows


def _run_facts(header: dict[str, Any], summary: dict[str, Any]) -> str:
    system = header.get("system") if isinstance(header.get("system"), dict) else {}
    requested = header.get("duration")
    facts = [
        ("system", system.get("name", "?")),
        ("description", system.get("path", "-")),
        ("duration", _duration(requested) if isinstance(requested, int) else "-"),
        ("simulated", _duration(summary["duration"])),
        ("seed", header.get("seed", "-")),
    ]
    return "\n".join(f"<dt>{_e(key)}</dt><dd>{_e(value)}</dd>" for key, value in facts)


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def render_page(
    header: dict[str, Any], summary: dict[str, Any], gantt_png: bytes, distributions_png: bytes
) -> str:
    """The page's text, from what ``html_report`` computed: kept apart so tests can feed it
    hostile headers and summaries directly."""
    system = header.get("system") if isinstance(header.get("system"), dict) else {}
    name = _e(system.get("name", "?"))
    warning = ""
    if summary["truncated"]:
        warning = (
            '<p class="warning">Truncated trace: the run did not finish; every number is up '
            f"to its last record, at {_e(_duration(summary['duration']))}.</p>\n"
        )
    heads = "".join(f"<th>{_e(column)}</th>" for column in COLUMNS)
    rows = summary_rows(summary)
    table = (
        f'<table class="summary">\n<thead><tr>{heads}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
        if rows
        else "<p>No task released a job in this trace.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{name}: sporadic report</title>
<style>
{STYLE}
</style>
</head>
<body>
<h1>{name}</h1>
<dl class="run">
{_run_facts(header, summary)}
</dl>
{warning}<h2>Per-task summary</h2>
{table}
<h2>Who ran when</h2>
{_image(gantt_png, "Gantt chart: one row per thread, bars coloured by scheduling context")}
<h2>Latency and response time</h2>
{_image(distributions_png, "Histograms of each task's latency and response time")}
</body>
</html>
"""


def html_report(
    trace_path: str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    start: int | None = None,
    end: int | None = None,
) -> Path:
    """Write the page about a trace to ``out_html`` and return its path; the Gantt shows
    ``[start, end]`` ns (default: the first 100 ms), the rest covers the whole run."""
    with TraceReader(trace_path) as reader:
        header = reader.header
    page = render_page(
        header,
        summarise(trace_path),
        png_bytes(draw_gantt(gantt_data(trace_path, start, end))),
        png_bytes(draw_distributions(distribution_data(trace_path))),
    )
    out = Path(out_html)
    out.write_text(page, encoding="utf-8")
    return out
