"""msgpack traces of a simulation: streaming writer and reader, per-task summary and its table.

The format is described in docs/trace-format.md; it is readable with msgpack alone. Names are
imported on first use, so the writer (which the kernel's runs need) does not pull in numpy or
rich (which only the summary and its table need).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "TraceFormatError": "sporadic.errors",
    "TraceReader": "sporadic.traces.reader",
    "read_trace": "sporadic.traces.reader",
    "summarise": "sporadic.traces.summary",
    "render_summary": "sporadic.traces.table",
    "TraceWriter": "sporadic.traces.writer",
}

__all__ = [
    "TraceFormatError",
    "TraceReader",
    "TraceWriter",
    "read_trace",
    "render_summary",
    "summarise",
]

if TYPE_CHECKING:
    from sporadic.errors import TraceFormatError
    from sporadic.traces.reader import TraceReader, read_trace
    from sporadic.traces.summary import summarise
    from sporadic.traces.table import render_summary
    from sporadic.traces.writer import TraceWriter


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sporadic.traces' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
