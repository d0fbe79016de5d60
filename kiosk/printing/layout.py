"""The slip's layout as plain data: what goes on the paper, line by line, and how tall it is.

Both the ESC/POS bytes and the PNG preview are drawn from this one layout, so the preview
shows what the printer prints. Heights are in printer dots (203 dpi, 8 dots per mm), the unit
both renderers share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import qrcode
import qrcode.constants

from kiosk.printing.slip import Slip

DOTS_PER_MM = 8  # 203 dpi thermal heads
CHAR_WIDTH_DOTS = 12  # ESC/POS font A is 12 x 24 dots
CHAR_HEIGHT_DOTS = 24
# ESC 2 (the power-on default) feeds 1/6 inch; taller characters feed their own height.
DEFAULT_LINE_DOTS = 34
CUT_FEED_LINES = 6  # python-escpos feeds six lines before cutting
QR_MODULE_DOTS = {58: 5, 80: 6}
PAPER_WIDTH_DOTS = {58: 384, 80: 576}  # printable width: 48 mm and 72 mm
TICKET_MAX_SCALE = {58: 6, 80: 8}
QR_MASK_PATTERN = 0  # the mask does not change the size; fixing it skips scoring all eight


@dataclass(frozen=True)
class TextLine:
    """One centred line; `scale` multiplies both width and height of the characters."""

    text: str
    scale: int = 1
    bold: bool = False


@dataclass(frozen=True)
class Rule:
    """A horizontal dashed line across the paper."""


@dataclass(frozen=True)
class Feed:
    """Blank lines."""

    lines: int = 1


@dataclass(frozen=True)
class QrCode:
    """A centred QR code of `payload`, each module `module_dots` square."""

    payload: str
    module_dots: int


Element = TextLine | Rule | Feed | QrCode


@dataclass(frozen=True)
class Paper:
    """The printable area: width in dots and columns of font A at scale 1."""

    paper_mm: int
    width_dots: int

    @property
    def columns(self) -> int:
        return self.width_dots // CHAR_WIDTH_DOTS


def paper_for(paper_mm: int, profile_width_dots: int | None = None) -> Paper:
    """The printable area for 58 or 80 mm paper, narrowed to what the printer's head can do."""
    if paper_mm not in PAPER_WIDTH_DOTS:
        raise ValueError(f"paper_mm must be 58 or 80, got {paper_mm!r}")
    width = PAPER_WIDTH_DOTS[paper_mm]
    if profile_width_dots is not None:
        width = min(width, profile_width_dots)
    return Paper(paper_mm=paper_mm, width_dots=width)


def slip_layout(slip: Slip, paper: Paper) -> list[Element]:
    """The slip top to bottom: Polish first, English beneath when the customer chose English."""
    english = slip.language == "en"
    elements: list[Element] = [TextLine(slip.branch_name, bold=True), Rule()]
    elements += _both("Twój numer", "Your number", english)
    elements.append(TextLine(slip.ticket, scale=_ticket_scale(slip.ticket, paper), bold=True))
    elements.append(TextLine(slip.service_name["pl"], bold=True))
    if english and slip.service_name.get("en"):
        elements.append(TextLine(slip.service_name["en"]))
    if slip.booking_starts_at is not None:
        at = _clock(slip.booking_starts_at.astimezone(slip.printed_at.tzinfo))
        elements += _both(f"Wizyta o godz. {at}", f"Appointment at {at}", english)
    elements += [Feed(), *_instruction(slip, english)]
    if slip.position_in_line is not None:
        n = slip.position_in_line
        elements += _both(f"Miejsce w kolejce: {n}", f"Place in line: {n}", english)
    elements += [Feed(), QrCode(slip.ticket_id, QR_MODULE_DOTS[paper.paper_mm])]
    elements += [TextLine(slip.ticket_id), Rule()]
    printed = _date_and_clock(slip.printed_at)
    label = "Wydrukowano / Printed" if english else "Wydrukowano"
    elements.append(TextLine(f"{label}: {printed}"))
    if slip.footer:
        elements.append(TextLine(slip.footer))
    return [_wrapped for element in elements for _wrapped in _wrap(element, paper)]


def _instruction(slip: Slip, english: bool) -> list[Element]:
    if slip.instruction == "enter":
        pl, en = "Zapraszamy, proszę wejść", "Welcome, please come in"
    else:
        pl, en = "Proszę zaczekać, wywołamy Twój numer", "Please wait, we will call your number"
    lines: list[Element] = [TextLine(pl, scale=2, bold=True)]
    if english:
        lines.append(TextLine(en, bold=True))
    return lines


def _both(pl: str, en: str, english: bool) -> list[Element]:
    return [TextLine(pl), TextLine(en)] if english else [TextLine(pl)]


def _ticket_scale(ticket: str, paper: Paper) -> int:
    return max(1, min(TICKET_MAX_SCALE[paper.paper_mm], paper.columns // len(ticket)))


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _date_and_clock(moment: datetime) -> str:
    return moment.strftime("%d.%m.%Y %H:%M")


def _wrap(element: Element, paper: Paper) -> list[Element]:
    """Split text wider than the paper into lines at word boundaries (long words are cut)."""
    if not isinstance(element, TextLine):
        return [element]
    width = max(1, paper.columns // element.scale)
    lines: list[str] = []
    current = ""
    for word in element.text.split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return [TextLine(line, element.scale, element.bold) for line in lines]


def text_line_dots(scale: int) -> int:
    """Paper fed by one text line at `scale`."""
    return max(DEFAULT_LINE_DOTS, CHAR_HEIGHT_DOTS * scale)


def qr_side_modules(payload: str) -> int:
    """Modules per side of the QR code for `payload` (error correction M, no quiet zone)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=QR_MASK_PATTERN
    )
    code.add_data(payload)
    code.make(fit=True)
    return int(code.modules_count)


def element_dots(element: Element, paper: Paper) -> int:
    """Paper fed by one element, in dots, as both renderers lay it out."""
    if isinstance(element, TextLine):
        return text_line_dots(element.scale)
    if isinstance(element, Rule):
        return DEFAULT_LINE_DOTS
    if isinstance(element, Feed):
        return DEFAULT_LINE_DOTS * element.lines
    # The QR code is followed by one line feed in the ESC/POS stream.
    return qr_side_modules(element.payload) * element.module_dots + DEFAULT_LINE_DOTS


def printed_length_mm(layout: list[Element], paper: Paper) -> float:
    """Length of paper the slip uses, including the feed before the cut."""
    dots = sum(element_dots(element, paper) for element in layout)
    dots += CUT_FEED_LINES * DEFAULT_LINE_DOTS
    return dots / DOTS_PER_MM
