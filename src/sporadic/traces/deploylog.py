"""The deploys of a trace and the thread table, fed by the summary's pass and its readers.

Kept apart from ``summary`` so that module stays small; ``summary`` re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Deploy:
    """One deploy request and the times of its phases (ns; None: the phase did not happen).

    Each time is that of the first record of the phase for this deploy. ``failed`` is the time
    of its ``error`` record and ``thread`` the id of the module's thread once instantiated.
    """

    name: str
    request: int | None
    sha256: str | None
    size: int | None
    args: list[str]
    source: str | None
    requested: int
    chunks: int = 0
    uploaded: int | None = None
    instantiated: int | None = None
    thread: int | None = None
    started: int | None = None
    exited: int | None = None
    exit_status: int | None = None
    stopped: int | None = None
    undeployed: int | None = None
    error: str | None = None
    failed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry of the summary's ``deploys`` list (docs/trace-format.md)."""
        return {
            "name": self.name,
            "request": self.request,
            "sha256": self.sha256,
            "size": self.size,
            "args": list(self.args),
            "source": self.source,
            "requested": self.requested,
            "chunks": self.chunks,
            "uploaded": self.uploaded,
            "instantiated": self.instantiated,
            "thread": self.thread,
            "started": self.started,
            "exited": self.exited,
            "exit_status": self.exit_status,
            "stopped": self.stopped,
            "undeployed": self.undeployed,
            "error": self.error,
        }


@dataclass
class DeployLog:
    """The deploys of a trace, fed its ``deploy`` records in order.

    Records are matched to their request by the ``request`` id of their info, except those
    that name the module's thread (``start``, ``exit``, ``stop``, ``undeploy``): these go to
    the deploy that made that thread, since a ``stop`` or ``start`` may come from a control
    request (or, for a hot deploy, the replacing request) and an ``exit`` carries no id.
    """

    deploys: list[Deploy] = field(default_factory=list)
    _by_request: dict[int, Deploy] = field(default_factory=dict)
    _by_thread: dict[int, Deploy] = field(default_factory=dict)

    def feed(self, t: int, module: str, phase: str, info: Any) -> None:
        info = info if isinstance(info, dict) else {}
        if phase == "request":
            deploy = Deploy(
                name=module,
                request=info.get("request"),
                sha256=info.get("sha256"),
                size=info.get("size"),
                args=list(info.get("args") or ()),
                source=info.get("source"),
                requested=t,
            )
            self.deploys.append(deploy)
            if deploy.request is not None:
                self._by_request[deploy.request] = deploy
            return
        request = info.get("request")
        by_request = self._by_request.get(request) if isinstance(request, int) else None
        thread = info.get("thread")
        if phase == "instantiate":
            if by_request is not None:
                if by_request.instantiated is None:
                    by_request.instantiated = t
                by_request.thread = thread
                if thread is not None:
                    self._by_thread[thread] = by_request
            return
        if phase in ("start", "exit", "stop", "undeploy"):
            deploy = self._by_thread.get(thread) if thread is not None else by_request
            if deploy is None or deploy.name != module:
                return
            if phase == "start":
                deploy.started = t if deploy.started is None else deploy.started
            elif phase == "exit":
                if deploy.started is not None and deploy.exited is None:
                    deploy.exited = t
                    deploy.exit_status = info.get("status")
            elif phase == "stop":
                deploy.stopped = t if deploy.stopped is None else deploy.stopped
            else:
                deploy.undeployed = t if deploy.undeployed is None else deploy.undeployed
            return
        if by_request is None:
            return
        if phase == "chunk":
            by_request.chunks += 1
        elif phase == "uploaded":
            by_request.uploaded = t if by_request.uploaded is None else by_request.uploaded
        elif phase == "error" and by_request.failed is None:
            by_request.failed = t
            by_request.error = str(info.get("message"))


def thread_table(header: dict[str, Any]) -> dict[int, tuple[str, str | None]]:
    """Thread id -> (name, kind) from the header's ``threads`` table."""
    return {t["id"]: (t["name"], t.get("kind")) for t in header.get("threads", ())}


def add_thread(
    threads: dict[int, tuple[str, str | None]], home: dict[int, int], record: tuple
) -> None:
    """Enter a ``thread_new`` record's thread in ``threads``, and its SC in ``home``."""
    _, _, thread, name, kind, *rest = record
    threads[thread] = (name, kind)
    if len(rest) > 2:  # priority, domain, sc, ...
        home[rest[2]] = thread
