"""What the commands share: the console they print to, and errors turned into one line that
names the file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sporadic.errors import SporadicError

if TYPE_CHECKING:
    from rich.console import Console


def console_for(width: int = 100) -> Console:
    """$COLUMNS, else the terminal's width, else ``width`` columns (piped output); never
    highlighting (user text is printed as text, see ``traces/table.py``)."""
    from sporadic.traces.table import quiet_console

    console = quiet_console()
    if os.environ.get("COLUMNS", "").isdigit() or console.is_terminal:
        return console
    return quiet_console(width)


@contextlib.contextmanager
def header_errors(path: Path) -> Iterator[None]:
    """The trace writer's refusals of a header (over the format's size limit, an integer
    msgpack cannot hold) as one line naming the description, for ``check`` and ``run`` alike."""
    try:
        yield
    except (ValueError, OverflowError) as e:
        raise SporadicError(f"{path}: {e}") from None


@contextlib.contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OS error while working on ``path`` (a directory, a full disk), even one raised in a
    trio task and so inside an exception group, as one line naming the file: its own, else
    ``path``."""
    try:
        yield
    except OSError as e:
        raise SporadicError(f"{e.filename or path}: {e.strerror or e}") from None
    except BaseExceptionGroup as group:
        leaf = first_leaf(group)
        if isinstance(leaf, OSError):
            raise SporadicError(f"{leaf.filename or path}: {leaf.strerror or leaf}") from None
        raise


def first_leaf(group: BaseExceptionGroup) -> BaseException:
    """The first exception inside ``group`` (groups nest), re-raised for ``main`` to report."""
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
