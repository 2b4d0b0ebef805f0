"""A job's whole history: from the detail's `events`, else the stream replayed.

`replay_history()` hands the events over one at a time, so a command that
folds them (`stats`, `artifacts`) holds none of them: memory stays what the
fold keeps, not what the run emitted. `load_history()` keeps them in a list.

For a job that is still running, the stream never ends: the replay stops
once it has caught up with the present (`CaughtUp`, the one rule for
`stats` and `artifacts`), and the numbers are "so far".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.cloud.events import StreamOptions, follow_events
from arkor_cli_studio.model import END, PING, Event, Job, StreamNotice

#: No real event for this long (pings and comments don't count): caught up.
CATCH_UP_IDLE: Final = 2.0
#: Past the history, a stream brings at most a trickle: fewer bytes than this
#: in a second (a replay comes as fast as the network carries it).
TRICKLE_BYTES: Final = 16 * 1024
TRICKLE_WINDOW: Final = 1.0


class CaughtUp:
    """When a replay of a running job has caught up, on any stream.

    The history comes first, as fast as the network carries it; then the
    stream turns live. Caught up is the first of:

    - a ping or a comment after the first real event (the server had nothing
      more to send; one before any event may come before the history);
    - an event stamped after the server's clock at the answer (its `Date`
      header, to the second): a live one, left out;
    - CATCH_UP_IDLE seconds without a real event (a queued job with pings,
      or silence: then the read timeout);
    - a second that brought fewer than TRICKLE_BYTES after the first real
      event: a live stream, however busy (no stamps, no pings) trickles.

    Each takes under 5 s once the history is in (the last, ~1 s)."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, idle: float = CATCH_UP_IDLE
    ) -> None:
        self.clock = clock
        self.idle = idle
        self.server_now: float | None = None  # POSIX seconds of `Date`, +1 (its precision)
        self.started = False  # a real event has come
        self.last_event = 0.0
        self.window_start = 0.0
        self.window_bytes = 0

    def opened(self, response: httpx.Response) -> None:
        now = self.clock()
        self.last_event = self.window_start = now
        self.window_bytes = 0
        date = response.headers.get("date")
        self.server_now = None
        if date:
            try:
                self.server_now = parsedate_to_datetime(date).timestamp() + 1.0
            except (TypeError, ValueError, IndexError, OverflowError):
                self.server_now = None

    def read(self, size: int) -> bool:
        now = self.clock()
        if now - self.last_event >= self.idle:
            return True
        if now - self.window_start >= TRICKLE_WINDOW:
            trickle = self.started and self.window_bytes < TRICKLE_BYTES
            self.window_start, self.window_bytes = now, 0
            if trickle:
                return True
        self.window_bytes += size
        return False

    def marker(self) -> bool:
        return self.started

    def event(self, event: Event) -> bool:
        if self.server_now is not None:
            stamp = event.epoch_seconds
            if stamp is not None and stamp >= self.server_now:
                return True
        if not self.started:
            self.started = True
        self.last_event = self.clock()
        return False


@dataclass(frozen=True)
class History:
    job: Job | None
    events: list[Event]  # without pings and the `end` sentinel
    complete: bool  # the run is over: the numbers will not change
    source: str  # "detail" or "stream"


class HistoryReplay:
    """The job's events in order (without pings and the `end` sentinel), one
    at a time: iterate it once. `job` and `source` are known from the start;
    `complete` and `terminal_status` (the last terminal event's status) once
    the iteration has ended."""

    def __init__(self, job: Job | None, source: str, events: Iterator[Event | StreamNotice]):
        self.job = job
        self.source = source  # "detail" or "stream"
        self.complete = job is not None and job.is_terminal
        self.terminal_status: str | None = None
        self._events = events

    def __iter__(self) -> Iterator[Event]:
        for item in self._events:
            if isinstance(item, StreamNotice) or item.name == PING:
                continue
            if item.name == END:
                if self.source == "stream":
                    self.complete = True
                    break
                continue  # the detail's own `end` proves nothing more than its status
            if item.terminal_status is not None:
                self.complete = True
                self.terminal_status = item.terminal_status
            yield item


def replay_history(
    backend: Backend,
    job_id: str,
    *,
    max_retries: int | None = 5,
    use_detail: bool = True,
    catch_up: CaughtUp | None = None,
    catch_up_idle: float = CATCH_UP_IDLE,
) -> HistoryReplay:
    """Everything the job has emitted so far, as it arrives.

    The job's detail is asked first, here (it raises "No job ..." for an
    unknown id); when it carries `events`, that is the history. Otherwise the
    event stream is replayed from the start, as the iteration goes, until
    `end`, or, for a job still running, until it is caught up (`catch_up`:
    the rule, `CaughtUp()` unless given).
    """
    job: Job | None = None
    if use_detail:
        detail = backend.get_job(job_id)
        job = detail.job
        if detail.events is not None:
            return HistoryReplay(job, "detail", iter(detail.events))
    options = StreamOptions(
        max_retries=max_retries, catch_up=catch_up or CaughtUp(idle=catch_up_idle)
    )
    stream = follow_events(backend, job_id, options)
    return HistoryReplay(job, "stream", stream)


def load_history(
    backend: Backend,
    job_id: str,
    *,
    max_retries: int | None = 5,
    use_detail: bool = True,
) -> History:
    """`replay_history()`, its events kept in a list."""
    replay = replay_history(backend, job_id, max_retries=max_retries, use_detail=use_detail)
    events = list(replay)
    return History(replay.job, events, replay.complete, replay.source)
