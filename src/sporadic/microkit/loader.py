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
  converted to the 2.0 form with a warning (see ``_convert_legacy_pp``).
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

import os
from dataclasses import replace
from pathlib import Path

from sporadic.errors import MicrokitError
from sporadic.microkit.model import (
    BUDGET_DEFAULT_US,
    CAP_MAP_MAX_SLOT,
    CAPDL_MAX_IOVA,
    LARGE_PAGE,
    MAX_PDS,
    MONITOR_PD_NAME,
    NUM_DOMAIN_SCHEDULES,
    NUM_DOMAINS,
    PAGE_SIZES,
    PCI_BUS_MAX,
    PCI_DEV_MAX,
    PCI_FUNC_MAX,
    PD_DEFAULT_STACK_SIZE,
    PD_MAX_ID,
    PD_MAX_PRIORITY,
    PD_MAX_STACK_SIZE,
    PD_MIN_STACK_SIZE,
    PREFILL_BOOTINFO,
    SMALL_PAGE,
    US,
    USER_TOP,
    VCPU_MAX_ID,
    X86_IRQ_VECTOR_MAX,
    CapMap,
    Channel,
    ChannelEnd,
    DomainSchedule,
    IoAddressSpace,
    IoMap,
    IoPort,
    Irq,
    Map,
    MemoryRegion,
    MicrokitDomains,
    MicrokitSystem,
    ProtectionDomain,
    SetVar,
    Vcpu,
    VirtualMachine,
)
from sporadic.microkit.numbers import parse_number, rust_int, rust_uint
from sporadic.microkit.xml import Node, read_xml

# ---------------------------------------------------------------------------- the checker


# ``pp`` is the legacy (<= 1.4.1) attribute; ``id`` and ``setvar_id`` are added for children.
_PD_ATTRS = (
    "name",
    "priority",
    "budget",
    "period",
    "passive",
    "stack_size",
    "smc",
    "cpu",
    "domain",
    "fpu",
    "pp",
)


