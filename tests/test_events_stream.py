"""The resumable event stream against the real loopback simulator."""

from __future__ import annotations

import json
import threading

import pytest

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.cloud.events import StreamOptions, follow_events
from arkor_cli_studio.cloud.retry import backoff_delay, retry_after_seconds
from arkor_cli_studio.errors import AuthError, NotFoundError, StreamGoneError, UnreachableError
from arkor_cli_studio.model import Event, Scope, StreamNotice
from arkor_cli_studio.simulator import Fault
from tests.helpers import TOKEN

NO_SLEEP = {"sleep": lambda _delay: None}


@pytest.fixture
def backend(sim):
    with Backend(sim.url, token=TOKEN, scope=Scope("acme", "demo"), read_timeout=5) as b:
        yield b


def events_of(items):
    return [i for i in items if isinstance(i, Event)]


def run_job(sim, n=10, job="j1"):
    sim.add_job(job, status="running")
    for step in range(1, n + 1):
        sim.emit(job, "training.log", {"step": step, "loss": 1 / step})
    sim.emit(job, "training.completed", {"artifacts": [{"pathname": "final"}]})
    sim.end(job)


def test_full_stream_in_order_then_end(sim, backend):
    run_job(sim)
    got = events_of(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    assert [e.step for e in got[:10]] == list(range(1, 11))
    assert [e.name for e in got[-2:]] == ["training.completed", "end"]
    request = sim.stream_requests("j1")[0]
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "last-event-id" not in request.headers
    assert request.query == {"orgSlug": "acme", "projectSlug": "demo"}


@pytest.mark.parametrize("mid_frame", [False, True])
def test_drops_resume_exactly_once_with_last_event_id(sim, backend, mid_frame):
    run_job(sim, n=12)
    for _ in range(3):
        sim.add_fault("stream:j1", Fault(drop_after=4, mid_frame=mid_frame))
    items = list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    steps = [e.step for e in events_of(items) if e.name == "training.log"]
    assert steps == list(range(1, 13))  # nothing lost, nothing twice
    sent = [r.headers.get("last-event-id") for r in sim.stream_requests("j1")]
    assert sent == [None, "4", "8", "12"]
    notices = [i.kind for i in items if isinstance(i, StreamNotice)]
    assert notices == ["interrupted", "resumed"] * 3


def test_clean_close_without_end_resumes_at_base_delay(sim, backend):
    run_job(sim, n=3)
    sim.add_fault("stream:j1", Fault(close_after=2))
    delays = []
    items = list(follow_events(backend, "j1", StreamOptions(sleep=delays.append)))
    assert [e.step for e in events_of(items)][:3] == [1, 2, 3]
    assert delays == [1.0]


def test_transient_statuses_back_off_and_honour_retry_after(sim, backend):
    run_job(sim, n=2)
    sim.add_fault("stream:j1", Fault(status=503), times=2)
    sim.add_fault("stream:j1", Fault(status=429, headers={"Retry-After": "7"}))
    sim.add_fault("stream:j1", Fault(status=408))
    delays = []
    got = events_of(
        follow_events(backend, "j1", StreamOptions(sleep=delays.append, rng=lambda: 0.5))
    )
    assert got[-1].name == "end"
    assert delays == [1.0, 2.0, 7.0, 8.0]  # 1 s doubling; Retry-After wins when given


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (410, StreamGoneError)],
)
def test_permanent_errors_end_at_once(sim, backend, status, error):
    run_job(sim, n=1)
    sim.add_fault("stream:j1", Fault(status=status, body=json.dumps({"error": "nope!"})))
    with pytest.raises(error, match="nope!"):
        list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    assert len(sim.stream_requests("j1")) == 1


def test_json_401_is_not_retried_as_a_transport_error(sim, backend):
    sim.add_job("j1")
    sim.add_fault("stream:j1", Fault(status=401, content_type="application/json"))
    with pytest.raises(AuthError):
        list(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))


def test_mistyped_id_does_not_spin(sim, backend):
    sim.add_job("real")
    with pytest.raises(NotFoundError, match="No job nope in acme/demo"):
        list(follow_events(backend, "nope", StreamOptions(**NO_SLEEP)))
    assert len(sim.stream_requests()) == 1


