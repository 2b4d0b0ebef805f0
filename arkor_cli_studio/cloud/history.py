"""A job's whole history: from the detail's `events`, else the stream replayed."""

from __future__ import annotations

from dataclasses import dataclass

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.cloud.events import follow_events
from arkor_cli_studio.model import END, Event, Job, StreamNotice

CATCH_UP_IDLE = 2.0


@dataclass(frozen=True)
class History:
    job: Job | None
    events: list[Event]  # without pings and the `end` sentinel
    complete: bool  # the run is over: the numbers will not change
    source: str  # "detail" or "stream"


def load_history(
    backend: Backend,
    job_id: str,
    *,
    max_retries: int | None = 5,
    catch_up_idle: float = CATCH_UP_IDLE,
    use_detail: bool = True,
) -> History:
    """Everything the job has emitted so far.

    The job's detail is asked first (it raises "No job ..." for an unknown
    id); when it carries `events`, that is the history. Otherwise the event
    stream is replayed from the start until `end`, or, for a job still
    running, until it is caught up.
    """
    job: Job | None = None
    if use_detail:
        detail = backend.get_job(job_id)
        job = detail.job
        if detail.events is not None:
            events = [e for e in detail.events if e.name not in (END, "ping")]
            complete = job.is_terminal or any(e.terminal_status for e in events)
            return History(job, events, complete, "detail")
    events = []
    complete = False
    for item in follow_events(
        backend, job_id, max_retries=max_retries, catch_up_idle=catch_up_idle
    ):
        if isinstance(item, StreamNotice):
            continue
        if item.name == END:
            complete = True
            break
        if item.name == "ping":
            continue
        events.append(item)
        if item.terminal_status is not None:
            complete = True
    if job is not None and job.is_terminal:
        complete = True
    return History(job, events, complete, "stream")
