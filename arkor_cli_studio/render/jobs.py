"""The jobs table with colours (pure: jobs + clock in, lines out), and the
`jobs --follow` board that draws only the rows that fit the screen.

The columns and their fitting are `render.joblist`'s (no rich there: a
piped `jobs` never loads rich).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from rich.color import ColorSystem
from rich.console import Console, Group, RenderableType
from rich.style import Style
from rich.text import Text

from arkor_cli_studio.model import WARMING_UP, WARMING_WINDOW, Job
from arkor_cli_studio.render.joblist import NO_JOBS, NO_MATCHES, job_rows
from arkor_cli_studio.render.jobtable import Paint, fit, table_lines
from arkor_cli_studio.textsafe import clean_line

STATUS_STYLES = {
    WARMING_UP: "bold magenta",
    "queued": "yellow",
    "running": "bold blue",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "dim",
}
__all__ = [
    "STATUS_STYLES",
    "ansi_paint",
    "jobs_board",
    "jobs_view",
    "status_counts",
    "status_text",
]
_SYSTEMS = {
    "standard": ColorSystem.STANDARD,
    "256": ColorSystem.EIGHT_BIT,
    "truecolor": ColorSystem.TRUECOLOR,
    "windows": ColorSystem.WINDOWS,
}


def status_text(status: str) -> Text:
    return Text(clean_line(status), style=STATUS_STYLES.get(status, ""))


def ansi_paint(console: Console) -> Paint | None:
    """Colours as escape codes for `table_lines` (None without colour)."""
    system = _SYSTEMS.get(console.color_system or "")
    if system is None or console.no_color:
        return None
    cache: dict[str, Style] = {}

    def paint(text: str, style: str) -> str:
        if not style:
            return text
        parsed = cache.get(style) or cache.setdefault(style, Style.parse(style))
        return parsed.render(text, color_system=system)

    return paint


def _styled_lines(lines: list[str], rows_status: Sequence[str], status_width: int) -> list[Text]:
    """Plain table lines as Text, the header bold and each status coloured."""
    out = [Text(lines[0], style="bold")]
    for line, status in zip(lines[1:], rows_status, strict=True):
        text = Text(line)
        if status_width:
            text.stylize(STATUS_STYLES.get(status, ""), 0, status_width)
        out.append(text)
    return out


def jobs_view(
    jobs: list[Job] | None,
    now: datetime,
    tz: tzinfo | None = None,
    *,
    width: int | None = 100,
    footer: str | None = None,
    error: str | None = None,
    filtered: bool = False,
) -> RenderableType:
    """The table (or `No jobs yet.` / `No matches.` when a filter hides every
    job), with `--follow`'s footer and error lines."""
    parts: list[RenderableType] = []
    if jobs is None:
        parts.append(Text("Loading jobs…", style="dim"))
    elif jobs:
        rows = job_rows(jobs, now, tz)
        layout, widths = fit(rows, width)
        lines = table_lines(rows, layout, widths)
        status_width = widths["status"] if layout.status else 0
        parts.extend(_styled_lines(lines, [row.status for row in rows], status_width))
    else:
        parts.append(Text(NO_MATCHES if filtered else NO_JOBS))
    if error:
        parts.append(Text(f"Last poll failed: {clean_line(error)}", style="bold red"))
    if footer:
        parts.append(Text(footer, style="dim"))
    return Group(*parts)


def status_counts(jobs: Sequence[Job], now: datetime) -> dict[str, int]:
    """How many jobs show each status (one pass, no row built)."""
    counts: dict[str, int] = {}
    since = now - WARMING_WINDOW
    for job in jobs:
        status = job.status
        if status == "queued" and job.created_at is not None and job.created_at > since:
            status = WARMING_UP
        counts[status] = counts.get(status, 0) + 1
    return counts


def jobs_board(
    jobs: list[Job] | None,
    now: datetime,
    width: int,
    height: int,
    tz: tzinfo | None = None,
    *,
    footer: str | None = None,
    error: str | None = None,
    filtered: bool = False,
) -> RenderableType:
    """`jobs --follow` on a terminal: never taller than `height - 1` lines.

    Only the rows that fit are built (a board of 20,000 jobs costs what its
    visible rows cost, plus one pass to count them); below them, `… N more`
    and the counts by status."""
    tail: list[Text] = []
    if error:
        tail.append(_one_line(f"Last poll failed: {clean_line(error)}", "bold red", width))
    if footer:
        tail.append(_one_line(footer, "dim", width))
    budget = max(1, height - 1)
    if not jobs:
        head = jobs_view(jobs, now, tz, width=width, filtered=filtered)
        return Group(head, *tail)
    room = budget - len(tail) - 1  # the header line
    if room < len(jobs):
        room -= 1  # the "… N more" line
    visible = jobs[: max(0, room)]
    rows = job_rows(visible, now, tz)
    layout, widths = fit(rows, width)
    lines = _styled_lines(
        table_lines(rows, layout, widths),
        [row.status for row in rows],
        widths["status"] if layout.status else 0,
    )
    if len(visible) < len(jobs):
        counts = status_counts(jobs, now)
        summary = " · ".join(f"{count:,} {status}" for status, count in _ordered(counts))
        more = f"… {len(jobs) - len(visible):,} more  ·  {len(jobs):,} jobs: {summary}"
        lines.append(_one_line(more, "dim", width))
    for line in lines:
        line.no_wrap = True
        line.overflow = "ellipsis"
    return Group(*(lines + tail)[:budget])


def _ordered(counts: dict[str, int]) -> list[tuple[str, int]]:
    order = [WARMING_UP, "queued", "running", "completed", "failed", "cancelled"]
    known = [(status, counts[status]) for status in order if status in counts]
    return known + sorted((s, c) for s, c in counts.items() if s not in order)


def _one_line(text: str, style: str, width: int) -> Text:
    line = Text(text, style=style, no_wrap=True, overflow="ellipsis")
    line.truncate(max(1, width), overflow="ellipsis")
    return line
