"""Build the validation root task against real seL4 sources and boot it under qemu.

The kernel and its libraries are configured and built once per source tree into a cache
(``$SPORADIC_CACHE`` or ``~/.cache/sporadic``); a scenario is then one ``scenario.h`` and a
ninja run that recompiles the root task and relinks the image (about 5 s). The image boots on
``qemu-system-aarch64 -machine virt -cpu cortex-a53`` with ``-icount shift=0,sleep=off``: one
guest instruction is one nanosecond and every run of an image gives the same output.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from importlib import resources
from pathlib import Path

from sporadic.errors import ValidationError

PROJECT = "sporadic_validate"
IMAGE = f"images/{PROJECT}-image-arm-qemu-arm-virt"
QEMU = ["qemu-system-aarch64", "-machine", "virt", "-cpu", "cortex-a53", "-m", "2G"]
ICOUNT = "shift=0,sleep=off"
TOOLS = {
    "aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu",
    "aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu",
    "cmake": "cmake",
    "ninja": "ninja-build",
    "qemu-system-aarch64": "qemu-system-arm",
    "dtc": "device-tree-compiler",
    "xmllint": "libxml2-utils",
    "cpio": "cpio",
    "protoc": "protobuf-compiler",
}
BUILD_MODULES = ("jinja2", "ply", "pyfdt", "yaml", "elftools", "six", "future", "jsonschema")
INSTALL_HINT = (
    "apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu g++-aarch64-linux-gnu "
    "binutils-aarch64-linux-gnu qemu-system-arm ipxe-qemu device-tree-compiler libxml2-utils "
    "cpio protobuf-compiler cmake ninja-build"
)


def check_toolchain() -> None:
    """Every program and Python module the seL4 build and qemu need, or one error naming the
    missing ones and how to install them."""
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if not Path("/usr/lib/ipxe/qemu/efi-virtio.rom").exists() and "qemu-system-arm" not in missing:
        missing.append("ipxe-qemu")
    if missing:
        raise ValidationError(
            f"missing Debian packages: {' '.join(missing)}; install them with: {INSTALL_HINT}"
        )
    import importlib.util

    modules = [m for m in BUILD_MODULES if importlib.util.find_spec(m) is None]
    if modules:
        raise ValidationError(
            f"the seL4 build needs Python modules {', '.join(modules)}: "
            "pip install 'sporadic[validate]' (it brings sel4-deps)"
        )


def sources(given: str | os.PathLike[str] | None) -> Path:
    """The seL4 source tree or tarball: ``given``, else ``$SPORADIC_SEL4_SRC``."""
    value = given or os.environ.get("SPORADIC_SEL4_SRC")
    if not value:
        raise ValidationError(
            "no seL4 sources: give --sel4-src DIR|TGZ or set SPORADIC_SEL4_SRC (a tree with "
            "kernel/, tools/seL4/ and projects/ as seL4's CMake tools lay them out)"
        )
    path = Path(value).expanduser()
    if not path.exists():
        raise ValidationError(f"{path}: no such seL4 source tree or tarball")
    return path


def _cache_root() -> Path:
    base = os.environ.get("SPORADIC_CACHE") or Path.home() / ".cache" / "sporadic"
    return Path(base)


def _digest(src: Path) -> str:
    h = hashlib.sha256()
    if src.is_file():
        h.update(src.read_bytes())
    else:
        h.update(str(src.resolve()).encode())
    for name in ("CMakeLists.txt", "settings.cmake", "src/main.c"):
        h.update(_roottask_file(name).encode())
    return h.hexdigest()[:16]


def _roottask_file(name: str) -> str:
    return resources.files("sporadic.validation").joinpath("roottask", name).read_text()


def _tree(src: Path, cache: Path) -> Path:
    """The source tree in the cache, with the root task added as a project."""
    tree = cache / "src"
    if not (tree / "kernel").is_dir():
        tmp = cache / "src.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        if src.is_file():
            with tarfile.open(src) as tar:
                tar.extractall(tmp, filter="data")
        else:
            shutil.copytree(src, tmp, symlinks=True)
        for need in ("kernel", "tools/seL4", "projects"):
            if not (tmp / need).is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
                raise ValidationError(f"{src}: not an seL4 source tree (no {need}/)")
        tmp.rename(tree)
    project = tree / "projects" / PROJECT
    (project / "src").mkdir(parents=True, exist_ok=True)
    for name in ("CMakeLists.txt", "settings.cmake", "src/main.c"):
        target = project / name
        text = _roottask_file(name)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
    return tree


def _run(cmd: list[str], cwd: Path, log: Path, timeout: float) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with open(log, "w") as out:
        done = subprocess.run(
            cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise ValidationError(f"{' '.join(cmd[:2])} failed (log: {log}):\n{tail}")


def build(header: str, src: Path) -> Path:
    """The boot image of the root task running ``header``'s scenario."""
    check_toolchain()
    cache = _cache_root() / f"sel4-{_digest(src)}"
    cache.mkdir(parents=True, exist_ok=True)
    tree = _tree(src, cache)
    out = tree / "build"
    if not (out / "build.ninja").exists():
        out.mkdir(exist_ok=True)
        (tree / "projects" / PROJECT / "src" / "scenario.h").write_text(header)
        _run(
            [
                "cmake",
                "-G",
                "Ninja",
                "-DCROSS_COMPILER_PREFIX=aarch64-linux-gnu-",
                "-C",
                f"../projects/{PROJECT}/settings.cmake",
                f"../projects/{PROJECT}",
            ],
            out,
            cache / "cmake.log",
            600,
        )
    scenario_h = tree / "projects" / PROJECT / "src" / "scenario.h"
    if not scenario_h.exists() or scenario_h.read_text() != header:
        scenario_h.write_text(header)
    _run(["ninja"], out, cache / "ninja.log", 900)
    return out / IMAGE


def boot(image: Path, timeout: float = 120.0) -> str:
    """The root task's output: everything qemu prints up to ``SCN DONE``."""
    cmd = [*QEMU, "-nographic", "-monitor", "none", "-serial", "stdio", "-kernel", str(image)]
    cmd += ["-icount", ICOUNT]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    watchdog = threading.Timer(timeout, proc.kill)  # a hung guest cannot hang the harness
    watchdog.start()
    out = b""
    try:
        assert proc.stdout is not None
        while b"SCN DONE" not in out and b"SCN ERROR" not in out:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            out += chunk
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
    text = out.decode(errors="replace")
    if "SCN DONE" not in text:
        tail = "\n".join(text.splitlines()[-10:])
        raise ValidationError(f"the root task did not finish under qemu:\n{tail}")
    return text
