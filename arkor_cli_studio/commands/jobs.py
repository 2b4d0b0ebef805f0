"""`arkor-studio jobs [--follow]`: Studio's Jobs list."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._options import json_flag
from arkor_cli_studio.env import environment_of
from arkor_cli_studio.output import print_json, sleep_unless_closed

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.env import Environment
    from arkor_cli_studio.model import Job
    from arkor_cli_studio.polling import Poll
    from arkor_cli_studio.render.joblist import Row


class Status(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


EPILOG = examples(
    "arkor-studio jobs",
    "arkor-studio jobs --status running --status queued",
    "arkor-studio jobs --search gemma  # name or ID contains it",
    "arkor-studio jobs --follow --interval 10  # redraw in place; Ctrl-C stops",
    "arkor-studio jobs --json | jq -r '.[] | select(.status==\"failed\") | .id'",
)


def register(app: typer.Typer) -> None:
    app.command("jobs", epilog=EPILOG)(boundary(jobs))


# Long on purpose: a Typer command: mostly its parameter declarations.
def jobs(
    ctx: typer.Context,
    as_json: Annotated[
        bool, json_flag("The jobs as a JSON array (API objects + displayStatus).")
    ] = False,
    status: Annotated[
        list[Status] | None,
        typer.Option(
            "--status", "-s", help="Only jobs with this status (repeatable).", show_default=False
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            "-q",
            metavar="TEXT",
            help="Only jobs whose name or ID contains TEXT (any case).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=1, metavar="N", help="At most N jobs (after --status, --search)."
        ),
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
    """The jobs table: Status, Name, Duration, Created, ID, in the server's order.

    Piped, one line per job at its natural width (`jobs | grep NAME` finds
    it); on a narrow terminal, columns give way (Created first), never the ID.
    """
    from arkor_cli_studio.cloud import connect

    environment = environment_of(ctx)
    settings = environment.settings
    chosen = Filter({s.value for s in status} if status else None, search, limit)
    with connect(settings) as backend:
        _say_when_no_project(backend)
        if follow:
            _follow(backend, environment, chosen, interval, as_json, keys=not no_keys)
        else:
            _once(backend, environment, chosen, as_json)


class Filter:
    """`--status`, `--search` and `--limit`: Studio's filter and search box."""

    def __init__(self, wanted: set[str] | None, search: str | None, limit: int | None) -> None:
        self.wanted = wanted
        self.search = (search or "").strip().casefold() or None
        self.limit = limit

    @property
    def narrows(self) -> bool:
        """A filter that can hide every job (then: "No matches.")."""
        return self.wanted is not None or self.search is not None

    def keep(self, status: str, name: str, job_id: str) -> bool:
        """One job passes (its own status, not the displayed one: as Studio)."""
        if self.wanted is not None and status not in self.wanted:
            return False
        search = self.search
        return search is None or search in name.casefold() or search in job_id.casefold()

    def __call__(self, jobs: list[Job]) -> list[Job]:
        wanted, search = self.wanted, self.search
        if wanted is None and search is None:
            chosen = jobs
        else:
            chosen = [
                job
                for job in jobs
                if (wanted is None or job.status in wanted)
                and (search is None or search in job.name.casefold() or search in job.id.casefold())
            ]
        return chosen[: self.limit] if self.limit is not None else chosen


def select(
    jobs: list[Job], wanted: set[str] | None, limit: int | None, search: str | None = None
) -> list[Job]:
    return Filter(wanted, search, limit)(jobs)


def _say_when_no_project(backend: Backend) -> None:
    """Outside any project (no `.arkor/state.json` where we looked): say so on
    stderr, and how to point at one, instead of a bare "No jobs yet."."""
    note = backend.no_project_note()
    if note:
        from arkor_cli_studio.output import say

        say(note)


def json_jobs(jobs: list[Job], now: datetime) -> list[dict[str, Any]]:
    from arkor_cli_studio.jobinfo import jsonable
    from arkor_cli_studio.model import display_status

    # Non-finite numbers (`1e309`) become null: the output stays valid JSON.
    return [jsonable({**job.raw, "displayStatus": display_status(job, now)}) for job in jobs]


def _once(backend: Backend, environment: Environment, chosen: Filter, as_json: bool) -> None:
    now = environment.now()
    if as_json:
        print_json(json_jobs(chosen(backend.list_jobs()), now), pretty=True)
        return
    from arkor_cli_studio.render.joblist import NO_JOBS, NO_MATCHES, object_rows

    # The table straight from the server's objects, in one pass (no `Job`s).
    items = backend.list_job_objects()
    keep = chosen.keep if chosen.narrows else None
    # The rows are new containers: without this, each of the collector's runs
    # would walk every object of the answer again (50,000 jobs: a third of the
    # time). They hold no cycles; collection resumes once they are printed.
    collecting = gc.isenabled()
    gc.disable()
    try:
        rows = object_rows(items, now, keep, chosen.limit)
        if rows:
            write_rows(rows, environment)
            return
    finally:
        if collecting:
            gc.enable()
    if chosen.narrows and object_rows(items, now, None, 1):
        _write_line(NO_MATCHES)
    elif not backend.no_project_note():  # (else the note said it, on stderr)
        _write_line(NO_JOBS)


def _write_line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def write_rows(rows: list[Row], environment: Environment) -> None:
    """The table on stdout: piped, plain lines at their natural width (no rich);
    on a terminal, fitted to its width, with colours."""
    from arkor_cli_studio.render.jobtable import fit, table_lines

    paint = None
    width: int | None = None
    styles = None
    if environment.stdout_isatty:
        from arkor_cli_studio.render.jobs import STATUS_STYLES, ansi_paint

        console = environment.console()
        width, paint, styles = console.size.width, ansi_paint(console), STATUS_STYLES
    layout, widths = fit(rows, width)
    lines = table_lines(rows, layout, widths, paint, styles)
    environment.stdout.write("\n".join(lines) + "\n")
    environment.stdout.flush()


def _follow(
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
                _write_line(NO_MATCHES)
            elif not quiet_when_empty:
                _write_line(NO_JOBS)
        else:
            stamp = now.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            for line in change_lines(before, jobs, now):
                sys.stdout.write(f"{stamp}  {line}\n")
            sys.stdout.flush()
        before = snapshot(jobs, now)
