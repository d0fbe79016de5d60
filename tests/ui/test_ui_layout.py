"""Sizes and colours: 9 mm touch targets on a 7-inch 800x480 and a 10-inch 1280x800 screen,
text contrast of at least 4.5:1, and the main screens' screenshots at 1280x800."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.ui.theme import TEXT_ON, contrast_ratio, min_touch_px
from tests.ui.conftest import run_scenario


def test_nine_millimetres_in_pixels() -> None:
    # 7-inch 800x480: 133 px per inch; 10-inch 1280x800: 151 px per inch.
    assert min_touch_px(800, 480, 7.0) == pytest.approx(47.2, abs=0.1)
    assert min_touch_px(1280, 800, 10.0) == pytest.approx(53.5, abs=0.1)


@pytest.mark.parametrize(("name", "ink", "ground"), TEXT_ON, ids=[n for n, _, _ in TEXT_ON])
def test_text_contrast_is_at_least_4_5(name: str, ink: tuple[float, ...],
                                       ground: tuple[float, ...]) -> None:
    assert contrast_ratio(ink, ground) >= 4.5, name  # type: ignore[arg-type]


def test_contrast_ratio_matches_wcag_examples() -> None:
    white, black = (1.0, 1.0, 1.0, 1.0), (0.0, 0.0, 0.0, 1.0)
    grey_767676 = (0x76 / 255, 0x76 / 255, 0x76 / 255, 1.0)
    assert contrast_ratio(white, black) == pytest.approx(21.0)
    assert contrast_ratio(white, grey_767676) == pytest.approx(4.54, abs=0.01)


@pytest.mark.ui
@pytest.mark.parametrize("size", ["800x480", "1280x800"])
def test_every_button_is_a_9mm_touch_target(tmp_path: Path, size: str) -> None:
    run_scenario("touch_targets", tmp_path, size=size)


@pytest.mark.ui
def test_main_screens_at_1280x800(tmp_path: Path) -> None:
    run_scenario("large_screen", tmp_path, size="1280x800")
