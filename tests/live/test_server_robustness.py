"""The agent's server under abuse, against a real ``sporadic run --listen`` (tests/live/conftest).

- a deterministic fuzz (``random.Random(1)``): hundreds of malformed inputs over fresh and reused
  connections, each answered as docs/agent-protocol.md says (an error response with the exact
  message, or an error with id nil and a closed connection for a bad frame); the run goes on,
  the server still deploys, and its ``malformed`` counter counts exactly the bad requests and
  bad frames;
- 50 clients deploying at once;
- the ``sporadic emit`` command against the server;
- the server bugs found on the way, each with the test that now holds the fix: a period the
  kernel refuses, a followed deploy whose module is stopped, a follower that leaves, a busy
  module beside other clients, arguments the page cannot carry, an ext value's name.
"""

from __future__ import annotations

import random
import string
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import pytest
import trio

from sporadic.agent.protocol import FrameDecoder
from sporadic.live.client import Connection
from tests.helpers import ROOT
from tests.live.conftest import LiveServer

WASM_DIR = ROOT / "examples" / "wasm"
HELLO = (WASM_DIR / "hello.wasm").read_bytes()
NBODY = WASM_DIR / "nbody.wasm"
REACTORS = {name: (WASM_DIR / f"{name}.wasm").read_bytes() for name in ("control", "filter")}
MAGIC = b"\x00asm"
EMPTY_MODULE = MAGIC + b"\x01\x00\x00\x00"

MAX_FRAME = 16 * 1024 * 1024  # the default [agent] max_frame
MAX_ITEMS = 4096  # the server's cap on any array or map in a request
MAX_MODULE_SIZE = 64 * 1024  # the fuzz server's [agent] max_module_size
MAX_PRIORITY = 200  # [agent] max_priority's default
MIN_BUDGET = 20_000  # [kernel] min_budget's default
KNOWN = "auth, deploy, list, logs, start, status, stop, subscribe, undeploy"
NAME_RULE = "must be 1 to 64 letters, digits, '_', '-' or '.', got "
NAME_CHARS = string.ascii_letters + string.digits + "_-."

FUZZ_AGENT = {"max_module_size": '"64KiB"'}


# ================================================================================ wire helpers


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def kind(value: Any) -> str:
    """msgpack's name for a value's type, as the protocol's messages spell it."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, bytes):
        return "bin"
    if isinstance(value, msgpack.ExtType):
        return "ext"
    names = {int: "int", float: "float", str: "str", list: "list", dict: "map"}
    return names[type(value)]


def show(value: Any) -> str:
    """How an error message quotes a value the client sent: a long one is cut to 32 chars."""
    if isinstance(value, str | bytes):
        return repr(value) if len(value) <= 32 else f"{value[:32]!r}..."
    if value is None:
        return "nil"
    if isinstance(value, bool | int | float):
        return repr(value)
    return kind(value)


class Raw:
    """A connection that sends bytes as given and reads the server's frames."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.decoder = FrameDecoder()
        self.pending: deque[dict[str, Any]] = deque()

    @classmethod
    async def open(cls, server: LiveServer) -> Raw:
        return cls(await trio.open_tcp_stream(server.host, server.port))

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def receive(self) -> dict[str, Any] | None:
        """The next frame, or None once the server has closed the connection."""
        while not self.pending:
            try:
                data = await self.stream.receive_some(65536)
            except trio.BrokenResourceError:  # a reset counts as closed too
                data = b""
            if not data:
                self.decoder.eof()  # the server never stops inside a frame
                return None
            self.pending.extend(self.decoder.feed(data))
        return self.pending.popleft()

    async def aclose(self) -> None:
        await self.stream.aclose()


async def deploy_follow(
    conn: Connection, name: str, module: bytes, args: list[str]
) -> tuple[list[str], dict[str, Any]]:
    """A followed deploy, as ``sporadic emit`` makes it: (the output lines, the final response)."""
    rid = await conn.send("deploy", name=name, module=module, args=args, follow=True)
    lines = []
    while True:
        msg = await conn.receive()
        assert msg["id"] == rid, msg
        if msg.get("event") == "stdout":
            lines.append(msg["line"])
        else:
            return lines, msg


# ================================================================================ fuzz cases


