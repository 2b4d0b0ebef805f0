"""The event stream of one job: resume with Last-Event-ID, back off, give up.

`follow_event_batches()` yields lists of `Event`s (each exactly once across
reconnects, as long as the server honours Last-Event-ID) and `StreamNotice`s
that tell the view the connection dropped or came back. Permanent failures
raise typed errors at once; passing ones are retried.

Three pieces, each with one job:
- `cloud/reader.py`: one connection's bytes to SSE frames (capped lines,
  httpx-sse's decoder);
- `cloud/retry.py`: the failure count, the delay, the give-up error;
- this module: opening connections, frames to events, the rules of arkor's
  own stream loop (`core/trainer.ts`): a frame is known by its `event:` name,
  or by its data's `type` when the name is absent or `message`; only a real
  event proves the connection works; `end` before the job is over (the cloud
  ends streams on a session timeout) is resumed, not believed.

How a dead connection is told from a quiet one: the stream's read timeout
(`ARKOR_STUDIO_READ_TIMEOUT`, 60 s) is stretched to three of the server's
ping intervals once two pings have shown the rhythm, and TCP keepalive
probes find a peer that vanished. When bytes stop on a stream that sends
pings, the connection is dead: "interrupted", counted, resumed. When a
stream that never sent a ping goes quiet for the read timeout, it is
reopened at once and without a word (Last-Event-ID: nothing is lost); only a
reopening that fails is reported.
"""

# Long on purpose: the retry loop over connections and one connection's
# reader, the two halves of one protocol (the bytes-to-frames reader is
# cloud/reader.py, the retry policy cloud/retry.py).

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Protocol

import httpx

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.cloud.http import describe_transport_error, error_message
from arkor_cli_studio.cloud.reader import COMMENT, Frame, LineTooLong, Reader
from arkor_cli_studio.cloud.retry import BASE_DELAY, RetryPolicy, retry_after_seconds
from arkor_cli_studio.errors import (
    ApiError,
    ArkorStudioError,
    StreamGoneError,
)
from arkor_cli_studio.model import END, PING, TERMINAL_EVENTS, Event, StreamNotice, parse_event

__all__ = [
    "CatchUp",
    "StreamOptions",
    "follow_event_batches",
    "follow_events",
    "header_safe_id",
]

TRANSIENT_STATUSES = frozenset({404, 408, 429})
#: The read timeout is at least this many of the server's ping intervals.
PINGS_MISSED = 3


class CatchUp(Protocol):
    """When a replay of a job that may still be running has caught up
    (`cloud/history.py` owns the rule). Each method answers "caught up now"."""

    #: Seconds without a byte that end the replay (the stream's read timeout).
    idle: float

    def opened(self, response: httpx.Response) -> None:
        """A connection answered (its headers: the server's `Date`)."""

    def read(self, size: int) -> bool:
        """One read of `size` bytes arrived (before its frames are looked at)."""

    def marker(self) -> bool:
        """A ping or a comment: the server had nothing else to send."""

    def event(self, event: Event) -> bool:
        """A real event; True when it is past the history (then it is left out)."""


@dataclass
class StreamOptions:
    """How to follow one job's stream (shared by `follow_events()` and
    `follow_event_batches()`).

    `last_event_id`: resume after this id. `max_retries`: failures in a row
    allowed before giving up (exit 5); None retries forever. `sleep`, `rng`:
    the waits between attempts and their jitter (tests pass their own).
    `catch_up`: replay mode: stop once the rule says the history is in.
    `keep_raw`: events carry their `data` text too (`Event.raw`).
    """

    last_event_id: str | None = None
    max_retries: int | None = None
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random
    catch_up: CatchUp | None = None
    keep_raw: bool = False


class _Transient(Exception):
    """A failure worth another attempt."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Quiet(Exception):
    """A stream that never pinged sent nothing for the read timeout."""


_HEADER_SAFE = frozenset(range(0x21, 0x7F)) | {0x20, 0x09}


def header_safe_id(value: str) -> str | None:
    """The id as a `Last-Event-ID` header can carry it, or None.

    Whitespace around it is dropped (HTTP drops it from a header value
    anyway); an id that still holds a control character, or that UTF-8
    cannot encode, cannot be sent: None (the previous id stands)."""
    if value.isalnum() and value.isascii():
        return value  # the usual "123": the hot path
    value = value.strip(" \t\v\f")
    if not value:
        return None
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if all(byte in _HEADER_SAFE or byte >= 0x80 for byte in encoded):
        return value
    return None


class _Rhythm:
    """The server's ping interval, learned: the read timeout follows it."""

    def __init__(self, floor: float) -> None:
        self.floor = floor
        self.last: float | None = None
        self.interval: float | None = None

    def ping(self, now: float) -> None:
        if self.last is not None:
            gap = now - self.last
            self.interval = gap if self.interval is None else max(gap, 0.8 * self.interval)
        self.last = now

    def timeout(self) -> float:
        if self.interval is None:
            return self.floor
        return max(self.floor, PINGS_MISSED * self.interval)


