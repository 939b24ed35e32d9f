"""The Microkit SDF loader: the shipped examples load with the values Microkit gives them, the
invalid ones fail with Microkit's wording at the right line:column, and each check of the
reference (docs/microkit.md) has a small case of its own."""

from __future__ import annotations

import json
from pathlib import Path

import msgpack
import pytest

from sporadic.microkit import (
    MicrokitError,
    MicrokitSystem,
    load_microkit,
    parse_microkit,
    parse_number,
)
from tests.helpers import ROOT

EXAMPLES = ROOT / "examples" / "microkit"
VALID = sorted(EXAMPLES.glob("*.system"))
INVALID = EXAMPLES / "invalid"


def pd(name: str, inner: str = "", **attrs: str) -> str:
    """One protection domain element on one line."""
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return (
        f'<protection_domain name="{name}"{extra}><program_image path="{name}.elf"/>'
        f"{inner}</protection_domain>"
    )


def parse(*lines: str) -> MicrokitSystem:
    """``lines`` inside ``<system>``: the first one is on line 2 of the file."""
    return parse_microkit("<system>\n" + "\n".join(lines) + "\n</system>\n", "t.system")


def fails(*lines: str, text: str, at: tuple[int, int] | None = None) -> MicrokitError:
    with pytest.raises(MicrokitError) as info:
        parse(*lines)
    err = info.value
    assert text in err.message, err.message
    assert str(err).startswith(f"t.system:{err.line}:{err.column}: ")
    if at is not None:
        assert (err.line, err.column) == at, str(err)
    return err


# ---------------------------------------------------------------------------- shipped examples


def test_examples_are_shipped() -> None:
    names = {p.name for p in VALID}
    assert len(names) == 10 and "microkit_hello.system" in names
    assert len(list(INVALID.glob("*.system"))) == 5
    assert (EXAMPLES / "PROVENANCE.md").is_file()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_every_valid_example_loads_and_serialises(path: Path) -> None:
    system = load_microkit(path)
    assert system.path == str(path)
    assert system.protection_domains
    d = system.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert msgpack.unpackb(msgpack.packb(d), strict_map_key=False) == d


def test_hello_gets_every_default() -> None:
    (p,) = load_microkit(EXAMPLES / "microkit_hello.system").protection_domains
    assert (p.name, p.priority, p.budget, p.period) == ("hello", 0, 1_000_000, 1_000_000)
    assert (p.passive, p.stack_size, p.cpu, p.smc, p.fpu) == (False, 0x2000, 0, False, True)
    assert (p.domain, p.child_id, p.parent, p.legacy_pp) == (None, None, None, False)
    assert (p.program_image, p.line, p.column) == ("hello.elf", 8, 5)
    assert p.maps == p.irqs == p.setvars == p.ioports == p.cspace == ()
    assert p.virtual_machine is None


def test_passive_server() -> None:
    s = load_microkit(EXAMPLES / "microkit_passive_server.system")
    server, client = s.protection_domains
    assert (server.name, server.priority, server.passive) == ("server", 100, True)
    assert (client.name, client.priority, client.passive) == ("client", 99, False)
    (ch,) = s.channels
    a, b = ch.ends
    assert (a.pd, a.id, a.pp, a.notify) == ("server", 0, False, True)
    assert (b.pd, b.id, b.pp, b.notify) == ("client", 0, True, True)
    assert (ch.line, ch.column) == (16, 5)
    assert s.warnings == ()


def test_ethernet_budgets_regions_and_ppc() -> None:
    s = load_microkit(EXAMPLES / "microkit_ethernet.system")
    outer = s.pd("eth_outer")
    assert (outer.priority, outer.budget, outer.period) == (99, 1_000_000, 100_000_000)
    inner = s.pd("eth_inner")
    assert (inner.budget, inner.period) == (1_000_000, 1_000_000)
    (irq,) = outer.irqs
    assert (irq.irq, irq.id, irq.trigger, irq.kind) == (290, 3, "level", "irq")
    assert [(v.symbol, v.region_paddr) for v in outer.setvars] == [
        ("ring_buffer_paddr", "ring_buffer_outer"),
        ("packet_buffer_paddr", "packet_buffer_outer"),
    ]
    ring = outer.maps[0]
    assert (ring.mr, ring.vaddr, ring.perms, ring.cached) == (
        "ring_buffer_outer",
        0x3000000,
        "rw",
        False,
    )
    assert ring.setvar_vaddr == "ring_buffer_vaddr"
    mrs = {m.name: m for m in s.memory_regions}
    assert len(mrs) == 23
    big = mrs["eth_outer_output"]
    assert (big.size, big.page_size, big.page_count, big.page_size_specified) == (
        0x200000,
        0x200000,
        1,
        True,
    )
    assert (mrs["lsio_gpt0"].phys_addr, mrs["lsio_gpt0"].page_size) == (0x5D140000, 0x1000)
    gpt_pass = s.channels[0].ends
    assert [(e.pd, e.pp) for e in gpt_pass] == [("gpt", False), ("pass", True)]
    unused = [w for w in s.warnings if "unused memory region" in w]
    assert len(unused) == 10
    assert unused[0] == "%s:15:5: unused memory region 'paddinga'" % (
        EXAMPLES / "microkit_ethernet.system"
    )


