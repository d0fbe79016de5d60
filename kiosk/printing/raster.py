"""Drawing the slip layout with Pillow, one printer dot per pixel.

Used for the PNG preview and, on printers with no Polish code page, to send text lines as
images. The font must have Polish glyphs: DejaVu Sans ships in assets/fonts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from kiosk.assets import assets_dir
from kiosk.printing.layout import (
    CHAR_HEIGHT_DOTS,
    DEFAULT_LINE_DOTS,
    QR_MASK_PATTERN,
    Element,
    Feed,
    Paper,
    QrCode,
    Rule,
    TextLine,
    element_dots,
    text_line_dots,
)

FONT_DIRS = (
    assets_dir() / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
)
FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
# DejaVu Sans at this pixel size has capitals about as tall as font A's 24-dot cell.
FONT_PX_PER_SCALE = 22
WHITE, BLACK = 255, 0


class FontMissingError(RuntimeError):
    """No font with Polish glyphs was found."""


@lru_cache(maxsize=64)
def slip_font(bold: bool, size_px: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (bold or regular) at `size_px` pixels."""
    name = FONT_FILES[bold]
    for folder in FONT_DIRS:
        path = folder / name
        if path.is_file():
            return ImageFont.truetype(str(path), size_px)
    searched = ", ".join(str(folder) for folder in FONT_DIRS)
    raise FontMissingError(
        f"{name} not found in {searched}; install fonts-dejavu-core or restore assets/fonts"
    )


def draw_layout(layout: list[Element], paper: Paper) -> Image.Image:
    """The whole slip as a 1-bit image, `paper.width_dots` wide."""
    heights = [element_dots(element, paper) for element in layout]
    image = Image.new("L", (paper.width_dots, sum(heights) + DEFAULT_LINE_DOTS), WHITE)
    top = 0
    for element, height in zip(layout, heights, strict=True):
        _draw_element(image, element, paper, top)
        top += height
    return image.convert("1")


def text_line_image(line: TextLine, paper: Paper) -> Image.Image:
    """One text line as a 1-bit image the height the printer would feed for it."""
    image = Image.new("L", (paper.width_dots, text_line_dots(line.scale)), WHITE)
    _draw_text(image, line, paper, 0)
    return image.convert("1")


def qr_image(payload: str, module_dots: int) -> Image.Image:
    """The QR code without quiet zone; the paper around it is blank anyway."""
    # A fixed mask: any mask scans, and scoring all eight was two thirds of the render time.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=module_dots,
        border=0,
        mask_pattern=QR_MASK_PATTERN,
    )
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    side = len(matrix)
    pixels = bytes(BLACK if dark else WHITE for row in matrix for dark in row)
    modules = Image.frombytes("L", (side, side), pixels)
    return modules.resize((side * module_dots, side * module_dots), Image.Resampling.NEAREST)


def _draw_element(image: Image.Image, element: Element, paper: Paper, top: int) -> None:
    if isinstance(element, TextLine):
        _draw_text(image, element, paper, top)
    elif isinstance(element, Rule):
        draw = ImageDraw.Draw(image)
        middle = top + DEFAULT_LINE_DOTS // 2
        for x in range(0, paper.width_dots, 12):
            draw.line((x, middle, x + 7, middle), fill=BLACK, width=2)
    elif isinstance(element, QrCode):
        code = qr_image(element.payload, element.module_dots)
        image.paste(code, ((paper.width_dots - code.width) // 2, top))
    elif isinstance(element, Feed):
        pass


def _draw_text(image: Image.Image, line: TextLine, paper: Paper, top: int) -> None:
    draw = ImageDraw.Draw(image)
    size_px = FONT_PX_PER_SCALE * line.scale
    font = slip_font(line.bold, size_px)
    width = draw.textlength(line.text, font=font)
    if width > paper.width_dots:
        # DejaVu is wider than font A; shrink rather than cut the line off.
        font = slip_font(line.bold, max(8, int(size_px * paper.width_dots / width)))
        width = draw.textlength(line.text, font=font)
    left = max(0.0, (paper.width_dots - width) / 2)
    # Baseline-anchored so lines with and without descenders sit alike.
    baseline = top + CHAR_HEIGHT_DOTS * line.scale - 4 * line.scale
    draw.text((left, baseline), line.text, font=font, fill=BLACK, anchor="ls")
