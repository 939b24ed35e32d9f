"""Fixtures shared by the test files; plain helpers are in tests/helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

# the helpers assert too: let pytest explain their failures as it does the tests' own asserts
pytest.register_assert_rewrite("tests.helpers")

from tests.helpers import Scenario, run_scenario  # noqa: E402 - after the rewrite registration


@pytest.fixture
def scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Scenario:
    """``scenario(NAME)`` runs tests/scenarios/NAME.toml through the CLI (see run_scenario)."""
    return lambda name: run_scenario(name, tmp_path, capsys)