def test_timer_device_region_and_edge_irq() -> None:
    s = load_microkit(EXAMPLES / "microkit_timer.system")
    (mr,) = s.memory_regions
    assert (mr.name, mr.size, mr.phys_addr, mr.page_size) == ("timer", 0x10000, 0xFFD0F000, 0x1000)
    (p,) = s.protection_domains
    (m,) = p.maps
    assert (m.vaddr, m.cached, m.setvar_vaddr) == (0x2000000, False, "timer_regs")
    (irq,) = p.irqs
    assert (irq.irq, irq.id, irq.trigger, irq.line, irq.column) == (42, 0, "edge", 13, 9)


def test_hierarchy_is_flattened_depth_first_with_parents() -> None:
    s = load_microkit(EXAMPLES / "microkit_hierarchy.system")
    got = [(p.name, p.priority, p.parent, p.child_id) for p in s.protection_domains]
    assert got == [
        ("restarter", 254, None, None),
        ("crasher", 253, "restarter", 1),
        ("hello", 1, "restarter", 2),
    ]
    assert [c.name for c in s.children("restarter")] == ["crasher", "hello"]
    assert s.pd("crasher").line == 10


def test_nested_children_are_flattened_in_document_order() -> None:
    s = load_microkit(EXAMPLES / "sddf_echo_server.system")
    assert [p.name for p in s.protection_domains] == [
        "benchIdle",
        "bench",
        "eth",
        "uart",
        "serial_virt_tx",
        "net_virt_rx",
        "copy0",
        "copy1",
        "net_virt_tx",
        "client0",
        "client1",
        "timer",
    ]
    assert {p.parent for p in s.protection_domains[2:]} == {"bench"}
    eth = s.pd("eth")
    assert (eth.child_id, eth.budget, eth.period) == (1, 100_000, 400_000)
    copy0 = s.pd("copy0")
    assert (copy0.budget, copy0.period) == (20_000_000, 20_000_000)

    # a three-level tree: A, [B, [D]], C -> A, B, D, C
    t = parse(
        '<protection_domain name="A"><program_image path="a"/>',
        '<protection_domain name="B" id="1"><program_image path="b"/>',
        pd("D", id="0"),
        "</protection_domain>",
        pd("C", id="2"),
        "</protection_domain>",
    )
    assert [(p.name, p.parent) for p in t.protection_domains] == [
        ("A", None),
        ("B", "A"),
        ("D", "B"),
        ("C", "A"),
    ]


def test_domains_and_schedule() -> None:
    s = load_microkit(EXAMPLES / "microkit_domains.system")
    d = s.domains
    assert d is not None
    assert d.domains == {"monitor": 0, "emitter": 1, "collector": 2}
    assert d.schedule == ((0, 6_000_000), (1, 8_000_000), (2, 2_000_000), (0, 0))
    assert d.in_ticks == (False, False, False, False)
    assert (d.start_index, d.index_shift) == (0, None)
    assert [(p.name, p.domain, p.domain_id) for p in s.protection_domains] == [
        ("emitter", "emitter", 1),
        ("collector", "collector", 2),
    ]
    (ch,) = s.channels
    assert [e.notify for e in ch.ends] == [True, False]


def test_gpu_stack_sizes_and_passive_timer() -> None:
    s = load_microkit(EXAMPLES / "sddf_gpu.system")
    assert s.pd("gpu_driver").stack_size == 0x10000
    assert s.pd("timer_driver").passive is True
    (_, to_timer, _) = s.channels
    assert [(e.pd, e.id, e.pp) for e in to_timer.ends] == [
        ("client", 1, True),
        ("timer_driver", 1, False),
    ]


