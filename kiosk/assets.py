"""Where the kiosk's assets live: fonts with Polish glyphs, gettext catalogs, sounds.

``$KIOSK_ASSETS_DIR`` when set (an installed kiosk: the installer copies ``assets/`` to
``/opt/branch-checkin/assets`` and the service sets it), else the ``assets`` folder beside
the ``kiosk`` package in a source checkout.
"""

from __future__ import annotations

import os
from pathlib import Path


def assets_dir() -> Path:
    override = os.environ.get("KIOSK_ASSETS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "assets"
