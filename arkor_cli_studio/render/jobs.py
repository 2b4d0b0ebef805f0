"""The jobs table (pure: jobs + clock in, renderable out) and its change lines."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from arkor_cli_studio.model import WARMING_UP, Job, display_status, local_time
from arkor_cli_studio.textsafe import clean_line

STATUS_STYLES = {
    WARMING_UP: "bold magenta",
    "queued": "yellow",
    "running": "bold blue",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "dim",
}
NO_JOBS = "No jobs yet."


def status_text(status: str) -> Text:
    return Text(clean_line(status), style=STATUS_STYLES.get(status, ""))


def jobs_table(jobs: list[Job], now: datetime, tz: tzinfo | None = None) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("Status", no_wrap=True)
    table.add_column("Name", overflow="fold", ratio=1)
    table.add_column("Created", no_wrap=True)
    # Users paste the id into `watch`: never cut it.
    longest = max((len(job.id) for job in jobs), default=2)
    table.add_column("ID", no_wrap=True, min_width=longest, style="cyan")
    for job in jobs:
        table.add_row(
            status_text(display_status(job, now)),
            Text(clean_line(job.name) or "-"),
            Text(local_time(job.created_at, tz)),
            Text(clean_line(job.id)),
        )
    return table


def jobs_view(
    jobs: list[Job] | None,
    now: datetime,
    tz: tzinfo | None = None,
    *,
    footer: str | None = None,
    error: str | None = None,
) -> RenderableType:
    """The table (or `No jobs yet.`), with `--follow`'s footer and error lines."""
    parts: list[RenderableType] = []
    if jobs is None:
        parts.append(Text("Loading jobs…", style="dim"))
    elif jobs:
        parts.append(jobs_table(jobs, now, tz))
    else:
        parts.append(Text(NO_JOBS))
    if error:
        parts.append(Text(f"Last poll failed: {clean_line(error)}", style="bold red"))
    if footer:
        parts.append(Text(footer, style="dim"))
    return Group(*parts)
