"""Microkit's limits and the resolved SDF model: the frozen records a checked ``.system`` becomes.

The loader builds these; the rest of the simulator reads them. Times are integer nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

# ---------------------------------------------------------------------------- Microkit's limits

PD_MAX_ID = 61  # badge bits 63 (PPC) and 62 (fault) are taken, so channel ids are 0..61
VCPU_MAX_ID = PD_MAX_ID
PD_MAX_PRIORITY = 254
MONITOR_PRIORITY = 255
MONITOR_PD_NAME = "monitor"
MONITOR_DOMAIN = 0
BUDGET_DEFAULT_US = 1000
PD_DEFAULT_STACK_SIZE = 0x2000
PD_MIN_STACK_SIZE = 0x1000
PD_MAX_STACK_SIZE = 16 * 1024 * 1024
MAX_PDS = 63
PAGE_SIZES = (0x1000, 0x200_000)
SMALL_PAGE, LARGE_PAGE = PAGE_SIZES
USER_TOP = 1 << 40  # end of a user address space; a PD's stack sits just below it
CAP_MAP_MAX_SLOT = 128
X86_IRQ_VECTOR_MAX = 107
NUM_DOMAINS = 16  # KernelNumDomains in the Microkit SDK
NUM_DOMAIN_SCHEDULES = 100  # KernelNumDomainSchedules
CAPDL_MAX_IOVA = (1 << 39) - 1
PCI_BUS_MAX, PCI_DEV_MAX, PCI_FUNC_MAX = 255, 31, 7
PREFILL_BOOTINFO = (
    "x86_vbe",
    "x86_mbmmap",
    "x86_acpi_rsdp",
    "x86_framebuffer",
    "x86_tsc_freq",
    "fdt",
)
US = 1_000  # ns per microsecond


# ---------------------------------------------------------------------------- resolved model


@dataclass(frozen=True)
class Map:
    """A ``<map>`` of a memory region into a PD or a VM; ``perms`` normalised to r, w, x order."""

    mr: str
    vaddr: int
    perms: str
    cached: bool
    setvar_vaddr: str | None
    setvar_size: str | None
    setvar_prefill_size: str | None
    line: int
    column: int

    @property
    def read(self) -> bool:
        return "r" in self.perms

    @property
    def write(self) -> bool:
        return "w" in self.perms

    @property
    def execute(self) -> bool:
        return "x" in self.perms


@dataclass(frozen=True)
class Irq:
    """An ``<irq>``: delivered as a notification on channel ``id`` of its PD.

    ``kind`` is ``"irq"`` (ARM/RISC-V ``irq=`` form), ``"ioapic"`` or ``"msi"`` (x86). ``irq`` is
    the number that must be unique in the system: the ``irq`` attribute, or the x86 ``vector``
    (as Microkit's ``irq_num``). ``trigger`` is None for MSIs.
    """

    irq: int
    id: int
    trigger: str | None
    kind: str = "irq"
    setvar_id: str | None = None
    ioapic: int | None = None
    pin: int | None = None
    polarity: str | None = None
    vector: int | None = None
    pcidev: str | None = None
    handle: int | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class SetVar:
    """A ``<setvar>``: ``symbol`` gets the physical address of memory region ``region_paddr``."""

    symbol: str
    region_paddr: str
    line: int
    column: int


@dataclass(frozen=True)
class IoPort:
    """An x86 ``<ioport>``: ports ``addr .. addr+size`` as channel-like id ``id``."""

    id: int
    addr: int
    size: int
    setvar_id: str | None
    setvar_addr: str | None
    line: int
    column: int


@dataclass(frozen=True)
class CapMap:
    """A ``<cap_tcb|cap_sc|cap_vspace>`` in ``<cspace>``: a cap to ``pd``'s object in ``slot``."""

    kind: str  # tcb | sc | vspace
    pd: str
    slot: int
    line: int
    column: int


@dataclass(frozen=True)
class Vcpu:
    """A ``<vcpu>`` of a virtual machine."""

    id: int
    cpu: int | None
    setvar_id: str | None
    line: int
    column: int


@dataclass(frozen=True)
class VirtualMachine:
    """A guest managed by its PD; own scheduling parameters (AArch64 meaning), times in ns."""

    name: str
    priority: int
    budget: int
    period: int
    vcpus: tuple[Vcpu, ...]
    maps: tuple[Map, ...]
    line: int
    column: int


@dataclass(frozen=True)
class ProtectionDomain:
    """One PD: a thread with its own MCS scheduling context (budget and period in ns).

    Child PDs appear in ``MicrokitSystem.protection_domains`` right after their parent
    (depth-first); ``parent`` names the parent and ``child_id`` is the parent's handle for it.
    ``domain`` is the domain name and ``domain_id`` its number when ``<domains>`` is used.
    ``legacy_pp`` records a Microkit <= 1.4.1 ``pp="true"`` attribute (already converted).
    """

    name: str
    priority: int
    budget: int
    period: int
    passive: bool
    stack_size: int
    cpu: int
    smc: bool
    fpu: bool
    domain: str | None
    child_id: int | None
    parent: str | None
    program_image: str
    maps: tuple[Map, ...]
    irqs: tuple[Irq, ...]
    setvars: tuple[SetVar, ...]
    ioports: tuple[IoPort, ...]
    cspace: tuple[CapMap, ...]
    virtual_machine: VirtualMachine | None
    line: int
    column: int
    domain_id: int | None = None
    program_image_for_symbols: str | None = None
    setvar_id: str | None = None
    legacy_pp: bool = False


@dataclass(frozen=True)
class MemoryRegion:
    """A ``<memory_region>``; ``page_size`` is after Microkit's promotion to 2 MiB pages."""

    name: str
    size: int
    page_size: int
    page_count: int
    phys_addr: int | None
    page_size_specified: bool
    prefill_path: str | None
    prefill_bootinfo: str | None
    line: int
    column: int


@dataclass(frozen=True)
class ChannelEnd:
    """One ``<end>``: ``pp`` means this PD may call (PPC) the other end."""

    pd: str
    id: int
    pp: bool
    notify: bool
    setvar_id: str | None
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Channel:
    """A ``<channel>`` between two PDs."""

    ends: tuple[ChannelEnd, ChannelEnd]
    line: int
    column: int = 0


@dataclass(frozen=True)
class MicrokitDomains:
    """``<domains>``: domain ids by name and the kernel's domain schedule.

    ``schedule`` holds ``(domain_id, duration)`` in document order, as the kernel's schedule
    array: the duration is in ns, or in kernel timer ticks where ``in_ticks[i]`` is True;
    ``(0, 0)`` is an explicit ``<schedule_end_marker/>`` (seL4 marks the end with duration 0;
    one is implicit after the last entry). ``index_shift`` is None when not given.
    """

    domains: dict[str, int]
    schedule: tuple[tuple[int, int], ...]
    start_index: int
    index_shift: int | None
    in_ticks: tuple[bool, ...]
    line: int = 0
    column: int = 0


DomainSchedule = MicrokitDomains


@dataclass(frozen=True)
class IoMap:
    """An ``<iomap>`` of a memory region into a device's IOMMU address space."""

    mr: str
    iovaddr: int
    perms: str
    line: int
    column: int


@dataclass(frozen=True)
class IoAddressSpace:
    """An x86 ``<io_address_space>``; ``peripheral_id`` is normalised to ``bb:dd.f``."""

    name: str
    peripheral_id: str
    domain_id: int
    iomaps: tuple[IoMap, ...]
    line: int
    column: int


@dataclass(frozen=True)
class MicrokitSystem:
    """A checked Microkit system; ``warnings`` are Microkit's warnings and legacy conversions."""

    path: str
    protection_domains: tuple[ProtectionDomain, ...]
    channels: tuple[Channel, ...]
    memory_regions: tuple[MemoryRegion, ...]
    domains: MicrokitDomains | None
    io_address_spaces: tuple[IoAddressSpace, ...]
    warnings: tuple[str, ...]

    def pd(self, name: str) -> ProtectionDomain:
        """The PD called ``name`` (KeyError if none)."""
        for pd in self.protection_domains:
            if pd.name == name:
                return pd
        raise KeyError(name)

    def children(self, name: str) -> tuple[ProtectionDomain, ...]:
        """The direct children of PD ``name``, in document order."""
        return tuple(pd for pd in self.protection_domains if pd.parent == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON/msgpack-safe form (lists, dicts, str, int, bool, None) for trace headers."""
        return _plain(self)


def _plain(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


__all__ = [
    "CapMap",
    "Channel",
    "ChannelEnd",
    "DomainSchedule",
    "IoAddressSpace",
    "IoMap",
    "IoPort",
    "Irq",
    "Map",
    "MemoryRegion",
    "MicrokitDomains",
    "MicrokitSystem",
    "ProtectionDomain",
    "SetVar",
    "Vcpu",
    "VirtualMachine",
]
