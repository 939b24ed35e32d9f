"""Counting a batch's records by kind, for the trace footer: the writer's one per-record step,
compiled with the kernel in the compiled build (setup.py)."""

from __future__ import annotations

from typing import Any


def count_kinds(records: list[tuple[Any, ...]], counts: list[int]) -> None:
    """Add one to ``counts[kind]`` for each record of ``records``."""
    for record in records:
        kind: int = record[0]
        counts[kind] += 1
