"""Time to build a slip's ESC/POS bytes and its PNG preview, beside the physical floor:
the time an 80 mm printer at 200 mm/s needs to print that slip.

Run: .venv/bin/python bench/printing.py [--repeat N]
Target: building the bytes takes under 1% of the print time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from kiosk.printing.layout import paper_for, printed_length_mm, slip_layout
from kiosk.printing.render import slip_bytes, slip_preview
from kiosk.printing.slip import Slip, make_ticket_id

PRINT_SPEED_MM_S = 200.0
TARGET_RATIO = 0.01
CASES = (
    ("TM-T20II", "CP852 text, native QR"),
    ("simple", "no Polish code page: text and QR as images"),
)


def bench_slip() -> Slip:
    zone = ZoneInfo("Europe/Warsaw")
    printed = datetime(2026, 11, 21, 10, 21, tzinfo=zone)
    return Slip(
        branch_name="Oddział Łódź Śródmieście",
        ticket="A017",
        service_name={"pl": "Umowy i faktury za prąd", "en": "Electricity contracts and bills"},
        language="en",
        booking_starts_at=datetime(2026, 11, 21, 10, 30, tzinfo=zone),
        instruction="wait",
        position_in_line=3,
        printed_at=printed,
        ticket_id=make_ticket_id("lodz-srodmiescie", printed, "A017"),
        footer="Dziękujemy za wizytę",
    )


def median_s(action: Callable[[], object], repeat: int) -> float:
    action()  # warm caches (fonts, code page maps) as a running kiosk has them
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    slip = bench_slip()
    paper = paper_for(80)
    length_mm = printed_length_mm(slip_layout(slip, paper), paper)
    floor_s = length_mm / PRINT_SPEED_MM_S
    print(f"slip length {length_mm:.0f} mm -> floor {floor_s * 1000:.0f} ms at 200 mm/s")
    for profile, label in CASES:
        size = len(slip_bytes(slip, profile, 80))
        build_s = median_s(partial(slip_bytes, slip, profile, 80), args.repeat)
        ratio = build_s / floor_s
        verdict = "ok" if ratio < TARGET_RATIO else "OVER TARGET"
        print(
            f"bytes   {profile:9} {build_s * 1000:7.2f} ms  {size:6d} B  "
            f"{ratio:7.2%} of print time ({verdict}; {label})"
        )
    preview_s = median_s(lambda: slip_preview(slip, 80), args.repeat)
    print(f"preview 80 mm     {preview_s * 1000:7.2f} ms  {preview_s / floor_s:7.2%} of print time")


if __name__ == "__main__":
    main()
