"""Kinds of the records the kernel and the partitions emit.

A record is a tuple ``(kind, t, *values)`` with ``t`` in integer nanoseconds of simulated time.
The kernel hands records to a sink (any callable taking one tuple); it knows nothing of files, so
the codes live here and the trace writer imports them. Codes are part of the trace format: append
new kinds, never renumber.
"""

JOB_RELEASE = 0  # (thread, job, absolute_deadline)  t = the timer's release time
JOB_START = 1  # (thread, job)  first dispatch of the job
JOB_END = 2  # (thread, job)
DEADLINE_MISS = 3  # (thread, job, absolute_deadline)
SWITCH = 4  # (from_thread, to_thread, sc)  a real change of the running thread; `sc` is the SC
# it runs on (and is charged to), -1 for idle: a passive server runs on its client's SC
PREEMPT = 5  # (thread, by_thread)  switched away from while still schedulable, not by its own yield
BLOCK = 6  # (thread, state)  the thread stopped being runnable; state is a ThreadState value
WAKE = 7  # (thread,)  the thread became runnable (signal, IPC, resume)
BUDGET_EXHAUSTED = 8  # (thread, sc)  head refill below MIN_BUDGET at a kernel entry
POSTPONE = 9  # (thread, sc, ready_time)  the thread entered the release queue
REFILL_RELEASE = 10  # (thread, sc)  the thread left the release queue
TIMEOUT_FAULT = 11  # (thread, sc, badge, consumed_ns)
DOMAIN_SWITCH = 12  # (domain,)
MARK = 13  # (thread, label, value)  a user-level timestamp written by a program
SYSCALL_ERROR = 14  # (thread, syscall, error)  both strings
THREAD_EXIT = 15  # (thread,)  the thread's program returned
LOG = 16  # (thread, line)
JOB_ABORT = 17  # (thread, job)  the job was abandoned (its fault handler restarted the thread)
IPC_SEND = 18  # (sender, endpoint, receiver)  receiver -1: the sender blocked or the send dropped
IPC_CALL = 19  # (caller, endpoint, receiver)  receiver -1: the caller is queued
IPC_RECV = 20  # (receiver, endpoint, sender)  a message was transferred from a queued sender
IPC_REPLY = 21  # (replier, caller)
SIGNAL = 22  # (signaller, notification, woken)  woken -1: no thread was woken
DONATE = 23  # (sc, from_thread, to_thread)  from -1: the SC came from a notification or nobody
FAULT = 24  # (thread, job, message)  a WebAssembly trap or an overrun of the job's fuel cap
THREAD_NEW = 25  # (thread, name, kind, priority, domain, sc, budget, period)  made during the run
DEPLOY = 26  # (module, phase, info)  a step of a deploy; info is a map (docs/trace-format.md)

NAMES = (
    "job_release",
    "job_start",
    "job_end",
    "deadline_miss",
    "switch",
    "preempt",
    "block",
    "wake",
    "budget_exhausted",
    "postpone",
    "refill_release",
    "timeout_fault",
    "domain_switch",
    "mark",
    "syscall_error",
    "thread_exit",
    "log",
    "job_abort",
    "ipc_send",
    "ipc_call",
    "ipc_recv",
    "ipc_reply",
    "signal",
    "donate",
    "fault",
    "thread_new",
    "deploy",
)

# The ``kind`` of each entry of the trace header's ``threads`` table.
THREAD_KINDS = (
    "idle",  # the kernel's idle thread
    "partition",  # a [[partition]] of a description: periodic jobs released by a device timer
    "thread",  # a [[thread]] of a description: a script with no release
    "pd",  # a Microkit protection domain
    "monitor",  # the Microkit monitor, which holds passive PDs' SCs on their notifications
    "guest",  # the deploy agent's guest: the non-real-time side that uploads modules
    "runner",  # the deploy agent's runner: receives modules and starts them
    "module",  # a module deployed while the system runs, made by the runner
)
