"""The TOML system description: its resolved model and the loader that checks every field."""

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
