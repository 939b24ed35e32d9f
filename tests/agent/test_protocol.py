"""The deploy agent's wire protocol (docs/agent-protocol.md): frames, requests, responses."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sporadic.agent.protocol import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    FrameDecoder,
    ProtocolError,
    Request,
    encode,
    error,
    event,
    ok,
    parse_request,
    read_frames,
    send_frame,
)
from sporadic.errors import SporadicError

WASM = b"\x00asm\x01\x00\x00\x00"
DEPLOY_DEFAULTS = {
    "args": [],
    "priority": None,
    "budget": None,
    "period": None,
    "deadline": None,
    "start": True,
    "follow": False,
    "engine": None,
}


def roundtrip(msg: dict[str, Any]) -> Request:
    """encode -> FrameDecoder.feed -> parse_request, asserting exactly one frame comes out."""
    [decoded] = FrameDecoder().feed(encode(msg))
    return parse_request(decoded)


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def decode_error(data: bytes, max_frame: int = MAX_FRAME) -> str:
    with pytest.raises(ProtocolError) as info:
        FrameDecoder(max_frame).feed(data)
    return str(info.value)


def parse_error(msg: dict[str, Any]) -> str:
    with pytest.raises(ProtocolError) as info:
        parse_request(msg)
    return str(info.value)


# --- round trips of each op ----------------------------------------------------------------


def test_deploy_with_only_required_fields_gets_every_default() -> None:
    msg = {"v": 1, "id": 7, "op": "deploy", "name": "blink-1.0", "module": WASM}
    assert roundtrip(msg) == Request(
        id=7, op="deploy", fields={"name": "blink-1.0", "module": WASM, **DEPLOY_DEFAULTS}
    )


def test_deploy_with_every_field_keeps_each_value() -> None:
    fields = {
        "name": "ctl_loop",
        "module": WASM,
        "args": ["--rate", "100"],
        "priority": 254,
        "budget": 2_000_000,
        "period": 10_000_000,
        "deadline": 8_000_000,
        "start": False,
        "follow": True,
        "engine": "wasmer",
    }
    assert roundtrip({"v": 1, "id": 2**40, "op": "deploy", **fields}) == Request(
        id=2**40, op="deploy", fields=fields
    )


def test_deploy_priority_zero_is_accepted() -> None:
    msg = {"v": 1, "id": 1, "op": "deploy", "name": "a", "module": b"x", "priority": 0}
    assert roundtrip(msg).fields["priority"] == 0


@pytest.mark.parametrize("op", ["start", "stop", "undeploy", "logs"])
def test_ops_on_one_module_carry_its_name(op: str) -> None:
    assert roundtrip({"v": 1, "id": 3, "op": op, "name": "blink"}) == Request(
        id=3, op=op, fields={"name": "blink"}
    )


@pytest.mark.parametrize("op", ["list", "status"])
def test_ops_without_fields_parse_to_empty_fields(op: str) -> None:
    assert roundtrip({"v": 1, "id": 0, "op": op}) == Request(id=0, op=op, fields={})


def test_subscribe_defaults_to_every_kind_and_the_server_queue() -> None:
    assert roundtrip({"v": 1, "id": 4, "op": "subscribe"}) == Request(
        id=4, op="subscribe", fields={"kinds": None, "max_queue": None}
    )


def test_subscribe_keeps_kinds_and_max_queue() -> None:
    msg = {"v": 1, "id": 4, "op": "subscribe", "kinds": ["deploy", "fault"], "max_queue": 512}
    assert roundtrip(msg) == Request(
        id=4, op="subscribe", fields={"kinds": ["deploy", "fault"], "max_queue": 512}
    )


def test_auth_carries_its_token() -> None:
    assert roundtrip({"v": 1, "id": 1, "op": "auth", "token": "s3cret"}) == Request(
        id=1, op="auth", fields={"token": "s3cret"}
    )


def test_default_args_list_is_not_shared_between_requests() -> None:
    msg = {"v": 1, "id": 1, "op": "deploy", "name": "a", "module": b"x"}
    first = parse_request(msg)
    first.fields["args"].append("oops")
    assert parse_request(msg).fields["args"] == []


# --- frames --------------------------------------------------------------------------------


def test_list_request_frame_is_these_exact_bytes() -> None:
    """The worked example of docs/agent-protocol.md."""
    assert encode({"v": 1, "id": 1, "op": "list"}).hex(" ") == (
        "00 00 00 10 83 a1 76 01 a2 69 64 01 a2 6f 70 a4 6c 69 73 74"
    )


def test_docs_worked_example_is_the_encoders_output() -> None:
    text = (Path(__file__).parents[2] / "docs" / "agent-protocol.md").read_text()
    block = text.split("The frame is these 20 bytes:")[1].split("```")[1]
    dumped = []
    for line in block.strip().splitlines():
        for token in line.split():
            if not re.fullmatch(r"[0-9a-f]{2}", token):
                break
            dumped.append(token)
    assert bytes.fromhex("".join(dumped)) == encode({"v": 1, "id": 1, "op": "list"})


def test_frame_fed_byte_by_byte_decodes_to_the_same_map() -> None:
    msg = {"v": 1, "id": 9, "op": "deploy", "name": "a", "module": WASM, "args": ["x"]}
    data = encode(msg)
    decoder = FrameDecoder()
    out = []
    for i in range(len(data)):
        out += decoder.feed(data[i : i + 1])
        assert decoder.buffered == (i + 1) % len(data)
    assert out == [msg]


def test_two_frames_in_one_feed_give_two_maps() -> None:
    a, b = {"v": 1, "id": 1, "op": "list"}, {"v": 1, "id": 2, "op": "status"}
    assert FrameDecoder().feed(encode(a) + encode(b)) == [a, b]


def test_feed_ending_mid_frame_returns_complete_frames_and_keeps_the_rest() -> None:
    a, b = {"v": 1, "id": 1, "op": "list"}, {"v": 1, "id": 2, "op": "status"}
    data = encode(a) + encode(b)
    decoder = FrameDecoder()
    assert decoder.feed(data[:-3]) == [a]
    assert decoder.buffered == len(encode(b)) - 3
    assert decoder.feed(data[-3:]) == [b]
    assert decoder.buffered == 0


def test_bin_travels_as_msgpack_bin_and_comes_back_as_bytes() -> None:
    data = encode({"module": b"\x00\x01"})
    assert data[4:] == b"\x81\xa6module\xc4\x02\x00\x01"
    assert FrameDecoder().feed(data) == [{"module": b"\x00\x01"}]


def test_encode_refuses_a_body_over_max_frame() -> None:
    with pytest.raises(ProtocolError, match=r"^frame of 14 bytes exceeds the maximum of 13$"):
        encode({"v": 1, "op": "listin"}, max_frame=13)
    assert len(encode({"v": 1, "op": "listi"}, max_frame=13)) == 4 + 13


def test_encode_refuses_what_msgpack_cannot_carry() -> None:
    with pytest.raises(ProtocolError, match=r"^message cannot be encoded: "):
        encode({"v": 1, "x": object()})


# --- frame errors --------------------------------------------------------------------------


def test_oversize_length_raises_from_the_header_alone() -> None:
    decoder = FrameDecoder(max_frame=1024)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(struct.pack(">I", 1025))
    assert str(info.value) == "frame of 1025 bytes exceeds the maximum of 1024"
    assert decoder.buffered == 0


def test_default_maximum_is_16_mib() -> None:
    assert MAX_FRAME == 16 * 1024 * 1024
    assert decode_error(b"\xff\xff\xff\xff") == (
        "frame of 4294967295 bytes exceeds the maximum of 16777216"
    )


def test_oversize_length_split_over_feeds_raises_on_its_fourth_byte() -> None:
    decoder = FrameDecoder(max_frame=100)
    assert decoder.feed(b"\x00\x00") == []
    assert decoder.feed(b"\x00") == []
    with pytest.raises(ProtocolError, match=r"^frame of 101 bytes exceeds the maximum of 100$"):
        decoder.feed(b"\x65")


def test_empty_frame_is_refused() -> None:
    assert decode_error(b"\x00\x00\x00\x00") == "empty frame"


def test_body_that_is_not_msgpack_is_refused() -> None:
    assert decode_error(frame(b"\xc1")) == "frame is not msgpack: invalid format byte"
    assert decode_error(frame(b"\x92\x01")) == (
        "frame is not msgpack: unpack failed: incomplete input"
    )


def test_map_with_an_int_key_is_refused() -> None:
    assert decode_error(frame(b"\x81\x01\x02")) == (
        "frame is not msgpack: int is not allowed for map key when strict_map_key=True"
    )


@pytest.mark.parametrize(
    ("body", "kind"), [(b"\x92\x01\x02", "list"), (b"\x07", "int"), (b"\xa1a", "str")]
)
def test_body_that_is_not_a_map_is_refused(body: bytes, kind: str) -> None:
    assert decode_error(frame(body)) == f"frame is not a map, got {kind}"


def test_trailing_bytes_inside_a_body_are_refused() -> None:
    assert decode_error(frame(b"\x80\x01\x02")) == (
        "frame has 2 trailing bytes after its msgpack object"
    )
    assert decode_error(frame(b"\x80\xc0")) == "frame has 1 trailing byte after its msgpack object"


def test_decoder_stays_broken_after_an_error() -> None:
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError) as first:
        decoder.feed(b"\x00\x00\x00\x00")
    with pytest.raises(ProtocolError) as again:
        decoder.feed(encode({"v": 1, "id": 1, "op": "list"}))
    assert again.value is first.value
    assert str(again.value) == "empty frame"


def test_protocol_error_is_a_sporadic_error_with_its_message() -> None:
    e = ProtocolError("empty frame")
    assert isinstance(e, SporadicError)
    assert (str(e), e.request_id) == ("empty frame", None)


# --- request errors ------------------------------------------------------------------------


def test_missing_version_is_refused_and_keeps_the_id() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_request({"id": 5, "op": "list"})
    assert (str(info.value), info.value.request_id) == ("missing field 'v'", 5)


def test_other_version_is_refused_naming_both() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_request({"v": 2, "id": 5, "op": "list"})
    assert str(info.value) == "unsupported protocol version 2 (this server speaks 1)"
    assert info.value.request_id == 5
    assert parse_error({"v": "1", "id": 5, "op": "list"}) == (
        "unsupported protocol version '1' (this server speaks 1)"
    )
    assert parse_error({"v": True, "id": 5, "op": "list"}) == (
        "unsupported protocol version True (this server speaks 1)"
    )


def test_unknown_op_is_refused_listing_the_known_ops() -> None:
    assert parse_error({"v": 1, "id": 1, "op": "x"}) == (
        "unknown op 'x' (known: auth, deploy, list, logs, start, status, stop, subscribe, undeploy)"
    )


def test_missing_id_and_op_are_refused() -> None:
    assert parse_error({"v": 1, "op": "list"}) == "missing field 'id'"
    assert parse_error({"v": 1, "id": 1}) == "missing field 'op'"
    assert parse_error({"v": 1, "id": 1, "op": 3}) == "field 'op' must be str, got int"


def test_bool_is_not_accepted_as_int() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_request({"v": 1, "id": True, "op": "list"})
    assert (str(info.value), info.value.request_id) == ("field 'id' must be int, got bool", None)
    msg = {"v": 1, "id": 1, "op": "deploy", "name": "a", "module": b"x", "budget": True}
    assert parse_error(msg) == "deploy: field 'budget' must be int, got bool"


def test_wrong_type_names_the_field_and_both_types() -> None:
    msg = {"v": 1, "id": 1, "op": "deploy", "name": "a", "module": b"x", "priority": "7"}
    assert parse_error(msg) == "deploy: field 'priority' must be int, got str"
    msg = {"v": 1, "id": 1, "op": "deploy", "name": "a", "module": "x"}
    assert parse_error(msg) == "deploy: field 'module' must be bin, got str"
    msg = {"v": 1, "id": 1, "op": "deploy", "name": "a", "module": b"x", "start": 1}
    assert parse_error(msg) == "deploy: field 'start' must be bool, got int"
    msg = {"v": 1, "id": 1, "op": "deploy", "name": "a", "module": b"x", "args": ["a", 3]}
    assert parse_error(msg) == "deploy: field 'args' must be list of str, got int at index 1"
    msg = {"v": 1, "id": 1, "op": "subscribe", "kinds": "deploy"}
    assert parse_error(msg) == "subscribe: field 'kinds' must be list of str, got str"
    assert parse_error({"v": 1, "id": 1, "op": "stop", "name": None}) == (
        "stop: field 'name' must be str, got nil"
    )


def test_missing_required_field_is_named() -> None:
    assert parse_error({"v": 1, "id": 1, "op": "deploy", "name": "a"}) == (
        "deploy: missing field 'module'"
    )
    assert parse_error({"v": 1, "id": 1, "op": "auth"}) == "auth: missing field 'token'"


def test_unknown_field_is_named_and_keeps_the_id() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_request({"v": 1, "id": 8, "op": "deploy", "name": "a", "module": b"x", "prio": 3})
    assert (str(info.value), info.value.request_id) == ("deploy: unknown field 'prio'", 8)
    assert parse_error({"v": 1, "id": 1, "op": "list", "name": "a"}) == (
        "list: unknown field 'name'"
    )


def test_out_of_range_values_are_refused() -> None:
    base = {"v": 1, "id": 1, "op": "deploy", "name": "a", "module": b"x"}
    assert parse_error(base | {"priority": 300}) == (
        "deploy: field 'priority' must be within 0..254, got 300"
    )
    assert parse_error(base | {"priority": -1}) == (
        "deploy: field 'priority' must be within 0..254, got -1"
    )
    assert parse_error(base | {"period": 0}) == "deploy: field 'period' must be > 0, got 0"
    assert parse_error(base | {"module": b""}) == "deploy: field 'module' must not be empty"
    assert parse_error({"v": 1, "id": 1, "op": "subscribe", "max_queue": 0}) == (
        "subscribe: field 'max_queue' must be > 0, got 0"
    )


@pytest.mark.parametrize("name", ["a b", "", "é", "a/b", "a\n", "a$"])
def test_bad_names_are_refused(name: str) -> None:
    assert parse_error({"v": 1, "id": 1, "op": "start", "name": name}) == (
        f"start: field 'name' must be 1 to 64 letters, digits, '_', '-' or '.', got {name!r}"
    )


def test_long_values_are_cut_short_in_messages() -> None:
    assert parse_error({"v": 1, "id": 1, "op": "start", "name": "x" * 65}) == (
        f"start: field 'name' must be 1 to 64 letters, digits, '_', '-' or '.', got {'x' * 32!r}..."
    )
    assert parse_error({"v": 1, "id": 1, "op": "y" * 1000}) == (
        f"unknown op {'y' * 32!r}... (known: auth, deploy, list, logs, start, status, stop, "
        "subscribe, undeploy)"
    )
    assert parse_error({"v": [1] * 1000, "id": 1, "op": "list"}) == (
        "unsupported protocol version list (this server speaks 1)"
    )


def test_name_of_64_chars_is_accepted() -> None:
    name = "A-z_0.9" + "x" * 57
    assert parse_request({"v": 1, "id": 1, "op": "start", "name": name}).fields == {"name": name}


def test_non_str_field_name_is_refused() -> None:
    assert parse_error({"v": 1, "id": 1, "op": "list", b"op": "x"}) == (
        "field names must be str, got bin b'op'"
    )


# --- responses -----------------------------------------------------------------------------


def test_response_helpers_build_versioned_maps() -> None:
    assert ok(3, modules=["a"]) == {"v": 1, "id": 3, "ok": True, "modules": ["a"]}
    assert error(3, "deploy: missing field 'module'") == {
        "v": 1,
        "id": 3,
        "ok": False,
        "error": "deploy: missing field 'module'",
    }
    assert error(None, "empty frame")["id"] is None
    assert event(3, "stdout", line="hi", t=1500) == {
        "v": 1,
        "id": 3,
        "event": "stdout",
        "line": "hi",
        "t": 1500,
    }
    assert PROTOCOL_VERSION == 1


def test_response_helpers_refuse_to_overwrite_their_own_keys() -> None:
    with pytest.raises(ValueError, match="'ok'"):
        ok(1, ok=False)
    with pytest.raises(ValueError, match="'v'"):
        event(1, "stdout", v=2)


# --- streams -------------------------------------------------------------------------------


class FakeStream:
    """A trio-like stream: receive_some hands out ``chunks`` in order, then b"" for EOF."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.asked: list[int] = []
        self.sent: list[bytes] = []

    async def receive_some(self, max_bytes: int) -> bytes:
        self.asked.append(max_bytes)
        return self.chunks.pop(0) if self.chunks else b""

    async def send_all(self, data: bytes) -> None:
        self.sent.append(bytes(data))


