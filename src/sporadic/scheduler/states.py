"""Thread states (``_thread_state_type``, ``include/object/structures.h``) as the scheduler sees
them: which states are runnable (``isRunnable``), and their names for traces and reports.

Ints, not an Enum: they are compared on the hot path, and ``block`` records carry them.
"""

INACTIVE = 0
RUNNING = 1
RESTART = 2
BLOCKED_ON_RECEIVE = 3
BLOCKED_ON_SEND = 4
BLOCKED_ON_REPLY = 5
BLOCKED_ON_NOTIFICATION = 6
IDLE = 7

STATE_NAMES = (
    "Inactive",
    "Running",
    "Restart",
    "BlockedOnReceive",
    "BlockedOnSend",
    "BlockedOnReply",
    "BlockedOnNotification",
    "Idle",
)

# ``isRunnable``, indexed by state: Running and Restart.
RUNNABLE = (False, True, True, False, False, False, False, False)
