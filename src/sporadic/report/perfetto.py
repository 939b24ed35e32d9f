"""A trace as a Perfetto protobuf trace, to open in https://ui.perfetto.dev.

The output is a ``perfetto.protos.Trace``: one ``TracePacket`` per event, all on one packet
sequence (``trusted_packet_sequence_id`` 1), absolute timestamps in ns of simulated time, no
interning. Under one root track named after the system it holds:

- one track per thread (header order, then threads made during the run), named after it, with
  a slice for each stretch it ran (from the ``switch`` records): ``running``, or
  ``running (SC name)`` when it ran on another thread's SC (a passive server on its client's);
  slices still open at the end of the trace end there;
- instant events on the thread's track: ``release`` and ``deadline miss`` (annotated with the
  job and its deadline), ``budget exhausted`` (the SC), ``timeout fault`` (the SC and the time
  it had consumed) and ``fault`` (the job and the trap message);
- one counter track per SC, right below its thread: ``NAME budget left``, in ns, a model
  computed from the ``switch`` records alone, not the kernel's refill queue: every stretch of
  time charged to the SC (from a ``switch`` onto it to the next ``switch``) comes back whole
  one period after the stretch began, the ideal sporadic server. The kernel is stricter: it
  returns budget one period after the refill it was taken from became available, merges
  refills, keeps at most ``extra_refills + 2`` of them and stops a head below MIN_BUDGET, so
  the model can show budget the kernel does not have; the ``budget exhausted`` instants are
  the kernel's own word. A round-robin SC (period 0) shows ``NAME timeslice left`` instead: it
  falls while the SC is charged and is whole again each time it reaches 0. Samples are written
  when the SC is made (its full budget; at 0 ns for the header's SCs), when it stops being
  charged, when budget comes back and when a timeslice ends; in between the value falls
  linearly while the SC is charged, which the counter, a step function, shows as one step
  when the stretch ends.

The input is read in one streaming pass and packets are written as they are made, so memory
stays flat for any trace length. The protobuf classes are those the ``perfetto`` package ships
(the ``report`` extra), whose generated module needs protobuf 6.31 or newer; with an older
protobuf the same classes are built from the descriptor serialised in that module.
"""

from __future__ import annotations

import ast
import functools
import heapq
import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple

from sporadic.errors import SporadicError
from sporadic.records import (
    BUDGET_EXHAUSTED,
    DEADLINE_MISS,
    FAULT,
    JOB_RELEASE,
    SWITCH,
    THREAD_NEW,
    TIMEOUT_FAULT,
)
from sporadic.traces.reader import TraceReader

SEQUENCE_ID = 1
ROOT_UUID = 1
THREAD_UUID = 1 << 32  # + thread id
SC_UUID = 2 << 32  # + SC id
ORPHAN_RANK = 1 << 30  # sibling rank of an SC's counter when its thread is unknown
_PB2 = "perfetto.protos.perfetto.trace.perfetto_trace_pb2"
_CLASSES = (
    "Trace",
    "TracePacket",
    "TrackDescriptor",
    "TrackEvent",
    "CounterDescriptor",
    "DebugAnnotation",
)
# TrackEvent.Type, TrackDescriptor.ChildTracksOrdering, CounterDescriptor.Unit, SequenceFlags
SLICE_BEGIN, SLICE_END, INSTANT, COUNTER = 1, 2, 3, 4
EXPLICIT_ORDER = 3
UNIT_TIME_NS = 1
INCREMENTAL_STATE_CLEARED = 1


class Protos(NamedTuple):
    """The Perfetto message classes a trace is written (and read back) with."""

    Trace: Any
    TracePacket: Any
    TrackDescriptor: Any
    TrackEvent: Any
    CounterDescriptor: Any
    DebugAnnotation: Any


