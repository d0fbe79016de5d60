"""The HTTP side against the real ops process and mosquitto: sessions, CSRF, escaping,
refused actions, and /metrics read by prometheus_client's own parser."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.brokerkit import MosquittoBroker, MqttListener, wait_until
from tests.ops.conftest import OPERATOR, PASSWORD, OpsProcess, now_local

pytestmark = [pytest.mark.broker]

BRANCHES = {"krk-1": {"name": "POK Kraków", "region": "małopolskie"},
            "waw-2": {"name": "POK Warszawa \"Centrum\"", "region": "mazowieckie"}}


class Client:
    def __init__(self, ops: OpsProcess) -> None:
        parts = urlsplit(ops.url)
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.origin = ops.url
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        sent = {"Origin": self.origin, **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def login(self, password: str = PASSWORD) -> tuple[int, dict[str, str]]:
        status, headers, _ = self.request(
            "POST", "/login", urlencode({"login": OPERATOR, "password": password}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        if status == 303:
            self.cookie = headers["set-cookie"].split(";", 1)[0]
        return status, headers

    def csrf(self) -> str:
        _, _, page = self.request("GET", "/")
        marker = 'name="csrf-token" content="'
        text = page.decode()
        start = text.index(marker) + len(marker)
        return text[start:text.index('"', start)]

    def post_json(self, path: str, data: Any, csrf: str | None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf
        status, _, body = self.request("POST", path, json.dumps(data).encode(), headers)
        return status, json.loads(body)


@pytest.fixture
def ops(mosquitto: MosquittoBroker, run_ops: Any) -> OpsProcess:
    proc: OpsProcess = run_ops(mosquitto.port, BRANCHES)
    return proc


def test_nothing_without_a_session(ops: OpsProcess) -> None:
    client = Client(ops)
    status, headers, _ = client.request("GET", "/")
    assert status == 303 and headers["location"] == "/login"
    assert client.request("GET", "/events")[0] == 401
    assert client.request("GET", "/api/branch/krk-1")[0] == 401
    status, _ = client.post_json("/api/command", {"branch": "krk-1", "action": "pause"}, "x")
    assert status == 401


def test_login_sets_a_strict_http_only_cookie_and_wrong_passwords_lock(ops: OpsProcess) -> None:
    client = Client(ops)
    status, _ = client.login("wrong")
    assert status == 401
    status, headers = client.login()
    assert status == 303
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert client.request("GET", "/")[0] == 200
    assert json.loads(client.request("GET", "/api/session")[2]) == {"operator": OPERATOR}
    status, headers, _ = client.request("POST", "/logout")
    assert status == 303 and "Max-Age=0" in headers["set-cookie"]
    assert client.request("GET", "/api/session")[0] == 401  # the old cookie is dead
    for _ in range(5):
        Client(ops).login("wrong again")
    assert Client(ops).login()[0] == 429  # locked even with the right password now


def test_actions_need_the_csrf_token_and_the_same_origin(
        ops: OpsProcess, mosquitto: MosquittoBroker) -> None:
    watcher = MqttListener(mosquitto.port, "watch-commands",
                           topics=("checkin/v1/branches/+/commands",))
    try:
        client = Client(ops)
        client.login()
        csrf = client.csrf()
        command = {"branch": "krk-1", "action": "set_limit", "args": {"limit": 8}}
        assert client.post_json("/api/command", command, None)[0] == 403
        assert client.post_json("/api/command", command, "forged")[0] == 403
        client.origin = "http://evil.example"
        assert client.post_json("/api/command", command, csrf)[0] == 403
        client.origin = ops.url
        assert client.post_json("/api/command", {**command, "args": {"limit": 0}}, csrf)[0] == 400
        assert client.post_json("/api/command", {"branch": "nowhere", "action": "pause"},
                                csrf)[0] == 400
        assert client.post_json("/api/command", {"branch": "krk-1", "action": "reboot"},
                                csrf)[0] == 400
        status, answer = client.post_json("/api/command", command, csrf)
        assert status == 202
        sent = watcher.wait_for("checkin/v1/branches/krk-1/commands")
        assert sent["command_id"] == answer["command_id"]
        assert sent["action"] == "set_limit" and sent["args"] == {"limit": 8}
        assert sent["issued_by"] == f"ops:{OPERATOR}"
        assert len(watcher.messages) == 1  # nothing refused was published
        status, _ = client.post_json("/api/ack", {"event_id": "no-such-alarm"}, csrf)
        assert status == 404
        status, _, _ = client.request("POST", "/api/ack", b"{not json",
                                      {"Content-Type": "application/json",
                                       "X-CSRF-Token": csrf})
        assert status == 400
    finally:
        watcher.close()


def test_the_page_escapes_and_sends_a_strict_content_policy(ops: OpsProcess) -> None:
    client = Client(ops)
    client.login()
    status, headers, body = client.request("GET", "/")
    assert status == 200
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    status, headers, body = client.request("GET", "/chart/waw-2.svg")
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert 'POK Warszawa &quot;Centrum&quot;' in body.decode()


def test_metrics_parse_and_follow_the_broker(ops: OpsProcess, mosquitto: MosquittoBroker) -> None:
    kiosk = MqttListener(mosquitto.port, "krk-1-k1", topics=("nothing/here",))
    try:
        at = now_local().isoformat()
        kiosk.publish("checkin/v1/branches/krk-1/occupancy",
                      {"count": 7, "limit": 12, "waiting": 2, "state": "full", "at": at},
                      retain=True)
        kiosk.publish("checkin/v1/branches/krk-1/kiosks/krk-1-k1/status",
                      {"online": True, "door": "ok", "printer": "paper_low", "outbox": 4,
                       "at": at}, retain=True)
        for i in range(2):
            kiosk.publish("checkin/v1/branches/krk-1/kiosks/krk-1-k1/events",
                          {"event_id": f"a-{i}", "type": "alarm", "kind": "code_guessing",
                           "detail": "10 złych kodów", "at": at})
        kiosk.publish("checkin/v1/branches/krk-1/kiosks/krk-1-k1/events", b"{broken")
        kiosk.publish("checkin/v1/branches/krk-1/occupancy", {"count": -1}, retain=False)
        client = Client(ops)

        def families() -> dict[str, Any]:
            status, headers, body = client.request("GET", "/metrics")
            assert status == 200 and headers["content-type"].startswith("text/plain")
            return {f.name: f for f in text_string_to_metric_families(body.decode())}

        def value(name: str, **labels: str) -> float | None:
            for sample in families()[name].samples:
                if all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
            return None

        wait_until(lambda: value("checkin_ops_messages_rejected", reason="missing_field") == 1,
                   10, "the malformed occupancy to be counted")
        assert value("checkin_branch_occupancy", branch="krk-1") == 7
        assert value("checkin_branch_limit", branch="krk-1", region="małopolskie") == 12
        assert value("checkin_branch_state", branch="krk-1", state="full") == 1
        assert value("checkin_branch_state", branch="krk-1", state="open") == 0
        assert value("checkin_kiosk_online", branch="krk-1", kiosk="krk-1-k1") == 1
        assert value("checkin_kiosk_outbox", kiosk="krk-1-k1") == 4
        assert value("checkin_alarms", branch="krk-1", kind="code_guessing") == 2
        assert value("checkin_alarms_unacknowledged", branch="krk-1") == 2
        assert value("checkin_ops_messages_rejected", reason="not_json") == 1
        assert value("checkin_branch_occupancy", branch="waw-2") is None  # nothing heard yet
    finally:
        kiosk.close()
