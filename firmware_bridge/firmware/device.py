# The device's side of the link and its door logic, without I/O: bytes and
# input edges in, bytes and output levels out, the time (ms ticks) passed in.
import struct

from . import config
from . import protocol as p
from .compat import ticks_add, ticks_diff
from .counter import PASS_IN, BeamCounter
from .wire import FrameSplitter, build_packet

_COMMAND_LENGTHS = {p.HELLO: 3, p.HEARTBEAT: 0, p.ADMIT: 3, p.SET_MODE: 1, p.EVENT_ACK: 4}


class DeviceCore:
    def __init__(self, uid, boot_count, now, ring_size=config.EVENT_RING_SIZE):
        self.uid = bytes(uid)[:8]
        self.boot_count = boot_count
        self.mode = p.MODE_NORMAL
        self.door = p.DOOR_CLOSED
        self.faults = 0
        self.total_in = 0
        self.total_out = 0
        self.admits_pending = 0
        self.counters = {"dropped_unknown": 0, "bad_request": 0, "tx_events": 0,
                         "ring_overflow": 0, "duplicate_commands": 0, "bad_event_ack": 0}
        self._ring_size = ring_size
        self._events = []  # [event_id, uptime_ms, kind, arg, last_sent_tick]
        self._last_event_id = 0
        self._admit_deadline = 0
        self._recent = []  # (seq, type, payload, result, tick) of executed commands
        self._seq = 0
        self._out = bytearray()
        self._splitter = FrameSplitter(synced=True)
        self._beams = BeamCounter(config.DEBOUNCE_MS, now)
        self._beam_fault_since = [None, None]
        self._door_since = now
        self._heartbeat_timeout = config.DEFAULT_HEARTBEAT_TIMEOUT_MS
        self._last_rx = now
        self._last_now = now
        self._uptime = 0
        self._next_status = now
        self._send_hello()

    # ----- inputs -------------------------------------------------------
    def receive_bytes(self, data, now):
        self._clock(now)
        for packet, reason in self._splitter.feed(data):
            if packet is not None:
                self._last_rx = now
                self._handle_packet(packet, now)
        self._check_heartbeat(now)

    def beam_edge(self, beam, blocked, now):
        self._clock(now)
        self._take_passages(self._beams.edge(beam, blocked, now), now)

    def door_edge(self, is_open, now):
        self._clock(now)
        self._door_since = now
        if is_open and self.door == p.DOOR_CLOSED:
            if self.lock_state() == p.LOCKED:
                self.door = p.DOOR_FORCED_STATE
                self._add_event(p.EV_DOOR_FORCED, 0, now)
            else:
                self.door = p.DOOR_OPEN
                self._add_event(p.EV_DOOR_OPENED, 0, now)
        elif not is_open and self.door != p.DOOR_CLOSED:
            self.door = p.DOOR_CLOSED
            self._add_event(p.EV_DOOR_CLOSED, 0, now)

    def tick(self, now):
        """Run every timer that is due; call at least every few ms."""
        self._clock(now)
        self._take_passages(self._beams.advance(now), now)
        self._check_heartbeat(now)
        self._check_admit_window(now)
        self._check_door_held(now)
        self._check_beam_faults(now)
        if ticks_diff(now, self._next_status) >= 0:
            self._send_status()
            self._next_status = ticks_add(now, config.STATUS_PERIOD_MS)
        self._resend_events(now)

    # ----- outputs ------------------------------------------------------
    def take_output(self):
        data = bytes(self._out)
        self._out = bytearray()
        return data

    def lock_state(self):
        if self.mode == p.MODE_EMERGENCY:
            return p.UNLOCKED
        if self.faults & (1 << p.FAULT_HEARTBEAT):
            return p.LOCKED
        if self.mode == p.MODE_FREE:
            return p.UNLOCKED
        if self.mode == p.MODE_NORMAL and self.admits_pending > 0:
            return p.UNLOCKED
        return p.LOCKED

    def light_state(self):
        if self.mode == p.MODE_EMERGENCY:
            return p.LIGHT_FLASHING
        return p.LIGHT_GREEN if self.lock_state() == p.UNLOCKED else p.LIGHT_RED

    def next_deadline(self, now):
        """Milliseconds until tick() has work to do (0..STATUS period)."""
        wait = ticks_diff(self._next_status, now)
        due = self._beams.next_deadline()
        if due is not None:
            wait = min(wait, ticks_diff(due, now))
        if self._events:
            wait = min(wait, config.EVENT_RESEND_MS)
        if self.admits_pending:
            wait = min(wait, ticks_diff(self._admit_deadline, now))
        return max(0, wait)

    def rx_counters(self):
        counters = dict(self._splitter.counters)
        counters.update(self.counters)
        return counters

    def unacked_events(self):
        return [(e[0], e[2], e[3]) for e in self._events]

    @property
    def last_event_id(self):
        return self._last_event_id

    # ----- packets in ---------------------------------------------------
    def _handle_packet(self, packet, now):
        ptype = packet[0]
        seq = packet[1]
        payload = packet[2:]
        if ptype not in _COMMAND_LENGTHS:
            self.counters["dropped_unknown"] += 1
            return
        if len(payload) != _COMMAND_LENGTHS[ptype]:
            self.counters["bad_request"] += 1
            if ptype in (p.ADMIT, p.SET_MODE):
                self._send_ack(seq, p.ACK_BAD_REQUEST)
            return
        if ptype == p.HELLO:
            timeout = struct.unpack("<BH", payload)[1]
            self._heartbeat_timeout = timeout or config.DEFAULT_HEARTBEAT_TIMEOUT_MS
            self._send_hello()
            for event in self._events:
                event[4] = None  # a (re)connected host gets every unacked event now
            self._resend_events(now)
        elif ptype == p.EVENT_ACK:
            self._acknowledge(struct.unpack("<I", payload)[0])
        elif ptype in (p.ADMIT, p.SET_MODE):
            self._run_command(ptype, seq, payload, now)

    def _run_command(self, ptype, seq, payload, now):
        self._recent = [c for c in self._recent
                        if ticks_diff(now, c[4]) < config.COMMAND_DEDUP_MS]
        for c in self._recent:
            if c[0] == seq and c[1] == ptype and c[2] == payload:
                self.counters["duplicate_commands"] += 1
                self._send_ack(seq, c[3])
                return
        if ptype == p.ADMIT:
            count, window_ms = struct.unpack("<BH", payload)
            result = self._admit(count, window_ms, now)
        else:
            result = self._set_mode(payload[0], now)
        self._recent.append((seq, ptype, bytes(payload), result, now))
        self._recent = self._recent[-config.COMMAND_DEDUP_ENTRIES:]
        self._send_ack(seq, result)

    def _admit(self, count, window_ms, now):
        if count < 1 or count > 10 or window_ms == 0:
            return p.ACK_BAD_REQUEST
        if self.mode == p.MODE_HOLD:
            return p.ACK_REFUSED
        if self.mode != p.MODE_NORMAL:
            return p.ACK_OK  # FREE and EMERGENCY are unlocked already
        if self.admits_pending + count > 255:
            return p.ACK_BUSY
        deadline = ticks_add(now, window_ms)
        if self.admits_pending == 0 or ticks_diff(deadline, self._admit_deadline) > 0:
            self._admit_deadline = deadline
        self.admits_pending += count
        return p.ACK_OK

    def _set_mode(self, mode, now):
        if mode > p.MODE_EMERGENCY:
            return p.ACK_BAD_REQUEST
        if mode != p.MODE_NORMAL and self.admits_pending:
            self._expire_admits(now)
        self.mode = mode
        return p.ACK_OK

    def _acknowledge(self, last_id):
        if last_id > self._last_event_id:
            self.counters["bad_event_ack"] += 1
            return
        while self._events and self._events[0][0] <= last_id:
            self._events.pop(0)

    # ----- door logic ---------------------------------------------------
    def _take_passages(self, passages, now):
        for kind, _t in passages:
            if kind == PASS_IN:
                self.total_in += 1
                self._add_event(p.EV_PASS_IN, 0, now)
                if self.mode == p.MODE_NORMAL:
                    if self.admits_pending:
                        self.admits_pending -= 1
                    else:
                        self._add_event(p.EV_TAILGATE, 0, now)
            else:
                self.total_out += 1
                self._add_event(p.EV_PASS_OUT, 0, now)

    def _expire_admits(self, now):
        unused = self.admits_pending
        self.admits_pending = 0
        self._add_event(p.EV_ADMIT_EXPIRED, unused, now)

    def _check_admit_window(self, now):
        if self.admits_pending and ticks_diff(now, self._admit_deadline) >= 0:
            self._expire_admits(now)

    def _check_heartbeat(self, now):
        lost = ticks_diff(now, self._last_rx) > self._heartbeat_timeout
        self._set_fault(p.FAULT_HEARTBEAT, lost, now)

    def _check_door_held(self, now):
        if self.door == p.DOOR_OPEN and \
                ticks_diff(now, self._door_since) >= config.DOOR_HELD_OPEN_MS:
            self.door = p.DOOR_HELD
            self._add_event(p.EV_DOOR_HELD_OPEN, 0, now)

    def _check_beam_faults(self, now):
        for i, bit in ((0, p.FAULT_BEAM_A), (1, p.FAULT_BEAM_B)):
            stuck = self._beams.stable[i] and ticks_diff(
                now, self._beams.stable_since[i]) >= config.BEAM_BLOCKED_FAULT_MS
            self._set_fault(bit, stuck, now)

    def _set_fault(self, bit, active, now):
        mask = 1 << bit
        if active and not self.faults & mask:
            self.faults |= mask
            self._add_event(p.EV_FAULT_SET, bit, now)
        elif not active and self.faults & mask:
            self.faults &= ~mask
            self._add_event(p.EV_FAULT_CLEARED, bit, now)

    # ----- packets out --------------------------------------------------
    def _clock(self, now):
        self._uptime += max(0, ticks_diff(now, self._last_now))
        self._last_now = now

    def _add_event(self, kind, arg, now):
        self._last_event_id += 1
        if len(self._events) >= self._ring_size:
            self._events.pop(0)
            self.counters["ring_overflow"] += 1
        event = [self._last_event_id, self._uptime & 0xFFFFFFFF, kind, arg, now]
        self._events.append(event)
        self._send_event(event)

    def _send_event(self, event):
        self.counters["tx_events"] += 1
        self._send(p.EVENT, struct.pack("<IIBH", event[0], event[1], event[2], event[3]))

    def _resend_events(self, now):
        sent = 0
        for event in self._events:
            if sent >= config.RESEND_BURST:
                break
            if event[4] is None or ticks_diff(now, event[4]) >= config.EVENT_RESEND_MS:
                event[4] = now
                self._send_event(event)
                sent += 1

    def _send_hello(self):
        oldest = self._events[0][0] if self._events else 0
        payload = struct.pack("<BH", p.PROTO_VERSION, config.FW_VERSION) + self.uid + \
            struct.pack("<II", self.boot_count, oldest)
        self._out.append(0)  # lets a host that has just opened the line sync at once
        self._send(p.DEVICE_HELLO, payload)

    def _send_status(self):
        self._send(p.STATUS, struct.pack(
            "<IBBBBIIBBI", self._uptime & 0xFFFFFFFF, self.mode, self.lock_state(),
            self.light_state(), self.door, self.total_in & 0xFFFFFFFF,
            self.total_out & 0xFFFFFFFF, min(self.admits_pending, 255), self.faults,
            self._last_event_id))

    def _send_ack(self, seq, result):
        self._send(p.ACK, bytes([seq, result]))

    def _send(self, ptype, payload):
        self._out.extend(build_packet(ptype, self._seq, payload))
        self._seq = (self._seq + 1) & 0xFF
