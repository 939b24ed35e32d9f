"""The ``kind`` of each thread in the trace header's threads table, one name per kind.

The values are those of ``records.THREAD_KINDS``, the list the trace format documents, so the
builders can only write a kind listed there; a change to that list breaks this unpacking at
import rather than writing a kind the format does not know.
"""

from sporadic.records import THREAD_KINDS

IDLE, PARTITION, THREAD, PD, MONITOR, GUEST, RUNNER, MODULE = THREAD_KINDS

__all__ = ["GUEST", "IDLE", "MODULE", "MONITOR", "PARTITION", "PD", "RUNNER", "THREAD"]
