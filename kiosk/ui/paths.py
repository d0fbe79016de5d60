"""Where the screen's assets live: fonts, gettext catalogs, sounds and the kv files."""

from __future__ import annotations

import os
from pathlib import Path

UI_DIR = Path(__file__).resolve().parent
KV_DIR = UI_DIR / "kv"


def assets_dir() -> Path:
    """``$KIOSK_ASSETS_DIR``, else the ``assets`` folder beside the ``kiosk`` package."""
    override = os.environ.get("KIOSK_ASSETS_DIR")
    if override:
        return Path(override)
    return UI_DIR.parents[1] / "assets"


def font_regular() -> Path:
    return assets_dir() / "fonts" / "DejaVuSans.ttf"


def font_bold() -> Path:
    return assets_dir() / "fonts" / "DejaVuSans-Bold.ttf"


def locale_dir() -> Path:
    return assets_dir() / "locale"


def chime_path() -> Path:
    return assets_dir() / "sounds" / "call-chime.wav"
