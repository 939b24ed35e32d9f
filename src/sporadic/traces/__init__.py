"""msgpack traces of a simulation: streaming writer and reader, per-task summary and its table.

The format is described in docs/trace-format.md; it is readable with msgpack alone.
"""

from sporadic.errors import TraceFormatError
from sporadic.traces.reader import TraceReader, read_trace
from sporadic.traces.summary import summarise
from sporadic.traces.table import render_summary
from sporadic.traces.writer import TraceWriter

__all__ = [
    "TraceFormatError",
    "TraceReader",
    "TraceWriter",
    "read_trace",
    "render_summary",
    "summarise",
]
