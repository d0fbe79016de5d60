"""A slip as ESC/POS bytes (through python-escpos's Dummy printer) and as a PNG preview.

Polish text goes out in the profile's CP852 or Windows-1250 code page, selected once with
ESC t before any text. A profile with neither gets every line it cannot encode as a raster
image drawn with DejaVu Sans, so diacritics never turn into question marks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from escpos.capabilities import CAPABILITIES, BaseProfile
from escpos.constants import GS, QR_ECLEVEL_M
from escpos.escpos import Escpos
from escpos.printer import Dummy
from PIL import Image, ImageOps

from kiosk.printing.layout import (
    Element,
    Feed,
    Paper,
    QrCode,
    Rule,
    TextLine,
    paper_for,
    slip_layout,
)
from kiosk.printing.raster import draw_layout, qr_image, text_line_image
from kiosk.printing.slip import Slip

# Preferred first: CP852 is the DOS Central European page nearly every Epson-like printer has.
POLISH_CODE_PAGES = ("CP852", "CP1250")
# Typography the code pages lack, and control characters that would smuggle in commands.
_TYPOGRAPHY = str.maketrans(
    {"–": "-", "—": "-", "„": '"', "”": '"', "“": '"', "’": "'", "‘": "'", "…": "...", "\xa0": " "}
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnknownProfileError(ValueError):
    """The printer profile is not in python-escpos's printer database."""


def known_profiles() -> list[str]:
    """Profile names python-escpos knows, e.g. "TM-T88V", "default"."""
    return sorted(CAPABILITIES["profiles"])


def polish_code_page(profile: BaseProfile) -> str | None:
    """CP852 or CP1250 if the profile lists one, else None (text then goes out as images)."""
    pages = profile.get_code_pages()
    return next((page for page in POLISH_CODE_PAGES if page in pages), None)


def slip_bytes(slip: Slip, profile_name: str, paper_mm: int) -> bytes:
    """Everything the printer needs for one slip, from ESC @ to the cut."""
    if profile_name not in CAPABILITIES["profiles"]:
        names = ", ".join(known_profiles())
        raise UnknownProfileError(f"profile {profile_name!r} is unknown; use one of {names}")
    printer = Dummy(profile=profile_name)
    paper = paper_for(paper_mm, _profile_width_dots(printer.profile))
    code_page = polish_code_page(printer.profile)
    printer.hw("INIT")
    if code_page is not None:
        printer.charcode(code_page)
    for element in slip_layout(slip, paper):
        _write_element(printer, element, paper, code_page)
    printer.set(align="left")
    printer.cut(mode="PART")
    return printer.output


def slip_preview(slip: Slip, paper_mm: int) -> Image.Image:
    """The slip as it comes out of the printer, one pixel per printer dot (203 dpi)."""
    paper = paper_for(paper_mm)
    return draw_layout(slip_layout(slip, paper), paper)


def write_preview_png(slip: Slip, paper_mm: int, path: Path) -> Path:
    """Save the preview as PNG (written to a temporary name first, so readers never see half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    slip_preview(slip, paper_mm).save(partial, format="PNG", dpi=(203, 203))
    partial.replace(path)
    return path


def printable_text(text: str) -> str:
    """Text with typographic marks made plain and control characters removed."""
    return _CONTROL.sub("", text.translate(_TYPOGRAPHY))


def _profile_width_dots(profile: BaseProfile) -> int | None:
    pixels: Any = profile.profile_data.get("media", {}).get("width", {}).get("pixels")
    return pixels if isinstance(pixels, int) else None


def _write_element(printer: Escpos, element: Element, paper: Paper, code_page: str | None) -> None:
    if isinstance(element, TextLine):
        _write_text(printer, element, paper, code_page)
    elif isinstance(element, Rule):
        _centre(printer)
        printer.textln("-" * paper.columns)
    elif isinstance(element, Feed):
        printer.ln(element.lines)
    elif isinstance(element, QrCode):
        _write_qr(printer, element, paper)


def _write_text(printer: Escpos, line: TextLine, paper: Paper, code_page: str | None) -> None:
    _centre(printer, scale=line.scale, bold=line.bold)
    text = printable_text(line.text)
    if _encodable(text, code_page):
        printer.textln(text)
    else:
        _write_raster(printer, text_line_image(TextLine(text, line.scale, line.bold), paper))


def _centre(printer: Escpos, scale: int = 1, bold: bool = False) -> None:
    """GS ! for the size (not ESC !, whose size bits would linger), ESC E, ESC a 1."""
    printer.set(align="center", bold=bold, custom_size=True, width=scale, height=scale)


def _encodable(text: str, code_page: str | None) -> bool:
    if code_page is None:
        return text.isascii()
    try:
        text.encode(code_page.lower())
    except UnicodeEncodeError:
        return False
    return True


def _write_qr(printer: Escpos, code: QrCode, paper: Paper) -> None:
    _centre(printer)
    if printer.profile.supports("qrCode"):
        printer.qr(code.payload, ec=QR_ECLEVEL_M, size=code.module_dots, native=True)
    else:
        symbol = qr_image(code.payload, code.module_dots)
        canvas = Image.new("L", (paper.width_dots, symbol.height), 255)
        canvas.paste(symbol, ((paper.width_dots - symbol.width) // 2, 0))
        _write_raster(printer, canvas.convert("1"))
    printer.ln()


def _write_raster(printer: Escpos, image: Image.Image) -> None:
    """GS v 0 raster image, 1 bits for ink. Built here rather than with Escpos.image(), which
    prints to stdout when the profile's paper width is unknown and converts four times."""
    ink = ImageOps.invert(image.convert("L")).convert("1")
    width_bytes = (ink.width + 7) // 8
    header = GS + b"v0\x00" + width_bytes.to_bytes(2, "little") + ink.height.to_bytes(2, "little")
    printer._raw(header + ink.tobytes())
