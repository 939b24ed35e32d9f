"""``<protection_domain>`` elements, their children and their domain."""

from __future__ import annotations

from sporadic.microkit.model import (
    PD_DEFAULT_STACK_SIZE,
    PD_MAX_PRIORITY,
    PD_MAX_STACK_SIZE,
    PD_MIN_STACK_SIZE,
    SMALL_PAGE,
    US,
    USER_TOP,
    CapMap,
    IoPort,
    Irq,
    Map,
    MicrokitDomains,
    ProtectionDomain,
    SetVar,
    VirtualMachine,
)
from sporadic.microkit.pd_elements import ElementReader
from sporadic.microkit.positions import Node

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


class ProtectionDomainReader(ElementReader):
    """Reads a PD and its descendants; ``domains`` is the ``<domains>`` the loader has read."""

    domains: MicrokitDomains | None

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


def _tagged(node: Node, tag: str) -> list[Node]:
    return [c for c in node.children if c.tag == tag]
