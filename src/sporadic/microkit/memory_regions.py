"""``<memory_region>`` elements and the x86 ``<io_address_space>`` that maps them for a device."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from sporadic.microkit.attributes import AttributeReader
from sporadic.microkit.model import (
    CAPDL_MAX_IOVA,
    LARGE_PAGE,
    PAGE_SIZES,
    PREFILL_BOOTINFO,
    SMALL_PAGE,
    IoAddressSpace,
    IoMap,
    MemoryRegion,
    ProtectionDomain,
)
from sporadic.microkit.positions import Node


class MemoryReader(AttributeReader):
    """Reads memory regions (with their prefill files) and IOMMU address spaces."""

    def memory_region(self, node: Node) -> MemoryRegion:
        allowed = ("name", "size", "page_size", "phys_addr", "prefill_path", "prefill_bootinfo")
        self.check_attrs(node, allowed)
        name = self.req(node, "name")
        specified = "page_size" in node.attrs
        page_size = self.num(node, "page_size", SMALL_PAGE)
        assert page_size is not None
        if page_size not in PAGE_SIZES:
            raise self.value_error(node, f"page size {page_size:#x} not supported")
        prefill_path = node.attrs.get("prefill_path")
        prefill_len = None if prefill_path is None else self.prefill_length(node, prefill_path)
        bootinfo = node.attrs.get("prefill_bootinfo")
        if bootinfo is not None and bootinfo not in PREFILL_BOOTINFO:
            raise self.value_error(node, f"BootInfoMap type: '{bootinfo}' is not supported")
        if prefill_path is not None and bootinfo is not None:
            raise self.value_error(
                node, "prefill_path and prefill_bootinfo cannot be both specified"
            )
        size = self.num(node, "size")
        if size is not None:
            if size % page_size:
                raise self.value_error(node, "size is not a multiple of the page size")
            if prefill_len is not None and prefill_len > size:
                raise self.value_error(
                    node,
                    f"size of prefill file exceeds memory region size: {prefill_len:x} > {size:x}",
                )
        elif bootinfo is not None:
            size = page_size
        elif prefill_len is not None:
            size = -(-prefill_len // page_size) * page_size
        else:
            raise self.value_error(node, "size must be specified if memory region is not prefilled")
        phys_addr = self.num(node, "phys_addr")
        if phys_addr is not None and phys_addr % page_size:
            raise self.value_error(node, "phys_addr is not aligned to the page size")
        return MemoryRegion(
            name=name,
            size=size,
            page_size=page_size,
            page_count=size // page_size,
            phys_addr=phys_addr,
            page_size_specified=specified,
            prefill_path=prefill_path,
            prefill_bootinfo=bootinfo,
            line=node.line,
            column=node.column,
        )

    def prefill_length(self, node: Node, prefill: str) -> int:
        """Microkit reads the file; only its length matters here (found next to the SDF)."""
        p = Path(prefill)
        if not p.is_absolute():
            p = Path(self.path).parent / p
        if not p.is_file():
            raise self.value_error(node, f"unable to find prefill file: '{prefill}'")
        try:
            length = os.stat(p).st_size
        except OSError:
            raise self.value_error(
                node, f"failed to read file '{prefill}' at prefill_path"
            ) from None
        if length == 0:
            raise self.value_error(node, f"prefill file '{prefill}' is empty")
        return length

    def promote_page_size(
        self, mr: MemoryRegion, pds: list[ProtectionDomain], io_used: set[str]
    ) -> MemoryRegion:
        """Microkit upgrades to 2 MiB pages when the size, paddr and every vaddr allow it."""
        if mr.page_size_specified or mr.name in io_used or mr.page_size == LARGE_PAGE:
            return mr
        if mr.size % LARGE_PAGE:
            return mr
        addrs = [m.vaddr for pd in pds for m in pd.maps if m.mr == mr.name]
        addrs += [
            m.vaddr
            for pd in pds
            if pd.virtual_machine
            for m in pd.virtual_machine.maps
            if m.mr == mr.name
        ]
        if mr.phys_addr is not None:
            addrs.append(mr.phys_addr)
        if any(a % LARGE_PAGE for a in addrs):
            return mr
        return replace(mr, page_size=LARGE_PAGE, page_count=mr.size // LARGE_PAGE)

    def io_address_space(self, node: Node, ios: list[IoAddressSpace]) -> IoAddressSpace:
        self.check_attrs(node, ("name", "peripheral_id", "domain_id"))
        name = self.req(node, "name")
        if any(io.name == name for io in ios):
            raise self.value_error(node, f"duplicate name '{name}'")
        domain_id = self.req_num(node, "domain_id")
        if any(io.domain_id == domain_id for io in ios):
            raise self.value_error(node, "reusing a domain id is forbidden")
        ident = self.req(node, "peripheral_id")
        device = self.pci_device(ident)
        if device.startswith("#"):
            raise self.value_error(
                node, f"failed to parse device peripheral_id '{ident}': {device[1:]}"
            )
        if any(io.peripheral_id == device for io in ios):
            raise self.value_error(node, f"duplicate device peripheral_id 'PCI device {device}'")
        iomaps = []
        for child in node.children:
            if child.tag != "iomap":
                raise self.error(child, f"invalid XML element '{child.tag}'")
            self.check_attrs(child, ("mr", "iovaddr", "perms"))
            mr = self.req(child, "mr")
            iovaddr = self.req_num(child, "iovaddr")
            if iovaddr > CAPDL_MAX_IOVA:
                raise self.value_error(
                    child, f"iovaddr ({iovaddr:#x}) must be less than {CAPDL_MAX_IOVA + 1:#x}"
                )
            perms = child.attrs.get("perms", "rw")
            if not perms or any(c not in "rw" for c in perms):
                raise self.value_error(
                    child, "perms for io mapped memory must only be a combination of 'r' and 'w'"
                )
            perms = "".join(c for c in "rw" if c in perms)
            iomaps.append(IoMap(mr, iovaddr, perms, child.line, child.column))
        return IoAddressSpace(name, device, domain_id, tuple(iomaps), node.line, node.column)