@dataclass
class _State:
    """What carries over from one connection to the next."""

    last_id: str | None
    interrupted: bool = False  # a notice said so: the next frame says "resumed"
    seen_terminal: bool = False


def follow_events(
    backend: Backend, job_id: str, options: StreamOptions | None = None
) -> Iterator[Event | StreamNotice]:
    """Every event of the job until `end` (or a terminal event and a close),
    one at a time: `follow_event_batches()` flattened."""
    for batch in follow_event_batches(backend, job_id, options):
        yield from batch


# Long on purpose: the retry loop: every way a connection ends, and what
# follows it (a notice, a delay, a reopen or the end), read top to bottom.
def follow_event_batches(
    backend: Backend, job_id: str, options: StreamOptions | None = None
) -> Iterator[list[Event] | list[StreamNotice]]:
    """The job's events in lists: what one read of the stream brought (a
    replayed history: hundreds at a time; a live run: one or two), or one
    `StreamNotice` alone. Nothing waits to fill a list: each is given as
    soon as its bytes are read, before the next read."""
    opts = options or StreamOptions()
    policy = RetryPolicy(job_id, opts.max_retries, opts.rng)
    state = _State(last_id=header_safe_id(opts.last_event_id) if opts.last_event_id else None)
    rhythm = _Rhythm(backend.read_timeout)
    catch_up = opts.catch_up
    idle: float | None = catch_up.idle if catch_up is not None else None
    while True:
        answered = False
        quiet = False
        try:
            timeout = idle if idle is not None else rhythm.timeout()
            with backend.open_stream(job_id, state.last_id, timeout) as response:
                answered = True
                _check_stream_response(backend, job_id, response)
                if catch_up is not None:
                    catch_up.opened(response)
                outcome = yield from _connection(
                    backend, job_id, response, opts, state, policy, rhythm
                )
            if outcome == "done":
                return
            if outcome == "resume":  # real events, then a close: at the base delay
                delay = BASE_DELAY
                reason = "the stream closed"
                yield [StreamNotice("interrupted", reason, 0, delay)]
                state.interrupted = True
                opts.sleep(delay)
                continue
            if outcome == "ended":  # `end` while the job runs, after real events
                state.interrupted = True
                yield [
                    StreamNotice(
                        "interrupted",
                        "the server ended the stream while the job is still running",
                        0,
                        BASE_DELAY,
                    )
                ]
                opts.sleep(BASE_DELAY)
                continue
            if outcome == "ended-empty":
                raise _Transient(
                    "the server ended the stream while the job is still running, and sent no event"
                )
            raise _Transient(
                "the stream closed without sending anything"
                if outcome == "empty"
                else "the stream closed after sending only pings, comments or unreadable frames"
            )
        except _Transient as exc:
            reason, retry_after = exc.reason, exc.retry_after
        except _Quiet:
            quiet = True
            reason, retry_after = "", None
        except LineTooLong as exc:
            reason, retry_after = str(exc), None
        except httpx.ReadTimeout as exc:
            if catch_up is not None and answered:
                return  # nothing more within the idle window: caught up
            # No answer at all is not "caught up" (that would be an empty
            # history): retry, waiting the normal read timeout for the answer;
            # a ping still marks the end of the replay.
            idle = None
            reason, retry_after = describe_transport_error(exc), None
            if answered and rhythm.interval is not None:
                reason = (
                    f"no data for {rhythm.timeout():.0f}s (the server's pings every "
                    f"{rhythm.interval:.0f}s stopped)"
                )
        except httpx.TransportError as exc:
            reason, retry_after = describe_transport_error(exc), None
        if state.seen_terminal:
            return
        if quiet:
            continue  # reopened at once; a failure to reopen is reported
        delay = policy.failed(reason, retry_after)
        state.interrupted = True
        yield [StreamNotice("interrupted", reason, policy.failures, delay)]
        opts.sleep(delay)


