"""The jobs board (`jobs --follow` on a terminal): a pure function of the
board's state, the clock and the terminal's size -> exactly `height` lines
at most, none wider than `width`.

Only the rows that fit are built (a project of 20,000 jobs costs the rows on
screen, not 20,000 rows), each as one `rich.text.Text` line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from rich.console import Group, RenderableType
from rich.text import Text

from arkor_cli_studio.board import Board, Live
from arkor_cli_studio.model import Job, display_status, format_duration, job_duration
from arkor_cli_studio.progress import format_step
from arkor_cli_studio.render.jobs import STATUS_STYLES
from arkor_cli_studio.textsafe import clean_line

SPARK: Final = "▁▂▃▄▅▆▇█"
BAR_WIDTH: Final = 8
SPARK_WIDTH: Final = 12
KEYS_HINT: Final = "↑↓ select · ⏎ watch · c cancel · / filter · s sort · ? keys · q quit"
HELP: Final = (
    ("↑ ↓  k j", "select a job (Page Up/Down, Home/End, g/G: further)"),
    ("Enter", "open the selected job's live view (Esc or q returns here)"),
    ("c", "cancel the selected job (asks first: y to confirm)"),
    ("/", "filter by name or ID as you type (Enter keeps it, Esc clears it)"),
    ("s", "sort: created (the server's order), status, name, duration"),
    ("?", "this help (any key closes it)"),
    ("q  Esc", "quit (Esc first clears a filter)"),
)
#: Lines around the rows: title, header, the "more" line, the footer.
CHROME: Final = 4


def sparkline(values: list[float], width: int = SPARK_WIDTH) -> str:
    """The last `width` values as block characters, scaled to their own range."""
    tail = values[-width:]
    if not tail:
        return ""
    lo, hi = min(tail), max(tail)
    span = hi - lo
    if span <= 0:
        return SPARK[len(SPARK) // 2 - 1] * len(tail)
    top = len(SPARK) - 1
    return "".join(SPARK[round((v - lo) / span * top)] for v in tail)


def progress_cell(live: Live | None, width: int = BAR_WIDTH) -> Text:
    """`70/120 ████▋   ` for a job whose stream told its step and total."""
    if live is None or live.step is None:
        return Text("")
    text = Text(format_step(live.step), style="bold")
    if live.total:
        text.append(f"/{format_step(live.total)} ", style="dim")
        fraction = max(0.0, min(1.0, live.step / live.total))
        eighths = round(fraction * width * 8)
        full, part = divmod(eighths, 8)
        bar = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
        text.append(bar.ljust(width), style="blue")
    return text


def relative(then: datetime | None, now: datetime) -> str:
    """`just now`, `3m ago`, `2h ago`, `4d ago` (Studio's relative Created)."""
    if then is None:
        return "-"
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"  # unreachable: the loop ends at minutes


def _cell(text: str | Text, width: int) -> Text:
    cell = text if isinstance(text, Text) else Text(text)
    if cell.cell_len > width:
        cell.truncate(width, overflow="ellipsis")
    cell.pad_right(width - cell.cell_len)
    return cell


def board_lines(
    board: Board, now: datetime, width: int, height: int, rows: list[Job] | None = None
) -> list[Text]:
    """The whole board in `height` lines at most. `rows`: `board.rows(now)`
    when the caller has them (the filter and sort run once a frame)."""
    width = max(20, width)
    lines: list[Text] = [_title(board, now, width)]
    if board.help:
        lines.append(Text("Keys", style="bold"))
        for keys, what in HELP:
            line = Text(f"  {keys:<10} ", style="bold")
            line.append(what)
            lines.append(_cell(line, width))
        lines.append(Text("Press any key to close.", style="dim"))
        return lines[:height]

    room = max(1, height - CHROME)
    everything = board.rows(now) if rows is None else rows
    rows, top = board.window(now, room, everything)
    selected = board.index(everything)
    live_rows = any(board.live.get(j.id) for j in rows)
    columns = _layout(width, max([2, *(len(clean_line(j.id)) for j in rows)]), live_rows)
    header = Text("  ")
    for title, key in (
        ("Status", "status"),
        ("Name", "name"),
        ("Progress", "progress"),
        ("Loss", "loss"),
        ("Duration", "duration"),
        ("Created", "created"),
    ):
        if columns.get(key):
            header.append(_cell(title, columns[key]) + Text(" "))
    header.append("ID")
    header.stylize("bold")
    lines.append(_cell(header, width))
    if not everything:
        message = "No matches." if board.filter and board.jobs else "No jobs yet."
        lines.append(Text(f"  {message}", style="dim"))
    for offset, job in enumerate(rows):
        chosen = selected is not None and top + offset == selected
        lines.append(_row(board, job, now, columns, chosen, width))
    below = len(everything) - top - len(rows)
    if top or below > 0:
        more = []
        if top:
            more.append(f"{top:,} above")
        if below > 0:
            more.append(f"{below:,} more below")
        lines.append(Text("  … " + ", ".join(more), style="dim"))
    lines.append(_cell(_footer(board), width))
    return lines[:height]


#: The fewest columns a name gets before other columns make room.
NAME_MIN: Final = 12


def _layout(width: int, id_width: int, live: bool) -> dict[str, int]:
    """Column widths for `width` columns: the ID is never cut; as space
    runs out, Created goes first, then the sparkline narrows, then Duration,
    the sparkline and Progress go, then Status narrows; the name takes what
    is left."""
    columns = {
        "status": 15,
        "progress": 8 + BAR_WIDTH if live else 0,
        "loss": SPARK_WIDTH if live else 0,
        "duration": 9,
        "created": 9,
    }
    drops = (
        ("created", 0),
        ("loss", 6),
        ("duration", 0),
        ("loss", 0),
        ("progress", 0),
        ("status", 9),
    )

    def name_room() -> int:
        used = 2 + sum(w + 1 for w in columns.values() if w) + id_width
        return width - used - 1

    for key, narrower in drops:
        if name_room() >= NAME_MIN:
            break
        columns[key] = narrower
    columns["name"] = max(1, name_room())
    return columns


def _row(
    board: Board, job: Job, now: datetime, columns: dict[str, int], chosen: bool, width: int
) -> Text:
    status = display_status(job, now)
    line = Text("▶ " if chosen else "  ", style="bold" if chosen else "")
    line.append(
        _cell(Text(clean_line(status), style=STATUS_STYLES.get(status, "")), columns["status"])
    )
    line.append(" ")
    line.append(_cell(clean_line(job.name) or "-", columns["name"]))
    line.append(" ")
    live = board.live.get(job.id)
    if columns["progress"]:
        line.append(_cell(progress_cell(live), columns["progress"]))
        line.append(" ")
    if columns["loss"]:
        spark = sparkline(list(live.losses), columns["loss"]) if live is not None else ""
        line.append(_cell(Text(spark, style="#2dd4bf"), columns["loss"]))
        line.append(" ")
    if columns["duration"]:
        line.append(_cell(format_duration(job_duration(job, now)), columns["duration"]) + Text(" "))
    if columns["created"]:
        line.append(_cell(relative(job.created_at, now), columns["created"]) + Text(" "))
    line.append(clean_line(job.id), style="cyan")
    if chosen:
        line.stylize("reverse")
    if line.cell_len > width:  # narrower than the ID itself: nothing else left to cut
        line.truncate(width, overflow="ellipsis")
    return line


def _title(board: Board, now: datetime, width: int) -> Text:
    title = Text(f"Jobs · {len(board.jobs):,}", style="bold")
    counts = board.counts(now)
    if counts:
        title.append("  ")
        for i, (status, count) in enumerate(counts):
            if i:
                title.append(" · ", style="dim")
            title.append(f"{clean_line(status)} {count:,}", style=STATUS_STYLES.get(status, ""))
    if board.filter or board.editing_filter:
        title.append(f"   / {clean_line(board.filter)}", style="bold")
        if board.editing_filter:
            title.append("▏", style="blink")
    if board.sort != "created":
        title.append(f"   sorted by {board.sort}", style="dim")
    return _cell(title, width)


def _footer(board: Board) -> Text:
    if board.confirm is not None:
        return Text(f"Cancel job {clean_line(board.confirm)}? [y/N]", style="bold yellow")
    if board.editing_filter:
        return Text("Type to filter by name or ID · Enter keeps it · Esc clears it", style="dim")
    if board.message:
        return Text(clean_line(board.message), style="bold")
    return Text(KEYS_HINT, style="dim")


def board_view(
    board: Board,
    now: datetime,
    width: int,
    height: int,
    *,
    loaded: bool = True,
    error: str | None = None,
    rows: list[Job] | None = None,
) -> RenderableType:
    """The board, or `Loading jobs…` before the first poll; a failed poll's
    message on the last line (the last good list stays above it). `rows`:
    as for `board_lines`."""
    if not loaded and error is None:
        return Text("Loading jobs…", style="dim")
    room = height - (1 if error else 0)
    lines = board_lines(board, now, width, room, rows) if loaded else []
    if error:
        lines.append(_cell(Text(f"Last poll failed: {clean_line(error)}", style="bold red"), width))
    return Group(*lines)
