"""The compiled build (setup.py, mypyc) against the pure-Python sources: never stale, and
writing the same bytes (docs/performance.md)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sporadic.kernel.kernel
from tests.helpers import ROOT

SRC = ROOT / "src" / "sporadic"
COMPILED = sporadic.kernel.kernel.__file__.endswith(".so")
needs_compiled = pytest.mark.skipif(
    not COMPILED, reason="the pure-Python build is running: no compiled modules to compare"
)
# one system of each kind: fixed-priority budgets, IPC and donation, distributions, WebAssembly,
# a Microkit system with passive servers
EXAMPLES = [
    "examples/vehicle/vehicle.toml",
    "examples/pipeline/pipeline.toml",
    "examples/isolation/isolation.toml",
    "examples/nbody/nbody.toml",
    "examples/microkit/microkit_passive_server.system",
]
RUN = (
    "import sys; from sporadic.simulation import load, simulate; "
    "simulate(load(sys.argv[1]), sys.argv[2], until=sys.argv[3])"
)


def _compiled_names() -> list[str]:
    return [
        line.strip().strip('",')
        for line in (ROOT / "setup.py").read_text().splitlines()
        if line.strip().startswith('"src/sporadic/')
    ]


def test_setup_compiles_only_modules_that_exist() -> None:
    names = _compiled_names()
    assert len(names) == 18
    assert all((ROOT / name).is_file() for name in names)


@needs_compiled
def test_every_listed_module_is_compiled_and_none_is_older_than_its_source() -> None:
    stale = []
    for name in _compiled_names():
        source = ROOT / name
        built = list(source.parent.glob(source.stem + ".cpython-*.so"))
        assert len(built) == 1, f"{name} is not compiled"
        if built[0].stat().st_mtime < source.stat().st_mtime:
            stale.append(name)
    assert stale == [], "edited after compiling: `make test` compiles them again"


def _run(pythonpath: Path | None, example: str, out: Path) -> str:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    subprocess.run(
        [sys.executable, "-c", RUN, str(ROOT / example), str(out), "300ms"],
        check=True,
        env=env,
        cwd=ROOT,
    )
    return hashlib.sha256(out.read_bytes()).hexdigest()


@needs_compiled
def test_compiled_and_pure_builds_write_byte_identical_traces(tmp_path: Path) -> None:
    pure = tmp_path / "pure"
    shutil.copytree(SRC, pure / "sporadic", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    probe = "import sporadic.kernel.kernel as k; print(k.__file__.endswith('.so'))"
    env = {**os.environ, "PYTHONPATH": str(pure)}
    flags = [
        subprocess.run(
            [sys.executable, "-c", probe], env=e, capture_output=True, text=True, check=True
        ).stdout.strip()
        for e in (env, dict(os.environ))
    ]
    assert flags == ["False", "True"]
    for example in EXAMPLES:
        name = Path(example).stem
        assert _run(pure, example, tmp_path / f"{name}.pure.trace") == _run(
            None, example, tmp_path / f"{name}.compiled.trace"
        ), example
