"""Ticket slips on ESC/POS thermal printers."""

from __future__ import annotations

import os
from pathlib import Path


def _escpos_cache_dir() -> None:
    """Give python-escpos a lasting place for its pickled printer profiles.

    Without one it parses its profile database into a new temporary folder at every start
    (0.15-0.4 s, and a folder left behind each time). The folder is the user's own cache,
    never a shared one: the file is a pickle.
    """
    if "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ:
        return
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = base / "branch-checkin"
    try:
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return  # python-escpos falls back to a temporary folder
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(cache)


_escpos_cache_dir()
