"""A job's whole history: from the detail's `events`, else the stream replayed.

`replay_history()` hands the events over one at a time, so a command that
folds them (`stats`, `artifacts`) holds none of them: memory stays what the
fold keeps, not what the run emitted. `load_history()` keeps them in a list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.cloud.events import follow_events
from arkor_cli_studio.model import END, PING, Event, Job, StreamNotice

CATCH_UP_IDLE = 2.0


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
    catch_up_idle: float = CATCH_UP_IDLE,
    use_detail: bool = True,
) -> HistoryReplay:
    """Everything the job has emitted so far, as it arrives.

    The job's detail is asked first, here (it raises "No job ..." for an
    unknown id); when it carries `events`, that is the history. Otherwise the
    event stream is replayed from the start, as the iteration goes, until
    `end`, or, for a job still running, until it is caught up.
    """
    job: Job | None = None
    if use_detail:
        detail = backend.get_job(job_id)
        job = detail.job
        if detail.events is not None:
            return HistoryReplay(job, "detail", iter(detail.events))
    stream = follow_events(backend, job_id, max_retries=max_retries, catch_up_idle=catch_up_idle)
    return HistoryReplay(job, "stream", stream)


def load_history(
    backend: Backend,
    job_id: str,
    *,
    max_retries: int | None = 5,
    catch_up_idle: float = CATCH_UP_IDLE,
    use_detail: bool = True,
) -> History:
    """`replay_history()`, its events kept in a list."""
    replay = replay_history(
        backend,
        job_id,
        max_retries=max_retries,
        catch_up_idle=catch_up_idle,
        use_detail=use_detail,
    )
    events = list(replay)
    return History(replay.job, events, replay.complete, replay.source)
