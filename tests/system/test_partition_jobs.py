"""Partition jobs written as scripts see the results of their system calls."""

from __future__ import annotations

from sporadic import records as ev
from sporadic.description import load_text
from sporadic.simulation import Simulation


def test_job_scripts_get_syscall_results() -> None:
    text = """
[system]
duration = "3ms"
[[partition]]
name = "p"
priority = 10
release = { period = "1ms" }
job = { script = [ { compute = "100us" }, { configure = "p", budget = "0us", period = "1ms" },
                   { mark_result = "configure" } ] }
"""
    sim = Simulation(load_text(text, "p.toml"))
    sim.run()
    marks = [(r[1], r[3], r[4]) for r in sim.records if r[0] == ev.MARK]
    # every job: 100 us of work, then a configure that seL4 refuses (budget 0): RangeError
    assert marks == [(t, "configure", -1) for t in (100_000, 1_100_000, 2_100_000)]
    errors = [r[4] for r in sim.records if r[0] == ev.SYSCALL_ERROR]
    assert errors == ["RangeError"] * 3
