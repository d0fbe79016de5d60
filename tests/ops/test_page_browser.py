"""End to end in headless chromium: ops and a real kiosk process (``kiosk run --headless``
with its MQTT sync) on a real mosquitto; the page changes without a reload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.brokerkit import MosquittoBroker, MqttListener, wait_until
from tests.kiosk.conftest import booking_json
from tests.ops.conftest import KioskProcess, OpsProcess, now_local, screenshot

pytestmark = [pytest.mark.broker, pytest.mark.slow]

BRANCH, KIOSK = "krk-1", "krk-1-k1"
CODE = "7KQ2-M9XD"
HOSTILE = '<img src=x onerror="window.__pwned=1">Łódź & <b>co</b>'
BRANCHES = {
    BRANCH: {"name": "POK Kraków, ul. Łagiewnicka 60", "region": "małopolskie"},
    "lodz-1": {"name": HOSTILE, "region": "łódzkie <script>"},
}


def start_all(mosquitto: MosquittoBroker, run_ops: Callable[..., OpsProcess],
              run_kiosk: Callable[..., KioskProcess], page_for: Callable[[OpsProcess], Any],
              tmp_path: Any) -> tuple[KioskProcess, Any]:
    ops = run_ops(mosquitto.port, BRANCHES)
    booking = booking_json("b-1", CODE.replace("-", ""), now_local())
    kiosk = run_kiosk(tmp_path / "kiosk", mosquitto.port, BRANCH, KIOSK, [booking])
    page = page_for(ops)
    tile = f"#tile-{BRANCH}"
    page.wait_for_selector(f"{tile}[data-state=open] li.kiosk.ok[data-kiosk={KIOSK}]")
    page.evaluate("window.__sameDocument = 'yes'")
    return kiosk, page


def test_a_check_in_at_the_kiosk_changes_the_tile_without_reload(
        mosquitto: MosquittoBroker, run_ops: Any, run_kiosk: Any, page_for: Any,
        tmp_path: Any) -> None:
    kiosk, page = start_all(mosquitto, run_ops, run_kiosk, page_for, tmp_path)
    tile = page.locator(f"#tile-{BRANCH}")
    assert tile.locator(".checkins").text_content() == "0"
    result = kiosk.check_in(CODE)
    assert result["type"] == "checkin", result
    expect(tile.locator(".checkins")).to_have_text("1")
    assert page.evaluate("window.__sameDocument") == "yes"  # the same page, not reloaded
    # A hostile branch name is shown as text, never run or parsed as markup.
    hostile = page.locator("#tile-lodz-1")
    assert hostile.locator(".name").text_content() == HOSTILE
    assert hostile.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    screenshot(page, "checkin-tile-updated")


def test_a_killed_kiosk_goes_offline_through_its_will(
        mosquitto: MosquittoBroker, run_ops: Any, run_kiosk: Any, page_for: Any,
        tmp_path: Any) -> None:
    kiosk, page = start_all(mosquitto, run_ops, run_kiosk, page_for, tmp_path)
    kiosk.kill()  # SIGKILL: no DISCONNECT, so the broker publishes the will
    page.wait_for_selector(f"#tile-{BRANCH}.problem li.kiosk.bad[data-kiosk={KIOSK}]",
                           timeout=20_000)
    line = page.locator(f"#tile-{BRANCH} li[data-kiosk={KIOSK}] .online").text_content()
    assert line is not None and line.strip() == "offline"
    assert page.evaluate("window.__sameDocument") == "yes"
    screenshot(page, "kiosk-offline-by-will")


def test_an_operator_pauses_a_branch_and_the_kiosk_reports_paused(
        mosquitto: MosquittoBroker, run_ops: Any, run_kiosk: Any, page_for: Any,
        tmp_path: Any) -> None:
    listener = MqttListener(mosquitto.port, "test-watch",
                            topics=(f"checkin/v1/branches/{BRANCH}/#",))
    try:
        _, page = start_all(mosquitto, run_ops, run_kiosk, page_for, tmp_path)
        page.click(f"#tile-{BRANCH}")
        page.wait_for_selector("#details:not([hidden]) .day")
        # Resuming an open branch is a transition the kiosk refuses: the page shows its error.
        page.click("#details button[data-action=resume]")
        refused = page.locator("#details .commands li.failed .result")
        expect(refused).to_contain_text("błąd / error:")
        page.click("#details button[data-action=pause]")
        page.wait_for_selector("#details .commands li.ok .result")
        page.wait_for_selector(f"#tile-{BRANCH}[data-state=paused]")
        command = listener.wait_for(f"checkin/v1/branches/{BRANCH}/commands",
                                    lambda c: c["action"] == "pause")
        assert command["issued_by"] == "ops:jkowalski"
        result = listener.wait_for(f"checkin/v1/branches/{BRANCH}/command-results",
                                   lambda r: r["command_id"] == command["command_id"])
        assert result == {**result, "command_id": command["command_id"], "ok": True}
        occupancy = listener.wait_for(f"checkin/v1/branches/{BRANCH}/occupancy",
                                      lambda o: o["state"] == "paused")
        assert occupancy["state"] == "paused"
        wait_until(lambda: page.evaluate(
            "document.querySelector('#details img.chart').naturalWidth") > 0, 10,
            "the chart to load")
        screenshot(page, "branch-paused-by-operator")
        # A limit outside what a kiosk accepts is refused on the page, not sent.
        page.fill("#limit-input", "0")
        page.click("#details button[data-action=set_limit]")
        page.wait_for_selector("#details p.error:text('limit')")
        assert len(listener.on(f"checkin/v1/branches/{BRANCH}/commands")) == 2
    finally:
        listener.close()


def test_alarms_arrive_newest_first_and_an_operator_acknowledges_one(
        mosquitto: MosquittoBroker, run_ops: Any, page_for: Any) -> None:
    """Alarms as a kiosk publishes them (contract-shaped, from paho: the door's alarms need
    the door hardware), duplicates included."""
    ops = run_ops(mosquitto.port, BRANCHES)
    page = page_for(ops)
    kiosk = MqttListener(mosquitto.port, "krk-1-k2", topics=("nothing/here",))
    try:
        topic = f"checkin/v1/branches/{BRANCH}/kiosks/krk-1-k2/events"
        at = now_local()
        first = {"event_id": "alarm-1", "type": "alarm", "kind": "tailgate",
                 "detail": "dwie osoby, jedno zameldowanie", "at": at.isoformat()}
        second = {"event_id": "alarm-2", "type": "alarm", "kind": "door_held_open",
                  "detail": "<b>drzwi</b> otwarte 60 s",
                  "at": (at + timedelta(seconds=2)).isoformat()}
        kiosk.publish(topic, first)
        kiosk.publish(topic, second)
        kiosk.publish(topic, first)  # a duplicate: shown once
        page.wait_for_selector("#alarms li[data-event-id=alarm-2]")
        ids = page.eval_on_selector_all("#alarms li", "items => items.map(i => i.dataset.eventId)")
        assert ids == ["alarm-2", "alarm-1"]
        held = page.locator("#alarms li[data-event-id=alarm-2] .detail")
        assert held.text_content() == "<b>drzwi</b> otwarte 60 s"
        expect(page.locator(f"#tile-{BRANCH} .problems")).to_contain_text("alarmy")
        page.click("#alarms li[data-event-id=alarm-1] button.ack-button")
        expect(page.locator("#alarms li[data-event-id=alarm-1] .ack")).to_have_text(
            "potwierdził/acknowledged: jkowalski")
        assert page.locator("#alarms li.open").count() == 1
        screenshot(page, "alarms-one-acknowledged")
    finally:
        kiosk.close()


def test_a_busy_days_chart_renders_in_the_browser(browser: Any) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from central.ops.chart import occupancy_svg
    from central.ops.history import Sample

    zone = ZoneInfo("Europe/Warsaw")
    day = datetime(2026, 11, 23, tzinfo=zone)
    counts = [0, 2, 5, 8, 12, 12, 10, 7, 9, 12, 11, 6, 4, 3, 1, 0]
    samples = [Sample(day.replace(hour=9).timestamp() + i * 1800, c, 12, max(0, c - 10),
                      "full" if c >= 12 else "open") for i, c in enumerate(counts)]
    svg = occupancy_svg("POK Kraków, ul. Łagiewnicka 60", samples, [], day,
                        day.replace(hour=18))
    page = browser.new_page(viewport={"width": 700, "height": 260})
    try:
        page.set_content(f"<!doctype html><html><body style='margin:0'>{svg}</body></html>")
        box = page.locator("polyline.occupancy").bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] > 100
        screenshot(page, "chart-busy-day")
    finally:
        page.close()
