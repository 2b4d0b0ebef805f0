"""`arkor-studio jobs [--follow]`: Studio's Jobs list."""

from __future__ import annotations

import gc
import sys
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._options import json_flag
from arkor_cli_studio.env import environment_of
from arkor_cli_studio.output import print_json

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.env import Environment
    from arkor_cli_studio.model import Job
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
            from arkor_cli_studio.commands._jobs_follow import follow as follow_jobs

            follow_jobs(backend, environment, chosen, interval, as_json, keys=not no_keys)
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
        write_line(NO_MATCHES)
    elif not backend.no_project_note():  # (else the note said it, on stderr)
        write_line(NO_JOBS)


def write_line(text: str) -> None:
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
