"""Slip JSON round trip and validation; the [printer] table of the kiosk config."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest
from printing_helpers import make_slip

from kiosk.config import ConfigProblem
from kiosk.printing.config import PrinterConfig, parse_printer_config
from kiosk.printing.slip import Slip, SlipFormatError


def test_slip_survives_json_round_trip_with_polish_text() -> None:
    slip = make_slip(language="en")
    text = slip.to_json()
    assert "Zażółć gęślą jaźń" in text  # stored readable, not \u-escaped
    assert Slip.from_json(text) == slip


def test_slip_json_keeps_the_branch_offset() -> None:
    slip = Slip.from_json(make_slip().to_json())
    assert slip.printed_at.utcoffset() is not None
    assert slip.printed_at.isoformat() == "2026-11-21T10:21:00+01:00"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ticket": None}, "'ticket'"),
        ({"printed_at": "2026-11-21T10:21:00"}, "lacks a UTC offset"),
        ({"printed_at": "yesterday"}, "not RFC 3339"),
        ({"language": "de"}, "language 'de'"),
        ({"position_in_line": "3"}, "position_in_line"),
        ({"service_name": {"en": "Only English"}}, "Polish 'pl' name"),
        ({"ticket": "a-17"}, "must look like 'A017'"),
    ],
)
def test_damaged_slip_json_names_the_field(change: dict[str, object], message: str) -> None:
    raw = json.loads(make_slip().to_json())
    raw.update(change)
    with pytest.raises(SlipFormatError, match=message):
        Slip.from_json(json.dumps(raw))


def test_slip_that_is_not_json_says_so() -> None:
    with pytest.raises(SlipFormatError, match="not valid JSON"):
        Slip.from_json("{'ticket': 'A017'")


def test_naive_printed_at_is_refused() -> None:
    with pytest.raises(SlipFormatError, match="timezone-aware"):
        make_slip(printed_at=datetime(2026, 11, 21, 10, 21))


def test_network_printer_config_with_defaults() -> None:
    config, problems = parse_printer_config({"backend": "network", "host": "10.0.0.5"})
    assert problems == []
    assert config == PrinterConfig(backend="network", host="10.0.0.5")
    assert config.port == 9100 and config.paper_mm == 80 and config.timeout_s == 5.0


def test_usb_config_takes_hex_ids() -> None:
    config, problems = parse_printer_config(
        {"backend": "usb", "usb_vendor": 0x04B8, "usb_product": 0x0E15, "profile": "TM-T20II",
         "paper_mm": 58, "timeout_s": 2}
    )  # fmt: skip
    assert problems == []
    assert config is not None and config.usb_vendor == 0x04B8 and config.timeout_s == 2.0
    assert isinstance(config.timeout_s, float)


def test_every_problem_is_reported_with_its_dotted_key(caplog: pytest.LogCaptureFixture) -> None:
    raw = {
        "backend": "network",
        "port": 70000,
        "paper_mm": 57,
        "profile": "TM-NOPE",
        "timeout_s": 0,
        "colour": "red",
        "query_status": "yes",
    }
    with caplog.at_level(logging.ERROR, logger="kiosk.printing.config"):
        config, problems = parse_printer_config(raw)
    assert config is None
    assert {problem.key for problem in problems} == {
        "printer.port",
        "printer.paper_mm",
        "printer.profile",
        "printer.timeout_s",
        "printer.colour",
        "printer.query_status",
        "printer.host",  # the network backend needs it
    }
    port = next(p for p in problems if p.key == "printer.port")
    assert str(port) == (
        "printer.port = 70000: expected a TCP port from 1 to 65535 (raw printing is usually 9100)"
    )
    assert len(caplog.records) == len(problems)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({}, "printer.backend"),
        ({"backend": "bluetooth"}, "printer.backend"),
        ({"backend": "usb", "usb_vendor": 0x04B8}, "printer.usb_product"),
        ({"backend": "usb", "usb_vendor": "04b8", "usb_product": 1}, "printer.usb_vendor"),
        ({"backend": "serial"}, "printer.serial_port"),
        ({"backend": "serial", "serial_port": "/dev/ttyS0", "baudrate": 12345}, "printer.baudrate"),
        ({"backend": "file", "path": ""}, "printer.path"),
        ({"backend": "preview"}, "printer.preview_dir"),
        ({"backend": "dummy", "paper_mm": True}, "printer.paper_mm"),
        ({"backend": "dummy", "paper_mm": 80.0}, "printer.paper_mm"),
    ],
)
def test_single_problem(raw: dict[str, object], key: str) -> None:
    config, problems = parse_printer_config(raw)
    assert config is None
    assert [problem.key for problem in problems] == [key]
    assert isinstance(problems[0], ConfigProblem)


def test_a_table_that_is_not_a_table() -> None:
    config, problems = parse_printer_config("usb")  # type: ignore[arg-type]
    assert config is None and problems[0].key == "printer"
