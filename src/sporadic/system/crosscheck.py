"""A second opinion on every module: each WASI command job of a description, run once on each
installed engine with its own arguments, and what differs between them (``check --engines``).

A job is a partition's wasm job or a ``[[deploy]]``; it runs as a job would (argv[0] the
module's file name or the deploy's name, its memory and table limits, ``max_job_time`` or the
agent's ``max_run_time`` as the cap), outside any simulation. What is compared is what a user
sees: the output lines (not their times) and how the run ended (``exit N`` or its trap). A
module that imports the ``sporadic`` host API runs on wasmtime only, so it is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sporadic.description import System
from sporadic.description.model import AgentSettings
from sporadic.errors import WasmError
from sporadic.wasm.commands import (
    ENGINES,
    WASMER_MISSING,
    CommandEngine,
    CommandRun,
    command_engine,
    wasmer_installed,
)
from sporadic.wasm.engine import HOST_MODULE, WasmEngine, read_module

TABLES = 10_000  # what the runner gives a deployed module


@dataclass(frozen=True)
class CommandJob:
    """One WASI command job of a description and how it is run."""

    name: str
    kind: str  # "partition" or "deploy"
    path: Path
    argv: tuple[str, ...]
    cap_ns: int
    memory: int
    tables: int


@dataclass
class JobCheck:
    """One job's runs, by engine; ``errors`` are engines it could not load on; ``skipped``
    says why it was not run at all."""

    job: CommandJob
    runs: dict[str, CommandRun] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None

    def differences(self) -> list[str]:
        """What differs between the engines, first engine as the reference; [] when nothing."""
        if self.skipped is not None:
            return []
        out = [f"{engine}: cannot run it: {error}" for engine, error in self.errors.items()]
        if len(self.runs) < 2:
            return out
        (ref_name, ref), *others = self.runs.items()
        for name, run in others:
            if run.status != ref.status:
                out.append(f"status: {ref_name} {ref.status}, {name} {run.status}")
            mine = [text for _, text in ref.lines]
            theirs = [text for _, text in run.lines]
            for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
                if a != b:
                    out.append(f"line {i + 1}: {ref_name} {a!r}, {name} {b!r}")
                    break
            if len(mine) != len(theirs):
                out.append(f"lines: {ref_name} printed {len(mine)}, {name} {len(theirs)}")
        return out


@dataclass
class EngineCheck:
    """Every command job of a description checked on ``engines``; ``missing`` says why an
    engine is not there (not installed)."""

    engines: list[str]
    missing: dict[str, str]
    jobs: list[JobCheck]

    @property
    def differing(self) -> list[JobCheck]:
        """The jobs on which the engines do not agree."""
        return [j for j in self.jobs if j.differences()]


def command_jobs(system: System) -> list[CommandJob]:
    """The WASI command jobs of ``system``: its partitions' wasm jobs, then its deploys."""
    jobs = [
        CommandJob(
            p.name,
            "partition",
            Path(p.wasm.path),
            (Path(p.wasm.path).name, *p.wasm.args),
            p.wasm.max_job_time,
            p.wasm.memory,
            p.wasm.tables,
        )
        for p in system.partitions
        if p.wasm is not None
    ]
    agent = system.agent or AgentSettings()
    jobs += [
        CommandJob(
            d.name,
            "deploy",
            Path(d.wasm),
            (d.name, *d.args),
            agent.max_run_time,
            agent.max_memory,
            TABLES,
        )
        for d in system.deploys
    ]
    return jobs


def check_engines(system: System) -> EngineCheck:
    """Run every command job of ``system`` once on each installed engine and compare."""
    missing = {} if wasmer_installed() else {"wasmer": WASMER_MISSING}
    names = [e for e in ENGINES if e not in missing]
    checks = [JobCheck(job) for job in command_jobs(system)]
    checker = WasmEngine(system.fuel_per_us)
    for check in checks:
        check.skipped = _host_api(checker, check.job.path)
    engines: dict[str, CommandEngine] = {}
    try:
        for name in names:
            engines[name] = command_engine(name, system.fuel_per_us, system.wasmer_scale)
            for check in checks:
                if check.skipped is None:
                    _run(engines[name], check)
    finally:
        for engine in engines.values():
            engine.close()
    return EngineCheck(names, missing, checks)


def _host_api(checker: WasmEngine, path: Path) -> str | None:
    """Why a module cannot be compared (it imports the host API), or None."""
    try:
        loaded = checker.load_bytes(read_module(path), path)
    except WasmError:
        return None  # each engine reports it
    names = sorted({i.name for i in loaded.module.imports if i.module == HOST_MODULE})
    if names:
        return f"imports the {HOST_MODULE} host API ({', '.join(names)}), which is wasmtime-only"
    return None


def _run(engine: CommandEngine, check: JobCheck) -> None:
    job = check.job
    try:
        module = engine.load(job.path, None, job.memory, job.tables)
    except WasmError as e:
        check.errors[engine.name] = str(e)
        return
    check.runs[engine.name] = engine.run(module, list(job.argv), job.cap_ns)


__all__ = ["CommandJob", "EngineCheck", "JobCheck", "check_engines", "command_jobs"]
