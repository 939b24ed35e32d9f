"""The domain schedule (docs/mcs-semantics.md section 11): a cyclic list of (domain, duration)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MAX_DOMAINS", "DomainSchedule"]

# seL4's CONFIG_NUM_DOMAINS is at most 256 (domains are 8-bit); the ready queues are allocated per
# domain, so a larger number would cost memory for nothing (domain 10000 took 2 GB)
MAX_DOMAINS = 256


class DomainSchedule:
    """``ksDomSchedule`` with its index; durations are integer ns.

    ``advance`` mirrors ``nextDomain``: move to the next entry, wrapping to ``start`` at the end.
    """

    __slots__ = ("entries", "start", "index")

    def __init__(self, entries: Sequence[tuple[int, int]], start: int = 0) -> None:
        if not entries:
            raise ValueError("a domain schedule needs at least one entry")
        for domain, duration in entries:
            if not 0 <= domain < MAX_DOMAINS or duration <= 0:
                raise ValueError(f"invalid domain schedule entry ({domain}, {duration})")
        if not 0 <= start < len(entries):
            raise ValueError(f"domain schedule start {start} is outside the schedule")
        self.entries = [(int(d), int(t)) for d, t in entries]
        self.start = start
        self.index = start

    @property
    def num_domains(self) -> int:
        return max(d for d, _ in self.entries) + 1

    def current(self) -> tuple[int, int]:
        return self.entries[self.index]

    def advance(self) -> tuple[int, int]:
        self.index += 1
        if self.index >= len(self.entries):
            self.index = self.start
        return self.entries[self.index]
