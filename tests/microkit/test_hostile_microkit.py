"""Hostile Microkit files: what Microkit's tool accepts but seL4 refuses at boot (a budget below
MIN_BUDGET, as real files have), what a trace cannot hold, and files that cannot be read whole,
are refused by ``load_system_file`` (so by ``check``) with the file, line and column."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sporadic.errors import DescriptionError, MicrokitError
from sporadic.microkit import load_system_file

PD = """\
<?xml version="1.0" encoding="UTF-8"?>
<system>
    <protection_domain name="client" priority="10" {attrs}>
        <program_image path="client.elf" />
    </protection_domain>
</system>
"""
VM = """\
<?xml version="1.0" encoding="UTF-8"?>
<system>
    <protection_domain name="vmm" priority="10">
        <program_image path="vmm.elf" />
        <virtual_machine name="linux" {attrs}>
            <vcpu id="0" />
        </virtual_machine>
    </protection_domain>
</system>
"""
REFUSED = "which seL4 refuses (SchedControl_ConfigureFlags: seL4_RangeError)"


def _write(tmp_path: Path, text: str, workload: str | None = None) -> Path:
    path = tmp_path / "x.system"
    path.write_text(text)
    if workload is not None:
        (tmp_path / "x.workload.toml").write_text(workload)
    return path


def _error(path: Path, workload: Path | None = None) -> str:
    with pytest.raises((MicrokitError, DescriptionError)) as e:
        load_system_file(path, workload)
    return str(e.value)


def test_a_budget_below_min_budget_is_refused_at_its_element(tmp_path: Path) -> None:
    path = _write(tmp_path, PD.format(attrs='budget="10" period="400"'))
    assert _error(path) == (
        f"{path}:3:5: budget (10 us) is below MIN_BUDGET (20us; the side file's [kernel] "
        f"min_budget sets it), {REFUSED}, on element 'protection_domain'"
    )


def test_a_period_below_min_budget_is_refused_after_the_budget(tmp_path: Path) -> None:
    path = _write(tmp_path, PD.format(attrs='budget="10" period="10"'))
    assert _error(path).startswith(f"{path}:3:5: budget (10 us) is below MIN_BUDGET")


def test_the_side_file_min_budget_lets_a_10_us_budget_through(tmp_path: Path) -> None:
    path = _write(
        tmp_path, PD.format(attrs='budget="10" period="400"'), '[kernel]\nmin_budget = "10us"\n'
    )
    (pd,) = load_system_file(path).protection_domains
    assert (pd.sc.budget, pd.sc.period) == (10_000, 400_000)


def test_a_budget_above_max_period_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, PD.format(attrs='budget="18446744073709551615"'))
    assert _error(path) == (
        f"{path}:3:5: budget (18446744073709551615 us) is above MAX_PERIOD "
        f"(72057594037927936ns), {REFUSED}, on element 'protection_domain'"
    )


def test_a_virtual_machine_budget_a_trace_cannot_hold_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, VM.format(attrs='budget="18446744073709551615"'))
    assert _error(path) == (
        f"{path}:5:9: budget (18446744073709551615 us) is above MAX_PERIOD "
        f"(72057594037927936ns), {REFUSED}, on element 'virtual_machine'"
    )


def test_a_system_file_that_is_dev_zero_is_refused_unread(tmp_path: Path) -> None:
    link = tmp_path / "z.system"
    link.symlink_to("/dev/zero")
    assert _error(link) == f"{link}: not a regular file (a system file is read whole)"


def test_a_system_file_over_16_mib_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.system"
    with path.open("wb") as f:
        f.truncate(16 * 1024 * 1024 + 1)
    assert _error(path) == f"{path}: 16777217 bytes, above the 16 MiB a system file may have"


def test_a_side_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, PD.format(attrs='budget="100"'))
    fifo = tmp_path / "w.toml"
    os.mkfifo(fifo)
    assert _error(path, fifo) == f"{fifo}: not a regular file (a description is read whole)"


def test_a_side_file_seed_below_0_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, PD.format(attrs='budget="100"'), "[system]\nseed = -1\n")
    assert _error(path) == (
        f"{tmp_path}/x.workload.toml:2: [system]: seed: -1 is outside 0..9223372036854775807"
    )


def test_a_side_file_irq_faster_than_min_budget_is_refused(tmp_path: Path) -> None:
    side = '[[pd]]\nname = "client"\nirq = [ { id = 1, period = "1us" } ]\n'
    path = _write(tmp_path, PD.format(attrs='budget="100"'), side)
    assert _error(path) == (
        f'{tmp_path}/x.workload.toml:3: pd "client": irq[0]: period: 1000 ns is below '
        "MIN_BUDGET 20000 ns"
    )
