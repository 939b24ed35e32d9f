"""A progress bar on stderr for a plain ``sporadic run``: a long simulation is otherwise silent.

The kernel runs in the main thread; rich's refresh thread reads the simulated time and the record
count (plain ints) a few times a second, so the kernel's hot path pays nothing.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from typing import TextIO

from rich.console import Console
from rich.progress import Progress, ProgressColumn, Task, TextColumn
from rich.progress_bar import ProgressBar
from rich.text import Text

from sporadic.simulation import Simulation
from sporadic.traces.table import format_ns


class _Stats(ProgressColumn):
    """Simulated time of the total, records written and simulated time per wall second."""

    def __init__(self, sim: Simulation, started: float) -> None:
        super().__init__()
        self.sim = sim
        self.started = started

    def render(self, task: Task) -> Text:  # noqa: ARG002 - the simulation is the source
        done = self.sim.kernel.hw
        writer = self.sim.writer
        records = writer.records if writer is not None else len(self.sim.records)
        wall = max(time.monotonic() - self.started, 1e-9)
        return Text(
            f"{format_ns(done)} / {format_ns(self.sim.system.duration)}  {records:,} records  "
            f"{format_ns(int(done / wall))}/s"
        )


class _Bar(ProgressColumn):
    """A bar of the simulated time, read from the kernel at each refresh."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__()
        self.sim = sim

    def render(self, task: Task) -> ProgressBar:  # noqa: ARG002
        total = self.sim.system.duration
        return ProgressBar(total=total, completed=min(self.sim.kernel.hw, total), width=30)


@contextlib.contextmanager
def progress(sim: Simulation, stream: TextIO) -> Iterator[None]:
    """Show the run's progress on ``stream`` while the block runs, when ``stream`` is a
    terminal; nothing at all otherwise (piped or redirected output stays clean)."""
    console = Console(file=stream, highlight=False)
    if not console.is_terminal:
        yield
        return
    bar = Progress(
        TextColumn("simulating"),
        _Bar(sim),
        _Stats(sim, time.monotonic()),
        console=console,
        transient=True,
        refresh_per_second=4,
    )
    bar.add_task("run", total=None)
    with bar:
        yield


@contextlib.contextmanager
def stopping_on_interrupt(sim: Simulation) -> Iterator[None]:
    """Ctrl-C ends the run at the next slice of simulated time, with a complete trace up to
    there; a second Ctrl-C interrupts at once (the trace is then truncated)."""

    def stop(signum: int, frame: object) -> None:
        sim.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        previous = signal.signal(signal.SIGINT, stop)
    except ValueError:  # not the main thread: no handler of our own
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
