"""A faithful loopback simulator of the Arkor cloud API (stdlib only).

It serves the routes of the contract (`/v1/jobs`, job detail, cancel, the
SSE event stream with ids, `Last-Event-ID` resume and pings) on
127.0.0.1 with an ephemeral port. `arkor-studio demo` runs the real client
against it, and the test suite uses it as its server: tests add jobs and
events, queue faults (status codes, dropped connections, raw bytes), and
read back the requests that were made.

Nothing here is imported by normal commands.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


def iso(ts: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Frame:
    id: str
    event: str
    data: str  # the raw `data` text (may be non-JSON, on purpose, in tests)

    def encode(self) -> bytes:
        lines = []
        if self.id:
            lines.append(f"id: {self.id}")
        lines.append(f"event: {self.event}")
        for part in self.data.split("\n") if self.data else []:
            lines.append(f"data: {part}")
        return ("\n".join(lines) + "\n\n").encode()


@dataclass
class Fault:
    """One scripted misbehaviour, used by the next matching request.

    status: answer with this status and `body` (JSON `{"error": ...}` by default).
    close_after: send this many frames, then end the response cleanly (no `end`).
    drop_after: send this many frames, then cut the connection (no chunk
        terminator); with `mid_frame`, half of the next frame first.
    hang: accept, then send nothing for this many seconds before closing.
    raw: answer 200 text/event-stream with exactly these bytes, then close.
    """

    status: int | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    close_after: int | None = None
    drop_after: int | None = None
    mid_frame: bool = False
    hang: float | None = None
    raw: bytes | None = None
    content_type: str | None = None


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class SimJob:
    job: dict[str, Any]
    frames: list[Frame] = field(default_factory=list)
    ended: bool = False
    detail_events: bool = False  # include `events` in GET /v1/jobs/{id}


_CLIENT = re.compile(r"arkor/([0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)")


def _version_key(version: str) -> tuple[int, int, int, int, str]:
    """Enough semver ordering for the gate: numbers, then a release above its pre-releases."""
    core, _, pre = version.partition("+")[0].partition("-")
    numbers = [int(n) for n in core.split(".")[:3] if n.isdigit()] + [0, 0, 0]
    return (numbers[0], numbers[1], numbers[2], 0 if pre else 1, pre)


class Simulator:
    """The server and its state. Thread-safe; use as a context manager."""

    def __init__(
        self,
        *,
        token: str | None = "sim-token",
        org: str = "acme",
        project: str = "demo",
        ping_interval: float = 15.0,
        port: int = 0,
        sdk_gate: bool = False,
    ) -> None:
        self.token = token
        # The cloud's SDK version gate: 426 unless `X-Arkor-Client: arkor/<semver>`
        # (the body's shape from arkor's core/upgrade-hint.test.ts).
        self.sdk_gate = sdk_gate
        self.supported_range = "*"  # a semver range; only ">=X.Y.Z" is checked
        # Added to every response (e.g. Deprecation / Sunset / Warning).
        self.response_headers: dict[str, str] = {}
        self.org = org
        self.project = project
        self.ping_interval = ping_interval
        self.jobs: dict[str, SimJob] = {}
        self.order: list[str] = []
        self.requests: list[RequestRecord] = []
        self.faults: dict[str, deque[Fault]] = {}
        self.changed = threading.Condition()
        self._stopping = False
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.sim = self
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Simulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.changed:
            self._stopping = True
            self.changed.notify_all()
        self._server.shutdown()
        self._server.close_streams()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- state -----------------------------------------------------------

    def add_job(
        self,
        job_id: str,
        *,
        name: str | None = None,
        status: str = "queued",
        created_at: float | str | None = None,
        config: dict[str, Any] | None = None,
        detail_events: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        created = created_at if isinstance(created_at, str) else iso(created_at)
        job: dict[str, Any] = {
            "id": job_id,
            "orgId": f"org-{self.org}",
            "projectId": f"proj-{self.project}",
            "name": name if name is not None else job_id,
            "status": status,
            "config": config if config is not None else {},
            "error": None,
            "createdAt": created,
            "startedAt": None,
            "completedAt": None,
            **extra,
        }
        with self.changed:
            self.jobs[job_id] = SimJob(job=job, detail_events=detail_events)
            self.order.append(job_id)
            self.changed.notify_all()
        return job

    def update_job(self, job_id: str, **fields: Any) -> None:
        with self.changed:
            self.jobs[job_id].job.update(fields)
            self.changed.notify_all()

    def remove_job(self, job_id: str) -> None:
        with self.changed:
            self.jobs.pop(job_id, None)
            self.order.remove(job_id)

    def emit(
        self,
        job_id: str,
        event: str,
        payload: dict[str, Any] | None = None,
        *,
        event_id: str | None = None,
        raw_data: str | None = None,
        timestamp: str | None = None,
    ) -> Frame:
        """Append one frame to the job's stream (and apply its effect on the job).

        The payload gets `type`, `jobId` and `timestamp` as the real server sends.
        Ids count 1, 2, 3, ... unless given.
        """
        with self.changed:
            sim = self.jobs[job_id]
            if raw_data is None:
                body = {"type": event, "jobId": job_id, "timestamp": timestamp or iso()}
                body.update(payload or {})
                raw_data = json.dumps(body, separators=(",", ":"), allow_nan=True)
            frame = Frame(
                event_id if event_id is not None else str(len(sim.frames) + 1), event, raw_data
            )
            sim.frames.append(frame)
            now = timestamp or iso()
            if event == "training.started":
                sim.job.update(status="running", startedAt=now)
            elif event == "training.completed":
                sim.job.update(status="completed", completedAt=now)
            elif event == "training.failed":
                error = (payload or {}).get("error")
                sim.job.update(
                    status="failed",
                    completedAt=now,
                    error=error if isinstance(error, str) else "failed",
                )
            elif event == "end":
                sim.ended = True
            self.changed.notify_all()
            return frame

    def end(self, job_id: str) -> Frame:
        return self.emit(job_id, "end", raw_data="{}")

    def cancel(self, job_id: str) -> None:
        """What the cloud does on cancel: status cancelled, stream ends (no event)."""
        with self.changed:
            sim = self.jobs[job_id]
            if sim.job["status"] in ("completed", "failed", "cancelled"):
                return
            sim.job.update(status="cancelled", completedAt=iso())
        self.end(job_id)

    def add_fault(self, route: str, fault: Fault, times: int = 1) -> None:
        """Queue a fault for a route key: "jobs", "detail:<id>", "cancel:<id>",
        "stream:<id>" (or "stream:*" for any job)."""
        with self.changed:
            queue = self.faults.setdefault(route, deque())
            for _ in range(times):
                queue.append(fault)

    def _take_fault(self, *routes: str) -> Fault | None:
        with self.changed:
            for route in routes:
                queue = self.faults.get(route)
                if queue:
                    return queue.popleft()
        return None

    def stream_requests(self, job_id: str | None = None) -> list[RequestRecord]:
        return [
            r
            for r in list(self.requests)
            if r.path.endswith("/events/stream") and (job_id is None or f"/{job_id}/" in r.path)
        ]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(min(remaining, 0.05))
        return True

    # ---- serving (called from handler threads) -------------------------

    def _frames_after(self, job_id: str, last_id: str | None) -> int:
        frames = self.jobs[job_id].frames
        if last_id:
            for index, frame in enumerate(frames):
                if frame.id == last_id:
                    return index + 1
        return 0


class StreamTrackingServer(ThreadingHTTPServer):
    """A threading server that can cut its open streaming responses at stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_streams: set[socket.socket] = set()
        self.streams_lock = threading.Lock()

    def close_streams(self) -> None:
        with self.streams_lock:
            for sock in list(self.open_streams):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Server(StreamTrackingServer):
    sim: Simulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ---- helpers ---------------------------------------------------------

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        for key, value in self.sim.response_headers.items():
            self.send_header(key, value)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_fault_status(self, fault: Fault) -> None:
        assert fault.status is not None
        body = (
            fault.body
            if fault.body is not None
            else json.dumps({"error": f"simulated {fault.status}"})
        )
        payload = body.encode()
        self.send_response(fault.status)
        self.send_header("Content-Type", fault.content_type or "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in fault.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _record(self) -> tuple[list[str], dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = RequestRecord(
            self.command,
            parts.path,
            query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        with self.sim.changed:
            self.sim.requests.append(record)
            self.sim.changed.notify_all()
        segments = [unquote(s) for s in parts.path.split("/")[1:]]
        return segments, query

    def _gate(self) -> bool:
        """The SDK version gate, in front of everything (as the cloud's is)."""
        if not self.sim.sdk_gate:
            return True
        header = self.headers.get("X-Arkor-Client")
        match = _CLIENT.fullmatch(header or "")
        reason = "missing" if header is None else "malformed" if match is None else None
        current = match.group(1) if match else "unknown"
        low = self.sim.supported_range.removeprefix(">=")
        if reason is None and self.sim.supported_range.startswith(">="):
            reason = None if _version_key(current) >= _version_key(low) else "unsupported"
        if reason is None:
            return True
        body: dict[str, Any] = {
            "error": "sdk_version_unsupported",
            "currentVersion": current,
            "supportedRange": self.sim.supported_range,
            "upgrade": "npm install -g arkor@latest",
        }
        if reason != "unsupported":
            body["reason"] = reason
        self._send_json(426, body)
        return False

    def _authorised(self) -> bool:
        if not self._gate():
            return False
        token = self.sim.token
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:]:
            self._send_json(401, {"error": "Missing bearer token"})
            return False
        if token is not None and header[7:] != token:
            self._send_json(401, {"error": "Invalid or expired token"})
            return False
        return True

    def _in_scope(self, query: dict[str, str]) -> bool:
        if query.get("orgSlug") != self.sim.org or query.get("projectSlug") != self.sim.project:
            self._send_json(404, {"error": "Project not found"})
            return False
        return True

    # ---- routes -----------------------------------------------------------

    def do_GET(self) -> None:
        segments, query = self._record()
        if not self._authorised() or not self._in_scope(query):
            return
        if segments == ["v1", "jobs"]:
            fault = self.sim._take_fault("jobs")
            if fault is not None and fault.status is not None:
                self._send_fault_status(fault)
                return
            with self.sim.changed:
                jobs = [dict(self.sim.jobs[j].job) for j in self.sim.order]
            self._send_json(200, {"jobs": jobs})
        elif len(segments) == 3 and segments[:2] == ["v1", "jobs"]:
            job_id = segments[2]
            fault = self.sim._take_fault(f"detail:{job_id}")
            if fault is not None and fault.status is not None:
                self._send_fault_status(fault)
                return
            with self.sim.changed:
                sim = self.sim.jobs.get(job_id)
                if sim is None:
                    body: dict[str, Any] | None = None
                else:
                    body = {"job": dict(sim.job)}
                    if sim.detail_events:
                        body["events"] = [
                            {"id": f.id, "event": f.event, "data": _loads(f.data)}
                            for f in sim.frames
                        ]
            if body is None:
                self._send_json(404, {"error": f"Job {job_id} not found"})
            else:
                self._send_json(200, body)
        elif (
            len(segments) == 5
            and segments[:2] == ["v1", "jobs"]
            and segments[3:] == ["events", "stream"]
        ):
            self._stream(segments[2])
        else:
            self._send_json(404, {"error": "Not found"})

    def do_POST(self) -> None:
        segments, query = self._record()
        if not self._authorised() or not self._in_scope(query):
            return
        if len(segments) == 4 and segments[:2] == ["v1", "jobs"] and segments[3] == "cancel":
            job_id = segments[2]
            fault = self.sim._take_fault(f"cancel:{job_id}")
            if fault is not None and fault.status is not None:
                self._send_fault_status(fault)
                return
            if job_id not in self.sim.jobs:
                self._send_json(404, {"error": f"Job {job_id} not found"})
                return
            self.sim.cancel(job_id)
            self._send_json(200, {"ok": True})
        else:
            self._send_json(404, {"error": "Not found"})

    # ---- the event stream --------------------------------------------------

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream(self, job_id: str) -> None:
        sim = self.sim
        fault = sim._take_fault(f"stream:{job_id}", "stream:*")
        if fault is not None and fault.status is not None:
            self._send_fault_status(fault)
            return
        if job_id not in sim.jobs:
            self._send_json(404, {"error": f"Job {job_id} not found"})
            return
        if fault is not None and fault.hang is not None:
            time.sleep(fault.hang)
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header(
            "Content-Type",
            fault.content_type if fault and fault.content_type else "text/event-stream",
        )
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sock = self.connection
        with self.server.streams_lock:
            self.server.open_streams.add(sock)
        try:
            if fault is not None and fault.raw is not None:
                self._chunk(fault.raw)
                self.wfile.write(b"0\r\n\r\n")
                return
            self._serve_frames(job_id, fault)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            with self.server.streams_lock:
                self.server.open_streams.discard(sock)

    def _serve_frames(self, job_id: str, fault: Fault | None) -> None:
        sim = self.sim
        last_id = self.headers.get("Last-Event-ID")  # http.server decodes it as Latin-1
        if last_id is not None:
            last_id = last_id.encode("latin-1").decode("utf-8", "replace")
        index = sim._frames_after(job_id, last_id)
        sent = 0
        last_activity = time.monotonic()
        while True:
            with sim.changed:
                frames = sim.jobs[job_id].frames if job_id in sim.jobs else []
                pending = frames[index:]
                if not pending and not sim._stopping:
                    sim.changed.wait(0.05)
                    pending = frames[index:]
                stopping = sim._stopping
            if stopping:
                return
            for frame in pending:
                if (
                    fault is not None
                    and fault.close_after is not None
                    and sent >= fault.close_after
                ):
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if fault is not None and fault.drop_after is not None and sent >= fault.drop_after:
                    if fault.mid_frame:
                        encoded = frame.encode()
                        self._chunk(encoded[: max(1, len(encoded) // 2)])
                    self._drop()
                    return
                self._chunk(frame.encode())
                index += 1
                sent += 1
                last_activity = time.monotonic()
                if frame.event == "end":
                    self.wfile.write(b"0\r\n\r\n")
                    return
            if not pending and time.monotonic() - last_activity >= sim.ping_interval:
                self._chunk(b"event: ping\ndata: {}\n\n")
                last_activity = time.monotonic()

    def _drop(self) -> None:
        """Cut the connection without the chunked terminator: a mid-stream drop."""
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True


def _loads(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data
