"""Compiles the simulator's hot modules with mypyc when a C compiler is there (docs/performance.md).

Everything else of the build is in pyproject.toml. ``SPORADIC_PURE=1`` installs pure Python, as
does a machine without a C compiler (with a notice); both builds write byte-identical traces.
"""

import os
import shutil
import sys
import sysconfig

from setuptools import setup

# The kernel's hot path: the scheduler core and queues, refills, the kernel objects, and the
# partitions' job bookkeeping that runs at every release and completion; and the trace writer's
# count of a batch's kinds. (The summary's pass, compiled, measured no faster: it stays Python.)
COMPILED = [
    "src/sporadic/scheduler/core.py",
    "src/sporadic/scheduler/queues.py",
    "src/sporadic/scheduler/refills.py",
    "src/sporadic/scheduler/states.py",
    "src/sporadic/scheduler/domains.py",
    "src/sporadic/kernel/dispatch.py",
    "src/sporadic/kernel/endpoint.py",
    "src/sporadic/kernel/fastpath.py",
    "src/sporadic/kernel/kernel.py",
    "src/sporadic/kernel/notification.py",
    "src/sporadic/kernel/objects.py",
    "src/sporadic/kernel/reply.py",
    "src/sporadic/kernel/schedcontext.py",
    "src/sporadic/kernel/syscalls.py",
    "src/sporadic/kernel/tcb.py",
    "src/sporadic/system/jobs.py",
    "src/sporadic/system/runtimes.py",
    "src/sporadic/traces/kinds.py",
]


def _notice(text: str) -> None:
    print(f"sporadic: {text}", file=sys.stderr)


def _ext_modules() -> list:
    if os.environ.get("SPORADIC_PURE") == "1":
        _notice("SPORADIC_PURE=1: installing pure Python, no compiled modules")
        return []
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        _notice(f"no C compiler ({cc}): installing pure Python, no compiled modules")
        return []
    from mypyc.build import mypycify

    return mypycify(COMPILED, opt_level="3")


setup(ext_modules=_ext_modules())
