"""The same run gives the same trace bytes from any working directory: the header's paths are
relative to the description's folder (Simulation.header, docs/trace-format.md *Header*)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sporadic.traces import TraceReader
from tests.helpers import ROOT

# A WebAssembly partition (a wasm path in [[partition]]) and a deploy (a wasm path in
# [[deploy]]), both reached through "..": what the loaders resolve against the folder as given.
DESCRIPTION = """
[system]
name = "paths"
duration = "30ms"

[[partition]]
name = "nbody"
priority = 10
budget = "5ms"
period = "10ms"
release = { period = "10ms" }
job = { wasm = "../wasm/nbody.wasm", args = ["10"] }

[[deploy]]
at = "2ms"
wasm = "../wasm/hello.wasm"
"""


def sporadic(cwd: Path, *args: str) -> None:
    """``sporadic ARGS`` in a fresh interpreter whose working directory is ``cwd``."""
    subprocess.run(
        [sys.executable, "-m", "sporadic", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """project/desc/paths.toml, project/wasm/*.wasm, project/micro/*.system."""
    root = tmp_path / "project"
    (root / "desc").mkdir(parents=True)
    (root / "wasm").mkdir()
    (root / "micro").mkdir()
    (root / "elsewhere").mkdir()
    (root / "desc" / "paths.toml").write_text(DESCRIPTION)
    for name in ("nbody.wasm", "hello.wasm"):
        shutil.copy(ROOT / "examples" / "wasm" / name, root / "wasm" / name)
    # a Microkit file with warnings, whose messages start with the file's path
    shutil.copy(ROOT / "examples" / "microkit" / "microkit_ethernet.system", root / "micro")
    return root


@pytest.mark.parametrize(
    ("description", "until"),
    [("desc/paths.toml", "30ms"), ("micro/microkit_ethernet.system", "2ms")],
    ids=["toml-wasm-deploy", "microkit"],
)
def test_same_run_from_two_working_directories_is_byte_identical(
    project: Path, description: str, until: str
) -> None:
    absolute = project / description
    sporadic(project, "run", description, "--until", until, "-o", "a.trace")
    sporadic(project / "elsewhere", "run", str(absolute), "--until", until, "-o", "b.trace")

    first = (project / "a.trace").read_bytes()
    second = (project / "elsewhere" / "b.trace").read_bytes()

    assert first == second
    with TraceReader(project / "a.trace") as reader:
        system = reader.header["system"]
    assert system["path"] == absolute.name
    if description.endswith(".toml"):
        assert system["partitions"][0]["wasm"]["path"] == "../wasm/nbody.wasm"
        assert system["deploys"][0]["wasm"] == "../wasm/hello.wasm"
    else:
        assert system["microkit"]["path"] == "microkit_ethernet.system"
        assert system["microkit"]["warnings"][0] == (
            "microkit_ethernet.system:15:5: unused memory region 'paddinga'"
        )
