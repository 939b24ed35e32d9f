"""Junk in any attribute of a real Microkit file gives a MicrokitError with file:line:column,
never a traceback."""

from __future__ import annotations

import re

import pytest

from sporadic.microkit import MicrokitError, parse_microkit
from tests.helpers import ROOT

EXAMPLES = ROOT / "examples" / "microkit"
JUNK = ["", "-1", "abc", "0x", "99999999999999999999999", "true", "0x1_000", " 5", "62", "w"]


@pytest.mark.parametrize(
    "name", ["microkit_ethernet.system", "microkit_domains.system", "libvmm_simple.system"]
)
def test_junk_attributes_fail_clearly(name: str) -> None:
    path = EXAMPLES / name
    text = path.read_text()
    refused = 0
    for m in re.finditer(r'(\w+)="([^"]*)"', text):
        for junk in JUNK:
            try:
                parse_microkit(text[: m.start(2)] + junk + text[m.end(2) :], str(path))
            except MicrokitError as e:
                assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", str(e)), str(e)
                refused += 1
    assert refused > 0
