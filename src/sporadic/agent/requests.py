"""What the guest is asked to do: deploy a module, or start, stop or undeploy one by name.

Requests come from ``[[deploy]]`` entries (at their simulated time) or from the socket server
(at the simulated time they arrive). Each has an id, which every ``deploy`` record of it
carries, so that a client can follow its own request through the trace.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass
class DeployRequest:
    name: str
    data: bytes
    args: tuple[str, ...] = ()
    priority: int = 20
    budget: int = 1_000_000
    period: int = 10_000_000
    deadline: int | None = None
    start: bool = True
    source: str = "script"
    id: int = 0
    engine: str | None = None  # wasmtime | wasmer; None: the run's default engine
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.data).hexdigest()


@dataclass
class ControlRequest:
    """``start``, ``stop`` or ``undeploy`` of the module called ``name``."""

    op: str
    name: str
    source: str = "socket"
    id: int = 0


Request = DeployRequest | ControlRequest


def copy_cost(nbytes: int, per_kib: int) -> int:
    """ns of CPU to copy ``nbytes`` through the page at ``per_kib`` ns a KiB (rounded up)."""
    return -(-nbytes * per_kib // 1024)


__all__ = ["ControlRequest", "DeployRequest", "Request", "copy_cost"]
