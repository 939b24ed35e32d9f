"""``<domains>``: domain names and ids and the kernel's domain schedule."""

from __future__ import annotations

from sporadic.microkit.attributes import AttributeReader
from sporadic.microkit.model import NUM_DOMAIN_SCHEDULES, NUM_DOMAINS, US, MicrokitDomains
from sporadic.microkit.positions import Node
from sporadic.microkit.rust_numbers import parse_number


class DomainScheduleReader(AttributeReader):
    """Reads ``<domains>`` with its ``<domain_schedule>``, giving free ids as Microkit does."""

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
