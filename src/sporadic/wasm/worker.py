"""A module run on a thread of its own, so that it can wait inside a host call.

Some host calls (``ppcall``, ``now``, ``yield``) return what other threads did, which is known
only once simulated time has reached the call. A module that makes them runs on a worker thread:
each such call hands a value to the kernel's thread and blocks until the answer comes back. Exactly
one of the two threads runs at a time, so the run is as deterministic as a direct call. An error
on the worker's thread is handed back and raised on the kernel's, so that it can never leave the
kernel waiting for a hand-off that will not come.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class Abandoned(Exception):
    """Raised in a waiting host call whose job is over, so that the module unwinds."""


class _Failed:
    """What the worker hands over when ``body`` raised: the exception, to raise again."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_ABANDON = object()


class Worker:
    """Runs ``body`` on its own thread; ``hand_off`` (on that thread) and ``resume`` (on the
    kernel's) pass control back and forth. The value of ``body`` is the last thing handed over;
    if ``body`` raises, ``start`` or ``resume`` raises the same exception."""

    def __init__(self, body: Callable[[], Any]) -> None:
        self.body = body
        self.to_kernel: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.to_module: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def start(self) -> Any:
        """Run ``body`` until its first hand-off or its end; return what it handed over."""
        self.thread = threading.Thread(target=self._main, name="wasm-module", daemon=True)
        self.thread.start()
        return self._receive()

    def _main(self) -> None:
        try:
            result = self.body()
        except BaseException as e:  # handed to the kernel's thread, never lost on this one
            result = _Failed(e)
        self.to_kernel.put(result)

    def _receive(self) -> Any:
        item = self.to_kernel.get()
        if isinstance(item, _Failed):
            raise item.error
        return item

    def hand_off(self, item: Any) -> Any:
        """On the module's thread: give the kernel ``item``, wait for its answer."""
        self.to_kernel.put(item)
        answer = self.to_module.get()
        if answer is _ABANDON:
            raise Abandoned()
        return answer

    def resume(self, answer: Any) -> Any:
        """On the kernel's thread: answer the last hand-off, wait for the next one (or the end)."""
        self.to_module.put(answer)
        return self._receive()

    def abandon(self) -> None:
        """The job is over (or the simulation stops): let a suspended module unwind."""
        if self.thread is not None and self.thread.is_alive():
            self.to_module.put(_ABANDON)
            self.thread.join()


__all__ = ["Abandoned", "Worker"]
