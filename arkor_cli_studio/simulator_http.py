"""The simulator's HTTP side: the routes of the contract over a threading
server on 127.0.0.1, the SSE stream with resume and pings, and the queued
faults as the wire shows them. The state it serves: `simulator.Simulator`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from arkor_cli_studio.simulator import Fault, RequestRecord, Simulator

CLIENT = re.compile(r"arkor/([0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)")


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """Enough semver ordering for the gate: numbers, then a release above its pre-releases."""
    core, _, pre = version.partition("+")[0].partition("-")
    numbers = [int(n) for n in core.split(".")[:3] if n.isdigit()] + [0, 0, 0]
    return (numbers[0], numbers[1], numbers[2], 0 if pre else 1, pre)


class StreamTrackingServer(ThreadingHTTPServer):
    """A threading server that can cut its open streaming responses at stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_streams: set[socket.socket] = set()
        self.streams_lock = threading.Lock()

    def shutdown(self) -> None:
        """As `BaseServer.shutdown()`, without waiting for the serving loop's
        next look at its stop flag (up to its poll interval, 50 ms: each of
        hundreds of tests paid it). Connections to the server wake its
        `select()` at once, until the loop has seen the flag; each is closed
        before it says anything (no request: the handler reads none)."""
        stopped = threading.Event()

        def wake() -> None:
            address = self.server_address[:2]
            while not stopped.is_set():
                try:
                    socket.create_connection(address, timeout=0.5).close()  # type: ignore[arg-type]
                except OSError:
                    return  # not listening (closed): nothing to wake
                stopped.wait(0.002)

        waker = threading.Thread(target=wake, name="server-wake", daemon=True)
        waker.start()
        try:
            super().shutdown()
        finally:
            stopped.set()
            waker.join(timeout=1.0)

    def close_streams(self) -> None:
        with self.streams_lock:
            for sock in list(self.open_streams):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class SimServer(StreamTrackingServer):
    sim: Simulator


class SimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer

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
        match = CLIENT.fullmatch(header or "")
        reason = "missing" if header is None else "malformed" if match is None else None
        current = match.group(1) if match else "unknown"
        low = self.sim.supported_range.removeprefix(">=")
        if reason is None and self.sim.supported_range.startswith(">="):
            reason = None if version_key(current) >= version_key(low) else "unsupported"
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
            fault = self.sim.take_fault("jobs")
            if fault is not None and fault.status is not None:
                self._send_fault_status(fault)
                return
            with self.sim.changed:
                jobs = [dict(self.sim.jobs[j].job) for j in self.sim.order]
            self._send_json(200, {"jobs": jobs})
        elif len(segments) == 3 and segments[:2] == ["v1", "jobs"]:
            job_id = segments[2]
            fault = self.sim.take_fault(f"detail:{job_id}")
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
            fault = self.sim.take_fault(f"cancel:{job_id}")
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
        fault = sim.take_fault(f"stream:{job_id}", "stream:*")
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
        index = sim.frames_after(job_id, last_id)
        sent = 0
        last_activity = time.monotonic()
        while True:
            with sim.changed:
                frames = sim.jobs[job_id].frames if job_id in sim.jobs else []
                pending = frames[index:]
                if not pending and not sim.stopping:
                    sim.changed.wait(0.05)
                    pending = frames[index:]
                stopping = sim.stopping
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
