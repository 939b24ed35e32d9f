"""The README's Python sessions run as written and print what the README shows."""

import doctest
import re
from pathlib import Path

import pytest

from tests.helpers import ROOT


def _sessions() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return [b for b in blocks if b.startswith(">>>")]


def test_readme_has_two_python_sessions() -> None:
    assert len(_sessions()) == 2


@pytest.mark.parametrize("index", [0, 1])
def test_readme_session_output_is_exact(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(_sessions()[index], {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert (runner.failures, runner.tries) == (0, len(test.examples))
