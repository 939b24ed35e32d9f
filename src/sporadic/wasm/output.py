"""Bounds on what a module may print, so that no module can fill the memory or the trace.

A module's output (``log`` calls, lines written to stdout and stderr) becomes ``log`` records.
Three caps keep it bounded (docs/wasm-abi.md, "Faults and limits"):

- a line: at most ``LINE_BYTES`` bytes are kept, the rest is replaced by a marker; a partial
  line waiting for its newline holds at most that much memory;
- a job (one run of an export): at most ``JOB_LINES`` lines and ``JOB_BYTES`` bytes; after that
  nothing more is recorded, and one last line says how much was cut;
- a simulation: at most ``RUN_BYTES`` bytes of log text from all modules together; after that
  each thread gets one line saying so, then nothing more.
"""

from __future__ import annotations

LINE_BYTES = 4096
JOB_LINES = 1000
JOB_BYTES = 256 * 1024
RUN_BYTES = 16 * 1024 * 1024
RUN_CUT = f"[output cut: the run's {RUN_BYTES // (1024 * 1024)} MiB of log text is used up]"


def job_cut(more_bytes: int, more_lines: int) -> str:
    """The last line of a job whose output was cut."""
    return f"[output cut: {more_bytes} more bytes in {more_lines} lines]"


class JobOutput:
    """The output of one job: complete lines come out of ``line`` and ``write`` as the text to
    record (or nothing, once the job's cap is reached); ``flush`` ends the job."""

    def __init__(self) -> None:
        self.lines = 0
        self.bytes = 0
        self.cut_lines = 0
        self.cut_bytes = 0
        # per stream (1 stdout, 2 stderr): the kept head of the partial line, bytes beyond it
        self._head = {1: bytearray(), 2: bytearray()}
        self._more = {1: 0, 2: 0}

    @property
    def full(self) -> bool:
        """The job's cap is reached: nothing more will be recorded."""
        return self.cut_lines > 0

    def line(self, head: bytes, more: int = 0) -> str | None:
        """A complete line of ``len(head) + more`` bytes (``head`` holds at least the first
        ``LINE_BYTES``): its text, cut to ``LINE_BYTES`` with a marker, or None if it is cut."""
        size = len(head) + more
        kept = min(size, LINE_BYTES)
        if self.full or self.lines >= JOB_LINES or self.bytes + kept > JOB_BYTES:
            self.cut_lines += 1
            self.cut_bytes += size
            return None
        self.lines += 1
        self.bytes += kept
        text = bytes(head[:LINE_BYTES]).decode("utf-8", "replace")
        if size > LINE_BYTES:
            text += f" [... {size - LINE_BYTES} more bytes]"
        return text

    def write(self, fd: int, data: bytes) -> list[str]:
        """Bytes written to stream ``fd`` (1 or 2): the texts of the lines they complete."""
        head, out = self._head[fd], []
        start, end = 0, len(data)
        while start < end:
            if self.full:  # only count from now on: no copy, no line-by-line work
                self._count(fd, data, start)
                return out
            cut = data.find(b"\n", start)
            stop = end if cut < 0 else cut
            room = max(0, LINE_BYTES - len(head))
            head += data[start : min(stop, start + room)]
            self._more[fd] += max(0, stop - start - room)
            if cut < 0:
                break
            text = self.line(head, self._more[fd])
            if text is not None:
                out.append(text)
            head.clear()
            self._more[fd] = 0
            start = cut + 1
        return out

    def _count(self, fd: int, data: bytes, start: int) -> None:
        """Once the job is full: count the lines ``data[start:]`` completes and their bytes."""
        head = self._head[fd]
        pending = self._more[fd] + len(head)  # the partial line so far
        head.clear()
        newlines = data.count(b"\n", start)
        if newlines == 0:
            self._more[fd] = pending + len(data) - start
            return
        last = data.rfind(b"\n")
        self.cut_lines += newlines
        self.cut_bytes += pending + (last - start) - (newlines - 1)
        self._more[fd] = len(data) - last - 1

    def flush(self) -> list[str]:
        """The end of the job: its partial lines, then the line saying what was cut."""
        out = []
        for fd, head in self._head.items():
            if head or self._more[fd]:
                text = self.line(head, self._more[fd])
                if text is not None:
                    out.append(text)
                head.clear()
                self._more[fd] = 0
        if self.full:
            out.append(job_cut(self.cut_bytes, self.cut_lines))
        return out


class RunOutput:
    """The simulation's budget of log text, shared by every module: ``admit`` says whether a
    line may be recorded, and the text to record instead of it (the cut notice, once per
    thread) when it may not."""

    def __init__(self, limit: int = RUN_BYTES) -> None:
        self.left = limit
        self.cut: set[int] = set()

    def admit(self, thread: int, line: str) -> str | None:
        """The text to record for ``line`` from ``thread``: the line, the cut notice, or None."""
        if thread in self.cut:
            return None
        size = len(line.encode("utf-8", "replace"))
        if size <= self.left:
            self.left -= size
            return line
        self.left = 0
        self.cut.add(thread)
        return RUN_CUT


__all__ = [
    "JOB_BYTES",
    "JOB_LINES",
    "LINE_BYTES",
    "RUN_BYTES",
    "RUN_CUT",
    "JobOutput",
    "RunOutput",
    "job_cut",
]