def test_404_for_a_listed_job_is_transient(sim, backend):
    run_job(sim, n=1)
    sim.add_fault("stream:j1", Fault(status=404), times=2)
    got = events_of(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    assert got[-1].name == "end"


def test_max_retries_counts_empty_streams_and_gives_up(sim, backend):
    sim.add_job("j1")
    sim.add_fault("stream:j1", Fault(raw=b""), times=5)
    with pytest.raises(UnreachableError, match="after 3 failed attempts"):
        list(follow_events(backend, "j1", StreamOptions(max_retries=2, **NO_SLEEP)))
    assert len(sim.stream_requests("j1")) == 3


def test_frames_reset_the_failure_count(sim, backend):
    run_job(sim, n=6)
    sim.add_fault("stream:j1", Fault(status=500))
    sim.add_fault("stream:j1", Fault(drop_after=2))
    sim.add_fault("stream:j1", Fault(status=500))
    got = events_of(
        follow_events(backend, "j1", StreamOptions(max_retries=2, **NO_SLEEP))
    )  # 3 without reset
    assert got[-1].name == "end"


def test_malformed_frames_are_skipped_never_fatal(sim, backend):
    raw = (
        '\ufeffid: 1\nevent: training.log\ndata: {"step": 1, "loss": 0.5}\n\n'
        "id: 2\nevent: training.log\ndata: not json\n\n"
        "id: 3\nevent: training.log\ndata: [1, 2]\n\n"
        'id: 4\nevent: training.log\ndata: "str"\n\n'
        'id: 5\nevent: brand.new\ndata: {"x": 1}\n\n'
        'id: 6\nevent: training.log\ndata: {"step": "5", "loss": 1e309}\n\n'
        "retry: 1000\n\n"
        "id: 7\r"
        "event: checkpoint.saved\r"
        'data: {"step": 7}\r\r'
        "id: 8\nevent: end\ndata: whatever\n\n"
    ).encode()
    sim.add_job("j1", status="completed")
    sim.add_fault("stream:j1", Fault(raw=raw))
    got = events_of(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    assert [(e.id, e.name) for e in got] == [
        ("1", "training.log"),
        ("6", "training.log"),
        ("7", "checkpoint.saved"),
        ("8", "end"),
    ]
    assert got[0].loss == 0.5  # the BOM did not eat the first frame
    assert got[1].step is None and got[1].loss is None  # wrong type and overflow are absent


def test_a_one_megabyte_data_line(sim, backend):
    sim.add_job("j1")
    big = "x" * 1_000_000
    sim.emit("j1", "training.failed", {"error": big})
    sim.end("j1")
    got = events_of(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    assert got[0].data["error"] == big


def test_terminal_event_then_close_ends_without_reconnect(sim, backend):
    sim.add_job("j1")
    sim.emit("j1", "training.failed", {"error": "OOM"})
    sim.end("j1")  # queued behind the close: never delivered
    sim.add_fault("stream:j1", Fault(close_after=1))
    got = events_of(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    assert [e.name for e in got] == ["training.failed"]
    assert len(sim.stream_requests("j1")) == 1


def test_pings_keep_a_quiet_stream_alive(sim, backend):
    sim.add_job("j1")
    timer = threading.Timer(
        1.2,
        lambda: (
            sim.emit("j1", "training.started", {}),
            sim.emit("j1", "training.completed", {}),
            sim.end("j1"),
        ),
    )
    timer.start()
    got = events_of(follow_events(backend, "j1", StreamOptions(**NO_SLEEP)))
    timer.join()
    names = [e.name for e in got]
    assert names.count("ping") >= 1
    assert names[-3:] == ["training.started", "training.completed", "end"]


def test_backoff_bounds():
    assert backoff_delay(1, rng=lambda: 0.5) == 1.0
    assert backoff_delay(3, rng=lambda: 0.5) == 4.0
    assert backoff_delay(30, rng=lambda: 1.0) == 60.0  # capped, jitter included
    assert 0.8 <= backoff_delay(1, rng=lambda: 0.0) <= 1.2


def test_retry_after_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("-4") == 0.0
    assert retry_after_seconds("99999") == 300.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
