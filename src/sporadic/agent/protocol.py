"""The deploy agent's wire protocol: length-prefixed msgpack maps, and the requests they carry.

A frame is a 4-byte big-endian length N, then N bytes holding one msgpack map.
docs/agent-protocol.md has the whole protocol; this module encodes and decodes it.

Why the format is what it is:

- **Length prefix.** msgpack has no framing. A reader cannot tell where one object ends without
  parsing it, and a partial object looks like a truncated one. The prefix says how many bytes to
  wait for, so a frame is decoded once, whole.
- **Maximum frame.** The length comes from the peer, who may be hostile. A length of 0 or above
  ``max_frame`` is refused from the 4-byte header alone, before any body byte is read, so a
  forged length never makes the server allocate. The decoder never holds more than
  ``max_frame + 4`` bytes.
- **Version.** Every message carries ``"v"``. A client speaking another version gets a clear
  error naming both versions, not a confusing failure on some field.

Nothing here does I/O except ``read_frames`` and ``send_frame``, which take any object with trio's
``receive_some`` / ``send_all`` methods; trio itself is not imported.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import msgpack

from sporadic.description.engines import ENGINES
from sporadic.errors import SporadicError

__all__ = [
    "MAX_FRAME",
    "OPS",
    "PROTOCOL_VERSION",
    "FrameDecoder",
    "ProtocolError",
    "Request",
    "encode",
    "error",
    "event",
    "ok",
    "parse_request",
    "read_frames",
    "send_frame",
]

PROTOCOL_VERSION = 1
MAX_FRAME = 16 * 1024 * 1024
HEADER = 4  # bytes of the big-endian length prefix


class ProtocolError(SporadicError):
    """A peer broke the protocol. ``str(e)`` is the message to send back or log.

    ``request_id`` is the id of the offending request when it had a valid int id, else None.
    """

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


def _kind(value: object) -> str:
    """The msgpack-level name of a value's type, for error messages."""
    if value is None:
        return "nil"
    if isinstance(value, bytes | bytearray | memoryview):
        return "bin"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, msgpack.ExtType):  # a namedtuple: before the tuple test
        return "ext"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__.lower()


def _show(value: object) -> str:
    """A value the peer sent, for an error message: short however long the value."""
    if isinstance(value, str | bytes):
        return repr(value) if len(value) <= 32 else f"{value[:32]!r}..."
    if value is None:
        return "nil"
    if isinstance(value, bool | int | float):
        return repr(value)
    return _kind(value)


# --- frames ---------------------------------------------------------------------------------


