"""ESC/POS bytes of a slip (python-escpos Dummy) and its PNG preview."""

from __future__ import annotations

import re

import pytest
import qrcode
import qrcode.constants
from escpos.capabilities import CAPABILITIES, get_profile
from PIL import ImageChops
from printing_helpers import ARTIFACTS, make_slip

from kiosk.printing.layout import QR_MASK_PATTERN, paper_for, printed_length_mm, slip_layout
from kiosk.printing.raster import qr_image, slip_font
from kiosk.printing.render import (
    UnknownProfileError,
    polish_code_page,
    slip_bytes,
    slip_preview,
    write_preview_png,
)

ESC, GS = b"\x1b", b"\x1d"
# CP852 (DOS Latin 2) positions of the Polish letters, from the code page table.
CP852 = {
    "ą": 0xA5, "ć": 0x86, "ę": 0xA9, "ł": 0x88, "ń": 0xE4,
    "ó": 0xA2, "ś": 0x98, "ź": 0xAB, "ż": 0xBE,
    "Ą": 0xA4, "Ć": 0x8F, "Ę": 0xA8, "Ł": 0x9D, "Ń": 0xE3,
    "Ó": 0xE0, "Ś": 0x97, "Ź": 0x8D, "Ż": 0xBD,
}  # fmt: skip
POLISH_LETTERS = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"


def cp852(text: str) -> bytes:
    return bytes(CP852[char] if char in CP852 else ord(char) for char in text)


def line(text: str, scale: int = 1, bold: bool = False) -> bytes:
    """GS ! size, ESC E bold, ESC a 1 (centre), the text in CP852, LF."""
    size = (scale - 1) << 4 | (scale - 1)
    style = GS + b"!" + bytes([size]) + ESC + b"E" + bytes([bold]) + ESC + b"a\x01"
    return style + cp852(text) + b"\n"


def qr(payload: str, module: int) -> bytes:
    data = payload.encode()
    store_length = (len(data) + 3).to_bytes(2, "little")
    return (
        line("").removesuffix(b"\n")  # centred, normal size, before the code
        + GS + b"(k\x04\x001A2\x00"  # model 2
        + GS + b"(k\x03\x001C" + bytes([module])  # module size in dots
        + GS + b"(k\x03\x001E1"  # error correction M
        + GS + b"(k" + store_length + b"1P0" + data
        + GS + b"(k\x03\x001Q0"  # print it
        + b"\n"
    )  # fmt: skip


def test_the_cp852_table_used_here_is_the_real_code_page() -> None:
    assert cp852(POLISH_LETTERS) == POLISH_LETTERS.encode("cp852")


def test_polish_slip_on_a_cp852_profile_gives_these_exact_bytes() -> None:
    slip = make_slip(
        "B042",
        language="pl",
        instruction="enter",
        branch_name="Oddział Łódź",
        service_pl="Zażółć gęślą jaźń",
        position_in_line=None,
        footer="ZAŻÓŁĆ GĘŚLĄ JAŹŃ",
    )
    rule = line("-" * 48)  # 80 mm paper, 576 dots: 48 columns of font A
    expected = (
        ESC + b"@"  # initialise
        + ESC + b"t\x12"  # code page 18 = CP852 in the "default" profile, before any text
        + line("Oddział Łódź", bold=True)
        + rule
        + line("Twój numer")
        + line("B042", scale=8, bold=True)
        + line("Zażółć gęślą jaźń", bold=True)
        + line("Wizyta o godz. 10:30")
        + b"\n"
        + line("Zapraszamy, proszę wejść", scale=2, bold=True)
        + b"\n"
        + qr("lodz-1/2026-11-21/B042", 6)
        + line("lodz-1/2026-11-21/B042")
        + rule
        + line("Wydrukowano: 21.11.2026 10:21")
        + line("ZAŻÓŁĆ GĘŚLĄ JAŹŃ")
        + ESC + b"a\x00"  # back to left
        + ESC + b"d\x06" + GS + b"V\x01"  # feed six lines, partial cut
    )  # fmt: skip
    assert CAPABILITIES["profiles"]["default"]["codePages"]["18"] == "CP852"
    assert slip_bytes(slip, "default", 80) == expected


def test_code_page_switch_comes_before_the_first_polish_byte() -> None:
    data = slip_bytes(make_slip(language="en"), "TM-T88V", 58)
    switch = data.index(ESC + b"t\x12")
    first_high_byte = next(i for i, byte in enumerate(data) if byte >= 0x80)
    assert switch < first_high_byte
    assert data.count(ESC + b"t") == 1  # one code page for the whole slip
    assert b"?" not in data  # nothing fell back to the "unknown character" mark


