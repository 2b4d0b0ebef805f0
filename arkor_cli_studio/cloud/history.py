"""A job's whole history: from the detail's `events`, else the stream replayed.

For a job that is still running, the stream never ends: the replay stops
once it has caught up with the present (`CaughtUp`), and the numbers are
"so far". `Replay` gives the events one at a time as they are read, so a
caller can fold them without holding them (`stats`); `load_history()` keeps
them in a list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.cloud.events import StreamOptions, follow_event_batches
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

    idle = CATCH_UP_IDLE

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
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


class Replay:
    """The job's history as it is read: iterate for the events (pings and
    `end` left out); after that, `complete` says whether the run is over.

    The job's detail is asked first (it raises "No job ..." for an unknown
    id); when it carries `events`, that is the history. Otherwise the event
    stream is replayed from the start until `end`, or, for a job still
    running, until it has caught up (`CaughtUp`)."""

    def __init__(
        self,
        backend: Backend,
        job_id: str,
        *,
        max_retries: int | None = 5,
        use_detail: bool = True,
        catch_up: CaughtUp | None = None,
    ) -> None:
        self.backend = backend
        self.job_id = job_id
        self.max_retries = max_retries
        self.catch_up = catch_up or CaughtUp()
        self.job: Job | None = None
        self.complete = False
        self.source = "stream"
        self._detail: list[Event] | None = None
        if use_detail:
            detail = backend.get_job(job_id)
            self.job = detail.job
            if detail.events is not None:
                self._detail = detail.events
                self.source = "detail"

    def __iter__(self) -> Iterator[Event]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Event]]:
        """The events in lists, as the stream's reads bring them."""
        if self._detail is not None:
            kept = [e for e in self._detail if e.name not in (END, PING)]
            self.complete = (self.job is not None and self.job.is_terminal) or any(
                e.terminal_status for e in kept
            )
            yield kept
            return
        options = StreamOptions(max_retries=self.max_retries, catch_up=self.catch_up)
        for batch in follow_event_batches(self.backend, self.job_id, options):
            if not batch or batch[0].__class__ is StreamNotice:
                continue
            events: list[Event] = []
            for item in batch:
                assert isinstance(item, Event)
                if item.name == END:
                    self.complete = True
                    continue
                if item.name == PING:
                    continue
                if item.terminal_status is not None:
                    self.complete = True
                events.append(item)
            if events:
                yield events
        if self.job is not None and self.job.is_terminal:
            self.complete = True


def load_history(
    backend: Backend,
    job_id: str,
    *,
    max_retries: int | None = 5,
    use_detail: bool = True,
) -> History:
    """Everything the job has emitted so far, in a list (`Replay`)."""
    replay = Replay(backend, job_id, max_retries=max_retries, use_detail=use_detail)
    events = list(replay)
    return History(replay.job, events, replay.complete, replay.source)
