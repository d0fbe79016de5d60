# Firmware checks that run unchanged under MicroPython (unix port) and CPython.
# Usage: <interpreter> firmware_checks.py VECTORS_FILE SCENARIO_DIR
# with the directory holding the `firmware` package on the module path.
# Prints PASS/FAIL per check and a RESULT line; exits 1 if anything failed.
# ruff: noqa: UP031  (%-formatting, as in the firmware, works the same on both)
import json
import os
import struct
import sys

from firmware import config
from firmware import protocol as p
from firmware.device import DeviceCore
from firmware.scenario import run_scenario
from firmware.wire import FrameSplitter, build_packet, cobs_decode, cobs_encode, crc16

RESULTS = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print("PASS " + name)
    except Exception as exc:  # report every failure, not just the first
        RESULTS["failed"] += 1
        print("FAIL %s: %s %s" % (name, type(exc).__name__, exc))


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


def load_vectors(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(json.loads(line))
    return out


def vector_checks(vectors):
    for v in vectors:
        if v["kind"] == "crc":
            check("crc " + v["name"], lambda v=v: expect(
                crc16(v["ascii"].encode()) == int(v["crc_hex"], 16), "crc mismatch"))
        elif v["kind"] == "packet":
            check("vector " + v["name"], lambda v=v: packet_vector(v))
        elif v["kind"] == "reject":
            check("reject " + v["name"], lambda v=v: reject_vector(v))
        elif v["kind"] == "stream":
            check("stream " + v["name"], lambda v=v: stream_vector(v))


def packet_vector(v):
    pk = v["packet"]
    payload = bytes.fromhex(pk["payload_hex"])
    wire = bytes.fromhex(v["wire_hex"])
    expect(build_packet(pk["type"], pk["seq"], payload) == wire, "encoding differs")
    splitter = FrameSplitter(synced=True)
    results = splitter.feed(wire)
    expect(len(results) == 1 and results[0][1] is None, "not decoded: %r" % (results,))
    packet = results[0][0]
    expect(packet[0] == pk["type"] and packet[1] == pk["seq"], "type/seq")
    expect(bytes(packet[2:]) == payload, "payload")


def reject_vector(v):
    stream = bytes.fromhex(v["stream_hex"])
    if v["reject"] == "dropped_unknown":
        core = DeviceCore(b"12345678", 1, 0)
        core.receive_bytes(stream, 1)
        expect(core.counters["dropped_unknown"] == 1, "unknown type not counted")
        return
    splitter = FrameSplitter()
    results = splitter.feed(stream)
    expect(all(r[0] is None for r in results), "a bad frame got through")
    drops = {}
    for key in splitter.counters:
        if key.startswith("dropped") and splitter.counters[key]:
            drops[key] = splitter.counters[key]
    expect(drops == {v["reject"]: 1}, "counted %r" % (drops,))


def stream_vector(v):
    splitter = FrameSplitter()
    results = splitter.feed(bytes.fromhex(v["stream_hex"]))
    good = [r for r in results if r[0] is not None]
    expect(len(good) == v["packets"], "got %d packets" % len(good))
    expect(len(good) == len(results), "an error was counted")


def scenario_checks(directory):
    for name in sorted(os.listdir(directory)):
        if name.endswith(".jsonl"):
            check("scenario " + name, lambda name=name: scenario_file(directory + "/" + name))


def scenario_file(path):
    with open(path) as f:
        result = run_scenario(f.read().split("\n"))
    want = result["expect"]
    expect(want is not None, "no '# expect:' line")
    got = {"in": result["in"], "out": result["out"]}
    expect(got == {"in": want.get("in", 0), "out": want.get("out", 0)}, "counted %r" % got)


def cobs_roundtrip():
    for n in (0, 1, 2, 253, 254, 255, 300):
        for data in (bytes(n), b"\x01" * n, bytes([(i * 7) & 0xFF for i in range(n)])):
            enc = cobs_encode(data)
            expect(0 not in enc, "zero in COBS output")
            expect(cobs_decode(enc) == data, "roundtrip n=%d" % n)


class Host:
    """Just enough of a host to talk to DeviceCore in these checks."""

    def __init__(self):
        self.seq = 0
        self.splitter = FrameSplitter()

    def frame(self, ptype, payload=b"", seq=None):
        if seq is None:
            self.seq = (self.seq + 1) & 0xFF
            seq = self.seq
        return build_packet(ptype, seq, payload)

    def read(self, core):
        return [r[0] for r in self.splitter.feed(core.take_output()) if r[0] is not None]


def of_type(packets, ptype):
    return [pk for pk in packets if pk[0] == ptype]


def device_admit_and_retry():
    core = DeviceCore(b"12345678", 3, 0)
    host = Host()
    host.read(core)
    admit = host.frame(p.ADMIT, struct.pack("<BH", 2, 5000))
    core.receive_bytes(admit, 10)
    core.receive_bytes(admit, 220)  # a retry: same seq, answered, not carried out twice
    acks = of_type(host.read(core), p.ACK)
    expect(len(acks) == 2 and acks[0][3] == p.ACK_OK and acks[1][3] == p.ACK_OK, "acks")
    expect(core.admits_pending == 2, "admits_pending %d" % core.admits_pending)
    expect(core.lock_state() == p.UNLOCKED and core.light_state() == p.LIGHT_GREEN, "not open")
    core.tick(5100)
    events = of_type(host.read(core), p.EVENT)
    kinds = [pk[10] for pk in events]
    expect(p.EV_ADMIT_EXPIRED in kinds, "no ADMIT_EXPIRED in %r" % kinds)
    expect(core.lock_state() == p.LOCKED, "still open after the window")


def device_refuses_in_hold():
    core = DeviceCore(b"12345678", 1, 0)
    host = Host()
    core.receive_bytes(host.frame(p.SET_MODE, bytes([p.MODE_HOLD])), 1)
    core.receive_bytes(host.frame(p.ADMIT, struct.pack("<BH", 1, 1000)), 2)
    core.receive_bytes(host.frame(p.ADMIT, struct.pack("<BH", 11, 1000)), 3)
    results = [pk[3] for pk in of_type(host.read(core), p.ACK)]
    expect(results == [p.ACK_OK, p.ACK_REFUSED, p.ACK_BAD_REQUEST], "results %r" % results)


def device_event_ring_and_ack():
    core = DeviceCore(b"12345678", 1, 0, ring_size=config.EVENT_RING_SIZE)
    for i in range(300):
        t = i * 1000
        core.beam_edge("A", True, t)
        core.beam_edge("B", True, t + 100)
        core.beam_edge("A", False, t + 200)
        core.beam_edge("B", False, t + 300)
        core.receive_bytes(Host().frame(p.HEARTBEAT), t + 301)
    core.tick(300000)
    unacked = core.unacked_events()
    expect(len(unacked) == config.EVENT_RING_SIZE, "ring holds %d" % len(unacked))
    expect(core.counters["ring_overflow"] > 0, "overflow not counted")
    last = core.last_event_id
    core.receive_bytes(Host().frame(p.EVENT_ACK, struct.pack("<I", last - 10)), 300001)
    expect(len(core.unacked_events()) == 10, "cumulative ack left %d" % len(core.unacked_events()))


def device_resends_until_acked():
    core = DeviceCore(b"12345678", 1, 0)
    host = Host()
    host.read(core)
    core.door_edge(True, 5)  # locked: DOOR_FORCED
    first = of_type(host.read(core), p.EVENT)
    core.tick(300)
    expect(not of_type(host.read(core), p.EVENT), "re-sent before 500 ms")
    core.tick(505)
    again = of_type(host.read(core), p.EVENT)
    expect(len(first) == 1 and len(again) == 1 and first[0][2:6] == again[0][2:6], "no resend")
    core.receive_bytes(host.frame(p.EVENT_ACK, struct.pack("<I", 1)), 600)
    core.tick(1200)
    expect(not of_type(host.read(core), p.EVENT), "re-sent after the ack")


def device_heartbeat_failsafe():
    core = DeviceCore(b"12345678", 1, 0)
    host = Host()
    core.receive_bytes(host.frame(p.HELLO, struct.pack("<BH", 1, 1000)), 0)
    core.receive_bytes(host.frame(p.SET_MODE, bytes([p.MODE_FREE])), 10)
    expect(core.lock_state() == p.UNLOCKED, "FREE should unlock")
    core.tick(1500)
    expect(core.faults & 8 and core.lock_state() == p.LOCKED, "no fail-safe after 1 s")
    core.receive_bytes(host.frame(p.HEARTBEAT), 1600)
    expect(not core.faults & 8 and core.lock_state() == p.UNLOCKED, "fault not cleared")


def device_status_every_second():
    core = DeviceCore(b"12345678", 1, 0)
    host = Host()
    statuses = 0
    for t in range(0, 3001, 10):
        core.tick(t)
        statuses += len(of_type(host.read(core), p.STATUS))
    expect(statuses == 4, "%d STATUS in 3 s (expected at 0, 1, 2, 3 s)" % statuses)


def main(argv):
    vectors = load_vectors(argv[1])
    vector_checks(vectors)
    scenario_checks(argv[2])
    check("cobs roundtrip", cobs_roundtrip)
    check("device ADMIT, retry, window", device_admit_and_retry)
    check("device HOLD refuses ADMIT", device_refuses_in_hold)
    check("device ring of 256 and cumulative ack", device_event_ring_and_ack)
    check("device re-sends events every 500 ms", device_resends_until_acked)
    check("device heartbeat fail-safe", device_heartbeat_failsafe)
    check("device STATUS every second", device_status_every_second)
    print("RESULT passed=%d failed=%d" % (RESULTS["passed"], RESULTS["failed"]))
    sys.exit(1 if RESULTS["failed"] else 0)


main(sys.argv)
