"""Loader for seL4 Microkit System Description Files (``.system`` XML).

A Microkit system is already a set of partitions: protection domains with an MCS scheduling
context each (priority, budget, period), channels that carry notifications and protected
procedure calls, and optionally a domain schedule. Loading the SDF lets the simulator run real
Microkit systems as they are written, so the loader accepts exactly what Microkit's own tool
(``tool/microkit/src/sdf.rs``, 2.3.0-dev) accepts, checks what it checks and reports errors with
its wording, prefixed by ``PATH:LINE:COL`` like Microkit's own messages.

Differences from Microkit, all deliberate:

* No target configuration is known, so the checks are architecture-neutral: the ARM/RISC-V and
  both x86 ``<irq>`` forms, ``<ioport>`` and ``<io_address_space>`` are all accepted; the user
  virtual address space ends at ``USER_TOP`` (2**40, AArch64 with a 40-bit stage-2, as in
  Microkit's own tests); the core count is only checked when ``cores=`` is given.
* The legacy (Microkit <= 1.4.1) ``pp="true"`` attribute on a protection domain is accepted and
  converted to the 2.0 form with a warning (see ``ChannelReader.convert_legacy_pp``).
* Numbers Microkit reads with a plain ``parse().unwrap()`` (and so would panic on) give an error.
* Errors point at the most precise element (the ``<irq>``, the ``<end>``) where Microkit points
  at the protection domain or gives no position at all.
* When ``<domains>`` is present every protection domain needs ``domain=``, even one written
  before ``<domains>`` (Microkit silently skips the check for those).

Times are integer nanoseconds: Microkit's budgets and periods are microseconds and are
multiplied by 1000. Domain schedule entries given in ``ticks`` are kept in ticks and flagged
(``MicrokitDomains.in_ticks``), because a tick is a hardware timer tick, not a fixed time.
"""

from __future__ import annotations

from pathlib import Path

from sporadic.description.bounds import read_capped
from sporadic.errors import DescriptionError, MicrokitError
from sporadic.microkit.channels import ChannelReader
from sporadic.microkit.checks import SystemChecks
from sporadic.microkit.domain_schedule import DomainScheduleReader
from sporadic.microkit.memory_regions import MemoryReader
from sporadic.microkit.model import (
    MAX_PDS,
    MONITOR_PD_NAME,
    USER_TOP,
    IoAddressSpace,
    MemoryRegion,
    MicrokitSystem,
    ProtectionDomain,
)
from sporadic.microkit.positions import Node, read_xml
from sporadic.microkit.protection_domains import ProtectionDomainReader


