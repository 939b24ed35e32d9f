"""Checks over the whole system, made once every element is read: ids, ranges and slots."""

from __future__ import annotations

from sporadic.errors import MicrokitError
from sporadic.microkit.attributes import AttributeReader
from sporadic.microkit.model import (
    CAPDL_MAX_IOVA,
    LARGE_PAGE,
    CapMap,
    Channel,
    IoAddressSpace,
    IoMap,
    IoPort,
    Map,
    MemoryRegion,
    ProtectionDomain,
)


class SystemChecks(AttributeReader):
    """Microkit's cross-element checks: channel ids, I/O ports, maps, cap slots, overlaps."""

    def check_channel_ids(
        self,
        pds: list[ProtectionDomain],
        by_name: dict[str, ProtectionDomain],
        channels: list[Channel],
    ) -> None:
        """Ids 0..61 are shared by IRQs and channels; PPCs go strictly up in priority."""
        used: dict[str, set[int]] = {}
        for pd in pds:
            ids = used.setdefault(pd.name, set())
            for irq in pd.irqs:
                if irq.id in ids:
                    raise MicrokitError(
                        self.path,
                        irq.line,
                        irq.column,
                        f"duplicate channel id: {irq.id} in protection domain: '{pd.name}'",
                    )
                ids.add(irq.id)
        for ch in channels:
            a, b = ch.ends
            for end in (a, b):
                if end.id in used[end.pd]:
                    raise MicrokitError(
                        self.path,
                        end.line,
                        end.column,
                        f"duplicate channel id: {end.id} in protection domain: '{end.pd}'",
                    )
            for caller, callee in ((a, b), (b, a)):
                pa, pb = by_name[caller.pd], by_name[callee.pd]
                if caller.pp and pa.priority >= pb.priority:
                    raise MicrokitError(
                        self.path,
                        ch.line,
                        ch.column,
                        "PPCs must be to protection domains of strictly higher priorities; "
                        f"channel with PPC exists from pd {pa.name} (priority: {pa.priority}) "
                        f"to pd {pb.name} (priority: {pb.priority})",
                    )
            used[a.pd].add(a.id)
            used[b.pd].add(b.id)

    def check_ioports(self, pds: list[ProtectionDomain]) -> None:
        seen: list[tuple[str, IoPort]] = []
        for pd in pds:
            ids: set[int] = set()
            for port in pd.ioports:
                if port.id in ids:
                    raise MicrokitError(
                        self.path,
                        port.line,
                        port.column,
                        f"duplicate I/O port id: {port.id} in protection domain: '{pd.name}'",
                    )
                ids.add(port.id)
        for pd in pds:
            for port in pd.ioports:
                for other_pd, other in seen:
                    if port.addr < other.addr + other.size and other.addr < port.addr + port.size:
                        raise MicrokitError(
                            self.path,
                            port.line,
                            port.column,
                            f"I/O port id: {port.id}, half-open range: [{port.addr:#x}, "
                            f"{port.addr + port.size:#x}) in protection domain: '{pd.name}' "
                            f"overlaps with I/O port id: {other.id}, half-open range: "
                            f"[{other.addr:#x}, {other.addr + other.size:#x}) in protection "
                            f"domain: '{other_pd}' @ {self.path}:{other.line}:{other.column}",
                        )
                seen.append((pd.name, port))

    def check_maps(
        self,
        mrs: dict[str, MemoryRegion],
        maps: tuple[Map, ...] | tuple[IoMap, ...],
        where: str,
        max_end: int,
        element: str,
    ) -> None:
        """MR exists, address aligned to its page size, in range, no overlap in one space."""
        addr_name, range_name = (
            ("vaddr", "virtual address range")
            if element == "map"
            else ("iovaddr", "io address range")
        )
        done: list[tuple[str, int, int]] = []
        for m in maps:
            addr = m.vaddr if isinstance(m, Map) else m.iovaddr
            mr = mrs.get(m.mr)
            if mr is None:
                raise MicrokitError(
                    self.path,
                    m.line,
                    m.column,
                    f"invalid memory region name '{m.mr}' on '{element}'",
                )
            if addr % mr.page_size:
                raise MicrokitError(
                    self.path, m.line, m.column, f"invalid {addr_name} alignment on '{element}'"
                )
            start, end = addr, addr + mr.size
            if end >= 1 << 64:
                raise MicrokitError(
                    self.path,
                    m.line,
                    m.column,
                    f"{element} for '{m.mr}' has address range that overflows",
                )
            if end > max_end:
                raise MicrokitError(
                    self.path,
                    m.line,
                    m.column,
                    f"{element} for '{m.mr}' has {range_name} [{start:#x}..{end:#x}) which "
                    f"exceeds valid address space [0x0..{max_end:#x})",
                )
            for name, s, e in done:
                if start < e and s < end:
                    raise MicrokitError(
                        self.path,
                        m.line,
                        m.column,
                        f"map for '{m.mr}' has {range_name} [{start:#x}..{end:#x}) which "
                        f"overlaps with map for '{name}' [{s:#x}..{e:#x}) in {where}",
                    )
            done.append((m.mr, start, end))

    def check_io_maps(self, mrs: dict[str, MemoryRegion], ios: list[IoAddressSpace]) -> None:
        for io in ios:
            for m in io.iomaps:
                mr = mrs.get(m.mr)
                if mr is not None and mr.page_size == LARGE_PAGE:
                    raise MicrokitError(
                        self.path,
                        m.line,
                        m.column,
                        "currently seL4 does not have large page support for the IOMMU",
                    )
        for io in ios:
            where = f"PCI device {io.peripheral_id}"
            self.check_maps(mrs, io.iomaps, where, CAPDL_MAX_IOVA + 1, "iomap")

    def check_cap_slots(self, pds: list[ProtectionDomain]) -> None:
        for pd in pds:
            slots: dict[int, CapMap] = {}
            for cap in pd.cspace:
                if cap.slot in slots:
                    first = slots[cap.slot]
                    raise MicrokitError(
                        self.path,
                        cap.line,
                        cap.column,
                        f"overlapping user caps in slot {cap.slot} of protection domain "
                        f"'{pd.name}' (first at {self.path}:{first.line}:{first.column})",
                    )
                slots[cap.slot] = cap

    def check_phys_overlap(self, mrs: list[MemoryRegion]) -> None:
        done: list[tuple[str, int, int]] = []
        for mr in mrs:
            if mr.phys_addr is None:
                continue
            start, end = mr.phys_addr, mr.phys_addr + mr.size
            for name, s, e in done:
                if start < e and s < end:
                    raise MicrokitError(
                        self.path,
                        mr.line,
                        mr.column,
                        f"memory region '{mr.name}' physical address range [{start:#x}..{end:#x})"
                        f" overlaps with another memory region '{name}' [{s:#x}..{e:#x})",
                    )
            done.append((mr.name, start, end))

    def check_setvar_regions(
        self, pds: list[ProtectionDomain], mrs: dict[str, MemoryRegion]
    ) -> None:
        for pd in pds:
            for sv in pd.setvars:
                if sv.region_paddr not in mrs:
                    raise MicrokitError(
                        self.path,
                        sv.line,
                        sv.column,
                        f"invalid memory region name '{sv.region_paddr}' on 'setvar'",
                    )
            for m in pd.maps:
                if m.setvar_prefill_size is not None and mrs[m.mr].prefill_path is None:
                    raise MicrokitError(
                        self.path,
                        m.line,
                        m.column,
                        f"'setvar_prefill_size' used for MR without a `prefill_path` @ '{m.mr}'",
                    )