async def collect(stream: FakeStream, decoder: FrameDecoder | None = None) -> list[dict]:
    return [msg async for msg in read_frames(stream, decoder or FrameDecoder(), bufsize=4096)]


async def test_read_frames_yields_each_frame_until_eof() -> None:
    a, b, c = ({"v": 1, "id": i, "op": "list"} for i in range(3))
    data = encode(a) + encode(b) + encode(c)
    stream = FakeStream([data[:7], data[7:30], data[30:]])
    assert await collect(stream) == [a, b, c]
    assert stream.asked == [4096] * 4


async def test_read_frames_on_an_empty_stream_yields_nothing() -> None:
    assert await collect(FakeStream([])) == []


async def test_read_frames_raises_when_closed_inside_a_frame() -> None:
    data = encode({"v": 1, "id": 1, "op": "list"})  # 4 + 16 bytes
    stream = FakeStream([data, data[:10]])
    got = []
    with pytest.raises(ProtocolError) as info:
        async for msg in read_frames(stream, FrameDecoder()):
            got.append(msg)
    assert got == [{"v": 1, "id": 1, "op": "list"}]
    assert str(info.value) == "connection closed inside a frame (6 of 16 bytes)"


async def test_read_frames_raises_when_closed_inside_a_header() -> None:
    with pytest.raises(ProtocolError, match=r"^connection closed inside a frame header \(3 of 4"):
        await collect(FakeStream([b"\x00\x00\x00"]))