def test_virtual_machine_and_page_size_promotion() -> None:
    s = load_microkit(EXAMPLES / "libvmm_simple.system")
    (vmm,) = s.protection_domains
    vm = vmm.virtual_machine
    assert vm is not None
    assert (vm.name, vm.priority, vm.budget, vm.period) == ("linux", 0, 1_000_000, 1_000_000)
    assert [(v.id, v.cpu) for v in vm.vcpus] == [(0, None)]
    assert [(m.mr, m.vaddr, m.perms, m.cached) for m in vm.maps] == [
        ("guest_ram", 0x40000000, "rwx", True),
        ("serial", 0x9000000, "rw", False),
        ("gic_vcpu", 0x8010000, "rw", False),
    ]
    assert vmm.maps[0].setvar_vaddr == "guest_ram_vaddr"
    assert [(i.irq, i.id) for i in vmm.irqs] == [(33, 1)]
    ram = s.memory_regions[0]
    # no page_size given, 256 MiB and every address 2 MiB aligned: Microkit uses large pages
    assert (ram.page_size, ram.page_count, ram.page_size_specified) == (0x200000, 128, False)


def test_legacy_echo_server_pp_is_converted_with_a_warning() -> None:
    s = load_microkit(EXAMPLES / "sddf_echo_server.system")
    timer = s.pd("timer")
    assert (timer.priority, timer.legacy_pp, timer.passive) == (101, True, True)
    to_timer = [c for c in s.channels if c.ends[0].pd == "timer"]
    assert [[(e.pd, e.pp) for e in c.ends] for c in to_timer] == [
        [("timer", False), ("client0", True)],
        [("timer", False), ("client1", True)],
    ]
    assert sum(e.pp for c in s.channels for e in c.ends) == 2
    (warning,) = s.warnings
    assert "legacy" in warning and "'timer'" in warning
    assert ":197:9: " in warning and "'client0' (id 1), 'client1' (id 1)" in warning


def test_legacy_kitty_pp_is_converted_with_warnings() -> None:
    s = load_microkit(EXAMPLES / "lionsos_kitty.system")
    assert len(s.protection_domains) == 12
    assert len(s.memory_regions) == 45
    callers = sorted(
        (e.pd, other.pd) for c in s.channels for e, other in (c.ends, c.ends[::-1]) if e.pp
    )
    assert callers == [
        ("eth_copy_mp", "eth_virt_rx"),
        ("eth_copy_nfs", "eth_virt_rx"),
        ("micropython", "timer_driver"),
        ("nfs", "timer_driver"),
    ]
    legacy = [w for w in s.warnings if "legacy" in w]
    assert len(legacy) == 2
    assert "'timer_driver'" in legacy[0] and "'eth_virt_rx'" in legacy[1]
    vm = s.pd("framebuffer_vmm").virtual_machine
    assert vm is not None and (vm.name, vm.priority) == ("linux", 1)
    eth = s.pd("eth")
    assert (eth.budget, eth.period) == (100_000, 400_000)


def test_legacy_pp_never_makes_a_higher_priority_pd_a_caller() -> None:
    s = parse(
        pd("hi", priority="10", pp="true"),
        pd("lo", priority="5", pp="true"),
        pd("same", priority="10"),
        '<channel><end pd="hi" id="0"/><end pd="lo" id="0"/></channel>',
        '<channel><end pd="hi" id="1"/><end pd="same" id="0"/></channel>',
    )
    assert [[e.pp for e in c.ends] for c in s.channels] == [[False, True], [False, False]]
    assert len(s.warnings) == 2
    assert "no channel end from a lower-priority" in s.warnings[1]


# ---------------------------------------------------------------------------- invalid examples


@pytest.mark.parametrize(
    ("name", "text", "at"),
    [
        (
            "microkit_pd_budget_gt_period",
            "budget (1000) must be less than, or equal to, period (100)",
            (8, 5),
        ),
        (
            "microkit_ch_ppcall_priority",
            "PPCs must be to protection domains of strictly higher priorities; channel with PPC "
            "exists from pd test1 (priority: 2) to pd test2 (priority: 1)",
            (15, 5),
        ),
        ("microkit_ch_bidirectional_ppc", "cannot ppc bidirectionally", (14, 5)),
        ("microkit_pd_small_stack_size", "stack size must be between", (8, 5)),
        ("microkit_ch_not_enough_ends", "exactly two end elements must be specified", (15, 5)),
    ],
)
def test_invalid_examples_fail_like_microkit(name: str, text: str, at: tuple[int, int]) -> None:
    path = INVALID / f"{name}.system"
    with pytest.raises(MicrokitError) as info:
        load_microkit(path)
    err = info.value
    assert text in err.message
    assert (err.path, err.line, err.column) == (str(path), *at)
    assert str(err) == f"{path}:{at[0]}:{at[1]}: {err.message}"


