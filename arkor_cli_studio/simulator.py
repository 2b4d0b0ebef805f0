"""A faithful loopback simulator of the Arkor cloud API (stdlib only).

It serves the routes of the contract (`/v1/jobs`, job detail, cancel, the
SSE event stream with ids, `Last-Event-ID` resume and pings) on
127.0.0.1 with an ephemeral port. `arkor-studio demo` runs the real client
against it, and the test suite uses it as its server: tests add jobs and
events, queue faults (status codes, dropped connections, raw bytes), and
read back the requests that were made.

Nothing here is imported by normal commands. The HTTP side (the routes,
the SSE stream, the faults as the wire shows them): `simulator_http`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


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
        self.stopping = False
        from arkor_cli_studio.simulator_http import SimHandler, SimServer

        self._server = SimServer(("127.0.0.1", port), SimHandler)
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
            self.stopping = True
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

    def take_fault(self, *routes: str) -> Fault | None:
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

    def frames_after(self, job_id: str, last_id: str | None) -> int:
        frames = self.jobs[job_id].frames
        if last_id:
            for index, frame in enumerate(frames):
                if frame.id == last_id:
                    return index + 1
        return 0