async def test_read_frames_passes_on_a_bad_frame() -> None:
    with pytest.raises(ProtocolError, match="^empty frame$"):
        await collect(FakeStream([b"\x00\x00\x00\x00"]))


async def test_send_frame_sends_one_encoded_frame() -> None:
    stream = FakeStream([])
    await send_frame(stream, ok(1, modules=[]))
    assert stream.sent == [encode({"v": 1, "id": 1, "ok": True, "modules": []})]
    with pytest.raises(ProtocolError):
        await send_frame(stream, ok(1, blob=b"x" * 100), max_frame=50)
    assert len(stream.sent) == 1


# --- properties ----------------------------------------------------------------------------

SMALL_FRAME = 64
ids = st.integers(-(2**63), 2**64 - 1)  # every int msgpack carries


@st.composite
def byte_streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """Bytes a hostile or broken peer might send, and the sizes of the feeds that carry them."""
    piece = st.one_of(
        st.binary(max_size=40),  # anything
        st.binary(max_size=SMALL_FRAME).map(frame),  # a well-formed length, any body
        st.dictionaries(st.text(max_size=5), ids, max_size=4).map(encode),  # a valid frame
        st.integers(0, 2**32 - 1).map(lambda n: struct.pack(">I", n)),  # any length
    )
    data = b"".join(draw(st.lists(piece, max_size=6)))
    cuts = draw(st.lists(st.integers(1, max(1, len(data))), max_size=10))
    return data, cuts


