"""Hostile servers on loopback (issue 17's network items, 14.5, 16.10): each
test plays one attack, with raw sockets where HTTP libraries would be too
polite, and pins the behaviour that must hold."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.cloud.events import StreamOptions, follow_events
from arkor_cli_studio.cloud.history import load_history
from arkor_cli_studio.cloud.http import Limits
from arkor_cli_studio.cloud.retry import RetryPolicy
from arkor_cli_studio.errors import UnreachableError
from arkor_cli_studio.model import Event, Scope, StreamNotice
from arkor_cli_studio.simulator import Fault
from arkor_cli_studio.textsafe import clean, clean_line, json_text
from tests.helpers import TOKEN

NO_SLEEP = {"sleep": lambda _delay: None}
FAST = {"ARKOR_STUDIO_RETRY_SCALE": "0.01"}


def backend_for(url: str, **kwargs: object) -> Backend:
    return Backend(url, token=TOKEN, scope=Scope("acme", "demo"), read_timeout=5, **kwargs)  # type: ignore[arg-type]


def events_of(items: list[Event | StreamNotice]) -> list[Event]:
    return [i for i in items if isinstance(i, Event)]


def notices_of(items: list[Event | StreamNotice]) -> list[StreamNotice]:
    return [i for i in items if isinstance(i, StreamNotice)]


def run_job(sim, n: int = 5, job: str = "j1") -> None:  # type: ignore[no-untyped-def]
    sim.add_job(job, status="running")
    for step in range(1, n + 1):
        sim.emit(job, "training.log", {"step": step, "loss": 1 / step})
    sim.emit(job, "training.completed", {"artifacts": []})
    sim.end(job)


# ---- a raw HTTP server: one handler per connection ---------------------------------


class RawServer:
    """Accepts connections; `handler(conn, request_head)` answers each one
    as it likes (bytes on a socket, nothing polite about it)."""

    def __init__(self, handler: Callable[[socket.socket, str], None]) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            text = head.decode("latin-1")
            self.requests.append(text)
            self.handler(conn, text)
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def http_head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def sse_head(**headers: str) -> bytes:
    return http_head(content_type="text/event-stream", connection="close", **headers)


def frame(name: str, event_id: int | str, data: dict[str, object]) -> bytes:
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode()


@pytest.fixture
def raw() -> Iterator[Callable[[Callable[[socket.socket, str], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Callable[[socket.socket, str], None]) -> RawServer:
        server = RawServer(handler).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


# ---- 17.1: Retry-After can only lengthen the backoff ----------------------------------


@pytest.mark.parametrize("value", ["0", "-5", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_retry_after_zero_negative_or_past_does_not_shorten_the_backoff(sim, value):
    run_job(sim, n=2)
    sim.add_fault("stream:j1", Fault(status=503, headers={"Retry-After": value}), times=3)
    delays: list[float] = []
    with backend_for(sim.url) as backend:
        got = events_of(
            list(follow_events(backend, "j1", StreamOptions(sleep=delays.append, rng=lambda: 0.5)))
        )
    assert got[-1].name == "end"
    assert delays == [1.0, 2.0, 4.0]  # the backoff, not three instant reconnects


def test_retry_after_longer_than_the_backoff_wins_capped():
    policy = RetryPolicy("j1", None, rng=lambda: 0.5)
    assert policy.failed("busy", 30.0) == 30.0
    assert policy.failed("busy", 10_000.0) == 300.0  # MAX_RETRY_AFTER
    assert policy.failed("busy", 0.0) == 4.0


# ---- 17.2: an id that cannot travel in a header ---------------------------------------


@pytest.mark.parametrize("form", ["  7", "7 ", "7\t", "7\x0b", " \t7\x0c "])
def test_an_id_with_whitespace_is_sent_back_header_safe(sim, form):
    run_job(sim, n=9)
    raw = f'id:{form}\nevent: training.log\ndata: {{"step": 7}}\n\n'.encode()
    sim.add_fault("stream:j1", Fault(raw=raw))
    with backend_for(sim.url) as backend:
        items = list(follow_events(backend, "j1", StreamOptions(max_retries=2, **NO_SLEEP)))
    assert [r.headers.get("last-event-id") for r in sim.stream_requests("j1")] == [None, "7"]
    assert [e.step for e in events_of(items) if e.name == "training.log"] == [7, 8, 9]


def test_an_id_that_cannot_be_sent_leaves_the_previous_one(sim):
    run_job(sim, n=9)
    raw = (
        b'id: 6\nevent: training.log\ndata: {"step": 6}\n\n'
        b'id: 7\x01x\nevent: training.log\ndata: {"step": 7}\n\n'
    )
    sim.add_fault("stream:j1", Fault(raw=raw))
    with backend_for(sim.url) as backend:
        list(follow_events(backend, "j1", StreamOptions(max_retries=2, **NO_SLEEP)))
    assert [r.headers.get("last-event-id") for r in sim.stream_requests("j1")] == [None, "6"]


# ---- 17.3: a line that never ends ---------------------------------------------------------


def test_a_line_past_the_cap_drops_the_connection_and_resumes(sim):
    run_job(sim, n=3)
    sim.add_fault("stream:j1", Fault(raw=b"data: " + b"x" * 300_000))  # no line end
    with backend_for(sim.url, limits=Limits(max_event_bytes=64 * 1024)) as backend:
        items = list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    reasons = [n.reason for n in notices_of(items) if n.kind == "interrupted"]
    assert reasons == [
        "the server sent an event over 64 KiB (ARKOR_STUDIO_MAX_EVENT_BYTES raises the limit)"
    ]
    assert [e.name for e in events_of(items)][-2:] == ["training.completed", "end"]


def test_an_endless_line_keeps_memory_bounded(raw, arkor):
    """A server that never ends its line: the connection is cut at the cap
    (the default, 16 MiB), resumed, and given up on with --max-retries."""
    chunk = b"x" * 65536

    def endless(conn: socket.socket, head: str) -> None:
        if "/events/stream" not in head:
            conn.sendall(http_head(content_type="application/json") + b'{"jobs": []}')
            return
        conn.sendall(sse_head() + b"data: ")
        for _ in range(20 * 16):  # 20 MiB, past the cap
            conn.sendall(chunk)

    server = raw(endless)
    result = arkor.cli(
        "watch", "j1", "--json", "--max-retries", "1", ARKOR_CLOUD_API_URL=server.url, **FAST
    )
    assert result.code == 5, result.stderr
    assert "an event over 16 MiB (ARKOR_STUDIO_MAX_EVENT_BYTES raises the limit)" in result.stderr
    assert "Traceback" not in result.stderr


# ---- 17.4: compressed bombs --------------------------------------------------------------


def test_a_gzip_bomb_answer_is_refused_with_exit_5(raw, arkor):
    bomb = gzip.compress(b'{"jobs": [' + b" " * (8 * 1024 * 1024) + b"]}", 9)
    assert len(bomb) < 64 * 1024

    def serve(conn: socket.socket, head: str) -> None:
        conn.sendall(
            http_head(
                content_type="application/json",
                content_encoding="gzip",
                content_length=str(len(bomb)),
            )
            + bomb
        )

    server = raw(serve)
    result = arkor.cli(
        "jobs", ARKOR_CLOUD_API_URL=server.url, ARKOR_STUDIO_MAX_ANSWER_BYTES=str(1024 * 1024)
    )
    assert result.code == 5, result.output
    assert (
        "the Arkor cloud API sent an answer over 1 MiB to /v1/jobs "
        "(ARKOR_STUDIO_MAX_ANSWER_BYTES raises the limit)."
    ) in result.stderr


def test_the_stream_asks_for_no_compression_and_refuses_it(raw):
    body = gzip.compress(frame("training.log", 1, {"step": 1}))

    def serve(conn: socket.socket, head: str) -> None:
        if len(server.requests) == 1:
            conn.sendall(sse_head(content_encoding="gzip") + body)
            return
        conn.sendall(sse_head() + b"id: 2\nevent: end\ndata: {}\n\n")

    server = raw(serve)
    with backend_for(server.url) as backend:
        items = list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    assert "accept-encoding: identity" in server.requests[0].lower()
    reasons = [n.reason for n in notices_of(items) if n.kind == "interrupted"]
    assert reasons == ["the server compressed the event stream (gzip) unasked"]
    assert events_of(items)[-1].name == "end"


# ---- 17.8: JSON nested 100,000 deep ------------------------------------------------------


def test_json_nested_too_deep_is_one_line(raw, arkor):
    body = b'{"jobs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    def serve(conn: socket.socket, head: str) -> None:
        conn.sendall(
            http_head(content_type="application/json", content_length=str(len(body))) + body
        )

    server = raw(serve)
    for args in (("jobs",), ("jobs", "--json")):
        result = arkor.cli(*args, ARKOR_CLOUD_API_URL=server.url)
        assert result.code == 1, result.output
        assert result.stderr.startswith(
            "arkor-studio: the Arkor cloud API answered /v1/jobs with JSON nested too deep"
        ), result.stderr
        assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


# ---- 17.12: a total deadline --------------------------------------------------------------


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_drip_fed_answer_hits_the_deadline(raw, arkor, where):
    body = b'{"jobs": [' + b" " * 400 + b"]}"
    head = http_head(content_type="application/json", content_length=str(len(body)))

    def drip(conn: socket.socket, _head: str) -> None:
        data = head + body if where == "headers" else body
        if where == "body":
            conn.sendall(head)
        for byte in data:
            conn.sendall(bytes([byte]))
            time.sleep(0.05)  # well inside any read timeout

    server = raw(drip)
    started = time.monotonic()
    result = arkor.cli("jobs", ARKOR_CLOUD_API_URL=server.url, ARKOR_STUDIO_REQUEST_DEADLINE="1")
    assert time.monotonic() - started < 5
    assert result.code == 5, result.output
    assert result.stderr.startswith(
        f"arkor-studio: Can't reach the Arkor cloud API at {server.url}: no complete answer "
        "within 1s (ARKOR_STUDIO_REQUEST_DEADLINE raises the limit)"
    ), result.stderr


# ---- 17.13: our tokens echoed back ---------------------------------------------------------


def test_a_token_echoed_in_errors_and_events_is_never_shown(arkor):
    sim = arkor.sim
    echo = Fault(status=401, body=json.dumps({"error": f"bad Bearer {TOKEN}"}))
    for args in (("jobs",), ("jobs", "--json")):
        sim.add_fault("jobs", echo)
        result = arkor.cli(*args)
        assert result.code == 4
        assert TOKEN not in result.output and "bad Bearer [redacted]" in result.stderr
    sim.add_job("j1", name=f"name {TOKEN}", status="running")
    sim.emit("j1", "training.log", {"step": 1, "loss": 0.5, "note": TOKEN})
    sim.emit("j1", "training.failed", {"error": f"auth {TOKEN} refused"})
    sim.end("j1")
    for mode in ("--json", "--plain"):
        sim.add_fault("stream:j1", Fault(status=500, body=json.dumps({"error": f"echo {TOKEN}"})))
        result = arkor.cli("watch", "j1", mode, **FAST)
        assert result.code == 1, result.output
        assert TOKEN not in result.output
        assert "[redacted]" in result.stdout and "echo [redacted]" in result.output
    result = arkor.cli("jobs", "--json")
    assert TOKEN not in result.output and "name [redacted]" in result.stdout


def test_a_token_split_across_reads_is_still_cut(raw):
    token_frame = f'data: {{"type": "training.log", "step": 1, "x": "{TOKEN}"}}\n\n'.encode()
    cut = token_frame.index(TOKEN.encode()) + 5

    def serve(conn: socket.socket, head: str) -> None:
        conn.sendall(sse_head() + token_frame[:cut])
        time.sleep(0.2)
        conn.sendall(token_frame[cut:] + b"event: end\ndata: {}\n\n")

    server = raw(serve)
    with backend_for(server.url) as backend:
        got = events_of(list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP))))
    assert got[0].data["x"] == "[redacted]"


# ---- also found: a server replaying the last-seen event on resume --------------------------


def test_the_event_resumed_from_is_dropped_when_sent_again(raw):
    def serve(conn: socket.socket, head: str) -> None:
        resumed = "last-event-id: 2" in head.lower()
        conn.sendall(sse_head())
        if not resumed:
            conn.sendall(
                frame("training.log", 1, {"step": 1}) + frame("training.log", 2, {"step": 2})
            )
            return  # dropped
        conn.sendall(
            frame("training.log", 2, {"step": 2})  # again
            + frame("training.log", 3, {"step": 3})
            + frame("training.completed", 4, {})
            + b"id: 5\nevent: end\ndata: {}\n\n"
        )

    server = raw(serve)
    with backend_for(server.url) as backend:
        got = events_of(list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP))))
    assert [e.id for e in got] == ["1", "2", "3", "4", "5"]


# ---- also found: invisible format characters -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("run\u200b", "run\\u200b"),
        ("a\u200fb\u2060c", "a\\u200fb\\u2060c"),
        ("\ufeffrun", "\\ufeffrun"),
        ("run\U000e0041", "run\\U000e0041"),
    ],
)
def test_invisible_characters_are_shown_escaped(text, shown):
    assert clean(text) == shown
    assert clean_line(text) == shown
    encoded = json_text(json.dumps(text, ensure_ascii=False))
    assert encoded.isascii() and json.loads(encoded) == text


def test_a_spoofed_job_name_is_visible_in_jobs(arkor):
    arkor.sim.add_job("j1", name="run", status="running")
    arkor.sim.add_job("j2", name="run\u200b", status="running")
    result = arkor.cli("jobs")
    assert result.code == 0
    assert "run\\u200b" in result.stdout and "\u200b" not in result.stdout


# ---- 14.5: the stream loop against arkor's own rules ---------------------------------------


def test_connections_with_only_pings_comments_or_junk_count_as_failures(sim):
    run_job(sim, n=2)
    sim.add_fault("stream:j1", Fault(raw=b"event: ping\ndata: {}\n\n"), times=1)
    sim.add_fault("stream:j1", Fault(raw=b": keepalive\n\n"), times=1)
    sim.add_fault("stream:j1", Fault(raw=b"event: training.log\ndata: not json\n\n"), times=1)
    with backend_for(sim.url) as backend, pytest.raises(UnreachableError) as caught:
        list(follow_events(backend, "j1", StreamOptions(max_retries=2, **NO_SLEEP)))
    assert "after 3 failed attempts" in caught.value.message
    assert "only pings, comments or unreadable frames" in caught.value.message


def test_a_frame_named_by_its_data_type(raw):
    def serve(conn: socket.socket, head: str) -> None:
        conn.sendall(
            sse_head()
            + b'id: 1\ndata: {"type": "training.log", "step": 3, "loss": 0.5}\n\n'
            + b'id: 2\nevent: message\ndata: {"type": "training.completed"}\n\n'
            + b'id: 3\ndata: {"type": "no.such.thing"}\n\n'
            + b"id: 4\nevent: end\ndata: {}\n\n"
        )

    server = raw(serve)
    with backend_for(server.url) as backend:
        got = events_of(list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP))))
    assert [(e.id, e.name) for e in got] == [
        ("1", "training.log"),
        ("2", "training.completed"),
        ("4", "end"),
    ]
    assert got[0].step == 3


def test_end_while_the_job_still_runs_is_resumed(arkor):
    sim = arkor.sim
    sim.add_job("j1", status="running")
    sim.emit("j1", "training.log", {"step": 1, "loss": 0.5})
    sim.emit("j1", "training.log", {"step": 2, "loss": 0.4})
    sim.emit("j1", "training.completed", {"artifacts": []})
    sim.end("j1")
    early = frame("training.log", 1, {"step": 1, "loss": 0.5}) + b"id: 9\nevent: end\ndata: {}\n\n"
    sim.add_fault("stream:j1", Fault(raw=early))
    with sim.changed:
        sim.jobs["j1"].job["status"] = "running"  # the cloud still says so
    result = arkor.cli("watch", "j1", "--json", **FAST)
    assert result.code == 0, result.stderr
    assert [
        json.loads(line)["id"] for line in result.stdout.splitlines() if '"summary"' not in line
    ] == ["1", "2", "3", "4"]
    assert "the server ended the stream while the job is still running" in result.stderr
    assert [r.headers.get("last-event-id") for r in sim.stream_requests("j1")] == [None, "1"]


def test_a_quiet_stream_without_pings_is_not_interrupted(raw):
    """No pings at all and a read timeout passing: reopened without a word."""
    calls = []

    def serve(conn: socket.socket, head: str) -> None:
        calls.append(head)
        conn.sendall(sse_head() + frame("training.started", 1, {}))
        if len(calls) == 1:
            time.sleep(1.0)  # quiet for longer than the read timeout (0.3 s)
            return
        conn.sendall(frame("training.completed", 2, {}) + b"id: 3\nevent: end\ndata: {}\n\n")

    server = raw(serve)
    with Backend(server.url, token=TOKEN, scope=Scope("a", "b"), read_timeout=0.3) as backend:
        items = list(follow_events(backend, "j1", StreamOptions(max_retries=0, **NO_SLEEP)))
    assert notices_of(items) == []
    assert [e.id for e in events_of(items)] == ["1", "2", "3"]


def test_pings_that_stop_mean_a_dead_connection(raw):
    calls = []

    def serve(conn: socket.socket, head: str) -> None:
        calls.append(head)
        if len(calls) > 1:
            conn.sendall(sse_head() + b"id: 3\nevent: end\ndata: {}\n\n")
            return
        conn.sendall(sse_head() + frame("training.started", 1, {}))
        for _ in range(3):
            conn.sendall(b"event: ping\ndata: {}\n\n")
            time.sleep(0.05)
        time.sleep(2.0)  # the pings stop; the socket stays open

    server = raw(serve)
    with Backend(server.url, token=TOKEN, scope=Scope("a", "b"), read_timeout=0.3) as backend:
        items = list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    reasons = [n.reason for n in notices_of(items) if n.kind == "interrupted"]
    assert len(reasons) == 1 and "pings" in reasons[0] and "stopped" in reasons[0]


# ---- 16.10 / 17.5 / 14.5: a running job's history, caught up on any stream ------------------


def replay_server(raw, tail: Callable[[socket.socket], None], *, ping_first: bool = False):  # type: ignore[no-untyped-def]
    """A running job: its detail (no events), then a stream with 200 events
    of history followed by `tail(conn)`."""
    past = datetime.now(UTC) - timedelta(minutes=5)

    def serve(conn: socket.socket, head: str) -> None:
        if "/events/stream" not in head:
            job = {"id": "j1", "name": "run", "status": "running"}
            body = json.dumps({"job": job}).encode()
            conn.sendall(
                http_head(content_type="application/json", content_length=str(len(body))) + body
            )
            return
        date = format_datetime(datetime.now(UTC), usegmt=True)
        conn.sendall(sse_head(date=date))
        if ping_first:
            conn.sendall(b"event: ping\ndata: {}\n\n")
            time.sleep(0.3)
        history = b"".join(
            frame(
                "training.log",
                i,
                {"step": i, "loss": 1 / i, "timestamp": (past + timedelta(seconds=i)).isoformat()},
            )
            for i in range(1, 201)
        )
        conn.sendall(history)
        tail(conn)

    return raw(serve)


def keepalive_comments(conn: socket.socket) -> None:
    for _ in range(600):
        conn.sendall(b": keepalive\n\n")
        time.sleep(0.05)


def busy_live_events(conn: socket.socket) -> None:
    for i in range(201, 2000):
        stamp = datetime.now(UTC).isoformat()
        conn.sendall(frame("training.log", i, {"step": i, "loss": 0.1, "timestamp": stamp}))
        time.sleep(0.01)


def busy_unstamped_events(conn: socket.socket) -> None:
    for i in range(201, 5000):
        conn.sendall(frame("training.log", i, {"step": i, "loss": 0.1}))
        time.sleep(0.01)


def pings_after(conn: socket.socket) -> None:
    for _ in range(600):
        conn.sendall(b"event: ping\ndata: {}\n\n")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("tail", "ping_first"),
    [
        (keepalive_comments, False),
        (busy_live_events, False),
        (busy_unstamped_events, False),
        (pings_after, True),  # a ping before the history is not "caught up"
    ],
    ids=["comments", "busy-stamped", "busy-unstamped", "ping-first"],
)
def test_a_running_jobs_history_stops_once_caught_up(raw, tail, ping_first):
    server = replay_server(raw, tail, ping_first=ping_first)
    with backend_for(server.url) as backend:
        started = time.monotonic()
        history = load_history(backend, "j1")
        took = time.monotonic() - started
    steps = [e.step for e in history.events]
    assert steps[:200] == list(range(1, 201))  # the whole history
    assert not history.complete  # "so far"
    assert took < 5 + (0.3 if ping_first else 0)


@pytest.mark.parametrize("command", ["stats", "artifacts"])
def test_stats_and_artifacts_return_on_a_keepalive_stream(raw, arkor, command):
    server = replay_server(raw, keepalive_comments)
    started = time.monotonic()
    result = arkor.cli(command, "j1", "--json", ARKOR_CLOUD_API_URL=server.url)
    assert time.monotonic() - started < 8
    assert result.code in (0, 7), result.output
    if command == "stats":
        body = json.loads(result.stdout)
        assert body["loss"]["count"] == 200 and body["complete"] is False
        shown = arkor.cli(command, "j1", ARKOR_CLOUD_API_URL=server.url)
        assert "so far" in shown.stdout.lower()
    else:
        assert "so far" in result.stderr


def test_watch_survives_a_poll_answer_nested_too_deep(arkor):
    """The poll thread: a bad answer is one line, and the watch carries on
    with the stream (it used to end the run, exit 1, or print a traceback
    and stop polling)."""
    sim = arkor.sim
    run_job(sim, n=3)
    deep = '{"job": ' + "[" * 100_000 + "]" * 100_000 + "}"
    for route in ("jobs", "detail:j1"):
        sim.add_fault(route, Fault(status=200, body=deep), times=50)
    result = arkor.cli("watch", "j1", "--json", **FAST)
    assert result.code == 0, result.stderr
    assert [
        json.loads(line)["id"] for line in result.stdout.splitlines() if '"summary"' not in line
    ] == [str(i) for i in range(1, 6)]
    said = [line for line in result.stderr.splitlines() if "job poll failed" in line]
    assert len(said) == 1 and "nested too deep" in said[0], result.stderr
    assert "Traceback" not in result.stderr
