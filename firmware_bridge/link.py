"""The host side of the door link as a sans-I/O object.

Bytes in (`receive_data`), notices out (`pop_notices`); commands in
(`admit`, `set_mode`, `acknowledge`), bytes out (`data_to_send`). Time is an
argument (seconds, any monotonic clock). No threads, no serial port.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from dataclasses import dataclass

from . import messages as m
from .framing import FrameDecoder, Packet, encode_packet
from .link_state import LinkInput, next_state
from .notices import (
    CommandResult,
    DeviceEvent,
    DeviceInfo,
    DeviceRebooted,
    DeviceStatus,
    EventCursor,
    EventGap,
    LinkDown,
    LinkNotice,
    LinkState,
    LinkUp,
)

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 0.2
MAX_RETRIES = 3
HEARTBEAT_PERIOD_S = 1.0
HELLO_AGAIN_S = 1.0
GAP_QUERY_AFTER_S = 1.5  # three event re-send rounds without the missing id
ACK_REPEAT_S = 0.2
MAX_HELD_EVENTS = 1024


@dataclass
class _Pending:
    seq: int
    command: str
    frame: bytes
    sends: int
    due: float


class HostLink:
    def __init__(
        self,
        *,
        resume: EventCursor | None = None,
        heartbeat_timeout_ms: int = 3000,
        first_seq: int | None = None,
    ) -> None:
        if not 0 <= heartbeat_timeout_ms <= 0xFFFF:
            raise ValueError(f"heartbeat_timeout_ms must be 0..65535, got {heartbeat_timeout_ms}")
        self.state = LinkState.DOWN
        self.heartbeat_timeout_s = (heartbeat_timeout_ms or 3000) / 1000
        self._heartbeat_timeout_ms = heartbeat_timeout_ms
        self._seq = random.randrange(256) if first_seq is None else first_seq & 0xFF
        self._decoder = FrameDecoder()
        self._out = bytearray()
        self._notices: deque[LinkNotice] = deque()
        self._pending: dict[int, _Pending] = {}
        self._delivered = resume
        self._acked = resume
        self._known_boot: int | None = resume.boot_count if resume else None
        self._session_boot: int | None = None
        self._next_id = 1
        self._held: dict[int, m.EventReport] = {}
        self._held_since: float | None = None
        self._status_last_id = 0
        self._last_rx = 0.0
        self._last_heartbeat = 0.0
        self._next_hello = 0.0
        self._last_ack_sent = -1.0
        self.reconnect_reason: str | None = None
        self.counters: dict[str, int] = {
            "dropped_unknown": 0,
            "dropped_bad_payload": 0,
            "duplicate_events": 0,
            "events_before_hello": 0,
            "events_delivered": 0,
            "event_gaps": 0,
            "events_lost": 0,
            "late_acks": 0,
            "command_timeouts": 0,
            "device_reboots": 0,
            "boot_count_went_back": 0,
        }

    # ----- the port ------------------------------------------------------
    def connection_made(self, now: float) -> None:
        self.state = next_state(self.state, LinkInput.PORT_OPENED)
        self._decoder.reset()
        self._out.clear()
        self._session_boot = None
        self._held.clear()
        self._held_since = None
        self._last_rx = now
        self.reconnect_reason = None
        self._out.append(0)  # ends whatever half frame the device has buffered
        self._send_hello(now)

    def connection_lost(self, reason: str) -> None:
        self._go_down(LinkInput.PORT_LOST, reason)

    def receive_data(self, data: bytes, now: float) -> None:
        for packet in self._decoder.feed(data):
            self._last_rx = now
            self._handle_packet(packet, now)

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def pop_notices(self) -> list[LinkNotice]:
        notices = list(self._notices)
        self._notices.clear()
        return notices

    # ----- commands from the owner --------------------------------------
    def admit(self, count: int, window_ms: int, now: float) -> int:
        return self._command(m.PacketType.ADMIT, m.admit_payload(count, window_ms), now)

    def set_mode(self, mode: m.Mode, now: float) -> int:
        return self._command(m.PacketType.SET_MODE, m.set_mode_payload(mode), now)

    def acknowledge(self, cursor: EventCursor, now: float) -> None:
        """The owner stored every event up to `cursor`; tell the device it may forget them."""
        cursor = EventCursor(*cursor)
        if self._delivered is None or cursor > self._delivered:
            logger.warning("door link: acknowledge(%s) is past the last delivered event %s; "
                           "acknowledging only up to what was delivered", cursor, self._delivered)
            if self._delivered is None:
                return
            cursor = self._delivered
        if self._acked is None or cursor > self._acked:
            self._acked = cursor
        self._send_event_ack(now, force=True)

    # ----- time -----------------------------------------------------------
    def tick(self, now: float) -> None:
        if self.state is LinkState.DOWN:
            return
        if now - self._last_rx > self.heartbeat_timeout_s:
            self._go_down(LinkInput.DEVICE_SILENT,
                          f"no frame from the device for {self.heartbeat_timeout_s:.1f} s")
            return
        self._retry_commands(now)
        if self.state is LinkState.CONNECTING and not self._hello_pending() \
                and now >= self._next_hello:
            self._send_hello(now)
        if self.state is LinkState.UP and now - self._last_heartbeat >= HEARTBEAT_PERIOD_S:
            self._last_heartbeat = now
            self._send(m.PacketType.HEARTBEAT, b"")
        if self._held_since is not None and now - self._held_since >= GAP_QUERY_AFTER_S \
                and not self._hello_pending():
            self._held_since = now
            self._send_hello(now)  # its reply names the oldest event the device still has

    def next_timer(self, now: float) -> float:
        """Seconds until tick() has something to do."""
        if self.state is LinkState.DOWN:
            return 1.0
        due = [self._last_rx + self.heartbeat_timeout_s, self._last_heartbeat + HEARTBEAT_PERIOD_S]
        due += [p.due for p in self._pending.values()]
        if self._held_since is not None:
            due.append(self._held_since + GAP_QUERY_AFTER_S)
        return max(0.0, min(due) - now)

    # ----- packets from the device ----------------------------------------
    def _handle_packet(self, packet: Packet, now: float) -> None:
        try:
            message = m.parse_device_payload(packet.ptype, packet.payload)
        except m.PayloadError as exc:
            self.counters["dropped_bad_payload"] += 1
            logger.warning("door link: dropped a packet: %s", exc)
            return
        if message is None:
            self.counters["dropped_unknown"] += 1
            logger.warning("door link: dropped a packet of unknown type 0x%02x", packet.ptype)
        elif isinstance(message, m.DeviceHello):
            self._on_hello(message, now)
        elif isinstance(message, m.EventReport):
            self._on_event(message, now)
        elif isinstance(message, m.StatusReport):
            self._on_status(message)
        else:
            self._on_ack(message)

    def _on_hello(self, hello: m.DeviceHello, now: float) -> None:
        answered = self._pending.pop(self._hello_seq(), None) if self._hello_pending() else None
        previous = self._known_boot
        rebooted = previous is not None and hello.boot_count != previous
        if rebooted and previous is not None:
            self._on_reboot(previous, hello.boot_count)
        self._known_boot = self._session_boot = hello.boot_count
        same_boot = self._delivered is not None and self._delivered.boot_count == hello.boot_count
        self._next_id = self._delivered.event_id + 1 if same_boot and self._delivered else 1
        oldest = hello.oldest_unacked_event_id
        if oldest > self._next_id:
            self._report_gap(self._next_id, oldest - 1, "the device's event ring overflowed")
            self._next_id = oldest
        self._deliver_held(now)
        was_up = self.state is LinkState.UP
        self.state = next_state(self.state, LinkInput.DEVICE_HELLO)
        if not was_up:
            self._last_heartbeat = now
            info = DeviceInfo(hello.uid, hello.fw_version, hello.boot_count, oldest)
            self._notices.append(LinkUp(info))
        if answered is None or rebooted:
            # the device restarted (perhaps before it read our HELLO) and needs our settings
            self._send_hello(now)
        self._send_event_ack(now, force=True)

    def _on_reboot(self, previous: int, boot_count: int) -> None:
        self.counters["device_reboots"] += 1
        if boot_count < previous:
            self.counters["boot_count_went_back"] += 1
            logger.warning("door link: boot count went back from %d to %d: new board or "
                           "wiped flash; event positions start again", previous, boot_count)
        delivered = self._delivered.event_id if self._delivered and \
            self._delivered.boot_count == previous else 0
        if self._status_last_id > delivered:
            self._report_gap(delivered + 1, self._status_last_id,
                             "the device restarted before sending them", boot_count=previous)
        self._status_last_id = 0
        self._held.clear()
        self._held_since = None
        self._notices.append(DeviceRebooted(previous, boot_count))
        if self._delivered is not None and boot_count < self._delivered.boot_count:
            self._delivered = EventCursor(boot_count, 0)
            self._acked = self._delivered

    def _on_event(self, event: m.EventReport, now: float) -> None:
        if self._session_boot is None:
            self.counters["events_before_hello"] += 1  # the device re-sends it after HELLO
            return
        if event.event_id < self._next_id:
            self.counters["duplicate_events"] += 1
            self._send_event_ack(now, force=False)
            return
        if len(self._held) < MAX_HELD_EVENTS:
            self._held[event.event_id] = event
        if self._held_since is None:
            self._held_since = now
        self._deliver_held(now)

    def _deliver_held(self, now: float) -> None:
        boot = self._session_boot
        if boot is None:
            return
        for stale in [k for k in self._held if k < self._next_id]:
            del self._held[stale]
        while self._next_id in self._held:
            event = self._held.pop(self._next_id)
            cursor = EventCursor(boot, event.event_id)
            self._delivered = cursor
            self._next_id += 1
            self.counters["events_delivered"] += 1
            self._notices.append(DeviceEvent(cursor, event.uptime_ms, _event_kind(event.kind),
                                             event.arg))
        self._held_since = now if self._held else None

    def _on_status(self, status: m.StatusReport) -> None:
        self._status_last_id = status.last_event_id
        self._notices.append(DeviceStatus(
            status.uptime_ms, _mode(status.mode), status.lock, status.light, status.door,
            status.total_in, status.total_out, status.admits_pending, status.faults,
            status.last_event_id))

    def _on_ack(self, ack: m.AckReport) -> None:
        pending = self._pending.get(ack.acked_seq)
        if pending is None or pending.command == "HELLO":
            self.counters["late_acks"] += 1  # the answer to a retry that was answered before
            return
        del self._pending[ack.acked_seq]
        try:
            result: m.AckResult | None = m.AckResult(ack.result)
        except ValueError:
            logger.warning("door link: ACK for %s has unknown result %d", pending.command,
                           ack.result)
            result = None
        self._notices.append(CommandResult(pending.seq, pending.command, result))

    # ----- sending -------------------------------------------------------
    def _command(self, ptype: m.PacketType, payload: bytes, now: float) -> int:
        seq = self._next_seq()
        name = ptype.name
        if self.state is not LinkState.UP and ptype is not m.PacketType.HELLO:
            logger.warning("door link: %s not sent, the link is %s", name, self.state.value)
            self._notices.append(CommandResult(seq, name, None))
            return seq
        frame = encode_packet(ptype, seq, payload)
        self._pending[seq] = _Pending(seq, name, frame, 1, now + RETRY_AFTER_S)
        self._out += frame
        return seq

    def _retry_commands(self, now: float) -> None:
        for pending in list(self._pending.values()):
            if now < pending.due:
                continue
            if pending.sends <= MAX_RETRIES:
                pending.sends += 1
                pending.due = now + RETRY_AFTER_S
                self._out += pending.frame
                continue
            del self._pending[pending.seq]
            self.counters["command_timeouts"] += 1
            if pending.command == "HELLO":
                self._next_hello = now + HELLO_AGAIN_S
            else:
                logger.warning("door link: no answer to %s (seq %d) after %d retries",
                               pending.command, pending.seq, MAX_RETRIES)
                self._notices.append(CommandResult(pending.seq, pending.command, None))

    def _send_hello(self, now: float) -> None:
        self._command(m.PacketType.HELLO, m.hello_payload(self._heartbeat_timeout_ms), now)

    def _hello_pending(self) -> bool:
        return any(p.command == "HELLO" for p in self._pending.values())

    def _hello_seq(self) -> int:
        return next(p.seq for p in self._pending.values() if p.command == "HELLO")

    def _send_event_ack(self, now: float, *, force: bool) -> None:
        acked = self._acked
        if self.state is LinkState.DOWN or acked is None or acked.event_id == 0:
            return
        if acked.boot_count != self._session_boot:
            return
        if not force and now - self._last_ack_sent < ACK_REPEAT_S:
            return
        self._last_ack_sent = now
        self._send(m.PacketType.EVENT_ACK, m.event_ack_payload(acked.event_id))

    def _send(self, ptype: m.PacketType, payload: bytes) -> None:
        self._out += encode_packet(ptype, self._next_seq(), payload)

    def _next_seq(self) -> int:
        for _ in range(256):
            self._seq = (self._seq + 1) & 0xFF
            if self._seq not in self._pending:
                break
        return self._seq

    def _report_gap(self, first: int, last: int, reason: str, *, boot_count: int | None = None
                    ) -> None:
        boot = boot_count if boot_count is not None else self._session_boot
        if boot is None or last < first:
            return
        self.counters["event_gaps"] += 1
        self.counters["events_lost"] += last - first + 1
        logger.warning("door link: events %d..%d of boot %d are lost: %s", first, last, boot,
                       reason)
        self._notices.append(EventGap(boot, first, last, reason))

    def _go_down(self, event: LinkInput, reason: str) -> None:
        was_up = self.state is LinkState.UP
        self.state = next_state(self.state, event)
        if event is LinkInput.DEVICE_SILENT:
            self.reconnect_reason = reason
        for pending in self._pending.values():
            if pending.command != "HELLO":
                self._notices.append(CommandResult(pending.seq, pending.command, None))
        self._pending.clear()
        self._out.clear()
        self._session_boot = None
        self._held.clear()
        self._held_since = None
        if was_up:
            logger.warning("door link down: %s", reason)
            self._notices.append(LinkDown(reason))

    @property
    def decoder_counters(self) -> dict[str, int]:
        return self._decoder.counters


def _event_kind(kind: int) -> m.EventKind:
    try:
        return m.EventKind(kind)
    except ValueError:
        logger.warning("door link: event of unknown kind %d passed on as is", kind)
        return kind  # type: ignore[return-value]


def _mode(mode: int) -> m.Mode:
    try:
        return m.Mode(mode)
    except ValueError:
        return mode  # type: ignore[return-value]