@given(byte_streams())
@settings(max_examples=200, deadline=None)
def test_decoder_returns_maps_or_raises_protocol_error_and_bounds_its_buffer(
    case: tuple[bytes, list[int]],
) -> None:
    data, cuts = case
    decoder = FrameDecoder(max_frame=SMALL_FRAME)
    pos = 0
    for size in [*cuts, len(data)]:
        try:
            frames = decoder.feed(data[pos : pos + size])
        except ProtocolError as e:
            with pytest.raises(ProtocolError) as again:
                decoder.feed(b"\x00")
            assert again.value is e
            return
        assert all(isinstance(f, dict) for f in frames)
        assert decoder.buffered <= SMALL_FRAME + 4
        pos += size


names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.",
    min_size=1,
    max_size=64,
)
ns = st.integers(1, 2**63 - 1)


def optional(**strategies: st.SearchStrategy) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=strategies)


REQUESTS = {
    "auth": (st.fixed_dictionaries({"token": st.text()}), st.just({})),
    "deploy": (
        st.fixed_dictionaries({"name": names, "module": st.binary(min_size=1, max_size=64)}),
        optional(
            args=st.lists(st.text(max_size=8), max_size=4),
            priority=st.integers(0, 254),
            budget=ns,
            period=ns,
            deadline=ns,
            start=st.booleans(),
            follow=st.booleans(),
        ),
    ),
    "list": (st.just({}), st.just({})),
    "status": (st.just({}), st.just({})),
    "subscribe": (
        st.just({}),
        optional(kinds=st.lists(st.text(max_size=12), max_size=4), max_queue=ns),
    ),
    **{
        op: (st.fixed_dictionaries({"name": names}), st.just({}))
        for op in ("logs", "start", "stop", "undeploy")
    },
}
DEFAULTS = {"deploy": DEPLOY_DEFAULTS, "subscribe": {"kinds": None, "max_queue": None}}