@dataclass
class Case:
    """One malformed input and what must come back.

    ``kind`` is "request" (a bad request: an error response, the connection stays open; the
    server counts it as malformed), "refused" (a well-formed deploy the server refuses before
    the run sees it: an error response, the connection stays open, not counted) or "frame" (a
    bad frame: an error with id nil, then the server closes; counted). ``eof``: half-close after
    sending, for inputs the server would otherwise wait on. ``prefix``: ``error`` is the start of
    the message (the rest is wasmtime's).
    """

    what: str
    data: bytes
    kind: str
    error: str
    reply_id: int | None = None
    eof: bool = False
    prefix: bool = False


VALID_FIELDS: dict[str, dict[str, Any]] = {
    "auth": {"token": "secret"},
    "deploy": {"name": "fuzz", "module": EMPTY_MODULE},
    "list": {},
    "logs": {"name": "fuzz"},
    "start": {"name": "fuzz"},
    "status": {},
    "stop": {"name": "fuzz"},
    "subscribe": {},
    "undeploy": {"name": "fuzz"},
}
KNOWN_FIELDS = {"v", "id", "op", "token", "name", "module", "args", "priority", "budget"}
KNOWN_FIELDS |= {"period", "deadline", "start", "follow", "kinds", "max_queue"}
NAMED_OPS = ("deploy", "logs", "start", "stop", "undeploy")
INT_FIELDS = [("deploy", f) for f in ("priority", "budget", "period", "deadline")]
INT_FIELDS.append(("subscribe", "max_queue"))
STR_FIELDS = [(op, "name") for op in NAMED_OPS] + [("auth", "token")]
BOOL_FIELDS = [("deploy", "start"), ("deploy", "follow")]
LIST_FIELDS = [("deploy", "args"), ("subscribe", "kinds")]
NOT_INT = [True, False, "1", 1.5, None, b"\x01", [1], {"a": 1}]
NOT_STR = [1, True, None, b"name", ["a"], 2.5, {"a": "b"}]
NOT_BIN = [MAGIC.decode(), 1, None, [0, 97], True, {"a": b""}]
NOT_BOOL = [1, 0, "true", None, b"", [], 1.0]
NOT_LIST = ["a", 1, None, b"a", {"a": "b"}, True, 0.5]
BAD_NAMES = [
    "a b",
    "",
    "x" * 65,
    "é",
    "a/b",
    "../up",
    "na\nme",
    " lead",
    "trail ",
    "\x00",
    "名前",
    "name with spaces and more than thirty-two characters",
    "tab\there",
    "semi;colon",
]


