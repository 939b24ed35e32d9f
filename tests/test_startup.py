"""Start-up: each command imports what it uses (docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

PROBE = (
    "import sys, runpy; sys.argv = ['sporadic', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('sporadic', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "heavy = ('numpy', 'trio', 'structlog', 'wasmtime', 'matplotlib', 'wasmer_sdk')\n"
    "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
)


def _loaded(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return done.stderr.strip().splitlines()[-1]


def test_version_imports_nothing_heavy() -> None:
    assert _loaded("--version") == "[]"


FIXED = """
[system]
name = "fixed"
duration = "1s"

[[partition]]
name = "a"
priority = 200
budget = "2ms"
period = "10ms"
release = { period = "10ms" }
job = { compute = "1ms" }
"""


def test_a_run_of_fixed_times_imports_no_numpy_trio_structlog_or_wasmtime(tmp_path: Path) -> None:
    (tmp_path / "fixed.toml").write_text(FIXED)
    assert _loaded("run", str(tmp_path / "fixed.toml")) == "[]"


def test_its_json_computes_the_windows_with_numpy(tmp_path: Path) -> None:
    (tmp_path / "fixed.toml").write_text(FIXED)
    assert _loaded("run", str(tmp_path / "fixed.toml"), "--json") == "['numpy']"


def test_a_distribution_brings_numpy_for_its_generator(tmp_path: Path) -> None:
    trace = tmp_path / "v.trace"
    example = str(ROOT / "examples/vehicle/vehicle.toml")
    assert _loaded("run", example, "--until", "50ms", "-o", str(trace)) == "['numpy']"