class _Loader:
    def __init__(self, path: str, cores: int | None) -> None:
        self.path = path
        self.cores = cores
        self.warnings: list[str] = []
        self.domains: MicrokitDomains | None = None
        self.domains_node: Node | None = None

    # -- errors and attributes ------------------------------------------------------------------

    def error(self, node: Node, message: str) -> MicrokitError:
        return MicrokitError(self.path, node.line, node.column, message)

    def value_error(self, node: Node, message: str) -> MicrokitError:
        return self.error(node, f"{message} on element '{node.tag}'")

    def check_attrs(self, node: Node, allowed: tuple[str, ...]) -> None:
        for name in node.attrs:
            if name not in allowed:
                raise self.value_error(node, f"invalid attribute '{name}'")

    def req(self, node: Node, name: str) -> str:
        if name not in node.attrs:
            raise self.error(node, f"Missing required attribute '{name}' on element '{node.tag}'")
        return node.attrs[name]

    def num(self, node: Node, name: str, default: int | None = None, bits: int = 64) -> int | None:
        if name not in node.attrs:
            return default
        s = node.attrs[name]
        try:
            return parse_number(s, bits)
        except ValueError as e:
            raise self.error(
                node, f"failed to parse integer '{s}' on element '{node.tag}': {e}"
            ) from None

    def req_num(self, node: Node, name: str, bits: int = 64) -> int:
        self.req(node, name)
        value = self.num(node, name, bits=bits)
        assert value is not None
        return value

    def plain_int(self, node: Node, name: str, unsigned: bool = False) -> int:
        """An attribute Microkit reads with plain integer parsing (no hex, no ``_``)."""
        s = self.req(node, name)
        value = rust_uint(s, 10) if unsigned else rust_int(s)
        if isinstance(value, str):
            raise self.error(
                node, f"failed to parse integer '{s}' on element '{node.tag}': {value}"
            )
        return value

    def boolean(self, node: Node, name: str, default: bool) -> bool:
        if name not in node.attrs:
            return default
        s = node.attrs[name]
        if s not in ("true", "false"):
            raise self.value_error(node, f"{name} must be 'true' or 'false'")
        return s == "true"

    def add_setvar(self, symbols: set[str], symbol: str | None, node: Node) -> None:
        if symbol is None:
            return
        if symbol in symbols:
            raise self.value_error(node, f"setvar on symbol '{symbol}' already exists")
        symbols.add(symbol)

    def check_cpu(self, node: Node, cpu: int) -> None:
        if self.cores is not None and cpu >= self.cores:
            raise self.value_error(node, f"cpu core must be less than {self.cores}, got {cpu}")

    def channel_id(self, node: Node) -> int:
        value = self.plain_int(node, "id")
        if value > PD_MAX_ID:
            raise self.value_error(node, f"id must be < {PD_MAX_ID + 1}")
        if value < 0:
            raise self.value_error(node, "id must be >= 0")
        return value

    def budget_period(self, node: Node) -> tuple[int, int]:
        """Budget and period (us) with Microkit's defaults and check."""
        budget = self.num(node, "budget", BUDGET_DEFAULT_US)
        period = self.num(node, "period", budget)
        assert budget is not None and period is not None
        if budget > period:
            raise self.value_error(
                node, f"budget ({budget}) must be less than, or equal to, period ({period})"
            )
        return budget, period

    # -- document ---------------------------------------------------------------------------

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

    def warn(self, line: int, column: int, message: str) -> None:
        self.warnings.append(f"{self.path}:{line}:{column}: {message}")

    # -- protection domains -------------------------------------------------------------------

    def protection_domain(
        self, node: Node, parent: str | None
    ) -> list[tuple[ProtectionDomain, set[str], Node]]:
        """The PD and its descendants, depth-first, each with its setvar symbols."""
        is_child = parent is not None
        self.check_attrs(node, _PD_ATTRS + (("id", "setvar_id") if is_child else ()))
        name = self.req(node, "name")
        child_id = self.req_num(node, "id") if is_child else None
        setvar_id = node.attrs.get("setvar_id") if is_child else None
        budget, period = self.budget_period(node)
        passive = self.boolean(node, "passive", False)
        legacy_pp = self.boolean(node, "pp", False)
        stack_size = self.num(node, "stack_size", PD_DEFAULT_STACK_SIZE)
        assert stack_size is not None
        smc = self.boolean(node, "smc", False)
        cpu = self.num(node, "cpu", 0, bits=8)
        assert cpu is not None
        self.check_cpu(node, cpu)
        domain, domain_id = self.pd_domain(node)
        if not PD_MIN_STACK_SIZE <= stack_size <= PD_MAX_STACK_SIZE:
            raise self.value_error(
                node,
                f"stack size must be between {PD_MIN_STACK_SIZE:#x} bytes and "
                f"{PD_MAX_STACK_SIZE:#x} bytes",
            )
        if stack_size % SMALL_PAGE:
            raise self.value_error(
                node, f"stack size must be aligned to the smallest page size, {SMALL_PAGE} bytes"
            )
        priority = self.num(node, "priority", 0)
        assert priority is not None
        if priority > PD_MAX_PRIORITY:
            raise self.value_error(node, f"priority must be between 0 and {PD_MAX_PRIORITY}")
        fpu = self.boolean(node, "fpu", True)

        symbols: set[str] = set()
        program_image: str | None = None
        program_image_for_symbols: str | None = None
        maps: list[Map] = []
        irqs: list[Irq] = []
        setvars: list[SetVar] = []
        ioports: list[IoPort] = []
        cspace: tuple[CapMap, ...] | None = None
        vm: VirtualMachine | None = None
        children: list[tuple[Node, list[tuple[ProtectionDomain, set[str], Node]]]] = []
        for child in node.children:
            tag = child.tag
            if tag == "program_image":
                self.check_attrs(child, ("path", "path_for_symbols"))
                if program_image is not None:
                    raise self.value_error(node, "program_image must only be specified once")
                program_image = self.req(child, "path")
                program_image_for_symbols = child.attrs.get("path_for_symbols")
            elif tag == "map":
                m = self.map(child, True, USER_TOP - stack_size)
                for symbol in (m.setvar_vaddr, m.setvar_size, m.setvar_prefill_size):
                    self.add_setvar(symbols, symbol, child)
                maps.append(m)
            elif tag == "irq":
                irqs.append(self.irq(child, symbols))
            elif tag == "ioport":
                ioports.append(self.ioport(child, symbols))
            elif tag == "setvar":
                self.check_attrs(child, ("symbol", "region_paddr"))
                symbol = self.req(child, "symbol")
                region = self.req(child, "region_paddr")
                self.add_setvar(symbols, symbol, child)
                setvars.append(SetVar(symbol, region, child.line, child.column))
            elif tag == "protection_domain":
                sub = self.protection_domain(child, name)
                self.add_setvar(symbols, sub[0][0].setvar_id, child)
                children.append((child, sub))
            elif tag == "virtual_machine":
                if vm is not None:
                    raise self.value_error(node, "virtual_machine must only be specified once")
                vm = self.virtual_machine(child)
                for vcpu, vcpu_node in zip(vm.vcpus, _tagged(child, "vcpu"), strict=True):
                    self.add_setvar(symbols, vcpu.setvar_id, vcpu_node)
            elif tag == "cspace":
                if cspace is not None:
                    raise self.value_error(node, "cspace must only be specified once")
                cspace = self.cspace(child)
            else:
                raise self.error(child, f"invalid XML element '{tag}'")
        if program_image is None:
            raise self.error(
                node, f"missing 'program_image' element on protection_domain: '{name}'"
            )

        ids: set[int] = set()
        vcpu_ids = {v.id for v in vm.vcpus} if vm else set()
        for child, sub in children:
            cid = sub[0][0].child_id
            assert cid is not None
            if cid in ids:
                raise self.error(child, f"duplicate id: {cid} in protection domain: '{name}'")
            if cid in vcpu_ids:
                raise self.error(
                    child,
                    f"duplicate id: {cid} clashes with virtual machine vcpu id in protection "
                    f"domain: '{name}'",
                )
            ids.add(cid)

        pd = ProtectionDomain(
            name=name,
            priority=priority,
            budget=budget * US,
            period=period * US,
            passive=passive,
            stack_size=stack_size,
            cpu=cpu,
            smc=smc,
            fpu=fpu,
            domain=domain,
            child_id=child_id,
            parent=parent,
            program_image=program_image,
            maps=tuple(maps),
            irqs=tuple(irqs),
            setvars=tuple(setvars),
            ioports=tuple(ioports),
            cspace=cspace or (),
            virtual_machine=vm,
            line=node.line,
            column=node.column,
            domain_id=domain_id,
            program_image_for_symbols=program_image_for_symbols,
            setvar_id=setvar_id,
            legacy_pp=legacy_pp,
        )
        out = [(pd, symbols, node)]
        for _, sub in children:
            out.extend(sub)
        return out

    @property
    def has_domains(self) -> bool:
        return self.domains is not None and bool(self.domains.domains)

    def pd_domain(self, node: Node) -> tuple[str | None, int | None]:
        if self.has_domains:
            assert self.domains is not None
            name = self.req(node, "domain")
            if name not in self.domains.domains:
                raise self.value_error(node, f"domain '{name}' not declared in <domains>")
            return name, self.domains.domains[name]
        if "domain" in node.attrs:
            raise self.value_error(
                node,
                f"Specifying a domain '{node.attrs['domain']}' without declaring a domain "
                "schedule is not allowed",
            )
        return None, None

    def map(self, node: Node, allow_setvar: bool, max_vaddr: int) -> Map:
        attrs = ("mr", "vaddr", "perms", "cached")
        if allow_setvar:
            attrs += ("setvar_vaddr", "setvar_size", "setvar_prefill_size")
        self.check_attrs(node, attrs)
        mr = self.req(node, "mr")
        vaddr = self.req_num(node, "vaddr")
        if vaddr >= max_vaddr:
            raise self.value_error(node, f"vaddr ({vaddr:#x}) must be less than {max_vaddr:#x}")
        perms = node.attrs.get("perms", "rw")
        if any(c not in "rwx" for c in perms):
            raise self.value_error(node, "perms must only be a combination of 'r', 'w', and 'x'")
        if "w" in perms and "r" not in perms:
            raise self.value_error(
                node, "perms must not be 'w', write-only mappings are not allowed"
            )
        return Map(
            mr=mr,
            vaddr=vaddr,
            perms="".join(c for c in "rwx" if c in perms),
            cached=self.boolean(node, "cached", True),
            setvar_vaddr=node.attrs.get("setvar_vaddr"),
            setvar_size=node.attrs.get("setvar_size"),
            setvar_prefill_size=node.attrs.get("setvar_prefill_size"),
            line=node.line,
            column=node.column,
        )

    def irq(self, node: Node, symbols: set[str]) -> Irq:
        cid = self.channel_id(node)
        setvar_id = node.attrs.get("setvar_id")
        self.add_setvar(symbols, setvar_id, node)
        pos = {"setvar_id": setvar_id, "line": node.line, "column": node.column}
        if "irq" in node.attrs:
            self.check_attrs(node, ("irq", "id", "setvar_id", "trigger"))
            number = self.plain_int(node, "irq", unsigned=True)
            trigger = node.attrs.get("trigger", "level")
            if trigger not in ("level", "edge"):
                raise self.value_error(node, "trigger must be either 'level' or 'edge'")
            return Irq(irq=number, id=cid, trigger=trigger, kind="irq", **pos)
        if "pin" in node.attrs:
            allowed = ("id", "setvar_id", "ioapic", "pin", "trigger", "polarity", "vector")
            self.check_attrs(node, allowed)
            ioapic = self.plain_int(node, "ioapic") if "ioapic" in node.attrs else 0
            if ioapic < 0:
                raise self.value_error(node, "ioapic must be >= 0")
            pin = self.plain_int(node, "pin")
            if pin < 0:
                raise self.value_error(node, "pin must be >= 0")
            trigger = node.attrs.get("trigger", "level")
            if trigger not in ("level", "edge"):
                raise self.value_error(node, "trigger must be either 'level' or 'edge'")
            polarity = node.attrs.get("polarity", "high")
            if polarity not in ("low", "high"):
                raise self.value_error(node, "polarity must be either 'low' or 'high'")
            vector = self.vector(node)
            return Irq(
                irq=vector,
                id=cid,
                trigger=trigger,
                kind="ioapic",
                ioapic=ioapic,
                pin=pin,
                polarity=polarity,
                vector=vector,
                **pos,
            )
        if "pcidev" in node.attrs:
            self.check_attrs(node, ("id", "setvar_id", "pcidev", "handle", "vector"))
            pcidev = self.pci_device(node.attrs["pcidev"])
            if pcidev.startswith("#"):
                raise self.value_error(node, pcidev[1:])
            handle = self.plain_int(node, "handle")
            if handle < 0:
                raise self.value_error(node, "handle must be >= 0")
            vector = self.vector(node)
            return Irq(
                irq=vector,
                id=cid,
                trigger=None,
                kind="msi",
                vector=vector,
                pcidev=pcidev,
                handle=handle,
                **pos,
            )
        self.req(node, "irq")
        raise AssertionError("unreachable")  # pragma: no cover

    def vector(self, node: Node) -> int:
        vector = self.plain_int(node, "vector")
        if not 0 <= vector <= X86_IRQ_VECTOR_MAX:
            raise self.value_error(node, f"vector must be within [0..{X86_IRQ_VECTOR_MAX}]")
        return vector

    @staticmethod
    def pci_device(s: str) -> str:
        """``bb:dd.f`` normalised, or ``#`` + Microkit's parse error."""
        if ":" not in s or "." not in s.split(":", 1)[1]:
            return "#expected PCI address in bus:device.function form"
        bus_s, rest = s.split(":", 1)
        dev_s, func_s = rest.split(".", 1)
        parts = []
        for text, what, top in (
            (bus_s, "bus", PCI_BUS_MAX),
            (dev_s, "device", PCI_DEV_MAX),
            (func_s, "function", PCI_FUNC_MAX),
        ):
            value = rust_int(text.strip(), 16)
            if isinstance(value, str):
                return f"#failed to parse PCI {what}"
            if not 0 <= value <= top:
                return f"#PCI {what} must be within [0..{top}]"
            parts.append(value)
        return f"{parts[0]:02x}:{parts[1]:02x}.{parts[2]:x}"

    def ioport(self, node: Node, symbols: set[str]) -> IoPort:
        self.check_attrs(node, ("id", "setvar_id", "setvar_addr", "addr", "size"))
        cid = self.channel_id(node)
        setvar_id = node.attrs.get("setvar_id")
        self.add_setvar(symbols, setvar_id, node)
        addr = self.req_num(node, "addr")
        setvar_addr = node.attrs.get("setvar_addr")
        self.add_setvar(symbols, setvar_addr, node)
        size = self.plain_int(node, "size")
        if size <= 0:
            raise self.value_error(node, "size must be > 0")
        return IoPort(cid, addr, size, setvar_id, setvar_addr, node.line, node.column)

    def cspace(self, node: Node) -> tuple[CapMap, ...]:
        self.check_attrs(node, ())
        caps = []
        for child in node.children:
            kind = {"cap_tcb": "tcb", "cap_sc": "sc", "cap_vspace": "vspace"}.get(child.tag)
            if kind is None:
                if child.tag.startswith("cap_"):
                    raise self.error(child, f"Cap type: '{child.tag[4:]}' is not supported")
                raise self.error(
                    child, f"Element '{child.tag}' is not supported in a <cspace> element"
                )
            self.check_attrs(child, ("slot", "pd"))
            pd = self.req(child, "pd")
            slot = self.req_num(child, "slot")
            if slot == 0:
                raise self.value_error(
                    child, "The destination slot 0 has been reserved for Microkit CNode"
                )
            if slot >= CAP_MAP_MAX_SLOT:
                raise self.value_error(
                    child, f"There are only {CAP_MAP_MAX_SLOT} destination cspace slots available."
                )
            caps.append(CapMap(kind, pd, slot, child.line, child.column))
        return tuple(caps)

    def virtual_machine(self, node: Node) -> VirtualMachine:
        self.check_attrs(node, ("name", "budget", "period", "priority"))
        name = self.req(node, "name")
        budget, period = self.budget_period(node)
        priority = self.num(node, "priority", 0, bits=8)
        assert priority is not None
        if priority > PD_MAX_PRIORITY:
            raise self.value_error(node, f"priority must be between 0 and {PD_MAX_PRIORITY}")
        vcpus: list[Vcpu] = []
        maps: list[Map] = []
        for child in node.children:
            if child.tag == "vcpu":
                self.check_attrs(child, ("id", "setvar_id", "cpu"))
                vid = self.plain_int(child, "id", unsigned=True)
                if vid > VCPU_MAX_ID:
                    raise self.value_error(child, f"id must be < {VCPU_MAX_ID + 1}")
                if any(v.id == vid for v in vcpus):
                    raise self.error(child, f"duplicate vcpu id {vid} in virtual machine '{name}'")
                cpu = self.num(child, "cpu", None, bits=8)
                if cpu is not None:
                    self.check_cpu(child, cpu)
                setvar_id = child.attrs.get("setvar_id")
                vcpus.append(Vcpu(vid, cpu, setvar_id, child.line, child.column))
            elif child.tag == "map":
                maps.append(self.map(child, False, USER_TOP))
            else:
                raise self.error(child, f"invalid XML element '{child.tag}'")
        if not vcpus:
            raise self.error(node, f"missing 'vcpu' element on virtual_machine: '{name}'")
        return VirtualMachine(
            name=name,
            priority=priority,
            budget=budget * US,
            period=period * US,
            vcpus=tuple(vcpus),
            maps=tuple(maps),
            line=node.line,
            column=node.column,
        )

    # -- memory regions -----------------------------------------------------------------------

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

    # -- channels -----------------------------------------------------------------------------

    def channel(
        self, node: Node, by_name: dict[str, ProtectionDomain], symbols: dict[str, set[str]]
    ) -> Channel:
        self.check_attrs(node, ())
        ends: list[ChannelEnd] = []
        for child in node.children:
            if child.tag != "end":
                raise self.error(child, f"invalid XML element '{child.tag}'")
            self.check_attrs(child, ("pd", "id", "pp", "notify", "setvar_id"))
            pd = self.req(child, "pd")
            cid = self.channel_id(child)
            notify = self.boolean(child, "notify", True)
            pp = self.boolean(child, "pp", False)
            if pd not in by_name:
                raise self.value_error(child, f"invalid PD name '{pd}'")
            setvar_id = child.attrs.get("setvar_id")
            ends.append(ChannelEnd(pd, cid, pp, notify, setvar_id, child.line, child.column))
        if len(ends) != 2:
            raise self.value_error(node, "exactly two end elements must be specified")
        a, b = ends
        if a.pp and b.pp:
            raise self.value_error(node, "cannot ppc bidirectionally")
        for end in (a, b):
            self.add_setvar(symbols[end.pd], end.setvar_id, node)
        return Channel((a, b), node.line, node.column)

    def convert_legacy_pp(
        self,
        pds: list[ProtectionDomain],
        entries: list[tuple[ProtectionDomain, set[str], Node]],
        channels: list[Channel],
    ) -> list[Channel]:
        """Microkit <= 1.4.1 put ``pp="true"`` on the PD that *offers* protected procedures.

        Microkit 2.0 moved it to the end of the *caller*. Converted as the 2.0 upgrade note
        says: on every channel touching such a PD, the other end becomes a caller when its PD has
        a strictly lower priority (so the converted system obeys the strict priority rule).
        """
        prio = {pd.name: pd.priority for pd in pds}
        callers: dict[str, list[str]] = {pd.name: [] for pd in pds if pd.legacy_pp}
        out = []
        for ch in channels:
            a, b = ch.ends
            if a.pd in callers and prio[b.pd] < prio[a.pd] and not b.pp:
                b = replace(b, pp=True)
                callers[a.pd].append(f"'{b.pd}' (id {b.id})")
            if b.pd in callers and prio[a.pd] < prio[b.pd] and not a.pp:
                a = replace(a, pp=True)
                callers[b.pd].append(f"'{a.pd}' (id {a.id})")
            out.append(replace(ch, ends=(a, b)))
        for pd, _, node in entries:
            if pd.legacy_pp:
                done = (
                    'pp="true" set on the channel ends of ' + ", ".join(callers[pd.name])
                    if callers[pd.name]
                    else "no channel end from a lower-priority protection domain, so no caller"
                )
                self.warn(
                    node.line,
                    node.column,
                    f"legacy attribute pp=\"true\" on protection domain '{pd.name}' "
                    f"(Microkit <= 1.4.1) converted: {done}",
                )
        return out

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

    # -- maps ---------------------------------------------------------------------------------

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

    # -- domains and IOMMU --------------------------------------------------------------------

    def domain_schedule(self, node: Node) -> MicrokitDomains:
        self.check_attrs(node, ())
        if self.cores is not None and self.cores != 1:
            raise self.error(
                node, "The domain scheduler is not supported in multicore builds of seL4"
            )
        names: dict[str, int | None] = {}
        ids: dict[int, str] = {}
        schedule_node: Node | None = None
        for child in node.children:
            if child.tag == "domain":
                self.check_attrs(child, ("name", "id"))
                name = self.req(child, "name")
                did = self.num(child, "id")
                if did is not None and did >= NUM_DOMAINS:
                    raise self.value_error(
                        child,
                        f"domain id {did} should be less than the configured KernelNumDomains "
                        f"value of {NUM_DOMAINS}",
                    )
                if name in names:
                    raise self.value_error(
                        child,
                        f"Each <domain>'s name element must be unique, found existing domain "
                        f"'{name}' with id '{names[name]}'",
                    )
                names[name] = did
                if did is not None:
                    if did in ids:
                        raise self.value_error(
                            child,
                            f"Each <domain>'s id element must be unique, found existing domain "
                            f"'{ids[did]}' with id '{did}'",
                        )
                    ids[did] = name
            elif child.tag == "domain_schedule":
                if schedule_node is not None:
                    raise self.value_error(
                        child, "The <domain_schedule> element can only appear once"
                    )
                schedule_node = child
            else:
                raise self.error(child, f"invalid XML element as child of <domains> '{child.tag}'")
        if schedule_node is None:
            raise self.value_error(node, "The <domain_schedule> element must appear once")
        # Microkit gives free ids in the order of its BTreeMap: sorted by name.
        for name in sorted(names):
            if names[name] is None:
                free = next((i for i in range(NUM_DOMAINS) if i not in ids), None)
                if free is None:
                    raise self.value_error(node, f"Number of domains exceeds {NUM_DOMAINS}")
                names[name] = free
                ids[free] = name
        domains = {name: did for name, did in names.items() if did is not None}

        sched = schedule_node
        self.check_attrs(sched, ("index_shift", "start_index"))
        start_index = self.num(sched, "start_index", 0)
        index_shift = self.num(sched, "index_shift")
        assert start_index is not None
        entries: list[tuple[int, int]] = []
        in_ticks: list[bool] = []
        for child in sched.children:
            if child.tag == "schedule_entry":
                entry, ticks = self.schedule_entry(child, domains)
                entries.append(entry)
                in_ticks.append(ticks)
            elif child.tag == "schedule_end_marker":
                self.check_attrs(child, ())
                entries.append((0, 0))
                in_ticks.append(False)
            else:
                raise self.error(
                    child, f"invalid XML element as child of <domain_schedule> '{child.tag}'"
                )
        if len(entries) >= NUM_DOMAIN_SCHEDULES:
            raise self.error(
                sched,
                f"More than configured KernelNumDomainSchedules {NUM_DOMAIN_SCHEDULES} number "
                "of <schedule_entry> elements found",
            )
        if start_index >= len(entries):
            raise self.value_error(
                sched,
                f"schedule_start_index '{start_index}' is greater than the length of the "
                f"schedule '{len(entries)}'",
            )
        if index_shift is not None and index_shift + len(entries) >= NUM_DOMAIN_SCHEDULES:
            raise self.value_error(
                sched,
                f"schedule_index_shift '{index_shift}' on top of the schedule length "
                f"'{len(entries)}' would exceed the configured KernelNumDomainSchedules "
                f"{NUM_DOMAIN_SCHEDULES}",
            )
        return MicrokitDomains(
            domains=domains,
            schedule=tuple(entries),
            start_index=start_index,
            index_shift=index_shift,
            in_ticks=tuple(in_ticks),
            line=node.line,
            column=node.column,
        )

    def schedule_entry(self, node: Node, domains: dict[str, int]) -> tuple[tuple[int, int], bool]:
        self.check_attrs(node, ("domain", "duration"))
        name = self.req(node, "domain")
        duration = self.req(node, "duration")
        if name not in domains:
            raise self.value_error(node, f"domain '{name}' does not exist")
        if " " not in duration:
            raise self.value_error(
                node,
                f"The duration '{duration}' must contain a value and a unit, e.g. '1000 us'",
            )
        raw, unit = duration.split(" ", 1)
        try:
            value = parse_number(raw)
        except ValueError as e:
            raise self.error(
                node, f"failed to parse integer '{raw}' on element '{node.tag}': {e}"
            ) from None
        if value == 0:
            raise self.value_error(node, f"The duration '{duration}' must be non-zero")
        if unit == "us":
            return (domains[name], value * US), False
        if unit == "ticks":
            return (domains[name], value), True
        raise self.value_error(node, f"The duration '{duration}' must be in either 'ticks' or 'us'")

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


def _tagged(node: Node, tag: str) -> list[Node]:
    return [c for c in node.children if c.tag == tag]


# ---------------------------------------------------------------------------- public API


def parse_microkit(text: str, path: str, *, cores: int | None = None) -> MicrokitSystem:
    """Parse and check an SDF given as text; ``path`` is used in messages and for prefill files.

    ``cores`` is the core count of the target build; when given, ``cpu`` attributes are checked
    against it and ``<domains>`` requires a single core, as in Microkit.
    """
    return _Loader(path, cores).load(text)


def load_microkit(path: str | Path, *, cores: int | None = None) -> MicrokitSystem:
    """Load and check a ``.system`` file (read as UTF-8, like Microkit)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise MicrokitError(str(path), None, None, f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise MicrokitError(str(path), None, None, "not a UTF-8 text file") from None
    return parse_microkit(text, str(path), cores=cores)


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
    "MicrokitError",
    "MicrokitSystem",
    "ProtectionDomain",
    "SetVar",
    "Vcpu",
    "VirtualMachine",
    "load_microkit",
    "parse_microkit",
    "parse_number",
]