def test_invalid_example_messages_are_microkits() -> None:
    with pytest.raises(MicrokitError) as info:
        load_microkit(INVALID / "microkit_pd_small_stack_size.system")
    assert info.value.message == (
        "stack size must be between 0x1000 bytes and 0x1000000 bytes on element 'protection_domain'"
    )


# ---------------------------------------------------------------------------- document structure


def test_unknown_attribute() -> None:
    fails(
        pd("a", foo="1"),
        text="invalid attribute 'foo' on element 'protection_domain'",
        at=(2, 1),
    )
    fails(
        pd("a", '<map mr="m" vaddr="0" bar="x"/>'), text="invalid attribute 'bar' on element 'map'"
    )
    fails(pd("a", id="1"), text="invalid attribute 'id' on element 'protection_domain'")


def test_unknown_element() -> None:
    fails("  <foo/>", pd("a"), text="invalid XML element 'foo'", at=(2, 3))
    fails(pd("a", "<bar/>"), text="invalid XML element 'bar'", at=(2, 58))


def test_non_whitespace_text() -> None:
    fails("  hello", pd("a"), text="unexpected text found in element 'system'", at=(2, 3))
    fails(pd("a"), "x", text="unexpected text found after element 'protection_domain'", at=(3, 1))
    fails(
        pd("a", "  oops"),
        text="unexpected text found after element 'program_image'",
    )


def test_comments_and_whitespace_are_allowed() -> None:
    s = parse("  <!-- a comment -->", "", pd("a", "<!-- inside -->"), "\t")
    assert s.protection_domains[0].name == "a"


def test_top_level_virtual_machine() -> None:
    fails(
        pd("a"),
        '<virtual_machine name="vm"><vcpu id="0"/></virtual_machine>',
        text="virtual machine must be a child of a protection domain",
        at=(3, 1),
    )


def test_malformed_xml_reports_expat_position() -> None:
    with pytest.raises(MicrokitError) as info:
        parse_microkit('<system>\n  <protection_domain name="a">\n</system>\n', "bad.system")
    err = info.value
    assert err.message == "could not parse XML: mismatched tag"
    assert (err.line, err.column) == (3, 3)
    assert str(err) == "bad.system:3:3: could not parse XML: mismatched tag"


def test_root_must_be_system() -> None:
    with pytest.raises(MicrokitError, match="the root must be 'system'"):
        parse_microkit("<sys/>", "t.system")


def test_load_missing_file() -> None:
    with pytest.raises(MicrokitError, match="cannot read"):
        load_microkit(EXAMPLES / "nope.system")


# ---------------------------------------------------------------------------- numbers and bools