def test_english_slip_adds_english_lines_under_the_polish_ones() -> None:
    polish = slip_bytes(make_slip(language="pl"), "TM-T88V", 80)
    english = slip_bytes(make_slip(language="en"), "TM-T88V", 80)
    for text in (b"Your number", b"Contracts and invoices", b"Please wait", b"Place in line: 3"):
        assert text in english
        assert text not in polish
    assert cp852("Proszę zaczekać,") in english and cp852("Proszę zaczekać,") in polish


def test_qr_code_carries_the_ticket_id_and_the_slip_ends_with_a_cut() -> None:
    data = slip_bytes(make_slip("C123"), "TM-T20II", 80)
    assert qr("lodz-1/2026-11-21/C123", 6) in data
    assert data.endswith(GS + b"V\x01")


def test_a_cp1250_only_profile_uses_windows_1250(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = dict(CAPABILITIES["profiles"]["TM-T88V"])
    profile["codePages"] = {"0": "CP437", "45": "CP1250"}
    monkeypatch.setitem(CAPABILITIES["profiles"], "test-cp1250-only", profile)
    data = slip_bytes(make_slip(service_pl="Zażółć gęślą jaźń"), "test-cp1250-only", 80)
    assert data.startswith(ESC + b"@" + ESC + b"t\x2d")
    assert "Zażółć gęślą jaźń".encode("cp1250") in data


def test_without_a_polish_code_page_diacritic_lines_go_out_as_images() -> None:
    assert polish_code_page(get_profile("simple")) is None
    data = slip_bytes(make_slip(branch_name="Oddział Łódź"), "simple", 58)
    images = re.findall(rb"\x1dv0\x00(..)(..)", data, re.DOTALL)
    widths = {int.from_bytes(w, "little") for w, _ in images}
    assert widths == {384 // 8}  # every image spans the 58 mm paper
    assert b"Oddzia" not in data  # the branch name went as an image, not as '?' text
    assert b"Tw?j" not in data and cp852("Twój") not in data
    assert b"Wizyta o godz. 10:30" in data  # plain ASCII lines stay text
    # "simple" has no native QR: the code is an image too, so more images than Polish lines
    assert len(images) >= 5


def test_control_characters_in_settings_cannot_inject_printer_commands() -> None:
    data = slip_bytes(make_slip(branch_name="Oddział\x1b@ Łódź\x1dV\x00"), "TM-T88V", 80)
    assert data.count(ESC + b"@") == 1  # only the initialisation we send ourselves
    assert GS + b"V\x00" not in data
    assert cp852("Oddział@ Łódź V") in data  # GS is whitespace to str.split()


def test_unknown_profile_is_named_in_the_error() -> None:
    with pytest.raises(UnknownProfileError, match="'TM-NOPE'"):
        slip_bytes(make_slip(), "TM-NOPE", 80)


def test_the_preview_font_has_every_polish_letter() -> None:
    font = slip_font(False, 22)
    missing = font.getmask("\ue000")  # a private-use point DejaVu has no glyph for
    for letter in POLISH_LETTERS:
        mask = font.getmask(letter)
        assert mask.getbbox() is not None
        assert bytes(mask) != bytes(missing), letter


@pytest.mark.parametrize("paper_mm", [58, 80])
@pytest.mark.parametrize("language", ["pl", "en"])
def test_preview_png_is_saved_and_shows_the_slip(paper_mm: int, language: str) -> None:
    slip = make_slip(language=language, service_pl="Zażółć gęślą jaźń ZAŻÓŁĆ GĘŚLĄ JAŹŃ")
    path = write_preview_png(slip, paper_mm, ARTIFACTS / f"slip-{paper_mm}mm-{language}.png")
    image = slip_preview(slip, paper_mm)
    assert path.is_file() and path.stat().st_size > 1000
    assert image.width == {58: 384, 80: 576}[paper_mm]
    paper = paper_for(paper_mm)
    length_dots = printed_length_mm(slip_layout(slip, paper), paper) * 8
    # The preview is drawn at one pixel per printer dot, without the feed before the cut.
    assert abs(image.height + 6 * 34 - length_dots) <= 34
    inked = ImageChops.invert(image.convert("L")).getbbox()
    assert inked is not None and inked[3] > image.height // 2  # ink reaches the lower half


def test_qr_image_matches_the_qrcode_librarys_own_drawing() -> None:
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=6,
        border=0,
        mask_pattern=QR_MASK_PATTERN,
    )
    code.add_data("lodz-1/2026-11-21/A017")
    code.make(fit=True)
    reference = code.make_image().get_image().convert("L")
    drawn = qr_image("lodz-1/2026-11-21/A017", 6)
    assert drawn.size == reference.size
    assert ImageChops.difference(drawn, reference).getbbox() is None