@st.composite
def valid_requests(draw: st.DrawFn) -> tuple[dict[str, Any], Request]:
    """A request as a client sends it, and the Request the server must make of it."""
    op = draw(st.sampled_from(sorted(REQUESTS)))
    required, extra = REQUESTS[op]
    fields = draw(required) | draw(extra)
    rid = draw(ids)
    expected = Request(rid, op, DEFAULTS.get(op, {}) | fields)
    return {"v": 1, "id": rid, "op": op, **fields}, expected


@given(valid_requests(), st.integers(1, 50))
@settings(max_examples=200, deadline=None)
def test_valid_requests_round_trip_through_the_wire(
    case: tuple[dict[str, Any], Request], chunk: int
) -> None:
    msg, expected = case
    data = encode(msg)
    decoder = FrameDecoder()
    out = []
    for i in range(0, len(data), chunk):
        out += decoder.feed(data[i : i + chunk])
    assert [parse_request(m) for m in out] == [expected]


msgpack_values = st.recursive(
    st.none() | st.booleans() | ids | st.floats() | st.text(max_size=10) | st.binary(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
awkward_values = (
    st.sampled_from([0, -1, 1, 2, 254, 255, 2**64 - 1, True, "", "a b", b"", [], ["x", 1]])
    | msgpack_values
)
field_names = st.sampled_from(
    ["v", "id", "op", "name", "module", "args", "priority", "budget", "token", "kinds"]
    + ["max_queue", "start", "follow", "period", "deadline"]
) | st.text(max_size=6)


@st.composite
def request_like_maps(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with one to three fields added, replaced or removed: parsing gets deep."""
    msg, _ = draw(valid_requests())
    for _ in range(draw(st.integers(1, 3))):
        key = draw(field_names)
        if draw(st.integers(0, 4)) == 4:
            msg.pop(key, None)
        else:
            msg[key] = draw(awkward_values)
    return msgpack.unpackb(msgpack.packb(msg, use_bin_type=True), raw=False)


@given(request_like_maps() | st.dictionaries(field_names, msgpack_values, max_size=6))
@settings(max_examples=200, deadline=None)
def test_parse_request_only_ever_raises_protocol_error(msg: dict[str, Any]) -> None:
    try:
        request = parse_request(msg)
    except ProtocolError as e:
        rid = msg.get("id")
        valid_id = isinstance(rid, int) and not isinstance(rid, bool)
        assert str(e)
        assert e.request_id == (rid if valid_id else None)
    else:
        assert request.op in REQUESTS


def test_a_server_decoder_refuses_a_frame_declaring_more_items_than_it_allows() -> None:
    """A 3 KiB frame of 1000 empty lists is refused before it costs memory per item."""
    decoder = FrameDecoder(max_items=100)
    with pytest.raises(ProtocolError) as e:
        decoder.feed(encode({"a": [[]] * 1000}))
    assert str(e.value) == "frame is not msgpack: 1000 exceeds max_array_len(100)"
