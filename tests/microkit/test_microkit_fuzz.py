"""Junk in any attribute of a real Microkit file: either the file still loads, or the loader
refuses it with a MicrokitError naming file:line:column, never another exception.

The mutations are fixed (every attribute value, in document order, replaced by each JUNK value
in turn; no randomness), so the numbers of refused and accepted files are exact."""

from __future__ import annotations

import re

import pytest

from sporadic.microkit import MicrokitError, parse_microkit
from tests.helpers import ROOT

EXAMPLES = ROOT / "examples" / "microkit"
JUNK = ["", "-1", "abc", "0x", "99999999999999999999999", "true", "0x1_000", " 5", "62", "w"]


@pytest.mark.parametrize(
    ("name", "refused", "accepted"),
    [
        ("microkit_ethernet.system", 1526, 414),  # 194 attributes x 10 junk values
        ("microkit_domains.system", 207, 33),  # 24 x 10
        ("libvmm_simple.system", 252, 68),  # 32 x 10
    ],
)
def test_junk_attributes_refused_at_file_line_column_or_accepted_in_exact_numbers(
    name: str, refused: int, accepted: int
) -> None:
    path = EXAMPLES / name
    text = path.read_text()
    outcomes = {"refused": 0, "accepted": 0}
    for m in re.finditer(r'(\w+)="([^"]*)"', text):
        for junk in JUNK:
            try:
                parse_microkit(text[: m.start(2)] + junk + text[m.end(2) :], str(path))
            except MicrokitError as e:
                assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", str(e)), str(e)
                outcomes["refused"] += 1
            else:
                outcomes["accepted"] += 1
    assert outcomes == {"refused": refused, "accepted": accepted}
