# The simulator: the firmware's main loop with the simulated hardware layer.
# Serial bytes go over a UNIX socket (socat turns it into a pty for the host);
# a second UNIX socket takes JSON-line commands that drive beams and door.
#
#   micropython -m firmware.sim_main --serial S.sock --control C.sock --flash DIR
import json
import os
import select
import socket
import struct
import sys
import time

from .app import DoorApp
from .compat import ticks_add, ticks_diff, ticks_ms
from .flash import FlashStore
from .scenario import parse_line
from .simhw import SimHardware

MICROPYTHON = sys.implementation.name == "micropython"
TX_LIMIT = 8192  # bytes kept for a slow reader; more is dropped like a full USB buffer
EAGAIN_CODES = (11, 35)


def unix_listener(path):
    try:
        os.remove(path)
    except OSError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if MICROPYTHON:
        sock.bind(struct.pack("<H", socket.AF_UNIX) + path.encode() + b"\x00")
    else:
        sock.bind(path)
    sock.listen(2)
    sock.setblocking(False)
    return sock


def wall_ns():
    return time.time_ns()


class Poller:
    """select.poll that hands back the registered objects on both interpreters."""

    def __init__(self):
        self._poll = select.poll()
        self._by_fd = {}

    def register(self, obj, flags=select.POLLIN):
        if MICROPYTHON:
            self._poll.register(obj, flags)
        else:
            self._by_fd[obj.fileno()] = obj
            self._poll.register(obj.fileno(), flags)

    def modify(self, obj, flags):
        self._poll.modify(obj if MICROPYTHON else obj.fileno(), flags)

    def unregister(self, obj):
        try:
            if MICROPYTHON:
                self._poll.unregister(obj)
            else:
                self._poll.unregister(self._by_fd.pop(obj.fileno()).fileno())
        except (KeyError, OSError, ValueError):
            pass

    def poll(self, timeout_ms):
        result = []
        for item in self._poll.poll(timeout_ms):
            obj = item[0] if MICROPYTHON else self._by_fd.get(item[0])
            if obj is not None:
                result.append((obj, item[1]))
        return result


class SerialSocket:
    """The device's serial line: at most one host connection at a time."""

    def __init__(self, listener, poller):
        self.listener = listener
        self.poller = poller
        self.conn = None
        self._rx = bytearray()
        self._tx = bytearray()
        self.dropped_tx = 0

    def accept(self):
        conn, _addr = self.listener.accept()
        self.close_conn()
        conn.setblocking(False)
        self.conn = conn
        self._tx = bytearray()
        self.poller.register(conn, select.POLLIN)

    def close_conn(self):
        if self.conn is not None:
            self.poller.unregister(self.conn)
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None

    def on_readable(self):
        try:
            data = self.conn.recv(512)
        except OSError as exc:
            if exc.args and exc.args[0] in EAGAIN_CODES:
                return
            data = b""
        if not data:
            self.close_conn()  # the cable is out; the device carries on counting
            return
        self._rx.extend(data)

    def read(self):
        data = bytes(self._rx)
        self._rx = bytearray()
        return data

    def write(self, data):
        if self.conn is None:
            return
        if len(self._tx) + len(data) > TX_LIMIT:
            self.dropped_tx += len(data)
            return
        self._tx.extend(data)
        self.flush()

    def flush(self):
        if self.conn is None or not self._tx:
            return
        try:
            sent = self.conn.send(self._tx)
        except OSError as exc:
            if exc.args and exc.args[0] in EAGAIN_CODES:
                sent = 0
            else:
                self.close_conn()
                return
        self._tx = self._tx[sent:]
        self.poller.modify(self.conn, select.POLLIN | (select.POLLOUT if self._tx else 0))


