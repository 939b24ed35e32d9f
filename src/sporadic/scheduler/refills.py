"""Refill arithmetic of seL4 MCS scheduling contexts (``src/kernel/sporadic.c``).

Pure arithmetic on a refill queue, testable without a kernel. A queue is a list of ``[rTime,
rAmount]`` pairs (head first) owned by any object with the attributes ``refills``, ``refill_max``,
``period`` (``period == 0`` means round robin) and ``sporadic``. All times are integer nanoseconds.

Every rule about an SC's budget lives here, and the kernel calls these functions rather than
spelling the rules out: the predicates of ``include/kernel/sporadic.h`` and ``thread.h``, the refill
operations of ``src/kernel/sporadic.c`` (docs/mcs-semantics.md section 2, step by step), and the
SC steps of ``commitTime``, ``chargeBudget`` and ``switchSchedContext`` with their round-robin
branches (section 2.6). The names are the kernel's, or say which kernel function a step is from.
Inside this module, and in ``Scheduler.schedulable`` (``isSchedulable``, the hottest test), the
one-attribute predicates are written out rather than called: a Python call costs more than the
test.
"""

from __future__ import annotations

from typing import Protocol

__all__ = [
    "RefillOwner",
    "charge_timeslice",
    "is_active",
    "is_released",
    "is_round_robin",
    "is_sporadic",
    "refill_budget_check",
    "refill_commit",
    "refill_capacity",
    "refill_new",
    "refill_ready",
    "refill_sufficient",
    "refill_switch_check",
    "refill_unblock_check",
    "refill_update",
    "schedule_used",
]


class RefillOwner(Protocol):
    refills: list[list[int]]
    refill_max: int
    period: int
    sporadic: bool
    consumed: int


def is_active(sc: RefillOwner) -> bool:
    """``sc_active``: configured, so it has refills at all."""
    return sc.refill_max > 0


def is_sporadic(sc: RefillOwner | None) -> bool:
    """``sc_sporadic``: an SC configured with the sporadic flag, whose refills are delayed when
    its thread unblocks (``refill_unblock_check`` at wake-up). Such an SC is always active."""
    return sc is not None and sc.sporadic


def is_round_robin(sc: RefillOwner) -> bool:
    """``isRoundRobin``: configured with budget == period, stored as period 0."""
    return sc.period == 0


def is_released(sc: RefillOwner, now: int) -> bool:
    """``sc_released``: active with its head refill ready."""
    return sc.refill_max > 0 and sc.refills[0][0] <= now


def refill_capacity(sc: RefillOwner, usage: int) -> int:
    """Head amount left after ``usage``; 0 when usage exceeds it (the kernel clamps)."""
    head = sc.refills[0][1]
    return 0 if usage > head else head - usage


def refill_sufficient(sc: RefillOwner, usage: int, min_budget: int) -> bool:
    """The head can pay ``usage`` and still hold MIN_BUDGET."""
    return refill_capacity(sc, usage) >= min_budget


def refill_ready(sc: RefillOwner, now: int) -> bool:
    """The head refill may be used now."""
    return sc.refills[0][0] <= now


def refill_commit(sc: RefillOwner, consumed: int, min_budget: int) -> None:
    """``commitTime`` for the current SC, if it is active: what was used is charged (a
    round-robin SC moves it from its head to its tail, section 2.6; any other goes through
    ``refill_budget_check``) and counted in ``consumed``."""
    if sc.refill_max == 0:
        return
    refills = sc.refills
    if sc.period == 0:
        refills[0][1] -= consumed
        refills[1][1] += consumed
    else:
        refill_budget_check(sc, consumed, min_budget)
    sc.consumed += consumed


def charge_timeslice(sc: RefillOwner, consumed: int, min_budget: int) -> None:
    """``chargeBudget``'s charge at the end of a timeslice: a round-robin SC gets its tail back
    into its head, full again at once (section 2.6); any other SC goes through
    ``refill_budget_check``."""
    refills = sc.refills
    if sc.period == 0:
        refills[0][1] += refills[1][1]
        refills[1][1] = 0
    else:
        refill_budget_check(sc, consumed, min_budget)


def refill_new(sc: RefillOwner, max_refills: int, budget: int, period: int, now: int) -> None:
    """Full budget available now; a round-robin SC also gets the empty tail (section 2.1)."""
    sc.period = period
    sc.refill_max = max_refills
    if period == 0:
        sc.refills = [[now, budget], [now, 0]]
    else:
        sc.refills = [[now, budget]]


def refill_update(
    sc: RefillOwner, new_period: int, new_budget: int, new_max_refills: int, now: int
) -> None:
    """Reconfigure a runnable thread's SC keeping only the head (section 2.2)."""
    head = sc.refills[0]
    sc.refill_max = new_max_refills
    sc.period = new_period
    if head[0] <= now:
        head[0] = now
    if head[1] >= new_budget:
        head[1] = new_budget
        sc.refills = [head]
    else:
        sc.refills = [head, [head[0] + new_period, new_budget - head[1]]]


def schedule_used(sc: RefillOwner, used_time: int, used_amount: int) -> None:
    """Add used time at the tail: merge when adjacent, append when there is room, else delay
    the tail so that it ends where the new refill would end (section 2.3)."""
    refills = sc.refills
    tail = refills[-1]
    if tail[0] + tail[1] >= used_time:
        tail[1] += used_amount
    elif len(refills) < sc.refill_max:
        refills.append([used_time, used_amount])
    else:
        tail[0] = used_time - tail[1]
        tail[1] += used_amount


def refill_budget_check(sc: RefillOwner, usage: int, min_budget: int) -> None:
    """Charge ``usage`` to a sporadic (non round-robin) SC (section 2.4)."""
    refills = sc.refills
    period = sc.period
    head = refills[0]
    # (a) handle_overrun: whole head refills covered by the usage
    while head[1] <= usage:
        if len(refills) == 1:
            head[0] += period
            usage -= head[1]
        else:
            refills.pop(0)
            usage -= head[1]
            schedule_used(sc, head[0] + period, head[1])
            head = refills[0]
    # (b) partial charge of the head: it slides forward by what was used
    if usage > 0:
        used_time = head[0] + period
        head[1] -= usage
        head[0] += usage
        schedule_used(sc, used_time, usage)
    # (c) merge_nonoverlapping_head_refill until the head is big enough
    while refills[0][1] < min_budget and len(refills) > 1:
        old = refills.pop(0)
        head = refills[0]
        head[1] += old[1]
        head[0] -= old[1]


def refill_unblock_check(sc: RefillOwner, now: int) -> bool:
    """Slide a ready head to ``now`` and merge refills that now overlap it (section 2.5).

    Returns True when the head was ready, which is when the kernel must reprogram its timer.
    Round-robin SCs are left alone.
    """
    if sc.period == 0:
        return False
    refills = sc.refills
    head = refills[0]
    if head[0] > now:
        return False
    head[0] = now
    while len(refills) > 1 and refills[1][0] <= head[0] + head[1]:
        nxt = refills[1]
        nxt[0] = head[0]
        nxt[1] += head[1]
        refills.pop(0)
        head = nxt
    return True


def refill_switch_check(sc: RefillOwner, now: int) -> None:
    """``switchSchedContext`` for the SC becoming current: a constant-bandwidth SC
    (``sc_constant_bandwidth``: not sporadic, the default) gets ``refill_unblock_check``, so
    its ready refills are brought forward; a sporadic SC had that check when its thread woke."""
    if not sc.sporadic:
        refill_unblock_check(sc, now)
