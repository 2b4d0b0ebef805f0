"""A fake `arkor dev` (Studio's local server) in front of the cloud Simulator.

Like the real one it listens on loopback, refuses a `Host` that is not
`127.0.0.1[:port]` / `localhost[:port]` and any `/api/*` request without
the per-launch token (header, or `?studioToken=` on the event stream only),
and proxies to the cloud API over HTTP with its own bearer token and the
project's scope: `/api/jobs` passes status and body through, and
`/api/jobs/{id}/events` streams the cloud's answer through with
`Last-Event-ID` forwarded (a connection the cloud drops is dropped here
too). `/api/manifest` and `/api/train` are scripted by the test.
"""

from __future__ import annotations

import hmac
import html
import http.client
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from arkor_cli_studio.simulator import Simulator
from arkor_cli_studio.simulator_http import StreamTrackingServer
from tests.helpers import STUDIO_TOKEN, TOKEN

LOOPBACK_HOST = re.compile(r"^(?:127\.0\.0\.1|localhost)(?::\d+)?$")
EVENTS_PATH = re.compile(r"^/api/jobs/[^/]+/events$")


@dataclass
class StudioRequest:
    method: str
    target: str  # the request line's target: path and query, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class TrainScript:
    """What `POST /api/train` answers: output chunks, then the trailer.

    raw: send exactly these bytes instead (cut into `pieces` sizes, if given).
    gate: the chunks after the first wait for this event (proves streaming).
    """

    chunks: list[bytes] = field(default_factory=lambda: [b"Started job j1\n"])
    exit: int | None = 0  # None -> `exit=null`
    start_error: str | None = None
    raw: bytes | None = None
    pieces: list[int] | None = None
    gate: threading.Event | None = None
    delay: float = 0.0
    refuse: tuple[int, str] | None = None  # answer (status, {"error": ...}) instead

    def trailer(self) -> bytes:
        if self.start_error is not None:
            return b"\n---\nfailed to start: " + self.start_error.encode() + b"\n"
        return b"\n---\nexit=" + (b"null" if self.exit is None else str(self.exit).encode()) + b"\n"


