"""`jobs --follow`: the jobs list polled every --interval seconds
(`polling.polls`), shown as JSON lines, as lines of what changed (piped), as
the table redrawn in place, or as the keyboard board (`commands/_board.py`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from arkor_cli_studio.commands.jobs import Filter, json_jobs, write_line, write_rows
from arkor_cli_studio.output import print_json, sleep_unless_closed

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.env import Environment
    from arkor_cli_studio.model import Job
    from arkor_cli_studio.polling import Poll


def follow(
    backend: Backend,
    environment: Environment,
    chosen: Filter,
    interval: float,
    as_json: bool,
    *,
    keys: bool = True,
) -> None:
    """Poll every `interval` seconds (`polling.polls`) and show each poll: as
    JSON lines, as the table redrawn in place or the keyboard board on a
    terminal, else as lines of what changed."""
    from arkor_cli_studio.polling import polls

    settings = environment.settings
    if as_json:
        # `| head -1` ends us while we wait, not at the next change.
        _follow_json(polls(backend.list_jobs, chosen, interval, wait=sleep_unless_closed))
    elif environment.stdout_isatty:
        from arkor_cli_studio import keys as keyboard

        if keys and keyboard.available():
            _board(backend, settings, chosen, interval)
        else:
            every = polls(backend.list_jobs, chosen, interval, wait=_redraw_between_polls)
            _follow_live(every, settings, interval)
    else:
        every = polls(backend.list_jobs, chosen, interval, wait=sleep_unless_closed)
        _follow_lines(every, environment, quiet_when_empty=bool(backend.no_project_note()))


def _redraw_between_polls(_interval: float) -> None:
    """The live table waits between polls itself (it redraws meanwhile)."""


def _follow_json(every: Iterable[Poll]) -> None:
    """One NDJSON line per good poll (the filtered jobs); a failed poll on stderr."""
    for poll in every:
        if poll.jobs is None:
            _stderr_line(f"poll failed: {poll.error}")
        else:
            print_json(json_jobs(poll.jobs, datetime.now(UTC)), pretty=False)


def _board(backend: Backend, settings: Settings, chosen: Filter, interval: float) -> None:
    """The keyboard board: select, open a job's live view, cancel, filter, sort."""
    from arkor_cli_studio.commands._board import BoardApp
    from arkor_cli_studio.render.console import make_console

    console = make_console(no_color=settings.no_color)

    def open_job(job_id: str) -> None:
        from arkor_cli_studio.commands._board import watch_from_board

        watch_from_board(settings, job_id)

    BoardApp(backend, settings, console, chosen, interval, open_job).run()


def _stderr_line(text: str) -> None:
    """A stamped line of `--follow`'s log on stderr (cleaned, as its stdout lines)."""
    from arkor_cli_studio import output

    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    output.line(f"{stamp}  {text}")


def _follow_live(every: Iterable[Poll], settings: Settings, interval: float) -> None:
    """The board, redrawn in place: only the rows that fit the screen (so the
    redraw, Ctrl-C and the final frame cost what the screen holds). A failed
    poll's message stays under the last good list until a poll succeeds."""
    from arkor_cli_studio.render.console import make_console
    from arkor_cli_studio.render.jobs import jobs_board
    from arkor_cli_studio.render.live import live_screen

    console = make_console(no_color=settings.no_color)
    jobs: list[Job] | None = None
    filtered = False
    with live_screen(console) as draw:
        for poll in every:
            if poll.jobs is not None:
                jobs, filtered = poll.jobs, not poll.jobs and poll.total > 0
            next_poll = poll.at + interval
            while True:
                age = int(time.monotonic() - poll.at)
                footer = f"Updated {age}s ago · every {interval:g}s · Ctrl-C to stop"
                size = console.size
                draw(
                    jobs_board(
                        jobs,
                        datetime.now(UTC),
                        size.width,
                        size.height,
                        footer=footer,
                        error=poll.error,
                        filtered=filtered,
                    )
                )
                time.sleep(max(0.0, _next_wake(jobs, next_poll) - time.monotonic()))
                if time.monotonic() >= next_poll:
                    break


def _next_wake(jobs: list[Job] | None, next_poll: float) -> float:
    """When to redraw: at the next poll, the next whole second (footer,
    durations), or when a job's Warming-up state expires, whichever is first."""
    from arkor_cli_studio.model import warming_ends_at

    wake = min(next_poll, time.monotonic() + 1.0)
    now = datetime.now(UTC)
    for job in jobs or []:
        if job.status != "queued":
            continue
        ends = warming_ends_at(job)
        if ends is not None and ends > now:
            wake = min(wake, time.monotonic() + (ends - now).total_seconds())
    return wake


def change_lines(
    before: dict[str, tuple[str, str]] | None, jobs: list[Job], now: datetime
) -> list[str]:
    """Plain lines for what changed since the last poll: new jobs, status changes."""
    from arkor_cli_studio.textsafe import clean_line

    if before is None:
        return []
    lines = []
    after = snapshot(jobs, now)
    for job in jobs:
        status, name = after[job.id]
        label = clean_line(name) or "-"
        if job.id not in before:
            lines.append(f"new     {clean_line(job.id)}  {status}  {label}")
        elif before[job.id][0] != status:
            lines.append(f"status  {clean_line(job.id)}  {before[job.id][0]} -> {status}  {label}")
    for job_id, (status, name) in before.items():
        if job_id not in after:
            lines.append(f"gone    {clean_line(job_id)}  {status}  {clean_line(name) or '-'}")
    return lines


def snapshot(jobs: list[Job], now: datetime) -> dict[str, tuple[str, str]]:
    from arkor_cli_studio.model import display_status

    return {job.id: (display_status(job, now), job.name) for job in jobs}


def _follow_lines(
    every: Iterable[Poll], environment: Environment, *, quiet_when_empty: bool
) -> None:
    """Piped: the table once, then a stamped line per change (new job, status
    change, gone); failed polls and the recovery on stderr. `quiet_when_empty`:
    a note on stderr already said why there are no jobs."""
    from arkor_cli_studio.render.joblist import NO_JOBS, NO_MATCHES, job_rows

    before: dict[str, tuple[str, str]] | None = None
    failing = False
    for poll in every:
        if poll.jobs is None:
            _stderr_line(f"poll failed: {poll.error}")
            failing = True
            continue
        jobs, now = poll.jobs, datetime.now(UTC)
        if failing:
            _stderr_line("poll recovered")
            failing = False
        if before is None:
            if jobs:
                write_rows(job_rows(jobs, now), environment)
            elif poll.total:
                write_line(NO_MATCHES)
            elif not quiet_when_empty:
                write_line(NO_JOBS)
        else:
            stamp = now.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            for line in change_lines(before, jobs, now):
                sys.stdout.write(f"{stamp}  {line}\n")
            sys.stdout.flush()
        before = snapshot(jobs, now)
