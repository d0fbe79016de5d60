"""``kiosk run --headless``: the branch without a screen.

Codes arrive on standard input one per line, as a USB scanner types them; each result is
printed as one JSON line on standard output. Logs go to standard error.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import TimeoutError as FutureTimeout
from typing import IO

from kiosk.config import KioskConfig
from kiosk.runtime import BranchRuntime

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 30.0


def run_headless(config: KioskConfig, lines: IO[str], out: IO[str]) -> int:
    runtime = BranchRuntime(config)
    runtime.start()
    try:
        for line in lines:
            code = line.rstrip("\r\n")
            if not code.strip():
                continue
            future = runtime.branch.check_in(code, config.ui.language)
            try:
                result = future.result(timeout=ANSWER_TIMEOUT_S)
            except FutureTimeout:
                log.error("no answer for a code within %.0f s", ANSWER_TIMEOUT_S)
                out.write(json.dumps({"error": "timeout"}) + "\n")
                out.flush()
                continue
            out.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
            out.flush()
    finally:
        runtime.stop()
    return 0