class FakeStudio:
    def __init__(
        self,
        sim: Simulator,
        *,
        token: str = STUDIO_TOKEN,
        cloud_token: str = TOKEN,
        org: str = "acme",
        project: str = "demo",
        port: int = 0,
    ) -> None:
        self.sim = sim
        self.token = token
        # What `GET /` shows in `<meta name="arkor-studio-token">` (None: the token;
        # "": no meta tag, i.e. not Studio's page). Studio serves it without a token.
        self.page_token: str | None = None
        self.probes: list[StudioRequest] = []  # the token-less `GET /`s
        self.cloud_token = cloud_token
        self.scope = {"orgSlug": org, "projectSlug": project}
        self.has_state = True
        self.manifest: tuple[int, Any] = (200, {"trainer": {"name": "my-trainer"}})
        self.train = TrainScript()
        self.requests: list[StudioRequest] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.studio = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeStudio:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_streams()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeStudio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(StreamTrackingServer):
    studio: FakeStudio


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def studio(self) -> FakeStudio:
        return self.server.studio

    # ---- helpers -----------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _begin_chunked(self, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, no-transform")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _drop(self) -> None:
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def _index(self) -> None:
        """`GET /`: Studio's index.html, the token injected as studio/server.ts does."""
        with self.studio.lock:
            self.studio.probes.append(
                StudioRequest(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, b""
                )
            )
        shown = self.studio.token if self.studio.page_token is None else self.studio.page_token
        escaped = html.escape(shown, quote=True).replace("&#x27;", "&#39;")
        meta = f'<meta name="arkor-studio-token" content="{escaped}">' if shown else ""
        head = f"<title>Arkor Studio</title>{meta}"
        page = f"<!doctype html><html><head>{head}</head><body></body></html>"
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def _admit(self) -> tuple[str, dict[str, str]] | None:
        """Record the request; apply the Host and token checks as Studio does."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if (
            self.command == "GET"
            and self.path == "/"
            and LOOPBACK_HOST.match(self.headers.get("Host", ""))
        ):
            self._index()
            return None
        with self.studio.lock:
            self.studio.requests.append(
                StudioRequest(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
            )
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not LOOPBACK_HOST.match(self.headers.get("Host", "")):
            if parts.path.startswith("/api/"):
                self._json(403, {"error": "Studio API is loopback-only"})
            else:
                self._send(403, b"Studio is loopback-only", "text/plain")
            return None
        if parts.path.startswith("/api/"):
            query_allowed = self.command == "GET" and EVENTS_PATH.match(parts.path)
            # As Studio's `header ?? query ?? ""`: a header that is present but
            # empty is what counts (and fails); the query only where allowed.
            provided = self.headers.get("X-Arkor-Studio-Token")
            if provided is None:
                provided = query.get("studioToken", "") if query_allowed else ""
            if not hmac.compare_digest(provided.encode(), self.studio.token.encode()):
                self._json(403, {"error": "Missing or invalid studio token"})
                return None
        self._body = body
        return parts.path, query

    def _upstream(self, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.studio.sim.port, timeout=30)
        conn.request(
            "GET",
            f"{path}?{urlencode(self.studio.scope)}",
            headers={
                "Authorization": f"Bearer {self.studio.cloud_token}",
                "X-Arkor-Client": "arkor/0.0.3-alpha",
                **headers,
            },
        )
        return conn.getresponse()

    # ---- routes --------------------------------------------------------------

    def do_GET(self) -> None:
        admitted = self._admit()
        if admitted is None:
            return
        path, _ = admitted
        if path == "/api/manifest":
            status, body = self.studio.manifest
            self._json(status, body)
        elif path == "/api/jobs":
            if not self.studio.has_state:
                self._json(200, {"jobs": []})
                return
            upstream = self._upstream("/v1/jobs", {})
            self._send(
                upstream.status,
                upstream.read(),
                upstream.getheader("Content-Type") or "application/json",
            )
        elif EVENTS_PATH.match(path):
            if not self.studio.has_state:
                self._json(400, {"error": "No project state"})
                return
            job_id = unquote(path.split("/")[3])
            self._events(job_id)
        else:
            self._json(404, {"error": "Not found"})

    def _events(self, job_id: str) -> None:
        headers = {"Accept": "text/event-stream"}
        last_id = self.headers.get("Last-Event-ID")
        if last_id:
            headers["Last-Event-ID"] = last_id
        upstream = self._upstream(f"/v1/jobs/{quote(job_id, safe='')}/events/stream", headers)
        content_type = upstream.getheader("Content-Type") or "text/event-stream"
        if upstream.status != 200 or "text/event-stream" not in content_type:
            self._send(upstream.status, upstream.read(), content_type)
            return
        self._begin_chunked(content_type)
        sock = self.connection
        with self.server.streams_lock:
            self.server.open_streams.add(sock)
        try:
            while True:
                try:
                    data = upstream.read1(65536)
                except (http.client.HTTPException, OSError):
                    self._drop()  # the cloud dropped us: drop the client too
                    return
                if not data:
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self._chunk(data)
        except OSError:
            pass  # the client went away
        finally:
            upstream.close()
            with self.server.streams_lock:
                self.server.open_streams.discard(sock)

    def do_POST(self) -> None:
        admitted = self._admit()
        if admitted is None:
            return
        path, _ = admitted
        if path != "/api/train":
            self._json(404, {"error": "Not found"})
            return
        try:
            body = json.loads(self._body or b"{}")
        except ValueError:
            body = {}
        if isinstance(body, dict) and body.get("file") == "../outside.ts":
            self._json(400, {"error": "file must be inside the project directory"})
            return
        script = self.studio.train
        if script.refuse is not None:
            self._json(script.refuse[0], {"error": script.refuse[1]})
            return
        self._begin_chunked("text/plain; charset=utf-8")
        try:
            if script.raw is not None:
                data, sizes = script.raw, list(script.pieces or [len(script.raw)])
                while data:
                    size = sizes.pop(0) if sizes else len(data)
                    self._chunk(data[:size])
                    data = data[size:]
                    time.sleep(script.delay)
            else:
                for index, chunk in enumerate(script.chunks):
                    if index == 1 and script.gate is not None:
                        script.gate.wait(10)
                    self._chunk(chunk)
                    time.sleep(script.delay)
                self._chunk(script.trailer())
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
