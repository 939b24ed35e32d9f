"""``<channel>`` elements, and the conversion of the legacy ``pp`` attribute onto their ends."""

from __future__ import annotations

from dataclasses import replace

from sporadic.microkit.attributes import AttributeReader
from sporadic.microkit.model import Channel, ChannelEnd, ProtectionDomain
from sporadic.microkit.positions import Node


class ChannelReader(AttributeReader):
    """Reads channels once every PD is known, and converts Microkit <= 1.4.1 ``pp``."""

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
