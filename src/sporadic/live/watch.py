"""``sporadic agent watch``: per-task latency and misses, kept up to date from the record stream."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from sporadic import records as ev
from sporadic.traces.table import printable, shorten
from sporadic.units import format_duration


class Watch:
    """Running per-task numbers; ``threads`` maps thread ids (as str) to names."""

    def __init__(self, threads: dict[str, str]) -> None:
        self.names = {int(k): v for k, v in threads.items()}
        self.released: dict[tuple[int, int], int] = {}
        self.latency: dict[int, list[int]] = {}
        self.jobs: dict[int, int] = {}
        self.misses: dict[int, int] = {}
        self.missed = 0
        self.now = 0

    def add(self, batch: list[list[Any]], missed: int) -> None:
        self.missed += missed
        for r in batch:
            kind, t = r[0], r[1]
            self.now = max(self.now, t)
            if kind == ev.THREAD_NEW:
                self.names[r[2]] = r[3]
            elif kind == ev.JOB_RELEASE:
                self.released[(r[2], r[3])] = t
            elif kind == ev.JOB_START:
                rel = self.released.pop((r[2], r[3]), None)
                if rel is not None:
                    self.latency.setdefault(r[2], []).append(t - rel)
            elif kind == ev.JOB_END:
                self.jobs[r[2]] = self.jobs.get(r[2], 0) + 1
            elif kind == ev.DEADLINE_MISS:
                self.misses[r[2]] = self.misses.get(r[2], 0) + 1

    def table(self) -> Table:
        title = f"t = {format_duration(self.now)}"
        if self.missed:
            title += f" ({self.missed} records missed: the watch fell behind)"
        table = Table(title=title)
        for col in ("task", "jobs", "misses", "lat p50", "lat p99", "lat max"):
            table.add_column(col, justify="right" if col != "task" else "left")
        for tid in sorted(set(self.latency) | set(self.misses)):
            lat = sorted(self.latency.get(tid, []))
            name = shorten(printable(self.names.get(tid, f"thread-{tid}")))
            row = [name, str(self.jobs.get(tid, 0))]
            row.append(str(self.misses.get(tid, 0)))
            for q in (50, 99, 100):  # nearest rank, as the summary takes it
                rank = max(0, -(-q * len(lat) // 100) - 1)
                row.append(format_duration(lat[rank]) if lat else "-")
            table.add_row(*row)
        return table


__all__ = ["Watch"]