class _Loader(
    ProtectionDomainReader, MemoryReader, ChannelReader, DomainScheduleReader, SystemChecks
):
    """One SDF read top-down: each element by its reader, then the whole-system checks."""

    def __init__(self, path: str, cores: int | None) -> None:
        super().__init__(path, cores)
        self.domains = None
        self.domains_node: Node | None = None

    def load(self, text: str) -> MicrokitSystem:
        root = read_xml(text, self.path)
        if root.tag != "system":
            raise self.error(root, f"invalid XML element '{root.tag}': the root must be 'system'")
        self.check_attrs(root, ())
        entries: list[tuple[ProtectionDomain, set[str], Node]] = []
        mrs: list[MemoryRegion] = []
        ios: list[IoAddressSpace] = []
        channel_nodes: list[Node] = []
        for child in root.children:
            if child.tag == "protection_domain":
                entries.extend(self.protection_domain(child, None))
            elif child.tag == "channel":
                channel_nodes.append(child)
            elif child.tag == "memory_region":
                mrs.append(self.memory_region(child))
            elif child.tag == "io_address_space":
                ios.append(self.io_address_space(child, ios))
            elif child.tag == "virtual_machine":
                raise self.error(child, "virtual machine must be a child of a protection domain")
            elif child.tag == "domains":
                if self.domains_node is not None:
                    raise self.value_error(child, "domains must only be specified once")
                self.domains = self.domain_schedule(child)
                self.domains_node = child
            else:
                raise self.error(child, f"invalid XML element '{child.tag}'")

        pds = [pd for pd, _, _ in entries]
        if not pds:
            raise self.error(root, "at least one protection domain must be defined")
        if len(pds) > MAX_PDS:
            raise self.error(
                root, f"too many protection domains ({len(pds)}) defined. Maximum is {MAX_PDS}."
            )
        seen: set[str] = set()
        for pd, _, node in entries:
            if pd.name in seen:
                raise self.error(node, f"duplicate protection domain name '{pd.name}'.")
            seen.add(pd.name)
            if pd.name == MONITOR_PD_NAME:
                raise self.error(
                    node, "the PD name 'monitor' is reserved for the Microkit Monitor."
                )
            if self.has_domains and pd.domain is None:
                raise self.error(
                    node, "Missing required attribute 'domain' on element 'protection_domain'"
                )
        by_name = {pd.name: pd for pd in pds}
        symbols = {pd.name: syms for pd, syms, _ in entries}

        channels = [self.channel(node, by_name, symbols) for node in channel_nodes]
        for pd, _, _ in entries:
            for cap in pd.cspace:
                if cap.pd not in by_name:
                    raise MicrokitError(
                        self.path, cap.line, cap.column, f"unknown PD name '{cap.pd}'"
                    )

        mr_by_name: dict[str, MemoryRegion] = {}
        for mr in mrs:
            if mr.name in mr_by_name:
                raise MicrokitError(
                    self.path, mr.line, mr.column, f"duplicate memory region name '{mr.name}'."
                )
            mr_by_name[mr.name] = mr
        vm_names: set[str] = set()
        for pd in pds:
            vm = pd.virtual_machine
            if vm is not None:
                if vm.name in vm_names:
                    raise MicrokitError(
                        self.path,
                        vm.line,
                        vm.column,
                        f"duplicate virtual machine name '{vm.name}'.",
                    )
                vm_names.add(vm.name)

        irq_numbers: set[int] = set()
        for pd in pds:
            for irq in pd.irqs:
                if irq.irq in irq_numbers:
                    raise MicrokitError(
                        self.path,
                        irq.line,
                        irq.column,
                        f"duplicate irq: {irq.irq} in protection domain: '{pd.name}'",
                    )
                irq_numbers.add(irq.irq)

        channels = self.convert_legacy_pp(pds, entries, channels)
        self.check_channel_ids(pds, by_name, channels)
        self.check_ioports(pds)

        for pd in pds:
            where = f"protection domain '{pd.name}'"
            self.check_maps(mr_by_name, pd.maps, where, USER_TOP - pd.stack_size, "map")
            if pd.virtual_machine is not None:
                vm = pd.virtual_machine
                where = f"virtual machine '{vm.name}'"
                self.check_maps(mr_by_name, vm.maps, where, USER_TOP, "map")
        self.check_io_maps(mr_by_name, ios)
        self.check_cap_slots(pds)
        self.check_phys_overlap(mrs)

        used = {m.mr for pd in pds for m in pd.maps}
        used |= {m.mr for pd in pds if pd.virtual_machine for m in pd.virtual_machine.maps}
        io_used = {m.mr for io in ios for m in io.iomaps}
        for mr in mrs:
            if mr.name not in used and mr.name not in io_used:
                self.warn(mr.line, mr.column, f"unused memory region '{mr.name}'")
        mrs = [self.promote_page_size(mr, pds, io_used) for mr in mrs]
        self.check_setvar_regions(pds, mr_by_name)

        return MicrokitSystem(
            path=self.path,
            protection_domains=tuple(pds),
            channels=tuple(channels),
            memory_regions=tuple(mrs),
            domains=self.domains,
            io_address_spaces=tuple(ios),
            warnings=tuple(self.warnings),
        )


# ---------------------------------------------------------------------------- public API


def parse_microkit(text: str, path: str, *, cores: int | None = None) -> MicrokitSystem:
    """Parse and check an SDF given as text; ``path`` is used in messages and for prefill files.

    ``cores`` is the core count of the target build; when given, ``cpu`` attributes are checked
    against it and ``<domains>`` requires a single core, as in Microkit.
    """
    return _Loader(path, cores).load(text)


def load_microkit(path: str | Path, *, cores: int | None = None) -> MicrokitSystem:
    """Load and check a ``.system`` file (read as UTF-8, like Microkit; a regular file of at
    most 16 MiB)."""
    try:
        text = read_capped(path, "a system file")
    except DescriptionError as e:  # unreadable, not a regular file, too large, not UTF-8
        raise MicrokitError(str(path), None, None, e.message) from None
    return parse_microkit(text, str(path), cores=cores)


__all__ = ["load_microkit", "parse_microkit"]
