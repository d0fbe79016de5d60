"""The HTTP side: the page, its live feed (server-sent events), login, actions and /metrics.

Standard library only (``ThreadingHTTPServer``): one thread per request, and one per open
page for its event stream. Handlers never change ops' state: they read the hub under its lock
or post a request to it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from central.ops import metrics, page
from central.ops.commands import CommandRefused
from central.ops.config import OpsConfig
from central.ops.hub import OpsHub, Subscriber
from central.ops.sessions import COOKIE, LoginLocked, Session, Sessions
from central.topics import ID_PATTERN

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
KEEPALIVE_S = 15.0
COALESCE_S = 0.05
BRANCH_PATH = re.compile(r"^/(api/branch|chart)/([a-z0-9-]{1,32})(\.svg)?$")


class OpsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: OpsConfig, hub: OpsHub, sessions: Sessions) -> None:
        self.config, self.hub, self.sessions = config, hub, sessions
        self.stopping = threading.Event()
        super().__init__((config.listen_host, config.listen_port), OpsHandler)

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class OpsHandler(BaseHTTPRequestHandler):
    server: OpsServer
    server_version = "central-ops"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("Content-Security-Policy", page.CSP)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _redirect(self, where: str, headers: dict[str, str] | None = None) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": where, **(headers or {})})

    def _cookie_token(self) -> str | None:
        try:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
        except CookieError:
            return None
        morsel = cookie.get(COOKIE)
        return morsel.value if morsel else None

    def _session(self) -> Session | None:
        return self.server.sessions.get(self._cookie_token())

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        if not 0 <= length <= MAX_BODY:
            return None
        return self.rfile.read(length)

    def _same_origin(self) -> bool:
        """A browser names the page's origin on every POST; refuse any other."""
        origin = self.headers.get("Origin")
        if origin is None or origin == "null":
            return origin is None
        return urlsplit(origin).netloc == self.headers.get("Host", "")

    # -- GET ------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            return self._metrics()
        if path == "/healthz":
            return self._json(200, {"ok": True, "mqtt": self.server.hub.link_up})
        if path == "/login":
            return self._send(200, page.login_page().encode(), page.HTML)
        if path == "/favicon.ico":
            return self._send(204, b"", "image/x-icon")
        if path in page.STATIC:
            body, content_type = page.static(path)
            return self._send(200, body, content_type)
        session = self._session()
        if session is None:
            if path == "/":
                return self._redirect("/login")
            return self._json(401, {"error": "zaloguj się / log in first"})
        if path == "/":
            return self._send(200, page.main_page(session).encode(), page.HTML)
        if path == "/events" and self.command == "GET":
            return self._stream(session)
        if path == "/api/session":
            return self._json(200, {"operator": session.operator})
        match = BRANCH_PATH.match(path)
        if match:
            return self._branch(match.group(1), match.group(2), match.group(3))
        self._json(404, {"error": f"no such page {path[:80]!r}"})

    do_HEAD = do_GET

    def _metrics(self) -> None:
        if not self.server.config.metrics_public and self._session() is None:
            return self._json(401, {"error": "metrics need a session (ops.metrics_public)"})
        self._send(200, self.server.hub.metrics_text().encode(), metrics.CONTENT_TYPE)

    def _branch(self, kind: str, branch: str, svg: str | None) -> None:
        name = self.server.hub.branch_name(branch)
        if name is None or (kind == "chart") != bool(svg):
            return self._json(404, {"error": f"no branch {branch!r}"})
        if kind == "chart":
            svg_text = self.server.hub.chart(branch, name)
            return self._send(200, svg_text.encode(), "image/svg+xml; charset=utf-8")
        self._json(200, self.server.hub.day_view(branch))

    # -- the live stream ----------------------------------------------------------------------
    def _stream(self, session: Session) -> None:
        hub = self.server.hub
        sub = hub.subscribe()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Accel-Buffering", "no")
            self.end_headers()
            self._event("snapshot", hub.snapshot(), retry=True)
            self._pump(sub, session)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        finally:
            hub.unsubscribe(sub)
            self.close_connection = True

    def _pump(self, sub: Subscriber, session: Session) -> None:
        hub, stopping = self.server.hub, self.server.stopping
        while not stopping.is_set():
            if self.server.sessions.get(session.token) is None:
                return  # logged out or expired: the page's next reconnect is refused
            if not sub.wake.wait(KEEPALIVE_S):
                self.wfile.write(b": keepalive\n\n")
                self.wfile.flush()
                continue
            if stopping.wait(COALESCE_S):  # let a burst of changes arrive as one message
                return
            branches, alarms, commands, link_changed = sub.take()
            if branches:
                self._event("tiles", hub.tiles(branches))
            if alarms:
                self._event("alarms", alarms)
            if commands:
                self._event("commands", commands)
            if link_changed:
                self._event("link", {"up": hub.link_up})

    def _event(self, name: str, data: Any, retry: bool = False) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        prefix = "retry: 2000\n" if retry else ""
        self.wfile.write(f"{prefix}event: {name}\ndata: {text}\n\n".encode())
        self.wfile.flush()

    # -- POST -----------------------------------------------------------------------------------
    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if not self._same_origin():
            return self._json(403, {"error": "żądanie z innej strony / cross-origin request"})
        if path == "/login":
            return self._login()
        if path == "/logout":
            self.server.sessions.logout(self._cookie_token())
            return self._redirect("/login", {"Set-Cookie": self._cookie("", 0)})
        session = self._session()
        if session is None:
            return self._json(401, {"error": "zaloguj się / log in first"})
        if self.headers.get("X-CSRF-Token") != session.csrf or not self.headers.get(
                "Content-Type", "").startswith("application/json"):
            return self._json(403, {"error": "brak tokenu CSRF / missing CSRF token"})
        data = self._json_body()
        if data is None:
            return self._json(400, {"error": "body must be a JSON object"})
        if path == "/api/command":
            return self._command(session, data)
        if path == "/api/ack":
            return self._ack(session, data)
        self._json(404, {"error": f"no such action {path[:80]!r}"})

    def _json_body(self) -> dict[str, Any] | None:
        body = self._body()
        try:
            data = json.loads(body or b"")
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def _cookie(self, value: str, max_age: int) -> str:
        secure = "; Secure" if self.server.config.secure_cookies else ""
        return (f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; "
                f"Max-Age={max_age}{secure}")

    def _login(self) -> None:
        body = self._body() or b""
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        login = form.get("login", [""])[0].strip()
        password = form.get("password", [""])[0]
        try:
            session = self.server.sessions.login(login, password)
        except LoginLocked:
            return self._send(429, page.login_page(page.LOCKED).encode(), page.HTML)
        if session is None:
            return self._send(401, page.login_page(page.WRONG).encode(), page.HTML)
        max_age = int(self.server.config.session_hours * 3600)
        self._redirect("/", {"Set-Cookie": self._cookie(session.token, max_age)})

    def _command(self, session: Session, data: dict[str, Any]) -> None:
        branch, action = data.get("branch"), data.get("action")
        if not isinstance(branch, str) or not ID_PATTERN.match(branch) or not isinstance(
                action, str):
            return self._json(400, {"error": "branch and action are required"})
        try:
            command = self.server.hub.issue_command(branch, action, data.get("args"),
                                                    session.operator)
        except CommandRefused as exc:
            return self._json(400, {"error": str(exc)})
        self._json(202, {"command_id": command["command_id"]})

    def _ack(self, session: Session, data: dict[str, Any]) -> None:
        event_id = data.get("event_id")
        if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64:
            return self._json(400, {"error": "event_id is required"})
        if not self.server.hub.acknowledge(event_id, session.operator):
            return self._json(404, {"error": "nie ma takiego alarmu / no such alarm"})
        self._json(200, {"ok": True})
