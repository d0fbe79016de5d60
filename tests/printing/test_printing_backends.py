"""Backends other than the network printer: serial (pyserial URL), file, dummy, preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from escpos.printer import Dummy
from escpos_printer_server import PrinterServer
from PIL import Image
from printing_helpers import make_slip

from kiosk.printing.backends import (
    EscposSlipPrinter,
    PreviewSlipPrinter,
    PrinterUnavailableError,
    make_slip_printer,
)
from kiosk.printing.config import PrinterConfig
from kiosk.printing.render import slip_bytes


def test_serial_backend_prints_and_reads_status_through_a_pyserial_url(
    printer_server: PrinterServer,
) -> None:
    config = PrinterConfig(
        backend="serial",
        serial_port=f"socket://127.0.0.1:{printer_server.port}",
        profile="TM-T20II",
        paper_mm=58,
        timeout_s=0.5,
    )
    printer = make_slip_printer(config)
    printer.open()
    try:
        assert printer.status().state == "ok"
        printer_server.status.paper = 0x12 | 0x0C
        after = printer.print_slip(make_slip("S001"))
    finally:
        printer.close()
    assert after.state == "paper_low"
    assert printer_server.jobs == [slip_bytes(make_slip("S001"), "TM-T20II", 58)]


def test_serial_backend_on_a_missing_port_is_unavailable() -> None:
    config = PrinterConfig(backend="serial", serial_port="/dev/nonexistent-printer")
    with pytest.raises(PrinterUnavailableError, match="cannot open the printer"):
        make_slip_printer(config).open()


def test_file_backend_appends_every_slip(tmp_path: Path) -> None:
    path = tmp_path / "printer.bin"
    config = PrinterConfig(backend="file", path=str(path), profile="TM-T88V", paper_mm=80)
    for ticket in ("F001", "F002"):
        printer = make_slip_printer(config)
        printer.open()
        status = printer.print_slip(make_slip(ticket))
        printer.close()
    assert status.state == "ok" and "not read" in status.detail
    expected = b"".join(slip_bytes(make_slip(t), "TM-T88V", 80) for t in ("F001", "F002"))
    assert path.read_bytes() == expected


def test_file_backend_in_a_missing_folder_is_unavailable(tmp_path: Path) -> None:
    config = PrinterConfig(backend="file", path=str(tmp_path / "no" / "such" / "lp0"))
    with pytest.raises(PrinterUnavailableError, match="cannot open"):
        make_slip_printer(config).open()


def test_network_backend_with_nobody_listening_is_unavailable(
    printer_server: PrinterServer,
) -> None:
    port = printer_server.port
    printer_server.set_mode("refuse")
    config = PrinterConfig(backend="network", host="127.0.0.1", port=port, timeout_s=0.5)
    with pytest.raises(PrinterUnavailableError, match="cannot open"):
        make_slip_printer(config).open()


def test_dummy_backend_keeps_the_bytes() -> None:
    printer = make_slip_printer(PrinterConfig(backend="dummy", profile="TM-T88V", paper_mm=58))
    assert isinstance(printer, EscposSlipPrinter)
    printer.open()
    printer.print_slip(make_slip())
    device = printer.device
    assert isinstance(device, Dummy)
    assert device.output == slip_bytes(make_slip(), "TM-T88V", 58)


def test_preview_backend_writes_a_png_per_slip(tmp_path: Path) -> None:
    config = PrinterConfig(backend="preview", preview_dir=str(tmp_path / "slips"), paper_mm=58)
    printer = make_slip_printer(config)
    assert isinstance(printer, PreviewSlipPrinter)
    printer.open()
    printer.print_slip(make_slip("P001"))
    [path] = printer.printed
    assert path.name == "20261121-102100-P001.png"
    with Image.open(path) as image:
        assert image.width == 384


def test_preview_backend_keeps_a_reprint_beside_the_original(tmp_path: Path) -> None:
    printer = make_slip_printer(PrinterConfig(backend="preview", preview_dir=str(tmp_path)))
    printer.open()
    printer.print_slip(make_slip("P002"))
    printer.print_slip(make_slip("P002"))
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["20261121-102100-P002-2.png", "20261121-102100-P002.png"]
