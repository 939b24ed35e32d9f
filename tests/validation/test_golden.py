"""The simulator against the real kernel's golden timelines (no qemu needed).

Every scenario of tests/validation/scenarios ran on seL4 MCS under qemu (``make validate``); its
timeline is in tests/validation/golden. The simulator, under the qemu-arm-virt profile and
replaying the root task's set-up, must agree with each one (docs/validation.md), except the
scenarios listed in known_divergences.json with the exact first divergence they show today: a
change that fixes one fails here too, so that the list only ever shrinks on purpose.
"""

import json
from pathlib import Path

import pytest

from sporadic.description import load
from sporadic.validation.compare import compare
from sporadic.validation.corpus import load_golden
from sporadic.validation.timeline import simulate

HERE = Path(__file__).resolve().parent
SCENARIOS = sorted((HERE / "scenarios").glob("*.toml"))
KNOWN = json.loads((HERE / "known_divergences.json").read_text())


def test_the_corpus_has_54_scenarios_each_with_a_golden_timeline() -> None:
    assert len(SCENARIOS) == 54
    assert sorted(p.stem for p in (HERE / "golden").glob("*.json")) == [p.stem for p in SCENARIOS]


def test_48_scenarios_agree_and_6_are_known_divergences() -> None:
    assert (len(SCENARIOS) - len(KNOWN), len(KNOWN)) == (48, 6)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_simulator_against_the_real_kernel(path: Path) -> None:
    real = load_golden(path)
    result = compare(real, simulate(load(path), real.setup))
    if path.stem in KNOWN:
        assert (result.agree, result.divergence) == (False, KNOWN[path.stem])
    else:
        assert (result.agree, result.divergence) == (True, None)
        assert result.worst_switch_ns <= 10_000
