"""Kernel profiles: the kernel settings of a real platform, measured, under one name.

``[kernel] profile = "qemu-arm-virt"`` sets every field of ``[kernel]`` that the description does
not set itself. The numbers are measurements of seL4 MCS (commit 1326364bc, the same as
docs/mcs-semantics.md) built for qemu's ``virt`` machine (aarch64, cortex-a53) and booted with
``-icount shift=0,sleep=off``, where one guest instruction is one nanosecond and the generic
timer counts at 62.5 MHz (16 ns a tick). How each was measured is in docs/validation.md:

- ``min_budget``: ``MIN_BUDGET`` = 2 * ``KERNEL_WCET`` (10 us on this platform) = 20 us.
- ``timer_precision``: ``getTimerPrecision()`` = ``TIMER_PRECISION`` + ``TIMER_OVERHEAD_TICKS``
  = 0 on this platform.
- ``irq_latency``: from the timer's deadline to the kernel's ``updateTimestamp`` when a thread
  was running: 4 ticks (64 ns) in every kernel-timer interrupt of the traced runs.
- ``idle_irq_latency``: the same from the idle thread's ``wfi``: 2 ticks (32 ns).
- ``syscall_latency``: from a thread's last instruction before ``svc`` to the kernel's clock
  read: 176 ns (11 ticks; 208-224 ns from the thread's last counter read, less its loop).
- ``entry_cost``: from the clock read to the return to user mode: the median of the kernel's
  paths, 600 ns (a yield to itself 576-592 ns, interrupts 528-1136 ns, median 608 ns).
"""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "qemu-arm-virt": {
        "min_budget": 20_000,
        "entry_cost": 600,
        "syscall_latency": 176,
        "fastpath_cost": 570,
        "timer_precision": 0,
        "irq_latency": 64,
        "idle_irq_latency": 32,
    },
}

__all__ = ["PROFILES"]