def encode(msg: dict[str, Any], max_frame: int = MAX_FRAME) -> bytes:
    """One frame: the 4-byte length, then ``msg`` as msgpack. Adds no field: the caller puts "v".

    Raises ProtocolError if the body exceeds ``max_frame`` or ``msg`` is not msgpack-able.
    """
    try:
        body = msgpack.packb(msg, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as e:
        raise ProtocolError(f"message cannot be encoded: {e}") from e
    if len(body) > max_frame:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds the maximum of {max_frame}")
    return len(body).to_bytes(HEADER, "big") + body


class FrameDecoder:
    """Splits a byte stream into frames and decodes each to a map.

    Feed it whatever the connection delivers. It keeps a partial frame between calls. After an
    error it is unusable: every later ``feed`` raises the same error, and the server should close
    the connection.
    """

    def __init__(self, max_frame: int = MAX_FRAME, max_items: int | None = None) -> None:
        """``max_items`` bounds every array and map a frame may declare (a server reading
        requests sets it: a small frame of many empty arrays would otherwise cost ~64 bytes
        of memory per byte of frame); a client reading record batches leaves it open."""
        if max_frame < 1:
            raise ValueError(f"max_frame must be at least 1, got {max_frame}")
        self.max_frame = max_frame
        limit = max_items if max_items is not None else -1
        self._limits = {"max_array_len": limit, "max_map_len": limit}
        self._header = bytearray()
        self._length: int | None = None  # the current frame's body length, once its header is in
        self._body = bytearray()
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held of the current, incomplete frame (header included); at most max_frame + 4."""
        return len(self._header) + len(self._body)

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Take the next bytes of the stream; return the map of every frame they complete."""
        if self._error is not None:
            raise self._error
        view = memoryview(data).cast("B")
        frames: list[dict[str, Any]] = []
        pos, end = 0, len(view)
        while pos < end:
            if self._length is None:
                take = min(HEADER - len(self._header), end - pos)
                self._header += view[pos : pos + take]
                pos += take
                if len(self._header) < HEADER:
                    break
                self._length = self._check_length(int.from_bytes(self._header, "big"))
            missing = self._length - len(self._body)
            if not self._body and end - pos >= missing:  # a whole body in hand: no copy
                frames.append(self._decode(view[pos : pos + missing]))
                pos += missing
            else:
                take = min(missing, end - pos)
                self._body += view[pos : pos + take]
                pos += take
                if len(self._body) < self._length:
                    break
                frames.append(self._decode(self._body))
            self._header.clear()
            self._body = bytearray()
            self._length = None
        return frames

    def eof(self) -> None:
        """The stream ended: raise ProtocolError if it ended inside a frame."""
        if self._error is not None:
            raise self._error
        if self._length is not None:
            self._fail(
                f"connection closed inside a frame ({len(self._body)} of {self._length} bytes)"
            )
        if self._header:
            self._fail(f"connection closed inside a frame header ({len(self._header)} of 4 bytes)")

    def _fail(self, message: str) -> NoReturn:
        self._header.clear()
        self._body = bytearray()
        self._error = ProtocolError(message)
        raise self._error

    def _check_length(self, length: int) -> int:
        if length == 0:
            self._fail("empty frame")
        if length > self.max_frame:
            self._fail(f"frame of {length} bytes exceeds the maximum of {self.max_frame}")
        return length

    def _decode(self, body: bytes | bytearray | memoryview) -> dict[str, Any]:
        try:
            obj = msgpack.unpackb(body, raw=False, strict_map_key=True, **self._limits)
        except msgpack.ExtraData as e:
            n = len(e.extra)
            self._fail(f"frame has {n} trailing byte{'s' * (n != 1)} after its msgpack object")
        except msgpack.FormatError:
            self._fail("frame is not msgpack: invalid format byte")
        except msgpack.StackError:
            self._fail("frame is not msgpack: nested too deeply")
        except (ValueError, TypeError, OverflowError) as e:
            text = str(e) or type(e).__name__
            self._fail(f"frame is not msgpack: {text[:1].lower()}{text[1:]}")
        if not isinstance(obj, dict):
            self._fail(f"frame is not a map, got {_kind(obj)}")
        return obj


# --- requests -------------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_REQUIRED = object()  # the default of a field that must be present


def _is(kind: str, value: object) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "list of str":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, {"str": str, "bin": bytes, "bool": bool}[kind])


def _name(value: Any) -> str | None:
    if _NAME.fullmatch(value):
        return None
    return f"must be 1 to 64 letters, digits, '_', '-' or '.', got {_show(value)}"


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be > 0, got {value}"


def _priority(value: Any) -> str | None:
    return None if 0 <= value <= 254 else f"must be within 0..254, got {value}"


def _engine(value: Any) -> str | None:
    return None if value in ENGINES else f"must be one of {', '.join(ENGINES)}, got {value!r}"


def _not_empty(value: Any) -> str | None:
    return None if value else "must not be empty"


@dataclass(frozen=True)
class _Field:
    kind: str  # "str", "int", "bin", "bool" or "list of str"
    default: Any = _REQUIRED  # a list default is copied per request
    check: Callable[[Any], str | None] | None = None  # returns the problem, or None


_NAME_ONLY = {"name": _Field("str", check=_name)}

FIELDS: dict[str, dict[str, _Field]] = {
    "auth": {"token": _Field("str")},
    "deploy": {
        "name": _Field("str", check=_name),
        "module": _Field("bin", check=_not_empty),
        "args": _Field("list of str", default=[]),
        "priority": _Field("int", default=None, check=_priority),
        "budget": _Field("int", default=None, check=_positive),
        "period": _Field("int", default=None, check=_positive),
        "deadline": _Field("int", default=None, check=_positive),
        "start": _Field("bool", default=True),
        "follow": _Field("bool", default=False),
        "engine": _Field("str", default=None, check=_engine),
    },
    "list": {},
    "logs": _NAME_ONLY,
    "start": _NAME_ONLY,
    "status": {},
    "stop": _NAME_ONLY,
    "subscribe": {
        "kinds": _Field("list of str", default=None),
        "max_queue": _Field("int", default=None, check=_positive),
    },
    "undeploy": _NAME_ONLY,
}
OPS = tuple(sorted(FIELDS))
_ENVELOPE = ("v", "id", "op")


