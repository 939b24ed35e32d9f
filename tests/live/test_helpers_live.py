"""The pieces of the live side that need no server: addresses, tokens, the watch table."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from sporadic import records as ev
from sporadic.errors import SporadicError
from sporadic.live.run import is_loopback, parse_address, read_token
from sporadic.live.watch import Watch


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:7070", ("::1", 7070)),
        ("h:1", ("h", 1)),
        ("7070", ("127.0.0.1", 7070)),
        (":0", ("127.0.0.1", 0)),
    ],
)
def test_addresses_are_host_colon_port(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["host:", "host:port", "h:70000", ""])
def test_an_address_without_host_and_port_is_refused(text: str) -> None:
    with pytest.raises(SporadicError) as e:
        parse_address(text)
    assert str(e.value) == f"{text!r} is not HOST:PORT"


def test_only_loopback_addresses_go_without_a_token() -> None:
    assert [is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "localhost")] == [True] * 4
    assert [is_loopback(h) for h in ("0.0.0.0", "10.0.0.1", "::", "example.org")] == [False] * 4


def test_the_token_comes_from_the_file_before_the_environment(tmp_path: Path) -> None:
    f = tmp_path / "token"
    f.write_text("s3cret\n")
    assert read_token(f, {"SPORADIC_TOKEN": "env"}) == "s3cret"
    assert read_token(None, {"SPORADIC_TOKEN": "env"}) == "env"
    assert read_token(None, {}) is None
    with pytest.raises(SporadicError) as e:
        read_token(tmp_path / "missing", {})
    assert (
        str(e.value) == f"{tmp_path / 'missing'}: cannot read the token: No such file or directory"
    )


def test_watch_keeps_latency_and_misses_per_task_and_names_new_threads() -> None:
    watch = Watch({"1": "control"})
    watch.add(
        [
            [ev.JOB_RELEASE, 0, 1, 1, 1_000_000],
            [ev.JOB_START, 0, 1, 1],
            [ev.JOB_END, 300_000, 1, 1],
            [ev.JOB_RELEASE, 1_000_000, 1, 2, 2_000_000],
            [ev.JOB_START, 1_200_000, 1, 2],
            [ev.DEADLINE_MISS, 2_000_000, 1, 2, 2_000_000],
            [ev.THREAD_NEW, 2_100_000, 5, "nbody", "module", 20, 0, 3, 1_000_000, 10_000_000],
        ],
        missed=4,
    )
    assert watch.latency == {1: [0, 200_000]} and watch.misses == {1: 1} and watch.jobs == {1: 1}
    assert watch.names[5] == "nbody"
    console = Console(width=100, record=True)
    console.print(watch.table())
    text = console.export_text()
    assert "t = 2100us (4 records missed: the watch fell behind)" in text
    assert "│ control │    1 │      1 │     0ns │   200us │   200us │" in text
