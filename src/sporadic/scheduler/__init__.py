"""Scheduling: refill arithmetic, ready and release queues, the domain schedule, thread states,
and the scheduling core of one seL4 MCS core; below the kernel objects, which it knows only by
their fields."""
