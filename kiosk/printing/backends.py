"""Printers the worker prints slips on: python-escpos devices, and a folder of PNG previews.

Every read and write has a timeout (the config's `timeout_s`), so a printer that hangs
costs the worker one timeout, never the worker itself.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Protocol

import serial
from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, File, Network, Serial, Usb

from kiosk.printing.config import PrinterConfig
from kiosk.printing.render import slip_bytes, write_preview_png
from kiosk.printing.slip import Slip
from kiosk.printing.status import (
    QUERY_OFFLINE_CAUSE,
    QUERY_PAPER,
    QUERY_PRINTER,
    PrinterStatus,
    decode_status,
    silent,
)

logger = logging.getLogger(__name__)


class PrinterUnavailableError(Exception):
    """The slip did not (certainly) reach the printer; the message says why."""


class SlipPrinter(Protocol):
    """What the worker needs from a printer."""

    def open(self) -> None:
        """Connect; raises PrinterUnavailableError."""

    def status(self) -> PrinterStatus:
        """Ask the printer how it is; silence is 'offline'."""

    def print_slip(self, slip: Slip) -> PrinterStatus:
        """Send one slip. Returns the status right after; raises PrinterUnavailableError
        unless the printer took the whole slip and is still fit to print it."""

    def close(self) -> None:
        """Disconnect; safe to call at any time."""


class EscposSlipPrinter:
    """A python-escpos device; status is read where the link can carry answers."""

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        self._device: Escpos | None = None
        self.reads_status = config.query_status and config.backend in ("usb", "serial", "network")

    def open(self) -> None:
        self.close()
        try:
            self._device = _open_device(self.config)
        except (OSError, EscposError, serial.SerialException, ValueError) as exc:
            raise PrinterUnavailableError(f"cannot open the printer: {exc}") from exc

    def status(self) -> PrinterStatus:
        if not self.reads_status:
            return PrinterStatus("ok", f"{self.config.backend} printer: status is not read")
        replies: list[int] = []
        for query in (QUERY_PRINTER, QUERY_OFFLINE_CAUSE, QUERY_PAPER):
            reply = self._ask(query)
            if reply is None:
                return silent(query, self.config.timeout_s)
            replies.append(reply)
        return decode_status(*replies)

    def print_slip(self, slip: Slip) -> PrinterStatus:
        data = slip_bytes(slip, self.config.profile, self.config.paper_mm)
        self._write(data)
        # A reply to a query sent after the slip proves the slip's bytes arrived first.
        after = self.status()
        if not after.can_print:
            raise PrinterUnavailableError(f"slip not confirmed: {after.detail}")
        return after

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.close()
            except (OSError, EscposError, serial.SerialException) as exc:
                logger.debug("closing the printer failed: %s", exc)

    @property
    def device(self) -> Escpos:
        if self._device is None:
            raise PrinterUnavailableError("the printer is not open")
        return self._device

    def _write(self, data: bytes) -> None:
        try:
            self.device._raw(data)
            if isinstance(self.device, File):
                self.device.flush()
        except (OSError, EscposError, serial.SerialException) as exc:
            raise PrinterUnavailableError(f"sending the slip failed: {exc}") from exc
        except Exception as exc:  # pyusb raises its own USBError family
            raise PrinterUnavailableError(f"sending the slip failed: {exc!r}") from exc

    def _ask(self, query: bytes) -> int | None:
        """Send one DLE EOT query and read its one-byte reply; None when nothing came."""
        self._write(query)
        try:
            return _read_status_byte(self.device, self.config)
        except (OSError, serial.SerialException) as exc:
            raise PrinterUnavailableError(f"reading the printer's status failed: {exc}") from exc


class PreviewSlipPrinter:
    """Writes each slip as a PNG into a folder: the demo's and the docs' printer."""

    def __init__(self, config: PrinterConfig) -> None:
        assert config.preview_dir is not None
        self.folder = Path(config.preview_dir)
        self.paper_mm = config.paper_mm
        self.printed: list[Path] = []

    def open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PrinterUnavailableError(f"cannot create {self.folder}: {exc}") from exc

    def status(self) -> PrinterStatus:
        return PrinterStatus("ok", f"previews go to {self.folder}")

    def print_slip(self, slip: Slip) -> PrinterStatus:
        path = self._free_path(f"{slip.printed_at:%Y%m%d-%H%M%S}-{slip.ticket}")
        try:
            self.printed.append(write_preview_png(slip, self.paper_mm, path))
        except OSError as exc:
            raise PrinterUnavailableError(f"cannot write preview {path.name}: {exc}") from exc
        return self.status()

    def _free_path(self, stem: str) -> Path:
        """A reprint has the same stem as the original; it gets its own file."""
        path = self.folder / f"{stem}.png"
        copy = 2
        while path.exists():
            path = self.folder / f"{stem}-{copy}.png"
            copy += 1
        return path

    def close(self) -> None:
        pass


def make_slip_printer(config: PrinterConfig) -> SlipPrinter:
    """The printer the configuration names (not yet connected)."""
    if config.backend == "preview":
        return PreviewSlipPrinter(config)
    return EscposSlipPrinter(config)


def _open_device(config: PrinterConfig) -> Escpos:
    timeout = config.timeout_s
    if config.backend == "network":
        assert config.host is not None
        network = Network(config.host, config.port, timeout=timeout, profile=config.profile)
        network.open()
        return network
    if config.backend == "serial":
        assert config.serial_port is not None
        printer = Serial(profile=config.profile)
        # serial_for_url takes device paths and URLs alike; write_timeout keeps hardware
        # flow control from blocking forever when the printer is off.
        printer.device = serial.serial_for_url(
            config.serial_port,
            baudrate=config.baudrate,
            timeout=timeout,
            write_timeout=timeout,
        )
        return printer
    if config.backend == "usb":
        usb = Usb(
            config.usb_vendor,
            config.usb_product,
            timeout=int(timeout * 1000),
            profile=config.profile,
        )
        usb.open()
        return usb
    if config.backend == "file":
        assert config.path is not None
        file_printer = File(profile=config.profile)
        # Append: a plain file collects every slip; a device node does not care.
        file_printer.device = open(config.path, "ab")  # noqa: SIM115 - closed by File.close
        return file_printer
    return Dummy(profile=config.profile)


def _read_status_byte(device: Escpos, config: PrinterConfig) -> int | None:
    link = device.device
    if isinstance(link, socket.socket):
        try:
            data = link.recv(1)
        except TimeoutError:
            return None
        if not data:
            raise PrinterUnavailableError("the printer closed the connection")
        return data[0]
    if isinstance(link, serial.SerialBase):
        data = link.read(1)
        return data[0] if data else None
    if isinstance(device, Usb):
        return _read_usb_byte(device, config)
    return None


def _read_usb_byte(device: Usb, config: PrinterConfig) -> int | None:
    import usb.core

    try:
        data = device.device.read(device.in_ep, 16, int(config.timeout_s * 1000))
    except usb.core.USBTimeoutError:
        return None
    except usb.core.USBError as exc:
        raise PrinterUnavailableError(f"reading the USB printer failed: {exc}") from exc
    return int(data[0]) if len(data) else None