@dataclass(frozen=True)
class Request:
    """A valid request: ``fields`` has every field of its op, defaults filled (None: not given)."""

    id: int
    op: str
    fields: dict[str, Any]


def _wrong_type(value: object, kind: str) -> str:
    if kind == "list of str" and isinstance(value, list):
        index, item = next((i, x) for i, x in enumerate(value) if not isinstance(x, str))
        return f"must be list of str, got {_kind(item)} at index {index}"
    return f"must be {kind}, got {_kind(value)}"


def parse_request(msg: dict[str, Any]) -> Request:
    """Check a decoded map against the protocol and return its Request, defaults filled.

    Raises ProtocolError with a short message naming what is wrong; its ``request_id`` is the
    message's id when that is a valid int.
    """
    if not isinstance(msg, dict):
        raise ProtocolError(f"message is not a map, got {_kind(msg)}")
    rid = msg.get("id")
    rid = rid if _is("int", rid) else None

    def fail(text: str) -> ProtocolError:
        return ProtocolError(text, rid)

    for key in msg:
        if not isinstance(key, str):
            raise fail(f"field names must be str, got {_kind(key)} {_show(key)}")
    for key in _ENVELOPE:
        if key not in msg:
            raise fail(f"missing field {key!r}")
    v = msg["v"]
    if not (_is("int", v) and v == PROTOCOL_VERSION):
        raise fail(
            f"unsupported protocol version {_show(v)} (this server speaks {PROTOCOL_VERSION})"
        )
    if rid is None:
        raise fail(f"field 'id' must be int, got {_kind(msg['id'])}")
    op = msg["op"]
    if not isinstance(op, str):
        raise fail(f"field 'op' must be str, got {_kind(op)}")
    if op not in FIELDS:
        raise fail(f"unknown op {_show(op)} (known: {', '.join(OPS)})")
    spec = FIELDS[op]
    for key in msg:
        if key not in spec and key not in _ENVELOPE:
            raise fail(f"{op}: unknown field {_show(key)}")
    fields: dict[str, Any] = {}
    for key, field in spec.items():
        if key not in msg:
            if field.default is _REQUIRED:
                raise fail(f"{op}: missing field {key!r}")
            default = field.default
            fields[key] = list(default) if isinstance(default, list) else default
            continue
        value = msg[key]
        if not _is(field.kind, value):
            raise fail(f"{op}: field {key!r} {_wrong_type(value, field.kind)}")
        problem = field.check(value) if field.check else None
        if problem:
            raise fail(f"{op}: field {key!r} {problem}")
        fields[key] = value
    return Request(rid, op, fields)


# --- responses ------------------------------------------------------------------------------


def _build(head: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    clash = sorted(head.keys() & fields.keys())
    if clash:
        raise ValueError(f"fields {clash} are set by the helper")
    return head | fields


def ok(id: int, **fields: Any) -> dict[str, Any]:
    """A success response to request ``id``: ``{"v": 1, "id": id, "ok": True, **fields}``."""
    return _build({"v": PROTOCOL_VERSION, "id": id, "ok": True}, fields)


def error(id: int | None, message: str) -> dict[str, Any]:
    """A failure response; ``id`` is None when the request had no valid id."""
    return {"v": PROTOCOL_VERSION, "id": id, "ok": False, "error": message}


def event(id: int, name: str, **fields: Any) -> dict[str, Any]:
    """A streamed event for request ``id``: ``{"v": 1, "id": id, "event": name, **fields}``."""
    return _build({"v": PROTOCOL_VERSION, "id": id, "event": name}, fields)


# --- streams --------------------------------------------------------------------------------


class ReceiveStream(Protocol):
    async def receive_some(self, max_bytes: int, /) -> bytes: ...


class SendStream(Protocol):
    async def send_all(self, data: bytes, /) -> None: ...


async def read_frames(
    stream: ReceiveStream, decoder: FrameDecoder, bufsize: int = 65536
) -> AsyncIterator[dict[str, Any]]:
    """Yield each frame's map from ``stream`` until EOF (``receive_some`` returns b"").

    Raises ProtocolError on a bad frame, or when the stream ends inside a frame.
    """
    while True:
        data = await stream.receive_some(bufsize)
        if not data:
            decoder.eof()
            return
        for msg in decoder.feed(data):
            yield msg


async def send_frame(stream: SendStream, msg: dict[str, Any], max_frame: int = MAX_FRAME) -> None:
    """Encode ``msg`` as one frame and send it whole."""
    await stream.send_all(encode(msg, max_frame))
