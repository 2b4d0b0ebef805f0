"""`arkor-studio jobs [--follow]`: Studio's Jobs list."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arkor_cli_studio.commands import boundary, examples, sleep_unless_closed
from arkor_cli_studio.errors import ArkorStudioError

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.model import Job


class Status(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


EPILOG = examples(
    "arkor-studio jobs",
    "arkor-studio jobs --status running --status queued",
    "arkor-studio jobs --follow --interval 10     # redraw in place; Ctrl-C stops",
    "arkor-studio jobs --json | jq -r '.[] | select(.status==\"failed\") | .id'",
)


def register(app: typer.Typer) -> None:
    app.command("jobs", epilog=EPILOG)(boundary(jobs))


def jobs(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="The jobs as a JSON array (API objects + displayStatus).")
    ] = False,
    status: Annotated[
        list[Status] | None,
        typer.Option(
            "--status", "-s", help="Only jobs with this status (repeatable).", show_default=False
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=1, metavar="N", help="At most N jobs (after --status)."),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling and redraw (every 5 s).")
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=1.0,
            metavar="SECONDS",
            help="Seconds between polls with --follow.",
        ),
    ] = 5.0,
    no_keys: Annotated[
        bool,
        typer.Option(
            "--no-keys",
            help="With --follow on a terminal: the plain redrawn table, not the keyboard board.",
        ),
    ] = False,
) -> None:
    """The jobs table: Status, Name, Created, ID, in the server's order."""
    from arkor_cli_studio.app import settings_of
    from arkor_cli_studio.cloud import connect

    settings = settings_of(ctx)
    wanted = {s.value for s in status} if status else None
    with connect(settings) as backend:
        if follow:
            _follow(backend, settings, wanted, limit, interval, as_json, keys=not no_keys)
        else:
            _once(backend, settings, wanted, limit, as_json)


def select(jobs: list[Job], wanted: set[str] | None, limit: int | None) -> list[Job]:
    chosen = [job for job in jobs if wanted is None or job.status in wanted]
    return chosen[:limit] if limit is not None else chosen


def json_jobs(jobs: list[Job], now: datetime) -> list[dict[str, Any]]:
    from arkor_cli_studio.jobinfo import jsonable
    from arkor_cli_studio.model import display_status

    # Non-finite numbers (`1e309`) become null: the output stays valid JSON.
    return [jsonable({**job.raw, "displayStatus": display_status(job, now)}) for job in jobs]


def _print_json(value: Any, *, pretty: bool) -> None:
    text = json.dumps(
        value, indent=2 if pretty else None, separators=None if pretty else (",", ":")
    )
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _once(
    backend: Backend,
    settings: Settings,
    wanted: set[str] | None,
    limit: int | None,
    as_json: bool,
) -> None:
    jobs = select(backend.list_jobs(), wanted, limit)
    now = datetime.now(UTC)
    if as_json:
        _print_json(json_jobs(jobs, now), pretty=True)
        return
    from arkor_cli_studio.render.console import make_console
    from arkor_cli_studio.render.jobs import jobs_view

    make_console(no_color=settings.no_color).print(jobs_view(jobs, now))


def _follow(
    backend: Backend,
    settings: Settings,
    wanted: set[str] | None,
    limit: int | None,
    interval: float,
    as_json: bool,
    *,
    keys: bool = True,
) -> None:
    from arkor_cli_studio.render.console import stream_is_terminal

    if as_json:
        while True:
            try:
                jobs = select(backend.list_jobs(), wanted, limit)
            except ArkorStudioError as error:
                _stderr_line(f"poll failed: {error.message}")
            else:
                _print_json(json_jobs(jobs, datetime.now(UTC)), pretty=False)
            sleep_unless_closed(interval)  # `| head -1` ends us, not the next change
    elif stream_is_terminal(sys.stdout):
        from arkor_cli_studio import keys as keyboard

        if keys and keyboard.available():
            _board(backend, settings, wanted, limit, interval)
        else:
            _follow_live(backend, settings, wanted, limit, interval)
    else:
        _follow_lines(backend, settings, wanted, limit, interval)


def _board(
    backend: Backend,
    settings: Settings,
    wanted: set[str] | None,
    limit: int | None,
    interval: float,
) -> None:
    """The keyboard board: select, open a job's live view, cancel, filter, sort."""
    from arkor_cli_studio.commands._board import BoardApp
    from arkor_cli_studio.render.console import make_console

    console = make_console(no_color=settings.no_color)

    def open_job(job_id: str) -> None:
        from arkor_cli_studio.commands._board import watch_from_board

        watch_from_board(settings, job_id)

    BoardApp(
        backend, settings, console, lambda jobs: select(jobs, wanted, limit), interval, open_job
    ).run()


def _stderr_line(text: str) -> None:
    from arkor_cli_studio.textsafe import clean_line

    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp}  {clean_line(text)}", file=sys.stderr, flush=True)


def _follow_live(
    backend: Backend,
    settings: Settings,
    wanted: set[str] | None,
    limit: int | None,
    interval: float,
) -> None:
    from arkor_cli_studio.model import warming_ends_at
    from arkor_cli_studio.render.console import make_console
    from arkor_cli_studio.render.jobs import jobs_view
    from arkor_cli_studio.render.live import live_screen

    console = make_console(no_color=settings.no_color)
    jobs: list[Job] | None = None
    error: str | None = None
    polled_at = 0.0
    next_poll = time.monotonic()
    with live_screen(console) as draw:
        while True:
            if time.monotonic() >= next_poll:
                try:
                    jobs = select(backend.list_jobs(), wanted, limit)
                    error = None
                except ArkorStudioError as exc:
                    error = exc.message
                polled_at = time.monotonic()
                next_poll = polled_at + interval
            age = int(time.monotonic() - polled_at)
            footer = f"Updated {age}s ago · every {interval:g}s · Ctrl-C to stop"
            draw(jobs_view(jobs, datetime.now(UTC), footer=footer, error=error))
            # Wake at the next poll, the next whole second (footer), or when a
            # job's Warming-up state expires, whichever comes first.
            wake = min(next_poll, time.monotonic() + 1.0)
            now = datetime.now(UTC)
            for job in jobs or []:
                ends = warming_ends_at(job)
                if ends is not None and ends > now:
                    wake = min(wake, time.monotonic() + (ends - now).total_seconds())
            time.sleep(max(0.0, wake - time.monotonic()))


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
    backend: Backend,
    settings: Settings,
    wanted: set[str] | None,
    limit: int | None,
    interval: float,
) -> None:
    from arkor_cli_studio.render.console import make_console
    from arkor_cli_studio.render.jobs import jobs_view

    console = make_console(no_color=settings.no_color)
    before: dict[str, tuple[str, str]] | None = None
    failing = False
    while True:
        try:
            jobs = select(backend.list_jobs(), wanted, limit)
        except ArkorStudioError as error:
            _stderr_line(f"poll failed: {error.message}")
            failing = True
        else:
            now = datetime.now(UTC)
            if failing:
                _stderr_line("poll recovered")
                failing = False
            if before is None:
                console.print(jobs_view(jobs, now))
                sys.stdout.flush()
            else:
                stamp = now.astimezone().strftime("%Y-%m-%d %H:%M:%S")
                for line in change_lines(before, jobs, now):
                    sys.stdout.write(f"{stamp}  {line}\n")
                sys.stdout.flush()
            before = snapshot(jobs, now)
        sleep_unless_closed(interval)