class Fuzz:
    """Makes the cases; ``rng`` decides everything, so the inputs are the same on every run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def rid(self) -> int:
        r = self.rng
        return r.choice([0, 1, -1, 2**63 - 1, -(2**63), 2**64 - 1, r.randint(2, 10**6)])

    def word(self, alphabet: str, low: int, high: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(low, high)))

    def valid_name(self) -> str:
        return self.word(NAME_CHARS, 1, 64)

    def request(self, op: str, rid: Any, **fields: Any) -> dict[str, Any]:
        return {"v": 1, "id": rid, "op": op, **VALID_FIELDS[op], **fields}

    def bad_request(self, what: str, msg: dict[str, Any], error: str, rid: int | None) -> Case:
        return Case(what, frame(pack(msg)), "request", error, rid)

    # -- bad requests: parse_request's messages

    def missing_envelope(self) -> Case:
        r = self.rng
        key, rid = r.choice(["v", "id", "op"]), self.rid()
        msg = self.request(r.choice(list(VALID_FIELDS)), rid)
        del msg[key]
        return self.bad_request(
            f"no {key}", msg, f"missing field {key!r}", None if key == "id" else rid
        )

    def bad_version(self) -> Case:
        r = self.rng
        v = r.choice([0, 2, 3, -1, 255, 2**32, 2**64 - 1, True, False, "1", "v1", 1.0, 1.5])
        v = r.choice([v, None, b"\x01", [1], {"v": 1}])
        rid = self.rid()
        msg = self.request(r.choice(list(VALID_FIELDS)), rid, v=v)
        return self.bad_request(
            f"v={v!r}",
            msg,
            f"unsupported protocol version {show(v)} (this server speaks 1)",
            rid,
        )

    def bad_id(self) -> Case:
        value = self.rng.choice(NOT_INT + ["7", 7.0, -0.5])
        msg = self.request(self.rng.choice(list(VALID_FIELDS)), value)
        return self.bad_request(
            f"id={value!r}", msg, f"field 'id' must be int, got {kind(value)}", None
        )

    def bad_op_type(self) -> Case:
        value = self.rng.choice([1, 0, True, None, 1.5, b"list", ["list"], {"op": "list"}])
        rid = self.rid()
        msg = {"v": 1, "id": rid, "op": value}
        return self.bad_request(
            f"op={value!r}", msg, f"field 'op' must be str, got {kind(value)}", rid
        )

    def unknown_op(self) -> Case:
        r = self.rng
        op = r.choice(
            [
                self.word(string.ascii_lowercase, 0, 12),
                self.word(string.printable, 1, 50),
                r.choice(["LIST", "Deploy", "deploy ", " status", "list\x00", "stat", "sübscribe"]),
            ]
        )
        if op in VALID_FIELDS:
            op += "!"
        rid = self.rid()
        msg = {"v": 1, "id": rid, "op": op}
        return self.bad_request(f"op={op!r}", msg, f"unknown op {show(op)} (known: {KNOWN})", rid)

    def unknown_field(self) -> Case:
        r = self.rng
        op = r.choice(list(VALID_FIELDS))
        key = r.choice(
            ["prio", "Name", "", "id ", "x" * 40, "module_", "token2", "ok", "error", "event"]
            + [self.word(string.ascii_letters, 1, 10)]
        )
        if key in KNOWN_FIELDS:
            key += "_"
        rid = self.rid()
        msg = self.request(op, rid, **{key: r.choice([1, "x", None, b"", [], {}])})
        return self.bad_request(f"{op} +{key!r}", msg, f"{op}: unknown field {show(key)}", rid)

    def missing_field(self) -> Case:
        op, key = self.rng.choice(
            [("deploy", "name"), ("deploy", "module"), ("auth", "token")]
            + [(op, "name") for op in NAMED_OPS[1:]]
        )
        rid = self.rid()
        msg = self.request(op, rid)
        del msg[key]
        return self.bad_request(f"{op} no {key}", msg, f"{op}: missing field {key!r}", rid)

    def wrong_type(self) -> Case:
        r = self.rng
        group = r.choice(["int", "str", "bin", "bool", "list", "item"])
        if group == "item":  # a list of str with one item of another type
            op, key = r.choice(LIST_FIELDS)
            items: list[Any] = [self.word(NAME_CHARS, 0, 8) for _ in range(r.randint(0, 9))]
            index = r.randint(0, len(items))
            bad = r.choice([1, None, b"x", ["a"], {"a": 1}, True, 2.5])
            items.insert(index, bad)
            rid = self.rid()
            return self.bad_request(
                f"{op}.{key}[{index}]={bad!r}",
                self.request(op, rid, **{key: items}),
                f"{op}: field {key!r} must be list of str, got {kind(bad)} at index {index}",
                rid,
            )
        fields, values, spelled = {
            "int": (INT_FIELDS, NOT_INT, "int"),
            "str": (STR_FIELDS, NOT_STR, "str"),
            "bin": ([("deploy", "module")], NOT_BIN, "bin"),
            "bool": (BOOL_FIELDS, NOT_BOOL, "bool"),
            "list": (LIST_FIELDS, NOT_LIST, "list of str"),
        }[group]
        op, key = r.choice(fields)
        value = r.choice(values)
        rid = self.rid()
        return self.bad_request(
            f"{op}.{key}={value!r}",
            self.request(op, rid, **{key: value}),
            f"{op}: field {key!r} must be {spelled}, got {kind(value)}",
            rid,
        )

    def out_of_range(self) -> Case:
        r = self.rng
        op, key = r.choice(INT_FIELDS)
        rid = self.rid()
        if key == "priority":
            value = r.choice([255, 256, 300, 1000, 2**63, 2**64 - 1, -1, -100, -(2**63)])
            problem = f"must be within 0..254, got {value}"
        else:
            value = r.choice([0, -1, -20_000, -(2**63)])
            problem = f"must be > 0, got {value}"
        msg = self.request(op, rid, **{key: value})
        return self.bad_request(f"{op}.{key}={value}", msg, f"{op}: field {key!r} {problem}", rid)

    def bad_name(self) -> Case:
        op, name = self.rng.choice(NAMED_OPS), self.rng.choice(BAD_NAMES)
        rid = self.rid()
        msg = self.request(op, rid, name=name)
        return self.bad_request(
            f"{op} name={name!r}", msg, f"{op}: field 'name' {NAME_RULE}{show(name)}", rid
        )

    def empty_module(self) -> Case:
        rid = self.rid()
        msg = self.request("deploy", rid, module=b"")
        return self.bad_request("module b''", msg, "deploy: field 'module' must not be empty", rid)

    def bin_key(self) -> Case:
        key = self.rng.choice([b"x", b"v", b"op", b"\xff" * 40])
        rid = self.rid()
        msg: dict[Any, Any] = self.request("list", rid)
        msg[key] = 1
        return self.bad_request(
            f"bin key {key!r}", msg, f"field names must be str, got bin {show(key)}", rid
        )

    def args_at_the_cap(self) -> Case:
        """4096 items is allowed by the frame, so the bad last item is the request's problem."""
        rid = self.rid()
        args: list[Any] = ["a"] * (MAX_ITEMS - 1) + [7]
        msg = self.request("deploy", rid, args=args)
        return self.bad_request(
            "4096 args, the last an int",
            msg,
            f"deploy: field 'args' must be list of str, got int at index {MAX_ITEMS - 1}",
            rid,
        )

    # -- deploys the server refuses before the run sees them (check_deploy)

    def refused(self) -> Case:
        r = self.rng
        name, rid = self.valid_name(), self.rid()
        fields: dict[str, Any] = {"module": HELLO}
        prefix = False
        which = r.choice(["not wasm", "invalid", "reactor", "size", "priority", "sc"])
        if which == "not wasm":
            fields["module"] = bytes([r.randint(1, 255)]) + r.randbytes(r.randint(0, 300))
            error = f"deploy: {name}.wasm: not a WebAssembly module (no \\0asm header)"
        elif which == "invalid":  # the magic, then a version no engine knows
            fields["module"] = MAGIC + bytes([r.randint(2, 255)]) + r.randbytes(r.randint(0, 60))
            error, prefix = f"deploy: {name}.wasm: invalid WebAssembly: ", True
        elif which == "reactor":
            fields["module"] = REACTORS[r.choice(sorted(REACTORS))]
            error = f"deploy: {name}.wasm is a reactor; the runner starts WASI commands (_start)"
        elif which == "size":
            size = r.choice([100 * 1024, MAX_MODULE_SIZE + 1, r.randint(MAX_MODULE_SIZE, 200_000)])
            size = max(size, MAX_MODULE_SIZE + 1)
            fields["module"] = MAGIC + r.randbytes(size - len(MAGIC))
            error = f"deploy: module is {size} bytes, above max_module_size {MAX_MODULE_SIZE}"
        elif which == "priority":
            fields["priority"] = p = r.randint(MAX_PRIORITY + 1, 254)
            error = f"deploy: priority {p} is above max_priority {MAX_PRIORITY}"
        else:
            period = r.randint(100_000, 100_000_000)
            rule = r.choice(["min", "above", "share"])
            if rule == "min":
                budget = r.randint(1, MIN_BUDGET - 1)
                error = f"deploy: budget: {budget} ns is below MIN_BUDGET {MIN_BUDGET} ns"
            elif rule == "above":
                budget = period + r.randint(1, 1_000_000)
                error = f"deploy: budget: {budget} ns exceeds the period {period} ns"
            else:
                budget = r.randint(period // 2 + 1, period)
                error = (
                    f"deploy: budget: {budget} ns is more than max_utilisation 0.5 of the "
                    f"period {period} ns"
                )
            fields |= {"budget": budget, "period": period}
        msg = {"v": 1, "id": rid, "op": "deploy", "name": name, "follow": r.random() < 0.5}
        msg |= fields
        return Case(f"refused: {which}", frame(pack(msg)), "refused", error, rid, prefix=prefix)

    # -- bad frames: an error with id nil, then the server closes

    def bad_frame(self) -> Case:
        r = self.rng
        which = r.choice(
            ["long", "empty", "header", "body", "not map", "trailing", "format", "incomplete"]
            + ["items", "key", "utf8", "deep", "random"]
        )
        if which == "long":
            n = r.choice([MAX_FRAME + 1, 2**32 - 1, 2**31, r.randint(MAX_FRAME + 1, 2**32 - 1)])
            error = f"frame of {n} bytes exceeds the maximum of {MAX_FRAME}"
            return Case(f"length {n}", n.to_bytes(4, "big"), "frame", error)
        if which == "empty":
            data = b"\x00\x00\x00\x00" + r.randbytes(r.randint(0, 10))
            return Case("length 0", data, "frame", "empty frame")
        if which == "header":
            k = r.randint(1, 3)
            error = f"connection closed inside a frame header ({k} of 4 bytes)"
            return Case(f"{k} header bytes", r.randbytes(k), "frame", error, eof=True)
        if which == "body":
            n = r.randint(1, 5000)
            k = r.randint(0, n - 1)
            error = f"connection closed inside a frame ({k} of {n} bytes)"
            data = n.to_bytes(4, "big") + r.randbytes(k)
            return Case(f"{k} of {n} body bytes", data, "frame", error, eof=True)
        if which == "not map":
            obj = r.choice([1, -5, 2**64 - 1, "str", b"bin", [1, 2], [], None, True, 1.5])
            error = f"frame is not a map, got {kind(obj)}"
            return Case(f"body {obj!r}", frame(pack(obj)), "frame", error)
        if which == "trailing":
            n = r.randint(1, 20)
            body = pack(self.request("list", 1)) + r.randbytes(n)
            error = f"frame has {n} trailing byte{'s' * (n != 1)} after its msgpack object"
            return Case(f"{n} trailing bytes", frame(body), "frame", error)
        if which == "format":
            body = b"\xc1" + r.randbytes(r.randint(0, 20))
            return Case("0xc1", frame(body), "frame", "frame is not msgpack: invalid format byte")
        if which == "incomplete":
            full = pack(self.request("deploy", 1, args=["a", "bb"]))
            body = full[: r.randint(1, len(full) - 1)]
            error = "frame is not msgpack: unpack failed: incomplete input"
            return Case(f"{len(body)} of {len(full)} msgpack bytes", frame(body), "frame", error)
        if which == "items":
            n = r.randint(MAX_ITEMS + 1, 6000)
            if r.random() < 0.5:
                op, key = r.choice(LIST_FIELDS)
                msg: dict[str, Any] = self.request(op, 1, **{key: ["a"] * n})
                error = f"frame is not msgpack: {n} exceeds max_array_len({MAX_ITEMS})"
            else:
                msg = {f"k{i}": i for i in range(n)}
                error = f"frame is not msgpack: {n} exceeds max_map_len({MAX_ITEMS})"
            return Case(f"{n} items", frame(pack(msg)), "frame", error)
        if which == "key":
            key = r.choice([1, -7, 2**40])
            error = "frame is not msgpack: int is not allowed for map key when strict_map_key=True"
            return Case(f"key {key}", frame(pack({"v": 1, key: 2})), "frame", error)
        if which == "utf8":  # a str whose bytes are not UTF-8
            body = b"\x83\xa1v\x01\xa2id\x01\xa2op\xa4l\xffst"
            error = (
                "frame is not msgpack: 'utf-8' codec can't decode byte 0xff in position 1: "
                "invalid start byte"
            )
            return Case("invalid UTF-8", frame(body), "frame", error)
        if which == "deep":
            body = b"\x91" * r.randint(2000, 5000) + b"\xc0"
            return Case("deep", frame(body), "frame", "frame is not msgpack: nested too deeply")
        return self.random_frame()

    def random_frame(self) -> Case:
        """Random bytes: a random length (with no complete body), or random body bytes."""
        r = self.rng
        while True:
            if r.random() < 0.5:
                data = r.randbytes(r.randint(4, 64))
                n = int.from_bytes(data[:4], "big")
                if n == 0:
                    return Case("random bytes", data, "frame", "empty frame")
                if n > MAX_FRAME:
                    error = f"frame of {n} bytes exceeds the maximum of {MAX_FRAME}"
                    return Case("random bytes", data, "frame", error)
                if len(data) - 4 < n:
                    error = f"connection closed inside a frame ({len(data) - 4} of {n} bytes)"
                    return Case("random bytes", data, "frame", error, eof=True)
                continue
            body = r.randbytes(r.randint(1, 40))
            error = body_error(body)
            if error is not None:
                return Case(f"random body {body.hex()}", frame(body), "frame", error)

    def half_deploy(self) -> Case:
        """The first part of a valid deploy frame; then the client half-closes."""
        r = self.rng
        whole = frame(pack(self.request("deploy", 1, name="half", module=HELLO, follow=True)))
        cut = r.choice([len(whole) // 2, r.randint(1, len(whole) - 1)])
        if cut < 4:
            error = f"connection closed inside a frame header ({cut} of 4 bytes)"
        else:
            error = f"connection closed inside a frame ({cut - 4} of {len(whole) - 4} bytes)"
        return Case(f"half deploy {cut}/{len(whole)}", whole[:cut], "frame", error, eof=True)


def body_error(body: bytes) -> str | None:
    """The bad-frame error for a frame of ``body`` (docs/agent-protocol.md's wording), or None
    if the body is a map and so a request."""
    try:
        obj = msgpack.unpackb(
            body, raw=False, strict_map_key=True, max_array_len=MAX_ITEMS, max_map_len=MAX_ITEMS
        )
    except msgpack.ExtraData as e:
        n = len(e.extra)
        return f"frame has {n} trailing byte{'s' * (n != 1)} after its msgpack object"
    except msgpack.FormatError:
        return "frame is not msgpack: invalid format byte"
    except msgpack.StackError:
        return "frame is not msgpack: nested too deeply"
    except (ValueError, TypeError, OverflowError) as e:
        text = str(e) or type(e).__name__
        return f"frame is not msgpack: {text[:1].lower()}{text[1:]}"
    if isinstance(obj, dict):
        return None
    name = kind(obj) if isinstance(obj, int | float | str | bytes | list | type(None)) else None
    return f"frame is not a map, got {name or type(obj).__name__.lower()}"


def fuzz_cases(rng: random.Random) -> list[Case]:
    """The malformed inputs, shuffled: every kind the protocol describes, several times over."""
    f = Fuzz(rng)
    makers: list[tuple[Callable[[], Case], int]] = [
        (f.missing_envelope, 15),
        (f.bad_version, 20),
        (f.bad_id, 15),
        (f.bad_op_type, 10),
        (f.unknown_op, 20),
        (f.unknown_field, 20),
        (f.missing_field, 15),
        (f.wrong_type, 60),
        (f.out_of_range, 20),
        (f.bad_name, 25),
        (f.empty_module, 3),
        (f.bin_key, 4),
        (f.args_at_the_cap, 2),
        (f.refused, 40),
        (f.bad_frame, 110),
        (f.half_deploy, 8),
    ]
    cases = [make() for make, count in makers for _ in range(count)]
    rng.shuffle(cases)
    return cases


# ================================================================================ checks


def check_reply(case: Case, reply: dict[str, Any] | None) -> None:
    assert reply is not None, f"{case.what}: the server closed instead of answering"
    assert reply.get("v") == 1 and reply.get("ok") is False, f"{case.what}: {reply}"
    assert set(reply) == {"v", "id", "ok", "error"}, f"{case.what}: {reply}"
    assert reply["id"] == case.reply_id, f"{case.what}: {reply}"
    if case.prefix:
        assert reply["error"].startswith(case.error), f"{case.what}: {reply['error']!r}"
    else:
        assert reply["error"] == case.error, f"{case.what}: {reply['error']!r}"


async def check_closed(case: Case, conn: Raw) -> None:
    """A bad frame: its error, then the end of the connection."""
    if case.eof:
        await conn.stream.send_eof()
    check_reply(case, await conn.receive())
    assert await conn.receive() is None, f"{case.what}: the connection stayed open"


async def wait_for_clients(control: Connection, clients: int) -> dict[str, Any]:
    """``status`` once the server has finished with every connection but ``clients``."""
    while True:
        status = await control.call("status")
        if status["clients"] == clients:
            return status
        await trio.sleep(0.02)


async def wait_for_malformed(control: Connection, expected: int) -> dict[str, Any]:
    """``status`` once the server has counted ``expected`` malformed inputs (or more) and is
    done with every connection but this one."""
    while True:
        status = await control.call("status")
        if status["malformed"] >= expected and status["clients"] == 1:
            return status
        await trio.sleep(0.02)


@pytest.mark.parametrize("live_server", [FUZZ_AGENT], indirect=True)
async def test_fuzz_every_malformed_input_is_answered_and_the_run_goes_on(
    live_server: LiveServer,
) -> None:
    rng = random.Random(1)
    cases = fuzz_cases(rng)
    answered = counted = dropped = 0
    with trio.fail_after(60):
        control = await Connection.open(live_server.address)
        before = await control.call("status")
        assert before["malformed"] == 0, before

        # the bad requests and refused deploys share connections, in runs of 1 to 25, some sent
        # all at once before the replies are read; a bad frame ends its connection, which may
        # have carried bad requests before it (a bad frame is always sent on its own, so that
        # the server has read all of it when it closes)
        pending = deque(cases)
        while pending:
            conn = await Raw.open(live_server)
            limit = rng.randint(1, 25)
            run: list[Case] = []
            while pending and len(run) < limit and (not run or run[-1].kind != "frame"):
                run.append(pending.popleft())
            requests = [c for c in run if c.kind != "frame"]
            together = rng.random() < 0.3
            if together:
                await conn.send(b"".join(c.data for c in requests))
            for case in run:
                if case.kind == "frame":
                    await conn.send(case.data)
                    await check_closed(case, conn)
                    counted += 1
                else:
                    if not together:
                        await conn.send(case.data)
                    check_reply(case, await conn.receive())
                    counted += case.kind == "request"
                answered += 1
            await conn.aclose()

        # half a deploy frame, then a plain disconnect: nothing to read, but counted all the same
        for _ in range(10):
            whole = frame(pack(Fuzz(rng).request("deploy", 1, module=HELLO, follow=True)))
            conn = await Raw.open(live_server)
            await conn.send(whole[: rng.randint(1, len(whole) - 1)])
            await conn.aclose()
            dropped += 1

        # a connection closed by its client may not even be accepted yet when the others are
        # done: wait (bounded by fail_after) until the server has seen all of them
        status = await wait_for_malformed(control, counted + dropped)
        n = answered + dropped
        assert status["malformed"] == counted + dropped, (status["malformed"], counted, dropped)
        assert status["clients"] == 1

        # the server still deploys, on a new connection
        conn = await Connection.open(live_server.address)
        lines, final = await deploy_follow(conn, "hello", HELLO, ["a"])
        await conn.aclose()
        assert lines == ["Hello, world!", "arg: a"]
        assert final["ok"] is True and final["status"] == 0, final

        after = await wait_for_clients(control, 1)
        await control.aclose()
    assert after["malformed"] == counted + dropped
    assert after["time"] > before["time"], "the simulation stopped"
    print(f"fuzz: {n} malformed inputs, all answered")
    print(
        f"fuzz: {counted} bad requests and frames answered, {answered - counted} deploys refused, "
        f"{dropped} half frames dropped; malformed = {after['malformed']}"
    )
    assert n >= 300


# ================================================================================ load


async def test_fifty_clients_deploy_at_once(live_server: LiveServer) -> None:
    clients = 50
    results: dict[int, tuple[list[str], dict[str, Any], set[str]]] = {}
    took: dict[int, float] = {}

    async def client(i: int) -> None:
        t0 = trio.current_time()
        conn = await Connection.open(live_server.address)
        try:
            lines, final = await deploy_follow(conn, f"hello-{i}", HELLO, [str(i)])
            listed = await conn.call("list")
        finally:
            await conn.aclose()
        results[i] = (lines, final, {m["name"] for m in listed["modules"]})
        took[i] = trio.current_time() - t0

    with trio.fail_after(120):
        t0 = trio.current_time()
        async with trio.open_nursery() as nursery:
            for i in range(clients):
                nursery.start_soon(client, i)
        wall = trio.current_time() - t0
    slowest = max(took, key=took.__getitem__)
    print(
        f"load: {clients} clients in {wall:.2f} s wall; the slowest, hello-{slowest}, "
        f"took {took[slowest]:.2f} s"
    )
    assert sorted(results) == list(range(clients))
    for i, (lines, final, names) in results.items():
        assert lines == ["Hello, world!", f"arg: {i}"], (i, lines)
        assert final["ok"] is True and final["status"] == 0, (i, final)
        assert final["name"] == f"hello-{i}", (i, final)
        assert f"hello-{i}" in names, (i, sorted(names))


# ================================================================================ the emit command


async def emit(server: LiveServer, *args: str) -> trio.Process:
    command = [sys.executable, "-m", "sporadic", "emit", "--connect", server.address, *args]
    return await trio.run_process(command, capture_stdout=True, capture_stderr=True, check=False)


async def test_the_emit_command(live_server: LiveServer, tmp_path: Path) -> None:
    missing = tmp_path / "missing.wasm"
    with trio.fail_after(60):
        done = await emit(live_server, str(NBODY), "10")
        failed = await emit(live_server, str(missing))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == "-0.169075164\n-0.169073022\n"
    assert failed.returncode == 255, failed.stderr.decode()
    assert failed.stdout == b""
    message = failed.stderr.decode()
    assert message == f"sporadic emit: {missing}: cannot read: No such file or directory\n"


# ================================================================================ bugs found


async def test_a_period_the_kernel_refuses_is_refused(live_server: LiveServer) -> None:
    with trio.fail_after(20):
        conn = await Connection.open(live_server.address)
        await conn.send("deploy", name="huge", module=HELLO, period=2**57)
        reply = await conn.receive()
        await conn.aclose()
    assert reply["ok"] is False, reply
    assert "period" in reply["error"], reply


async def follow_a_long_run(server: LiveServer) -> Connection:
    """A connection following nbody for longer than the run lasts, once its first line is in:
    100 000 steps are 159 ms of CPU (a few ms of real time), at 20 us every 100 ms of it."""
    follower = await Connection.open(server.address)
    await follower.send(
        "deploy",
        name="long",
        module=NBODY.read_bytes(),
        args=["100000"],
        budget=MIN_BUDGET,
        period=100_000_000,
        follow=True,
    )
    first = await follower.receive()
    assert first.get("line") == "-0.169075164", first
    return follower


async def test_a_followed_deploy_is_answered_when_its_module_is_stopped(
    live_server: LiveServer,
) -> None:
    with trio.fail_after(30):
        follower = await follow_a_long_run(live_server)
        control = await Connection.open(live_server.address)
        stopped = await control.call("stop", name="long")
        assert stopped["ok"] is True
        final = None
        with trio.move_on_after(2):  # a stop is published within a slice of the run
            final = await follower.receive()
        await follower.aclose()
        await control.aclose()
    assert final is not None and "ok" in final, "no final response after the stop"


async def test_a_follower_that_disconnects_is_forgotten(live_server: LiveServer) -> None:
    with trio.fail_after(30):
        control = await Connection.open(live_server.address)
        follower = await follow_a_long_run(live_server)
        assert (await control.call("status"))["clients"] == 2
        await follower.aclose()
        status = None
        with trio.move_on_after(2):
            status = await wait_for_clients(control, 1)
        await control.aclose()
    assert status is not None, "the server still counts the follower that went away"


async def test_a_busy_module_does_not_stall_the_other_clients(live_server: LiveServer) -> None:
    with trio.fail_after(30):
        control = await Connection.open(live_server.address)
        busy = await Connection.open(live_server.address)
        # 2e7 steps: 32 s of simulated CPU, about 1.6 s of real CPU on the 2-core test machine
        await busy.send("deploy", name="busy", module=NBODY.read_bytes(), args=["20000000"])
        await trio.sleep(0.1)  # the module computes by now
        status = None
        with trio.move_on_after(0.5):  # an idle server answers in a few ms
            status = await control.call("status")
        await busy.aclose()
        await control.aclose()
    assert status is not None, "status took more than 0.5 s while a module computed"


@pytest.mark.parametrize("arg", ["nul\x00byte", "x" * 5000], ids=["nul", "5000-chars"])
async def test_an_argument_reaches_the_module_whole_or_is_refused(
    live_server: LiveServer, arg: str
) -> None:
    with trio.fail_after(20):
        conn = await Connection.open(live_server.address)
        lines, final = await deploy_follow(conn, "arg", HELLO, [arg])
        await conn.aclose()
    if final["ok"]:
        assert lines == ["Hello, world!", f"arg: {arg}"], [line[:40] for line in lines]


async def test_an_ext_value_is_called_ext(live_server: LiveServer) -> None:
    with trio.fail_after(20):
        conn = Raw(await trio.open_tcp_stream(live_server.host, live_server.port))
        await conn.send(frame(pack({"v": 1, "id": 5, "op": "list", "x": 0})))
        assert (await conn.receive())["error"] == "list: unknown field 'x'"  # a live connection
        await conn.send(frame(pack({"v": 1, "id": msgpack.ExtType(1, b""), "op": "list"})))
        reply = await conn.receive()
        await conn.aclose()
    assert reply is not None and reply["error"] == "field 'id' must be int, got ext", reply
