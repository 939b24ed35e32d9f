"""What a protection domain holds besides child PDs: maps, IRQs, I/O ports, cspace, a guest."""

from __future__ import annotations

from sporadic.microkit.attributes import AttributeReader
from sporadic.microkit.model import (
    CAP_MAP_MAX_SLOT,
    PD_MAX_PRIORITY,
    US,
    USER_TOP,
    VCPU_MAX_ID,
    X86_IRQ_VECTOR_MAX,
    CapMap,
    IoPort,
    Irq,
    Map,
    Vcpu,
    VirtualMachine,
)
from sporadic.microkit.positions import Node


class ElementReader(AttributeReader):
    """Reads a PD's ``<map>``, ``<irq>``, ``<ioport>``, ``<cspace>`` and ``<virtual_machine>``."""

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
