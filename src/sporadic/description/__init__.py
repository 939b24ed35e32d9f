"""The TOML system description: its resolved model and the loader that checks every field.

From the bottom up: ``model`` (the resolved dataclasses), ``fields`` (typed reads that point
at file:line), ``scripts`` (action lists), ``entries`` (what partitions, PDs and threads
share), one module per group of sections (``settings``, ``partitions``, ``protection_domains``,
``threads``), ``checks`` (references across entries) and ``loader`` (``load``, ``load_text``).
"""

from sporadic.description.loader import load, load_text
from sporadic.description.model import (
    Action,
    Channel,
    ChannelEnd,
    Distribution,
    FaultJob,
    Handlers,
    IrqTimer,
    KernelSettings,
    Partition,
    ProtectionDomain,
    Release,
    SCParams,
    System,
    Thread,
    WasmSpec,
)
from sporadic.errors import DescriptionError

__all__ = [
    "Action",
    "Channel",
    "ChannelEnd",
    "DescriptionError",
    "Distribution",
    "FaultJob",
    "Handlers",
    "IrqTimer",
    "KernelSettings",
    "Partition",
    "ProtectionDomain",
    "Release",
    "SCParams",
    "System",
    "Thread",
    "WasmSpec",
    "load",
    "load_text",
]
