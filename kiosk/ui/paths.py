"""Where the screen's assets live: fonts, gettext catalogs, sounds and the kv files."""

from __future__ import annotations

from pathlib import Path

from kiosk.assets import assets_dir

UI_DIR = Path(__file__).resolve().parent
KV_DIR = UI_DIR / "kv"


def font_regular() -> Path:
    return assets_dir() / "fonts" / "DejaVuSans.ttf"


def font_bold() -> Path:
    return assets_dir() / "fonts" / "DejaVuSans-Bold.ttf"


def locale_dir() -> Path:
    return assets_dir() / "locale"


def chime_path() -> Path:
    return assets_dir() / "sounds" / "call-chime.wav"