# Long on purpose: the per-event loop of every watch; one frame, so each
# event's work stays in locals (it is the ingest path's hot loop).
def _connection(
    backend: Backend,
    job_id: str,
    response: httpx.Response,
    opts: StreamOptions,
    state: _State,
    policy: RetryPolicy,
    rhythm: _Rhythm,
) -> Generator[list[Event] | list[StreamNotice], None, str]:
    """Read one connection. Returns how it ended: "done" (the stream is over,
    or the replay has caught up), "resume" (real events, then a close),
    "ended" / "ended-empty" (`end` while the job still runs, after real
    events or none), "empty" (nothing at all), "unproductive" (only pings,
    comments, unreadable frames: arkor counts that as a failure).

    Raises `_Quiet` when a stream that never pinged went quiet (a read
    timeout), `LineTooLong` past the cap."""
    keep_raw, catch_up = opts.keep_raw, opts.catch_up
    resumed_from = state.last_id  # a server may send that event again: dropped once
    productive = False  # a real event came on this connection
    got_anything = False
    pinged = False
    last_raw = ""  # the id as the decoder gave it (it carries over)
    kept_id = state.last_id  # the id of the last event handed on
    monotonic = time.monotonic
    try:
        for items in _reads(backend, response, catch_up):
            if items is None:
                return "done"  # the replay has caught up
            if not items:
                continue
            got_anything = True
            out: list[Event] = []
            for item in items:
                if item is COMMENT:
                    if catch_up is not None and catch_up.marker():
                        break
                    continue
                name, data, sse_id, _ = item
                if sse_id != last_raw:
                    last_raw = sse_id
                    usable = header_safe_id(sse_id) if sse_id else None
                    if usable is not None:
                        state.last_id = usable
                if name == "message" and not data and not sse_id:
                    continue  # a retry-only block: no frame
                event = parse_event(name, sse_id, data, keep_raw=keep_raw)
                if event is None:
                    continue  # an unknown name or not JSON: skipped, proves nothing
                if state.interrupted:  # (the first frame of this connection)
                    state.interrupted = False
                    if out:
                        yield out
                        out = []
                    yield [StreamNotice("resumed")]
                name = event.name
                if name == PING:  # (kept: the view knows the server is alive)
                    pinged = True
                    rhythm.ping(monotonic())
                    if catch_up is not None and catch_up.marker():
                        break
                    out.append(event)
                    continue
                if resumed_from is not None:
                    first_id, resumed_from = resumed_from, None
                    if state.last_id == first_id and sse_id:
                        continue  # the event we resumed after, sent again
                if name == END:
                    if out:
                        yield out
                    if (
                        catch_up is None
                        and not state.seen_terminal
                        and _still_running(backend, job_id)
                    ):
                        state.last_id = kept_id  # resume after the last real event
                        return "ended" if productive else "ended-empty"
                    policy.succeeded()
                    yield [event]
                    return "done"
                if catch_up is not None and catch_up.event(event):
                    break  # live: past the history
                if not productive:
                    productive = True
                    policy.succeeded()
                out.append(event)
                kept_id = state.last_id
                if name in TERMINAL_EVENTS:
                    state.seen_terminal = True
            else:
                if out:
                    yield out
                continue
            if out:  # the replay has caught up (a `break` above)
                yield out
            return "done"
    except httpx.ReadTimeout:
        if catch_up is None and not pinged and rhythm.interval is None:
            raise _Quiet() from None
        raise
    if state.seen_terminal:
        return "done"  # a finished job whose stream closed: nothing more will come
    if productive:
        return "resume"
    return "unproductive" if got_anything else "empty"


def _reads(
    backend: Backend, response: httpx.Response, catch_up: CatchUp | None
) -> Iterator[list[Frame] | None]:
    """The frames of each read (our tokens cut out), then what the close
    completes; None when the catch-up rule stops at a read."""
    reader = Reader(backend.limits.max_event_bytes)
    chunks = response.iter_raw()
    if backend.redactor:
        chunks = backend.redactor.stream(chunks)
    for chunk in chunks:
        if catch_up is not None and catch_up.read(len(chunk)):
            yield None
            return
        yield reader.feed(chunk)
    yield reader.end()


def _still_running(backend: Backend, job_id: str) -> bool:
    """At `end` without a terminal event: is the job still going? (A
    cancelled job has no terminal event: its status says it is over.)"""
    try:
        job = backend.find_job(job_id)
    except ArkorStudioError:
        return False  # can't tell: believe the server
    return job is not None and not job.is_terminal


def _check_stream_response(backend: Backend, job_id: str, response: httpx.Response) -> None:
    """Status first: httpx-sse would call a JSON 401 a transport error."""
    status = response.status_code
    if status == 200:
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type.partition(";")[0]:
            raise _Transient(
                f"the server answered with {content_type or 'no content type'}, not an event stream"
            )
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # We ask for none: a compressed stream could inflate without bound.
            raise _Transient(f"the server compressed the event stream ({encoding}) unasked")
        return
    response = backend.settle(response)  # (capped; our tokens cut out)
    message = error_message(response)
    if status in (401, 403, 426):
        # The backend words it (Studio: whose token; 426: the SDK version gate, exit 4).
        backend.raise_for_status(response)  # (raises for every status here)
    if status == 410:
        raise StreamGoneError(message, hint="The server no longer has this job's stream.")
    if status == 404:
        # Right after a job is created the stream may 404 (replication lag).
        # A mistyped id must not spin: ask the jobs list whether it exists.
        try:
            exists = backend.find_job(job_id) is not None
        except ArkorStudioError:
            exists = True  # can't tell: treat as transient, retries are bounded
        if not exists:
            raise backend.not_found(job_id)
        raise _Transient(f"{message} (the job may have just been created)")
    if status in TRANSIENT_STATUSES or status >= 500:
        raise _Transient(message, retry_after_seconds(response.headers.get("retry-after")))
    if status == 400 and _absent(backend, job_id):
        # Studio answers 400 "No project state" for a project without jobs,
        # where its jobs list is empty: say which job is missing, as cloud mode does.
        raise backend.not_found(job_id)
    raise ApiError(message, status=status)


def _absent(backend: Backend, job_id: str) -> bool:
    try:
        return backend.find_job(job_id) is None
    except ArkorStudioError:
        return False
