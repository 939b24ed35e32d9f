"""Which WebAssembly engine runs each WASI command job, and how its time becomes simulated time.

``[cpu] engine`` is a description's default, ``engine`` in a partition's wasm job overrides it,
and ``sporadic run --engine`` overrides both (``with_engine``). wasmtime counts fuel, so its
runs are exact and reproducible; wasmer has no fuel, so a job's time is measured and scaled by
``[cpu] wasmer_scale``. Reactors (protection domains) use the ``sporadic`` host API, which only
wasmtime provides: asking for wasmer there is an error naming the field.
"""

from __future__ import annotations

import dataclasses
import math

from sporadic.description.fields import FieldReader
from sporadic.description.model import System
from sporadic.errors import SporadicError

ENGINES = ("wasmtime", "wasmer")
DEFAULT_ENGINE = "wasmtime"
MAX_WASMER_SCALE = 1e6  # a target a million times slower than the host: beyond any CPU
REACTOR_ONLY = (
    "engine: a reactor (the sporadic host API: notify, ppcall, now...) runs on wasmtime only; "
    "wasmer runs WASI command jobs"
)


def read_engine(fields: FieldReader, d: dict, loc: tuple) -> str | None:
    """``d["engine"]``: one of ``ENGINES``, or None when it is not given."""
    engine = fields.get(d, "engine", str, None, loc)
    if engine is not None and engine not in ENGINES:
        fields.error(
            loc, "engine", loc[2], f"engine: {engine!r} is not one of {', '.join(ENGINES)}"
        )
    return engine


def cpu_engine(fields: FieldReader, data: dict) -> tuple[str, float]:
    """``[cpu] engine`` (the default for command jobs) and ``[cpu] wasmer_scale``."""
    loc = ("cpu", 0, "[cpu]")
    cd = fields.get(data, "cpu", dict, {}, loc)
    engine = read_engine(fields, cd, loc) or DEFAULT_ENGINE
    scale = fields.get(cd, "wasmer_scale", (int, float), 1.0, loc)
    if not (math.isfinite(scale) and 0 < scale <= MAX_WASMER_SCALE):
        fields.error(
            loc, "wasmer_scale", "[cpu]", f"wasmer_scale: must be > 0 and <= {MAX_WASMER_SCALE:g}"
        )
    return engine, float(scale)


def resolve_engines(system: System) -> System:
    """``system`` with every command job's and deploy's engine set: its own, else the default."""
    return _apply(system, system.engine, only_unset=True)


def with_engine(system: System, engine: str) -> System:
    """``system`` with ``engine`` for every WASI command job and deploy (``run --engine``).
    Reactors keep wasmtime; a system with no command job to run on it is an error."""
    if engine not in ENGINES:
        raise SporadicError(f"--engine: {engine!r} is not one of {', '.join(ENGINES)}")
    jobs = [p for p in system.partitions if p.wasm is not None]
    if not (jobs or system.deploys or system.agent):
        raise SporadicError(
            f"--engine {engine}: {system.path} has no WASI command job (reactors, the "
            "protection domains with a wasm module, run on wasmtime only)"
        )
    return _apply(system, engine, only_unset=False)


def engines_used(system: System) -> list[str]:
    """The engines the modules of ``system`` run on, in ``ENGINES`` order (a trace's header)."""
    used = {p.wasm.engine for p in (*system.partitions, *system.protection_domains) if p.wasm}
    used |= {d.engine for d in system.deploys}
    if system.agent is not None:
        used.add(system.engine)
    return [e for e in ENGINES if e in used]


def header_keys(system: System) -> dict[str, str]:
    """A trace header's ``engine`` (the engines modules run on, ``+`` between two) and
    ``timing`` (``measured`` when any runs on wasmer, else ``fuel``); none without modules."""
    used = engines_used(system)
    if not used:
        return {}
    return {"engine": "+".join(used), "timing": "measured" if "wasmer" in used else "fuel"}


def footer_keys(system: System, started: set[str]) -> dict[str, str]:
    """What a trace's footer adds when the run measured time its header did not expect (a
    deploy over the socket asked for wasmer): ``engine`` and ``timing`` as they turned out."""
    header = header_keys(system)
    if "wasmer" not in started or header.get("timing") == "measured":
        return {}
    used = set(engines_used(system)) | started
    return {"engine": "+".join(e for e in ENGINES if e in used), "timing": "measured"}


def _apply(system: System, engine: str, only_unset: bool) -> System:
    def pick(current: str | None) -> str:
        return current if only_unset and current is not None else engine

    partitions = tuple(
        dataclasses.replace(p, wasm=dataclasses.replace(p.wasm, engine=pick(p.wasm.engine)))
        if p.wasm is not None
        else p
        for p in system.partitions
    )
    deploys = tuple(dataclasses.replace(d, engine=pick(d.engine)) for d in system.deploys)
    return dataclasses.replace(
        system, partitions=partitions, deploys=deploys, engine=pick(system.engine)
    )


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "REACTOR_ONLY",
    "cpu_engine",
    "engines_used",
    "footer_keys",
    "header_keys",
    "read_engine",
    "resolve_engines",
    "with_engine",
]