def test_numbers() -> None:
    assert parse_number("0x2_000_000") == 0x2000000
    assert parse_number("100_000") == 100_000
    assert parse_number("0xffd0f000") == 0xFFD0F000
    assert parse_number(str(2**64 - 1)) == 2**64 - 1
    for bad, why in [
        ("0X10", "invalid digit found in string"),
        ("", "cannot parse integer from empty string"),
        ("-1", "invalid digit found in string"),
        (str(2**64), "number too large to fit in target type"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_number(bad)


def test_hex_with_underscores_in_attributes() -> None:
    s = parse(pd("a", stack_size="0x1_0000", budget="1_000", period="0x2_710"))
    p = s.protection_domains[0]
    assert (p.stack_size, p.budget, p.period) == (0x10000, 1_000_000, 10_000_000)


def test_bad_number() -> None:
    fails(
        pd("a", budget="12a"),
        text="failed to parse integer '12a' on element 'protection_domain': "
        "invalid digit found in string",
        at=(2, 1),
    )


def test_plain_integer_attributes_take_no_hex() -> None:
    fails(
        pd("a", '<irq irq="0x20" id="0"/>'),
        text="failed to parse integer '0x20' on element 'irq': invalid digit found in string",
    )
    fails(
        pd("a"),
        pd("b"),
        '<channel><end pd="a" id="1_0"/><end pd="b" id="0"/></channel>',
        text="failed to parse integer '1_0' on element 'end'",
    )


def test_booleans_are_exactly_true_or_false() -> None:
    fails(pd("a", passive="True"), text="passive must be 'true' or 'false' on element")
    fails(pd("a", '<map mr="m" vaddr="0" cached="1"/>'), text="cached must be 'true' or 'false'")
    s = parse(pd("a", fpu="false", smc="true"))
    assert (s.protection_domains[0].fpu, s.protection_domains[0].smc) == (False, True)


# ---------------------------------------------------------------------------- protection domains


def test_priority_limits() -> None:
    assert parse(pd("a", priority="254")).protection_domains[0].priority == 254
    fails(pd("a", priority="255"), text="priority must be between 0 and 254")


def test_period_defaults_to_budget() -> None:
    p = parse(pd("a", budget="250")).protection_domains[0]
    assert (p.budget, p.period) == (250_000, 250_000)


def test_stack_size_limits() -> None:
    fails(pd("a", stack_size="0x1800"), text="stack size must be aligned to the smallest page size")
    fails(pd("a", stack_size="0x1001000"), text="stack size must be between")
    assert parse(pd("a", stack_size="0x1000000")).protection_domains[0].stack_size == 0x1000000


def test_program_image_required_once() -> None:
    fails(
        '<protection_domain name="a"/>',
        text="missing 'program_image' element on protection_domain: 'a'",
    )
    fails(
        pd("a", '<program_image path="again"/>'),
        text="program_image must only be specified once on element 'protection_domain'",
    )
    fails(
        '<protection_domain><program_image path="a"/></protection_domain>',
        text="Missing required attribute 'name' on element 'protection_domain'",
    )


def test_duplicate_pd_name() -> None:
    fails(pd("a"), pd("a"), text="duplicate protection domain name 'a'.", at=(3, 1))
    fails(
        '<protection_domain name="p"><program_image path="p"/>',
        pd("a", id="1"),
        "</protection_domain>",
        pd("a"),
        text="duplicate protection domain name 'a'.",
        at=(5, 1),
    )


def test_pd_named_monitor() -> None:
    fails(pd("monitor"), text="the PD name 'monitor' is reserved for the Microkit Monitor.")


def test_at_most_63_pds() -> None:
    assert len(parse(*(pd(f"p{i}") for i in range(63))).protection_domains) == 63
    fails(
        *(pd(f"p{i}") for i in range(64)),
        text="too many protection domains (64) defined. Maximum is 63.",
    )
    fails("", text="at least one protection domain must be defined")


def test_child_ids() -> None:
    fails(
        '<protection_domain name="p"><program_image path="p"/>',
        pd("a", id="1"),
        pd("b", id="1"),
        "</protection_domain>",
        text="duplicate id: 1 in protection domain: 'p'",
        at=(4, 1),
    )
    fails(
        '<protection_domain name="p"><program_image path="p"/>',
        pd("a"),
        "</protection_domain>",
        text="Missing required attribute 'id' on element 'protection_domain'",
    )


def test_duplicate_setvar_symbol() -> None:
    fails(
        pd(
            "a",
            '<map mr="m" vaddr="0x1000" setvar_vaddr="s"/><setvar symbol="s" region_paddr="m"/>',
        ),
        text="setvar on symbol 's' already exists on element 'setvar'",
    )


def test_cpu_is_checked_only_against_a_known_core_count() -> None:
    assert parse(pd("a", cpu="3")).protection_domains[0].cpu == 3
    with pytest.raises(MicrokitError, match="cpu core must be less than 2, got 3"):
        parse_microkit(f"<system>{pd('a', cpu='3')}</system>", "t.system", cores=2)


# ---------------------------------------------------------------------------- channels and irqs


def test_channel_id_62() -> None:
    fails(
        pd("a"),
        pd("b"),
        '<channel>\n  <end pd="a" id="62"/>\n  <end pd="b" id="0"/>\n</channel>',
        text="id must be < 62 on element 'end'",
        at=(5, 3),
    )
    fails(pd("a", '<irq irq="1" id="-1"/>'), text="id must be >= 0 on element 'irq'")


def test_duplicate_channel_id() -> None:
    fails(
        pd("a", '<irq irq="5" id="0"/>'),
        pd("b"),
        '<channel>\n  <end pd="a" id="0"/>\n  <end pd="b" id="0"/>\n</channel>',
        text="duplicate channel id: 0 in protection domain: 'a'",
        at=(5, 3),
    )
    fails(
        pd("a"),
        pd("b"),
        pd("c"),
        '<channel><end pd="a" id="3"/><end pd="b" id="0"/></channel>',
        '<channel><end pd="c" id="0"/><end pd="b" id="0"/></channel>',
        text="duplicate channel id: 0 in protection domain: 'b'",
    )
    fails(
        pd("a", '<irq irq="5" id="2"/><irq irq="6" id="2"/>'),
        text="duplicate channel id: 2 in protection domain: 'a'",
    )


def test_duplicate_irq() -> None:
    fails(
        pd("a", '<irq irq="5" id="0"/>'),
        pd("b", '\n<irq irq="5" id="1"/>'),
        text="duplicate irq: 5 in protection domain: 'b'",
        at=(4, 1),
    )


def test_irq_forms() -> None:
    s = parse(
        pd(
            "a",
            '<irq irq="7" id="0" trigger="edge" setvar_id="irq_ch"/>'
            '<irq pin="4" vector="20" id="1" polarity="low"/>'
            '<irq pcidev="0:1f.3" handle="2" vector="21" id="2"/>',
        )
    )
    arm, ioapic, msi = s.protection_domains[0].irqs
    assert (arm.kind, arm.irq, arm.trigger, arm.setvar_id) == ("irq", 7, "edge", "irq_ch")
    assert (ioapic.kind, ioapic.irq, ioapic.ioapic, ioapic.pin, ioapic.trigger) == (
        "ioapic",
        20,
        0,
        4,
        "level",
    )
    assert ioapic.polarity == "low"
    assert (msi.kind, msi.pcidev, msi.handle, msi.vector, msi.trigger) == (
        "msi",
        "00:1f.3",
        2,
        21,
        None,
    )
    fails(pd("a", '<irq irq="1" id="0" trigger="rising"/>'), text="trigger must be either")
    fails(pd("a", '<irq pin="1" vector="108" id="0"/>'), text="vector must be within [0..107]")
    fails(
        pd("a", '<irq pcidev="0:20.0" handle="0" vector="1" id="0"/>'),
        text="PCI device must be within [0..31] on element 'irq'",
    )
    fails(pd("a", '<irq id="0"/>'), text="Missing required attribute 'irq' on element 'irq'")
    fails(pd("a", '<irq irq="1" id="0" pin="2"/>'), text="invalid attribute 'pin' on element 'irq'")


def test_channel_needs_exactly_two_ends_to_known_pds() -> None:
    fails(
        pd("a"),
        pd("b"),
        pd("c"),
        '<channel><end pd="a" id="0"/><end pd="b" id="0"/><end pd="c" id="0"/></channel>',
        text="exactly two end elements must be specified on element 'channel'",
        at=(5, 1),
    )
    fails(
        pd("a"),
        '<channel><end pd="a" id="0"/><end pd="zz" id="0"/></channel>',
        text="invalid PD name 'zz' on element 'end'",
        at=(3, 30),
    )
    fails(
        pd("a"),
        '<channel><start pd="a" id="0"/></channel>',
        text="invalid XML element 'start'",
    )
    fails(pd("a"), '<channel foo="1"/>', text="invalid attribute 'foo' on element 'channel'")


def test_ppc_needs_strictly_higher_priority() -> None:
    fails(
        pd("a", priority="5"),
        pd("b", priority="5"),
        '<channel><end pd="a" id="0"/><end pd="b" id="0" pp="true"/></channel>',
        text="channel with PPC exists from pd b (priority: 5) to pd a (priority: 5)",
        at=(4, 1),
    )


# ---------------------------------------------------------------------------- memory


def test_map_to_missing_mr() -> None:
    fails(
        pd("a", '\n  <map mr="nope" vaddr="0x1000"/>'),
        text="invalid memory region name 'nope' on 'map'",
        at=(3, 3),
    )


def test_misaligned_map() -> None:
    fails(
        '<memory_region name="m" size="0x200000" page_size="0x200000"/>',
        pd("a", '\n<map mr="m" vaddr="0x1000"/>'),
        text="invalid vaddr alignment on 'map'",
        at=(4, 1),
    )


def test_overlapping_maps() -> None:
    fails(
        '<memory_region name="m1" size="0x2000"/>',
        '<memory_region name="m2" size="0x1000"/>',
        pd("hello", '<map mr="m1" vaddr="0x1000000"/><map mr="m2" vaddr="0x1001000"/>'),
        text="map for 'm2' has virtual address range [0x1001000..0x1002000) which overlaps "
        "with map for 'm1' [0x1000000..0x1002000) in protection domain 'hello'",
    )


def test_map_must_end_below_the_stack() -> None:
    top = (1 << 40) - 0x2000
    fails(
        '<memory_region name="m" size="0x1000"/>',
        pd("a", f'<map mr="m" vaddr="{top:#x}"/>'),
        text=f"vaddr ({top:#x}) must be less than {top:#x} on element 'map'",
    )


def test_write_only_perms() -> None:
    fails(
        '<memory_region name="m" size="0x1000"/>',
        pd("a", '<map mr="m" vaddr="0x1000" perms="w"/>'),
        text="perms must not be 'w', write-only mappings are not allowed on element 'map'",
    )
    fails(
        '<memory_region name="m" size="0x1000"/>',
        pd("a", '<map mr="m" vaddr="0x1000" perms="rwz"/>'),
        text="perms must only be a combination of 'r', 'w', and 'x'",
    )
    s = parse(
        '<memory_region name="m" size="0x1000"/>',
        pd("a", '<map mr="m" vaddr="0x1000" perms="xr"/>'),
    )
    m = s.protection_domains[0].maps[0]
    assert (m.perms, m.read, m.write, m.execute) == ("rx", True, False, True)


def test_memory_region_checks() -> None:
    fails('<memory_region name="m" size="0x1800"/>', pd("a"), text="size is not a multiple")
    fails(
        '<memory_region name="m" size="0x1000" page_size="0x2000"/>',
        pd("a"),
        text="page size 0x2000 not supported on element 'memory_region'",
    )
    fails(
        '<memory_region name="m" size="0x1000" phys_addr="0x800"/>',
        pd("a"),
        text="phys_addr is not aligned to the page size",
    )
    fails(
        '<memory_region name="m"/>',
        pd("a"),
        text="size must be specified if memory region is not prefilled",
    )
    fails(
        '<memory_region name="m" size="0x1000"/>',
        '<memory_region name="m" size="0x1000"/>',
        pd("a"),
        text="duplicate memory region name 'm'.",
        at=(3, 1),
    )


def test_fixed_physical_regions_must_not_overlap() -> None:
    fails(
        '<memory_region name="mr1" size="0x2000" phys_addr="0x9000000"/>',
        '<memory_region name="mr2" size="0x1000" phys_addr="0x9001000"/>',
        pd("a"),
        text="memory region 'mr2' physical address range [0x9001000..0x9002000) overlaps with "
        "another memory region 'mr1' [0x9000000..0x9002000)",
        at=(3, 1),
    )


def test_unused_region_is_a_warning_not_an_error() -> None:
    s = parse('<memory_region name="spare" size="0x1000"/>', pd("a"))
    assert s.warnings == ("t.system:2:1: unused memory region 'spare'",)


def test_prefill_bootinfo_sizes_one_page() -> None:
    s = parse('<memory_region name="fdt" prefill_bootinfo="fdt"/>', pd("a"))
    assert s.memory_regions[0].size == 0x1000
    fails(
        '<memory_region name="x" prefill_bootinfo="acpi"/>',
        pd("a"),
        text="BootInfoMap type: 'acpi' is not supported",
    )


# ---------------------------------------------------------------------------- domains


DOMAINS = (
    "<domains>",
    '  <domain name="a"/>',
    '  <domain name="b" id="0"/>',
    '  <domain_schedule start_index="1" index_shift="2">',
    '    <schedule_entry domain="a" duration="10 ticks"/>',
    '    <schedule_entry domain="b" duration="0x3_e8 us"/>',
    "  </domain_schedule>",
    "</domains>",
)


def test_domain_ids_and_tick_durations() -> None:
    s = parse(*DOMAINS, pd("p", domain="a"))
    d = s.domains
    assert d is not None
    assert d.domains == {"a": 1, "b": 0}
    assert d.schedule == ((1, 10), (0, 1_000_000))
    assert d.in_ticks == (True, False)
    assert (d.start_index, d.index_shift) == (1, 2)
    assert s.protection_domains[0].domain_id == 1


def test_domain_attribute_without_domains() -> None:
    fails(
        pd("a", domain="x"),
        text="Specifying a domain 'x' without declaring a domain schedule is not allowed",
        at=(2, 1),
    )


def test_domain_attribute_is_mandatory_with_domains() -> None:
    fails(
        *DOMAINS,
        pd("p"),
        text="Missing required attribute 'domain' on element 'protection_domain'",
        at=(10, 1),
    )
    # also for a PD written before <domains> (Microkit would not notice)
    fails(pd("p"), *DOMAINS, text="Missing required attribute 'domain'", at=(2, 1))
    fails(*DOMAINS, pd("p", domain="zz"), text="domain 'zz' not declared in <domains>")


def test_schedule_entry_checks() -> None:
    def entry(duration: str) -> tuple[str, ...]:
        return (
            '<domains><domain name="a"/><domain_schedule>',
            f'<schedule_entry domain="a" duration="{duration}"/>',
            "</domain_schedule></domains>",
            pd("p", domain="a"),
        )

    fails(*entry("0 us"), text="The duration '0 us' must be non-zero")
    fails(*entry("10ms"), text="must contain a value and a unit, e.g. '1000 us'")
    fails(*entry("10 ms"), text="The duration '10 ms' must be in either 'ticks' or 'us'")
    fails(
        '<domains><domain name="a"/></domains>',
        text="The <domain_schedule> element must appear once",
    )


# ---------------------------------------------------------------------------- cspace and iommu


def test_cspace_caps() -> None:
    s = parse(
        pd("sched", '<cspace><cap_tcb slot="1" pd="w"/><cap_sc slot="2" pd="w"/></cspace>'), pd("w")
    )
    caps = s.protection_domains[0].cspace
    assert [(c.kind, c.pd, c.slot) for c in caps] == [("tcb", "w", 1), ("sc", "w", 2)]
    fails(pd("a", '<cspace><cap_tcb slot="0" pd="a"/></cspace>'), text="slot 0 has been reserved")
    fails(pd("a", '<cspace><cap_tcb slot="1" pd="zz"/></cspace>'), text="unknown PD name 'zz'")
    fails(
        pd("a", '<cspace><cap_tcb slot="1" pd="a"/><cap_sc slot="1" pd="a"/></cspace>'),
        text="overlapping user caps in slot 1 of protection domain 'a'",
    )
    fails(pd("a", '<cspace><cap_irq slot="1" pd="a"/></cspace>'), text="Cap type: 'irq'")


def test_io_address_space() -> None:
    s = parse(
        '<memory_region name="dma" size="0x2000"/>',
        '<io_address_space name="nic" peripheral_id="0:3.0" domain_id="1">',
        '  <iomap mr="dma" iovaddr="0x1000" perms="r"/>',
        "</io_address_space>",
        pd("a"),
    )
    (io,) = s.io_address_spaces
    assert (io.name, io.peripheral_id, io.domain_id) == ("nic", "00:03.0", 1)
    assert [(m.mr, m.iovaddr, m.perms) for m in io.iomaps] == [("dma", 0x1000, "r")]
    assert s.warnings == ()
    fails(
        '<memory_region name="dma" size="0x1000"/>',
        '<io_address_space name="nic" peripheral_id="0:3.0" domain_id="1">',
        '  <iomap mr="dma" iovaddr="0x0" perms="x"/>',
        "</io_address_space>",
        pd("a"),
        text="perms for io mapped memory must only be a combination of 'r' and 'w'",
        at=(4, 3),
    )


def test_ioports() -> None:
    s = parse(pd("a", '<ioport id="0" addr="0x3f8" size="8" setvar_addr="com1"/>'))
    (port,) = s.protection_domains[0].ioports
    assert (port.id, port.addr, port.size, port.setvar_addr) == (0, 0x3F8, 8, "com1")
    fails(
        pd("a", '<ioport id="0" addr="0x3f8" size="8"/>'),
        pd("b", '<ioport id="0" addr="0x3fa" size="2"/>'),
        text="I/O port id: 0, half-open range: [0x3fa, 0x3fc) in protection domain: 'b' "
        "overlaps with I/O port id: 0, half-open range: [0x3f8, 0x400)",
    )
    fails(pd("a", '<ioport id="0" addr="0x60" size="0"/>'), text="size must be > 0")


def test_virtual_machine_checks() -> None:
    vm = '<virtual_machine name="v"><vcpu id="0"/>{}</virtual_machine>'
    fails(pd("a", vm.format('<vcpu id="0"/>')), text="duplicate vcpu id 0 in virtual machine 'v'")
    fails(pd("a", vm.format("") + vm.format("")), text="virtual_machine must only be specified")
    fails(
        pd("a", vm.format("")), pd("b", vm.format("")), text="duplicate virtual machine name 'v'."
    )
    fails(
        pd("a", '<virtual_machine name="v"/>'),
        text="missing 'vcpu' element on virtual_machine: 'v'",
    )
    fails(
        pd("a", vm.format("") + pd("c", id="0")),
        text="duplicate id: 0 clashes with virtual machine vcpu id in protection domain: 'a'",
    )
