"""``[kernel] profile``: a measured platform's settings as defaults for ``[kernel]``."""

import pytest

from sporadic.description import DescriptionError, KernelSettings, load_text

THREAD = '\n[[thread]]\nname = "t"\npriority = 1\nscript = [ { spin = true } ]\n'


def test_qemu_arm_virt_profile_sets_the_measured_values() -> None:
    system = load_text('[kernel]\nprofile = "qemu-arm-virt"\n' + THREAD)
    assert system.kernel == KernelSettings(
        min_budget=20_000,
        entry_cost=600,
        irq_latency=64,
        idle_irq_latency=32,
        syscall_latency=176,
        fastpath_cost=570,
        timer_precision=0,
        profile="qemu-arm-virt",
    )


def test_a_field_given_beside_the_profile_wins() -> None:
    system = load_text('[kernel]\nprofile = "qemu-arm-virt"\nirq_latency = "80ns"\n' + THREAD)
    assert (system.kernel.irq_latency, system.kernel.idle_irq_latency) == (80, 32)


def test_no_profile_keeps_the_zero_cost_kernel() -> None:
    assert load_text(THREAD).kernel == KernelSettings()


def test_an_unknown_profile_is_a_located_error() -> None:
    with pytest.raises(DescriptionError) as e:
        load_text('[kernel]\nprofile = "pc99"\n' + THREAD, "x.toml")
    assert str(e.value) == "x.toml:2: [kernel]: profile: 'pc99' is not one of qemu-arm-virt"


def test_fastpath_can_be_turned_off_beside_the_profile() -> None:
    system = load_text('[kernel]\nprofile = "qemu-arm-virt"\nfastpath = false\n' + THREAD)
    assert (system.kernel.fastpath, system.kernel.fastpath_cost) == (False, 570)


def test_a_fastpath_that_is_not_a_bool_is_a_located_error() -> None:
    with pytest.raises(DescriptionError) as e:
        load_text('[kernel]\nfastpath = "yes"\n' + THREAD, "x.toml")
    assert str(e.value) == "x.toml:2: [kernel]: fastpath: expected bool, got 'yes'"