class Simulator:
    def __init__(self, serial_path, control_path, flash_dir, uid_hex=None, watch_launcher=False):
        self.poller = Poller()
        self.serial = SerialSocket(unix_listener(serial_path), self.poller)
        self.control = unix_listener(control_path)
        self.poller.register(self.serial.listener)
        self.poller.register(self.control)
        self.clients = {}
        self.hw = SimHardware()
        flash = FlashStore(flash_dir)
        uid = _board_uid(flash, uid_hex)
        self.app = DoorApp(self.hw, self.serial, flash, uid)
        self.running = True
        # the launcher holds our stdin open; end of file means it is gone, and so are we
        self.launcher = sys.stdin.buffer if watch_launcher else None
        if self.launcher is not None:
            self.poller.register(self.launcher)

    def run(self):
        print("ready boot_count=%d" % self.app.boot_count)
        while self.running:
            now = ticks_ms()
            timeout = min(self.app.next_deadline(now), 100)
            for obj, flags in self.poller.poll(timeout):
                self._on_ready(obj, flags)
            self.app.step(ticks_ms())

    def _on_ready(self, obj, flags):
        if obj is self.launcher:
            if not self.launcher.read(1):
                self.running = False
        elif obj is self.serial.listener:
            self.serial.accept()
        elif obj is self.control:
            conn, _addr = self.control.accept()
            conn.setblocking(False)
            self.clients[id(conn)] = [conn, bytearray()]
            self.poller.register(conn)
        elif obj is self.serial.conn:
            if flags & select.POLLOUT:
                self.serial.flush()
            if flags & (select.POLLIN | select.POLLHUP | select.POLLERR):
                self.serial.on_readable()
        elif id(obj) in self.clients:
            self._on_control_readable(self.clients[id(obj)])

    def _on_control_readable(self, client):
        conn, buf = client
        try:
            data = conn.recv(1024)
        except OSError:
            data = b""
        if not data:
            self.poller.unregister(conn)
            del self.clients[id(conn)]
            conn.close()
            return
        buf.extend(data)
        while b"\n" in buf:
            at = buf.index(b"\n")
            line = bytes(buf[:at])
            client[1] = buf = buf[at + 1 :]
            reply = self.handle_command(line.decode())
            _send_all(conn, (json.dumps(reply) + "\n").encode())

    def handle_command(self, text):
        try:
            cmd = json.loads(text)
            if not isinstance(cmd, dict):
                raise ValueError("a command is a JSON object")
            return self._run(cmd)
        except (ValueError, KeyError, TypeError) as exc:
            return {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}

    def _run(self, cmd):
        now = ticks_ms()
        if "walk" in cmd:
            self.hw.walk(cmd["walk"], now, int(cmd.get("step_ms", 150)))
        elif "beam" in cmd:
            self.hw.set_beam(cmd["beam"], bool(cmd["blocked"]), now)
        elif "door" in cmd:
            if cmd["door"] not in ("open", "closed"):
                raise ValueError("door must be open or closed")
            self.hw.set_door(cmd["door"] == "open", now)
        elif "play" in cmd:
            self._play(cmd["play"], now)
        elif "reboot" in cmd:
            self.hw.take_edges(now)  # edges before the restart are lost with it
            self.app.boot(now)
        elif "quit" in cmd:
            self.running = False
        elif "state" not in cmd:
            raise ValueError("unknown command; use walk, beam, door, play, reboot, state, quit")
        # apply now rather than at the next wake-up, so t_ns is when the edge happened
        self.app.step(now)
        return self._state()

    def _play(self, lines, now):
        first = None
        lineno = 0
        for text in lines:
            lineno += 1
            step = parse_line(text, lineno)
            if step is None:
                continue
            if first is None:
                first = step["t_ms"]
            due = ticks_add(now, step["t_ms"] - first)
            if "beam" in step:
                self.hw.schedule(due, "beam", 0 if step["beam"] == "A" else 1, step["blocked"])
            else:
                self.hw.schedule(due, "door", 0, step["door"] == "open")

    def _state(self):
        core = self.app.core
        return {
            "ok": True,
            "t_ns": wall_ns(),
            "boot_count": self.app.boot_count,
            "total_in": core.total_in,
            "total_out": core.total_out,
            "mode": core.mode,
            "lock": self.hw.lock,
            "light": self.hw.light,
            "faults": core.faults,
            "admits_pending": core.admits_pending,
            "last_event_id": core.last_event_id,
            "unacked": len(core.unacked_events()),
            "scheduled_edges": self.hw.pending(),
            "host_connected": self.serial.conn is not None,
            "dropped_tx": self.serial.dropped_tx,
            "link_counters": core.rx_counters(),
        }


def _send_all(conn, data):
    # control replies are small; a client that does not read them is waited for briefly
    deadline = ticks_add(ticks_ms(), 1000)
    while data:
        try:
            sent = conn.send(data)
            data = data[sent:]
        except OSError:
            if ticks_diff(ticks_ms(), deadline) > 0:
                return
            time.sleep_ms(1) if MICROPYTHON else time.sleep(0.001)


def _board_uid(flash, uid_hex):
    if uid_hex:
        return bytes.fromhex(uid_hex)[:8]
    stored = flash.read_text("uid")
    if stored:
        return bytes.fromhex(stored)
    uid = os.urandom(8)
    flash.write_text("uid", "".join("%02x" % b for b in uid))
    return uid


def parse_args(argv):
    opts = {"--serial": None, "--control": None, "--flash": None, "--uid": None,
            "--exit-with-stdin": False}
    i = 0
    while i < len(argv):
        if argv[i] == "--exit-with-stdin":
            opts["--exit-with-stdin"] = True
            i += 1
            continue
        if argv[i] not in opts or i + 1 >= len(argv):
            raise SystemExit("usage: sim_main --serial SOCK --control SOCK --flash DIR "
                             "[--uid HEX] [--exit-with-stdin]")
        opts[argv[i]] = argv[i + 1]
        i += 2
    if not (opts["--serial"] and opts["--control"] and opts["--flash"]):
        raise SystemExit("usage: sim_main --serial SOCK --control SOCK --flash DIR "
                         "[--uid HEX] [--exit-with-stdin]")
    return opts


def main(argv):
    opts = parse_args(argv)
    sim = Simulator(opts["--serial"], opts["--control"], opts["--flash"], opts["--uid"],
                    opts["--exit-with-stdin"])
    sim.run()


if __name__ == "__main__":
    main(sys.argv[1:])
