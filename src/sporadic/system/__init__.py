"""A description made into a running kernel: partitions, scripted threads and Microkit
protection domains, with the job records each of them writes."""

from sporadic.system.builder import BuiltSystem

__all__ = ["BuiltSystem"]
