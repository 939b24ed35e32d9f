"""Scheduling arithmetic and queues, independent of kernel objects."""
