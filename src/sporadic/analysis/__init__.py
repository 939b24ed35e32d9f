"""Schedulability analysis: response-time analysis of fixed-priority task sets (``rta``) and
its verdicts for the partitions of a description (``check``), classic and bounded by budgets;
the general busy-window recurrence (``fixed_priority``: jitter, blocking, busy periods of
several jobs, budgets), the tasks of a description with their worst cases, servers and notify
chains (``workload``), and each task's bounds and verdict (``bounds.task_bounds``)."""
