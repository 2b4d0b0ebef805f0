"""The event stream of one job: resume with Last-Event-ID, back off, give up.

`follow_events()` yields `Event`s (each exactly once across reconnects, as
long as the server honours Last-Event-ID) and `StreamNotice`s that tell the
view the connection dropped or came back. Permanent failures raise typed
errors at once; transient ones are retried with exponential backoff.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime

import httpx

from arkor_cli_studio.cloud.client import Backend, describe_transport_error, error_message
from arkor_cli_studio.cloud.sse import frames
from arkor_cli_studio.errors import (
    ApiError,
    ArkorStudioError,
    StreamGoneError,
    UnreachableError,
)
from arkor_cli_studio.model import END, PING, TERMINAL_EVENTS, Event, StreamNotice, parse_event

BASE_DELAY = 1.0
MAX_DELAY = 60.0
MAX_RETRY_AFTER = 300.0
TRANSIENT_STATUSES = frozenset({404, 408, 429})


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def backoff_delay(failures: int, rng: Callable[[], float] = random.random) -> float:
    """1 s doubling per consecutive failure, capped at 60 s, with ±20% jitter."""
    base = min(MAX_DELAY, BASE_DELAY * 2.0 ** max(0, failures - 1))
    return min(MAX_DELAY, base * (0.8 + 0.4 * rng()))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date; None when absent or junk."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def _without_bom(texts: Iterator[str]) -> Iterator[str]:
    """The response's text minus a leading UTF-8 BOM (which would otherwise be
    glued to the first field name and drop the first event)."""
    for text in texts:
        text = text.removeprefix("\ufeff")
        if text:
            yield text
            break
    yield from texts


def follow_events(
    backend: Backend,
    job_id: str,
    *,
    last_event_id: str | None = None,
    max_retries: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    catch_up_idle: float | None = None,
    keep_raw: bool = False,
) -> Iterator[Event | StreamNotice]:
    """Every event of the job until `end` (or a terminal event and a close).

    `max_retries`: consecutive failures allowed before giving up (exit 5);
    None retries forever. A connection that delivered frames resets the count.
    `catch_up_idle`: replay mode for a job that may still be running: stop
    once caught up, i.e. at the first `ping` or after this many seconds
    without a byte.
    `keep_raw`: events carry their `data` text too (`Event.raw`).
    """
    for batch in follow_event_batches(
        backend,
        job_id,
        last_event_id=last_event_id,
        max_retries=max_retries,
        sleep=sleep,
        rng=rng,
        catch_up_idle=catch_up_idle,
        keep_raw=keep_raw,
    ):
        yield from batch


def follow_event_batches(
    backend: Backend,
    job_id: str,
    *,
    last_event_id: str | None = None,
    max_retries: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    catch_up_idle: float | None = None,
    keep_raw: bool = False,
) -> Iterator[list[Event] | list[StreamNotice]]:
    """`follow_events()`, in lists: the events of what one read of the stream
    brought (a replayed history: hundreds at a time; a live run: one or
    two), or one `StreamNotice` alone. Nothing waits to fill a list: each is
    given as soon as its bytes are read, before the next read."""
    failures = 0
    interrupted = False
    seen_terminal = False
    last_id = last_event_id or None
    idle = catch_up_idle  # the read timeout while replaying
    while True:
        got_frames = False
        answered = False
        try:
            with backend.open_stream(job_id, last_id, idle) as response:
                answered = True
                _check_stream_response(backend, job_id, response)
                response.encoding = "utf-8"
                for batch in frames(_without_bom(response.iter_text())):
                    out: list[Event] = []
                    for name, data, sse_id, _ in batch:
                        if name == "message" and not data and not sse_id:
                            continue  # a retry-only block: no frame
                        if sse_id:
                            last_id = sse_id
                        got_frames = True
                        failures = 0
                        if interrupted:  # (the first frame of this connection)
                            interrupted = False
                            if out:
                                yield out
                                out = []
                            yield [StreamNotice("resumed")]
                        if catch_up_idle is not None and name == PING:
                            if out:
                                yield out
                            return  # the server is idle: the history has been replayed
                        event = parse_event(name, sse_id, data, keep_raw=keep_raw)
                        if event is None:
                            continue  # unknown name or not JSON: skip, never fail
                        out.append(event)
                        if name == END:
                            yield out
                            return
                        if name in TERMINAL_EVENTS:
                            seen_terminal = True
                    if out:
                        yield out
            if seen_terminal:
                return  # a finished job whose stream closed: nothing more will come
            if got_frames:
                # A clean close after real frames: resume at the base delay.
                interrupted = True
                yield [StreamNotice("interrupted", "the stream closed", 0, BASE_DELAY)]
                sleep(BASE_DELAY)
                continue
            raise _Transient("the stream closed without sending anything")
        except _Transient as exc:
            reason, retry_after = exc.reason, exc.retry_after
        except httpx.ReadTimeout as exc:
            if catch_up_idle is not None and answered:
                return  # nothing more within the idle window: caught up
            # No answer at all is not "caught up" (that would be an empty
            # history): retry, waiting the normal read timeout for the answer;
            # a ping still marks the end of the replay.
            idle = None
            reason, retry_after = describe_transport_error(exc), None
        except httpx.TransportError as exc:
            reason, retry_after = describe_transport_error(exc), None
        if seen_terminal:
            return
        failures += 1
        if max_retries is not None and failures > max_retries:
            noun = "attempt" if failures == 1 else "attempts"
            raise UnreachableError(
                f"Gave up on the event stream of {job_id} after {failures} failed {noun}: {reason}",
                hint="Run the same command again to resume, or raise --max-retries.",
            )
        delay = retry_after if retry_after is not None else backoff_delay(failures, rng)
        interrupted = True
        yield [StreamNotice("interrupted", reason, failures, delay)]
        sleep(delay)


def _check_stream_response(backend: Backend, job_id: str, response: httpx.Response) -> None:
    """Status first: httpx-sse would call a JSON 401 a transport error."""
    status = response.status_code
    if status == 200:
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type.partition(";")[0]:
            raise _Transient(
                f"the server answered with {content_type or 'no content type'}, not an event stream"
            )
        return
    response.read()
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