@functools.cache
def protos() -> Protos:
    """The classes of the ``perfetto`` package's ``perfetto_trace_pb2``, built once.

    Its generated module refuses protobuf < 6.31 at import; the descriptor it would register is
    a bytes literal in its source, so then the classes are built from that instead.
    """
    try:
        spec = importlib.util.find_spec(_PB2)
    except ModuleNotFoundError:
        spec = None
    if spec is None or spec.origin is None:
        raise SporadicError(
            "writing a Perfetto trace needs the perfetto package: pip install 'sporadic[report]'"
        )
    try:
        module = importlib.import_module(_PB2)
    except ImportError:
        return _protos_from_source(spec.origin)
    return Protos(*(getattr(module, name) for name in _CLASSES))


def _protos_from_source(path: str) -> Protos:
    """The classes from the serialised FileDescriptorProto that ``path`` passes to
    ``AddSerializedFile``, in a descriptor pool of their own."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    with open(path, encoding="utf-8") as source:
        line = next((text for text in source if "AddSerializedFile(" in text), None)
    try:
        assert line is not None
        call = ast.parse(line.split("=", 1)[1].strip(), mode="eval").body
        assert isinstance(call, ast.Call)
        blob = ast.literal_eval(call.args[0])
        file_proto = descriptor_pb2.FileDescriptorProto.FromString(blob)
    except Exception as e:  # an unexpected layout of the generated module
        raise SporadicError(f"{path}: cannot read Perfetto's trace descriptor ({e!r})") from None
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    package = file_proto.package

    def message_class(name: str) -> Any:
        descriptor = pool.FindMessageTypeByName(f"{package}.{name}")
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(descriptor)
        return message_factory.MessageFactory(pool).GetPrototype(descriptor)

    return Protos(*(message_class(name) for name in _CLASSES))


@dataclass
class PerfettoStats:
    """What :func:`write_perfetto` wrote, for the command to report."""

    packets: int = 0
    tracks: int = 0
    slices: int = 0
    instants: int = 0
    counter_samples: int = 0


@dataclass
class _Budget:
    """The budget-left model of one SC (module docstring).

    ``left`` is the value at time ``base``; ``start`` is when the stretch being charged began
    (None: the SC is not charged now). ``generation`` tells stale timeslice ends apart.
    """

    uuid: int
    budget: int
    period: int
    left: int
    base: int = 0
    start: int | None = None
    generation: int = 0

    def at(self, t: int) -> int:
        return self.left - (t - self.base) if self.start is not None else self.left


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@dataclass
class _Converter:
    """Turns records into packets as they come; ``finish`` closes what is still open."""

    pb: Protos
    out: BinaryIO
    stats: PerfettoStats = field(default_factory=PerfettoStats)
    names: dict[int, str] = field(default_factory=dict)  # thread id -> name
    ranks: dict[int, int] = field(default_factory=dict)  # thread id -> sibling rank
    sc_names: dict[int, str] = field(default_factory=dict)
    home: dict[int, int] = field(default_factory=dict)  # SC id -> the thread it belongs to
    budgets: dict[int, _Budget] = field(default_factory=dict)
    running: dict[int, int] = field(default_factory=dict)  # thread -> the SC it runs on
    pending: list[tuple[int, int, int, str, int]] = field(default_factory=list)
    _order: int = 0

    def start(self, header: dict[str, Any]) -> None:
        system = header.get("system")
        name = system.get("name") if isinstance(system, dict) else None
        track = self.pb.TrackDescriptor(
            uuid=ROOT_UUID, name=str(name or "sporadic"), child_ordering=EXPLICIT_ORDER
        )
        self._track(track, sequence_flags=INCREMENTAL_STATE_CLEARED)
        for thread in header.get("threads", ()):
            self._thread(thread["id"], str(thread["name"]))
        for sc in header.get("scs", ()):
            name = str(sc.get("name", f"sc-{sc['id']}"))
            home, budget, period = sc.get("home", -1), sc.get("budget", 0), sc.get("period", 0)
            self._sc(0, sc["id"], name, home, budget, period)

    def _thread(self, tid: int, name: str) -> None:
        self.names[tid] = name
        self.ranks[tid] = rank = 2 * len(self.ranks)
        uuid = THREAD_UUID + tid
        track = self.pb.TrackDescriptor(
            uuid=uuid, parent_uuid=ROOT_UUID, name=name, sibling_order_rank=rank
        )
        self._track(track)

    def _thread_track(self, tid: int) -> int:
        """The track of thread ``tid``, made on first use for a thread nobody introduced."""
        if tid not in self.names:
            self._thread(tid, f"thread-{tid}")
        return THREAD_UUID + tid

    def _sc(self, t: int, sc: int, name: str, home: int, budget: int, period: int) -> None:
        self.sc_names[sc] = name
        self.home[sc] = home
        uuid = SC_UUID + sc
        rank = self.ranks[home] + 1 if home in self.ranks else ORPHAN_RANK + sc
        what = "timeslice left" if period == 0 else "budget left"
        track = self.pb.TrackDescriptor(
            uuid=uuid,
            parent_uuid=ROOT_UUID,
            name=f"{name} {what}",
            sibling_order_rank=rank,
            counter=self.pb.CounterDescriptor(unit=UNIT_TIME_NS),
        )
        self._track(track)
        self.budgets[sc] = _Budget(uuid, budget, period, budget)
        self._counter(t, uuid, budget)

    def _track(self, track: Any, **packet_fields: Any) -> None:
        self.stats.tracks += 1
        self._write(
            self.pb.TracePacket(
                track_descriptor=track, trusted_packet_sequence_id=SEQUENCE_ID, **packet_fields
            )
        )

    def _write(self, packet: Any) -> None:
        data = packet.SerializeToString()
        self.out.write(b"\x0a" + _varint(len(data)) + data)  # Trace field 1, length-delimited
        self.stats.packets += 1

    def _event(self, t: int, kind: int, uuid: int, name: str | None = None, **args: Any) -> None:
        event = self.pb.TrackEvent(type=kind, track_uuid=uuid)
        if name is not None:
            event.name = name
        for key, value in args.items():
            note = event.debug_annotations.add(name=key)
            if isinstance(value, int):
                note.int_value = value
            else:
                note.string_value = str(value)
        packet = self.pb.TracePacket(
            timestamp=t, track_event=event, trusted_packet_sequence_id=SEQUENCE_ID
        )
        self._write(packet)

    def _counter(self, t: int, uuid: int, value: int) -> None:
        event = self.pb.TrackEvent(type=COUNTER, track_uuid=uuid, counter_value=value)
        packet = self.pb.TracePacket(
            timestamp=t, track_event=event, trusted_packet_sequence_id=SEQUENCE_ID
        )
        self._write(packet)
        self.stats.counter_samples += 1

    def _instant(self, t: int, tid: int, name: str, **args: Any) -> None:
        self._event(t, INSTANT, self._thread_track(tid), name, **args)
        self.stats.instants += 1

    def _push(self, t: int, sc: int, what: str, value: int) -> None:
        self._order += 1
        heapq.heappush(self.pending, (t, self._order, sc, what, value))

    def advance(self, t: int) -> None:
        """Write what the budget model does up to ``t``: budget returns, timeslice ends."""
        while self.pending and self.pending[0][0] <= t:
            when, _, sc, what, value = heapq.heappop(self.pending)
            budget = self.budgets[sc]
            if what == "return":
                budget.left = budget.at(when) + value
                budget.base = when
                self._counter(when, budget.uuid, budget.left)
            elif budget.start is not None and value == budget.generation:  # a timeslice end
                budget.left, budget.base = budget.budget, when
                self._counter(when, budget.uuid, budget.left)
                self._push(when + budget.budget, sc, "slice", budget.generation)

    def _charge(self, sc: int, t: int) -> None:
        budget = self.budgets.get(sc)
        if budget is None or budget.start is not None:
            return
        budget.start = budget.base = t
        budget.generation += 1
        if budget.period == 0 and budget.budget > 0:
            self._push(t + budget.left, sc, "slice", budget.generation)

    def _uncharge(self, sc: int, t: int) -> None:
        budget = self.budgets.get(sc)
        if budget is None or budget.start is None:
            return
        left = budget.at(t)
        if budget.period == 0:
            left = left if left > 0 else budget.budget
        else:
            returns = max(budget.start + budget.period, t)
            self._push(returns, sc, "return", t - budget.start)
        budget.left, budget.base, budget.start = left, t, None
        self._counter(t, budget.uuid, left)

    def feed(self, record: tuple) -> None:
        kind, t = record[0], record[1]
        self.advance(t)
        if kind == SWITCH:
            self._switch(t, record[2], record[3], record[4] if len(record) > 4 else -1)
        elif kind == JOB_RELEASE:
            self._instant(t, record[2], "release", job=record[3], deadline=record[4])
        elif kind == DEADLINE_MISS:
            self._instant(t, record[2], "deadline miss", job=record[3], deadline=record[4])
        elif kind == BUDGET_EXHAUSTED:
            self._instant(t, record[2], "budget exhausted", sc=self._sc_name(record[3]))
        elif kind == TIMEOUT_FAULT:
            sc, consumed = self._sc_name(record[3]), record[5]
            self._instant(t, record[2], "timeout fault", sc=sc, consumed_ns=consumed)
        elif kind == FAULT:
            self._instant(t, record[2], "fault", job=record[3], message=str(record[4]))
        elif kind == THREAD_NEW and len(record) >= 10:
            tid, name, sc, budget, period = record[2], str(record[3]), *record[7:10]
            if tid not in self.names:
                self._thread(tid, name)
            if sc >= 0 and sc not in self.budgets:
                self._sc(t, sc, name, tid, budget, period)

    def _sc_name(self, sc: int) -> str:
        return self.sc_names.get(sc, f"sc-{sc}")

    def _switch(self, t: int, src: int, dst: int, sc: int) -> None:
        if src in self.running:
            self._uncharge(self.running.pop(src), t)
            self._event(t, SLICE_END, self._thread_track(src))
        if dst in self.running:  # never in a well-formed trace: a switch to who runs
            self._uncharge(self.running.pop(dst), t)
            self._event(t, SLICE_END, self._thread_track(dst))
        uuid = self._thread_track(dst)
        own = sc < 0 or self.home.get(sc, dst) == dst
        self._event(t, SLICE_BEGIN, uuid, "running" if own else f"running (SC {self._sc_name(sc)})")
        self.stats.slices += 1
        self.running[dst] = sc
        self._charge(sc, t)

    def finish(self, end: int) -> None:
        """End the open slices and the charged stretches at ``end``."""
        self.advance(end)
        for tid, sc in self.running.items():
            self._uncharge(sc, end)
            self._event(end, SLICE_END, THREAD_UUID + tid)
        self.running.clear()


def write_perfetto(
    trace_path: str | os.PathLike[str], out_path: str | os.PathLike[str]
) -> PerfettoStats:
    """Convert the sporadic trace at ``trace_path`` into a Perfetto trace at ``out_path``
    (contents in the module docstring), streaming both; a truncated trace ends at its last
    record. A failed conversion leaves no output file behind."""
    if os.path.exists(out_path) and os.path.samefile(trace_path, out_path):
        raise SporadicError(f"{os.fspath(out_path)}: the Perfetto trace would overwrite its input")
    pb = protos()
    with TraceReader(trace_path) as reader, open(out_path, "wb") as out:
        try:
            converter = _Converter(pb, out)
            converter.start(reader.header)
            for record in reader:
                converter.feed(record)
            if reader.footer is not None:
                end = reader.footer.get("end", reader.last_time or 0)
            else:
                end = reader.last_time or 0
            converter.finish(end)
        except BaseException:
            out.close()
            os.unlink(out_path)
            raise
    return converter.stats
